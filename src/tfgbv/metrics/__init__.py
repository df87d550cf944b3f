"""Metrics for masked multi-label classification, as plain functions and as local `evaluate` modules.

`evaluate.load("f1")` needs the Hugging Face hub; `load_metric(name)` loads `src/tfgbv/metrics/<name>/` by path, offline.
y_true uses -1 for "not annotated": such cells are excluded from every metric, never counted as negatives.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

HERE = Path(__file__).resolve().parent
MODULES = ("multilabel_prf", "roc_auc_masked", "pr_auc_masked", "calibration_error", "bias_auc")


@lru_cache(maxsize=None)
def load_metric(name: str):
    """The local `evaluate` module `name` (offline)."""
    import evaluate

    if name not in MODULES:
        raise ValueError(f"unknown metric {name!r}; available: {MODULES}")
    return evaluate.load(str(HERE / name))


# ----------------------------------------------------------------------------- per-label metrics


def _binary(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Metrics for one label over annotated rows; undefined ones are None with a reason."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    mask = y >= 0
    truth = y[mask] >= 0.5
    prob = p[mask]
    pred = prob >= threshold
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    out: dict[str, Any] = {"n": int(mask.sum()), "support": int(truth.sum()), "tp": tp, "fp": fp, "fn": fn, "reasons": {}}
    if out["n"] == 0:
        for k in ("precision", "recall", "f1", "roc_auc", "pr_auc"):
            out[k] = None
            out["reasons"][k] = "label not annotated in this data"
        return out
    out["precision"] = tp / (tp + fp) if tp + fp else None
    if out["precision"] is None:
        out["reasons"]["precision"] = "no positive predictions"
    out["recall"] = tp / (tp + fn) if tp + fn else None
    if out["recall"] is None:
        out["reasons"]["recall"] = "no positive rows"
    out["f1"] = 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else None
    if out["f1"] is None:
        out["reasons"]["f1"] = "no positive rows and no positive predictions"
    if 0 < truth.sum() < len(truth):
        out["roc_auc"] = float(roc_auc_score(truth, prob))
        out["pr_auc"] = float(average_precision_score(truth, prob))
    else:
        out["roc_auc"] = out["pr_auc"] = None
        out["reasons"]["roc_auc"] = out["reasons"]["pr_auc"] = "only one class present"
    return out


def classification_report(y_true: np.ndarray, y_prob: np.ndarray, thresholds: Sequence[float], labels: Sequence[str]) -> dict[str, Any]:
    """Per label: precision, recall, f1, roc_auc, pr_auc, support, n; overall micro/macro P/R/F1 over annotated cells."""
    y_true = np.asarray(y_true, dtype=float).reshape(-1, len(labels))
    y_prob = np.asarray(y_prob, dtype=float).reshape(-1, len(labels))
    per = {lab: _binary(y_true[:, j], y_prob[:, j], thresholds[j]) for j, lab in enumerate(labels)}
    tp = sum(e["tp"] for e in per.values())
    fp = sum(e["fp"] for e in per.values())
    fn = sum(e["fn"] for e in per.values())
    f1s = [e["f1"] for e in per.values() if e["f1"] is not None and e["support"] > 0]
    overall = {
        "micro_precision": tp / (tp + fp) if tp + fp else None,
        "micro_recall": tp / (tp + fn) if tp + fn else None,
        "micro_f1": 2 * tp / (2 * tp + fp + fn) if (tp + fp + fn) else None,
        "macro_f1": float(np.mean(f1s)) if f1s else None,
        "macro_precision": _mean([e["precision"] for e in per.values() if e["support"] > 0]),
        "macro_recall": _mean([e["recall"] for e in per.values() if e["support"] > 0]),
        "labels_in_macro": [lab for lab, e in per.items() if e["f1"] is not None and e["support"] > 0],
        "rows": int(len(y_true)),
    }
    return {"labels": per, "overall": overall}


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def bootstrap_ci(metric_fn: Callable[[np.ndarray, np.ndarray], float | None], y_true: np.ndarray, y_prob: np.ndarray,
                 n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05) -> list[float | None]:
    """Percentile bootstrap over rows, seeded. Resamples where the metric is undefined are skipped.

    Returns [low, high, n_valid_resamples].
    """
    rng = np.random.default_rng(seed)
    n = len(y_true)
    stats = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, n)
        value = metric_fn(y_true[idx], y_prob[idx])
        if value is not None and not np.isnan(value):
            stats.append(value)
    if len(stats) < max(10, n_resamples // 10):
        return [None, None, len(stats)]
    return [float(np.quantile(stats, alpha / 2)), float(np.quantile(stats, 1 - alpha / 2)), len(stats)]


# ----------------------------------------------------------------------------- calibration


def reliability_bins(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins: edges, mean predicted probability ("confidence"), observed positive rate ("accuracy"), count."""
    y_true = np.asarray(y_true, dtype=float)
    prob = np.asarray(prob, dtype=float)
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1], right=False), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = which == b
        out.append({"low": float(edges[b]), "high": float(edges[b + 1]), "count": int(m.sum()),
                    "confidence": float(prob[m].mean()) if m.any() else None,
                    "accuracy": float(y_true[m].mean()) if m.any() else None})
    return out


