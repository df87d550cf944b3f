"""From logits to decisions: temperature scaling (fit and apply) and per-label thresholds tuned on dev.

The one place that turns a logit into a calibrated probability (`apply_temperature`), so training, evaluation,
scoring and benchmarks divide by the temperature exactly once, the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit

# Thresholds searched on dev: 0.05, 0.06, ..., 0.95.
THRESHOLD_GRID = tuple(round(float(x), 2) for x in np.arange(0.05, 0.96, 0.01))


@dataclass
class Decisions:
    """What turns a model's logits into labels: one temperature and one threshold per label, and where they came
    from."""

    temperatures: list[float]
    thresholds: list[float]
    tuned_on: str  # "dev" or "default 0.5" (no dev rows)
    grid: tuple[float, ...] = THRESHOLD_GRID

    @classmethod
    def default(cls, n_labels: int) -> "Decisions":
        return cls([1.0] * n_labels, [0.5] * n_labels, "default 0.5")


def fit_decisions(
    dev_logits: np.ndarray | None,
    y_dev: np.ndarray,
    n_labels: int,
    calibrate: bool = True,
    grid: Sequence[float] = THRESHOLD_GRID,
) -> tuple[Decisions, np.ndarray | None]:
    """Temperatures (if `calibrate`) and then thresholds, both fitted on dev only; returns them and the calibrated dev
    probabilities. Without dev rows: T = 1 and threshold 0.5 for every label, and no probabilities."""
    if dev_logits is None or len(dev_logits) == 0:
        return Decisions.default(n_labels), None
    temps = [float(t) for t in fit_temperature(dev_logits, y_dev)] if calibrate else [1.0] * n_labels
    dev_prob = apply_temperature(dev_logits, temps)
    grid = tuple(float(g) for g in grid)
    return Decisions(temps, tune_thresholds(y_dev, dev_prob, grid), "dev", grid), dev_prob


def apply_temperature(logits: np.ndarray, temps: Sequence[float]) -> np.ndarray:
    """sigmoid(logit / T) per label (column j uses temps[j])."""
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(temps, dtype=np.float64)
    if z.ndim != 2 or t.shape != (z.shape[1],):
        raise ValueError(f"apply_temperature: logits {z.shape} need one temperature per column, got {t.shape}")
    if (t <= 0).any():
        raise ValueError(f"apply_temperature: temperatures must be > 0, got {t.tolist()}")
    # scipy's expit avoids the overflow warning of 1 / (1 + exp(-x)) for large negative x.
    return expit(z / t)


def fit_temperature(logits: np.ndarray, y_true: np.ndarray, bounds: tuple[float, float] = (0.05, 20.0)) -> list[float]:
    """One temperature per label minimising masked BCE on (dev) data (Guo et al. 2017, per label).

    Searched in log T over `bounds` (bounded scalar minimisation), so T stays positive and sane; cells with y = -1
    are ignored. A label with fewer than 2 annotated rows or a single class keeps T = 1.0 (nothing to fit).
    """
    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    if logits.ndim != 2 or logits.shape != y_true.shape:
        raise ValueError(f"fit_temperature: logits {logits.shape} and y_true {y_true.shape} must both be [N, L]")
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


def tune_thresholds(y_true: np.ndarray, y_prob: np.ndarray, grid: Sequence[float], default: float = 0.5) -> list[float]:
    """Per label, the grid threshold with the best F1 on annotated rows (ties: the one closest to 0.5).

    Labels with no positive (or no annotated) rows keep `default`.
    """
    thresholds = []
    for j in range(y_true.shape[1]):
        mask = y_true[:, j] >= 0
        truth = y_true[mask, j] >= 0.5
        prob = y_prob[mask, j]
        if truth.sum() == 0:
            thresholds.append(float(default))
            continue
        best, best_f1 = default, -1.0
        for t in grid:
            pred = prob >= t
            tp = float((pred & truth).sum())
            fp = float((pred & ~truth).sum())
            fn = float((~pred & truth).sum())
            f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
            if f1 > best_f1 + 1e-12 or (abs(f1 - best_f1) <= 1e-12 and abs(t - 0.5) < abs(best - 0.5)):
                best, best_f1 = float(t), f1
        thresholds.append(best)
    return thresholds


def macro_f1_at(y_true: np.ndarray, y_prob: np.ndarray, thresholds: Sequence[float]) -> float:
    """Macro F1 over labels with at least one annotated positive (used for early stopping)."""
    f1s = []
    for j, t in enumerate(thresholds):
        mask = y_true[:, j] >= 0
        truth = y_true[mask, j] >= 0.5
        if truth.sum() == 0:
            continue
        pred = y_prob[mask, j] >= t
        tp = float((pred & truth).sum())
        denom = 2 * tp + float((pred & ~truth).sum()) + float((~pred & truth).sum())
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Plain sigmoid (no temperature), without the overflow warning of 1 / (1 + exp(-x))."""
    return expit(np.asarray(x, dtype=np.float64))
