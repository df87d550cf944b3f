"""Headline figures of the default model over runs that differ only in the seed -> docs/default_model.{json,md}.

    python scripts/seed_spread.py runs/<seed-42 run> runs/<seed-1 run> runs/<seed-2 run>
Each run must have eval/metrics.json (make train writes it). Numbers come from those files only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tfgbv.data import write_json, write_text
from tfgbv.headline import headline_metrics, render_spread, spread

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    runs = [Path(a) for a in argv]
    if not runs:
        print(__doc__, file=sys.stderr)
        return 2
    values, described = [], []
    for run in runs:
        ev = json.loads((run / "eval" / "metrics.json").read_text(encoding="utf-8"))
        cfg = json.loads((run / "config.json").read_text(encoding="utf-8"))
        timings = run / "timings.json"
        values.append(headline_metrics(ev))
        described.append({"run": run.name, "seed": cfg.get("seed"), "model_id": ev.get("model_id"),
                          "timings": json.loads(timings.read_text(encoding="utf-8")) if timings.exists() else None})
    summary = spread(values)
    write_json(ROOT / "docs" / "default_model.json", {"runs": described, "targets": summary})
    md = ["# The default model over seeds", "",
          f"`make train` configuration, {len(runs)} runs differing only in `seed` "
          f"({', '.join(str(d['seed']) for d in described)}); each figure from the run's `eval/metrics.json` "
          "(`tfgbv.headline`). A difference between two configurations smaller than the SD here is noise.", "",
          *render_spread(summary, [d["run"] for d in described]), ""]
    write_text(ROOT / "docs" / "default_model.md", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