def expected_calibration_error(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> float | None:
    """Σ_bins (count/N) · |positive rate − mean probability| (Naeini et al. 2015), for one binary label."""
    n = len(prob)
    if n == 0:
        return None
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in reliability_bins(y_true, prob, n_bins) if b["count"]))


def apply_temperature(logits: np.ndarray, temps: Sequence[float]) -> np.ndarray:
    """sigmoid(logit / T) per label."""
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / np.asarray(temps, dtype=np.float64)))


def fit_temperature(logits: np.ndarray, y_true: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> list[float]:
    """One temperature per label minimising masked BCE on (dev) data (Guo et al. 2017, per label); 1.0 when undefined."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    temps = []
    for j in range(logits.shape[1]):
        mask = y_true[:, j] >= 0
        y = y_true[mask, j]
        z = logits[mask, j]
        if mask.sum() < 2 or len(np.unique(y >= 0.5)) < 2:
            temps.append(1.0)
            continue

        def nll(log_t: float) -> float:
            s = z / np.exp(log_t)
            return float(np.mean(np.logaddexp(0, s) - y * s))

        res = minimize_scalar(nll, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
        temps.append(float(np.exp(res.x)))
    return temps


# ----------------------------------------------------------------------------- unintended bias


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, p))


def bias_aucs(y_true: np.ndarray, prob: np.ndarray, subgroup: np.ndarray) -> dict[str, float | None]:
    """Borkan et al. (2019): subgroup AUC (within the subgroup); BPSN AUC (background positives + subgroup negatives);
    BNSP AUC (background negatives + subgroup positives). None when a set lacks one class."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(prob, dtype=float)
    s = np.asarray(subgroup, dtype=bool)
    bpsn = (s & (y == 0)) | (~s & (y == 1))
    bnsp = (s & (y == 1)) | (~s & (y == 0))
    return {"subgroup_auc": _auc(y[s], p[s]), "bpsn_auc": _auc(y[bpsn], p[bpsn]), "bnsp_auc": _auc(y[bnsp], p[bnsp])}


def generalized_mean(values: Sequence[float], p: float = -5) -> float | None:
    """M_p = (mean(v^p))^(1/p); p = −5 emphasises the worst subgroups (Jigsaw Unintended Bias competition)."""
    vals = np.asarray([v for v in values if v is not None], dtype=float)
    if len(vals) == 0:
        return None
    return float(np.mean(vals ** p) ** (1.0 / p))


def final_bias_score(overall_auc: float, bias_table: dict[str, dict[str, float | None]], weights: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
                     p: float = -5) -> float | None:
    """w0·overall AUC + Σ w_a · M_p(bias AUC a over subgroups), a ∈ {subgroup, BPSN, BNSP}."""
    parts = [overall_auc]
    for key in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
        parts.append(generalized_mean([t.get(key) for t in bias_table.values()], p))
    if any(x is None for x in parts):
        return None
    return float(sum(w * x for w, x in zip(weights, parts)))
