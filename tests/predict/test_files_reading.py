"""How batch scoring reads its inputs: the reading options (text/id column, delimiter, encoding) checked before the
model loads, the reject share that fails a run, duplicate ids, one reject wording and one (1-based) line numbering,
and the input quirks of real dumps (lone \\r line ends, undecodable ids, `[ ]` in file names, deep JSON, U+2028, a BOM,
a non-UTF-8 file name)."""

import json
import os
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra

from tests.predict.test_files_reliability import FakeClassifier, _out_ids, _rejects
from tfgbv.data.records import read_jsonl
from tfgbv.predict.files import ScoreSpec, ScoringError, score_files

SPEC = ScoreSpec(quiet=True, chunk_rows=3)


def _predict(argv: list[str], monkeypatch, capsys, load_scorer=None) -> tuple[int, str]:
    """Run `tfgbv-predict argv...` as the console script does; returns (exit code, error message)."""
    from tfgbv.cli import scoring

    if load_scorer is not None:
        monkeypatch.setattr(scoring, "load_scorer", load_scorer)
    monkeypatch.setattr(sys, "argv", ["tfgbv-predict", *argv])
    try:
        scoring.predict()
        code, message = 0, ""
    except SystemExit as exc:
        code, message = exc.code, ""
    except ScoringError as err:  # the entry point turns it into one line and exit code 2
        code, message = 2, str(err)
    finally:
        GlobalHydra.instance().clear()
    return code, message + capsys.readouterr().err


def _no_model(*_a, **_k):
    raise AssertionError("the model must not load before the inputs are checked")


# ----------------------------------------------------------------------------- 26.1 reading options


