"""Classical baseline: character n-gram TF-IDF + one logistic regression per label (scikit-learn).

Same data configs, masked labels (each label's regression sees only rows annotating it), dev-tuned thresholds,
temperature scaling and run-directory layout as the transformer, so every report can put both side by side.
Saved without pickles: vocabulary as JSON, IDF and coefficients as safetensors.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tfgbv.data import LoadedData, labels_matrix, manifest, write_json
from tfgbv.labels import LABELS

log = logging.getLogger(__name__)

WEIGHTS_FILE = "tfidf_lr.safetensors"
VOCAB_FILE = "tfidf_vocabulary.json"


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

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> "BaselineSpec":
        raw = {k: v for k, v in raw.items() if k not in ("kind", "source", "name_or_path")}
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown tfidf_lr option(s) {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**raw)


def _prep(spec_or_meta: Any):
    from tfgbv.modeling import TextPrep

    deob = spec_or_meta.deobfuscate if isinstance(spec_or_meta, BaselineSpec) else spec_or_meta["text"]["deobfuscate"]
    return TextPrep(prefix="", deobfuscate=deob, char_fallback={}, max_length=0)


class BaselineClassifier:
    """Same predict API as `tfgbv.inference.Classifier`, for a saved tfidf_lr model directory."""

    def __init__(self, vectorizer, coef: np.ndarray, intercept: np.ndarray, meta: dict[str, Any], model_dir: str | Path):
        self.vectorizer, self.coef, self.intercept, self.meta = vectorizer, coef, intercept, meta
        self.model_dir = Path(model_dir)
        self.labels = list(meta["labels"])
        self.thresholds = np.array([meta["thresholds"][lab] for lab in self.labels], dtype=np.float32)
        self.temperatures = np.array([meta.get("temperatures", {}).get(lab, 1.0) for lab in self.labels], dtype=np.float32)
        self.prep = _prep(meta)
        self._id: str | None = None

    @classmethod
    def from_pretrained(cls, path: str | Path, **_: Any) -> "BaselineClassifier":
        from safetensors.numpy import load_file
        from sklearn.feature_extraction.text import TfidfVectorizer

        from tfgbv.modeling import find_model_dir, read_meta

        model_dir = find_model_dir(path)
        meta = read_meta(model_dir)
        tensors = load_file(str(model_dir / WEIGHTS_FILE))
        vocab = json.loads((model_dir / VOCAB_FILE).read_text(encoding="utf-8"))
        p = meta["vectorizer"]
        vec = TfidfVectorizer(analyzer=p["analyzer"], ngram_range=(p["ngram_min"], p["ngram_max"]), lowercase=p["lowercase"],
                              sublinear_tf=p["sublinear_tf"], vocabulary=vocab, dtype=np.float32)
        vec.idf_ = tensors["idf"]
        return cls(vec, tensors["coef"], tensors["intercept"], meta, model_dir)

    @property
    def model_id(self) -> str:
        if self._id is None:
            from tfgbv.inference import model_identifier

            self._id = model_identifier(self.model_dir, self.meta)
        return self._id

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        X = self.vectorizer.transform([self.prep(t) for t in texts])
        return np.asarray(X @ self.coef.T + self.intercept, dtype=np.float32)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from tfgbv.inference import calibrated_proba

        return calibrated_proba(self, texts)

    def predict(self, texts: Sequence[str] | str) -> list[dict[str, Any]] | dict[str, Any]:
        from tfgbv.inference import labelled_predictions

        return labelled_predictions(self, texts)


def fit_baseline(texts: Sequence[str], y: np.ndarray, spec: BaselineSpec, seed: int = 42):
    """Fit the vectorizer on all training texts and one LR per label on the rows annotating it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=spec.analyzer, ngram_range=(spec.ngram_min, spec.ngram_max), min_df=spec.min_df,
                          max_features=spec.max_features, sublinear_tf=spec.sublinear_tf, lowercase=spec.lowercase, dtype=np.float32)
    X = vec.fit_transform(texts)
    coef = np.zeros((y.shape[1], X.shape[1]), dtype=np.float32)
    intercept = np.zeros(y.shape[1], dtype=np.float32)
    for j in range(y.shape[1]):
        mask = y[:, j] >= 0
        target = (y[mask, j] >= 0.5).astype(int)
        if mask.sum() == 0 or target.min() == target.max():
            # Nothing to learn for this label: constant score at the observed rate (or 0.5 if unannotated).
            rate = target.mean() if mask.sum() else 0.5
            intercept[j] = float(np.log(max(rate, 1e-4) / max(1 - rate, 1e-4)))
            log.warning("label %s: %s; constant score", LABELS[j], "not annotated" if not mask.sum() else "one class only")
            continue
        lr = LogisticRegression(C=spec.C, class_weight=spec.class_weight, max_iter=spec.max_iter, solver="liblinear", random_state=seed)
        lr.fit(X[np.flatnonzero(mask)], target)
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    return vec, coef, intercept


