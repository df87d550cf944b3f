"""Hydra entry point for `tfgbv-benchmark` (scripts/benchmark.py): runs train and evaluate per configured pair."""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from hydra import compose
from omegaconf import DictConfig, OmegaConf

from tfgbv import rundir
from tfgbv.cli.config import REPO_ROOT
from tfgbv.cli.errors import hydra_entry_point
from tfgbv.io import write_json, write_text
from tfgbv.report.benchmark import collect, render
from tfgbv.report.comparison import ComparisonError, compare_evaluations, render_comparison

log = logging.getLogger("tfgbv.report.benchmark")


def _task(name: str) -> list[str]:
    """Command line that runs the `tfgbv-<name>` entry point in a fresh interpreter, in a checkout or installed."""
    return [
        sys.executable,
        "-c",
        f"import sys; from tfgbv.cli.run import {name}; sys.argv[0] = 'tfgbv-{name}'; {name}()",
    ]


def _run(cmd: list[str]) -> str:
    log.info("$ %s", shlex.join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)  # REPO_ROOT None: the current directory
    if out.returncode != 0:
        raise RuntimeError(f"command failed ({out.returncode}): {shlex.join(cmd)}\n{out.stderr[-4000:]}")
    return out.stdout


def _trained(config: dict) -> dict:
    """A train config without `run_name`: how a run is named does not change what it trains (its formula changed
    when runs without their public data were named for what they trained on)."""
    return {k: v for k, v in config.items() if k != "run_name"}


def _finished_run(runs_dir: Path, overrides: list[str]) -> Path | None:
    """Newest run under runs_dir made with these overrides, whose eval finished and whose saved config is what the
    same overrides compose to today (after a config file changed, e.g. an experiment's weights, it is trained again).
    Needs an initialised Hydra (inside the entry point, or `initialize_config_dir`)."""
    current = None
    for cfg in sorted(runs_dir.glob("*/*/.hydra/overrides.yaml"), reverse=True):
        run = cfg.parents[1]
        if (
            OmegaConf.to_container(OmegaConf.load(cfg)) != overrides
            or not (run / rundir.EVAL_DIR / rundir.METRICS).exists()
        ):
            continue
        saved = cfg.parent / "config.yaml"
        if current is None:
            current = _trained(OmegaConf.to_container(compose(config_name="train", overrides=overrides)))
        if saved.exists() and _trained(OmegaConf.to_container(OmegaConf.load(saved))) == current:
            return run
        log.info("not reusing %s: its config differs from what %s composes to now", run, overrides)
    return None


def _notes(path: str | None) -> list[str]:
    """Interpretation written under the title of docs/benchmarks.md: the paragraphs of a Markdown file."""
    if not path or not Path(path).exists():
        return []
    return [
        p.strip()
        for p in Path(path).read_text(encoding="utf-8").split("\n\n")
        if p.strip() and not p.startswith(("#", "<!--"))
    ]


def _write_md(md: Path, results: dict, notes_file: str | None) -> None:
    write_text(md, render(results, _notes(notes_file)))


