"""Train and measure the Persian view's transliterator (`tfgbv.persian_view`) on the shared Tajik-Persian pairs.

Data, read in place from `paths.shared_datasets`: `tgfa_stibiumghost_translit` (44,768 dictionary word pairs and 7,635
news phrase pairs, split into word pairs where both sides have as many words) for the transliterator; Tajik words from
those pairs and ParsText, and Russian words from the 2ch/Pikabu comments, for the word-language model.

Every Tajik word is shown in its literary spelling and, with probability `keyboard_share`, in its keyboard spelling
(ҷ→ч, ҳ→х, қ→к, ғ→г, ӯ→у, ӣ→и): most comments are typed that way, and both must give the same Persian word. A fixed
share of distinct Tajik words (by hash, so the split never moves) is held out and scored in both spellings: word
accuracy and character error rate.

Keyboard spelling loses information (х is both х and ҳ), so the view first restores it where real Tajik text says
what a spelling stands for: `keyboard_restorations` maps each keyboard spelling to the Tajik word it is most often
written as (counts from the training pairs and ParsText; the spelling itself wins ties). Held-out words are measured
through the character model alone and through the view (restoration + model).

The result is cached by content hash (data files + settings), like the e5 conversion: `make train` trains it once per
machine (the character model is cached on its own, so a change to the rest reuses it).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import logging
import os
import random
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from tfgbv import rundir
from tfgbv.io import sha256_file, write_json
from tfgbv.keyboard_restore import KeyboardRestorer
from tfgbv.locations import cache_dir as default_cache_dir
from tfgbv.locations import shared_datasets_dir
from tfgbv.persian_view import (
    MAX_WORD,
    PAD,
    SPECIALS,
    CharSeq2Seq,
    PersianView,
    Seq2SeqConfig,
    WordLanguage,
    keyboard_spelling,
)

log = logging.getLogger(__name__)

PAIRS_DATASET = "tgfa_stibiumghost_translit"
PAIR_FILES = ("dictionary.csv", "news.csv")
EVAL_FILE = "evaluation_12-6.csv"  # the pairs' author's own evaluation sample (words and verse lines): held out
# (folder, files, text column): Tajik words (ParsText: Persian,Tajik sentence pairs) and Russian words for the
# word-language model.
TAJIK_PROSE = ("tg_parstext", ("bbc.csv", "dr.csv"), 1)
RUSSIAN_WORDS = ("ru_2ch_pikabu_toxic", ("data_train.csv",), 1)
# More real Tajik running text for the keyboard restorations' word counts (plain text); the last address is held out
# of the counts and measures the restorations on running text, where common words weigh as much as they occur.
TAJIK_RUNNING_TEXT = "tg_presidential_addresses"
RUNNING_TEXT_TEST = "Payom_MajlisiOli_26_12_2019.txt"
_LETTERS = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюяғқҳҷӣӯ")
# The vocabularies of the tg2fa-translit 1.0 checkpoint (PyPI), in its index order: needed to read its weights.
TG2FA_SOURCE = [*SPECIALS, " ", "-", "~", *"абвгдежзийклмнопрстуфхчшъьэюяёғқҳҷӣӯ"]
TG2FA_TARGET = [
    *SPECIALS,
    *"\u0647 -\u0622\u0626\u0627\u0628\u062a\u062b\u062c\u062d\u062e\u062f\u0630\u0631\u0632\u0633\u0634\u0635",
    *"\u0636\u0637\u0638\u0639\u063a\u0641\u0642\u0644\u0645\u0646\u0648\u064a\u0651\u0652\u0654\u067e\u0686",
    *"\u0698\u06a9\u06af\u06cc\u200c",
]
TG2FA_PACKAGE, TG2FA_CHECKPOINT = "tg2fa_translit", "model_2.9.zip"
_VERSION = 2  # bump when the view's making changes in a way the settings do not show (2: keyboard restoration)
_SEQ2SEQ_VERSION = 1  # the same, for the character model's fine-tuning alone
SEQ2SEQ_TRAINING = "training.json"  # beside PERSIAN_VIEW_WEIGHTS in the character model's cache folder


@dataclass
class TranslitSpec:
    # Fine-tuning of the tg2fa-translit weights: it already knows literary spelling; one pass teaches it keyboard
    # spelling without forgetting (measured in docs/persian_view.md).
    epochs: int = 1
    batch_size: int = 128
    learning_rate: float = 5e-4
    keyboard_share: float = 0.5
    test_share: float = 0.02  # of distinct dictionary words, held out and measured (~850 words)
    seed: int = 13


class TranslitDataError(RuntimeError):
    """The shared pairs are missing or unreadable; the message says where and what to do."""


# ----------------------------------------------------------------------------- data


def _rows(path: Path) -> Iterable[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        yield from reader


def _is_tajik_word(word: str) -> bool:
    return 0 < len(word) <= MAX_WORD and set(word) <= _LETTERS | {"-"} and bool(set(word) & _LETTERS)


def _word_pairs(rows: Iterable[list[str]]) -> Iterable[tuple[str, str]]:
    for row in rows:
        if len(row) < 2:
            continue
        tj, fa = row[0].lower().split(), row[1].split()
        if len(tj) != len(fa):  # phrase pairs whose words do not line up one to one are left out
            continue
        for t, f in zip(tj, fa):
            t, f = t.strip('.,!?:;«»"()'), f.strip('.,!?:;«»"()،؛؟')
            if _is_tajik_word(t) and f and len(f) <= MAX_WORD:
                yield t, f


def read_pairs(dataset_dir: Path, files: Sequence[str] = PAIR_FILES) -> list[tuple[str, str]]:
    """(Tajik word, Persian word) pairs, lower-case Tajik, deduplicated, in file order."""
    missing = [f for f in files if not (dataset_dir / f).is_file()]
    if missing:
        raise TranslitDataError(
            f"{dataset_dir}: missing {missing}; the Persian view's transliterator trains on the {PAIRS_DATASET} "
            "pairs: run `tfgbv-data fetch` or set paths.shared_datasets"
        )
    pairs: dict[tuple[str, str], None] = {}
    for name in files:
        pairs.update(dict.fromkeys(_word_pairs(_rows(dataset_dir / name))))
    return list(pairs)


def split_pairs(pairs: Sequence[tuple[str, str]], test_share: float) -> tuple[list, list]:
    """Held out by Tajik word (every pair of a held-out word is held out), by hash: the split never moves."""

    def held_out(word: str) -> bool:
        return int(hashlib.sha1(word.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < test_share

    train = [p for p in pairs if not held_out(p[0])]
    test = [p for p in pairs if held_out(p[0])]
    return train, test


def _words_of(path: Path, column: int) -> Iterable[str]:
    for row in _rows(path):
        if len(row) > column:
            yield from (w.strip('.,!?:;«»"()-').lower() for w in row[column].split())


def language_words(shared: Path, pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Tajik words (pairs + ParsText, when present) and Russian words (2ch/Pikabu), letters only."""
    tajik = [t for t, _ in pairs]
    folder, files, column = TAJIK_PROSE
    for name in files:
        if (shared / folder / name).is_file():
            tajik += [w for w in _words_of(shared / folder / name, column) if _is_tajik_word(w)]
    russian: list[str] = []
    folder, files, column = RUSSIAN_WORDS
    for name in files:
        if (shared / folder / name).is_file():
            russian += [w for w in _words_of(shared / folder / name, column) if _is_tajik_word(w)]
    if not russian:
        raise TranslitDataError(
            f"{shared / folder}: no Russian words to tell Tajik words from; run `tfgbv-data fetch` (ru_2ch_pikabu)"
        )
    return tajik, russian


