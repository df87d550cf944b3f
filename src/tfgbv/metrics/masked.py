"""Metrics for masked multi-label classification, as plain functions and as local `evaluate` modules.

`evaluate.load("f1")` needs the Hugging Face hub; `load_metric(name)` loads `src/tfgbv/metrics/<name>/` by path,
offline. y_true uses -1 for "not annotated": such cells are excluded from every metric, never counted as negatives.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import average_precision_score, roc_auc_score

from tfgbv.labels import LABELS

HERE = Path(__file__).resolve().parent
MODULES = ("multilabel_prf", "roc_auc_masked", "pr_auc_masked", "calibration_error", "bias_auc")


@lru_cache(maxsize=None)
def load_metric(name: str):
    """The local `evaluate` module `name`, loaded by path so it works offline (HF_HUB_OFFLINE=1); cached per process.

    `evaluate.load(<dir>)` imports `<dir>/<dir name>.py` and instantiates its `evaluate.Metric` subclass.
    """
    if name not in MODULES:
        raise ValueError(f"unknown metric {name!r}; available: {MODULES}")
    script = HERE / name / f"{name}.py"
    if not script.is_file():
        # Happens when the package was installed without its package data (see pyproject
        # [tool.setuptools.package-data]).
        raise FileNotFoundError(
            f"metric script missing: {script}; was tfgbv installed with its metrics/*/*.py package data?"
        )
    import evaluate  # lazy: it imports torch and datasets, and the metric functions below need neither

    return evaluate.load(str(HERE / name))


def default_labels(n_columns: int) -> list[str]:
    """The project's LABELS when the width matches, else generic names (the modules also serve other label sets)."""
    return list(LABELS) if n_columns == len(LABELS) else [f"label_{j}" for j in range(n_columns)]


