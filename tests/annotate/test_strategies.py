"""Selection strategies: uncertainty, k-center diversity, their combination, random; stratified and deterministic."""

import numpy as np
import pytest

from tfgbv.annotate.strategies import k_center_order, margins, select, stratum_keys, uncertainty_order

LABELS = ("insult", "shaming", "threat", "doxxing")
T = [0.5, 0.4, 0.3, 0.5]


def test_uncertainty_puts_rows_on_a_threshold_first():
    prob = np.array([[0.9, 0.1, 0.0, 0.0], [0.52, 0.0, 0.0, 0.0], [0.0, 0.0, 0.31, 0.0], [0.7, 0.7, 0.7, 0.7]])
    assert margins(prob, T).round(2).tolist() == [0.3, 0.02, 0.01, 0.2]
    assert uncertainty_order(prob, T).tolist() == [2, 1, 3, 0]


def test_k_center_never_takes_a_copy_while_a_different_row_is_left():
    viral = np.tile([1.0, 0.0, 0.0], (20, 1))  # 20 copies of one comment
    others = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.7, 0.7, 0.0]])
    order = k_center_order(np.vstack([viral, others]), 4, first=0)
    assert sorted(order.tolist()) == [0, 20, 21, 22]


def test_uncertainty_diversity_keeps_uncertain_rows_but_skips_their_duplicates():
    rng = np.random.default_rng(0)
    prob = rng.random((200, 4))
    prob[:30] = [0.5, 0.0, 0.0, 0.0]  # 30 copies of one borderline comment: the most uncertain rows
    emb = rng.normal(size=(200, 8))
    emb[:30] = emb[0]
    sel = select(prob, T, LABELS, ["ru"] * 200, 10, "uncertainty_diversity", emb, seed=1, stratify=False)
    assert sum(i < 30 for i in sel.indices) == 1 and sel.indices[0] < 30
    assert len(set(sel.indices)) == 10
    plain = select(prob, T, LABELS, ["ru"] * 200, 10, "uncertainty", seed=1, stratify=False)
    assert all(i < 30 for i in plain.indices)  # what diversity is for


def test_strata_are_taken_in_turn_so_a_rare_language_gets_its_share():
    rng = np.random.default_rng(2)
    prob = rng.random((100, 4)) * 0.2
    langs = ["ru"] * 95 + ["tg"] * 5
    sel = select(prob, T, LABELS, langs, 10, "uncertainty", seed=0)
    assert sum(langs[i] == "tg" for i in sel.indices) == 5
    assert set(sel.strata) == {"ru/none", "tg/none"}


def test_selection_is_deterministic_for_a_seed_and_random_differs_by_seed():
    rng = np.random.default_rng(3)
    prob, emb = rng.random((300, 4)), rng.normal(size=(300, 16))
    langs = rng.choice(["ru", "tg"], 300).tolist()
    for strategy in ("uncertainty", "diversity", "uncertainty_diversity", "random"):
        a = select(prob, T, LABELS, langs, 25, strategy, emb, seed=7)
        assert a == select(prob, T, LABELS, langs, 25, strategy, emb, seed=7) and len(set(a.indices)) == 25
    assert select(prob, T, LABELS, langs, 25, "random", seed=1) != select(prob, T, LABELS, langs, 25, "random", seed=2)


def test_stratum_is_the_highest_label_over_its_threshold():
    prob = np.array([[0.6, 0.9, 0.0, 0.0], [0.1, 0.1, 0.1, 0.1]])
    assert stratum_keys(["tg", "ru"], prob, T, LABELS) == ["tg/shaming", "ru/none"]


def test_unknown_strategy_and_missing_embeddings_are_errors():
    prob = np.zeros((3, 4))
    with pytest.raises(ValueError, match="unknown strategy"):
        select(prob, T, LABELS, ["ru"] * 3, 2, "smart")
    with pytest.raises(ValueError, match="needs embeddings"):
        select(prob, T, LABELS, ["ru"] * 3, 2, "diversity")
