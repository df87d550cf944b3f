"""Scoring with a saved tfidf_lr baseline (vocabulary JSON + safetensors arrays; no pickles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from safetensors.numpy import load_file

from tfgbv import rundir
from tfgbv.models.baseline import baseline_prep
from tfgbv.models.build import find_model_dir, read_meta
from tfgbv.predict.base import calibrated_proba, labelled_predictions, model_identifier


class BaselineClassifier:
    """Same predict API as `tfgbv.predict.transformer.Classifier`, for a saved tfidf_lr model directory."""

    def __init__(
        self, vectorizer, coef: np.ndarray, intercept: np.ndarray, meta: dict[str, Any], model_dir: str | Path
    ):
        self.vectorizer, self.coef, self.intercept, self.meta = vectorizer, coef, intercept, meta
        self.model_dir = Path(model_dir)
        self.labels = list(meta["labels"])
        self.thresholds = np.array([meta["thresholds"][lab] for lab in self.labels], dtype=np.float32)
        self.temperatures = np.array(
            [meta.get("temperatures", {}).get(lab, 1.0) for lab in self.labels], dtype=np.float32
        )
        self.prep = baseline_prep(meta)
        self._id: str | None = None

    @classmethod
    def from_pretrained(cls, path: str | Path, **_: Any) -> "BaselineClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer  # lazy: see tfgbv.models.baseline.fit_baseline

        model_dir = find_model_dir(path)
        meta = read_meta(model_dir)
        tensors = load_file(str(model_dir / rundir.BASELINE_WEIGHTS))
        vocab = json.loads((model_dir / rundir.BASELINE_VOCAB).read_text(encoding="utf-8"))
        p = meta["vectorizer"]
        vec = TfidfVectorizer(
            analyzer=p["analyzer"],
            ngram_range=(p["ngram_min"], p["ngram_max"]),
            lowercase=p["lowercase"],
            sublinear_tf=p["sublinear_tf"],
            vocabulary=vocab,
            dtype=np.float32,
        )
        vec.idf_ = tensors["idf"]
        return cls(vec, tensors["coef"], tensors["intercept"], meta, model_dir)

    precision = "fp32"  # float32 sparse products: the one way it computes

    @property
    def model_id(self) -> str:
        if self._id is None:
            self._id = model_identifier(self.model_dir, self.meta)
        return self._id

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        X = self.vectorizer.transform([self.prep(t) for t in texts])
        return np.asarray(X @ self.coef.T + self.intercept, dtype=np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return calibrated_proba(self, texts)

    def predict(self, texts: Sequence[str] | str) -> list[dict[str, Any]] | dict[str, Any]:
        return labelled_predictions(self, texts)
