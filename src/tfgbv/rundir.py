"""The run directory: every file name in it is defined here, once, and read or written through these helpers.

    <run>/                      written by            read by
      config.json               train                 evaluate (which data trained it), card, benchmark
      data_manifest.json        train                 card, benchmark, README
      environment.json          train                 card, benchmark
      coverage.json             train (transformer)   card
      thresholds.json           train                 (humans: thresholds and where they were tuned)
      calibration.json          train                 (humans: temperatures)
      metrics.json              train                 card, benchmark, README
      train_history.json        train (transformer)   benchmark
      timings.json              train entry point     README
      train_log.csv             train (logger=csv)    (humans, spreadsheets)
      tensorboard/              train (logger=tensorboard)  TensorBoard
      model_card.md             card
      model/                    train                 every scorer (tfgbv_config.json + Hugging Face files)
      eval/                     evaluate              card, compare, README (the run's own data's test split)
      eval-<data>/              evaluate              card (other data, e.g. a public set the run never saw)

An annotation batch (`tfgbv-select out_dir=...`) holds selection.jsonl (raw texts: stays local), tasks.json (masked,
for Label Studio) and labeling_config.xml; an imported annotation file gets <name>.agreement.json and .agreement.md
next to it (tfgbv-import-annotations).

A test (tests/test_rundir.py) fails when one of these names is spelled out anywhere else in the package or scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------- run directory
CONFIG = "config.json"
MANIFEST = "data_manifest.json"
ENVIRONMENT = "environment.json"
COVERAGE = "coverage.json"
THRESHOLDS = "thresholds.json"
CALIBRATION = "calibration.json"
METRICS = "metrics.json"  # in the run dir (train) and in each evaluation dir (evaluate)
HISTORY = "train_history.json"
TIMINGS = "timings.json"
TRAIN_LOG_CSV = "train_log.csv"  # logger=csv: every value the Trainer logs (tfgbv.train.tracking)
TENSORBOARD_DIR = "tensorboard"  # logger=tensorboard: the event files
CARD = "model_card.md"
CHECKPOINTS = "checkpoints"
MODEL_DIR = "model"
EVAL_DIR = "eval"
OTHER_EVAL_PREFIX = "eval-"

# ----------------------------------------------------------------------------- the runs directory (paths.runs_dir)
RUNS_DIR = "runs"  # its default name (configs/paths/default.yaml): `runs/...` is always a local path, never a Hub id
LATEST = "latest"  # <runs_dir>/latest -> the newest scoring-grade run (debug and tiny runs leave it alone)

# ----------------------------------------------------------------------------- model directory (<run>/model)
META_FILE = "tfgbv_config.json"  # labels, thresholds, temperatures, text preparation (next to the weights)
HF_CONFIG = "config.json"  # the Hugging Face model config
WEIGHTS = "model.safetensors"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
HUB_CARD = "README.md"  # the file the Hugging Face Hub shows for a model repository
MODEL_LICENSE = "LICENSE.md"  # the weights' terms from the training sources (the card's license_link)
PERSIAN_VIEW_DIR = "persian_view"  # <model dir>/persian_view/: the Tajik -> Persian-script transliterator
PERSIAN_VIEW_WEIGHTS = "transliterator.safetensors"
PERSIAN_VIEW_CONFIG = "transliterator.json"  # architecture, alphabets, the word-language model
PERSIAN_VIEW_EVAL = "transliterator_eval.json"  # held-out word accuracy / CER, literary and keyboard-typed
KEYBOARD_RESTORE_DIR = "keyboard_restore"  # <model dir>/keyboard_restore/: Tajik letters for keyboard-typed words
KEYBOARD_RESTORE_FILE = "keyboard_restore.json"  # word-language model, restoration table, held-out measurement
BASELINE_WEIGHTS = "tfidf_lr.safetensors"
BASELINE_VOCAB = "tfidf_vocabulary.json"
ONNX_DIR = "onnx"
ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model.int8.onnx"
ONNX_AGREEMENT = "agreement.json"  # <onnx dir>/agreement.json: each variant's agreement with PyTorch

# ----------------------------------------------------------------------------- evaluation directory (<run>/eval*)
REPORT = "report.md"
FUNCTIONAL_FAILURES = "functional_failures.jsonl"
FUNCTIONAL_KEYBOARD_FAILURES = "functional_keyboard_failures.jsonl"  # the Tajik cases keyboard-typed
COMPARISON_JSON = "comparison.json"
COMPARISON_MD = "comparison.md"

# ----------------------------------------------------------------------------- annotation batch (tfgbv-select out_dir)
SELECTION = "selection.jsonl"  # the chosen comments with their raw text: never leaves this machine
TASKS = "tasks.json"  # Label Studio tasks: masked text, our id, the model's pre-annotations
LABEL_CONFIG = "labeling_config.xml"  # the Label Studio labelling interface
AGREEMENT_JSON_SUFFIX = ".agreement.json"  # <imported file stem>.agreement.json: alpha and disagreements
AGREEMENT_MD_SUFFIX = ".agreement.md"


def agreement_paths(annotations_file: str | Path) -> tuple[Path, Path]:
    """Where the agreement report of an imported annotation file goes: (JSON, Markdown), next to it."""
    path = Path(annotations_file)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + AGREEMENT_JSON_SUFFIX), path.with_name(stem + AGREEMENT_MD_SUFFIX)


def read_json(path: str | Path, default: Any = None) -> Any:
    """The parsed JSON file, or `default` when it does not exist."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else default


