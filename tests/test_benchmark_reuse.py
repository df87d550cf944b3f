"""scripts/benchmark.py reuses a finished run only when its saved config still matches the config files."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tfgbv.cli import CONFIG_DIR
from tfgbv.cli_benchmark import _finished_run


def _fake_run(root: Path, overrides: list[str], cfg) -> Path:
    run = root / "tfidf_lr-seed" / "2026-01-01_00-00-00"
    (run / ".hydra").mkdir(parents=True)
    (run / "eval").mkdir()
    (run / "eval" / "metrics.json").write_text("{}")
    OmegaConf.save(OmegaConf.create(overrides), run / ".hydra" / "overrides.yaml")
    OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
    return run


def test_finished_run_is_reused_only_while_its_config_matches(tmp_path):
    overrides = ["data=seed", "model=tfidf_lr"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
        run = _fake_run(tmp_path, overrides, cfg)
        assert _finished_run(tmp_path, overrides) == run
        assert _finished_run(tmp_path, overrides + ["seed=7"]) is None  # other overrides: not this run
        cfg.trainer.learning_rate = 0.5  # as if a config file had changed since the run
        OmegaConf.save(cfg, run / ".hydra" / "config.yaml")
        assert _finished_run(tmp_path, overrides) is None