def running_text(shared: Path) -> tuple[list[str], list[str]]:
    """Tajik words of the presidential addresses, when present: (counted, held out), in text order."""
    counted: list[str] = []
    held_out: list[str] = []
    for path in sorted((shared / TAJIK_RUNNING_TEXT).glob("*.txt")):
        words = [w.strip('.,!?:;«»"“”()-').lower() for w in path.read_text(encoding="utf-8").split()]
        (held_out if path.name == RUNNING_TEXT_TEST else counted).extend(w for w in words if _is_tajik_word(w))
    return counted, held_out


def keyboard_restorations(tajik_words: Iterable[str]) -> dict[str, str]:
    """Keyboard spelling -> the Tajik word it most often stands for, where that is not the spelling itself
    ("хама" -> "ҳама"; "кор" stays: it is a word as written). `tajik_words`: running text, so counts are frequencies."""
    counts = Counter(tajik_words)
    best: dict[str, tuple[int, bool, str]] = {}
    for word, n in counts.items():
        key = keyboard_spelling(word)
        candidate = (n, word == key, word)  # ties: the spelling as typed
        if key not in best or candidate > best[key]:
            best[key] = candidate
    return {key: word for key, (_, _, word) in sorted(best.items()) if word != key}


def target_alphabet(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(sorted({c for _, fa in pairs for c in fa}))


# ----------------------------------------------------------------------------- training


def _batches(pairs: Sequence[tuple[str, str]], spec: TranslitSpec, rng: random.Random) -> list[list[tuple[str, str]]]:
    shown = [(keyboard_spelling(t) if rng.random() < spec.keyboard_share else t, f) for t, f in pairs]
    rng.shuffle(shown)
    # Similar lengths together (less padding), in chunks of 50 batches so the order stays random.
    chunk = spec.batch_size * 50
    out = []
    for start in range(0, len(shown), chunk):
        part = sorted(shown[start : start + chunk], key=lambda p: len(p[0]))
        out += [part[i : i + spec.batch_size] for i in range(0, len(part), spec.batch_size)]
    rng.shuffle(out)
    return out


def tg2fa_checkpoint() -> Path:
    """The checkpoint file inside the installed tg2fa-translit package, found without importing the package (its
    import unpickles the checkpoint; we read it with torch.load(weights_only=True))."""
    spec = importlib.util.find_spec(TG2FA_PACKAGE)
    path = (
        Path(spec.submodule_search_locations[0]) / TG2FA_CHECKPOINT
        if spec and spec.submodule_search_locations
        else None
    )
    if path is None or not path.is_file():
        raise TranslitDataError(
            f"the Persian view starts from the tg2fa-translit weights, and {TG2FA_CHECKPOINT} was not found: "
            "pip install 'tg2fa-translit>=1.0'"
        )
    return path


def from_tg2fa(checkpoint: Path | None = None) -> CharSeq2Seq:
    """tg2fa-translit's weights (tensors only: torch.load(weights_only=True)) in `CharSeq2Seq`."""
    state = torch.load(checkpoint or tg2fa_checkpoint(), map_location="cpu", weights_only=True)["model_state_dict"]
    renamed = {"src_tok_emb.embedding.": "src_emb.", "tgt_tok_emb.embedding.": "tgt_emb.", "generator.": "out."}
    weights = {}
    for key, value in state.items():
        if key.startswith("positional_encoding."):  # fixed sinusoids, rebuilt by the model
            continue
        for old, new in renamed.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        weights[key] = value
    model = CharSeq2Seq(Seq2SeqConfig(source_vocab=list(TG2FA_SOURCE), target_vocab=list(TG2FA_TARGET)))
    model.load_state_dict(weights)
    return model.eval()


def train_model(model: CharSeq2Seq, pairs: Sequence[tuple[str, str]], spec: TranslitSpec) -> CharSeq2Seq:
    """Fine-tune on (Tajik, Persian) pairs, each Tajik word in keyboard spelling with probability keyboard_share."""
    torch.manual_seed(spec.seed)
    rng = random.Random(spec.seed)
    steps = spec.epochs * -(-len(pairs) // spec.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.learning_rate, total_steps=steps, pct_start=0.1)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)
    model.train()
    for epoch in range(spec.epochs):
        start, total, count = time.perf_counter(), 0.0, 0
        for batch in _batches(pairs, spec, rng):
            src = model.source_ids([t for t, _ in batch])
            tgt = model.target_ids([f for _, f in batch])
            logits = model(src, tgt[:, :-1])
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total, count = total + loss.item(), count + 1
        log.info("transliterator epoch %d/%d: loss %.4f (%.0f s)", epoch + 1, spec.epochs, total / count,
                 time.perf_counter() - start)  # fmt: skip
    return model.eval()


# ----------------------------------------------------------------------------- measuring


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def word_scores(transliterate: Callable[[list[str]], list[str]], pairs: Sequence[tuple[str, str]]) -> dict:
    """Word accuracy (any listed Persian spelling of the word counts) and character error rate against the nearest.
    `transliterate`: a character model's `greedy` or a view's `words`."""
    refs: dict[str, list[str]] = {}
    for t, f in pairs:
        refs.setdefault(t, []).append(f)
    words = list(refs)
    got = [g for start in range(0, len(words), 512) for g in transliterate(words[start : start + 512])]
    exact = sum(g in refs[w] for w, g in zip(words, got))
    errors = sum(min(edit_distance(g, r) for r in refs[w]) for w, g in zip(words, got))
    chars = sum(len(refs[w][0]) for w in words)
    return {"words": len(words), "word_accuracy": exact / max(1, len(words)), "cer": errors / max(1, chars)}


def measure_words(transliterate: Callable[[list[str]], list[str]], test: Sequence[tuple[str, str]]) -> dict:
    """Held-out transliteration as written (literary) and as typed without Tajik letters (words that change)."""
    keyboard = [(keyboard_spelling(t), f) for t, f in test if keyboard_spelling(t) != t]
    return {"literary": word_scores(transliterate, test), "keyboard_typed": word_scores(transliterate, keyboard)}


def measure_running_text(restore: dict[str, str], words: Sequence[str]) -> dict:
    """Token by token over held-out running text typed without Tajik letters: the share of tokens that had a Tajik
    letter given back exactly, and the share of tokens written without one left as they were."""
    changed = [w for w in words if keyboard_spelling(w) != w]
    plain = [w for w in words if keyboard_spelling(w) == w]
    return {
        "tokens": len(words),
        "tokens_with_tajik_letters": len(changed),
        "restored_exactly": sum(restore.get(keyboard_spelling(w)) == w for w in changed) / max(1, len(changed)),
        "plain_tokens_kept": sum(restore.get(w, w) == w for w in plain) / max(1, len(plain)),
    }


def measure_restoration(restore: dict[str, str], test: Sequence[tuple[str, str]]) -> dict:
    """Of held-out words that change when typed without Tajik letters: the share whose keyboard spelling the
    restoration gives back exactly, and the share it leaves as typed (spellings it has never seen)."""
    words = sorted({t for t, _ in test if keyboard_spelling(t) != t})
    restored = [restore.get(keyboard_spelling(w)) for w in words]
    return {
        "words": len(words),
        "restored_exactly": sum(r == w for r, w in zip(restored, words)) / max(1, len(words)),
        "left_as_typed": sum(r is None for r in restored) / max(1, len(words)),
    }


def measure_language(language: WordLanguage, tajik_words: Iterable[str], russian_words: Iterable[str]) -> dict:
    """Held-out words told apart in keyboard spelling (the hard case: no Tajik-only letter to give them away)."""
    tajik = sorted({keyboard_spelling(w) for w in tajik_words})
    russian = sorted(set(russian_words))
    return {
        "tajik_words": len(tajik),
        "tajik_recall": sum(language.score(w) > 0 for w in tajik) / max(1, len(tajik)),
        "russian_words": len(russian),
        "russian_recall": sum(language.score(w) <= 0 for w in russian) / max(1, len(russian)),
    }


# ----------------------------------------------------------------------------- the cached artefact


def _digest(files: Iterable[Path], settings: dict) -> str:
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for f in files:
        digest.update(f.name.encode() + sha256_file(f).encode())
    return digest.hexdigest()[:12]


def cache_key(shared: Path, spec: TranslitSpec) -> str:
    """The whole view: pairs, Tajik prose and Russian words, settings."""
    files = [shared / PAIRS_DATASET / f for f in PAIR_FILES]
    for folder, names, _ in (TAJIK_PROSE, RUSSIAN_WORDS):
        files += [shared / folder / n for n in names if (shared / folder / n).is_file()]
    files += sorted((shared / TAJIK_RUNNING_TEXT).glob("*.txt"))
    return _digest(files, {"spec": asdict(spec), "version": _VERSION})


def seq2seq_key(shared: Path, spec: TranslitSpec) -> str:
    """The fine-tuned character model alone: pairs and settings."""
    return _digest(
        [shared / PAIRS_DATASET / f for f in PAIR_FILES], {"spec": asdict(spec), "version": _SEQ2SEQ_VERSION}
    )


def _fine_tuned(train: Sequence[tuple[str, str]], spec: TranslitSpec, cache: Path | None) -> tuple[CharSeq2Seq, float]:
    """The fine-tuned character model and its training seconds; from `cache` when it was trained there before."""
    if cache is not None and (cache / SEQ2SEQ_TRAINING).is_file():
        model = from_tg2fa()  # the architecture and alphabets; the weights are replaced
        model.load_state_dict(load_file(str(cache / rundir.PERSIAN_VIEW_WEIGHTS)))
        record = json.loads((cache / SEQ2SEQ_TRAINING).read_text(encoding="utf-8"))
        return model.eval(), float(record["training_seconds"])
    start = time.perf_counter()
    model = train_model(from_tg2fa(), train, spec)
    seconds = round(time.perf_counter() - start, 1)
    if cache is not None:
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / rundir.PERSIAN_VIEW_WEIGHTS))
        write_json(tmp / SEQ2SEQ_TRAINING, {"training_seconds": seconds, "spec": asdict(spec), "pairs": len(train)})
        try:
            os.replace(tmp, cache)
        except OSError:  # another process finished first: its copy is as good as ours
            shutil.rmtree(tmp, ignore_errors=True)
    return model, seconds


