"""The training entry point's bookkeeping: which run runs/latest points at."""

from tfgbv.cli.run import _point_latest


def test_latest_points_at_a_run_directly_under_runs_dir(tmp_path):
    runs = tmp_path / "runs"
    first, second = runs / "mix-d42", runs / "e5-small-default_mix" / "2026-12-02_05-00-00"
    for run in (first, second):
        run.mkdir(parents=True)
        _point_latest(run, runs)
        assert (runs / "latest").resolve() == run.resolve()
    assert not (tmp_path / "latest").exists() and not (runs / "e5-small-default_mix" / "latest").exists()


def test_latest_is_left_alone_by_sweep_jobs_and_runs_elsewhere(tmp_path):
    runs = tmp_path / "runs"
    sweep_job, elsewhere = runs / "multirun" / "x" / "ts" / "0", tmp_path / "other" / "run"
    for run in (sweep_job, elsewhere):
        run.mkdir(parents=True)
        _point_latest(run, runs)
    assert not list(tmp_path.rglob("latest"))
