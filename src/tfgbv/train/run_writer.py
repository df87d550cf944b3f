"""The run directory as both trainers write it: inputs first (data manifest, environment, config), then the model's
decisions (thresholds, temperatures), then the metrics. File names come from tfgbv.rundir."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from tfgbv import rundir
from tfgbv.data.sources import LoadedData, labels_matrix, manifest
from tfgbv.env import environment_info
from tfgbv.io import write_json
from tfgbv.labels import LABELS
from tfgbv.metrics.decision import Decisions
from tfgbv.metrics.masked import classification_report

CALIBRATION_METHOD = "temperature scaling per label, fitted on dev (masked BCE)"


def start_run(run_dir: str | Path, data: LoadedData, resolved_config: dict | None) -> Path:
    """Create the run directory and record what the run is made from, before any training."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not data.splits.get("train"):
        raise ValueError("no training rows: check the data config (train split is empty)")
    write_json(run_dir / rundir.MANIFEST, manifest(data))
    write_json(run_dir / rundir.ENVIRONMENT, environment_info())
    if resolved_config is not None:
        write_json(run_dir / rundir.CONFIG, resolved_config)
    return run_dir


def decisions_meta(decisions: Decisions) -> dict[str, Any]:
    """The decisions as tfgbv_config.json stores them (by label name)."""
    return {
        "thresholds": dict(zip(LABELS, decisions.thresholds)),
        "temperatures": dict(zip(LABELS, decisions.temperatures)),
    }


def write_decisions(run_dir: str | Path, decisions: Decisions) -> None:
    """thresholds.json and calibration.json: what a reader of the run needs to know about how labels are decided."""
    meta = decisions_meta(decisions)
    write_json(
        Path(run_dir) / rundir.THRESHOLDS,
        {
            "thresholds": meta["thresholds"],
            "tuned_on": decisions.tuned_on,
            "grid": [decisions.grid[0], decisions.grid[-1]],
        },
    )
    write_json(Path(run_dir) / rundir.CALIBRATION, {"method": CALIBRATION_METHOD, "temperatures": meta["temperatures"]})


def split_reports(
    data: LoadedData,
    predict_proba: Callable[[Sequence[str]], np.ndarray],
    decisions: Decisions,
    dev_prob: np.ndarray | None,
    score_test: bool,
) -> dict[str, Any]:
    """Classification reports on dev (from the calibrated dev probabilities already computed) and, if asked, test."""
    out: dict[str, Any] = {}
    if dev_prob is not None:
        out["dev"] = classification_report(
            labels_matrix(data.splits["dev"]), dev_prob, decisions.thresholds, list(LABELS)
        )
    test = data.splits.get("test") or []
    if test and score_test:
        prob = predict_proba([r["text"] for r in test])
        out["test"] = classification_report(labels_matrix(test), prob, decisions.thresholds, list(LABELS))
    return out


def finish_run(run_dir: str | Path, metrics: dict[str, Any], history: list | None = None) -> None:
    """metrics.json (and the transformer's train_history.json): written last, so their presence means a finished run."""
    if history is not None:
        write_json(Path(run_dir) / rundir.HISTORY, history)
    write_json(Path(run_dir) / rundir.METRICS, metrics)
