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
import os
import sys
import tempfile
from pathlib import Path

from tfgbv.data.functional import dump_jsonl, generate_cases, readme, summarize

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "functional" / "cases.jsonl"


def write_atomic(path: Path, text: str) -> None:
    """Write text to path via a temp file in the same folder and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cases JSONL path (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed; the committed suite uses 0")
    args = ap.parse_args(argv)
    if args.out.suffix != ".jsonl":
        ap.error(f"--out must be a .jsonl file, got {args.out}")
    cases = generate_cases(args.seed)
    summary = summarize(cases)
    write_atomic(args.out, dump_jsonl(cases))
    write_atomic(args.out.with_name("summary.json"), json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    write_atomic(args.out.with_name("README.md"), readme(cases))
    print(
        f"{summary['cases']} cases in {summary['functionalities']} functionalities "
        f"({summary['hard_negative_cases']} hard negatives) -> {args.out.parent}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