def train_baseline(data: LoadedData, model_cfg: dict[str, Any], run_dir: str | Path, seed: int = 42,
                   resolved_config: dict | None = None) -> dict[str, Any]:
    """Fit, calibrate and tune thresholds on dev, write a run directory like `training.train` does."""
    from safetensors.numpy import save_file

    from tfgbv.metrics import apply_temperature, classification_report, fit_temperature
    from tfgbv.training import environment_info, tune_thresholds

    spec = BaselineSpec.from_config(model_cfg)
    run_dir = Path(run_dir)
    model_dir = run_dir / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "data_manifest.json", manifest(data))
    write_json(run_dir / "environment.json", environment_info())
    if resolved_config is not None:
        write_json(run_dir / "config.json", resolved_config)
    prep = _prep(spec)
    train_recs, dev_recs, test_recs = data.splits["train"], data.splits["dev"], data.splits["test"]
    if not train_recs:
        raise ValueError("no training rows: check the data config (train split is empty)")
    t0 = time.time()
    epoch_recs = data.training_records()  # train_repeat oversampling, as for the transformer
    vec, coef, intercept = fit_baseline([prep(r["text"]) for r in epoch_recs], labels_matrix(epoch_recs), spec, seed)
    seconds = time.time() - t0
    vocab = {k: int(v) for k, v in vec.vocabulary_.items()}
    save_file({"coef": coef, "intercept": intercept, "idf": vec.idf_.astype(np.float32)}, str(model_dir / WEIGHTS_FILE))
    write_json(model_dir / VOCAB_FILE, vocab)
    meta: dict[str, Any] = {"kind": "tfidf_lr", "source": "tfidf_lr", "name_or_path": "tfidf_lr", "short_name": spec.short_name,
                            "pooling": None, "labels": list(LABELS), "thresholds": {lab: 0.5 for lab in LABELS},
                            "temperatures": {lab: 1.0 for lab in LABELS},
                            "text": {"prefix": "", "deobfuscate": spec.deobfuscate, "char_fallback": {}, "max_length": 0},
                            "vectorizer": asdict(spec)}
    write_json(model_dir / "tfgbv_config.json", meta)
    clf = BaselineClassifier.from_pretrained(model_dir)
    y_dev = labels_matrix(dev_recs)
    temps, thresholds = [1.0] * len(LABELS), [0.5] * len(LABELS)
    dev_prob = None
    if dev_recs:
        dev_logits = clf.predict_logits([r["text"] for r in dev_recs])
        if spec.calibrate:
            temps = [float(t) for t in fit_temperature(dev_logits, y_dev)]
        dev_prob = apply_temperature(dev_logits, temps)
        from tfgbv.training import TrainSpec

        thresholds = tune_thresholds(y_dev, dev_prob, TrainSpec().threshold_grid)
    meta["thresholds"] = dict(zip(LABELS, thresholds))
    meta["temperatures"] = dict(zip(LABELS, temps))
    write_json(model_dir / "tfgbv_config.json", meta)
    write_json(run_dir / "thresholds.json", {"thresholds": meta["thresholds"], "tuned_on": "dev" if dev_recs else "default 0.5"})
    write_json(run_dir / "calibration.json", {"method": "temperature scaling per label, fitted on dev", "temperatures": meta["temperatures"]})
    metrics: dict[str, Any] = {"train": {"seconds": round(seconds, 1), "rows": len(train_recs), "features": len(vocab)}}
    if dev_prob is not None:
        metrics["dev"] = classification_report(y_dev, dev_prob, thresholds, list(LABELS))
    if test_recs:
        clf = BaselineClassifier.from_pretrained(model_dir)
        metrics["test"] = classification_report(labels_matrix(test_recs), clf.predict_proba([r["text"] for r in test_recs]),
                                                thresholds, list(LABELS))
    write_json(run_dir / "metrics.json", metrics)
    return {"run_dir": str(run_dir), "model_dir": str(model_dir), "metrics": metrics, "thresholds": meta["thresholds"]}
