"""Headline figures of the default model over runs that differ only in the seed -> docs/default_model.{json,md}.

    python scripts/seed_spread.py runs/<seed-42 run> runs/<seed-1 run> runs/<seed-2 run> \
        [--variant NAME=runs/<run of a changed configuration>[,runs/<its run with another seed>] ...]
Each run must have a finished evaluation (make train writes it). Numbers come from those files only. A variant is one
run of another configuration, or several (one per seed, comma-separated): their mean is compared with the seeds'
spread, and what differs in its saved config is listed. Runs with dev evaluations during training
(trainer.curve_points) add their learning curve.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tfgbv import rundir
from tfgbv.io import write_json, write_text
from tfgbv.report.headline import (
    compare_variants,
    config_changes,
    headline_metrics,
    learning_curve,
    mean_values,
    render_spread,
    render_variants,
    spread,
    with_all_failures,
)

ROOT = Path(__file__).resolve().parents[1]


def _load(run: Path) -> dict[str, Any]:
    art = rundir.load_artifacts(run)
    if art["eval"] is None:
        raise SystemExit(f"{run}: no finished evaluation ({rundir.EVAL_DIR}/{rundir.METRICS}); run make train")
    return with_all_failures(art)


def borrow_noise(summary: dict[str, Any], path: Path) -> list[str]:
    """Fill in the SD of targets that have none (one run) from an earlier spread's JSON; returns the keys filled."""
    earlier = (rundir.read_json(ROOT / path) or rundir.read_json(path) or {}).get("targets") or {}
    filled = []
    for key, entry in summary.items():
        sd = (earlier.get(key) or {}).get("sd")
        if entry["sd"] is None and sd is not None:
            entry["sd"], entry["sd_from"] = sd, str(path)
            filled.append(key)
    return filled


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="runs of the default configuration, differing only in seed")
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=RUN[,RUN...]",
        help="runs of a changed config (one per seed; their mean is compared)",
    )
    ap.add_argument("--out", default="docs/default_model", help="output stem (.json and .md), repository-relative")
    ap.add_argument("--title", default="The default model over seeds")
    ap.add_argument("--about", default="`make train` configuration", help="what the seed runs are")
    ap.add_argument(
        "--noise",
        type=Path,
        help="an earlier spread's JSON (e.g. docs/default_model.json): its seed SDs judge the variants where these "
        "runs give none (a single run per configuration)",
    )
    args = ap.parse_args(argv)
    arts = [_load(run) for run in args.runs]
    values = [headline_metrics(a["eval"], a["external"]) for a in arts]
    described = [
        {
            "run": a["run_dir"].name,
            "seed": a["config"].get("seed"),
            "model_id": a["eval"].get("model_id"),
            "timings": a["timings"] or None,
        }
        for a in arts
    ]
    summary = spread(values)
    borrowed = borrow_noise(summary, args.noise) if args.noise else []
    md = [
        f"# {args.title}",
        "",
        f"{args.about}, {len(arts)} runs differing only in `seed` "
        f"({', '.join(str(d['seed']) for d in described)}); each figure from the run's "
        f"`{rundir.EVAL_DIR}/{rundir.METRICS}` (`tfgbv.report.headline`). A difference between two configurations "
        "smaller than the SD here is noise.",
        "",
        *render_spread(summary, [d["run"] for d in described]),
        "",
    ]
    if borrowed:
        md += [
            f"Seed SDs taken from `{args.noise}` (the same targets over its seeds) for: "
            + ", ".join(summary[k]["what"].strip() for k in borrowed)
            + ". Targets without an SD cannot be judged against noise.",
            "",
        ]
    variants: dict[str, Any] = {}
    for item in args.variant:
        name, sep, paths = item.partition("=")
        if not sep or not name or not paths:
            ap.error(f"--variant {item!r}: expected NAME=RUN_DIR[,RUN_DIR...]")
        runs = [Path(p) for p in paths.split(",")]
        varts = [_load(run) for run in runs]
        per_run = [headline_metrics(a["eval"], a["external"]) for a in varts]
        variants[name] = {
            "run": ", ".join(run.name for run in runs),
            "seed": ", ".join(str(a["config"].get("seed")) for a in varts),
            "changes": config_changes(arts[0]["config"], varts[0]["config"], str(ROOT)),
            "values": mean_values(per_run),
            "per_run": per_run,
        }
    compared = compare_variants(summary, {n: v["values"] for n, v in variants.items()})
    if variants:
        md += [
            "## Variants (each its runs' mean, against the seeds above)",
            "",
            "A difference counts only when it is larger than 2 SD of the seeds (**bold**); otherwise it is noise.",
            "",
        ]
        for name, v in variants.items():
            md.append(f"- **{name}** (`{v['run']}`, seed {v['seed']}): " + ("; ".join(v["changes"]) or "same config"))
        md += ["", *render_variants(summary, compared), ""]
    curves = {}
    for a, d in zip(arts, described):
        batch = ((a["config"].get("trainer") or {}).get("per_device_train_batch_size")) or 1
        curve = learning_curve(a["history"], int(batch))
        if curve:
            curves[d["run"]] = curve
    if curves:
        md += [
            "## Learning curve",
            "",
            "Dev macro-F1 at threshold 0.5 (all sources' dev rows, before calibration) after each share of the one "
            "pass over the training rows (`trainer.curve_points`; evaluations only, the trained model is the same):",
            "",
        ]
        for run, curve in curves.items():
            md.append(f"- `{run}`: " + ", ".join(f"{rows:,} rows {f1:.3f}" for rows, f1 in curve))
            half = [f1 for rows, f1 in curve if rows >= curve[-1][0] / 2]
            if len(half) > 1:
                md.append(
                    f"  Over the second half of the pass dev macro-F1 moved {half[-1] - half[0]:+.3f} "
                    f"(from {half[0]:.3f} to {half[-1]:.3f})."
                )
        md.append("")
    write_json(
        ROOT / f"{args.out}.json",
        {"runs": described, "targets": summary, "variants": variants, "compared": compared, "curves": curves},
    )
    write_text(ROOT / f"{args.out}.md", "\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
