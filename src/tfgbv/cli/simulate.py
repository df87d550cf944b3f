"""Entry point of the active-learning simulation (argparse; `scripts/simulate_active_learning.py`).

Composes each dataset's `data` config group, loads it, and runs `tfgbv.annotate.simulate.run_campaign`, checkpointing
the JSON after every curve (a rerun with the same options resumes); then renders the Markdown and PNG from that JSON
(`tfgbv.report.active_learning`).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir

from tfgbv.annotate.simulate import SimSpec, make_task, run_campaign
from tfgbv.annotate.strategies import STRATEGIES
from tfgbv.cli.config import CONFIG_DIR, REPO_ROOT
from tfgbv.cli.errors import entry_point
from tfgbv.cli.run import data_sources
from tfgbv.data.sources import LoadedData, load_data
from tfgbv.io import write_json, write_text
from tfgbv.models.baseline import BaselineSpec
from tfgbv.report.active_learning import plot_curves, render_markdown

log = logging.getLogger("tfgbv")

DOCS = (REPO_ROOT or Path.cwd()) / "docs"
HELP = """\
Simulate the annotation loop on labelled public data with the labels hidden (issue 15, item 6): random vs active
selection, TF-IDF + LR refitted each round, F1 on the test split by labels annotated.

    python scripts/simulate_active_learning.py                          # both datasets, 3 seeds, budget 3000
    python scripts/simulate_active_learning.py --budget 1000 --seeds 0  # quicker
    python scripts/simulate_active_learning.py --render-only            # Markdown + PNG from the JSON again
A rerun with the same options resumes from the JSON (each finished dataset x strategy x seed is kept).
"""


def load_dataset(name: str, overrides: Sequence[str] = ()) -> LoadedData:
    """The `data=<name>` config group, composed like `scripts/train.py data=<name>` would, and loaded."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"data={name}", *overrides])
    return load_data(data_sources(cfg.data))


def _render(json_path: Path, md_path: Path, png_path: Path) -> None:
    result = json.loads(json_path.read_text(encoding="utf-8"))  # the Markdown reads the file, never the live run
    write_text(md_path, render_markdown(result, png_name=png_path.name) + "\n")
    plot_curves(result, png_path)


@entry_point("tfgbv-simulate")
def simulate(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--datasets", nargs="+", default=["ru_sexism_vk", "ru_2ch_pikabu"], help="data configs, each NAME or NAME:LABEL"
    )
    ap.add_argument("--strategies", nargs="+", default=["random", "uncertainty", "uncertainty_diversity"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--seed-size", type=int, default=SimSpec.seed_size)
    ap.add_argument("--batch", type=int, default=SimSpec.batch)
    ap.add_argument("--budget", type=int, default=SimSpec.budget)
    ap.add_argument("--svd-dim", type=int, default=SimSpec.svd_dim)
    ap.add_argument("--stratify", action="store_true", help="select within language x predicted-label strata")
    ap.add_argument("--out-json", type=Path, default=DOCS / "active_learning.json")
    ap.add_argument("--out-md", type=Path, default=DOCS / "active_learning.md")
    ap.add_argument("--out-png", type=Path, default=DOCS / "active_learning.png")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing JSON instead of resuming from it")
    ap.add_argument("--render-only", action="store_true", help="only render the Markdown and PNG from the JSON")
    ap.add_argument("--override", action="append", default=[], help="Hydra override, e.g. paths.shared_datasets=DIR")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.render_only:
        _render(args.out_json, args.out_md, args.out_png)
        print(f"wrote {args.out_md} and {args.out_png} from {args.out_json}")
        return 0
    if "random" not in args.strategies:
        ap.error("--strategies must include random (the baseline every other strategy is read against)")
    bad = sorted(set(args.strategies) - set(STRATEGIES))
    if bad:
        ap.error(f"unknown strategies {bad}; choose from {STRATEGIES}")

    sim = SimSpec(
        seed_size=args.seed_size, batch=args.batch, budget=args.budget, svd_dim=args.svd_dim, stratify=args.stratify
    )
    spec = BaselineSpec()
    result = None
    if args.out_json.exists() and not args.fresh:
        result = json.loads(args.out_json.read_text(encoding="utf-8"))
        log.info("resuming from %s", args.out_json)
    t0 = time.perf_counter()
    previous = (result or {}).get("wall_seconds", 0.0)

    def save(res: dict) -> None:
        res["wall_seconds"] = round(previous + time.perf_counter() - t0, 1)
        write_json(args.out_json, res)

    for item in args.datasets:
        name, _, label = item.partition(":")
        task, oracle = make_task(name, load_dataset(name, args.override), spec, sim, label or None)
        log.info("%s: pool %d rows, %s", name, task.pool_rows, task.info)
        result = run_campaign([(task, oracle)], args.strategies, args.seeds, sim, spec, result, save)
        save(result)
    _render(args.out_json, args.out_md, args.out_png)
    print(f"wrote {args.out_json}, {args.out_md}, {args.out_png} in {time.perf_counter() - t0:.0f} s")
    return 0
