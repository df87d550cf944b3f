"""docs/active_learning.{md,png} are rendered from the simulation's JSON: every number in the Markdown comes from it."""

import json

from tfgbv.annotate.simulate import SimSpec, config_of, summarize
from tfgbv.cli.simulate import simulate
from tfgbv.io import write_json
from tfgbv.models.baseline import BaselineSpec
from tfgbv.report.active_learning import render_markdown, table_rows

SIM = SimSpec(seed_size=100, batch=100, budget=500)


def _curve(f1):
    return {"labels": [100, 200, 300, 400, 500], "f1": f1, "positives": [20, 45, 70, 95, 120], "seconds": 1.0}


def _result() -> dict:
    curves = {
        "random": {"0": _curve([0.5, 0.55, 0.6, 0.65, 0.7]), "1": _curve([0.5, 0.56, 0.62, 0.66, 0.72])},
        "uncertainty": {"0": _curve([0.5, 0.6, 0.7, 0.75, 0.8]), "1": _curve([0.5, 0.6, 0.72, 0.76, 0.8])},
    }
    split = {"rows": 1234, "positives": 321, "positive_rate": 321 / 1234}
    return {
        "config": config_of(SIM, BaselineSpec()),
        "strategies": ["random", "uncertainty"],
        "seeds": [0, 1],
        "wall_seconds": 42.0,
        "datasets": {
            "toy_set": {
                "label": "shaming",
                "splits": {"train": split, "dev": split, "test": split, "features": 5678},
                "full_pool": {"labels": 1234, "f1": 0.8766, "roc_auc": 0.9321, "threshold": 0.4},
                "curves": curves,
                "summary": summarize(curves, SIM),
            }
        },
    }


def test_the_markdown_reads_its_numbers_from_the_json(tmp_path):
    result = _result()
    result["datasets"]["toy_set"]["summary"]["strategies"]["uncertainty"]["reach_mean"] = 271.0  # a marker value
    md = render_markdown(json.loads(json.dumps(result)))
    row = "| toy_set (shaming) | `uncertainty` | 271 ± 0 (300, 300) | 60% | **yes** (2 of 2) | 0.090 ± 0.014 | **yes** "
    assert row + "(yes / yes) |" in md
    assert "1,234 rows, 321 positive (26.0%); 5,678 TF-IDF features" in md
    assert "F1 0.877, ROC-AUC 0.932" in md
    assert "`random` at 500 labels: F1 0.710 ± 0.014" in md
    assert "| 300 | 0.610 ± 0.014 | 0.710 ± 0.014 |" in md
    assert "`random` 24.0%, `uncertainty` 24.0%" in md
    assert "reaches random's mean final F1: `uncertainty` 300" in md
    assert "Seeds: 0, 1. Wall time of the whole run: 42 s." in md
    assert "TF-IDF + logistic-regression baseline" in md and "not the transformer" in md


def test_the_entry_point_renders_markdown_and_png_from_the_json_file(tmp_path):
    result = _result()
    result["datasets"]["toy_set"]["full_pool"]["f1"] = 0.123456
    paths = {"json": tmp_path / "al.json", "md": tmp_path / "al.md", "png": tmp_path / "al.png"}
    write_json(paths["json"], result)
    assert simulate(["--render-only", *(f"--out-{k}={v}" for k, v in paths.items())]) == 0
    md = paths["md"].read_text(encoding="utf-8")
    assert "F1 0.123, ROC-AUC 0.932" in md and "![learning curves](al.png)" in md
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_table_keeps_the_first_and_last_rounds():
    assert table_rows(list(range(5))) == [0, 1, 2, 3, 4]
    rows = table_rows(list(range(30)), max_rows=16)
    assert rows[0] == 0 and rows[-1] == 29 and len(rows) <= 17