def _check_2d(y_true: np.ndarray, y_prob: np.ndarray, n_labels: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float [N, n_labels]; a clear error naming the caller when shapes disagree."""
    y_true = np.asarray(y_true, dtype=float)
    y_prob = np.asarray(y_prob, dtype=float)
    if y_true.ndim == 1 and n_labels == 1:
        y_true, y_prob = y_true.reshape(-1, 1), y_prob.reshape(-1, 1)
    if y_true.ndim != 2 or y_true.shape != y_prob.shape or y_true.shape[1] != n_labels:
        raise ValueError(f"{where}: y_true {y_true.shape} and y_prob {y_prob.shape} must both be [N, {n_labels}]")
    return y_true, y_prob


def _annotated_1d(y_true: np.ndarray, prob: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mask of annotated rows, 0/1 truth of those rows, their probabilities); -1 (missing) rows are dropped, never
    0."""
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(prob, dtype=float).ravel()
    if y.shape != p.shape:
        raise ValueError(f"{where}: y_true has {y.shape[0]} values but prob has {p.shape[0]}")
    mask = y >= 0
    return mask, (y[mask] >= 0.5).astype(int), p[mask]


# ----------------------------------------------------------------------------- per-label metrics


def _binary(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Metrics for one label over annotated rows; undefined ones are None with a reason."""
    mask = y >= 0
    truth = y[mask] >= 0.5
    prob = p[mask]
    pred = prob >= threshold
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    out: dict[str, Any] = {
        "n": int(mask.sum()),
        "support": int(truth.sum()),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "reasons": {},
    }
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


def classification_report(
    y_true: np.ndarray, y_prob: np.ndarray, thresholds: Sequence[float], labels: Sequence[str]
) -> dict[str, Any]:
    """Per label: precision, recall, f1, roc_auc, pr_auc, support, n; overall micro/macro P/R/F1 over annotated
    cells."""
    if len(thresholds) != len(labels):
        raise ValueError(f"classification_report: {len(thresholds)} thresholds for {len(labels)} labels")
    y_true, y_prob = _check_2d(y_true, y_prob, len(labels), "classification_report")
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
        # Macro averages skip labels with no positive rows: their F1 is 0 or undefined whatever the model does.
        "labels_in_macro": [lab for lab, e in per.items() if e["f1"] is not None and e["support"] > 0],
        "rows": int(len(y_true)),
        "annotated_cells": int((y_true >= 0).sum()),
    }
    overall["reasons"] = {
        k: _overall_reason(k, tp, fp, fn)
        for k in ("micro_precision", "micro_recall", "micro_f1", "macro_precision", "macro_recall", "macro_f1")
        if overall[k] is None
    }
    return {"labels": per, "overall": overall}


def _overall_reason(key: str, tp: int, fp: int, fn: int) -> str:
    """Why an overall average is None."""
    if key.startswith("macro"):
        return "no label has both positive rows and a defined value"
    if key == "micro_precision":
        return "no positive predictions in any annotated cell"
    if key == "micro_recall":
        return "no positive annotated cells"
    return "no positive annotated cells and no positive predictions"


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


class BootstrapCI(tuple):
    """(low, high) percentile interval that also carries how many resamples were used and skipped.

    A tuple of two so `low, high = bootstrap_ci(...)` works; `.n_valid` / `.n_skipped` tell how much it rests on.
    """

    n_valid: int
    n_skipped: int

    def __new__(cls, low: float | None, high: float | None, n_valid: int, n_skipped: int) -> "BootstrapCI":
        obj = super().__new__(cls, (low, high))
        obj.n_valid, obj.n_skipped = n_valid, n_skipped
        return obj

    def __repr__(self) -> str:
        return f"BootstrapCI(low={self[0]}, high={self[1]}, n_valid={self.n_valid}, n_skipped={self.n_skipped})"


def bootstrap_ci(
    metric_fn: Callable[[np.ndarray, np.ndarray], float | None],
    y_true: np.ndarray,
    y_prob: np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> BootstrapCI:
    """Percentile bootstrap over rows (Efron & Tibshirani 1993), seeded with numpy's default_rng(seed).

    Resamples where `metric_fn` returns None/NaN (e.g. a resample with one class) are skipped and counted in
    `.n_skipped`; when fewer than max(10, n_resamples // 10) remain the interval is (None, None) rather than a
    number resting on a handful of draws.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"bootstrap_ci: alpha must be in (0, 1), got {alpha}")
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob)
    n = len(y_true)
    if n == 0 or len(y_prob) != n:
        raise ValueError(f"bootstrap_ci: need the same non-zero number of rows, got {n} and {len(y_prob)}")
    rng = np.random.default_rng(seed)
    stats: list[float] = []
    for _ in range(n_resamples):
        idx = rng.integers(0, n, n)
        value = metric_fn(y_true[idx], y_prob[idx])
        if value is not None and not np.isnan(value):
            stats.append(float(value))
    skipped = n_resamples - len(stats)
    if len(stats) < max(10, n_resamples // 10):
        return BootstrapCI(None, None, len(stats), skipped)
    return BootstrapCI(
        float(np.quantile(stats, alpha / 2)), float(np.quantile(stats, 1 - alpha / 2)), len(stats), skipped
    )


def proportion_ci(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float] | None:
    """Wilson score interval for a pass rate (e.g. functional-suite accuracy); None for n = 0.

    Wilson rather than the normal approximation: it stays inside [0, 1] and is honest near 0 and 1, where the
    functional suite's per-functionality accuracies often sit.
    """
    if n == 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"proportion_ci: successes must be in [0, {n}], got {successes}")
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=1 - alpha, method="wilson")
    return float(ci.low), float(ci.high)


# ----------------------------------------------------------------------------- calibration


