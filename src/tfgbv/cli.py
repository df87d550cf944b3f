"""Hydra entry points. Only this module sees a DictConfig; it turns configs into typed arguments and calls the library.

`scripts/*.py` and the `tfgbv-*` console scripts both call these functions.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from tfgbv.locations import checkout_root, config_dir, set_path_defaults

# Configs: $TFGBV_CONFIG_DIR, else the checkout's configs/, else the copy installed inside the package (a plain
# directory, so Hydra gets an absolute path either way). REPO_ROOT is None outside a checkout.
REPO_ROOT = checkout_root()
CONFIG_DIR = str(config_dir())
set_path_defaults()

log = logging.getLogger("tfgbv")


# ----------------------------------------------------------------------------- config -> typed arguments


def data_sources(data_cfg: DictConfig) -> list:
    from tfgbv.data import source_from_dict

    sources = OmegaConf.to_container(data_cfg.sources, resolve=True) or {}
    return [source_from_dict(name, raw) for name, raw in sources.items()]


def model_spec(model_cfg: DictConfig):
    from tfgbv.modeling import ModelSpec, TextPrep

    raw = OmegaConf.to_container(model_cfg, resolve=True)
    raw.pop("kind", None)
    raw["text"] = TextPrep(**(raw.get("text") or {}))
    if not raw.get("tiny"):
        raw.pop("tiny", None)
    known = set(ModelSpec.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown model option(s) {sorted(unknown)}; known: {sorted(known)}")
    return ModelSpec(**raw)


def train_spec(trainer_cfg: DictConfig):
    from tfgbv.training import TrainSpec, spec_from_dict

    return spec_from_dict(TrainSpec, OmegaConf.to_container(trainer_cfg, resolve=True))


def _output_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def _point_latest(run_dir: Path) -> None:
    """runs/latest -> the newest run, replaced atomically."""
    latest = run_dir.parents[1] / "latest" if run_dir.parent.name != "multirun" else None
    if latest is None:
        return
    tmp = latest.with_name(".latest.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_dir, latest.parent))
    os.replace(tmp, latest)


# ----------------------------------------------------------------------------- tasks


def run_train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Validate data, train, then (optionally) evaluate and write the model card. Returns the summary dict."""
    from tfgbv.data import load_data

    clock = _Clock()
    sources = data_sources(cfg.data)
    data = load_data(sources, cfg.get("max_train_samples"), cfg.get("max_eval_samples"), seed=cfg.seed)
    clock.lap("data")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    kind = cfg.model.get("kind", "transformer")
    if kind == "tfidf_lr":
        from tfgbv.baseline import train_baseline

        summary = train_baseline(data, OmegaConf.to_container(cfg.model, resolve=True), run_dir, seed=cfg.seed,
                                 resolved_config=resolved)
    else:
        from tfgbv.training import train

        summary = train(data, model_spec(cfg.model), train_spec(cfg.trainer), run_dir, seed=cfg.seed,
                        resolved_config=resolved, cache_dir=cfg.paths.cache_dir,
                        score_test=not cfg.get("evaluate_after_train", True))
    clock.lap("train")
    if cfg.get("evaluate_after_train", True):
        # The loaded data is the evaluation data too unless samples were capped (loading and dedup take a minute).
        reuse = data if cfg.get("max_train_samples") is None and cfg.get("max_eval_samples") is None else None
        summary["eval"] = run_evaluation(run_dir, cfg.data, cfg.get("evaluation"), run_dir / "eval", data=reuse)
        clock.lap("evaluate")
        summary["card"] = write_card(run_dir, publish_to=(Path(cfg.paths.root_dir) / "model_card.md") if cfg.get("publish_card") else None)
    else:  # model/README.md (the Hub's card) exists for every run; its results section says there is no evaluation
        summary["card"] = write_card(run_dir)
    clock.lap("card")
    from tfgbv.data import write_json

    write_json(run_dir / "timings.json", {"seconds": clock.laps, "total": round(sum(clock.laps.values()), 1)})
    _point_latest(run_dir)
    return summary


