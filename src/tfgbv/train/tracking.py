"""Experiment tracking (`logger=none|csv|tensorboard|mlflow`): the Trainer's own `report_to` integrations for the
per-step curves, plus the run's final metrics and resolved config logged once when the run is done.

- `tensorboard`: event files in `<run>/tensorboard/` (`tensorboard --logdir runs/`).
- `mlflow`: a local SQLite store under `runs/` by default (`logger.tracking_uri` for any other), one MLflow run per
  training run, artifacts (the resolved config) under `logger.artifact_location`.
- `csv`: `<run>/train_log.csv` (step, epoch, name, value), rewritten at every Trainer log, for a spreadsheet or `tail`.

tensorboard and mlflow are extras (`pip install -e .[tensorboard]` / `.[mlflow]`), imported only when chosen. Only
the main process (rank 0) logs anything.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from transformers import TrainerCallback

from tfgbv import rundir
from tfgbv.io import write_text
from tfgbv.labels import LABELS
from tfgbv.train.distributed import is_main_process

log = logging.getLogger(__name__)

BACKENDS = ("none", "csv", "tensorboard", "mlflow")
# MLflow caps a parameter value's length; a longer config value (a data source list) is cut, the full config is
# logged as an artifact anyway.
MAX_PARAM_CHARS = 500


class TrackingError(ValueError):
    """A logger option the tracker cannot take, or its library is not installed."""


@dataclass
class TrackingSpec:
    """The `logger` config group."""

    backend: str = "none"  # none | csv | tensorboard | mlflow
    tracking_uri: str | None = None  # mlflow: where the store is; None = MLflow's own default
    artifact_location: str | None = None  # mlflow: where a new experiment keeps artifacts; None = MLflow's default
    experiment_name: str = "tfgbv"  # mlflow experiment


class CsvLog(TrainerCallback):
    """Every value the Trainer logs, as rows of step, epoch, name, value in one CSV file (long format: training
    and evaluation logs carry different names)."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: list[tuple[int, float | None, str, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.add(state.global_step, state.epoch, logs)

    def add(self, step: int, epoch: float | None, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.rows.append((step, epoch, name, float(value)))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["step", "epoch", "name", "value"])
        writer.writerows(self.rows)
        write_text(self.path, buf.getvalue())


def final_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """The run's headline numbers, flat: train/*, dev/* (macro/micro F1, per-label F1) and test/* (the evaluation)."""
    out: dict[str, float] = {}
    metrics = summary.get("metrics") or {}
    for key, value in (metrics.get("train") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"train/{key}"] = float(value)
    evaluation = (summary.get("eval") or {}).get("metrics")
    for split, report in (("dev", metrics.get("dev")), ("test", evaluation or metrics.get("test"))):
        if not report:
            continue
        for key, value in (report.get("overall") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{split}/{key}"] = float(value)
        for lab in LABELS:
            f1 = ((report.get("labels") or {}).get(lab) or {}).get("f1")
            if isinstance(f1, (int, float)):
                out[f"{split}/{lab}_f1"] = float(f1)
    return out


def flat_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as `a.b.c -> value` strings (MLflow parameters)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_params(value, f"{name}."))
        else:
            out[name] = str(value)[:MAX_PARAM_CHARS]
    return out


