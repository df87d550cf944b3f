"""Measure the Persian view of Tajik (tfgbv.persian_view): the transliterator's held-out accuracy (literary and
keyboard-typed spelling), tokens per word in both views, and the scoring throughput with and without it (and with
keyboard restoration, tfgbv.keyboard_restore, instead). Writes
docs/persian_view.json and docs/persian_view.md.

    python scripts/measure_persian_view.py [--shared ../shared/datasets] [--texts 2000] [--no-scoring]

The throughput comparison scores with the default e5-small architecture and an untrained head (speed does not depend
on the head's weights): the same `Classifier`, its text preparation swapped between the two views, interleaved.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from omegaconf import OmegaConf

from tfgbv.cli.run import model_spec
from tfgbv.env import cpu_model
from tfgbv.keyboard_restore import KeyboardRestorer
from tfgbv.labels import LABELS
from tfgbv.locations import cache_dir, shared_datasets_dir
from tfgbv.models.build import build_model, save_model_dir, spec_to_meta
from tfgbv.persian_view import PersianView
from tfgbv.predict.transformer import Classifier
from tfgbv.report.persian_view import (
    best_rate,
    keyboard_texts,
    preparation_speed,
    restoration_speed,
    tokens_per_word,
    write_report,
)
from tfgbv.train.persian_translit import build_keyboard_restorer, ensure_persian_view

ROOT = Path(__file__).resolve().parents[1]
E5_CONFIG = ROOT / "configs/model/e5-small.yaml"  # the default model's text preparation and architecture


def _jsonl(path: Path, langs: tuple[str, ...]) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    return [r["text"] for r in rows if r.get("lang") in langs]


def _parstext(shared: Path, n: int) -> list[str]:
    path = shared / "tg_parstext" / "dr.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return [row[1] for row in csv.reader(fh) if len(row) > 1 and row[1].strip()][:n]


def _scoring(prep, view: PersianView, restorer: KeyboardRestorer, texts: list[str], repeats: int) -> dict:
    spec = model_spec(OmegaConf.load(E5_CONFIG))
    tokenizer, model = build_model(spec)
    with tempfile.TemporaryDirectory() as tmp:
        meta = {"kind": "transformer", "labels": list(LABELS), "thresholds": dict.fromkeys(LABELS, 0.5),
                "temperatures": dict.fromkeys(LABELS, 1.0), **spec_to_meta(spec)}  # fmt: skip
        save_model_dir(model, tokenizer, tmp, meta)
        clf = Classifier.from_pretrained(tmp)
        plain, with_view = clf.prep, replace(clf.prep, persian_view=True)
        with_view.attach_persian_view(view)
        with_restoration = replace(clf.prep, keyboard_restore=True)
        with_restoration.attach_restorer(restorer)
        for warm in (with_view, with_restoration):
            warm.many(texts)  # warm the word caches, as a long scoring run is after its first chunks
        rates: dict[str, float] = {"without_view": 0.0, "with_view": 0.0, "with_restoration": 0.0}
        preps = (("without_view", plain), ("with_view", with_view), ("with_restoration", with_restoration))
        for _ in range(repeats):  # interleaved, so all meet the same machine
            for name, prep_ in preps:
                clf.prep = prep_
                rates[name] = max(rates[name], best_rate(lambda: clf.predict_proba(texts), len(texts), repeats=1))
        backend = "bf16" if clf.bf16 else "fp32"
    return {**rates, "ratio": rates["with_view"] / rates["without_view"], "repeats": repeats, "backend": backend,
            "restoration_ratio": rates["with_restoration"] / rates["without_view"],
            "model": "e5-small, untrained head (timing only)"}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=None, help="paths.shared_datasets (default: as configured)")
    ap.add_argument("--texts", type=int, default=2000, help="texts for the speed measurements")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-scoring", action="store_true", help="skip the scoring throughput (needs e5-small)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    shared = args.shared or shared_datasets_dir()
    view_dir = ensure_persian_view(shared, cache_dir())
    view = PersianView.load(view_dir)
    prep = model_spec(OmegaConf.load(E5_CONFIG)).text
    with_view = replace(prep, persian_view=True)
    with_view.attach_persian_view(view)

    from transformers import AutoTokenizer

    from tfgbv.models.e5 import ensure_e5_model

    tokenizer = AutoTokenizer.from_pretrained(ensure_e5_model())
    sets = {
        "bundled test rows, Tajik": _jsonl(ROOT / "data" / "seed" / "test.jsonl", ("tg",)),
        "functional suite, Tajik and mixed": _jsonl(ROOT / "data" / "functional" / "cases.jsonl", ("tg", "mixed")),
        "ParsText Tajik prose (first 500)": _parstext(shared, 500),
    }
    sets["bundled test rows, Tajik, keyboard-typed"] = keyboard_texts(sets["bundled test rows, Tajik"])
    tokens = {
        name: {
            "texts": len(texts),
            "cyrillic": tokens_per_word(tokenizer, prep.many(texts), texts),
            "persian_view": tokens_per_word(tokenizer, with_view.many(texts), texts),
        }  # fmt: skip
        for name, texts in sets.items()
        if texts
    }
    pool = [t for texts in sets.values() for t in texts] + _parstext(shared, args.texts)
    texts = (pool * (args.texts // max(1, len(pool)) + 1))[: args.texts]
    speed = {"texts": len(texts), "what": "bundled, functional and ParsText texts",
             "preparation": preparation_speed(prep, view, texts)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:  # saved once, loaded fresh: a cold restorer as a new process has
        table = build_keyboard_restorer(shared).save(tmp)
        speed["restoration"] = restoration_speed(prep, lambda: KeyboardRestorer.load(table), texts)
        restorer = KeyboardRestorer.load(table)
    if not args.no_scoring:
        speed["scoring"] = _scoring(prep, view, restorer, texts, args.repeats)
    result = {
        "transliterator_dir": view_dir.name,
        "machine": cpu_model(),
        "transliterator": view.evaluation,
        "tokens_per_word": tokens,
        "speed": speed,
    }
    write_report(result, args.out)
    print(f"wrote {args.out / 'persian_view.md'}")


if __name__ == "__main__":
    main()