def train_persian_view(
    shared: Path, out_dir: Path, spec: TranslitSpec = TranslitSpec(), seq2seq_cache: Path | None = None
) -> PersianView:
    """Fine-tune the transliterator (or take it from `seq2seq_cache`), fit the word-language model and the keyboard
    restorations, measure them on held-out words (tg2fa-translit as shipped, the fine-tuned model alone, the whole
    view), and save them with the measurements into `out_dir`."""
    held_out, train, test, parts = _routing_and_restoration(shared, spec)
    language, restore = parts.language, parts.restore
    sets = {"author_evaluation": held_out, "dictionary_held_out": test}
    before = {name: measure_words(from_tg2fa().greedy, pairs) for name, pairs in sets.items()}
    model, seconds = _fine_tuned(train, spec, seq2seq_cache)
    view = PersianView(model, language, restore=restore)
    view.evaluation = {
        "spec": asdict(spec),
        "pairs": {"train": len(train), "dictionary_held_out": len(test), "author_evaluation": len(held_out)},
        "training_seconds": seconds,
        "tg2fa_translit": before,
        "fine_tuned": {name: measure_words(model.greedy, pairs) for name, pairs in sets.items()},
        "view": {name: measure_words(view.words, pairs) for name, pairs in sets.items()},
        "keyboard_restoration": parts.restoration_scores(sets),
        "word_language": parts.language_scores,
    }
    view.save(out_dir)
    return view