@hydra_entry_point("tfgbv-benchmark", "benchmark")
def benchmark(cfg: DictConfig) -> None:
    """Train and evaluate the transformer and the classical baseline on each benchmark dataset; write the tables."""
    root = Path(cfg.paths.root_dir)
    results: dict = {}
    if cfg.get("render_only"):  # e.g. after editing the notes: no training, docs/benchmarks.md from the JSON
        if not Path(cfg.out_json).exists():
            raise FileNotFoundError(f"render_only=true needs {cfg.out_json}; run the benchmark first")
        _write_md(Path(cfg.out_md), json.loads(Path(cfg.out_json).read_text(encoding="utf-8")), cfg.get("notes_file"))
        return
    if cfg.only and Path(cfg.out_json).exists():  # a partial re-run keeps the other datasets' rows
        results = json.loads(Path(cfg.out_json).read_text(encoding="utf-8"))
    for entry in cfg.runs:
        if cfg.only and entry.dataset not in cfg.only:
            continue
        runs_dir = Path(cfg.runs_dir) / entry.dataset
        selector = f"experiment={entry.experiment}" if entry.get("experiment") else f"data={entry.dataset}"
        overrides = [
            selector,
            f"model={entry.model}",
            f"evaluation.bootstrap_resamples={cfg.bootstrap_resamples}",
            *entry.overrides,
        ]
        command = shlex.join(["python", "scripts/train.py", *overrides])
        run = _finished_run(runs_dir, overrides + [f"paths.runs_dir={runs_dir}"]) if cfg.reuse else None
        if entry.get("run_dir"):  # an existing run, e.g. the default `make train` run (runs/latest)
            run = Path(entry.run_dir).resolve()
            if not (run / rundir.EVAL_DIR / rundir.METRICS).exists():
                raise FileNotFoundError(
                    f"benchmark entry {entry.dataset}/{entry.model}: {run} has no {rundir.EVAL_DIR}/{rundir.METRICS}"
                )
            command = "make train"
        if run is None:
            # The benchmark names the run directory itself (same layout as Hydra's: <runs_dir>/<name>/<time>).
            run = (runs_dir / entry.model / time.strftime("%Y-%m-%d_%H-%M-%S")).resolve()
            _run([*_task("train"), *overrides, f"paths.runs_dir={runs_dir}", f"hydra.run.dir={run}"])
        name = entry.get("label") or entry.model
        results.setdefault(entry.dataset, {})[name] = collect(run, rundir.eval_dir(run), command, root)
        for other in entry.also_eval:
            eval_dir = run / f"{rundir.OTHER_EVAL_PREFIX}{other}"
            if not (cfg.reuse and (eval_dir / rundir.METRICS).exists()):
                _run(
                    [
                        *_task("evaluate"),
                        f"run_dir={run}",
                        f"data={other}",
                        f"evaluation.bootstrap_resamples={cfg.bootstrap_resamples}",
                    ]
                )
            cmd = command + " && " + shlex.join(["python", "scripts/evaluate.py", "run_dir=<run>", f"data={other}"])
            results.setdefault(f"{other} (trained on {entry.dataset})", {})[name] = collect(run, eval_dir, cmd, root)
        write_json(Path(cfg.out_json), results)  # after every pair: a long benchmark keeps what it finished
        _write_md(Path(cfg.out_md), results, cfg.get("notes_file"))
    for comp in cfg.get("comparisons") or []:
        _write_comparison(comp, results, Path(cfg.comparisons_dir), Path(cfg.paths.root_dir))
    print(json.dumps({d: {m: r["macro_f1"] for m, r in ms.items()} for d, ms in results.items()}, indent=2))


def _write_comparison(comp: DictConfig, results: dict, out_dir: Path, root: Path) -> None:
    """Paired comparison of two benchmark rows evaluated on the same data (see tfgbv.report.comparison)."""
    rows = [(results.get(side.dataset) or {}).get(side.model) for side in (comp.a, comp.b)]
    dirs = [root / r["eval_dir"] if r else None for r in rows]  # repository-relative (an absolute path stays as is)
    if any(d is None or not (d / rundir.METRICS).exists() for d in dirs):  # e.g. a partial re-run in a fresh clone
        log.warning("comparison %s skipped: an evaluation directory is not on this machine (%s)", comp.name, dirs)
        return
    try:
        result = compare_evaluations(*dirs)
    except ComparisonError as e:
        raise ValueError(f"benchmark comparison {comp.name}: {e}") from None
    for side in ("a", "b"):  # repository-relative in the committed docs
        result[side]["eval_dir"] = os.path.relpath(result[side]["eval_dir"], root)
    write_json(out_dir / f"{comp.name}.json", result)
    write_text(out_dir / f"{comp.name}.md", render_comparison(result))
