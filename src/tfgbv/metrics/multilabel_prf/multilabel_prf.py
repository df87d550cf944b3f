"""Masked multi-label precision / recall / F1 per label plus micro and macro averages (local evaluate module)."""

import datasets
import numpy as np

import evaluate
from tfgbv.metrics.masked import classification_report, default_labels

_DESCRIPTION = "Per-label precision, recall and F1 at given thresholds; references of -1 (not annotated) are ignored."
_CITATION = """\
@article{pedregosa2011scikit, title={Scikit-learn: Machine Learning in Python}, author={Pedregosa, F. and others},
journal={JMLR}, volume={12}, pages={2825--2830}, year={2011}} (same definitions as \
sklearn.metrics.precision_recall_fscore_support)"""
_KWARGS = """
predictions: per-row lists of probabilities, one per label.
references: per-row lists of 1 / 0 / -1 (missing).
thresholds: one decision threshold per label (default 0.5).
labels: label names (default tfgbv.labels.LABELS when there are 4 columns, else label_0..).
Returns <label>_precision/_recall/_f1 per label and micro/macro precision, recall, F1; None where undefined.
"""


class MultilabelPrf(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float64")),
                    "references": datasets.Sequence(datasets.Value("float64")),
                }
            ),
        )

    def _compute(self, predictions, references, thresholds=None, labels=None):
        p, y = np.asarray(predictions, dtype=float), np.asarray(references, dtype=float)
        labels = list(labels) if labels is not None else default_labels(p.shape[1])
        thresholds = list(thresholds) if thresholds is not None else [0.5] * p.shape[1]
        rep = classification_report(y, p, thresholds, labels)
        out = {f"{lab}_{m}": rep["labels"][lab][m] for lab in labels for m in ("precision", "recall", "f1")}
        out.update(
            {
                k: rep["overall"][k]
                for k in ("micro_precision", "micro_recall", "micro_f1", "macro_precision", "macro_recall", "macro_f1")
            }
        )
        return out
