"""One loader for every saved tfgbv model: it reads the model's kind and returns the matching classifier."""

from __future__ import annotations

from pathlib import Path

from tfgbv.models.build import read_meta, resolve_model_dir
from tfgbv.predict.baseline import BaselineClassifier
from tfgbv.predict.transformer import Classifier


def load_classifier(path: str | Path, revision: str | None = None, **kwargs):
    """Load any saved tfgbv model (transformer or tfidf_lr baseline) behind one predict API.

    `path`: a run directory, its model/ directory, or a Hugging Face Hub repo id (see resolve_model_dir).
    """
    model_dir = resolve_model_dir(path, revision)
    meta = read_meta(model_dir)
    if meta.get("kind", "transformer") == "tfidf_lr":
        return BaselineClassifier.from_pretrained(model_dir)
    return Classifier.from_pretrained(model_dir, **kwargs)
