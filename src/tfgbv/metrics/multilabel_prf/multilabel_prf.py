"""Masked multi-label precision / recall / F1 per label plus micro and macro averages (local evaluate module)."""

import datasets
import evaluate
import numpy as np

from tfgbv.metrics import classification_report

_DESCRIPTION = "Per-label precision, recall and F1 at given thresholds; references of -1 (not annotated) are ignored."
_KWARGS = """
predictions: per-row lists of probabilities, one per label.
references: per-row lists of 1 / 0 / -1 (missing).
thresholds: one decision threshold per label (default 0.5).
labels: label names (default label_0..).
"""


class MultilabelPrf(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Sequence(datasets.Value("float64")),
                                        "references": datasets.Sequence(datasets.Value("float64"))}))

    def _compute(self, predictions, references, thresholds=None, labels=None):
        p, y = np.asarray(predictions, dtype=float), np.asarray(references, dtype=float)
        labels = labels or [f"label_{j}" for j in range(p.shape[1])]
        thresholds = thresholds or [0.5] * p.shape[1]
        rep = classification_report(y, p, thresholds, labels)
        out = {f"{lab}_{m}": rep["labels"][lab][m] for lab in labels for m in ("precision", "recall", "f1")}
        out.update({k: rep["overall"][k] for k in ("micro_precision", "micro_recall", "micro_f1", "macro_f1")})
        return out
