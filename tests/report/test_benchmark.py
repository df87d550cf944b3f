"""A benchmark row reports only labels the model was trained on and the evaluation data annotates."""

import json

import pytest

from tests.helpers import REPO
from tfgbv.labels import LABELS
from tfgbv.report.benchmark import collect, render


def _write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def _label(f1):
    return {
        "precision": 1.0,
        "recall": f1,
        "f1": f1,
        "roc_auc": None,
        "pr_auc": None,
        "support": 10,
        "n": 10,
        "ci": {"f1": [f1 - 0.1, f1 + 0.05, 1000]},
    }


@pytest.fixture()
def run(tmp_path):
    run = tmp_path / "run"
    trained = {lab: {"positive": 50 if lab == "insult" else 0} for lab in LABELS}  # trained on insult only
    _write(run / "data_manifest.json", {"splits": {"train": {"labels": trained}}})
    _write(run / "metrics.json", {"train": {"seconds": 90.0, "rows": 1000}})
    _write(run / "environment.json", {"processor": "CPU X", "cpu_count": 2, "cuda": False})
    # Positive-only evaluation data annotating insult and threat: the untrained threat head scores anything.
    labels = {"insult": _label(0.9), "shaming": _label(0.0), "threat": _label(0.3), "doxxing": _label(0.0)}
    _write(
        run / "eval" / "metrics.json",
        {
            "model_id": "m",
            "rows": 10,
            "labels_not_annotated": ["shaming", "doxxing"],
            "functional": None,
            "metrics": {"labels": labels, "overall": {"macro_f1": 0.6}},
        },
    )
    return run


def test_row_keeps_only_trained_and_annotated_labels_and_averages_over_them(run):
    row = collect(run, run / "eval", "python scripts/train.py data=x")
    assert list(row["labels"]) == ["insult"]
    assert row["macro_f1"] == pytest.approx(0.9)  # not the evaluation's 0.6, which averages the untrained threat head
    assert row["labels"]["insult"]["f1"]["ci"][:2] == [pytest.approx(0.8), pytest.approx(0.95)]
    assert row["train_seconds"] == 90.0 and row["hardware"].startswith("CPU X, 2 threads, CPU only")


def test_rendered_table_shows_cis_command_and_hard_negative_interval(run):
    row = collect(run, run / "eval", "python scripts/train.py data=x")
    row["functional"] = {"accuracy": 0.7, "hard_negative_accuracy": 0.8, "hard_negative_ci": [0.75, 0.85], "cases": 30}
    md = render({"x": {"e5-small": row}}, notes=["a note"])
    assert "- a note" in md and "## x" in md
    assert "| e5-small | insult | 10 | 10 | 1.000 | 0.900 | 0.900 (0.800–0.950) | n/a | n/a |" in md
    assert "`python scripts/train.py data=x`" in md and "1.5 min" in md
    assert "hard negatives 0.800 [Wilson 95% 0.750–0.850], 30 cases" in md and "threat" not in md


def test_row_stores_run_and_eval_dirs_relative_to_the_repository(run, tmp_path):
    row = collect(run, run / "eval", "cmd", root=tmp_path)
    assert row["run_dir"] == "run" and row["eval_dir"] == "run/eval"


def test_committed_benchmarks_json_names_no_absolute_path():
    from pathlib import Path

    results = json.loads((REPO / "docs" / "benchmarks.json").read_text(encoding="utf-8"))
    for dataset, models in results.items():
        for model, row in models.items():
            for key in ("run_dir", "eval_dir"):
                assert not Path(row[key]).is_absolute(), f"{dataset}/{model}: {key}={row[key]}"
