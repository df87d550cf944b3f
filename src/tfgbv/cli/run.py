"""Entry points around a run directory: train (then evaluate and write the card), evaluate, compare, validate data.

`scripts/train.py`, `scripts/evaluate.py`, `scripts/compare.py` and the `tfgbv-*` console scripts call these.
Each turns its DictConfig into typed specs with tfgbv.cli.config and calls one library function.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from tfgbv import rundir
from tfgbv.cli.config import CONFIG_DIR, ConfigError, as_dict, to_spec  # noqa: F401 - CONFIG_DIR: re-exported
from tfgbv.cli.errors import hydra_entry_point
from tfgbv.data.sources import SourceSpec, load_data, source_from_dict, trained_on_name
from tfgbv.io import write_json, write_text
from tfgbv.models.baseline import BaselineSpec
from tfgbv.models.build import ModelSpec
from tfgbv.report.comparison import ComparisonError, compare_pairs, render_comparison
from tfgbv.report.evaluation import EvalSpec, check_run_dir, evaluate_run
from tfgbv.report.model_card import publish_card, write_model_card
from tfgbv.train.baseline import train_baseline
from tfgbv.train.distributed import is_main_process, process_group, rank_named_failures, shared_run_dir, world_size
from tfgbv.train.tracking import Tracker, TrackingSpec
from tfgbv.train.transformer import TrainSpec
from tfgbv.train.transformer import train as train_transformer

log = logging.getLogger("tfgbv")

# Keys of a model config that choose the trainer rather than configure the model.
MODEL_SELECTOR_KEYS = ("kind",)


# ----------------------------------------------------------------------------- config groups -> specs


def data_sources(data_cfg: DictConfig) -> list[SourceSpec]:
    """The `data` group: its `sources` mapping, each source checked by tfgbv.data.sources.source_from_dict."""
    return [source_from_dict(name, raw) for name, raw in as_dict(data_cfg.sources).items()]


def _trained_on(name: str, sources: DictConfig) -> str:
    """`${tfgbv_trained_on:${data.name},${data.sources}}` in train.yaml's run_name: the data config's name, or what the
    run trains on when optional sources are absent (tfgbv.data.sources.trained_on_name)."""
    try:
        specs = [source_from_dict(n, raw) for n, raw in as_dict(sources).items()]
    except ValueError:  # a bad source: loading the data reports it, with its location; the name stays as configured
        return name
    return trained_on_name(name, specs)


OmegaConf.register_new_resolver("tfgbv_trained_on", _trained_on, replace=True)


def model_spec(model_cfg: DictConfig) -> ModelSpec:
    raw = as_dict(model_cfg)
    if not raw.get("tiny"):  # e5-small.yaml says `tiny: {}`: keep the dataclass default
        raw.pop("tiny", None)
    return to_spec(ModelSpec, raw, "model", ignore=MODEL_SELECTOR_KEYS)


def baseline_spec(model_cfg: DictConfig) -> BaselineSpec:
    return to_spec(BaselineSpec, model_cfg, "model (tfidf_lr)", ignore=(*MODEL_SELECTOR_KEYS, "source", "name_or_path"))


def train_spec(trainer_cfg: DictConfig) -> TrainSpec:
    return to_spec(TrainSpec, trainer_cfg, "trainer")


def eval_spec(eval_cfg: DictConfig | None) -> EvalSpec:
    return to_spec(EvalSpec, eval_cfg, "evaluation")


def tracking_spec(logger_cfg: DictConfig | None) -> TrackingSpec:
    return to_spec(TrackingSpec, logger_cfg, "logger")


# ----------------------------------------------------------------------------- entry points


class _Clock:
    """Wall-clock seconds per phase of a run (timings.json: where the `make train` budget goes)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 1)
        self._last = now


