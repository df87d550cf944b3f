"""The speed benchmark's choices: the recommended backend, what the command line runs, and the cached machine and
int8 entries it refreshes."""

import json

import tfgbv.predict.precision as precision
from tfgbv.env import machine_key
from tfgbv.report.bench import cli_backend, recommend, record_machine_choice


def row(texts_per_s: float, agreement: float = 1.0) -> dict:
    return {"texts_per_s": texts_per_s, "label_agreement": agreement}


BACKENDS = {
    "pipeline_fp32": row(70),
    "torch_fp32": row(120),
    "torch_bf16": row(380, 0.999),
    "torch_bf16_compiled": row(430, 0.999),
    "torch_int8_compiled": row(560, 0.996),
    "onnx_int8": row(600, 0.98),
}


def test_the_fastest_agreeing_backend_is_recommended():
    assert recommend(BACKENDS, 0.995) == "torch_int8_compiled"  # onnx_int8 is faster but disagrees
    assert recommend(BACKENDS, 0.9975) == "torch_bf16_compiled"
    assert recommend({"pipeline_fp32": row(999)}, 0.995) == "torch_fp32"  # the naive baseline is never the default


def test_the_command_line_runs_compiled_only_on_inputs_large_enough_to_compile():
    assert cli_backend(BACKENDS, "torch_int8_compiled", 200_000, 0.995) == "torch_int8_compiled"
    assert cli_backend(BACKENDS, "torch_int8_compiled", 20_000, 0.995) == "torch_bf16"  # compile=auto stays eager
    slow_bf16 = {**BACKENDS, "torch_bf16": row(90)}
    assert cli_backend(slow_bf16, "torch_bf16_compiled", 20_000, 0.995) == "torch_fp32"


def test_bench_refreshes_the_machine_entry_and_this_models_int8_entry(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "cache_dir", lambda: tmp_path)
    record_machine_choice(BACKENDS, "torch_int8_compiled", 0.995, tiny_run)
    saved = json.loads((tmp_path / precision.CHOICE_FILE).read_text(encoding="utf-8"))
    assert saved[machine_key()]["bf16"] is True  # eager bf16 beat eager fp32 in agreement
    int8 = saved[precision.int8_choice_key(tiny_run)]
    assert int8["int8"] is True and int8["int8_texts_per_s"] == 560 and int8["by"] == "make bench"
    record_machine_choice({**BACKENDS, "torch_int8_compiled": row(560, 0.99)}, "torch_bf16_compiled", 0.995, tiny_run)
    saved = json.loads((tmp_path / precision.CHOICE_FILE).read_text(encoding="utf-8"))
    assert saved[precision.int8_choice_key(tiny_run)]["int8"] is False  # below the agreement floor


def test_each_backend_is_warmed_up_then_timed_over_every_repeat():
    import numpy as np

    from tfgbv.report.bench import _time

    calls = []

    def fn(texts):
        calls.append(len(texts))
        return np.zeros((len(texts), 4))

    probs, passes, _ = _time(fn, ["a"] * 10, warmup=3, repeats=3)
    assert calls == [3, 10, 10, 10] and len(passes) == 3 and probs.shape == (10, 4)


def test_committed_spec_holds_no_machine_paths(tmp_path):
    from pathlib import Path

    from tfgbv.report.bench import _portable

    root = tmp_path / "repo"
    spec = {
        "model_dir": str(root / "runs" / "latest"),
        "agreement_sets": {"x": {"path": str(root / ".." / "shared" / "d.csv"), "text_column": "t"}},
        "texts": ["data/seed/*.jsonl"],
        "cache_dir": str(Path.home() / "elsewhere"),
        "n_texts": 5,
    }
    assert _portable(spec, root) == {
        "model_dir": "runs/latest",
        "agreement_sets": {"x": {"path": "../shared/d.csv", "text_column": "t"}},
        "texts": ["data/seed/*.jsonl"],
        "cache_dir": "~/elsewhere",  # outside the repository's parent: home as ~
        "n_texts": 5,
    }


def test_the_report_says_which_texts_make_the_naive_pipeline_differ():
    """bench.md showed the pipeline's max probability difference (0.97) next to the README's "same probabilities"
    without saying that it comes from obfuscated and over-long texts."""
    import json

    from tests.helpers import REPO
    from tfgbv.report.bench import render

    text = render(json.loads((REPO / "docs" / "bench.json").read_text(encoding="utf-8")))
    assert "gives the same probabilities on most texts (to 1e-4)" in text
    assert "obfuscated ones" in text and "texts longer than one window" in text
