"""Per-source real-text metrics: flag rates, minimal-pair ranking, the headline targets and their seed spread."""

import json

import numpy as np
import pytest

from tfgbv.report.evaluation import (
    EvalSpec,
    flag_rates,
    pair_ranking,
    per_source_metrics,
)
from tfgbv.report.headline import (
    abusive_flagged,
    compare_variants,
    config_changes,
    headline_metrics,
    learning_curve,
    mean_values,
    render_spread,
    render_variants,
    spread,
    suite_by_language,
    with_all_failures,
)

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


def test_style_checks_are_reported_without_a_goal():
    h = headline_metrics({"style_shift": {"changed_rate": 0.12, "macro_f1_restyled": 0.7}})
    s = spread([h, {**h, "style.changed_rate": 0.10}])
    assert s["style.changed_rate"]["target"] is None and s["style.changed_rate"]["met"] is None
    assert "| – | 0.110 |" in "\n".join(render_spread(s, ["a", "b"]))


def test_spread_table_names_the_run_of_each_column():
    s = spread([{"seed.macro_f1": 0.80}, {"seed.macro_f1": 0.82}])
    header = render_spread(s, ["prose2-d42", "prose2-d1"])[0]
    assert header == "| target | goal | mean | SD | `prose2-d42` | `prose2-d1` | met |"


def test_spread_table_keeps_each_figure_under_its_run_when_a_run_lacks_one():
    s = spread([{"seed.macro_f1": 0.80}, {"seed.macro_f1": None}, {"seed.macro_f1": 0.82}])
    assert s["seed.macro_f1"]["values"] == [0.80, 0.82] and s["seed.macro_f1"]["mean"] == pytest.approx(0.81)
    assert "| 0.800 | – | 0.820 |" in render_spread(s, ["a", "b", "c"])[2]


def test_variant_counts_as_a_change_only_beyond_two_seed_sds():
    seeds = spread([{"seed.macro_f1": 0.80}, {"seed.macro_f1": 0.82}, {"seed.macro_f1": 0.78}])  # SD 0.02
    out = compare_variants(seeds, {"small": {"seed.macro_f1": 0.83}, "big": {"seed.macro_f1": 0.70}})
    assert not out["small"]["seed.macro_f1"]["beyond_noise"]
    assert out["big"]["seed.macro_f1"]["beyond_noise"] and not out["big"]["seed.macro_f1"]["better"]
    md = "\n".join(render_variants(seeds, out))
    assert "0.830 (+0.030)" in md and "**-0.100** worse" in md


def test_learning_curve_reads_dev_evaluations_as_rows_seen():
    history = [{"loss": 0.5, "step": 20}, {"eval_macro_f1": 0.4, "step": 50}, {"eval_macro_f1": 0.6, "step": 100}]
    assert learning_curve(history, batch_size=32) == [(1600, 0.4), (3200, 0.6)]


def test_config_changes_list_what_a_variant_changed_but_not_seed_or_paths():
    base = {"seed": 42, "paths": {"root": "/a"}, "data": {"sources": {"seed": {"augment": ["lower_nopunct"]}}}}
    other = {"seed": 1, "paths": {"root": "/b"}, "data": {"sources": {"seed": {"augment": []}}}}
    assert config_changes(base, other) == ["`data.sources.seed.augment`: ['lower_nopunct'] → []"]
    assert config_changes(base, {**base, "trainer": {"curve_points": 8}}) == []


def test_headline_reads_tajik_targets_and_takes_missing_sources_from_other_evaluations():
    ev = {
        "functional": {"by_language": {"tg": {"abusive": {"accuracy": 0.8}, "hard_negatives": {"accuracy": 0.9}}}},
        "functional_keyboard": {"by_language": {"tg": {"abusive": {"accuracy": 0.6}}}},
        "per_source": {"seed": {"labels": {}}},
    }
    pars_off = {"per_source": {"fa_pars_off": {"labels": {"insult": {"roc_auc": 0.91}}}, "seed": {"labels": None}}}
    with_f1 = {"per_source": {"fa_pars_off": {"labels": {"insult": {"roc_auc": 0.91, "f1": 0.7}}}}}
    assert headline_metrics(ev, {"fa_pars_off": with_f1})["fa_pars_off.insult.f1"] == 0.7
    h = headline_metrics(ev, {"fa_pars_off": pars_off})
    assert h["functional.tg.abusive"] == 0.8 and h["functional.tg.hard_negatives"] == 0.9
    assert h["functional_keyboard.tg.abusive"] == 0.6 and h["functional_keyboard.tg.hard_negatives"] is None
    assert h["fa_pars_off.insult.roc_auc"] == 0.91 and h["functional.ru.abusive"] is None
    assert h["fa_pars_off.insult.f1"] is None  # reported beside the ROC-AUC where the evaluation has it
    assert headline_metrics(ev)["fa_pars_off.insult.roc_auc"] is None
    older = {"functional": {"hard_negative_accuracy": 0.8}}  # an evaluation from before the per-language figures
    assert headline_metrics(older, {"seed": ev})["functional.tg.abusive"] == 0.8


