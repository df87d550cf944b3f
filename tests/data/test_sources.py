"""Data layer: validation errors name file, line and field; mapping, masking of missing labels, splits, manifest."""

import json

import numpy as np
import pytest

from tfgbv.data.sources import (
    MISSING,
    DataValidationError,
    SourceSpec,
    SplitSpec,
    load_data,
    manifest,
    source_from_dict,
    stratified_split,
)
from tfgbv.io import write_jsonl
from tfgbv.labels import LABELS


def _rows(n=4, **over):
    rows = []
    for i in range(n):
        row = {
            "id": f"r{i}",
            "text": f"комментарий номер {i}",
            "lang": "ru",
            "insult": i % 2,
            "shaming": 0,
            "threat": 0,
            "doxxing": 0,
        }
        row.update(over)
        rows.append(row)
    return rows


def _load(path, **kw):
    return load_data([SourceSpec(name="t", files={"all": [str(path)]}, **kw)])


def _error(path, **kw) -> str:
    with pytest.raises(DataValidationError) as exc:
        _load(path, **kw)
    return str(exc.value)


def test_empty_text_names_file_line_and_field(tmp_path):
    rows = _rows()
    rows[2]["text"] = "   "
    p = tmp_path / "d.jsonl"
    write_jsonl(p, rows)
    msg = _error(p)
    assert f"{p}:3" in msg and "'text' is empty" in msg


def test_non_string_text_is_reported(tmp_path):
    rows = _rows()
    rows[1]["text"] = 12345
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    msg = _error(p)
    assert f"{p}:2" in msg and "must be a string" in msg


def test_label_value_outside_schema(tmp_path):
    rows = _rows()
    rows[3]["threat"] = 2
    p = tmp_path / "d.jsonl"
    write_jsonl(p, rows)
    msg = _error(p)
    assert f"{p}:4" in msg and "'threat'" in msg and "got 2" in msg


def test_unknown_label_name_in_config():
    with pytest.raises(DataValidationError, match="unknown label name.*harassment"):
        source_from_dict("x", {"files": {"all": "a.csv"}, "label_columns": {"harassment": "h"}})


def test_duplicate_ids_name_both_lines(tmp_path):
    rows = _rows()
    rows[3]["id"] = "r0"
    p = tmp_path / "d.jsonl"
    write_jsonl(p, rows)
    msg = _error(p)
    assert f"{p}:4" in msg and "duplicates id 'r0'" in msg and f"{p}:1" in msg


def test_undecodable_bytes_name_the_line(tmp_path):
    p = tmp_path / "d.jsonl"
    good = json.dumps(_rows(1)[0], ensure_ascii=False).encode()
    p.write_bytes(good + b"\n" + b'{"id": "x", "text": "\xff\xfe bad"}\n')
    msg = _error(p)
    assert f"{p}:2" in msg and "undecodable" in msg


def test_invalid_json_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(_rows(1)[0]) + "\n{not json\n")
    assert f"{p}:2: invalid JSON" in _error(p)