def reliability_bins(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins over [0, 1] for a reliability diagram, one label, -1 rows dropped.

    Each bin: low/high edges (a bin holds low <= p < high; the last also holds p = 1), count, mean predicted
    probability ("confidence") and observed positive rate ("accuracy"); both None for an empty bin.
    """
    if n_bins < 1:
        raise ValueError(f"reliability_bins: n_bins must be >= 1, got {n_bins}")
    _, y, p = _annotated_1d(y_true, prob, "reliability_bins")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # digitize against the inner edges gives 0..n_bins-1; clip keeps p = 1.0 (and any rounding past 1) in the top bin.
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    out = []
    for b in range(n_bins):
        m = which == b
        out.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "count": int(m.sum()),
                "confidence": float(p[m].mean()) if m.any() else None,
                "accuracy": float(y[m].mean()) if m.any() else None,
            }
        )
    return out


def expected_calibration_error(y_true: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> float | None:
    """ECE = sum over bins of (count/N) * |positive rate - mean probability| (Naeini et al. 2015), one binary label.

    -1 rows are dropped; None when no annotated row is left.
    """
    bins = reliability_bins(y_true, prob, n_bins)
    n = sum(b["count"] for b in bins)
    if n == 0:
        return None
    return float(sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"]))


# ----------------------------------------------------------------------------- unintended bias


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC-AUC, or None when fewer than two classes are present (sklearn would raise)."""
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, p))


def bias_aucs(y_true: np.ndarray, prob: np.ndarray, subgroup: np.ndarray) -> dict[str, float | None]:
    """Borkan et al. (2019) AUCs for one subgroup and one binary label; -1 rows dropped.

    subgroup_auc: AUC within the subgroup only.
    bpsn_auc: background positives + subgroup negatives; low when the subgroup's non-abusive comments score high
              (e.g. merely mentioning the group is flagged).
    bnsp_auc: background negatives + subgroup positives; low when abuse aimed at the subgroup scores low.
    Each is None when its set lacks one of the two classes.
    """
    s = np.asarray(subgroup, dtype=bool).ravel()
    mask, y, p = _annotated_1d(y_true, prob, "bias_aucs")
    if s.shape != mask.shape:
        raise ValueError(f"bias_aucs: subgroup mask has {s.shape[0]} values but y_true has {mask.shape[0]}")
    s = s[mask]
    bpsn = (s & (y == 0)) | (~s & (y == 1))
    bnsp = (s & (y == 1)) | (~s & (y == 0))
    return {"subgroup_auc": _auc(y[s], p[s]), "bpsn_auc": _auc(y[bpsn], p[bpsn]), "bnsp_auc": _auc(y[bnsp], p[bnsp])}


def generalized_mean(values: Sequence[float | None], p: float = -5) -> float | None:
    """M_p = (mean(v^p))^(1/p) over the non-None values; p = -5 pulls towards the worst subgroups (Jigsaw).

    None when no value is given; 0.0 when p < 0 and some value is 0 (the limit, without a divide-by-zero warning).
    """
    vals = np.asarray([v for v in values if v is not None], dtype=float)
    if len(vals) == 0:
        return None
    if p == 0:
        raise ValueError("generalized_mean: p = 0 (geometric mean) is not supported")
    if p < 0 and (vals == 0).any():
        return 0.0
    return float(np.mean(vals**p) ** (1.0 / p))


def final_bias_score(
    overall_auc: float,
    bias_table: dict[str, dict[str, float | None]],
    weights: Sequence[float] = (0.25, 0.25, 0.25, 0.25),
    p: float = -5,
) -> float | None:
    """Jigsaw Unintended Bias in Toxicity Classification final metric:

    w0 * overall AUC + w1 * M_p(subgroup AUCs) + w2 * M_p(BPSN AUCs) + w3 * M_p(BNSP AUCs),
    the generalized means taken over the subgroups in `bias_table` ({subgroup: bias_aucs(...)}). None when any
    part is undefined.
    """
    if len(weights) != 4:
        raise ValueError(f"final_bias_score: need 4 weights (overall, subgroup, BPSN, BNSP), got {len(weights)}")
    parts = [overall_auc]
    for key in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
        parts.append(generalized_mean([t.get(key) for t in bias_table.values()], p))
    if any(x is None for x in parts):
        return None
    return float(sum(w * x for w, x in zip(weights, parts)))