def test_config_changes_show_repository_paths_relative_to_the_repository():
    base = {"data": {"functional": "/repo/data/functional/cases.jsonl"}}
    other = {"data": {"functional": None, "file": "/repo/../shared/x.csv"}}
    assert config_changes(base, other, "/repo") == [
        "`data.file`: – → ../shared/x.csv",
        "`data.functional`: data/functional/cases.jsonl → None",
    ]


def test_a_variant_with_several_runs_is_judged_by_their_mean_and_missing_figures_stay_missing():
    means = mean_values([{"seed.macro_f1": 0.80, "fa.roc_auc": None}, {"seed.macro_f1": 0.84, "fa.roc_auc": None}])
    assert means["seed.macro_f1"] == pytest.approx(0.82) and means["fa.roc_auc"] is None
    assert mean_values([{"a": 0.5}, {"b": 0.25}]) == {"a": 0.5, "b": 0.25}  # each from the runs that have it


def test_abusive_flagged_reads_the_count_or_derives_it_from_an_older_evaluations_failures():
    counted = {"by_language": {"tg": {"abusive": {"cases": 4, "passed": 1, "flagged": 3}}}}
    assert abusive_flagged(counted, "tg") == 0.75
    failures = [
        {"lang": "tg", "expected": ["insult"], "predicted": []},  # missed: not flagged
        {"lang": "tg", "expected": ["threat"], "predicted": ["insult"]},  # wrong label, flagged all the same
        {"lang": "tg", "expected": [], "predicted": ["insult"]},  # a hard negative
        {"lang": "ru", "expected": ["insult"], "predicted": []},
    ]
    older = {"by_language": {"tg": {"abusive": {"cases": 4, "passed": 2}}}, "failures": failures}
    assert abusive_flagged(older, "tg") == 0.75
    h = headline_metrics({"functional": older})
    assert h["functional.tg.abusive_flagged"] == 0.75 and h["functional_keyboard.tg.abusive_flagged"] is None


def test_abusive_flagged_is_unknown_when_the_failures_at_hand_are_not_all_of_them():
    failures = [{"lang": "tg", "expected": ["insult"], "predicted": []}]
    truncated = {"by_language": {"tg": {"abusive": {"cases": 10, "passed": 7}}}, "failures": failures}
    assert abusive_flagged(truncated, "tg") is None  # 3 failed, 1 listed (metrics.json keeps only the first ones)
    assert abusive_flagged({"by_language": {"tg": {"abusive": {"cases": 4, "passed": 4}}}}, "tg") == 1.0
    assert abusive_flagged(truncated, "ru") is None


def test_an_older_evaluation_gets_every_functional_failure_from_the_files_beside_its_metrics(tmp_path):
    failures = [
        {"lang": "tg", "expected": ["insult"], "predicted": []},
        {"lang": "tg", "expected": [], "predicted": []},
    ]
    for folder in ("eval", "eval-seed"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "functional_failures.jsonl").write_text(
            "\n".join(json.dumps(f) for f in failures), encoding="utf-8"
        )
    own = {"functional": {"failures": failures[:1]}, "functional_keyboard": None}
    seed = {"functional": {"failures": []}}
    art = with_all_failures({"run_dir": tmp_path, "eval": own, "external": {"seed": seed, "fa": {"functional": None}}})
    assert art["eval"]["functional"]["failures"] == failures and art["eval"]["functional_keyboard"] is None
    assert art["external"]["seed"]["functional"]["failures"] == failures


def test_suite_by_language_names_the_other_evaluation_it_was_taken_from():
    own = {"functional": {"hard_negative_accuracy": 0.8}}  # from before the per-language figures
    seed = {"functional": {"by_language": {"tg": {}}}, "functional_keyboard": {"by_language": {"tg": {}}}}
    assert suite_by_language(own, {"fa": {}, "seed": seed}) == (seed["functional"], "seed")
    assert suite_by_language(seed, {}, "functional_keyboard") == (seed["functional_keyboard"], None)
    assert suite_by_language(own, None) == (None, None)
