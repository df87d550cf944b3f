"""Headline figures of the default model over runs that differ only in the seed -> docs/default_model.{json,md}.

    python scripts/seed_spread.py runs/<seed-42 run> runs/<seed-1 run> runs/<seed-2 run>
Each run must have a finished evaluation (make train writes it). Numbers come from those files only.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tfgbv import rundir
from tfgbv.io import write_json, write_text
from tfgbv.report.headline import headline_metrics, render_spread, spread

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    runs = [Path(a) for a in argv]
    if not runs:
        print(__doc__, file=sys.stderr)
        return 2
    values, described = [], []
    for run in runs:
        art = rundir.load_artifacts(run)
        ev = art["eval"]
        if ev is None:
            print(
                f"{run}: no finished evaluation ({rundir.EVAL_DIR}/{rundir.METRICS}); run make train", file=sys.stderr
            )
            return 1
        values.append(headline_metrics(ev))
        described.append(
            {
                "run": run.name,
                "seed": art["config"].get("seed"),
                "model_id": ev.get("model_id"),
                "timings": art["timings"] or None,
            }
        )
    summary = spread(values)
    write_json(ROOT / "docs" / "default_model.json", {"runs": described, "targets": summary})
    md = [
        "# The default model over seeds",
        "",
        f"`make train` configuration, {len(runs)} runs differing only in `seed` "
        f"({', '.join(str(d['seed']) for d in described)}); each figure from the run's "
        f"`{rundir.EVAL_DIR}/{rundir.METRICS}` (`tfgbv.report.headline`). A difference between two configurations "
        "smaller than the SD here is noise.",
        "",
        *render_spread(summary, [d["run"] for d in described]),
        "",
    ]
    write_text(ROOT / "docs" / "default_model.md", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
