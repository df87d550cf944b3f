"""make bench-serve's machinery on the tiny model: a served level per concurrency, in-process before and after, the
ratio, and both files written (what the figures mean is docs/serve_bench.md's business, not a test's)."""

from __future__ import annotations

import json

import pytest

from tfgbv.serve.bench import BenchServeSpec, run_serve_bench


@pytest.mark.slow
def test_the_serving_bench_measures_every_level_and_writes_both_files(tiny_run, tmp_path):
    spec = BenchServeSpec(
        model_dir=str(tiny_run),
        n_texts=12,
        requests=20,
        concurrency=[1, 4],
        warmup_requests=4,
        inprocess_repeats=1,
        bf16=False,
        out_md=str(tmp_path / "serve_bench.md"),
        out_json=str(tmp_path / "serve_bench.json"),
    )
    result = run_serve_bench(spec, root=tmp_path)
    written = json.loads((tmp_path / "serve_bench.json").read_text(encoding="utf-8"))
    assert written["summary"] == result["summary"]
    served = {row["concurrency"]: row for row in written["served"]}
    assert set(served) == {1, 4}
    for row in served.values():
        assert row["requests"] == 20 and row["errors"] == 0
        assert row["ratio_to_in_process"] == pytest.approx(
            row["throughput_rps"] / written["in_process"]["throughput_tps"], abs=1e-3
        )
        assert row["client_cpu_cores"] >= 0 and row["p50_ms"] <= row["p99_ms"]
        assert 1 <= row["texts_per_model_call"] <= row["concurrency"]  # single-comment requests, no spans
    markdown = (tmp_path / "serve_bench.md").read_text(encoding="utf-8")
    assert markdown.count("| local | ") == 2 and "load generator CPU" in markdown
