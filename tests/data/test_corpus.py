"""The bundled corpus: schema, duplicates, requirements, and the data statement's counts match the files."""

import pytest

from tests.helpers import REPO
from tfgbv.data.annotation import (
    aggregate_votes,
    apply_votes,
    krippendorff_alpha,
    nominal_alpha,
)
from tfgbv.data.corpus import (
    check_record,
    corpus_stats,
    phone_numbers,
    render_counts,
    statement_block,
    validate_corpus,
    write_statement_counts,
)
from tfgbv.data.dedup import duplicate_groups, duplicate_report, near_duplicate_pairs

SEED = REPO / "data" / "seed"


def _rec(**over):
    rec = {
        "id": "x1",
        "text": "Ту бешарм ҳастӣ",
        "lang": "tg",
        "script": "Cyrl",
        "insult": 0,
        "shaming": 1,
        "threat": 0,
        "doxxing": 0,
        "target": "activist",
        "functionality": "shaming_honour_family",
        "obfuscation": "none",
        "platform": "facebook",
        "synthetic": True,
    }
    rec.update(over)
    return rec


def test_bundled_corpus_is_valid_and_statement_counts_match_files():
    report = validate_corpus(SEED, REPO / "data" / "functional" / "cases.jsonl", REPO / "data" / "DATA_STATEMENT.md")
    assert report["problems"] == []
    assert not report["duplicates"]["near_across"] and not report["duplicates"]["exact_across"]


def test_statement_counts_are_recomputed_from_the_files():
    from tfgbv.data.corpus import load_corpus

    splits, problems = load_corpus(SEED)
    assert not problems
    block = statement_block((REPO / "data" / "DATA_STATEMENT.md").read_text(encoding="utf-8"))
    assert block == render_counts(corpus_stats(splits))
    total = sum(len(v) for v in splits.values())
    assert f"| total | {total} |" in block


def test_record_checks_name_the_field():
    assert check_record(_rec(), "f:1") == []
    assert "f:1: field 'lang'" in check_record(_rec(lang="de"), "f:1")[0]
    assert any("positive but no label" in p for p in check_record(_rec(shaming=0), "f:1"))
    assert any("negative but labels" in p for p in check_record(_rec(functionality="neg_everyday"), "f:1"))
    assert any("outside the fictitious range" in p for p in check_record(_rec(text="звони 93 123 45 67"), "f:1"))
    assert check_record(_rec(text="адрес +992 00 071 22 45"), "f:1") == []


def test_phone_numbers_are_found_in_common_spellings():
    assert phone_numbers("+992 00 071 22 45 и 00-045-67-89, +992000712245") == [
        "992000712245",
        "000456789",
        "992000712245",
    ]
    assert phone_numbers("нарх 500 сомонӣ, соли 2024") == []


def test_near_duplicates_within_and_across_splits():
    splits = {
        "train": [
            {"id": "a", "text": "Ин духтар шарми оила аст, бародараш куҷост?"},
            {"id": "b", "text": "Имрӯз бозор кушода аст"},
        ],
        "test": [
            {"id": "c", "text": "Ин духтар шарми оила аст, бародараш куҷост??"},
            {"id": "d", "text": "имрӯз бозор   кушода аст"},
        ],
    }
    rep = duplicate_report(splits, threshold=0.8)
    assert {(d["a"]["id"], d["b"]["id"]) for d in rep["near_across"]} >= {("a", "c")}
    assert {(d["a"]["id"], d["b"]["id"]) for d in rep["exact_across"]} == {("b", "d")}


def test_duplicate_groups_are_transitive():
    pairs = near_duplicate_pairs(["абвгдежз", "абвгдежзи", "абвгдежзий", "совсем другое"], threshold=0.6, ngram=3)
    groups = duplicate_groups(4, pairs)
    assert groups[0] == groups[1] == groups[2] != groups[3]


def test_write_statement_replaces_only_the_block(tmp_path):
    p = tmp_path / "S.md"
    from tfgbv.data.corpus import STATEMENT_BEGIN, STATEMENT_END

    p.write_text(f"intro\n{STATEMENT_BEGIN}\nold\n{STATEMENT_END}\noutro\n", encoding="utf-8")
    stats = corpus_stats({"train": [_rec()], "dev": [], "test": []})
    write_statement_counts(p, stats)
    text = p.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text and "| total | 1 |" in text


def test_krippendorff_alpha_and_vote_aggregation():
    perfect = [
        {"annotator_votes": {"insult": [1, 1, 1]}},
        {"annotator_votes": {"insult": [0, 0, 0]}},
        {"annotator_votes": {"insult": [1, 1, None]}},
    ]
    assert krippendorff_alpha(perfect)["insult"] == pytest.approx(1.0)
    assert krippendorff_alpha(perfect)["threat"] is None
    split = [{"annotator_votes": {"insult": [1, 0]}}, {"annotator_votes": {"insult": [0, 1]}}]
    assert krippendorff_alpha(split)["insult"] < 0
    assert aggregate_votes([1, 0, 1], "soft") == pytest.approx(2 / 3)
    assert aggregate_votes([1, 0], "majority") == 1.0
    assert apply_votes({"insult": 0, "annotator_votes": {"insult": [1, 1, 0]}}, "soft")["insult"] == pytest.approx(
        2 / 3
    )


NAN = float("nan")


def test_nominal_alpha_matches_krippendorffs_published_worked_examples():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units, missing
    # values; nominal alpha = 0.743.
    k2011 = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
    assert nominal_alpha(k2011) == pytest.approx(0.743, abs=5e-4)
    # The 3-coder, 15-unit example of the Wikipedia article "Krippendorff's alpha": nominal alpha = 0.691.
    wiki = [
        [NAN, NAN, NAN, NAN, NAN, 3, 4, 1, 2, 1, 1, 3, 3, NAN, 3],
        [1, NAN, 2, 1, 3, 3, 4, 3, NAN, NAN, NAN, NAN, NAN, NAN, NAN],
        [NAN, NAN, 2, 1, 3, 4, 4, NAN, 2, 1, 1, 3, 3, NAN, 4],
    ]
    assert nominal_alpha(wiki) == pytest.approx(0.691, abs=5e-4)


def test_nominal_alpha_is_undefined_without_two_values_or_pairable_units():
    assert nominal_alpha([[1, 1], [1, 1]]) is None  # one value only: no expected disagreement
    assert nominal_alpha([[1, NAN], [NAN, 0]]) is None  # no unit has two votes
    assert nominal_alpha([[1, 0]]) is None  # a single annotator
    assert nominal_alpha([[1, 0], [0, 1]]) == pytest.approx(-0.5)


def test_soft_labels_flow_from_a_data_config(tmp_path):
    from tfgbv.data.sources import SourceSpec, SplitSpec, load_data
    from tfgbv.io import write_jsonl

    rows = [
        {
            "id": f"r{i}",
            "text": f"матн {i}",
            "lang": "tg",
            "insult": 0,
            "shaming": 0,
            "threat": 0,
            "doxxing": 0,
            "annotator_votes": {"insult": [1, 0, 1, 1]},
        }
        for i in range(3)
    ]
    write_jsonl(tmp_path / "v.jsonl", rows)
    data = load_data(
        [
            SourceSpec(
                name="v",
                files={"train": [str(tmp_path / "v.jsonl")]},
                label_mode="soft",
                split=SplitSpec(dev_fraction=0, test_fraction=0),
            )
        ]
    )
    assert [r["insult"] for r in data.splits["train"]] == [0.75] * 3