@dataclass
class _Parts:
    """What the Persian view and the keyboard restoration share: the word-language model (routing) and the keyboard
    restoration table, with what measures them."""

    language: WordLanguage
    restore: dict[str, str]
    running_test: list[str]
    language_scores: dict

    def restoration_scores(self, sets: dict[str, Sequence[tuple[str, str]]]) -> dict:
        return {
            "spellings": len(self.restore),
            **{name: measure_restoration(self.restore, pairs) for name, pairs in sets.items()},
            "running_text": measure_running_text(self.restore, self.running_test) if self.running_test else None,
        }


def _routing_and_restoration(shared: Path, spec: TranslitSpec) -> tuple[list, list, list, _Parts]:
    """(author's held-out pairs, training pairs, held-out dictionary pairs, routing and restoration fitted on the
    training side only)."""
    held_out = read_pairs(shared / PAIRS_DATASET, (EVAL_FILE,))
    eval_words = {t for t, _ in held_out}
    train, test = split_pairs(
        [p for p in read_pairs(shared / PAIRS_DATASET) if p[0] not in eval_words], spec.test_share
    )
    tajik, russian = language_words(shared, train)
    russian_test = set(russian[-5000:])
    language = WordLanguage.fit(tajik, [w for w in russian if w not in russian_test])
    counted, running_test = running_text(shared)
    parts = _Parts(
        language=language,
        restore=keyboard_restorations(tajik + counted),
        running_test=running_test,
        language_scores=measure_language(language, [t for t, _ in test], russian_test),
    )
    return held_out, train, test, parts


