"""logger=csv|tensorboard|mlflow: a tiny run's parameters, per-step loss and final metrics, read back with each
tool's own reader."""

from __future__ import annotations

import csv
import math

import pytest

from tfgbv import rundir
from tfgbv.models.build import ModelSpec, TextPrep
from tfgbv.train.tracking import Tracker, TrackingError, TrackingSpec, final_metrics, flat_params
from tfgbv.train.transformer import TrainSpec, train

STEPS = 4
CONFIG = {"model": {"name": "tiny"}, "trainer": {"learning_rate": 1e-3}, "seed": 1}


def _tiny_run(tiny_data, run_dir, tracker):
    spec = ModelSpec(
        source="tiny",
        pooling="cls",
        text=TextPrep(max_length=16),
        tiny={"hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32},
    )
    tspec = TrainSpec(
        max_steps=STEPS,
        per_device_train_batch_size=8,
        eval_strategy="no",
        early_stopping_patience=None,
        logging_steps=1,
        learning_rate=1e-3,
        bf16=False,
    )
    summary = train(tiny_data, spec, tspec, run_dir, seed=1, resolved_config=CONFIG, tracker=tracker)
    return summary, tracker.log_final(summary, CONFIG)


def test_final_metrics_are_the_headline_numbers_flat():
    summary = {
        "metrics": {
            "train": {"steps": 4, "train_loss": 0.5, "bf16": False, "pos_weight": None},
            "dev": {"overall": {"macro_f1": 0.4}, "labels": {"insult": {"f1": 0.7}}},
        },
        "eval": {"metrics": {"overall": {"macro_f1": 0.3, "micro_f1": 0.35}}},
    }
    assert final_metrics(summary) == {
        "train/steps": 4.0,
        "train/train_loss": 0.5,
        "dev/macro_f1": 0.4,
        "dev/insult_f1": 0.7,
        "test/macro_f1": 0.3,
        "test/micro_f1": 0.35,
    }
    assert flat_params({"a": {"b": 1, "c": [1, 2]}}, "cfg.") == {"cfg.a.b": "1", "cfg.a.c": "[1, 2]"}


def test_an_unknown_backend_is_a_clear_error(tmp_path):
    with pytest.raises(TrackingError, match=r"logger.backend='wandb': one of \['none', 'csv', 'tensorboard'"):
        Tracker(TrackingSpec(backend="wandb"), tmp_path)


def test_csv_logs_every_step_loss_and_the_final_metrics(tiny_data, tmp_path):
    with Tracker(TrackingSpec(backend="csv"), tmp_path) as tracker:
        summary, _ = _tiny_run(tiny_data, tmp_path, tracker)
    with (tmp_path / rundir.TRAIN_LOG_CSV).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    losses = {int(r["step"]): float(r["value"]) for r in rows if r["name"] == "loss"}
    assert sorted(losses) == list(range(1, STEPS + 1)) and all(math.isfinite(v) for v in losses.values())
    final = {r["name"]: float(r["value"]) for r in rows if r["name"].startswith("final/")}
    assert final["final/dev/macro_f1"] == pytest.approx(summary["metrics"]["dev"]["overall"]["macro_f1"])


@pytest.mark.slow
@pytest.mark.e2e
def test_tensorboard_event_files_hold_the_per_step_loss_and_the_final_metrics(tiny_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with Tracker(TrackingSpec(backend="tensorboard"), tmp_path) as tracker:
        summary, final = _tiny_run(tiny_data, tmp_path, tracker)
    events = EventAccumulator(str(tmp_path / rundir.TENSORBOARD_DIR))
    events.Reload()
    tags = events.Tags()
    assert [e.step for e in events.Scalars("train/loss")] == list(range(1, STEPS + 1))
    dev = events.Scalars("final/dev/macro_f1")
    assert len(dev) == 1 and dev[0].value == pytest.approx(summary["metrics"]["dev"]["overall"]["macro_f1"])
    assert "final/train/train_loss" in tags["scalars"] and final["dev/macro_f1"] == pytest.approx(dev[0].value)
    assert {"args/text_summary", "config/text_summary"} <= set(tags["tensors"])  # the Trainer's arguments, our config


@pytest.mark.slow
@pytest.mark.e2e
def test_mlflow_run_holds_params_per_step_loss_and_final_metrics(tiny_data, tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    spec = TrackingSpec(backend="mlflow", tracking_uri=uri, artifact_location=str(tmp_path / "artifacts"))
    run_dir = tmp_path / "run"
    with Tracker(spec, run_dir, "tiny-run") as tracker:
        summary, _ = _tiny_run(tiny_data, run_dir, tracker)
    mlflow.set_tracking_uri(uri)
    (run,) = mlflow.search_runs(experiment_names=["tfgbv"], output_format="list")
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny-run"
    assert float(run.data.params["learning_rate"]) == 1e-3  # the Trainer's arguments
    assert run.data.params["cfg.trainer.learning_rate"] == "0.001"  # the resolved config, once
    losses = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in losses) == list(range(1, STEPS + 1))
    assert run.data.metrics["dev/macro_f1"] == pytest.approx(summary["metrics"]["dev"]["overall"]["macro_f1"])
    assert (tmp_path / "artifacts").is_dir() and not (run_dir / rundir.TENSORBOARD_DIR).exists()
