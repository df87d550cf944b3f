"""What every classifier shares: input checks, calibrated probabilities, labelled predictions, a stable model id.

A classifier here is anything with `labels`, `thresholds`, `temperatures`, `max_chars` and `predict_logits(texts)`
(the transformer `Classifier`, the tfidf_lr `BaselineClassifier`, the ONNX `OnnxClassifier`); these functions give
them one `predict_proba` / `predict` behaviour.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfgbv.locations import data_dir
from tfgbv.metrics.decision import apply_temperature


def model_identifier(model_dir: str | Path, meta: dict[str, Any]) -> str:
    """Short hash of everything that changes a score: every file of the model directory (weights, config.json,
    tokenizer files, tfgbv_config.json with labels, thresholds, temperatures and the text preparation incl.
    max_length) plus the metadata as loaded. Resumed scoring runs compare it, so two setups never mix in one output."""
    model_dir = Path(model_dir)
    h = hashlib.sha256()
    for p in sorted(model_dir.iterdir()):
        if p.is_file() and not p.name.startswith("."):  # hidden files are temp files, not part of the model
            h.update(p.name.encode() + b"\0")
            with p.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return f"{meta.get('short_name', 'model')}-{h.hexdigest()[:12]}"


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
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
                if len(texts) >= n:
                    return texts
    return texts
