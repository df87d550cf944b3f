"""Expected calibration error of binary probabilities (local evaluate module)."""

import datasets
import numpy as np

import evaluate
from tfgbv.metrics.masked import expected_calibration_error

_CITATION = """\
@inproceedings{naeini2015obtaining, title={Obtaining well calibrated probabilities using Bayesian binning},
author={Naeini, Mahdi Pakdaman and Cooper, Gregory and Hauskrecht, Milos}, booktitle={AAAI}, year={2015}}"""


class CalibrationError(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="ECE with equal-width bins: sum over bins of (count/N)·|positive rate − mean probability|.",
            citation=_CITATION,
            inputs_description="predictions: probabilities; references: 1/0 (-1 rows are ignored); "
            "n_bins: number of equal-width bins (default 10).",
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
        )

    def _compute(self, predictions, references, n_bins=10):
        # The helper drops -1 (not annotated) rows itself; ece is None when no annotated row is left.
        return {
            "ece": expected_calibration_error(
                np.asarray(references, dtype=float), np.asarray(predictions, dtype=float), n_bins
            )
        }
