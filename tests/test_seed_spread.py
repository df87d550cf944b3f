"""scripts/seed_spread.py: a single run per configuration borrows the seed SDs of an earlier spread, and only those."""

import importlib.util
import json

from tests.helpers import REPO
from tfgbv.report.headline import compare_variants, spread


def _script():
    spec = importlib.util.spec_from_file_location("seed_spread", REPO / "scripts" / "seed_spread.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_run_borrows_earlier_seed_sds_to_judge_a_variant(tmp_path):
    earlier = tmp_path / "default_model.json"
    earlier.write_text(json.dumps({"targets": {"seed.macro_f1": {"sd": 0.001}}}), encoding="utf-8")
    summary = spread([{"seed.macro_f1": 0.81, "functional.tg.abusive": 0.7}])
    assert _script().borrow_noise(summary, earlier) == ["seed.macro_f1"]
    assert summary["seed.macro_f1"]["sd"] == 0.001 and summary["functional.tg.abusive"]["sd"] is None
    compared = compare_variants(summary, {"view": {"seed.macro_f1": 0.82, "functional.tg.abusive": 0.9}})["view"]
    assert compared["seed.macro_f1"]["better"] and not compared["functional.tg.abusive"]["beyond_noise"]
