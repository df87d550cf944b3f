"""Entry point of the speed benchmark (scripts/bench.py, `tfgbv-bench`): inference backends, training step, Ray."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from tfgbv.cli.config import as_dict, to_spec
from tfgbv.cli.errors import hydra_entry_point
from tfgbv.cli.run import data_sources, model_spec
from tfgbv.data.sources import load_data
from tfgbv.report.bench import BenchSpec, run_bench

# bench.yaml keys consumed by the entry point (the model and data groups it composes) rather than BenchSpec.
BENCH_RUN_KEYS = ("task_name", "paths", "model", "data", "trainer")


def bench_spec(cfg: DictConfig, command: str) -> BenchSpec:
    return to_spec(BenchSpec, {**as_dict(cfg), "command": command}, "bench", ignore=BENCH_RUN_KEYS)


@hydra_entry_point("tfgbv-bench", "bench")
def bench(cfg: DictConfig) -> dict[str, Any]:
    """Inference / training / Ray speed benchmark; writes docs/bench.{md,json}."""
    spec = bench_spec(cfg, command=" ".join(["python scripts/bench.py", *sys.argv[1:]]))
    records = None
    if spec.train_steps > 0 and cfg.get("data") is not None:  # time the training step on what make train trains on
        records = load_data(data_sources(cfg.data), seed=0).training_records()
    res = run_bench(spec, model_spec(cfg.model), root=cfg.paths.root_dir, train_records=records)
    print(Path(cfg.paths.root_dir, spec.out_md).read_text(encoding="utf-8"))
    return res
