"""Classical baseline: character n-gram TF-IDF + one logistic regression per label (scikit-learn).

Same data configs, masked labels (each label's regression sees only rows annotating it), dev-tuned thresholds,
temperature scaling and run-directory layout as the transformer, so every report can put both side by side.
Saved without pickles: vocabulary as JSON, IDF and coefficients as safetensors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from tfgbv.labels import LABELS
from tfgbv.models.build import TextPrep

log = logging.getLogger(__name__)


@dataclass
class BaselineSpec:
    """Hyper-parameters (Hydra group `model=tfidf_lr`)."""

    short_name: str = "tfidf_lr"
    analyzer: str = "char_wb"
    ngram_min: int = 2
    ngram_max: int = 5
    min_df: int = 2
    max_features: int | None = 300_000
    sublinear_tf: bool = True
    lowercase: bool = True
    C: float = 4.0
    class_weight: str | None = "balanced"
    max_iter: int = 2000
    deobfuscate: bool = False
    calibrate: bool = True


def baseline_prep(spec_or_meta: Any):
    deob = spec_or_meta.deobfuscate if isinstance(spec_or_meta, BaselineSpec) else spec_or_meta["text"]["deobfuscate"]
    return TextPrep(prefix="", deobfuscate=deob, char_fallback={}, max_length=0)


def make_vectorizer(spec: BaselineSpec):
    """The unfitted character n-gram TF-IDF vectorizer of `spec`."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # lazy: scoring with a transformer never needs sklearn

    return TfidfVectorizer(
        analyzer=spec.analyzer,
        ngram_range=(spec.ngram_min, spec.ngram_max),
        min_df=spec.min_df,
        max_features=spec.max_features,
        sublinear_tf=spec.sublinear_tf,
        lowercase=spec.lowercase,
        dtype=np.float32,
    )


def fit_baseline(texts: Sequence[str], y: np.ndarray, spec: BaselineSpec, seed: int = 42):
    """Fit the vectorizer on all training texts and one LR per label on the rows annotating it."""
    vec = make_vectorizer(spec)
    X = vec.fit_transform(texts)
    coef, intercept = fit_label_models(X, y, spec, seed)
    return vec, coef, intercept


def fit_label_models(
    X, y: np.ndarray, spec: BaselineSpec, seed: int = 42, labels: Sequence[str] = LABELS
) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per column of `y` on the rows of the feature matrix `X` that annotate it (y >= 0); rows
    with y = -1 are never seen. `labels` names the columns (for the log). Returns (coef [L, F], intercept [L]); logits
    are `X @ coef.T + intercept`."""
    from sklearn.linear_model import LogisticRegression  # lazy: see make_vectorizer

    coef = np.zeros((y.shape[1], X.shape[1]), dtype=np.float32)
    intercept = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        mask = y[:, j] >= 0
        target = (y[mask, j] >= 0.5).astype(int)
        if mask.sum() == 0 or target.min() == target.max():
            # Nothing to learn for this label: constant score at the observed rate (or 0.5 if unannotated).
            rate = target.mean() if mask.sum() else 0.5
            intercept[j] = float(np.log(max(rate, 1e-4) / max(1 - rate, 1e-4)))
            log.warning(
                "label %s: %s; constant score", labels[j], "not annotated" if not mask.sum() else "one class only"
            )
            continue
        lr = LogisticRegression(
            C=spec.C, class_weight=spec.class_weight, max_iter=spec.max_iter, solver="liblinear", random_state=seed
        )
        lr.fit(X[np.flatnonzero(mask)], target)
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return coef, intercept
