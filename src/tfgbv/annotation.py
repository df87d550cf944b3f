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


def krippendorff_alpha(records: Sequence[Mapping[str, Any]], labels: Sequence[str] = LABELS) -> dict[str, float | None]:
    """Per-label Krippendorff's alpha (nominal), via the `krippendorff` package; None when undefined."""
    import krippendorff

    out: dict[str, float | None] = {}
    for lab in labels:
        m = vote_matrix(records, lab)
        usable = (~np.isnan(m)).sum(axis=0) >= 2
        if m.size == 0 or usable.sum() == 0 or len(np.unique(m[:, usable][~np.isnan(m[:, usable])])) < 2:
            out[lab] = None
            continue
        out[lab] = float(krippendorff.alpha(reliability_data=m[:, usable], level_of_measurement="nominal"))
    return out


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
