"""Metrics: hand-worked cases, agreement with scikit-learn, -1 masking, undefined cases, bootstrap, temperature, bias
AUCs.

Offline and fast: the evaluate modules are loaded from src/tfgbv/metrics/<name>/ by path (conftest sets
HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from tfgbv.labels import LABELS
from tfgbv.metrics.decision import apply_temperature, fit_temperature
from tfgbv.metrics.masked import (
    MODULES,
    bias_aucs,
    bootstrap_ci,
    classification_report,
    expected_calibration_error,
    final_bias_score,
    generalized_mean,
    load_metric,
    proportion_ci,
    reliability_bins,
)

# A small 2-label case worked by hand (threshold 0.5); -1 cells carry predictions that would change every number if
# they were counted as negatives.
Y = np.array([[1, 0], [0, 1], [1, -1], [0, 0], [-1, 1]], dtype=float)
P = np.array([[0.9, 0.6], [0.7, 0.8], [0.2, 0.9], [0.1, 0.3], [0.8, 0.6]])
# label 0, rows 0-3 (row 4 masked): truth 1 0 1 0, pred 1 1 0 0 -> tp=1 (r0), fp=1 (r1), fn=1 (r2)
#   P = 1/2, R = 1/2, F1 = 2*1/(2+1+1) = 0.5; support 2, n 4
#   ROC-AUC: positives {.9,.2} vs negatives {.7,.1}: .9>.7 .9>.1 .2<.7 .2>.1 -> 3/4 = 0.75
#   AP: ranked .9(+) .7(-) .2(+) .1(-): recall steps 0.5 at precision 1, 0.5 at precision 2/3 -> 0.5 + 1/3 = 5/6
# label 1, rows 0,1,3,4 (row 2 masked): truth 0 1 0 1, pred 1 1 0 1 -> tp=2 (r1, r4), fp=1 (r0), fn=0
#   P = 2/3, R = 1, F1 = 2*2/(4+1+0) = 0.8; support 2, n 4
#   ROC-AUC: positives {.8,.6} vs negatives {.6,.3}: .8>.6 .8>.3 .6=.6 (half) .6>.3 -> 3.5/4 = 0.875
#   AP: .8(+) -> P=1, R=.5; .6 tie (+,-) -> P=2/3, R=1 -> 0.5 + 1/3 = 5/6
# micro over annotated cells: tp=3, fp=2, fn=1 -> P = 3/5, R = 3/4, F1 = 6/(6+2+1) = 2/3
# macro: P = (1/2 + 2/3)/2 = 7/12, R = (1/2 + 1)/2 = 3/4, F1 = (0.5 + 0.8)/2 = 0.65
HAND = {
    "a": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "roc_auc": 0.75, "pr_auc": 5 / 6, "support": 2, "n": 4},
    "b": {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "roc_auc": 0.875, "pr_auc": 5 / 6, "support": 2, "n": 4},
}
HAND_OVERALL = {
    "micro_precision": 0.6,
    "micro_recall": 0.75,
    "micro_f1": 2 / 3,
    "macro_precision": 7 / 12,
    "macro_recall": 0.75,
    "macro_f1": 0.65,
}


def _random_masked(n: int = 300, n_labels: int = 4, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Labels correlated with probabilities, ~20% of cells missing (-1)."""
    rng = np.random.default_rng(seed)
    prob = rng.random((n, n_labels))
    y = (rng.random((n, n_labels)) < prob).astype(float)
    y[rng.random((n, n_labels)) < 0.2] = -1
    return y, prob


# ----------------------------------------------------------------------------- classification_report


def test_report_hand_worked():
    rep = classification_report(Y, P, [0.5, 0.5], ["a", "b"])
    for lab, expected in HAND.items():
        for key, value in expected.items():
            assert rep["labels"][lab][key] == pytest.approx(value), (lab, key)
    for key, value in HAND_OVERALL.items():
        assert rep["overall"][key] == pytest.approx(value), key
    assert rep["overall"]["annotated_cells"] == 8 and rep["overall"]["reasons"] == {}


