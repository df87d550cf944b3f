"""Entry points of the data tools (argparse, not Hydra: they take no config groups): `tfgbv-validate-data` checks the
bundled corpus, `tfgbv-data` fetches and lists the public datasets."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from tfgbv.cli.errors import entry_point
from tfgbv.data import fetch
from tfgbv.data.corpus import validate_corpus, write_statement_counts
from tfgbv.io import write_text
from tfgbv.locations import data_dir, shared_datasets_dir

VALIDATE_HELP = """\
Validate the bundled corpus and functional suite: schema (file:line: field), duplicates within/across splits,
corpus requirements, and that DATA_STATEMENT.md's counts match the files. Exits 1 on any problem; never edits data
unless asked to.

    tfgbv-validate-data                      # check (scripts/validate_data.py is the same)
    tfgbv-validate-data --write-statement    # regenerate the counts block in data/DATA_STATEMENT.md
"""


@entry_point("tfgbv-validate-data")
def validate_data(argv: list[str] | None = None) -> int:
    """`tfgbv-validate-data` (and scripts/validate_data.py): check the bundled corpus and functional suite."""
    data = data_dir()  # the checkout's data/ or the copy installed with the package
    ap = argparse.ArgumentParser(
        prog="tfgbv-validate-data", description=VALIDATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed-dir", default=data / "seed", type=Path)
    ap.add_argument("--functional", default=data / "functional" / "cases.jsonl", type=Path)
    ap.add_argument("--statement", default=data / "DATA_STATEMENT.md", type=Path)
    ap.add_argument(
        "--near-threshold", default=0.8, type=float, help="character 4-gram Jaccard similarity for near duplicates"
    )
    ap.add_argument(
        "--write-statement", action="store_true", help="regenerate the statement's counts block from the files"
    )
    ap.add_argument("--json", type=Path, help="also write the full report (duplicates, stats) as JSON")
    args = ap.parse_args(argv)

    report = validate_corpus(
        args.seed_dir, args.functional, None if args.write_statement else args.statement, args.near_threshold
    )
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


@entry_point("tfgbv-data")
def fetch_data(argv: Sequence[str] | None = None) -> int:
    """`tfgbv-data`: fetch or list the public datasets (see tfgbv.data.fetch)."""
    ap = argparse.ArgumentParser(
        prog="tfgbv-data", description=fetch.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--registry", type=Path, help="dataset registry YAML (default: the packaged configs/datasets.yaml)")
    ap.add_argument(
        "--dest", type=Path, help="folder holding one sub-folder per dataset (default: paths.shared_datasets)"
    )
    sub = ap.add_subparsers(dest="command", required=True)
    get = sub.add_parser("fetch", help="download, verify and install datasets (all when no name is given)")
    get.add_argument("names", nargs="*")
    get.add_argument("--force", action="store_true", help="replace local files whose SHA-256 does not match")
    get.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a retry")
    lst = sub.add_parser("list", help="show which datasets are present, missing or corrupt")
    lst.add_argument("names", nargs="*")
    for command in (get, lst):  # also accepted after the subcommand (`tfgbv-data fetch NAME --dest DIR`)
        command.add_argument("--registry", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        command.add_argument("--dest", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        datasets = fetch.select(fetch.load_registry(args.registry), args.names)
        if args.dest:
            dest = args.dest.expanduser()
        else:
            dest = shared_datasets_dir()
        dest = Path(os.path.normpath(dest.absolute()))  # messages show a/shared/datasets, not a/repo/../shared
        if args.command == "list":
            return fetch.cmd_list(datasets, dest)
        return fetch.cmd_fetch(datasets, dest, args.force, args.timeout)
    except fetch.FetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