def test_csv_without_the_text_column_fails_before_the_model_loads_naming_columns_and_option(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    Path("a.csv").write_text("message\nТы дура\n", encoding="utf-8")  # printf 'message\nТы дура\n' > a.csv
    code, err = _predict(["model_dir=.", "input=a.csv", "output=o.jsonl"], monkeypatch, capsys, _no_model)
    assert code != 0 and "a.csv" in err and "['message']" in err and "text_column=" in err
    assert not Path("o.jsonl").exists()


def test_semicolon_csv_names_the_delimiter_to_set_and_scores_with_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a.csv").write_text("id;text\n1;Ты дура\n2;салом\n", encoding="utf-8")
    code, err = _predict(["model_dir=.", "input=a.csv"], monkeypatch, capsys, _no_model)
    assert code != 0 and "delimiter=';'" in err and "['id;text']" in err
    s = score_files(FakeClassifier(), ["a.csv"], tmp_path / "o.jsonl", ScoreSpec(quiet=True, delimiter=";"))
    assert s["scored_rows"] == 2 and _out_ids(tmp_path / "o.jsonl") == ["1", "2"] and s["ok"]


def test_cp1251_csv_is_refused_naming_the_encoding_option_and_scored_with_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("a.csv").write_bytes("id,text\n1,Ты дура\n2,привет\n".encode("cp1251"))
    code, err = _predict(["model_dir=.", "input=a.csv"], monkeypatch, capsys, _no_model)
    assert code != 0 and "a.csv" in err and "not utf-8" in err and "encoding=" in err
    s = score_files(FakeClassifier(), ["a.csv"], tmp_path / "o.jsonl", ScoreSpec(quiet=True, encoding="cp1251"))
    assert s["scored_rows"] == 2 and s["rejected_rows"] == 0


def test_parquet_and_jsonl_without_the_text_column_are_refused_before_scoring(tmp_path):
    import pandas as pd

    pd.DataFrame({"message": ["салом"]}).to_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.jsonl").write_text('{"message": "салом"}\n{"message": "x"}\n', encoding="utf-8")
    clf = FakeClassifier()
    with pytest.raises(ScoringError) as exc:
        score_files(clf, [str(tmp_path / "a.parquet"), str(tmp_path / "b.jsonl")], tmp_path / "o.jsonl", SPEC)
    assert "a.parquet has no column 'text'" in str(exc.value) and "b.jsonl: no 'text' field" in str(exc.value)
    assert clf.calls == 0 and not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize(
    "option, expected",
    [
        ({"encoding": "utf-16"}, "not ASCII-compatible"),
        ({"encoding": "klingon"}, "not a codec"),
        ({"delimiter": ";;"}, "delimiter must be one"),
        ({"max_reject_share": 2}, "max_reject_share"),
    ],
)
def test_unusable_reading_options_are_refused(option, expected):
    with pytest.raises(ScoringError, match=expected):
        ScoreSpec(**option)


def test_run_rejecting_more_than_max_reject_share_fails_with_ok_false_after_writing_its_files(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\n1,\n2,\n3,салом\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    with pytest.raises(ScoringError, match="2 of 3 input rows were rejected, more than max_reject_share=0.5") as exc:
        score_files(FakeClassifier(), [str(tmp_path / "a.csv")], out, SPEC)
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert (
        summary == exc.value.summary
        and summary["ok"] is False
        and summary["reject_share"] == pytest.approx(2 / 3, abs=1e-4)
    )
    assert _out_ids(out) == ["3"] and len(_rejects(out)) == 2  # nothing is lost: the files are written
    tolerant = ScoreSpec(quiet=True, max_reject_share=1.0)
    assert score_files(FakeClassifier(), [str(tmp_path / "a.csv")], tmp_path / "p.jsonl", tolerant)["ok"]


# ----------------------------------------------------------------------------- 26.2 accounting


def test_duplicate_ids_are_counted_and_reported_in_the_summary(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\n1,салом\n2,салом\n1,дура\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"id": "2", "text": "x"}\n{"text": "no id"}\n', encoding="utf-8")
    s = score_files(FakeClassifier(), [str(tmp_path / "a.csv"), str(tmp_path / "b.jsonl")], tmp_path / "o.jsonl", SPEC)
    assert s["scored_rows"] == 5 and s["duplicate_ids"] == 2 and s["duplicate_id_examples"] == ["1", "2"]


def test_empty_csv_cell_and_empty_json_string_are_rejected_with_the_same_reason(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\nc1,\nc2,салом\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"id": "j1", "text": ""}\n{"id": "j2", "text": null}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    spec = ScoreSpec(quiet=True, max_reject_share=1.0)
    score_files(FakeClassifier(), [str(tmp_path / "a.csv"), str(tmp_path / "b.jsonl")], out, spec)
    assert {r["id"]: r["reason"] for r in _rejects(out)} == {"c1": "empty text", "j1": "empty text", "j2": "empty text"}


def test_a_bad_json_line_is_named_by_its_1_based_line_in_id_and_line(tmp_path):
    src = tmp_path / "comments.jsonl"
    src.write_text('{"id": "a", "text": "салом"}\n\n{not json\n{"text": "no id"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(src)], out, SPEC)
    (rej,) = _rejects(out)
    assert rej["id"] == f"{src}:3" and rej["line"] == 3 and rej["reason"].startswith("invalid JSON")
    assert _out_ids(out) == ["a", f"{src}:4"]  # generated ids use the same numbering


def test_generated_parquet_ids_are_1_based_row_numbers(tmp_path):
    import pandas as pd

    pd.DataFrame({"text": ["салом", None]}).to_parquet(tmp_path / "a.parquet")
    out = tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(tmp_path / "a.parquet")], out, ScoreSpec(quiet=True, max_reject_share=1.0))
    assert _out_ids(out) == [f"{tmp_path / 'a.parquet'}:1"]
    assert _rejects(out)[0]["id"] == f"{tmp_path / 'a.parquet'}:2" and _rejects(out)[0]["line"] == 2


# ----------------------------------------------------------------------------- 27.x input quirks


def test_lone_cr_line_endings_are_split_like_the_csv_module(tmp_path):
    src = tmp_path / "mac.csv"
    src.write_bytes("id,text\r1,ты дура\r2,привет\r".encode())  # printf 'id,text\r1,ты дура\r2,привет\r'
    out = tmp_path / "o.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert s["input_rows"] == 2 and s["scored_rows"] == 2 and _out_ids(out) == ["1", "2"]


def test_undecodable_ids_reject_their_rows_instead_of_being_replaced(tmp_path):
    src = tmp_path / "a.csv"
    rows = [b"id,text", "\u04421".encode("cp1251") + b",one", "\u04421".encode("cp1251") + b",two"]
    rows += [b"ok" + bytes([49 + i]) + b",salom" for i in range(8)]
    src.write_bytes(b"\n".join(rows) + b"\n")
    out = tmp_path / "o.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert s["rejected_rows"] == 2 and not any("\ufffd" in i for i in _out_ids(out))
    assert [(r["id"], r["reason"]) for r in _rejects(out)] == [
        (f"{src}:2", "undecodable bytes (not utf-8)"),
        (f"{src}:3", "undecodable bytes (not utf-8)"),
    ]


def test_an_existing_path_with_brackets_is_that_file_not_a_glob(tmp_path):
    (tmp_path / "dump[1].jsonl").write_text('{"id": "bracket", "text": "салом"}\n', encoding="utf-8")
    (tmp_path / "dump1.jsonl").write_text('{"id": "other", "text": "салом"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(tmp_path / "dump[1].jsonl")], out, SPEC)
    assert _out_ids(out) == ["bracket"]
    score_files(FakeClassifier(), [str(tmp_path / "dump[0-9].jsonl")], tmp_path / "g.jsonl", SPEC)  # no such file
    assert _out_ids(tmp_path / "g.jsonl") == ["other"]


def test_a_deeply_nested_json_line_rejects_only_that_row(tmp_path):
    src = tmp_path / "a.jsonl"
    deep = '{"id": "deep", "text": ' + "[" * 200_000 + "]" * 200_000 + "}"
    src.write_text(f'{{"id": "a", "text": "салом"}}\n{deep}\n{{"id": "b", "text": "x"}}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert s["ok"] and _out_ids(out) == ["a", "b"]
    assert [(r["line"], r["reason"]) for r in _rejects(out)] == [(2, "invalid JSON (nested too deeply)")]


def test_u2028_inside_a_jsonl_comment_is_not_a_line_break(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "a", "text": "one\u2028two\u0085three"}\n{"id": "b", "text": "x"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, ScoreSpec(quiet=True, echo_text=True, mask_pii=False))
    rows = [r.value for r in read_jsonl(out)]  # the output holds U+2028 too: the shared reader reads it back
    assert s["rejected_rows"] == 0 and [r["text"] for r in rows] == ["one\u2028two\u0085three", "x"]


def test_a_jsonl_byte_order_mark_keeps_the_first_rows_id(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_bytes(b'\xef\xbb\xbf{"id": "first", "text": "salom"}\n{"id": "second", "text": "x"}\n')
    out = tmp_path / "o.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert s["rejected_rows"] == 0 and _out_ids(out) == ["first", "second"]


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse non-UTF-8 names")
def test_a_non_utf8_file_name_is_scored(tmp_path):
    name = os.fsdecode(b"comments-\xff.jsonl")  # as glob and the command line give it: surrogate escapes
    Path(tmp_path, name).write_text('{"text": "salom"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    s = score_files(FakeClassifier(), [str(tmp_path / "*.jsonl")], out, SPEC)
    assert s["scored_rows"] == 1 and s["ok"] and _out_ids(out)[0].endswith("comments-\\udcff.jsonl:1")


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse non-UTF-8 names")
def test_engine_ray_names_a_non_utf8_file_name_before_starting_ray(tmp_path):
    from tfgbv.predict.ray_engine import score_with_ray

    Path(tmp_path, os.fsdecode(b"comments-\xff.jsonl")).write_text('{"text": "salom"}\n', encoding="utf-8")
    with pytest.raises(ScoringError, match=r"comments-\\udcff.jsonl: engine=ray cannot read a file whose name"):
        score_with_ray(str(tmp_path), [str(tmp_path / "*.jsonl")], tmp_path / "o.parquet", SPEC)
