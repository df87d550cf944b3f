"""Label Studio export -> canonical annotated JSONL: votes, majority/soft, unsure, skipped, pseudonyms, alpha,
disagreements, idempotent merge, refusal of malformed exports and unknown ids with nothing written."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import FIXTURES
from tfgbv import rundir
from tfgbv.annotate.importing import ImportSpec, import_annotations
from tfgbv.annotate.label_studio import ExportError, pseudonym
from tfgbv.data.annotation import nominal_alpha
from tfgbv.data.records import read_jsonl

ANN = FIXTURES / "annotate"
NAN = math.nan


def _import(tmp_path, export="export.json", **kw):
    spec = dict(export=str(ANN / export), selection=str(ANN / "selection.jsonl"), output=str(tmp_path / "tg.jsonl"))
    spec.update(salt="test-salt", **kw)
    summary = import_annotations(ImportSpec(**spec))
    records = [line.value for line in read_jsonl(tmp_path / "tg.jsonl")]  # lines end at "\n" only, like the tool's
    return summary, {r["id"]: r for r in records}


def test_votes_majority_unsure_and_skipped(tmp_path):
    summary, recs = _import(tmp_path)
    assert sorted(recs) == ["c1", "c2", "c3", "c4", "c5"]  # c6 has no annotation yet
    assert recs["c1"]["insult"] == 1 and recs["c1"]["annotator_votes"]["insult"] == [1, 1, 1]
    # annotator 3 ticked unsure on c2: a null vote, counted, not a vote; insult 1 of 2 -> majority tie -> 1
    assert recs["c2"]["annotator_votes"]["insult"] == [0, 1, None] and recs["c2"]["unsure"] == 1
    assert recs["c2"]["insult"] == 1 and recs["c2"]["shaming"] == 1
    # annotator 3 skipped c3: no vote at all, but the skip is kept for the audit trail
    assert recs["c3"]["annotator_votes"]["threat"] == [1, 0] and recs["c3"]["skipped"] == 1
    assert len(recs["c3"]["annotators"]) == 2
    assert recs["c5"]["insult"] == recs["c5"]["doxxing"] == 0
    assert summary["annotators"] == 3 and summary["unsure"] == 1 and summary["skipped"] == 1


def test_soft_labels_are_the_mean_vote(tmp_path):
    _, recs = _import(tmp_path, label_mode="soft")
    assert recs["c2"]["insult"] == 0.5 and recs["c4"]["threat"] == pytest.approx(0.3333, abs=1e-4)


def test_raw_text_restored_and_annotators_pseudonymous(tmp_path):
    _, recs = _import(tmp_path)
    assert "+992 93 555 12 34" in recs["c4"]["text"]  # the raw text from selection.jsonl, not Label Studio's mask
    out = (tmp_path / "tg.jsonl").read_text(encoding="utf-8")
    assert "@example.com" not in out
    assert set(recs["c1"]["annotators"]) == {pseudonym(u, "test-salt") for u in (1, 2, 3)}
    assert pseudonym(1, "test-salt") != pseudonym(1, "other-salt")
    assert "<PHONE>" in recs["c4"]["annotations"][2]["note"]  # notes are masked


def test_snapshot_export_gives_the_same_file(tmp_path):
    _import(tmp_path / "a", "export.json")
    _import(tmp_path / "b", "export_snapshot.json")
    assert (tmp_path / "a" / "tg.jsonl").read_bytes() == (tmp_path / "b" / "tg.jsonl").read_bytes()


def test_alpha_and_disagreement_report(tmp_path):
    summary, recs = _import(tmp_path)
    # [annotators, items] for c1..c5, NaN = no vote (unsure on c2, skipped on c3)
    insult = np.array([[1, 0, 0, 0, 0], [1, 1, 0, 0, 0], [1, NAN, NAN, 0, 0]])
    threat = np.array([[0, 0, 1, 1, 0], [0, 0, 0, 0, 0], [0, NAN, NAN, 0, 0]])
    assert summary["alpha"]["insult"] == pytest.approx(nominal_alpha(insult))
    assert summary["alpha"]["threat"] == pytest.approx(nominal_alpha(threat))
    assert summary["alpha"]["doxxing"] == pytest.approx(1.0)
    json_path, md_path = rundir.agreement_paths(tmp_path / "tg.jsonl")
    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert [d["id"] for d in report["disagreements"]["threat"]] == ["c3", "c4"]
    c4 = report["disagreements"]["threat"][1]
    assert (c4["yes"], c4["no"]) == (1, 2) and "<PHONE>" in c4["text"] and "555" not in json_path.read_text()
    md = md_path.read_text(encoding="utf-8")
    assert "## threat: 2 comments" in md and "555" not in md


def test_reimport_is_byte_identical_and_merges_new_annotations(tmp_path):
    _import(tmp_path)
    first = (tmp_path / "tg.jsonl").read_bytes()
    _import(tmp_path)
    assert (tmp_path / "tg.jsonl").read_bytes() == first
    # a later export of the same project: one more annotation on c5 by a fourth annotator
    later = json.loads((ANN / "export.json").read_text(encoding="utf-8"))
    task = next(t for t in later if t["data"]["id"] == "c5")
    task["annotations"].append(
        {
            "id": 200,
            "completed_by": 4,
            "result": [{"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": ["insult"]}}],
        }
    )
    path = tmp_path / "export_later.json"
    path.write_text(json.dumps(later, ensure_ascii=False), encoding="utf-8")
    _, recs = _import(tmp_path, export=str(path))
    assert recs["c5"]["annotator_votes"]["insult"] == [0, 0, 0, 1] and len(recs) == 5
    _, again = _import(tmp_path)  # the old export again: nothing lost, nothing doubled
    assert again["c5"]["annotator_votes"]["insult"] == [0, 0, 0, 1]


def _broken(tmp_path, change) -> str:
    data = json.loads((ANN / "export.json").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda d: d[1]["annotations"][1]["result"][0]["value"].update(choices="insult"),
            r"export.json: task 12: annotations\[1\]\.result\[0\]\.value\.choices: expected a list of strings",
        ),
        (lambda d: d[0]["annotations"][0].pop("completed_by"), r"task 11: annotations\[0\]\.completed_by: expected"),
        (lambda d: d[2]["data"].pop("id"), r"task 13: data\.id: expected our comment id"),
        (
            lambda d: d[0]["annotations"][2]["result"][0]["value"].update(choices=["insulting"]),
            r"task 11: annotations\[2\]\.result\[0\]\.value\.choices: unknown label\(s\) \['insulting'\]",
        ),
        (lambda d: d.__setitem__(slice(None), [{"tasks": []}]), r"task at position 0: expected an object"),
    ],
)
def test_malformed_export_is_refused_naming_task_and_field_and_nothing_is_written(tmp_path, change, message):
    with pytest.raises(ExportError, match=message):
        _import(tmp_path, export=_broken(tmp_path, change))
    assert not (tmp_path / "tg.jsonl").exists() and not list(tmp_path.glob("*.agreement.*"))


def test_unknown_id_is_refused_unless_masked_text_is_allowed(tmp_path):
    sel = tmp_path / "selection.jsonl"
    lines = (ANN / "selection.jsonl").read_text(encoding="utf-8").splitlines()
    sel.write_text("\n".join(line for line in lines if '"c4"' not in line) + "\n", encoding="utf-8")
    with pytest.raises(ExportError, match=r"task 14: data\.id 'c4' is not in the selection"):
        _import(tmp_path, selection=str(sel))
    assert not (tmp_path / "tg.jsonl").exists()
    _, recs = _import(tmp_path, selection=str(sel), allow_masked_text=True)
    assert recs["c4"]["text"] == "Её номер <PHONE>, звоните ей все"


def test_existing_output_is_left_alone_when_the_export_is_bad(tmp_path):
    _import(tmp_path)
    before = (tmp_path / "tg.jsonl").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(ExportError):
        _import(tmp_path, export=_broken(bad, lambda d: d[0].update(annotations="x")))
    assert (tmp_path / "tg.jsonl").read_bytes() == before


def test_salt_defaults_to_a_per_machine_file(tmp_path, monkeypatch):
    from tfgbv.annotate.importing import annotator_salt

    monkeypatch.setenv("TFGBV_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("TFGBV_ANNOTATOR_SALT", raising=False)
    first = annotator_salt(None)
    assert first == annotator_salt(None) and len(first) == 32
    monkeypatch.setenv("TFGBV_ANNOTATOR_SALT", "from-env")
    assert annotator_salt(None) == "from-env" and annotator_salt("given") == "given"
    shutil.rmtree(tmp_path / "cache")


def test_selection_with_u2028_in_a_comment_imports_with_the_text_intact(tmp_path):
    lines = (ANN / "selection.jsonl").read_text(encoding="utf-8").split("\n")
    first = json.loads(lines[0])
    first["text"] += "\u2028второй абзац"
    lines[0] = json.dumps(first, ensure_ascii=False)
    selection = tmp_path / "selection.jsonl"
    selection.write_text("\n".join(lines), encoding="utf-8")
    _, recs = _import(tmp_path, selection=str(selection))  # splitlines() read it as several broken lines
    assert recs[first["id"]]["text"].endswith("\u2028второй абзац")


def test_deeply_nested_selection_line_is_reported_at_its_line_and_nothing_is_written(tmp_path):
    selection = tmp_path / "selection.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    selection.write_text((ANN / "selection.jsonl").read_text(encoding="utf-8").rstrip("\n") + "\n" + deep + "\n")
    n = len(selection.read_text(encoding="utf-8").split("\n")) - 1
    with pytest.raises(ExportError, match=rf"selection.jsonl:{n}: invalid JSON \(nested too deeply\)"):
        _import(tmp_path, selection=str(selection))
    assert not (tmp_path / "tg.jsonl").exists()


def test_deeply_nested_export_is_refused_naming_the_file(tmp_path):
    export = tmp_path / "export.json"
    export.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ExportError, match=r"export.json: not a readable JSON file \(nested too deeply\)"):
        _import(tmp_path, export=str(export))


# ----------------------------------------------------------------------------- ids that collide


def _export(tmp_path: Path, name: str, change=None) -> str:
    data = json.loads((ANN / "export.json").read_text(encoding="utf-8"))
    if change:
        change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _import_all(tmp_path: Path, exports: list[str], selection: Path = ANN / "selection.jsonl"):
    spec = ImportSpec(export=exports, selection=str(selection), output=str(tmp_path / "tg.jsonl"), salt="test-salt")
    import_annotations(spec)
    return {line.value["id"]: line.value for line in read_jsonl(tmp_path / "tg.jsonl")}


def _other_comment_under_c1(data: list) -> None:
    """Task 21 of another project shows another comment (a threat) under our id c1, with three threat votes."""
    task = data[3]  # c4's task: threat votes
    task.update(id=21)
    task["data"].update(id="c1", text="Я тебя найду и убью")
    data[:] = [task]


def test_same_id_with_another_text_in_two_exports_of_one_call_is_refused_naming_both(tmp_path):
    a = _export(tmp_path, "a.json")
    b = _export(tmp_path, "b.json", _other_comment_under_c1)
    with pytest.raises(ExportError) as err:
        _import_all(tmp_path, [a, b])
    message = str(err.value)
    assert "b.json: task 21: data.id 'c1'" in message and "task 11 of" in message and "a.json" in message
    assert "Я тебя найду" in message and "Ту як гови" in message
    assert not (tmp_path / "tg.jsonl").exists()


def test_same_id_with_another_text_than_the_existing_output_is_refused_naming_both(tmp_path):
    _import_all(tmp_path, [_export(tmp_path, "a.json")])
    before = (tmp_path / "tg.jsonl").read_bytes()
    selection = tmp_path / "selection2.jsonl"
    selection.write_text(
        json.dumps({"id": "c1", "text": "Я тебя найду и убью", "lang": "ru"}, ensure_ascii=False) + "\n", "utf-8"
    )
    with pytest.raises(ExportError, match=r"data\.id 'c1': .*tg\.jsonl holds the text 'Ту як гови.*task 21 of"):
        _import_all(tmp_path, [_export(tmp_path, "b.json", _other_comment_under_c1)], selection=selection)
    assert (tmp_path / "tg.jsonl").read_bytes() == before  # the threat's votes were not merged into c1


def test_same_comment_shown_masked_differently_is_not_a_conflict(tmp_path):
    def unmasked(data):  # an older masking left the phone number visible in Label Studio
        data[3]["data"]["text"] = data[3]["data"]["text"].replace("<PHONE>", "+992 93 555 12 34")

    recs = _import_all(tmp_path, [_export(tmp_path, "a.json"), _export(tmp_path, "b.json", unmasked)])
    assert "+992 93 555 12 34" in recs["c4"]["text"]


def _second_instance(created: bool, users: tuple[int, ...]):
    """The same tasks in another Label Studio instance: the same task and annotation ids (both start at 1 there too),
    other annotators' votes: on c4, threat from everyone."""

    def change(data):
        for task in data:
            if created:
                task["created_at"] = "2026-03-02T10:00:00.000000Z"
            for ann, user in zip(task["annotations"], users):
                ann["completed_by"] = user
                if task["data"]["id"] == "c4":
                    ann["result"] = [
                        {"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": ["threat"]}}
                    ]

    return change


