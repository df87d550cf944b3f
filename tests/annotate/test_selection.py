"""Selection end to end on the tiny run: deterministic, excludes what was annotated, stratified, duplicates collapsed,
raw text only in the local selection file (tasks.json masked), scores from a tfgbv-predict output reused."""

import json

import pytest

from tests.helpers import FIXTURES
from tfgbv import rundir
from tfgbv.annotate.selection import SelectionError, SelectSpec, guess_lang, select_batch
from tfgbv.annotate.strategies import stratum_keys
from tfgbv.labels import LABELS

PHONE = "+992 93 555 12 34"


@pytest.fixture(scope="module")
def raw_pool(tmp_path_factory):
    """The fixture corpus as raw comments (no labels), three copies of one comment and one with a phone number."""
    rows = [json.loads(line) for line in (FIXTURES / "tiny_corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    out = tmp_path_factory.mktemp("pool") / "dump.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"id": r["id"], "text": r["text"], "lang": r["lang"]}, ensure_ascii=False) + "\n")
        for k in range(3):
            fh.write(json.dumps({"id": f"copy-{k}", "text": rows[0]["text"].upper() + "!", "lang": "tg"}) + "\n")
        fh.write(json.dumps({"id": "pii", "text": f"Её номер {PHONE}, пишите ей", "lang": "ru"}) + "\n")
        fh.write(json.dumps({"id": "empty", "text": "  ", "lang": "ru"}) + "\n")
    return out


def _select(tiny_run, raw_pool, out_dir, **kw):
    spec = SelectSpec(model_dir=str(tiny_run), input=str(raw_pool), out_dir=str(out_dir), **{"n": 8, **kw})
    summary = select_batch(spec)
    rows = [json.loads(x) for x in (out_dir / rundir.SELECTION).read_text(encoding="utf-8").splitlines()]
    return summary, rows


def test_selection_is_deterministic_and_writes_the_batch(tiny_run, raw_pool, tmp_path):
    summary, rows = _select(tiny_run, raw_pool, tmp_path / "a")
    _select(tiny_run, raw_pool, tmp_path / "b")
    for name in (rundir.SELECTION, rundir.TASKS, rundir.LABEL_CONFIG):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert len(rows) == 8 == summary["selected"] and summary["left_out"] == {"empty text": 1}
    assert [r["order"] for r in rows] == list(range(8)) and {r["strategy"] for r in rows} == {"uncertainty_diversity"}
    assert set(rows[0]["scores"]) == set(LABELS)


def test_duplicates_collapse_and_every_stratum_is_served(tiny_run, raw_pool, tmp_path):
    summary, rows = _select(tiny_run, raw_pool, tmp_path, n=100, strategy="random")
    assert summary["duplicates_collapsed"] == 3 and len(rows) == summary["pool"] == 21
    first = next(r for r in rows if r["id"] == "fx-000")
    assert first["copies"] == 4 and not any(r["id"].startswith("copy-") for r in rows)
    small, few = _select(tiny_run, raw_pool, tmp_path / "few", n=4)
    pool_strata = set(summary["strata"])
    assert len(set(small["strata"])) == min(4, len(pool_strata))  # strata taken in turn, not the biggest first
    probs = [[r["scores"][lab] for lab in LABELS] for r in few]
    from tfgbv.predict.loading import load_classifier

    clf = load_classifier(tiny_run)
    assert [r["stratum"] for r in few] == stratum_keys([r["lang"] for r in few], probs, clf.thresholds, LABELS)


