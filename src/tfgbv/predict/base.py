"""What every classifier shares: input checks, calibrated probabilities, labelled predictions, a stable model id.

A classifier here is anything with `labels`, `thresholds`, `temperatures`, `max_chars` and `predict_logits(texts)`
(the transformer `Classifier`, the tfidf_lr `BaselineClassifier`, the ONNX `OnnxClassifier`); these functions give
them one `predict_proba` / `predict` behaviour.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfgbv import rundir
from tfgbv.data.records import jsonl_objects
from tfgbv.locations import data_dir
from tfgbv.metrics.decision import apply_temperature

# Files of a model directory that are about the model, not part of it: the card (written after the id, quoting it).
_NOT_MODEL_SUFFIXES = (".md",)

# How a classifier computes (a field next to the id, never part of it); ids once carried it as a suffix.
PRECISIONS = ("fp32", "bf16", "int8", "onnx-fp32", "onnx-int8")
_SUFFIXED_ID = re.compile(r"(.+-[0-9a-f]{12})-(?:bf16|int8|onnx-fp32|onnx-int8)")


def model_identifier(model_dir: str | Path, meta: dict[str, Any] | None = None) -> str:
    """Short hash of the files that make the scores: weights, config.json, tokenizer files and tfgbv_config.json
    (labels, thresholds, temperatures, text preparation incl. max_length), in sub-folders too (onnx/ aside).
    Documentation (the card, README.md, which quotes the id) and hidden temp files are left out, so the card, scorers,
    comparisons and selections name a run the same; how it computes (`precision_of`) is a separate field. `meta` only
    supplies the short name (default: the one in tfgbv_config.json). Resumed scoring runs compare it, so two models
    never mix in one output."""
    model_dir = Path(model_dir)
    h = hashlib.sha256()
    for p in _model_files(model_dir):
        h.update(p.relative_to(model_dir).as_posix().encode() + b"\0")
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    if meta is None:
        meta_file = model_dir / rundir.META_FILE
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
    return f"{meta.get('short_name', 'model')}-{h.hexdigest()[:12]}"


def _model_files(folder: Path) -> list[Path]:
    """The files that make the scores, sorted, sub-folders included (e.g. a text preparation's own weights), except
    documentation, hidden temp files and ONNX exports (another way to compute the same model: its precision)."""
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.name.lower().endswith(_NOT_MODEL_SUFFIXES):
            continue
        if p.is_dir() and p.name != rundir.ONNX_DIR:
            out += _model_files(p)
        elif p.is_file():
            out.append(p)
    return out


def base_model_id(model_id: str | None) -> str | None:
    """The model id without the precision suffix older versions appended ("...-<hash>-bf16", "-int8", "-onnx-int8"),
    so their score files still match the run that made them."""
    found = _SUFFIXED_ID.fullmatch(model_id or "")
    return found.group(1) if found else model_id


def precision_of(clf: Any) -> str:
    """How `clf` computes ("fp32", "bf16", "int8", "onnx-int8", ...); "fp32" for a classifier that does not say."""
    return str(getattr(clf, "precision", "fp32"))


# Longest text the Python API scores: longer ones are refused (ValueError), never silently truncated. About 200
# windows of 128 tokens; batch scoring rejects texts over its own max_chars (default 20,000) before they get here.
MAX_TEXT_CHARS = 100_000


def checked_texts(texts: Any, max_chars: int = MAX_TEXT_CHARS) -> list[str]:
    """`texts` as a list of strings, or a clear TypeError / ValueError naming the offending item."""
    if texts is None or isinstance(texts, (str, bytes, bytearray)) or not hasattr(texts, "__iter__"):
        raise TypeError(
            f"expected a sequence of strings, got {type(texts).__name__}"
            + (" (use predict() for one text, or wrap it in a list)" if isinstance(texts, str) else "")
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text {i} is {type(text).__name__}, not a string")
        if len(text) > max_chars:
            raise ValueError(
                f"text {i} has {len(text):,} characters, more than max_chars={max_chars:,}: split it "
                f"(or raise the classifier's max_chars)"
            )
    return texts


def calibrated_proba(clf, texts: Sequence[str]) -> np.ndarray:
    """[N, L] probabilities sigmoid(logit / T) with the run's per-label temperatures (any classifier with
    predict_logits)."""
    texts = checked_texts(texts, getattr(clf, "max_chars", MAX_TEXT_CHARS))
    return apply_temperature(clf.predict_logits(texts), clf.temperatures)


def labelled_predictions(clf, texts: Sequence[str] | str) -> list[dict[str, Any]] | dict[str, Any]:
    """Per text: {"scores": {label: probability}, "labels": [labels at or above their threshold]}."""
    single = isinstance(texts, str)
    probs = clf.predict_proba([texts] if single else checked_texts(texts, getattr(clf, "max_chars", MAX_TEXT_CHARS)))
    out = [
        {
            "scores": {lab: float(p[j]) for j, lab in enumerate(clf.labels)},
            "labels": [lab for j, lab in enumerate(clf.labels) if p[j] >= clf.thresholds[j]],
        }
        for p in probs
    ]
    return out[0] if single else out


# Bundled-corpus texts that time precisions (tfgbv.predict.precision) and calibrate int8 (Classifier(int8=True)).
PROBE_TEXTS = 512


def probe_texts(n: int = PROBE_TEXTS) -> list[str]:
    """The first `n` texts of the bundled corpus (always installed with the package)."""
    texts: list[str] = []
    for path in sorted((data_dir() / "seed").glob("*.jsonl")):
        for rec in jsonl_objects(path):
            texts.append(rec["text"])
            if len(texts) >= n:
                return texts
    return texts
