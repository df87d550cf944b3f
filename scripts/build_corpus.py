"""Build the committed split of the bundled corpus from hand-written part files.

Near-duplicates (character 4-gram Jaccard >= threshold) are grouped so a group never straddles splits; the split is
stratified by label combination and language, seeded. Used once to create data/seed/{train,dev,test}.jsonl:

    python scripts/build_corpus.py data/seed/parts/*.jsonl --out data/seed
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tfgbv.data.corpus import check_record, read_jsonl
from tfgbv.data.dedup import duplicate_groups, near_duplicate_pairs
from tfgbv.data.sources import stratified_split
from tfgbv.io import write_jsonl

KEY_ORDER = (
    "id",
    "text",
    "lang",
    "script",
    "insult",
    "shaming",
    "threat",
    "doxxing",
    "target",
    "functionality",
    "obfuscation",
    "platform",
    "synthetic",
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("parts", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dev", type=float, default=0.15)
    ap.add_argument("--test", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--near-threshold", type=float, default=0.8)
    args = ap.parse_args(argv)

    records, problems = [], []
    for part in args.parts:
        for lineno, rec in read_jsonl(part):
            problems.extend(check_record(rec, f"{part}:{lineno}"))
            records.append({k: rec[k] for k in KEY_ORDER if k in rec})
    if problems:
        print("\n".join(problems[:200]), file=sys.stderr)
        print(f"{len(problems)} problem(s); nothing written", file=sys.stderr)
        return 1
    pairs = near_duplicate_pairs([r["text"] for r in records], args.near_threshold)
    groups = duplicate_groups(len(records), pairs)
    splits = stratified_split(records, args.dev, args.test, args.seed, groups=groups)
    for name, recs in splits.items():
        recs.sort(key=lambda r: r["id"])
        write_jsonl(args.out / f"{name}.jsonl", recs)
        print(f"{name}: {len(recs)} rows")
    print(f"{len(pairs)} near-duplicate pair(s) kept within one split")
    return 0


if __name__ == "__main__":
    sys.exit(main())
