"""Validate the bundled corpus and functional suite: schema (file:line: field), duplicates within/across splits,
corpus requirements, and that DATA_STATEMENT.md's counts match the files. Exits 1 on any problem; never edits data
unless asked to.

    tfgbv-validate-data                      # check (scripts/validate_data.py is the same)
    tfgbv-validate-data --write-statement    # regenerate the counts block in data/DATA_STATEMENT.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tfgbv.corpus import validate_corpus, write_statement_counts
from tfgbv.data import write_text
from tfgbv.locations import data_dir


def main(argv: list[str] | None = None) -> int:
    data = data_dir()  # the checkout's data/ or the copy installed with the package
    ap = argparse.ArgumentParser(prog="tfgbv-validate-data", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed-dir", default=data / "seed", type=Path)
    ap.add_argument("--functional", default=data / "functional" / "cases.jsonl", type=Path)
    ap.add_argument("--statement", default=data / "DATA_STATEMENT.md", type=Path)
    ap.add_argument("--near-threshold", default=0.8, type=float, help="character 4-gram Jaccard similarity for near duplicates")
    ap.add_argument("--write-statement", action="store_true", help="regenerate the statement's counts block from the files")
    ap.add_argument("--json", type=Path, help="also write the full report (duplicates, stats) as JSON")
    args = ap.parse_args(argv)

    report = validate_corpus(args.seed_dir, args.functional, None if args.write_statement else args.statement, args.near_threshold)
    if args.write_statement and "stats" in report:
        write_statement_counts(args.statement, report["stats"])
        print(f"counts written to {args.statement}")
    dups = report.get("duplicates")
    if dups:
        for kind in ("exact_within", "exact_across", "near_within", "near_across"):
            print(f"{kind.replace('_', ' '):>13} splits: {len(dups[kind])} pair(s)")
        for d in dups["near_within"][:20]:
            print(f"  near within: {d['a']['split']}/{d['a']['id']} ~ {d['b']['id']} ({d.get('similarity')})")
    for name, ok, have in report.get("requirements", []):
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {have}")
    if args.json:
        write_text(args.json, json.dumps(report, ensure_ascii=False, indent=2, default=str))
    if report["problems"]:
        print(f"\n{len(report['problems'])} problem(s):", file=sys.stderr)
        for p in report["problems"][:200]:
            print(f"  {p}", file=sys.stderr)
        return 1
    print("data valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