def build_keyboard_restorer(shared: str | Path | None = None, spec: TranslitSpec = TranslitSpec()) -> KeyboardRestorer:
    """The keyboard restoration for training (`model.text.keyboard_restore`): the Persian view's routing and table,
    without its character model (nothing to train: counts only), measured on held-out words and running text."""
    shared = Path(shared).expanduser() if shared else shared_datasets_dir()
    held_out, _, test, parts = _routing_and_restoration(shared, spec)
    evaluation = {
        "keyboard_restoration": parts.restoration_scores({"author_evaluation": held_out, "dictionary_held_out": test}),
        "word_language": parts.language_scores,
    }
    return KeyboardRestorer(parts.language, parts.restore, evaluation)


def ensure_persian_view(shared: Path, cache_dir: Path, spec: TranslitSpec = TranslitSpec()) -> Path:
    """The cached transliterator folder for these data and settings, trained on first use (atomic rename)."""
    target = Path(cache_dir) / "persian_view" / cache_key(shared, spec)
    if (target / rundir.PERSIAN_VIEW_EVAL).is_file():
        return target
    log.info("training the Persian-view transliterator -> %s (first use only, a few minutes)", target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    train_persian_view(shared, tmp, spec, Path(cache_dir) / "persian_view" / f"seq2seq-{seq2seq_key(shared, spec)}")
    try:
        os.replace(tmp, target)
    except OSError:  # another process finished first: its copy is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_persian_view(shared: str | Path | None = None, cache_dir: str | Path | None = None) -> PersianView:
    """The Persian view for training: `paths.shared_datasets` and `paths.cache_dir` (defaults: as configured)."""
    shared = Path(shared).expanduser() if shared else shared_datasets_dir()
    folder = ensure_persian_view(shared, Path(cache_dir).expanduser() if cache_dir else default_cache_dir())
    return PersianView.load(folder)
