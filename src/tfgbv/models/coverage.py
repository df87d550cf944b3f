"""Tokenizer coverage per language (unknown-token rate, tokens per word, characters lost to <unk>), written into
every run, and a character fallback for letters a tokenizer lacks.

multilingual-e5 (XLM-R's SentencePiece vocabulary) has no ҷ Ҷ Ӣ Ӯ: each becomes <unk>, which hits about half of all
Tajik texts (Tajik ҷ is frequent). ӣ ӯ ҳ exist only as single-character pieces.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any, Mapping, Sequence

from tfgbv.text import apply_char_map

_WORD = re.compile(r"\w+", re.UNICODE)

# Letters missing from the multilingual-e5 vocabulary -> what the model should see instead. Chosen by measurement on
# 5,671 Tajik texts (bundled seed tg+mixed, ParsText Tajik side, presidential addresses) with the converted e5-small;
# candidate ҷ mappings compared (unk rate / mean cosine between mean-pooled embeddings of 26 Tajik words written with
# the mapping and the same words typed on a Russian keyboard / mean cosine of 300 ParsText Tajik sentences to their
# Persian originals):
#   none (<unk>)           0.0184 / 0.909 / 0.909      ҷ→ч (keyboard)          0.0000 / 0.977 / 0.907
#   ҷ→ч+U+0327 (cedilla)   0.0000 / 0.935 / 0.908      ҷ→ж (sound-alike)       0.0000 / 0.922 / 0.908
#   ҷ→дж (digraph)         0.0000 / 0.911 / 0.908
# The keyboard letter removes every <unk> and puts proper spelling where users without a Tajik layout already are
# (they type ч), while cross-lingual sentence similarity is unchanged within noise. Ӣ Ӯ go to their lower-case forms,
# which the vocabulary has, keeping the Tajik letter (Ӯ "he/she" stays ӯ, not Russian У "at").
# Other <unk>s in those texts are emoji newer than the vocabulary (🤬 🤮 🖕 🔪 💩 🥵 …): reported, not mapped.
E5_TAJIK_FALLBACK: dict[str, str] = {"ҷ": "ч", "Ҷ": "Ч", "Ӣ": "ӣ", "Ӯ": "ӯ"}


def apply_char_fallback(text: str, mapping: Mapping[str, str]) -> str:
    """Replace single characters through `mapping`; the same operation as tfgbv.text.apply_char_map."""
    return apply_char_map(text, dict(mapping))


def _new_group() -> dict[str, Any]:
    return {"texts": 0, "words": 0, "tokens": 0, "unk": 0, "texts_with_unk": 0, "unknown_chars": Counter()}


def tokenizer_coverage(tokenizer, texts: Sequence[str], langs: Sequence[str], top_unknown: int = 10) -> dict[str, Any]:
    """Coverage of `tokenizer` on `texts`, per language (`langs`, parallel to texts) and overall.

    Returns {"per_lang": {lang: row}, "overall": row}; a row has texts, words (\\w+ runs), tokens (without special
    tokens), unk_tokens, unk_rate (unk tokens / tokens), texts_with_unk (share of texts with at least one <unk>),
    tokens_per_word, and top_unknown_chars ([char, count] pairs, from the offsets of <unk> tokens; one <unk> may
    cover a run of several unknown characters). Needs a fast (Rust-backed) tokenizer for the character counts.
    """
    if len(texts) != len(langs):
        raise ValueError(f"tokenizer_coverage: {len(texts)} texts but {len(langs)} languages")
    unk_id = getattr(tokenizer, "unk_token_id", None)
    fast = bool(getattr(tokenizer, "is_fast", False))
    groups: dict[str, dict[str, Any]] = defaultdict(_new_group)
    texts = list(texts)
    if texts:
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=fast, return_attention_mask=False)
        ids_all = enc["input_ids"]
        offsets = enc["offset_mapping"] if fast else [[(0, 0)] * len(ids) for ids in ids_all]
    else:  # transformers fails on an empty batch
        ids_all, offsets = [], []
    for text, lang, ids, offs in zip(texts, langs, ids_all, offsets):
        unknown = [text[a:b] for tid, (a, b) in zip(ids, offs) if unk_id is not None and tid == unk_id]
        chars = Counter(ch for piece in unknown for ch in piece if not ch.isspace())
        words = len(_WORD.findall(text))
        for g in (str(lang), "all"):
            e = groups[g]
            e["texts"] += 1
            e["words"] += words
            e["tokens"] += len(ids)
            e["unk"] += len(unknown)
            e["texts_with_unk"] += int(bool(unknown))
            e["unknown_chars"].update(chars)
    out: dict[str, Any] = {"per_lang": {}, "overall": _row(groups["all"], top_unknown)}
    for g in sorted(k for k in groups if k != "all"):
        out["per_lang"][g] = _row(groups[g], top_unknown)
    return out


def _row(e: dict[str, Any], top_unknown: int) -> dict[str, Any]:
    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    return {
        "texts": e["texts"],
        "words": e["words"],
        "tokens": e["tokens"],
        "unk_tokens": e["unk"],
        "unk_rate": ratio(e["unk"], e["tokens"]),
        "texts_with_unk": ratio(e["texts_with_unk"], e["texts"]),
        "tokens_per_word": ratio(e["tokens"], e["words"]),
        "top_unknown_chars": [[c, n] for c, n in e["unknown_chars"].most_common(top_unknown)],
    }


def coverage_markdown(report: dict[str, Any]) -> str:
    """A Markdown table of a tokenizer_coverage report (one row per language, then "all")."""

    def f(x: float | None, spec: str) -> str:
        return "—" if x is None else format(x, spec)

    lines = [
        "| language | texts | tokens | unk rate | texts with unk | tokens/word | most frequent unknown characters |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    rows = list(report.get("per_lang", {}).items()) + ([("all", report["overall"])] if report.get("overall") else [])
    for lang, e in rows:
        chars = " ".join(f"{c} ({n})" for c, n in e["top_unknown_chars"]) or "—"
        lines.append(
            f"| {lang} | {e['texts']} | {e['tokens']} | {f(e['unk_rate'], '.4f')} | {f(e['texts_with_unk'], '.3f')} "
            f"| {f(e['tokens_per_word'], '.2f')} | {chars} |"
        )
    return "\n".join(lines) + "\n"
