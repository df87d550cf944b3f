"""Per-label ROC-AUC over annotated rows (local evaluate module); None where only one class is present."""

import datasets
import numpy as np

import evaluate
from tfgbv.metrics.masked import classification_report, default_labels


class RocAucMasked(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Per-label ROC-AUC (scikit-learn) over rows whose reference is not -1.",
            citation="Pedregosa et al. 2011, Scikit-learn: Machine Learning in Python, JMLR 12 "
            "(sklearn.metrics.roc_auc_score)",
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
        return {f"{lab}_roc_auc": rep["labels"][lab]["roc_auc"] for lab in labels}
