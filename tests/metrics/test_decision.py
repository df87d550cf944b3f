"""From logits to decisions, without training a model: temperatures and thresholds are fitted on dev only."""

import numpy as np

from tfgbv.metrics.decision import THRESHOLD_GRID, Decisions, apply_temperature, fit_decisions, sigmoid


def _dev(seed=0, n=400):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.3).astype(float)
    logits = np.where(y > 0, 8.0, -8.0) + rng.normal(0, 1.0, (n, 2))
    y = np.where(rng.random((n, 2)) < 0.15, 1 - y, y)  # 15% of labels disagree with a confident score: T > 1
    y[:50, 1] = -1  # not annotated: must not count
    return logits, y


def test_without_dev_rows_every_label_keeps_t1_and_threshold_half():
    decisions, prob = fit_decisions(None, np.zeros((0, 4)), 4)
    assert decisions == Decisions.default(4) and prob is None and decisions.tuned_on == "default 0.5"


def test_temperatures_and_thresholds_are_fitted_on_dev():
    logits, y = _dev()
    decisions, prob = fit_decisions(logits, y, 2)
    assert decisions.tuned_on == "dev" and all(t > 1.0 for t in decisions.temperatures)  # overconfident -> T > 1
    assert all(t in THRESHOLD_GRID for t in decisions.thresholds)
    np.testing.assert_allclose(prob, apply_temperature(logits, decisions.temperatures))


def test_calibrate_false_keeps_t1_but_still_tunes_thresholds():
    logits, y = _dev(1)
    decisions, prob = fit_decisions(logits, y, 2, calibrate=False)
    assert decisions.temperatures == [1.0, 1.0]
    np.testing.assert_allclose(prob, sigmoid(logits))


def test_missing_cells_do_not_move_the_fit():
    logits, y = _dev(2)
    masked = y.copy()
    masked[:50, 1] = -1
    flipped = masked.copy()
    flipped_logits = logits.copy()
    flipped_logits[:50, 1] = -flipped_logits[:50, 1]  # scores of unannotated rows are irrelevant
    a, _ = fit_decisions(logits, masked, 2)
    b, _ = fit_decisions(flipped_logits, flipped, 2)
    assert a == b


def test_sigmoid_does_not_overflow():
    assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
