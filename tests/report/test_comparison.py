"""Paired comparison of two evaluations: McNemar on the functional cases where the models disagree, same data only."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tfgbv.labels import LABELS
from tfgbv.report.comparison import (
    ComparisonError,
    compare_evaluations,
    compare_pairs,
    mcnemar_exact,
    paired_pass_rates,
    render_comparison,
)


def _eval(
    path: Path, model_id: str, f1: float, failures: list[tuple[str, str]], data: str = "seed", rows: int = 10
) -> Path:
    path.mkdir(parents=True)
    labels = {
        lab: {
            "f1": f1,
            "roc_auc": 0.9,
            "precision": 0.8,
            "recall": 0.8,
            "pr_auc": 0.8,
            "ci": {"f1": [f1 - 0.1, f1 + 0.1, 100]},
        }
        for lab in LABELS
    }
    functional = {
        "cases": 30,
        "functionalities": {
            "counter_speech": {"cases": 20, "hard_negative": True, "accuracy": 0.0, "by_lang": {}},
            "insult_direct": {"cases": 10, "hard_negative": False, "accuracy": 0.0, "by_lang": {}},
        },
    }
    (path / "metrics.json").write_text(
        json.dumps(
            {
                "model_id": model_id,
                "data": data,
                "split": "test",
                "rows": rows,
                "metrics": {"labels": labels, "overall": {"macro_f1": f1}},
                "functional": functional,
            }
        ),
        encoding="utf-8",
    )
    (path / "functional_failures.jsonl").write_text(
        "".join(json.dumps({"id": i, "functionality": f, "text": "[masked]"}) + "\n" for i, f in failures),
        encoding="utf-8",
    )
    return path


def test_mcnemar_exact_matches_the_binomial_test():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)  # all ten disagreements one way
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)


def test_paired_pass_rates_count_only_discordant_cases():
    out = paired_pass_rates(10, {"a", "b", "c"}, {"b", "c", "d", "e"})
    assert out["accuracy_a"] == pytest.approx(0.7) and out["accuracy_b"] == pytest.approx(0.6)
    assert (out["fail_only_a"], out["fail_only_b"]) == (1, 2)


def test_hard_negative_scope_uses_the_hard_functionalities(tmp_path):
    _eval(tmp_path / "a" / "eval", "A", 0.8, [("h1", "counter_speech"), ("i1", "insult_direct")])
    b = _eval(tmp_path / "b" / "eval-seed", "B", 0.7, [(f"h{i}", "counter_speech") for i in range(2, 12)])
    out = compare_evaluations(tmp_path / "a", b)  # a run directory stands for its own eval/
    hard = out["functional"]["hard_negatives"]
    assert hard["cases"] == 20 and (hard["fail_only_a"], hard["fail_only_b"]) == (1, 10)
    assert hard["accuracy_a"] == pytest.approx(0.95) and hard["accuracy_b"] == pytest.approx(0.5)
    assert hard["p_value"] == pytest.approx(mcnemar_exact(1, 10))
    assert out["functional"]["all"]["cases"] == 30
    assert out["labels"]["insult"]["f1"]["delta"] == pytest.approx(-0.1)
    md = render_comparison(out)
    assert "| hard negatives | 20 | 0.950 | 0.500 | 1 | 10 |" in md and "| insult | 0.800 (0.700–0.900) |" in md


def test_functional_cases_are_also_paired_per_language_for_abusive_cases_and_hard_negatives(tmp_path):
    def failing(i, lang, functionality, expected):
        return {"id": f"{lang}-{i}", "functionality": functionality, "lang": lang, "expected": expected}

    a = _eval(tmp_path / "a", "A", 0.8, [])
    b = _eval(tmp_path / "b", "B", 0.8, [])
    by_language = {"tg": {"abusive": {"cases": 6}, "hard_negatives": {"cases": 4}}, "ru": {"abusive": {"cases": 5}}}
    for path, failures in (
        (a, [failing(1, "tg", "insult_direct", ["insult"]), failing(2, "tg", "insult_direct", ["insult"])]),
        (b, [failing(1, "tg", "insult_direct", ["insult"]), failing(3, "tg", "counter_speech", [])]),
    ):
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        metrics["functional"]["by_language"] = by_language
        (path / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        (path / "functional_failures.jsonl").write_text("".join(json.dumps(f) + "\n" for f in failures))
    out = compare_evaluations(a, b)["functional"]["by_language"]
    assert out["tg"]["abusive"]["accuracy_a"] == pytest.approx(4 / 6)
    assert out["tg"]["abusive"]["accuracy_b"] == pytest.approx(5 / 6)
    assert (out["tg"]["hard_negatives"]["fail_only_a"], out["tg"]["hard_negatives"]["fail_only_b"]) == (0, 1)
    assert out["ru"]["abusive"]["accuracy_a"] == 1.0
    assert "| tg, hard negatives | 4 | 1.000 | 0.750 | 0 | 1 |" in render_comparison(compare_evaluations(a, b))


def test_keyboard_typed_cases_are_paired_when_both_evaluations_recorded_them(tmp_path):
    a = _eval(tmp_path / "a", "A", 0.8, [])
    b = _eval(tmp_path / "b", "B", 0.8, [])
    assert compare_evaluations(a, b)["functional"]["keyboard_typed"] is None  # older evaluations: no record
    typed = {"tg": {"abusive": {"cases": 10}, "hard_negatives": {"cases": 20}}}
    for path, ids in ((a, ["h1", "h2", "h3"]), (b, ["h3"])):
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        metrics["functional_keyboard"] = {"cases": 30, "by_language": typed}
        (path / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        failures = [{"id": i, "functionality": "counter_speech", "lang": "tg", "expected": []} for i in ids]
        (path / "functional_keyboard_failures.jsonl").write_text("".join(json.dumps(f) + "\n" for f in failures))
    out = compare_evaluations(a, b)
    hard = out["functional"]["keyboard_typed"]["tg"]["hard_negatives"]
    assert (hard["accuracy_a"], hard["accuracy_b"]) == (pytest.approx(0.85), pytest.approx(0.95))
    assert (hard["fail_only_a"], hard["fail_only_b"]) == (2, 0)
    assert out["functional"]["by_language"] == {}  # the cases as written are another scope
    assert "| tg typed on a Russian keyboard, hard negatives | 20 | 0.850 | 0.950 | 2 | 0 |" in render_comparison(out)


def test_evaluations_of_different_data_are_refused(tmp_path):
    a = _eval(tmp_path / "a", "A", 0.8, [])
    b = _eval(tmp_path / "b", "B", 0.8, [], data="ru_2ch_pikabu")
    with pytest.raises(ComparisonError, match="different data: data 'seed' vs 'ru_2ch_pikabu'"):
        compare_evaluations(a, b)
    with pytest.raises(ComparisonError, match="no metrics.json"):
        compare_evaluations(a, tmp_path / "nowhere")


def test_a_broken_failure_file_names_file_and_line(tmp_path):
    a = _eval(tmp_path / "a", "A", 0.8, [("h1", "counter_speech")])
    b = _eval(tmp_path / "b", "B", 0.8, [])
    (b / "functional_failures.jsonl").write_text('{"id": "x", "functionality": "counter_speech"}\nnot json\n')
    with pytest.raises(ComparisonError, match=r"functional_failures.jsonl:2: not a failure record"):
        compare_evaluations(a, b)


def test_compare_script_writes_json_and_markdown(tmp_path):
    a = _eval(tmp_path / "a", "A", 0.8, [("h1", "counter_speech")])
    b = _eval(tmp_path / "b", "B", 0.8, [])
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "compare.py"), f"a={a}", f"b={b}", f"out_dir={tmp_path / 'out'}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Functional suite, paired" in out.stdout
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert saved["functional"]["hard_negatives"]["fail_only_a"] == 1
    assert (tmp_path / "out" / "comparison.md").read_text().startswith("# Comparison")


def test_pairs_of_runs_pool_the_disagreements_into_one_test_and_keep_each_pairs_difference(tmp_path):
    # seed 1: A fails h1-h3, B fails h1; seed 2: A fails h1, h4, B fails h4, h5 -> discordant 2+1 vs 0+1
    a1 = _eval(tmp_path / "a1", "A", 0.8, [(f"h{i}", "counter_speech") for i in (1, 2, 3)])
    b1 = _eval(tmp_path / "b1", "B", 0.7, [("h1", "counter_speech")])
    a2 = _eval(tmp_path / "a2", "A", 0.6, [("h1", "counter_speech"), ("h4", "counter_speech")])
    b2 = _eval(tmp_path / "b2", "B", 0.7, [("h4", "counter_speech"), ("h5", "counter_speech")])
    out = compare_pairs([(a1, b1), (a2, b2)])
    hard = out["functional"]["hard_negatives"]
    assert hard["cases"] == 40 and (hard["fail_only_a"], hard["fail_only_b"]) == (3, 1)
    assert hard["p_value"] == pytest.approx(mcnemar_exact(3, 1))
    assert hard["accuracy_a"] == pytest.approx((0.85 + 0.9) / 2) and hard["accuracy_b"] == pytest.approx(0.925)
    assert hard["per_pair"] == [pytest.approx(0.1), pytest.approx(0.0)]
    assert out["labels"]["insult"]["f1"]["a"] == pytest.approx(0.7) and out["macro_f1"]["b"] == pytest.approx(0.7)
    assert out["labels"]["insult"]["f1"]["delta"] == pytest.approx(0.0)
    md = render_comparison(out)
    assert "2 pairs of runs" in md and "| hard negatives | 40 | 0.875 | 0.925 | 3 | 1 |" in md
    assert md.splitlines()[[i for i, line in enumerate(md.splitlines()) if "| hard negatives |" in line][0]].endswith(
        "+0.100, +0.000 |"
    )
    assert compare_pairs([(a1, b1)]) == compare_evaluations(a1, b1)  # one pair: the plain comparison


def test_pairs_of_runs_on_different_data_are_refused(tmp_path):
    a1, b1 = _eval(tmp_path / "a1", "A", 0.8, []), _eval(tmp_path / "b1", "B", 0.8, [])
    a2 = _eval(tmp_path / "a2", "A", 0.8, [], rows=11)
    b2 = _eval(tmp_path / "b2", "B", 0.8, [], rows=11)
    with pytest.raises(ComparisonError, match="different data: rows 11 vs 10"):
        compare_pairs([(a1, b1), (a2, b2)])
    with pytest.raises(ComparisonError, match="no pairs"):
        compare_pairs([])


def test_compare_script_pairs_two_lists_in_order_and_refuses_lists_of_different_length(tmp_path):
    a1 = _eval(tmp_path / "a1", "A", 0.8, [("h1", "counter_speech")])
    b1 = _eval(tmp_path / "b1", "B", 0.8, [])
    a2 = _eval(tmp_path / "a2", "A", 0.8, [("h2", "counter_speech")])
    b2 = _eval(tmp_path / "b2", "B", 0.8, [])

    def run(*args):
        return subprocess.run(
            [sys.executable, str(REPO / "scripts" / "compare.py"), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )

    out = run(f"a=[{a1},{a2}]", f"b=[{b1},{b2}]", f"out_dir={tmp_path / 'out'}")
    assert out.returncode == 0, out.stderr[-2000:]
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert saved["functional"]["hard_negatives"]["fail_only_a"] == 2 and len(saved["pairs"]) == 2
    bad = run(f"a=[{a1},{a2}]", f"b=[{b1}]")
    assert bad.returncode != 0 and "paired in order" in bad.stderr


def _with_labelled_failures(path: Path, failures: list[tuple[str, str, list[str], list[str]]]) -> Path:
    (path / "functional_failures.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "functionality": f, "lang": "tg", "expected": exp, "predicted": pred}) + "\n"
            for i, f, exp, pred in failures
        ),
        encoding="utf-8",
    )
    return path


def test_label_errors_say_which_label_each_model_got_wrong(tmp_path):
    a = _with_labelled_failures(
        _eval(tmp_path / "a", "A", 0.8, []),
        [("h1", "counter_speech", [], ["shaming"]), ("i1", "insult_direct", ["insult"], [])],
    )
    b = _with_labelled_failures(
        _eval(tmp_path / "b", "B", 0.8, []),
        [
            ("h1", "counter_speech", [], ["doxxing"]),
            ("h2", "counter_speech", [], ["shaming", "doxxing"]),
            ("i1", "insult_direct", ["insult"], ["insult", "shaming"]),
        ],
    )
    out = compare_evaluations(a, b)["functional"]["label_errors"]
    assert out["counter_speech"]["shaming"] == {"extra_a": 1, "extra_b": 1, "missed_a": 0, "missed_b": 0}
    assert out["counter_speech"]["doxxing"] == {"extra_a": 0, "extra_b": 2, "missed_a": 0, "missed_b": 0}
    assert out["insult_direct"]["insult"] == {"extra_a": 0, "extra_b": 0, "missed_a": 1, "missed_b": 0}
    assert out["insult_direct"]["shaming"]["extra_b"] == 1 and "threat" not in out["insult_direct"]
    md = render_comparison(compare_evaluations(a, b))
    assert "| counter_speech (hard negative) | doxxing | 0 | 2 | 0 | 0 |" in md
    assert "| insult_direct | insult | 0 | 0 | 1 | 0 |" in md


def test_label_errors_are_summed_over_pairs_and_left_out_for_failures_without_labels(tmp_path):
    pairs = []
    for seed in (1, 2):
        a = _with_labelled_failures(_eval(tmp_path / f"a{seed}", "A", 0.8, []), [])
        b = _with_labelled_failures(
            _eval(tmp_path / f"b{seed}", "B", 0.8, []), [(f"h{seed}", "counter_speech", [], ["doxxing"])]
        )
        pairs.append((a, b))
    pooled = compare_pairs(pairs)["functional"]["label_errors"]
    assert pooled == {"counter_speech": {"doxxing": {"extra_a": 0, "extra_b": 2, "missed_a": 0, "missed_b": 0}}}
    old = _eval(tmp_path / "old", "A", 0.8, [("h1", "counter_speech")])  # no expected/predicted recorded
    assert compare_evaluations(old, pairs[0][1])["functional"]["label_errors"] is None
    assert compare_pairs([(old, pairs[0][1]), pairs[1]])["functional"]["label_errors"] is None
    assert "Which label was wrong" not in render_comparison(compare_evaluations(old, pairs[0][1]))
