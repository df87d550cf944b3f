"""Per-source real-text metrics: flag rates, minimal-pair ranking, the headline targets and their seed spread."""

import numpy as np

from tfgbv.report.evaluation import (
    EvalSpec,
    flag_rates,
    pair_ranking,
    per_source_metrics,
)
from tfgbv.report.headline import headline_metrics, spread

Y = np.array([[1, -1, -1, -1], [0, -1, -1, -1], [0, -1, -1, -1], [0, 0, 0, 0], [0, 0, 0, 0]], float)
P = np.array(
    [[0.9, 0.1, 0.1, 0.1], [0.2, 0.1, 0.1, 0.1], [0.95, 0.1, 0.1, 0.1], [0.1, 0.1, 0.9, 0.1], [0.1, 0.1, 0.1, 0.1]]
)
RECS = [
    {"pair": "a", "source": "ru_paradetox"},
    {"pair": "a", "source": "ru_paradetox"},
    {"pair": "a", "source": "ru_paradetox"},
    {"source": "tg_parstext"},
    {"source": "tg_parstext"},
]


def test_flag_rates_count_any_label_on_rows_without_and_with_positives():
    rates = flag_rates(Y, P, [0.5] * 4)
    assert (rates["negatives"]["rows"], rates["negatives"]["flagged"]) == (4, 2)  # a rewrite and a prose row
    assert (rates["positives"]["rows"], rates["positives"]["flagged"]) == (1, 1)
    assert 0 < rates["negatives"]["ci"][0] < 0.5 < rates["negatives"]["ci"][1] < 1


def test_pair_ranking_compares_each_toxic_text_with_each_of_its_rewrites():
    ranking = pair_ranking(RECS, Y, P)
    assert (ranking["pairs"], ranking["toxic_higher"]) == (2, 1)  # 0.9 > 0.2 but not > 0.95
    assert pair_ranking(RECS[3:], Y[3:], P[3:]) is None


def test_headline_reads_targets_from_per_source_metrics_and_spread_says_if_met():
    per = per_source_metrics(RECS, Y, P, [0.5] * 4, EvalSpec(bootstrap_resamples=20))
    h = headline_metrics({"per_source": per, "functional": {"hard_negative_accuracy": 0.93}})
    assert h["ru_paradetox.pairs"] == 0.5 and h["tg_parstext.flagged"] == 0.5 and h["tg_prose.flagged"] == 0.5
    assert h["ru_paradetox.toxic_flagged"] == 1.0 and h["ru_paradetox.rewrites_flagged"] == 0.5
    assert h["ru_2ch_pikabu.insult.f1"] is None and h["functional.hard_negatives"] == 0.93
    s = spread([h, {**h, "functional.hard_negatives": 0.87}])
    assert s["functional.hard_negatives"]["values"] == [0.93, 0.87] and s["functional.hard_negatives"]["met"]
    assert not s["tg_prose.flagged"]["met"] and "ru_2ch_pikabu.insult.f1" not in s