def test_report_matches_sklearn_on_masked_cells():
    y, prob = _random_masked()
    thr = [0.3, 0.5, 0.6, 0.4]
    rep = classification_report(y, prob, thr, list(LABELS))
    truth_cells, pred_cells = [], []
    for j, lab in enumerate(LABELS):
        m = y[:, j] >= 0
        pred = (prob[m, j] >= thr[j]).astype(int)
        p, r, f, _ = precision_recall_fscore_support(y[m, j], pred, average="binary")
        got = rep["labels"][lab]
        assert (got["precision"], got["recall"], got["f1"]) == pytest.approx((p, r, f))
        assert got["roc_auc"] == pytest.approx(roc_auc_score(y[m, j], prob[m, j]))
        assert got["pr_auc"] == pytest.approx(average_precision_score(y[m, j], prob[m, j]))
        assert got["n"] == m.sum() and got["support"] == y[m, j].sum()
        truth_cells.append(y[m, j])
        pred_cells.append(pred)
    # micro = binary P/R/F1 over every annotated cell pooled
    p, r, f, _ = precision_recall_fscore_support(
        np.concatenate(truth_cells), np.concatenate(pred_cells), average="binary"
    )
    assert (
        rep["overall"]["micro_precision"],
        rep["overall"]["micro_recall"],
        rep["overall"]["micro_f1"],
    ) == pytest.approx((p, r, f))
    assert rep["overall"]["macro_f1"] == pytest.approx(np.mean([rep["labels"][lab]["f1"] for lab in LABELS]))


def test_missing_is_not_negative():
    """Turning the -1 cells into 0 must change the numbers (the masked rows carry positive predictions)."""
    as_zero = np.where(Y < 0, 0, Y)
    masked = classification_report(Y, P, [0.5, 0.5], ["a", "b"])
    zeroed = classification_report(as_zero, P, [0.5, 0.5], ["a", "b"])
    assert masked["labels"]["a"]["precision"] == pytest.approx(0.5)
    assert zeroed["labels"]["a"]["precision"] == pytest.approx(1 / 3)  # r4 would become a false positive


def test_undefined_values_are_none_with_reason():
    y = np.array([[1, -1, 0], [1, -1, 0], [1, -1, 0]], dtype=float)
    prob = np.array([[0.9, 0.9, 0.1], [0.8, 0.1, 0.2], [0.2, 0.5, 0.3]])
    rep = classification_report(y, prob, [0.5] * 3, ["only_pos", "unannotated", "only_neg"])
    only_pos, unannotated, only_neg = (rep["labels"][k] for k in ("only_pos", "unannotated", "only_neg"))
    assert only_pos["f1"] == pytest.approx(0.8) and only_pos["roc_auc"] is None and only_pos["pr_auc"] is None
    assert "one class" in only_pos["reasons"]["roc_auc"]
    assert all(unannotated[k] is None for k in ("precision", "recall", "f1", "roc_auc", "pr_auc"))
    assert unannotated["n"] == 0 and "not annotated" in unannotated["reasons"]["f1"]
    # no positives and no positive predictions: nothing to divide by
    assert only_neg["precision"] is None and only_neg["recall"] is None and only_neg["f1"] is None
    assert set(only_neg["reasons"]) >= {"precision", "recall", "f1", "roc_auc"}
    assert rep["overall"]["labels_in_macro"] == ["only_pos"]
    for value in (v for e in rep["labels"].values() for v in e.values() if isinstance(v, float)):
        assert not np.isnan(value)
    empty = classification_report(np.full((2, 1), -1.0), np.full((2, 1), 0.7), [0.5], ["x"])
    assert empty["overall"]["micro_f1"] is None and empty["overall"]["macro_f1"] is None
    assert set(empty["overall"]["reasons"]) == {
        "micro_precision",
        "micro_recall",
        "micro_f1",
        "macro_precision",
        "macro_recall",
        "macro_f1",
    }


def test_report_shape_errors_are_clear():
    with pytest.raises(ValueError, match="classification_report"):
        classification_report(Y, P[:, :1], [0.5, 0.5], ["a", "b"])
    with pytest.raises(ValueError, match="thresholds"):
        classification_report(Y, P, [0.5], ["a", "b"])


# ----------------------------------------------------------------------------- evaluate modules


@pytest.fixture(scope="module")
def modules():
    return {name: load_metric(name) for name in MODULES}


