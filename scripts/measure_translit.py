"""Does transliterating Tajik chat Latin to Cyrillic help a trained run? Scores the same run with
`model.text.transliterate` off and on, on the tg-Latn rows of the bundled corpus (test, and dev+test) and on the
tg-Latn functional cases, and writes the comparison as JSON (numbers for docs/inference.md).

    python scripts/measure_translit.py RUN_DIR [--out docs/translit.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rows(path: Path, lang: str) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["lang"] == lang]


def _score(clf, transliterate: bool, sets: dict[str, list[dict]], cases: list[dict]) -> dict:
    from tfgbv.data.sources import labels_matrix
    from tfgbv.labels import LABELS
    from tfgbv.metrics.masked import classification_report
    from tfgbv.report.evaluation import functional_results

    clf.prep = dataclasses.replace(clf.prep, transliterate=transliterate)
    out = {}
    for name, rows in sets.items():
        rep = classification_report(
            labels_matrix(rows), clf.predict_proba([r["text"] for r in rows]), clf.thresholds.tolist(), list(LABELS)
        )
        out[name] = {
            "rows": len(rows),
            "macro_f1": rep["overall"]["macro_f1"],
            "micro_f1": rep["overall"]["micro_f1"],
            "f1": {lab: rep["labels"][lab]["f1"] for lab in LABELS},
        }
    fr = functional_results(cases, clf.predict_proba([c["text"] for c in cases]), clf.thresholds.tolist())
    out["functional_tg_latn"] = {"cases": fr["cases"], "accuracy": fr["accuracy"], "accuracy_ci": fr["accuracy_ci"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    from tfgbv.predict.transformer import Classifier
    from tfgbv.translit import looks_like_tajik_latin

    seed = ROOT / "data" / "seed"
    test, dev = _rows(seed / "test.jsonl", "tg-Latn"), _rows(seed / "dev.jsonl", "tg-Latn")
    cases = _rows(ROOT / "data" / "functional" / "cases.jsonl", "tg-Latn")
    sets = {"seed_test_tg_latn": test, "seed_dev_test_tg_latn": dev + test}
    clf = Classifier.from_pretrained(args.run_dir)
    result = {
        "run_dir": str(args.run_dir),
        "model_id": clf.model_id,
        "gated": {
            name: sum(looks_like_tajik_latin(r["text"]) for r in rows)
            for name, rows in {**sets, "functional_tg_latn": cases}.items()
        },
        "off": _score(clf, False, sets, cases),
        "on": _score(clf, True, sets, cases),
    }
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        from tfgbv.io import write_text

        write_text(args.out, text + "\n")
    print(text)


if __name__ == "__main__":
    main()