def model_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / MODEL_DIR


def trained_data_name(run_dir: str | Path) -> str | None:
    """Name of the data config the run was trained on (from its saved config), if known."""
    return ((read_json(Path(run_dir) / CONFIG) or {}).get("data") or {}).get("name")


def eval_dir(run_dir: str | Path, data_name: str | None = None) -> Path:
    """Where an evaluation on `data_name` goes: eval/ for the data the run was trained on (or None), else
    eval-<data>/."""
    run_dir = Path(run_dir)
    if data_name is None or data_name == trained_data_name(run_dir):
        return run_dir / EVAL_DIR
    return run_dir / f"{OTHER_EVAL_PREFIX}{data_name}"


def is_own_eval(path: str | Path) -> bool:
    """True for a run's own evaluation directory (eval/), whose results the model card reports as its results."""
    return Path(path).name == EVAL_DIR


def other_evals(run_dir: str | Path) -> dict[str, dict]:
    """{data name: evaluation metrics} of every finished eval-<data>/ of the run."""
    out = {}
    for d in sorted(Path(run_dir).glob(f"{OTHER_EVAL_PREFIX}*")):
        metrics = read_json(d / METRICS)
        if metrics is not None:
            out[d.name[len(OTHER_EVAL_PREFIX) :]] = metrics
    return out


def evaluation_of(path: str | Path) -> Path:
    """An evaluation directory: `path` itself, or the run directory's own eval/ when `path` is a finished run."""
    path = Path(path)
    return path / EVAL_DIR if (path / EVAL_DIR / METRICS).exists() else path


def load_artifacts(run_dir: str | Path) -> dict[str, Any]:
    """Everything the card, the README and the benchmark tables read from a run, by role."""
    run_dir = Path(run_dir)
    return {
        "run_dir": run_dir,
        "meta": read_json(model_dir(run_dir) / META_FILE) or {},
        "train_metrics": read_json(run_dir / METRICS, {}),
        "eval": read_json(run_dir / EVAL_DIR / METRICS),
        "external": other_evals(run_dir),
        "manifest": read_json(run_dir / MANIFEST, {}),
        "coverage": read_json(run_dir / COVERAGE),
        "env": read_json(run_dir / ENVIRONMENT, {}),
        "config": read_json(run_dir / CONFIG, {}),
        "timings": read_json(run_dir / TIMINGS, {}),
        "history": read_json(run_dir / HISTORY, []),
        "persian_view": read_json(model_dir(run_dir) / PERSIAN_VIEW_DIR / PERSIAN_VIEW_EVAL),
        "keyboard_restore": (read_json(model_dir(run_dir) / KEYBOARD_RESTORE_DIR / KEYBOARD_RESTORE_FILE) or {}).get(
            "evaluation"
        ),
    }