class _Clock:
    """Wall-clock seconds per phase of a run (timings.json: where the `make train` budget goes)."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = self._now()
        self.laps[name] = round(now - self._last, 1)
        self._last = now


def run_evaluation(run_dir: Path, data_cfg: DictConfig, eval_cfg: DictConfig | None, out_dir: Path,
                   data=None) -> dict[str, Any] | None:
    from tfgbv.data import load_data
    from tfgbv.evaluation import EvalSpec, evaluate_run

    spec = EvalSpec(**(OmegaConf.to_container(eval_cfg, resolve=True) if eval_cfg else {}))
    data = data if data is not None else load_data(data_sources(data_cfg))
    if not data.splits.get(spec.split):
        log.warning("data '%s' has no '%s' rows: evaluation skipped (set evaluation.split)", data_cfg.name, spec.split)
        return None
    functional = data_cfg.get("functional")
    return evaluate_run(run_dir, data, out_dir, spec, functional_path=functional, data_name=data_cfg.name)


def write_card(run_dir: Path, publish_to: Path | None = None) -> str:
    from tfgbv.model_card import write_model_card

    card_path = write_model_card(run_dir, run_dir / "model_card.md")
    if publish_to is not None:
        tmp = publish_to.with_name(publish_to.name + ".tmp")
        shutil.copyfile(card_path, tmp)
        os.replace(tmp, publish_to)
        log.info("model card published to %s", publish_to)
    return str(card_path)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def train(cfg: DictConfig) -> float | None:
    """Train a model; returns dev macro-F1 so sweepers can optimise it."""
    run_dir = _output_dir()
    summary = run_train(cfg, run_dir)
    dev = summary["metrics"].get("dev", {})
    score = (dev.get("overall") or {}).get("macro_f1")
    log.info("run: %s  dev macro-F1: %s", run_dir, score)
    print(f"run directory: {run_dir}")
    return score


def _default_eval_dir(run_dir: Path, data_name: str) -> Path:
    trained = {}
    cfg_file = run_dir / "config.json"
    if cfg_file.exists():
        import json

        trained = json.loads(cfg_file.read_text(encoding="utf-8")).get("data", {})
    return run_dir / ("eval" if trained.get("name") == data_name else f"eval-{data_name}")


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="evaluate")
def evaluate(cfg: DictConfig) -> dict[str, Any] | None:
    """Evaluate a run directory on any data config; writes eval/ (metrics.json, report.md, plots)."""
    from tfgbv.evaluation import check_run_dir

    run_dir = check_run_dir(Path(cfg.run_dir).expanduser()).resolve()
    out_dir = Path(cfg.out_dir) if cfg.get("out_dir") else _default_eval_dir(run_dir, cfg.data.name)
    result = run_evaluation(run_dir, cfg.data, cfg.evaluation, out_dir)
    if cfg.get("card", True) and out_dir.name == "eval":
        write_card(run_dir, publish_to=(Path(cfg.paths.root_dir) / "model_card.md") if cfg.get("publish_card") else None)
    print(f"evaluation written to {out_dir}")
    return result


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="compare")
def compare(cfg: DictConfig) -> dict[str, Any]:
    """Paired comparison of two evaluations of the same data; prints Markdown, optionally writes JSON + Markdown."""
    from tfgbv.comparison import compare_evaluations, render_comparison
    from tfgbv.data import write_json, write_text

    result = compare_evaluations(Path(cfg.a).expanduser(), Path(cfg.b).expanduser())
    md = render_comparison(result)
    if cfg.get("out_dir"):
        write_json(Path(cfg.out_dir) / "comparison.json", result)
        write_text(Path(cfg.out_dir) / "comparison.md", md)
    print(md)
    return result


def predict() -> Any:
    """Console script `tfgbv-predict`: batch scoring (see tfgbv.cli_scoring)."""
    from tfgbv.cli_scoring import predict as _predict

    return _predict()


def export() -> Any:
    """Console script `tfgbv-export`: ONNX export (see tfgbv.cli_scoring)."""
    from tfgbv.cli_scoring import export as _export

    return _export()


def validate_data() -> int:
    """Console script `tfgbv-validate-data` (and scripts/validate_data.py): see tfgbv.validate_data."""
    from tfgbv.validate_data import main

    return main()


def bench() -> Any:
    """Console script `tfgbv-bench`: inference / training / Ray speed benchmark (see tfgbv.cli_scoring)."""
    from tfgbv.cli_scoring import bench as _bench

    return _bench()