def test_modules_load_offline_by_path(modules):
    import evaluate

    for name, module in modules.items():
        assert isinstance(module, evaluate.Metric), name
        assert module.description and module.citation, f"{name}: _info needs a description and a citation"
    assert load_metric("roc_auc_masked") is modules["roc_auc_masked"]  # cached
    with pytest.raises(ValueError, match="unknown metric"):
        load_metric("f1")


def test_module_prf_hand_worked(modules):
    out = modules["multilabel_prf"].compute(predictions=P.tolist(), references=Y.tolist(), labels=["a", "b"])
    for lab in ("a", "b"):
        for key in ("precision", "recall", "f1"):
            assert out[f"{lab}_{key}"] == pytest.approx(HAND[lab][key])
    for key, value in HAND_OVERALL.items():
        assert out[key] == pytest.approx(value)


def test_module_prf_default_labels_and_thresholds(modules):
    y, prob = _random_masked(n=60)
    out = modules["multilabel_prf"].compute(predictions=prob.tolist(), references=y.tolist(), thresholds=[0.4] * 4)
    rep = classification_report(y, prob, [0.4] * 4, list(LABELS))
    assert out[f"{LABELS[0]}_f1"] == pytest.approx(rep["labels"][LABELS[0]]["f1"])
    assert out["micro_f1"] == pytest.approx(rep["overall"]["micro_f1"])


def test_module_aucs_hand_worked_and_undefined(modules):
    roc = modules["roc_auc_masked"].compute(predictions=P.tolist(), references=Y.tolist(), labels=["a", "b"])
    pr = modules["pr_auc_masked"].compute(predictions=P.tolist(), references=Y.tolist(), labels=["a", "b"])
    assert roc == pytest.approx({"a_roc_auc": 0.75, "b_roc_auc": 0.875})
    assert pr == pytest.approx({"a_pr_auc": 5 / 6, "b_pr_auc": 5 / 6})
    one_class = modules["roc_auc_masked"].compute(predictions=[[0.2], [0.9]], references=[[1], [-1]], labels=["x"])
    assert one_class == {"x_roc_auc": None}


# ----------------------------------------------------------------------------- calibration

# n_bins=2: [0, .5) and [.5, 1]; the -1 row (p=.7) is dropped.
# bin 0: p .1 .3 .4 (mean 4/15), y 0 0 1 (rate 1/3): |1/3 - 4/15| = 1/15, weight 3/5 -> 0.04
# bin 1: p .8 .9 (mean .85), y 1 1 (rate 1): .15, weight 2/5 -> 0.06          ECE = 0.10
CAL_P = [0.1, 0.3, 0.4, 0.8, 0.9, 0.7]
CAL_Y = [0, 0, 1, 1, 1, -1]


def test_ece_hand_worked(modules):
    assert expected_calibration_error(CAL_Y, CAL_P, n_bins=2) == pytest.approx(0.10)
    out = modules["calibration_error"].compute(predictions=CAL_P, references=CAL_Y, n_bins=2)
    assert out["ece"] == pytest.approx(0.10)
    bins = reliability_bins(CAL_Y, CAL_P, n_bins=2)
    assert [b["count"] for b in bins] == [3, 2]
    assert bins[0]["confidence"] == pytest.approx(4 / 15) and bins[0]["accuracy"] == pytest.approx(1 / 3)
    assert (bins[1]["low"], bins[1]["high"]) == (0.5, 1.0)
    assert expected_calibration_error([-1, -1], [0.2, 0.3]) is None
    assert expected_calibration_error([1, 0], [1.0, 0.0]) == 0.0  # p = 1.0 lands in the top bin


def test_reliability_bins_match_sklearn_calibration_curve():
    rng = np.random.default_rng(3)
    p = rng.random(500)
    y = (rng.random(500) < p**2).astype(int)
    bins = [b for b in reliability_bins(y, p, n_bins=10) if b["count"]]
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    assert [b["accuracy"] for b in bins] == pytest.approx(prob_true.tolist())
    assert [b["confidence"] for b in bins] == pytest.approx(prob_pred.tolist())


