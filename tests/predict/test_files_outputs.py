"""What batch scoring writes is safe to open and never replaces what it must not: FIFOs and device nodes are refused as
outputs, CSV cells cannot run as spreadsheet formulas, another model's scores are not overwritten, and both engines
report in one summary schema."""

import csv
import json
import os
import stat
from pathlib import Path

import pytest

from tests.predict.test_files_reliability import SPEC, FakeClassifier, _jsonl
from tfgbv.predict.files import ScoreSpec, ScoringError, csv_safe, score_files


class OtherModel(FakeClassifier):
    model_id = "other-111111111111"


def _input(tmp_path: Path) -> Path:
    return _jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": f"матн {i}"} for i in range(4)])


# ----------------------------------------------------------------------------- FIFOs and devices (issue 27.7)


def test_fifo_output_is_refused_and_left_a_fifo(tmp_path):
    fifo = tmp_path / "scores.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(ScoringError, match="is a FIFO"):  # a reader-less FIFO would hang the run
        score_files(FakeClassifier(), [str(_input(tmp_path))], fifo, SPEC)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_rejects_symlinked_to_a_device_is_refused_and_the_link_kept(tmp_path):
    link = tmp_path / "rejects.jsonl"
    link.symlink_to(os.devnull)  # the link is ours; /dev/null itself is only stat-ed
    with pytest.raises(ScoringError, match=r"rejects .* is a character device \(through a symlink\)"):
        score_files(FakeClassifier(), [str(_input(tmp_path))], tmp_path / "o.jsonl", SPEC, rejects=link)
    assert link.is_symlink() and os.readlink(link) == os.devnull
    assert not (tmp_path / "o.jsonl").exists()


def test_summary_path_that_is_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "o.jsonl.summary.json")
    with pytest.raises(ScoringError, match="summary .* is a FIFO"):
        score_files(FakeClassifier(), [str(_input(tmp_path))], tmp_path / "o.jsonl", SPEC)


# ----------------------------------------------------------------------------- CSV formula injection (issue 27.8)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_starting_like_a_formula_are_neutralised(start):
    assert csv_safe(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"
    assert csv_safe(f"a{start}b") == f"a{start}b" and csv_safe(0.5) == 0.5


def test_csv_output_never_holds_a_formula_but_jsonl_keeps_the_values(tmp_path):
    rows = [
        {"id": '=HYPERLINK("http://x","y")', "text": "=1+1 ты дура"},
        {"id": "+992 93 000 00 00", "text": "@SUM(A1) привет"},
        {"id": "-5", "text": "-нормально"},
        {"id": "ok", "text": "\tтаб"},
    ]
    src = _jsonl(tmp_path / "in.jsonl", rows)
    spec = ScoreSpec(quiet=True, echo_text=True, mask_pii=False)
    score_files(FakeClassifier(), [str(src)], tmp_path / "o.csv", spec)
    score_files(FakeClassifier(), [str(src)], tmp_path / "o.jsonl", spec)
    with (tmp_path / "o.csv").open(encoding="utf-8", newline="") as fh:
        cells = [value for rec in csv.DictReader(fh) for value in rec.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    got = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["text"]) for r in got] == [(r["id"], r["text"]) for r in rows]


# ----------------------------------------------------------------------------- another model's scores (issue 26.3)


def test_rescoring_into_another_models_output_is_refused_not_overwritten(tmp_path):
    src, out = _input(tmp_path), tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(src)], out, SPEC)
    before = out.read_bytes()
    with pytest.raises(ScoringError, match=r"holds scores of model fake-000000000000.*other-111111111111"):
        score_files(OtherModel(), [str(src)], out, SPEC)
    assert out.read_bytes() == before
    (tmp_path / "o.jsonl.summary.json").unlink()  # without its summary, the file's own model_id column says it
    with pytest.raises(ScoringError, match="holds scores of model fake-000000000000"):
        score_files(OtherModel(), [str(src)], out, SPEC)
    assert score_files(FakeClassifier(), [str(src)], out, SPEC)["ok"]  # the same model may rewrite its scores


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_another_models_output_is_recognised_in_every_format(tmp_path, fmt):
    src, out = _input(tmp_path), tmp_path / f"o.{fmt}"
    score_files(FakeClassifier(), [str(src)], out, SPEC)
    (tmp_path / f"o.{fmt}.summary.json").unlink()
    with pytest.raises(ScoringError, match="holds scores of model fake-000000000000"):
        score_files(OtherModel(), [str(src)], out, SPEC)


def test_same_model_in_another_precision_may_rescore(tmp_path):
    src, out = _input(tmp_path), tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(src)], out, SPEC)
    summary = tmp_path / "o.jsonl.summary.json"
    old = json.loads(summary.read_text())
    summary.write_text(json.dumps({**old, "model_id": "fake-000000000000-bf16"}))  # an older version's suffixed id
    assert score_files(FakeClassifier(), [str(src)], out, SPEC)["ok"]


# ----------------------------------------------------------------------------- one summary schema (issue 26.5)


def test_local_summary_has_the_shared_schema(tmp_path):
    from tfgbv.predict.files import COUNT_KEYS

    s = score_files(FakeClassifier(), [str(_input(tmp_path))], tmp_path / "o.parquet", SPEC)
    for key in (*COUNT_KEYS, "engine", "ok", "model_id", "precision", "accounting_ok", "run_key", "bad_files"):
        assert key in s, key
    assert s["engine"] == "local" and s["scored_rows"] == 4 and s["ok"]
