"""Annotation tooling for items with several annotators' votes: agreement, majority and soft labels.

`annotator_votes` on a record is {label: [vote, vote, ...]} with votes 1 / 0 (None = that annotator abstained).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tfgbv.labels import LABELS


def vote_matrix(records: Sequence[Mapping[str, Any]], label: str) -> np.ndarray:
    """[annotators, items] reliability matrix with NaN where an annotator gave no vote."""
    votes = [list((r.get("annotator_votes") or {}).get(label) or []) for r in records]
    width = max((len(v) for v in votes), default=0)
    out = np.full((width, len(records)), np.nan)
    for j, v in enumerate(votes):
        for a, x in enumerate(v):
            if x is not None:
                out[a, j] = float(x)
    return out


def nominal_alpha(reliability: np.ndarray) -> float | None:
    """Krippendorff's alpha for nominal data from an [annotators, items] matrix (NaN = no vote); None if undefined.

    Computed from the coincidence matrix (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability"): each unit
    with m >= 2 votes adds n_c * n_k / (m - 1) to o[c, k] (n_c (n_c - 1) / (m - 1) on the diagonal); then
    alpha = 1 - (n - 1) * sum_{c != k} o[c, k] / sum_{c != k} n_c * n_k. Own code rather than the GPL-3
    `krippendorff` package, kept out of the dependencies of this MIT-licensed package.
    """
    m = np.asarray(reliability, dtype=float)
    if m.ndim != 2 or m.size == 0:
        return None
    values = np.unique(m[~np.isnan(m)])
    if len(values) < 2:
        return None
    counts = np.stack([(m == v).sum(axis=0) for v in values], axis=1).astype(float)  # [items, values]
    counts = counts[counts.sum(axis=1) >= 2]  # a unit with a single vote has nothing to agree with
    if not len(counts):
        return None
    weighted = counts / (counts.sum(axis=1, keepdims=True) - 1)
    coincidence = weighted.T @ counts - np.diag(weighted.sum(axis=0))  # a vote is not paired with itself
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    disagree_observed = coincidence.sum() - np.trace(coincidence)
    disagree_expected = n**2 - (n_c**2).sum()
    if disagree_expected == 0:
        return None
    return float(1.0 - (n - 1) * disagree_observed / disagree_expected)


def krippendorff_alpha(records: Sequence[Mapping[str, Any]], labels: Sequence[str] = LABELS) -> dict[str, float | None]:
    """Per-label Krippendorff's alpha (nominal, see `nominal_alpha`); None when undefined (fewer than two values)."""
    return {lab: nominal_alpha(vote_matrix(records, lab)) for lab in labels}


def aggregate_votes(votes: Sequence[float | None], mode: str) -> float | None:
    """majority: 1/0 (ties -> 1: better to send a borderline item to review than lose it); soft: mean vote."""
    vals = [float(v) for v in votes if v is not None]
    if not vals:
        return None
    mean = sum(vals) / len(vals)
    if mode == "soft":
        return mean
    if mode == "majority":
        return 1.0 if mean >= 0.5 else 0.0
    raise ValueError(f"label_mode must be gold, majority or soft, got {mode!r}")


def apply_votes(record: dict[str, Any], mode: str) -> dict[str, Any]:
    """Replace label values by majority or soft labels where the record carries votes for that label."""
    votes = record.get("annotator_votes") or {}
    for lab in LABELS:
        if lab in votes:
            value = aggregate_votes(votes[lab], mode)
            if value is not None:
                record[lab] = value
    return record