def test_fit_temperature_recovers_known_temperatures():
    """Labels drawn from sigmoid(z); the model reports z * T_true, so the fitted T should be T_true."""
    rng = np.random.default_rng(0)
    n, true_t = 20000, np.array([2.0, 0.5, 1.0, 3.0])
    z = rng.normal(0, 2.5, (n, 4))
    y = (rng.random((n, 4)) < 1 / (1 + np.exp(-z))).astype(float)
    logits = z * true_t
    # Masked cells get labels contradicting huge logits: counted as data they would pull T far up.
    masked = rng.random((n, 4)) < 0.3
    y[masked] = -1
    logits[masked] = 50.0 * np.sign(rng.normal(size=masked.sum()))
    temps = fit_temperature(logits, y)
    assert temps == pytest.approx(true_t.tolist(), rel=0.05)
    calibrated = apply_temperature(logits, temps)
    keep = ~masked[:, 0]
    assert expected_calibration_error(y[keep, 0], calibrated[keep, 0]) < 0.02
    assert expected_calibration_error(y[keep, 0], apply_temperature(logits, [1.0] * 4)[keep, 0]) > 0.05


def test_fit_temperature_undefined_label_keeps_one_and_bounds_hold():
    logits = np.array([[3.0, 1.0], [-2.0, 2.0], [1.0, -1.0]])
    y = np.array([[1, -1], [0, -1], [1, -1]], dtype=float)  # label 1 not annotated
    temps = fit_temperature(logits, y, bounds=(0.05, 20.0))
    assert temps[1] == 1.0 and 0.05 <= temps[0] <= 20.0
    with pytest.raises(ValueError, match="apply_temperature"):
        apply_temperature(logits, [1.0])


# ----------------------------------------------------------------------------- bootstrap


def _auc_or_none(y: np.ndarray, p: np.ndarray) -> float | None:
    return None if len(np.unique(y)) < 2 else float(roc_auc_score(y, p))


def test_bootstrap_deterministic_and_contains_point_estimate():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    first = bootstrap_ci(_auc_or_none, y, p, n_resamples=200, seed=7)
    again = bootstrap_ci(_auc_or_none, y, p, n_resamples=200, seed=7)
    other = bootstrap_ci(_auc_or_none, y, p, n_resamples=200, seed=8)
    assert tuple(first) == tuple(again) and tuple(first) != tuple(other)
    low, high = first
    assert low < _auc_or_none(y, p) < high
    assert first.n_valid == 200 and first.n_skipped == 0


def test_bootstrap_skips_and_counts_undefined_resamples():
    # One positive in 30 rows: a resample misses it with probability (29/30)^30 ~ 0.36, and AUC is then undefined.
    y = np.zeros(30, dtype=int)
    y[0] = 1
    p = np.linspace(0, 1, 30)
    ci = bootstrap_ci(_auc_or_none, y, p, n_resamples=200, seed=0)
    assert ci.n_valid + ci.n_skipped == 200 and 40 < ci.n_skipped < 110
    assert ci[0] is not None
    never = bootstrap_ci(lambda a, b: None, y, p, n_resamples=50, seed=0)
    assert tuple(never) == (None, None) and never.n_skipped == 50


def test_bootstrap_over_rows_of_a_report():
    """Works with 2-D arrays and classification_report, resampling whole rows."""
    y, prob = _random_masked(n=80)

    def micro_f1(yy, pp):
        return classification_report(yy, pp, [0.5] * 4, list(LABELS))["overall"]["micro_f1"]

    low, high = bootstrap_ci(micro_f1, y, prob, n_resamples=50, seed=0)
    assert low <= micro_f1(y, prob) <= high


# ----------------------------------------------------------------------------- unintended bias

# Background (not subgroup): positives .6 .7 .8, negatives .1 .2 .3.
# Subgroup: positives .9 .95, negatives .85 .75 (its non-abusive comments score high), plus one -1 row at 0.0.
# subgroup AUC: {.9,.95} vs {.85,.75} -> 4/4 = 1.0
# BPSN: background positives {.6,.7,.8} vs subgroup negatives {.85,.75}: only .8 > .75 -> 1/6
#   (if the -1 row counted as a subgroup negative at 0.0 it would be 4/9)
# BNSP: subgroup positives {.9,.95} vs background negatives {.1,.2,.3} -> 6/6 = 1.0
BIAS_Y = [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, -1]
BIAS_P = [0.6, 0.7, 0.8, 0.1, 0.2, 0.3, 0.9, 0.95, 0.85, 0.75, 0.0]
BIAS_S = [False] * 6 + [True] * 5


