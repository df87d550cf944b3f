"""Generate the functional test suite (data/functional/cases.jsonl + summary.json) from tfgbv.functional's templates.

    python scripts/make_functional.py --out data/functional/cases.jsonl --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tfgbv.data import write_json, write_jsonl
from tfgbv.functional import generate_cases, summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "functional" / "cases.jsonl")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cases = generate_cases(args.seed)
    write_jsonl(args.out, cases)
    write_json(args.out.with_name("summary.json"), summary(cases))
    print(f"{len(cases)} cases in {len({c['functionality'] for c in cases})} functionalities -> {args.out}")


if __name__ == "__main__":
    main()