class Tracker:
    """One run's tracking: `report_to` and `callbacks` for the Trainer; `start()` before training, `log_final()` after
    the evaluation, `close()` at the end (failed runs are marked so in MLflow)."""

    def __init__(self, spec: TrackingSpec, run_dir: str | Path, run_name: str | None = None):
        if spec.backend not in BACKENDS:
            raise TrackingError(f"logger.backend={spec.backend!r}: one of {list(BACKENDS)}")
        self.spec, self.run_dir = spec, Path(run_dir)
        self.run_name = run_name or self.run_dir.name
        self.active = spec.backend != "none" and is_main_process()
        self._saved_env: dict[str, str | None] = {}
        self._mlflow = None
        self._csv = CsvLog(self.run_dir / rundir.TRAIN_LOG_CSV) if spec.backend == "csv" else None

    @property
    def report_to(self) -> str:
        """What the Trainer's `report_to` says: its TensorBoard or MLflow integration; csv is our own callback."""
        return self.spec.backend if self.spec.backend in ("tensorboard", "mlflow") else "none"

    def callbacks(self) -> list[TrainerCallback]:
        return [self._csv] if self._csv is not None else []

    def start(self) -> "Tracker":
        if self.spec.backend == "tensorboard":
            _require("tensorboard", "tensorboard")
            # The Trainer's TensorBoard callback writes under its output_dir (the checkpoints, removed after training)
            # unless told otherwise.
            self._set_env("TENSORBOARD_LOGGING_DIR", str(self.run_dir / rundir.TENSORBOARD_DIR))
        elif self.spec.backend == "mlflow" and self.active:
            self._mlflow = _require("mlflow", "mlflow")
            self._start_mlflow()
        return self

    def _start_mlflow(self) -> None:
        mlflow = self._mlflow
        if self.spec.tracking_uri:
            mlflow.set_tracking_uri(local_store_uri(self.spec.tracking_uri))
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name(self.spec.experiment_name)
        if experiment is None:
            location = self.spec.artifact_location
            if location and "://" not in location and not location.startswith("file:"):
                location = Path(location).resolve().as_uri()  # a local folder, wherever the run was started from
            experiment_id = client.create_experiment(self.spec.experiment_name, artifact_location=location)
        else:
            experiment_id = experiment.experiment_id
        # The Trainer's MLflow callback logs into this active run (and leaves ending it to us).
        mlflow.start_run(experiment_id=experiment_id, run_name=self.run_name)
        mlflow.set_tag("tfgbv.run_dir", str(self.run_dir))
        log.info("MLflow run %s in %s", mlflow.active_run().info.run_id, mlflow.get_tracking_uri())

    def log_final(self, summary: Mapping[str, Any], config: Mapping[str, Any] | None) -> dict[str, float]:
        """The final metrics and the resolved config, logged once (rank 0 only); returns the metrics logged."""
        metrics = final_metrics(summary)
        if not self.active:
            return metrics
        step = int(((summary.get("metrics") or {}).get("train") or {}).get("steps") or 0)
        if self.spec.backend == "csv":  # after the per-step rows, as final/<name> (the config is <run>/config.json)
            self._csv.add(step, None, {f"final/{k}": v for k, v in metrics.items()})
        elif self.spec.backend == "tensorboard":
            self._tensorboard_final(metrics, config, step)
        elif self.spec.backend == "mlflow":
            mlflow = self._mlflow
            mlflow.log_metrics(metrics, step=step)  # "/" in a name: MLflow groups the charts by it
            params = flat_params(config or {}, "cfg.")
            items = list(params.items())
            for i in range(0, len(items), 100):  # MLflow takes at most 100 parameters per call
                mlflow.log_params(dict(items[i : i + 100]))
            mlflow.log_dict(dict(config or {}), rundir.CONFIG)  # the artifact named as in the run directory
        return metrics

    def _tensorboard_final(self, metrics: dict[str, float], config: Mapping[str, Any] | None, step: int) -> None:
        writer = _require("torch.utils.tensorboard", "tensorboard").SummaryWriter(
            log_dir=str(self.run_dir / rundir.TENSORBOARD_DIR)
        )
        try:
            for name, value in metrics.items():
                writer.add_scalar(f"final/{name}", value, step)
            writer.add_text("config", "```json\n" + json.dumps(config or {}, indent=2, default=str) + "\n```", step)
        finally:
            writer.close()

    def __enter__(self) -> "Tracker":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(failed=exc_type is not None)

    def close(self, failed: bool = False) -> None:
        if self._mlflow is not None and self._mlflow.active_run() is not None:
            self._mlflow.end_run(status="FAILED" if failed else "FINISHED")
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value


def local_store_uri(uri: str) -> str:
    """A relative SQLite path made absolute (the store stays put whatever the working directory), its folder created
    (SQLite creates the file, not the folder); other URIs unchanged."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return uri
    path = Path(uri[len(prefix) :]).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return prefix + str(path)


def _require(module: str, extra: str):
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise TrackingError(
            f"logger={extra} needs the {module} package: pip install 'tfgbv[{extra}]' (or pick logger=none|csv)"
        ) from err


__all__ = ["TrackingSpec", "TrackingError", "Tracker", "CsvLog", "final_metrics", "flat_params", "BACKENDS"]
