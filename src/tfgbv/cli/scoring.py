"""Entry points for scoring and ONNX export (scripts/predict.py, scripts/export.py, the `tfgbv-predict` and
`tfgbv-export` console scripts). Imports only the scoring side of the package, so a scoring run starts fast."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from tfgbv.cli.config import to_spec
from tfgbv.cli.errors import hydra_entry_point
from tfgbv.predict.files import (
    ScoreSpec,
    check_scorer_options,
    estimate_rows,
    load_scorer,
    preflight,
    score_files,
)
from tfgbv.predict.onnx_backend import export_onnx
from tfgbv.predict.precision import COMPILE_MIN_ROWS
from tfgbv.predict.ray_engine import score_with_ray

log = logging.getLogger("tfgbv.predict")

# predict.yaml keys that choose the model, inputs, outputs, backend or engine; every other key is a ScoreSpec option.
PREDICT_RUN_KEYS = (
    "task_name",
    "paths",
    "engine",
    "model_dir",
    "input",
    "output",
    "rejects",
    "backend",
    "onnx_variant",
    "bf16",
    "num_threads",
    "batch_tokens",
    "compile",
    "int8",
    "remeasure",
)


def want_compile(setting: Any, inputs: list[str], rows: int | None = None) -> bool:
    """`compile=true|false` as given; `auto`: on when the inputs hold at least COMPILE_MIN_ROWS rows (estimated, or
    `rows` when already counted)."""
    if setting != "auto":
        return bool(setting)
    rows = estimate_rows(inputs) if rows is None else rows
    return rows is not None and rows >= COMPILE_MIN_ROWS


def score_spec(cfg: DictConfig) -> ScoreSpec:
    """ScoreSpec from predict.yaml; an unknown key (a typo such as `chunk_row=`) is an error, never ignored."""
    return to_spec(ScoreSpec, cfg, "predict", ignore=PREDICT_RUN_KEYS)


@hydra_entry_point("tfgbv-predict", "predict")
def predict(cfg: DictConfig) -> dict[str, Any]:
    """Score files (or stdin) with a run; prints and returns the run summary."""
    inputs = list(cfg.input) if OmegaConf.is_list(cfg.input) else [str(cfg.input)]
    spec = score_spec(cfg)
    check_scorer_options(
        cfg.backend, cfg.bf16, cfg.num_threads, cfg.onnx_variant, cfg.batch_tokens, cfg.compile, cfg.int8
    )
    # a missing file or run directory, a wrong column, delimiter or encoding stops the run here, before the model loads
    preflight_inputs = preflight(cfg.model_dir, inputs, cfg.output, cfg.rejects, spec)
    rows = estimate_rows(preflight_inputs)  # bf16=auto measures only where it can pay; compile=auto
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
            rows=rows,
            remeasure=cfg.remeasure,
        )
    else:
        clf = load_scorer(
            cfg.model_dir,
            cfg.backend,
            cfg.bf16,
            cfg.num_threads,
            cfg.batch_size,
            cfg.onnx_variant,
            cfg.batch_tokens,
            want_compile(cfg.compile, preflight_inputs, rows),
            cfg.int8,
            rows=rows,
            remeasure=cfg.remeasure,
        )
        summary = score_files(clf, inputs, cfg.output, spec, cfg.rejects)
    print(json.dumps(summary, indent=2))
    return summary


@hydra_entry_point("tfgbv-export", "export")
def export(cfg: DictConfig) -> dict[str, Any]:
    """Export a run to ONNX (fp32, optionally int8) and check it agrees with PyTorch."""
    report = export_onnx(
        cfg.model_dir, Path(cfg.out_dir) if cfg.out_dir else None, quantize=cfg.quantize, check_texts=cfg.check_texts
    )
    print(json.dumps(report, indent=2))
    return report