def test_annotated_ids_and_texts_are_excluded(tiny_run, raw_pool, tmp_path):
    done = tmp_path / "done.jsonl"
    done.write_text(json.dumps({"id": "fx-001", "text": "x", "lang": "tg"}) + "\n", encoding="utf-8")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"id": 1, "data": {"id": "fx-002", "text": "m"}, "annotations": []}]), "utf-8")
    corpus = (FIXTURES / "tiny_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    same_text = tmp_path / "same_text.jsonl"  # annotated under another id: its text is excluded too
    same_text.write_text(json.dumps({**json.loads(corpus[3]), "id": "elsewhere"}) + "\n", encoding="utf-8")
    summary, rows = _select(tiny_run, raw_pool, tmp_path / "b", n=100, exclude=[str(done), str(export), str(same_text)])
    ids = {r["id"] for r in rows}
    assert not ids & {"fx-001", "fx-002", json.loads(corpus[3])["id"]} and summary["annotated_before"] == 3


def test_raw_text_stays_local_and_tasks_are_masked(tiny_run, raw_pool, tmp_path):
    _, rows = _select(tiny_run, raw_pool, tmp_path, n=100, strategy="uncertainty")
    tasks_text = (tmp_path / rundir.TASKS).read_text(encoding="utf-8")
    assert PHONE in next(r["text"] for r in rows if r["id"] == "pii")
    assert PHONE not in tasks_text and "Её номер <PHONE>, пишите ей" in tasks_text
    tasks = json.loads(tasks_text)
    assert {t["data"]["id"] for t in tasks} == {r["id"] for r in rows}
    pred = tasks[0]["predictions"][0]
    assert pred["model_version"] == rows[0]["model_id"] and 0 <= pred["score"] <= 1


def test_scores_from_a_predict_output_are_reused(tiny_run, raw_pool, tmp_path):
    from tfgbv.predict.files import ScoreSpec, load_scorer, score_files

    scores = tmp_path / "scores.jsonl"
    score_files(load_scorer(tiny_run, bf16=False), [str(raw_pool)], str(scores), ScoreSpec(quiet=True))
    summary, rows = _select(tiny_run, raw_pool, tmp_path / "b", scores=str(scores))
    _, again = _select(tiny_run, raw_pool, tmp_path / "c")
    assert summary["scored_now"] == 0 and [r["id"] for r in rows] == [r["id"] for r in again]


def test_scores_of_the_same_run_at_another_precision_are_accepted(tiny_run, raw_pool, tmp_path):
    """The README's loop: tfgbv-predict with bf16 (old files: ids tagged "-bf16"), then tfgbv-select on that run."""
    from tfgbv.predict.files import ScoreSpec, load_scorer, score_files

    scores = tmp_path / "scores.jsonl"
    score_files(load_scorer(tiny_run, bf16=True), [str(raw_pool)], str(scores), ScoreSpec(quiet=True))
    rows = [json.loads(x) for x in scores.read_text(encoding="utf-8").splitlines()]
    assert {r["precision"] for r in rows} == {"bf16"}
    assert _select(tiny_run, raw_pool, tmp_path / "a", scores=str(scores))[0]["scored_now"] == 0
    old = tmp_path / "old.jsonl"  # written before the precision was a field of its own
    old.write_text("".join(json.dumps({**r, "model_id": r["model_id"] + "-bf16"}) + "\n" for r in rows), "utf-8")
    assert _select(tiny_run, raw_pool, tmp_path / "b", scores=str(old))[0]["scored_now"] == 0
    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({**r, "model_id": "tiny-000000000000-bf16"}) + "\n" for r in rows), "utf-8")
    with pytest.raises(SelectionError, match="another run's output"):
        _select(tiny_run, raw_pool, tmp_path / "c", scores=str(other))


def test_bad_options_and_input_are_refused(tiny_run, raw_pool, tmp_path):
    with pytest.raises(SelectionError, match="strategy must be one of"):
        SelectSpec(model_dir="m", input="i", out_dir="o", strategy="smart")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "ok", "lang": "tg"}\n{"id": "b", "text": "x", "lang": "de"}\n', "utf-8")
    with pytest.raises(SelectionError, match=r"bad.jsonl:2: field 'lang' has value 'de'"):
        _select(tiny_run, bad, tmp_path / "o")


def test_guess_lang():
    assert guess_lang("Ту чӣ гуфтӣ") == "tg" and guess_lang("Привет всем") == "ru"


def test_selection_reads_like_scoring_leaving_out_a_bad_line_and_going_on(tiny_run, tmp_path):
    dump = tmp_path / "dump.jsonl"
    good = [
        json.dumps({"id": f"g{i}", "text": f"Ту бешарм ҳастӣ {i}", "lang": "tg"}, ensure_ascii=False) for i in range(4)
    ]
    dump.write_text("\n".join([good[0], "{not json", good[1], '{"id": "e", "text": ""}', *good[2:]]) + "\n", "utf-8")
    summary, rows = _select(tiny_run, dump, tmp_path / "o", n=4)
    assert sorted(r["id"] for r in rows) == ["g0", "g1", "g2", "g3"]
    assert summary["left_out"] == {"invalid JSON": 1, "empty text": 1} and summary["rows_read"] == 6


def test_selection_refuses_a_csv_without_the_text_column_before_loading_the_model(tmp_path):
    dump = tmp_path / "dump.csv"
    dump.write_text("id;message\n1;салом\n", encoding="utf-8")
    with pytest.raises(SelectionError, match=r"dump.csv: the header has no column 'text'"):
        _select(tmp_path / "no-run", dump, tmp_path / "o")


def test_selection_reads_an_existing_path_with_brackets_as_that_file(tiny_run, raw_pool, tmp_path):
    named = tmp_path / "dump[1].jsonl"
    named.write_bytes(raw_pool.read_bytes())
    (tmp_path / "dump1.jsonl").write_text('{"id": "other", "text": "x", "lang": "tg"}\n', encoding="utf-8")
    summary, rows = _select(tiny_run, named, tmp_path / "o", n=4)
    assert summary["rows_read"] == 25 and "other" not in {r["id"] for r in rows}


def test_an_exclude_file_with_u2028_in_a_comment_is_read_by_lines(tiny_run, raw_pool, tmp_path):
    annotated = tmp_path / "annotated.jsonl"
    annotated.write_text(json.dumps({"id": "fx-001", "text": "бирин\u2028дуюн"}, ensure_ascii=False) + "\n", "utf-8")
    summary, rows = _select(tiny_run, raw_pool, tmp_path / "o", n=100, strategy="random", exclude=[str(annotated)])
    assert summary["annotated_before"] == 1 and "fx-001" not in {r["id"] for r in rows}