def test_empty_file(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("")
    assert "file is empty" in _error(p)


def test_missing_column_is_reported(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("comment,toxic\nhello,1\n")
    assert "missing column(s) ['text'" in _error(p, lang="ru")


def test_errors_are_collected_not_just_the_first(tmp_path):
    rows = _rows(6)
    rows[0]["text"] = ""
    rows[5]["insult"] = "yes"
    p = tmp_path / "d.jsonl"
    write_jsonl(p, rows)
    with pytest.raises(DataValidationError) as exc:
        _load(p)
    assert len(exc.value.problems) == 2


def test_csv_mapping_with_value_map_missing_labels_and_line_numbers(tmp_path):
    p = tmp_path / "d.csv"
    # second data row spans two physical lines; the bad row after it must still be located at line 6
    p.write_text(
        'comment,label\nпривет,non_sexist\n"две\nстроки",sexist\nспорно,sexist_in_co\nплохо,weird\n', encoding="utf-8"
    )
    spec = dict(
        text_column="comment",
        id_column=None,
        lang="ru",
        label_columns={"shaming": "label"},
        label_values={"sexist": 1, "non_sexist": 0, "sexist_in_co": None},
    )
    msg = _error(p, **spec)
    assert f"{p}:6" in msg and "'weird'" in msg
    p.write_text('comment,label\nпривет,non_sexist\n"две\nстроки",sexist\nспорно,sexist_in_co\n', encoding="utf-8")
    data = load_data([SourceSpec(name="t", files={"test": [str(p)]}, **spec)])
    recs = data.splits["test"]
    assert [r["shaming"] for r in recs] == [0.0, 1.0, MISSING]
    # labels the source does not annotate are missing, never 0
    assert all(r[lab] == MISSING for r in recs for lab in ("insult", "threat", "doxxing"))
    assert recs[1]["text"] == "две\nстроки"


def test_drop_values_removes_rows(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("comment,label\na,sexist\nb,racist\nc,non_sexist\n")
    data = load_data(
        [
            SourceSpec(
                name="t",
                files={"test": [str(p)]},
                text_column="comment",
                id_column=None,
                lang="ru",
                label_columns={"shaming": "label"},
                label_values={"sexist": 1, "non_sexist": 0},
                drop_values=["racist"],
            )
        ]
    )
    assert [r["text"] for r in data.splits["test"]] == ["a", "c"]


def test_parquet_and_csv_load_like_jsonl(tmp_path):
    import pandas as pd

    rows = _rows(5)
    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    pd.DataFrame(rows).to_csv(tmp_path / "d.csv", index=False)
    for name in ("d.parquet", "d.csv"):
        data = load_data([SourceSpec(name="t", files={"all": [str(tmp_path / name)]})])
        assert sum(len(v) for v in data.splits.values()) == 5


def test_stratified_split_is_seeded_and_keeps_groups_together():
    recs = [
        {
            "id": str(i),
            "lang": "tg" if i % 3 else "ru",
            **{lab: float(i % 2 == 0 and lab == "insult") for lab in LABELS},
        }
        for i in range(200)
    ]
    groups = [i // 2 for i in range(200)]  # pairs of near-duplicates
    a = stratified_split(recs, 0.1, 0.1, seed=3, groups=groups)
    b = stratified_split(recs, 0.1, 0.1, seed=3, groups=groups)
    assert [r["id"] for r in a["test"]] == [r["id"] for r in b["test"]]
    split_of = {r["id"]: s for s, rs in a.items() for r in rs}
    assert all(split_of[str(2 * g)] == split_of[str(2 * g + 1)] for g in range(100))
    assert 10 <= len(a["test"]) <= 30 and 10 <= len(a["dev"]) <= 30
    # every language x label stratum reaches test
    assert {(r["lang"], r["insult"]) for r in a["test"]} == {("tg", 1.0), ("tg", 0.0), ("ru", 1.0), ("ru", 0.0)}


def test_manifest_counts(tiny_data):
    m = manifest(tiny_data)
    assert m["splits"]["train"]["rows"] == 20
    assert m["splits"]["train"]["labels"]["insult"]["positive"] == 4
    assert m["files"][0]["sha256"] and m["files"][0]["rows"] == 20
    y = tiny_data.label_matrix("train")
    assert y.shape == (20, 4) and np.isin(y, [0.0, 1.0]).all()


def test_train_repeat_oversamples_training_rows_only(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(a, _rows(4))
    write_jsonl(b, [{**r, "id": f"b{i}"} for i, r in enumerate(_rows(3))])
    t = tmp_path / "t.jsonl"
    write_jsonl(t, [{**r, "id": f"t{i}"} for i, r in enumerate(_rows(2))])
    data = load_data(
        [
            SourceSpec(name="small", files={"train": [str(a)], "test": [str(t)]}, train_repeat=3),
            SourceSpec(name="big", files={"train": [str(b)]}),
        ]
    )
    epoch = data.training_records()
    assert sum(r["source"] == "small" for r in epoch) == 3 * sum(r["source"] == "small" for r in data.splits["train"])
    assert sum(r["source"] == "big" for r in epoch) == sum(r["source"] == "big" for r in data.splits["train"])
    m = manifest(data)
    assert m["train_repeat"] == {"small": 3}
    assert m["splits"]["train"]["rows"] == len(data.splits["train"])  # the manifest counts real rows, not repeats


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_train_repeat_must_be_a_positive_integer(bad):
    with pytest.raises(DataValidationError, match="train_repeat must be an integer >= 1"):
        source_from_dict("s", {"files": {"train": "x.jsonl"}, "train_repeat": bad})


def _write(path, rows):
    import json

    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def _row(i, text, insult=0):
    return {"id": str(i), "text": text, "lang": "ru", "insult": insult, "shaming": 0, "threat": 0, "doxxing": 0}


def test_cross_source_dedup_drops_a_planted_test_text_from_another_sources_train(tmp_path):
    from tfgbv.data.sources import SourceSpec, SplitSpec, load_data

    planted = "Это очень длинный и уникальный комментарий про соседей и их собаку"
    a = SourceSpec(
        name="a",
        files={
            "train": [_write(tmp_path / "a_train.jsonl", [_row(1, "обычный текст один")])],
            "test": [_write(tmp_path / "a_test.jsonl", [_row(2, planted)])],
        },
    )
    b_rows = [_row(1, planted.upper() + "!!!"), _row(2, planted + " да"), _row(3, "совсем другой текст тут")]
    b = SourceSpec(
        name="b", files={"train": [_write(tmp_path / "b_train.jsonl", b_rows)]}, split=SplitSpec(dev_fraction=0.0)
    )
    data = load_data([a, b])
    train_texts = [r["text"] for r in data.splits["train"]]
    assert (
        planted not in train_texts and planted.upper() + "!!!" not in train_texts and planted + " да" not in train_texts
    )
    assert [r["text"] for r in data.splits["test"]] == [planted]
    assert {(d["source"], d["split"], d["reason"], d["other_source"]) for d in data.dropped} == {
        ("b", "train", "leaks into test", "a")
    }
    assert sum(d["rows"] for d in data.dropped) == 2


def test_text_variants_of_one_row_are_never_duplicates_of_each_other(tmp_path):
    from tfgbv.data.sources import SourceSpec, SplitSpec, load_data

    p = tmp_path / "pairs.tsv"
    p.write_text(
        "toxic\tneutral\nну ты и дурак совсем\tну ты и совсем\nдругой дурацкий текст\tдругой текст\n", encoding="utf-8"
    )
    spec = SourceSpec(
        name="p",
        files={"all": [str(p)]},
        id_column=None,
        lang="ru",
        lang_column=None,
        label_columns={},
        text_variants=[{"column": "toxic", "labels": {"insult": 1}}, {"column": "neutral", "labels": {"insult": 0}}],
        split=SplitSpec(dev_fraction=0.0, test_fraction=0.5, seed=1),
    )
    data = load_data(
        [spec, SourceSpec(name="q", files={"test": [_write(tmp_path / "q.jsonl", [_row(1, "ничего общего")])]})]
    )
    recs = [r for s in data.splits.values() for r in s if r["source"] == "p"]
    assert len(recs) == 4 and not data.dropped
    assert len({(r["pair"], r["split"]) for r in recs}) == 2


def test_max_train_rows_caps_training_rows_only(tmp_path):
    from tfgbv.data.sources import SourceSpec, SplitSpec, load_data

    rows = [_row(i, f"текст номер {i} про что-то своё {i * 7919}") for i in range(40)]
    spec = SourceSpec(
        name="big",
        files={"all": [_write(tmp_path / "big.jsonl", rows)]},
        max_train_rows=10,
        split=SplitSpec(dev_fraction=0.25, test_fraction=0.25, seed=0),
    )
    data = load_data([spec])
    assert len(data.splits["train"]) == 10 and len(data.splits["dev"]) + len(data.splits["test"]) == 20
    assert data.capped == {"big": {"available": 20, "kept": 10}}


def test_non_utf8_text_source_names_the_file_and_line(tmp_path):
    p = tmp_path / "prose.txt"
    p.write_bytes("первая строка\nвторая\n".encode() + b"\xff\xfe bad\n")
    spec = SourceSpec(name="prose", files={"test": [str(p)]}, lang="tg", label_constants={lab: 0 for lab in LABELS})
    with pytest.raises(DataValidationError, match=r"prose.txt:3: not valid UTF-8"):
        load_data([spec])


# ----------------------------------------------------------------------------- reading quirks (issue 27)


def test_csv_with_lone_cr_line_ends_loads_every_row(tmp_path):
    p = tmp_path / "mac.csv"  # old Excel for Mac
    header = "id,text,lang,insult,shaming,threat,doxxing"
    p.write_bytes(f"{header}\r1,ты дура,ru,1,0,0,0\r2,привет,ru,0,0,0,0\r".encode())
    data = _load(p, split=SplitSpec(0.0, 0.0))
    assert sorted(r["id"] for r in data.splits["train"]) == ["1", "2"]


def test_jsonl_byte_order_mark_keeps_the_first_row(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows()).encode())
    data = _load(p, split=SplitSpec(0.0, 0.0))
    assert "r0" in {r["id"] for r in data.splits["train"]}


def test_deeply_nested_json_line_is_reported_at_its_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(_rows(1)[0]) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    assert f"{p}:2: invalid JSON (nested too deeply)" in _error(p)


def test_u2028_inside_a_training_comment_is_not_a_line_break(tmp_path):
    rows = _rows()
    rows[1]["text"] = "бирин\u2028дуюн\u0085учун"
    p = tmp_path / "d.jsonl"
    write_jsonl(p, rows)
    data = _load(p, split=SplitSpec(0.0, 0.0))
    assert "бирин\u2028дуюн\u0085учун" in {r["text"] for r in data.splits["train"]}


def test_json_field_and_duplicate_id_problems_are_reported_at_once(tmp_path):
    rows = _rows(5)
    rows[1]["threat"] = 2  # a field problem
    rows[3]["id"] = "r0"  # a duplicate id
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(2, "{not json")  # a JSON problem on line 3
    p = tmp_path / "d.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    msg = _error(p)
    assert "3 data problem(s)" in msg
    assert f"{p}:2: field 'threat'" in msg and f"{p}:3: invalid JSON" in msg and "duplicates id 'r0'" in msg


def test_values_in_validation_errors_are_masked_and_shortened(tmp_path):
    rows = _rows()
    rows[2]["lang"] = "Её адрес: ул. Рудаки 45, кв. 12, телефон +992 93 555 12 34, приходи вечером одна"
    p = tmp_path / "d.jsonl"
    write_jsonl(p, rows)
    msg = _error(p)
    assert f"{p}:3: field 'lang' has value" in msg
    assert "555" not in msg and "приходи" not in msg and "…" in msg


def test_absent_public_sources_give_one_warning_saying_how_to_get_them(tmp_path, caplog):
    """A mix whose public datasets are not downloaded: one message naming every skipped source, the folder, and the
    fix (`tfgbv-data fetch`, `paths.shared_datasets`), not one warning per source that says neither."""
    import logging

    write_jsonl(tmp_path / "seed.jsonl", _rows(12))
    shared = tmp_path / "shared" / "datasets"
    specs = [SourceSpec(name="seed", files={"all": [str(tmp_path / "seed.jsonl")]})] + [
        SourceSpec(name=name, files={"train": [str(shared / name / "train.csv")]}, optional=True)
        for name in ("ru_a", "ru_b", "tg_c")
    ]
    with caplog.at_level(logging.WARNING, logger="tfgbv.data.sources"):
        data = load_data(specs)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "3 optional data source(s) skipped" in warnings[0] and "ru_a, ru_b, tg_c" in warnings[0]
    assert str(shared) in warnings[0] and "Training goes on with seed" in warnings[0]
    assert "`tfgbv-data fetch`" in warnings[0] and "paths.shared_datasets" in warnings[0]
    assert [s["source"] for s in data.skipped] == ["ru_a", "ru_b", "tg_c"]


def test_plain_text_lines_end_at_line_ends_only(tmp_path):
    from tfgbv.data.sources import read_table

    p = tmp_path / "prose.txt"
    p.write_text("бирин\u2028дуюн\nсеюм\rчорум\n", encoding="utf-8")
    table = read_table(p)
    assert [r["text"] for r in table] == ["бирин\u2028дуюн", "сеюм", "чорум"] and table.lines == [1, 2, 3]
