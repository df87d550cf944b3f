"""Unintended-bias AUCs for one subgroup: subgroup, BPSN and BNSP AUC (local evaluate module)."""

import datasets
import numpy as np

import evaluate
from tfgbv.metrics.masked import bias_aucs

_CITATION = """\
@inproceedings{borkan2019nuanced, title={Nuanced Metrics for Measuring Unintended Bias with Real Data for Text
Classification}, author={Borkan, Daniel and Dixon, Lucas and Sorensen, Jeffrey and Thain, Nithum and Vasserman, Lucy},
booktitle={Companion Proceedings of The 2019 World Wide Web Conference}, year={2019}}"""


class BiasAuc(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Subgroup AUC, BPSN AUC (background positive, subgroup negative) and BNSP AUC (background "
            "negative, subgroup positive) for a binary label.",
            citation=_CITATION,
            inputs_description="predictions: probabilities; references: 1/0 (-1 rows are ignored); "
            "subgroup: booleans per row (in the subgroup or not). Each AUC is None when its set has one class.",
            features=datasets.Features(
                {
                    "predictions": datasets.Value("float64"),
                    "references": datasets.Value("int32"),
                    "subgroup": datasets.Value("bool"),
                }
            ),
        )

    def _compute(self, predictions, references, subgroup):
        return bias_aucs(np.asarray(references), np.asarray(predictions), np.asarray(subgroup, dtype=bool))
