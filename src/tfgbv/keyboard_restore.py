"""Keyboard restoration: Tajik typed without Tajik letters, given them back word by word, in Cyrillic.

Most Tajik comments are typed on a Russian keyboard: ҷ→ч, ҳ→х, қ→к, ғ→г, ӯ→у, ӣ→и. The keyboard loses information
("хама" could be "ҳама" or "хама"), and a model trained on literary Tajik reads the result as other words (the default
flags more counter-speech typed that way: docs/keyboard_restore.md). A `KeyboardRestorer` gives each Tajik word of a
comment the letters of the Tajik word its spelling most often stands for in real Tajik text ("хама" → "ҳама"; "кор"
stays: it is a word as written); Russian words, names, URLs, handles and masked PII stay as typed (the routing of the
Persian view, `tfgbv.persian_view.tajik_spans`). The case of each word is kept.

Built by `tfgbv.train.persian_translit.build_keyboard_restorer` from real Tajik text (the word pairs, ParsText, five
presidential addresses; the sixth measures it), and saved as one JSON file in the model directory
(`rundir.KEYBOARD_RESTORE_DIR`), so every preparation of a run that uses it (training, `Classifier`, batch scoring, Ray,
ONNX, int8, selection for annotation) restores the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from tfgbv import rundir
from tfgbv.io import write_json
from tfgbv.persian_view import WordLanguage, tajik_spans


def _same_case(word: str, like: str) -> str:
    """`word` (lower case) written in the case of `like`: ХАМА → ҲАМА, Хама → Ҳама, хама → ҳама."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class KeyboardRestorer:
    """Give keyboard-typed Tajik words their Tajik letters back; everything else stays as written."""

    def __init__(self, language: WordLanguage, restore: dict[str, str], evaluation: dict | None = None):
        self.language = language
        # keyboard spelling (lower case) -> the Tajik word it most often stands for (lower case)
        self.restore = dict(restore)
        self.evaluation = evaluation  # how well it restores held-out running text (written by the builder)

    def texts(self, texts: Sequence[str]) -> list[str]:
        """Each comment with its keyboard-typed Tajik words restored. Deterministic, text by text."""
        out = []
        for text in texts:
            pieces, last = [], 0
            for start, end, word in tajik_spans(self.language, text):
                restored = self.restore.get(word)
                if restored is None:
                    continue
                pieces += [text[last:start], _same_case(restored, text[start:end])]
                last = end
            out.append("".join(pieces) + text[last:] if pieces else text)
        return out

    def __call__(self, text: str) -> str:
        return self.texts([text])[0]

    # -- saving and loading (JSON only)

    def save(self, out_dir: str | Path) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_json(
            out_dir / rundir.KEYBOARD_RESTORE_FILE,
            {
                "language": self.language.to_json(),
                "keyboard_restore": dict(sorted(self.restore.items())),
                "evaluation": self.evaluation,
            },
        )
        return out_dir

    @classmethod
    def load(cls, path: str | Path) -> KeyboardRestorer:
        file = Path(path) / rundir.KEYBOARD_RESTORE_FILE
        if not file.is_file():
            raise FileNotFoundError(f"{file}: missing; the run was saved without its keyboard restoration table")
        raw = json.loads(file.read_text(encoding="utf-8"))
        try:
            return cls(WordLanguage(**raw["language"]), raw["keyboard_restore"], raw.get("evaluation"))
        except (KeyError, TypeError) as err:
            raise ValueError(f"{file}: not a keyboard restoration file ({err})") from err
