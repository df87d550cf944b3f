"""Hydra entry points for scoring and export (scripts/predict.py, scripts/export.py, scripts/bench.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from tfgbv.cli import CONFIG_DIR
from tfgbv.scoring import load_scorer

log = logging.getLogger("tfgbv.predict")


load_for_scoring = load_scorer  # kept for callers of the first version


# predict.yaml keys that choose the model, inputs, outputs, backend or engine; every other key is a ScoreSpec option.
RUN_KEYS = frozenset({"task_name", "paths", "engine", "model_dir", "input", "output", "rejects", "backend", "onnx_variant",
                      "bf16", "num_threads"})


def score_spec(cfg: DictConfig):
    """ScoreSpec from the config; an unknown key (a typo such as `chunk_row=`) is an error, never ignored."""
    from tfgbv.scoring import ScoreSpec
    from tfgbv.training import spec_from_dict

    raw = OmegaConf.to_container(cfg, resolve=True)
    return spec_from_dict(ScoreSpec, {k: v for k, v in raw.items() if k not in RUN_KEYS})


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def predict(cfg: DictConfig) -> dict[str, Any]:
    inputs = list(cfg.input) if OmegaConf.is_list(cfg.input) else [str(cfg.input)]
    spec = score_spec(cfg)
    if cfg.engine.name == "ray":
        from tfgbv.ray_engine import score_with_ray

        summary = score_with_ray(cfg.model_dir, inputs, cfg.output, spec, num_actors=cfg.engine.num_actors,
                                 address=cfg.engine.address, batch_size=cfg.engine.batch_size,
                                 num_cpus_per_actor=cfg.engine.num_cpus_per_actor, backend=cfg.backend, bf16=cfg.bf16,
                                 rejects=cfg.rejects)
    else:
        from tfgbv.scoring import score_files

        clf = load_for_scoring(cfg.model_dir, cfg.backend, cfg.bf16, cfg.num_threads, cfg.batch_size, cfg.onnx_variant)
        summary = score_files(clf, inputs, cfg.output, spec, cfg.rejects)
    print(json.dumps(summary, indent=2))
    return summary


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="export")
def export(cfg: DictConfig) -> dict[str, Any]:
    from tfgbv.onnx_backend import export_onnx

    report = export_onnx(cfg.model_dir, Path(cfg.out_dir) if cfg.out_dir else None, quantize=cfg.quantize,
                         check_texts=cfg.check_texts)
    print(json.dumps(report, indent=2))
    return report


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="bench")
def bench(cfg: DictConfig) -> dict[str, Any]:
    import sys

    from tfgbv.bench import BenchSpec, run_bench
    from tfgbv.cli import model_spec

    raw = OmegaConf.to_container(cfg, resolve=True)
    spec = BenchSpec(**{k: v for k, v in raw.items() if k in BenchSpec.__dataclass_fields__},
                     command=" ".join(["python scripts/bench.py", *sys.argv[1:]]))
    records = None
    if spec.train_steps > 0 and cfg.get("data") is not None:  # time the training step on what make train trains on
        from tfgbv.cli import data_sources
        from tfgbv.data import load_data

        records = load_data(data_sources(cfg.data), seed=0).training_records()
    res = run_bench(spec, model_spec(cfg.model), root=cfg.paths.root_dir, train_records=records)
    print(Path(cfg.paths.root_dir, spec.out_md).read_text(encoding="utf-8"))
    return res