def test_bias_aucs_hand_worked(modules):
    expected = {"subgroup_auc": 1.0, "bpsn_auc": 1 / 6, "bnsp_auc": 1.0}
    assert bias_aucs(BIAS_Y, BIAS_P, BIAS_S) == pytest.approx(expected)
    assert modules["bias_auc"].compute(predictions=BIAS_P, references=BIAS_Y, subgroup=BIAS_S) == pytest.approx(
        expected
    )


def test_bias_aucs_match_sklearn_and_undefined():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 120)
    p = rng.random(120)
    s = rng.random(120) < 0.3
    got = bias_aucs(y, p, s)
    bpsn = (s & (y == 0)) | (~s & (y == 1))
    bnsp = (s & (y == 1)) | (~s & (y == 0))
    assert got["subgroup_auc"] == pytest.approx(roc_auc_score(y[s], p[s]))
    assert got["bpsn_auc"] == pytest.approx(roc_auc_score(y[bpsn], p[bpsn]))
    assert got["bnsp_auc"] == pytest.approx(roc_auc_score(y[bnsp], p[bnsp]))
    # A subgroup with positives only: no subgroup negatives, so subgroup and BPSN AUCs are undefined.
    only_pos = bias_aucs([1, 1, 1, 0], [0.9, 0.8, 0.4, 0.5], [True, True, False, False])
    assert only_pos["subgroup_auc"] is None and only_pos["bpsn_auc"] is None
    assert only_pos["bnsp_auc"] == pytest.approx(1.0)  # {.9,.8} vs {.5}


def test_generalized_mean_and_final_score():
    # M_-5(.5, 1) = ((2^5 + 1) / 2)^(-1/5) = 16.5^(-0.2) = 0.570825...
    assert generalized_mean([0.5, 1.0], p=-5) == pytest.approx(16.5**-0.2)
    assert generalized_mean([0.5, 1.0], p=1) == pytest.approx(0.75)
    assert generalized_mean([0.7, 0.7, None]) == pytest.approx(0.7)
    assert generalized_mean([]) is None and generalized_mean([0.0, 0.9]) == 0.0
    table = {
        "a": {"subgroup_auc": 1.0, "bpsn_auc": 0.5, "bnsp_auc": 1.0},
        "b": {"subgroup_auc": 1.0, "bpsn_auc": 1.0, "bnsp_auc": 0.5},
    }
    # 0.25 * (0.9 + 1.0 + 0.570825 + 0.570825) = 0.760413
    assert final_bias_score(0.9, table) == pytest.approx(0.25 * (0.9 + 1.0 + 2 * 16.5**-0.2))
    assert final_bias_score(0.9, {"a": {"subgroup_auc": None, "bpsn_auc": None, "bnsp_auc": 1.0}}) is None
    with pytest.raises(ValueError, match="4 weights"):
        final_bias_score(0.9, table, weights=(0.5, 0.5))


def test_proportion_ci_is_the_wilson_interval():
    # 8 of 10: Wilson 95% = 0.4902..0.9433 (Wilson 1927; the normal approximation would give 0.552..1.048).
    low, high = proportion_ci(8, 10)
    assert low == pytest.approx(0.49016, abs=1e-4) and high == pytest.approx(0.94332, abs=1e-4)
    assert proportion_ci(0, 5)[0] == 0.0 and proportion_ci(5, 5)[1] == 1.0  # stays inside [0, 1]
    assert proportion_ci(0, 0) is None
    with pytest.raises(ValueError, match="successes"):
        proportion_ci(11, 10)


