"""The training entry point's bookkeeping: which run runs/latest points at."""

from tfgbv.cli.run import _point_latest


def test_a_mix_without_its_public_datasets_is_named_for_what_it_trains_on(tmp_path):
    """`tfgbv-train` with no ../shared/datasets trains on the bundled corpus alone: its run is not named default_mix."""
    from hydra import compose, initialize_config_dir

    from tfgbv.cli.config import CONFIG_DIR

    def run_name(*overrides: str) -> str:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose("train", list(overrides)).run_name

    assert run_name(f"paths.shared_datasets={tmp_path / 'absent'}") == "e5-small-default_mix-only-seed"
    assert run_name("data=seed") == "e5-small-seed"
    assert run_name("model=tiny", "data=custom", f"data.sources.custom.files.all={tmp_path}/x.jsonl") == "tiny-custom"


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
