"""Training the tfidf_lr baseline into the same run-directory layout as the transformer (tfgbv.train.run_writer)."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from tfgbv import rundir
from tfgbv.data.sources import LoadedData, labels_matrix
from tfgbv.io import modes_as_umask_allows, write_json
from tfgbv.labels import LABELS
from tfgbv.metrics.decision import Decisions, fit_decisions
from tfgbv.models.baseline import BaselineSpec, baseline_prep, fit_baseline
from tfgbv.predict.baseline import BaselineClassifier
from tfgbv.train.run_writer import decisions_meta, finish_run, split_reports, start_run, write_decisions


def _baseline_meta(spec: BaselineSpec, decisions: Decisions) -> dict[str, Any]:
    return {
        "kind": "tfidf_lr",
        "source": "tfidf_lr",
        "name_or_path": "tfidf_lr",
        "short_name": spec.short_name,
        "pooling": None,
        "labels": list(LABELS),
        **decisions_meta(decisions),
        "text": {"prefix": "", "deobfuscate": spec.deobfuscate, "char_fallback": {}, "max_length": 0},
        "vectorizer": asdict(spec),
    }


def train_baseline(
    data: LoadedData,
    spec: BaselineSpec,
    run_dir: str | Path,
    seed: int = 42,
    resolved_config: dict | None = None,
    score_test: bool = True,
) -> dict[str, Any]:
    """Fit, calibrate and tune thresholds on dev, write a run directory like `train.transformer.train` does."""
    run_dir = start_run(run_dir, data, resolved_config)
    model_dir = rundir.model_dir(run_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    prep = baseline_prep(spec)
    t0 = time.time()
    epoch_recs = data.training_records()  # train_repeat oversampling, as for the transformer
    vec, coef, intercept = fit_baseline([prep(r["text"]) for r in epoch_recs], labels_matrix(epoch_recs), spec, seed)
    seconds = time.time() - t0
    vocab = {k: int(v) for k, v in vec.vocabulary_.items()}
    save_file(
        {"coef": coef, "intercept": intercept, "idf": vec.idf_.astype(np.float32)},
        str(model_dir / rundir.BASELINE_WEIGHTS),
    )
    modes_as_umask_allows(model_dir)  # safetensors writes the weights 0600 whatever the umask
    write_json(model_dir / rundir.BASELINE_VOCAB, vocab)
    write_json(model_dir / rundir.META_FILE, _baseline_meta(spec, Decisions.default(len(LABELS))))
    clf = BaselineClassifier.from_pretrained(model_dir)
    dev_recs = data.splits["dev"]
    dev_logits = clf.predict_logits([r["text"] for r in dev_recs]) if dev_recs else None
    decisions, dev_prob = fit_decisions(dev_logits, labels_matrix(dev_recs), len(LABELS), spec.calibrate)
    write_json(model_dir / rundir.META_FILE, _baseline_meta(spec, decisions))
    write_decisions(run_dir, decisions)
    clf = BaselineClassifier.from_pretrained(model_dir)
    metrics: dict[str, Any] = {
        "train": {"seconds": round(seconds, 1), "rows": len(data.splits["train"]), "features": len(vocab)}
    }
    metrics.update(split_reports(data, clf.predict_proba, decisions, dev_prob, score_test))
    finish_run(run_dir, metrics)
    return {
        "run_dir": str(run_dir),
        "model_dir": str(model_dir),
        "metrics": metrics,
        "thresholds": dict(zip(LABELS, decisions.thresholds)),
    }
