"""Generate the functional test suite from the templates in src/tfgbv/functional.py.

Writes, each atomically (temp file in the same folder, then rename):
  <out>                      the cases, one JSON object per line
  <out folder>/summary.json  counts per functionality x language x expected label
  <out folder>/README.md     what the suite is, the functionalities table, how to regenerate

    python scripts/make_functional.py --out data/functional/cases.jsonl --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tfgbv.data.functional import dump_jsonl, generate_cases, readme, summarize
from tfgbv.io import write_text

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "functional" / "cases.jsonl"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cases JSONL path (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed; the committed suite uses 0")
    args = ap.parse_args(argv)
    if args.out.suffix != ".jsonl":
        ap.error(f"--out must be a .jsonl file, got {args.out}")
    cases = generate_cases(args.seed)
    summary = summarize(cases)
    write_text(args.out, dump_jsonl(cases))
    write_text(args.out.with_name("summary.json"), json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    write_text(args.out.with_name("README.md"), readme(cases))
    print(
        f"{summary['cases']} cases in {summary['functionalities']} functionalities "
        f"({summary['hard_negative_cases']} hard negatives) -> {args.out.parent}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