def test_functional_results_give_hard_negative_accuracy_with_its_interval():
    from tfgbv.report.evaluation import functional_results

    def case(i, hard, **labels):
        return {
            "id": f"F-x-ru-{i:04d}",
            "functionality": "counter" if hard else "insult_plain",
            "lang": "ru",
            "text": "текст",
            "hard_negative": hard,
            **{lab: labels.get(lab, 0) for lab in LABELS},
        }

    cases = [case(i, True) for i in range(4)] + [case(4, False, insult=1)]
    prob = np.zeros((5, len(LABELS)))
    prob[0, 0] = 0.9  # one hard negative flagged as insult
    prob[4, 0] = 0.9  # the insult is caught
    out = functional_results(cases, prob, [0.5] * len(LABELS))
    assert out["hard_negatives"] == 4 and out["hard_negative_accuracy"] == 0.75
    assert out["hard_negative_ci"] == pytest.approx(proportion_ci(3, 4))
    assert out["accuracy"] == 0.8 and out["accuracy_ci"] == pytest.approx(proportion_ci(4, 5))


def _case(i, lang, hard, **labels):
    return {
        "id": f"F-x-{lang}-{i:04d}",
        "functionality": "counter" if hard else "insult_plain",
        "lang": lang,
        "text": "Ту ҷалаб ҳастӣ" if lang == "tg" else "текст",
        "hard_negative": hard,
        **{lab: labels.get(lab, 0) for lab in LABELS},
    }


def test_functional_results_split_abusive_cases_from_hard_negatives_per_language():
    from tfgbv.report.evaluation import functional_results

    cases = [
        _case(0, "tg", False, insult=1),
        _case(1, "tg", False, insult=1),
        _case(2, "tg", True),
        _case(3, "ru", True),
    ]
    prob = np.zeros((4, len(LABELS)))
    prob[0, 0] = 0.9  # the first Tajik insult is caught, the second missed
    prob[3, 0] = 0.9  # the Russian hard negative is flagged
    by_language = functional_results(cases, prob, [0.5] * len(LABELS))["by_language"]
    assert by_language["tg"]["abusive"]["cases"] == 2 and by_language["tg"]["abusive"]["accuracy"] == 0.5
    assert by_language["tg"]["hard_negatives"]["accuracy"] == 1.0
    assert by_language["ru"] == {
        "hard_negatives": {"cases": 1, "passed": 0, "accuracy": 0.0, "ci": proportion_ci(0, 1)}
    }


def test_functional_results_count_abusive_cases_flagged_with_a_wrong_label_as_reaching_a_reviewer():
    from tfgbv.report.evaluation import functional_results

    cases = [_case(0, "tg", False, insult=1), _case(1, "tg", False, threat=1), _case(2, "tg", False, shaming=1)]
    prob = np.zeros((3, len(LABELS)))
    prob[0, 0] = 0.9  # right label
    prob[1, LABELS.index("insult")] = 0.9  # wrong label: not an exact match, but flagged all the same
    abusive = functional_results(cases, prob, [0.5] * len(LABELS))["by_language"]["tg"]["abusive"]
    assert (abusive["passed"], abusive["flagged"]) == (1, 2)
    assert abusive["flagged_rate"] == pytest.approx(2 / 3) and abusive["flagged_ci"] == pytest.approx(
        proportion_ci(2, 3)
    )


def test_keyboard_typed_functional_scores_tajik_cases_lower_case_without_tajik_letters():
    from tfgbv.report.evaluation import keyboard_typed_functional

    class Seen:
        def predict_proba(self, texts):
            self.texts = list(texts)
            return np.zeros((len(texts), len(LABELS)))  # typed that way, nothing is caught any more

    cases = [_case(0, "tg", False, insult=1), _case(1, "ru", False, insult=1)]
    prob = np.full((2, len(LABELS)), 0.0)
    prob[:, 0] = 0.9  # as written, both insults are caught
    clf = Seen()
    out = keyboard_typed_functional(clf, cases, prob, [0.5] * len(LABELS))
    assert clf.texts == ["ту чалаб хасти"]  # only the Tajik case, typed as on a Russian keyboard
    assert out["cases"] == 1 and out["labels_changed"] == 1 and out["by_language"]["tg"]["abusive"]["accuracy"] == 0.0
    assert [f["id"] for f in out["failures"]] == [cases[0]["id"]]  # kept for paired comparisons (tfgbv-compare)
    assert keyboard_typed_functional(clf, cases[1:], prob[1:], [0.5] * len(LABELS)) is None
