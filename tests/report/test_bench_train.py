"""make bench-train's report: speed-up over one process, the all-reduce's share of a step, the GPU caveat."""

from tfgbv.models.build import ModelSpec
from tfgbv.report.bench_train import TrainBenchSpec, allreduce_ms, render, summarise


def _run(processes, samples_per_s, comm):
    return {
        "processes": processes,
        "threads_per_process": 2 // processes,
        "device": "cpu",
        "bf16": True,
        "per_device_train_batch_size": 32,
        "effective_batch_size": 32 * processes,
        "steps_timed": 19,
        "step_ms": 32 * processes / samples_per_s * 1000,
        "samples_per_s": samples_per_s,
        "trainable_parameters": 1000,
        "allreduce_ms": comm,
        "allreduce_share_of_step": None if comm is None else comm / (32 * processes / samples_per_s * 1000),
        "load_average_before": 1.0,
        "load_average_after": 1.5,
    }


def test_the_report_gives_each_configuration_against_one_process_and_says_no_gpu_was_run():
    res = summarise([_run(1, 20.0, None), _run(2, 22.0, 40.0)], TrainBenchSpec(), ModelSpec(short_name="e5-small"))
    assert [r["speedup_vs_1_process"] for r in res["runs"]] == [1.0, 1.1]
    md = render(res)
    assert "| 2 | 1 | 32 | 64 | 2909 | 22.0 | 1.10x | 40.0 | 1.4% | 1.0, 1.5 |" in md
    assert "| 1 | 2 | 32 | 32 | 1600 | 20.0 | 1.00x | — | — |" in md
    assert "has not been run" in md and "oversubscribed" not in md
    two_cores = {**res["machine"], "cores": 2}
    for run in res["runs"]:
        run["load_average_after"] = 2.1  # the benchmark's own two processes, not other jobs
    assert "oversubscribed" not in render({**res, "machine": two_cores})
    for run in res["runs"]:
        run["load_average_before"] = 9.5  # other jobs on a 2-core machine
    assert "load average up to 9.5 on 2 cores" in render({**res, "machine": two_cores})


def test_one_process_has_no_all_reduce():
    assert allreduce_ms(10, 2) is None
