"""scripts/benchmark.py reuses a finished run only when its saved config still matches the config files."""

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.helpers import REPO
from tfgbv.cli.benchmark import _finished_run
from tfgbv.cli.run import CONFIG_DIR


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


def test_a_run_named_by_the_old_run_name_formula_is_still_reused(tmp_path):
    """run_name changed (runs without their public data are named for what they trained on): what a run trained did
    not, so `make benchmark` must not train its finished runs again."""
    overrides = ["data=seed", "model=tfidf_lr"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
        cfg.run_name = "${model.short_name}-${data.name}"  # the formula before
        run = _fake_run(tmp_path, overrides, cfg)
        assert _finished_run(tmp_path, overrides) == run


def test_render_only_rewrites_the_markdown_from_the_json_without_training(tmp_path):
    import json
    import shutil
    import subprocess
    import sys

    repo = REPO
    out_json, out_md, notes = tmp_path / "b.json", tmp_path / "b.md", tmp_path / "notes.md"
    shutil.copy(repo / "docs" / "benchmarks.json", out_json)
    notes.write_text("# Notes\n\n<!-- not rendered -->\n\na note written after the runs\n", encoding="utf-8")
    before = out_json.read_bytes()
    cmd = [
        sys.executable,
        str(repo / "scripts" / "benchmark.py"),
        "render_only=true",
        f"out_json={out_json}",
        f"out_md={out_md}",
        f"notes_file={notes}",
        f"runs_dir={tmp_path / 'runs'}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    md = out_md.read_text(encoding="utf-8")
    assert "- a note written after the runs" in md and "not rendered" not in md
    assert "ru_2ch_pikabu" in md and str(round(json.loads(before)["ru_2ch_pikabu"]["tfidf_lr"]["macro_f1"], 3)) in md
    assert out_json.read_bytes() == before and not (tmp_path / "runs").exists()


def test_render_only_without_results_names_the_missing_file(tmp_path):
    import subprocess
    import sys

    repo = REPO
    cmd = [
        sys.executable,
        str(repo / "scripts" / "benchmark.py"),
        "render_only=true",
        f"out_json={tmp_path / 'missing.json'}",
        f"out_md={tmp_path / 'b.md'}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode != 0 and "missing.json" in out.stderr and not (tmp_path / "b.md").exists()


def test_comparison_is_skipped_when_an_evaluation_is_not_on_this_machine(tmp_path, caplog):
    from tfgbv.cli.benchmark import _write_comparison

    comp = OmegaConf.create(
        {
            "name": "mix_vs_default",
            "a": {"dataset": "seed", "model": "e5-small"},
            "b": {"dataset": "seed (trained on public_ru_mix)", "model": "e5-small"},
        }
    )
    results = {
        "seed": {"e5-small": {"eval_dir": str(tmp_path / "gone" / "eval")}}
    }  # e.g. a fresh clone: runs/ is empty
    with caplog.at_level("WARNING"):
        _write_comparison(comp, results, tmp_path / "comparisons", tmp_path)
    assert "comparison mix_vs_default skipped" in caplog.text and not (tmp_path / "comparisons").exists()


def test_comparison_reads_repository_relative_eval_dirs_against_the_root(tmp_path, monkeypatch):
    import json

    import tfgbv.cli.benchmark as benchmark
    from tfgbv.cli.benchmark import _write_comparison

    for side in ("a", "b"):
        (tmp_path / "runs" / side / "eval").mkdir(parents=True)
        (tmp_path / "runs" / side / "eval" / "metrics.json").write_text("{}", encoding="utf-8")
    seen = []

    def fake_compare(dir_a, dir_b):
        seen.extend([dir_a, dir_b])
        return {"a": {"eval_dir": str(dir_a)}, "b": {"eval_dir": str(dir_b)}}

    monkeypatch.setattr(benchmark, "compare_evaluations", fake_compare)
    monkeypatch.setattr(benchmark, "render_comparison", lambda result: "md")
    comp = OmegaConf.create(
        {"name": "a_vs_b", "a": {"dataset": "d", "model": "a"}, "b": {"dataset": "d", "model": "b"}}
    )
    results = {"d": {"a": {"eval_dir": "runs/a/eval"}, "b": {"eval_dir": "runs/b/eval"}}}
    monkeypatch.chdir(tmp_path / "runs")  # not the root: relative paths must not depend on the working directory
    _write_comparison(comp, results, tmp_path / "comparisons", tmp_path)
    assert seen == [tmp_path / "runs/a/eval", tmp_path / "runs/b/eval"]
    written = json.loads((tmp_path / "comparisons" / "a_vs_b.json").read_text(encoding="utf-8"))
    assert written["a"]["eval_dir"] == "runs/a/eval"
