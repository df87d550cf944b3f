"""Hydra entry points for scoring and export (scripts/predict.py, scripts/export.py, scripts/bench.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from tfgbv.cli import CONFIG_DIR

log = logging.getLogger("tfgbv.predict")


def load_for_scoring(model_dir: str, backend: str = "torch", bf16: Any = "auto", num_threads: int | None = None,
                     batch_size: int = 64, onnx_variant: str = "int8"):
    """A classifier for the chosen backend (loaded once per process)."""
    if backend == "onnx":
        from tfgbv.onnx_backend import OnnxClassifier

        return OnnxClassifier.from_pretrained(model_dir, variant=onnx_variant, batch_size=batch_size, num_threads=num_threads)
    from tfgbv.modeling import load_classifier

    return load_classifier(model_dir, batch_size=batch_size, bf16=bf16, num_threads=num_threads)


def score_spec(cfg: DictConfig):
    from tfgbv.scoring import ScoreSpec

    keys = set(ScoreSpec.__dataclass_fields__)
    return ScoreSpec(**{k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k in keys})


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="predict")
def predict(cfg: DictConfig) -> dict[str, Any]:
    inputs = list(cfg.input) if OmegaConf.is_list(cfg.input) else [str(cfg.input)]
    spec = score_spec(cfg)
    if cfg.engine.name == "ray":
        from tfgbv.ray_engine import score_with_ray

        summary = score_with_ray(cfg.model_dir, inputs, cfg.output, spec, num_actors=cfg.engine.num_actors,
                                 address=cfg.engine.address, batch_size=cfg.engine.batch_size,
                                 num_cpus_per_actor=cfg.engine.num_cpus_per_actor, backend=cfg.backend)
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
