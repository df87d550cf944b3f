"""The torch scoring path: token-budget batches, bf16 weights cast once, torch.compile — same answers, any batching."""

import numpy as np
import pytest
import torch

from tfgbv.predict.transformer import Classifier, length_batches

TEXTS = ["ты дура", "салом дӯстон", "Позор семьи, где её братья?", "x", "Шабона ба хонаат меоем " * 12] * 7


def test_length_batches_cover_every_window_once_within_both_budgets():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 129, 500)
    batches = length_batches(lengths, max_rows=64, max_tokens=1024)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    for b in batches:
        assert len(b) <= 64 and (len(b) == 1 or len(b) * lengths[b].max() <= 1024)
    assert np.all(np.diff(lengths[flat]) >= 0)  # length-sorted: little padding


def test_a_window_longer_than_the_token_budget_gets_a_batch_of_its_own():
    assert [b.tolist() for b in length_batches([5, 300, 6], max_rows=8, max_tokens=100)] == [[0, 2], [1]]


def test_rows_only_batching_when_no_token_budget():
    assert [len(b) for b in length_batches([3] * 10, max_rows=4)] == [4, 4, 2]


def test_token_batches_give_the_same_scores_as_row_batches(tiny_run):
    rows = Classifier.from_pretrained(tiny_run, batch_size=3, batch_tokens=None).predict_proba(TEXTS)
    tokens = Classifier.from_pretrained(tiny_run, batch_size=256, batch_tokens=64).predict_proba(TEXTS)
    np.testing.assert_allclose(tokens, rows, atol=1e-5)


def test_bf16_weights_are_cast_once_and_agree_with_fp32(tiny_run):
    fp32 = Classifier.from_pretrained(tiny_run, bf16=False)
    bf16 = Classifier.from_pretrained(tiny_run, bf16=True)
    assert {p.dtype for p in bf16.model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in fp32.model.parameters()} == {torch.float32}
    a, b = fp32.predict_proba(TEXTS), bf16.predict_proba(TEXTS)
    assert np.abs(a - b).max() < 0.02
    assert bf16.model_id == fp32.model_id and (bf16.precision, fp32.precision) == ("bf16", "fp32")


@pytest.mark.slow
def test_compiled_model_scores_like_the_eager_one(tiny_run):
    eager = Classifier.from_pretrained(tiny_run).predict_proba(TEXTS)
    clf = Classifier.from_pretrained(tiny_run, compile=True)
    assert clf.compiled
    np.testing.assert_allclose(clf.predict_proba(TEXTS), eager, atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(TEXTS[:3]), eager[:3], atol=1e-5)  # another batch shape


@pytest.mark.slow
def test_int8_classifier_is_calibrated_compiled_and_agrees_with_fp32(tiny_run):
    fp32 = Classifier.from_pretrained(tiny_run)
    int8 = Classifier.from_pretrained(tiny_run, int8=True, calibration_texts=TEXTS[:20], bf16=True)
    assert int8.int8 and int8.compiled and not int8.bf16  # int8 quantises the fp32 weights
    assert int8.model_id == fp32.model_id and int8.precision == "int8"  # one model, computed another way
    a, b = fp32.predict_proba(TEXTS), int8.predict_proba(TEXTS)
    # Scores, not decisions: the tiny model's scores all sit within 0.01 of its thresholds, so which side of a
    # threshold int8 lands on is a coin toss here (agreement swung 0.90-1.00 between sessions). Decision agreement
    # with fp32 is measured on a trained model by `make bench` (min_agreement, docs/bench.md).
    assert np.abs(a - b).max() < 0.05 and np.abs(a - b).mean() < 0.01
    np.testing.assert_allclose(int8.predict_proba(TEXTS[:3]), b[:3], atol=1e-3)  # another batch shape, same scores


def test_int8_without_calibration_texts_is_refused(tiny_run):
    with pytest.raises(ValueError, match="calibration texts"):
        Classifier.from_pretrained(tiny_run, int8=True, calibration_texts=[])