def _point_latest(run_dir: Path, runs_dir: str | Path) -> None:
    """<runs_dir>/latest -> the newest run, replaced atomically. Sweep jobs (<runs_dir>/multirun/...) and runs written
    outside runs_dir leave it alone."""
    runs_dir = Path(runs_dir)
    try:
        rel = run_dir.resolve().relative_to(runs_dir.resolve())
    except ValueError:
        return
    if not rel.parts or rel.parts[0] == "multirun":
        return
    latest = runs_dir / rundir.LATEST
    tmp = latest.with_name(f".latest.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(run_dir.resolve(), latest.parent.resolve()))
    os.replace(tmp, latest)


def smoke_run(cfg: DictConfig, debug: str | None) -> str | None:
    """Why a run is a smoke test rather than a scoring model (`debug=<name>`, `model=tiny`), or None. Smoke runs
    never take runs/latest: `tfgbv-predict` without model_dir must not score with them."""
    if debug not in (None, "null"):
        return f"debug={debug}"
    if cfg.model.get("source") == "tiny":
        return "model=tiny"
    return None


def trained_data_config(run_dir: Path) -> DictConfig:
    """The data config a run was trained on, as its config.json saved it (`tfgbv-evaluate` without `data=`)."""
    saved = (rundir.read_json(run_dir / rundir.CONFIG) or {}).get("data") or {}
    if not saved.get("name") or not saved.get("sources"):
        raise ConfigError(
            f"{run_dir / rundir.CONFIG} does not record the data the run was trained on: pass data=<config> "
            "(e.g. data=seed for the bundled test split)"
        )
    return OmegaConf.create(saved)


def refuse_partial_own_evaluation(run_dir: Path, out_dir: Path, skipped: list[dict]) -> None:
    """Re-evaluating a run on its own data while some of its sources are absent here would replace its evaluation
    (what its card reports) with one on part of its test data: refused, naming the sources and the fixes."""
    tested = ((rundir.read_json(run_dir / rundir.MANIFEST) or {}).get("splits", {}).get("test") or {}).get("by_source")
    lost = [s["source"] for s in skipped if s["source"] in (tested or {})]
    if lost:
        raise ConfigError(
            f"{run_dir} was tested on {', '.join(lost)} too, whose files are absent here: evaluating without them "
            f"would replace {out_dir} with an evaluation of part of its test data. Get them (tfgbv-data fetch), pass "
            "data=<config> paths.shared_datasets=/path/to/datasets, or write elsewhere with out_dir=<dir>"
        )


def _card_target(cfg: DictConfig) -> Path | None:
    return Path(cfg.paths.root_dir) / rundir.CARD if cfg.get("publish_card") else None


def run_evaluation(
    run_dir: Path, data_cfg: DictConfig, eval_cfg: DictConfig | None, out_dir: Path, data=None
) -> dict[str, Any] | None:
    spec = eval_spec(eval_cfg)
    data = data if data is not None else load_data(data_sources(data_cfg))
    if not data.splits.get(spec.split):
        log.warning("data '%s' has no '%s' rows: evaluation skipped (set evaluation.split)", data_cfg.name, spec.split)
        return None
    return evaluate_run(
        run_dir, data, out_dir, spec, functional_path=data_cfg.get("functional"), data_name=data_cfg.name
    )


def run_train(
    cfg: DictConfig, run_dir: Path, debug: str | None = None, tracker: Tracker | None = None
) -> dict[str, Any]:
    """Load data, train, then (optionally) evaluate and write the model card. Returns the summary dict.

    `debug`: the debug config chosen (Hydra's `debug=` group), if any. `tracker`: the logger= group's tracking (final
    metrics and config logged at the end). Under torchrun only rank 0 goes past training."""
    clock = _Clock()
    data = load_data(data_sources(cfg.data), cfg.get("max_train_samples"), cfg.get("max_eval_samples"), seed=cfg.seed)
    clock.lap("data")
    evaluate_after = cfg.get("evaluate_after_train", True)
    common = dict(seed=cfg.seed, resolved_config=as_dict(cfg), score_test=not evaluate_after)
    if cfg.model.get("kind", "transformer") == "tfidf_lr":
        if world_size() > 1:
            raise ConfigError("model=tfidf_lr trains in one process: run it with python/tfgbv-train, not torchrun")
        summary = train_baseline(data, baseline_spec(cfg.model), run_dir, **common)
    else:
        summary = train_transformer(
            data,
            model_spec(cfg.model),
            train_spec(cfg.trainer),
            run_dir,
            cache_dir=cfg.paths.cache_dir,
            shared_datasets=cfg.paths.shared_datasets,
            tracker=tracker,
            **common,
        )
    clock.lap("train")
    if not is_main_process():
        return summary  # the evaluation, the card and runs/latest are rank 0's
    if evaluate_after:
        # The loaded data is the evaluation data (loading and dedup take a minute on the full mix): max_train_samples
        # leaves dev/test whole, max_eval_samples caps them for the evaluation too (debug=fast).
        reuse = data
        summary["eval"] = run_evaluation(
            run_dir, cfg.data, cfg.get("evaluation"), run_dir / rundir.EVAL_DIR, data=reuse
        )
        clock.lap("evaluate")
    # model/README.md (the Hub's card) exists for every run; without an evaluation its results say there is none.
    summary["card"] = str(publish_card(write_model_card(run_dir), _card_target(cfg) if evaluate_after else None))
    clock.lap("card")
    write_json(run_dir / rundir.TIMINGS, {"seconds": clock.laps, "total": round(sum(clock.laps.values()), 1)})
    if tracker is not None:
        tracker.log_final(summary, common["resolved_config"])
    smoke = smoke_run(cfg, debug)
    if smoke:
        log.warning(
            "%s is a smoke run: %s/%s left alone (score with this run by passing model_dir=%s)",
            smoke,
            cfg.paths.runs_dir,
            rundir.LATEST,
            run_dir,
        )
    else:
        _point_latest(run_dir, cfg.paths.runs_dir)
    return summary


@hydra_entry_point("tfgbv-train", "train")
def train(cfg: DictConfig) -> float | None:
    """Train a model; returns dev macro-F1 so sweepers can optimise it. Under torchrun / accelerate launch every
    rank trains in rank 0's run directory; the other ranks write nothing and return None."""
    debug = HydraConfig.get().runtime.choices.get("debug")
    with rank_named_failures(), process_group(bool(cfg.trainer.get("use_cpu", False))):
        run_dir = shared_run_dir(Path(HydraConfig.get().runtime.output_dir))
        with Tracker(tracking_spec(cfg.get("logger")), run_dir, run_dir.name) as tracker:
            summary = run_train(cfg, run_dir, debug=debug, tracker=tracker)
    if not is_main_process():
        return None
    score = ((summary["metrics"].get("dev") or {}).get("overall") or {}).get("macro_f1")
    log.info("run: %s  dev macro-F1: %s", run_dir, score)
    print(f"run directory: {run_dir}")
    return score


@hydra_entry_point("tfgbv-evaluate", "evaluate")
def evaluate(cfg: DictConfig) -> dict[str, Any] | None:
    """Evaluate a run directory on any data config; writes eval/ or eval-<data>/ (metrics.json, report.md, plots)."""
    run_dir = check_run_dir(Path(cfg.run_dir).expanduser()).resolve()
    data_cfg = cfg.data if cfg.get("data") is not None else trained_data_config(run_dir)
    out_dir = Path(cfg.out_dir) if cfg.get("out_dir") else rundir.eval_dir(run_dir, data_cfg.name)
    data = load_data(data_sources(data_cfg))
    if rundir.is_own_eval(out_dir):
        refuse_partial_own_evaluation(run_dir, out_dir, data.skipped)
    result = run_evaluation(run_dir, data_cfg, cfg.evaluation, out_dir, data=data)
    if cfg.get("card", True):  # the card reports eval/ and every eval-<data>/: refreshed after either
        publish_card(write_model_card(run_dir), _card_target(cfg))
    print(f"evaluation written to {out_dir}")
    return result


def _evaluation_pairs(a: Any, b: Any) -> list[tuple[Path, Path]]:
    """`a=X b=Y` is one pair; `a=[X1,X2] b=[Y1,Y2]` pairs the lists in order (same length)."""
    left = [a] if isinstance(a, str) else list(a)
    right = [b] if isinstance(b, str) else list(b)
    if len(left) != len(right):
        raise ComparisonError(f"a lists {len(left)} evaluations and b {len(right)}: they are paired in order")
    return [(Path(x).expanduser(), Path(y).expanduser()) for x, y in zip(left, right)]


@hydra_entry_point("tfgbv-compare", "compare")
def compare(cfg: DictConfig) -> dict[str, Any]:
    """Paired comparison of two evaluations of the same data (or of two lists, paired in order: one pair per seed);
    prints Markdown, optionally writes JSON + Markdown."""
    result = compare_pairs(_evaluation_pairs(cfg.a, cfg.b))
    md = render_comparison(result)
    if cfg.get("out_dir"):
        write_json(Path(cfg.out_dir) / rundir.COMPARISON_JSON, result)
        write_text(Path(cfg.out_dir) / rundir.COMPARISON_MD, md)
    print(md)
    return result