def _first_instance(created: bool):
    def change(data):
        for task in data:
            if created:
                task["created_at"] = "2026-01-15T09:00:00.000000Z"

    return change


@pytest.mark.parametrize(
    "created, users",
    [(True, (1, 2, 3)), (False, (7, 8, 9))],
    ids=["tasks-with-created_at-same-user-ids", "no-created_at-other-user-ids"],
)
def test_colliding_task_and_annotation_ids_of_two_instances_keep_every_vote(tmp_path, created, users):
    a = _export(tmp_path, "a.json", _first_instance(created))
    b = _export(tmp_path, "b.json", _second_instance(created, users))
    recs = _import_all(tmp_path / "one_call", [a, b])
    # c4: 1 threat vote of 3 in the first instance, 3 of 3 in the second: all six votes kept
    assert sorted(recs["c4"]["annotator_votes"]["threat"]) == [0, 0, 1, 1, 1, 1]
    assert len(recs["c1"]["annotations"]) == 6
    one_by_one = _import_all(tmp_path / "two_calls", [a])
    one_by_one = _import_all(tmp_path / "two_calls", [b])
    assert one_by_one == recs
    first = (tmp_path / "two_calls" / "tg.jsonl").read_bytes()
    _import_all(tmp_path / "two_calls", [a, b])  # importing again changes nothing
    assert (tmp_path / "two_calls" / "tg.jsonl").read_bytes() == first


def test_entries_written_without_created_at_are_not_doubled_when_it_appears(tmp_path):
    legacy = _import_all(tmp_path, [_export(tmp_path, "a.json")])
    recs = _import_all(tmp_path, [_export(tmp_path, "b.json", _first_instance(True))])
    assert recs["c4"]["annotator_votes"] == legacy["c4"]["annotator_votes"]
    assert all(e.get("task_created") for r in recs.values() for e in r["annotations"])


def test_duplicated_annotation_id_within_a_task_is_refused(tmp_path):
    def duplicate(data):
        data[3]["annotations"][2]["id"] = data[3]["annotations"][0]["id"]

    with pytest.raises(ExportError, match=r"task 14: annotations\[2\]\.id 110 repeats annotations\[0\]\.id"):
        _import_all(tmp_path, [_export(tmp_path, "a.json", duplicate)])
    assert not (tmp_path / "tg.jsonl").exists()
