"""Entry points for scoring, ONNX export and the speed benchmark (scripts/predict.py, export.py, bench.py and the
`tfgbv-predict`, `tfgbv-export`, `tfgbv-bench` console scripts)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from tfgbv.cli.config import CONFIG_DIR, bench_spec, data_sources, model_spec, score_spec
from tfgbv.data.sources import load_data
from tfgbv.predict.files import load_scorer, score_files
from tfgbv.predict.onnx_backend import export_onnx
from tfgbv.predict.ray_engine import score_with_ray
from tfgbv.report.bench import run_bench

log = logging.getLogger("tfgbv.predict")


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def predict(cfg: DictConfig) -> dict[str, Any]:
    """Score files (or stdin) with a run; prints and returns the run summary."""
    inputs = list(cfg.input) if OmegaConf.is_list(cfg.input) else [str(cfg.input)]
    spec = score_spec(cfg)
    if cfg.engine.name == "ray":
        summary = score_with_ray(
            cfg.model_dir,
            inputs,
            cfg.output,
            spec,
            num_actors=cfg.engine.num_actors,
            address=cfg.engine.address,
            batch_size=cfg.engine.batch_size,
            num_cpus_per_actor=cfg.engine.num_cpus_per_actor,
            backend=cfg.backend,
            bf16=cfg.bf16,
            rejects=cfg.rejects,
        )
    else:
        clf = load_scorer(cfg.model_dir, cfg.backend, cfg.bf16, cfg.num_threads, cfg.batch_size, cfg.onnx_variant)
        summary = score_files(clf, inputs, cfg.output, spec, cfg.rejects)
    print(json.dumps(summary, indent=2))
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="export")
def export(cfg: DictConfig) -> dict[str, Any]:
    """Export a run to ONNX (fp32, optionally int8) and check it agrees with PyTorch."""
    report = export_onnx(
        cfg.model_dir, Path(cfg.out_dir) if cfg.out_dir else None, quantize=cfg.quantize, check_texts=cfg.check_texts
    )
    print(json.dumps(report, indent=2))
    return report


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="bench")
def bench(cfg: DictConfig) -> dict[str, Any]:
    """Inference / training / Ray speed benchmark; writes docs/bench.{md,json}."""
    spec = bench_spec(cfg, command=" ".join(["python scripts/bench.py", *sys.argv[1:]]))
    records = None
    if spec.train_steps > 0 and cfg.get("data") is not None:  # time the training step on what make train trains on
        records = load_data(data_sources(cfg.data), seed=0).training_records()
    res = run_bench(spec, model_spec(cfg.model), root=cfg.paths.root_dir, train_records=records)
    print(Path(cfg.paths.root_dir, spec.out_md).read_text(encoding="utf-8"))
    return res
