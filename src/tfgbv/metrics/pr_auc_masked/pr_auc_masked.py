"""Per-label PR-AUC (average precision) over annotated rows (local evaluate module)."""

import datasets
import numpy as np

import evaluate
from tfgbv.metrics.masked import classification_report, default_labels


class PrAucMasked(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Per-label average precision (scikit-learn) over rows whose reference is not -1.",
            citation="Pedregosa et al. 2011, Scikit-learn: Machine Learning in Python, JMLR 12 "
            "(sklearn.metrics.average_precision_score)",
            inputs_description="predictions: per-row probabilities; references: per-row 1/0/-1; labels: names "
            "(default tfgbv.labels.LABELS for 4 columns). Returns None where only one class is present.",
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float64")),
                    "references": datasets.Sequence(datasets.Value("float64")),
                }
            ),
        )

    def _compute(self, predictions, references, labels=None):
        p, y = np.asarray(predictions, dtype=float), np.asarray(references, dtype=float)
        labels = list(labels) if labels is not None else default_labels(p.shape[1])
        rep = classification_report(y, p, [0.5] * len(labels), labels)
        return {f"{lab}_pr_auc": rep["labels"][lab]["pr_auc"] for lab in labels}
