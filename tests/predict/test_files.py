"""Batch scoring: schema, determinism, rejects, resume after kill -9 with exact accounting, bounded memory."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.helpers import REPO
from tfgbv.labels import LABELS
from tfgbv.predict.files import ScoreSpec, ScoringError, score_files


@pytest.fixture(scope="module")
def clf(tiny_run):
    from tfgbv.predict.transformer import Classifier

    return Classifier.from_pretrained(tiny_run)


def _write_jsonl(path: Path, n: int, bad: bool = False) -> Path:
    with path.open("wb") as fh:
        for i in range(n):
            fh.write(
                json.dumps(
                    {"id": f"c{i}", "text": f"Комментарий {i}: ту бешарм ҳастӣ {i % 7}"}, ensure_ascii=False
                ).encode()
                + b"\n"
            )
        if bad:
            fh.write(b'{"id": "e1", "text": ""}\n')
            fh.write(b'{"id": "e2", "text": 12}\n')
            fh.write(b'{"id": "e3"}\n')
            fh.write(b'{"id": "e4", "text": "\xff\xfe broken"}\n')
            fh.write(b"{not json\n")
            fh.write(json.dumps({"id": "e6", "text": "x" * 50}).encode() + b"\n")
    return path


def test_output_schema_rejects_and_accounting(tmp_path, clf):
    src = _write_jsonl(tmp_path / "in.jsonl", 30, bad=True)
    out = tmp_path / "scores.parquet"
    summary = score_files(clf, [str(src)], out, ScoreSpec(chunk_rows=8, max_chars=40, quiet=True, echo_text=True))
    table = pq.read_table(out)
    assert table.column_names == ["id"] + [f"p_{lab}" for lab in LABELS] + [
        "labels",
        "needs_review",
        "model_id",
        "precision",
        "text",
    ]
    assert table.num_rows == 30 and summary["input_rows"] == 36 and summary["accounting_ok"]
    rejects = [json.loads(line) for line in (tmp_path / "scores.parquet.rejects.jsonl").read_text().splitlines()]
    reasons = {r["id"]: r["reason"] for r in rejects}
    assert reasons["e1"] == "empty text" and "not a string" in reasons["e2"] and reasons["e3"] == "no 'text' field"
    assert "over-long" in reasons["e6"]
    assert any("undecodable" in r["reason"] and r["line"] == 34 for r in rejects)  # the whole line is unreadable
    assert any("invalid JSON" in r["reason"] and r["line"] == 35 for r in rejects)
    assert len(set(table.column("id").to_pylist())) == 30
    assert table.column("model_id").to_pylist()[0] == clf.model_id
    assert json.loads((tmp_path / "scores.parquet.summary.json").read_text())["output_rows"] == 30


def test_scores_are_deterministic_and_match_the_python_api(tmp_path, clf):
    src = _write_jsonl(tmp_path / "in.jsonl", 20)
    a = score_files(clf, [str(src)], tmp_path / "a.parquet", ScoreSpec(chunk_rows=6, quiet=True))
    b = score_files(clf, [str(src)], tmp_path / "b.jsonl", ScoreSpec(chunk_rows=20, quiet=True))
    ta = pq.read_table(tmp_path / "a.parquet").to_pylist()
    tb = [json.loads(line) for line in (tmp_path / "b.jsonl").read_text().splitlines()]
    assert a["output_rows"] == b["output_rows"] == 20
    for x, y in zip(ta, tb):
        assert x["id"] == y["id"] and abs(x["p_insult"] - y["p_insult"]) < 1e-6
    texts = [json.loads(line)["text"] for line in src.read_text().splitlines()]
    direct = clf.predict_proba(texts)
    np.testing.assert_allclose([r["p_threat"] for r in ta], direct[:, LABELS.index("threat")], rtol=1e-5)


def test_csv_parquet_and_glob_inputs_with_custom_columns(tmp_path, clf):
    import pandas as pd

    df = pd.DataFrame({"msg_id": [f"m{i}" for i in range(10)], "message": [f"салом {i}" for i in range(10)]})
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "b.parquet")
    out = tmp_path / "o.csv"
    s = score_files(
        clf,
        [str(tmp_path / "*.csv"), str(tmp_path / "*.parquet")],
        out,
        ScoreSpec(text_column="message", id_column="msg_id", quiet=True),
    )
    assert s["output_rows"] == 20 and out.read_text().count("\n") == 21


def test_pii_is_masked_in_echoed_text(tmp_path, clf):
    p = tmp_path / "in.jsonl"
    p.write_text(
        json.dumps({"id": "x", "text": "рақамаш +992 00 071 22 45"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    score_files(clf, [str(p)], tmp_path / "o.jsonl", ScoreSpec(echo_text=True, quiet=True))
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert "071" not in row["text"] and "<PHONE>" in row["text"]


def test_unfinished_run_with_other_arguments_is_refused(tmp_path, clf):
    src = _write_jsonl(tmp_path / "in.jsonl", 5)
    out = tmp_path / "o.parquet"
    score_files(clf, [str(src)], out, ScoreSpec(quiet=True, keep_parts=True))
    with pytest.raises(ScoringError, match="unfinished run with other"):
        score_files(clf, [str(src)], out, ScoreSpec(quiet=True, review_band=0.3))


@pytest.mark.slow
def test_resume_after_kill_scores_every_row_exactly_once(tmp_path, tiny_run):
    src = _write_jsonl(tmp_path / "big.jsonl", 6000)
    out = tmp_path / "scores.parquet"
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "predict.py"),
        f"model_dir={tiny_run}",
        f"input={src}",
        f"output={out}",
        "chunk_rows=500",
        "quiet=true",
        "bf16=false",
        "num_threads=1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    parts = Path(str(out) + ".parts")
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("out-*.parquet"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # A chunk is finished only once its marker is written (after both shards): the kill may land between them.
    done_before = len(list(parts.glob("cnt-*.json")))
    assert 1 <= done_before < 12 and not out.exists()
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((tmp_path / "scores.parquet.summary.json").read_text())
    assert summary["skipped_chunks"] >= done_before and summary["accounting_ok"]
    ids = pq.read_table(out, columns=["id"]).column("id").to_pylist()
    assert len(ids) == 6000 and len(set(ids)) == 6000


@pytest.mark.slow
def test_memory_stays_bounded_on_a_large_input(tmp_path, tiny_run):
    """Peak RSS for 20x more rows grows by far less than the input does (streaming in chunks), and stays within a
    fixed budget (docs/inference.md documents the 1,000,000-row measurement)."""
    procs = {}
    for n in (4_000, 80_000):  # both sizes at once, one thread each (each process reports its own peak)
        src = _write_jsonl(tmp_path / f"in{n}.jsonl", n)
        code = (
            "import resource,sys;from tfgbv.predict.transformer import Classifier;"
            "from tfgbv.predict.files import ScoreSpec,score_files;"
            f"c=Classifier.from_pretrained({str(tiny_run)!r},batch_size=256,num_threads=1);"
            f"score_files(c,[{str(src)!r}],{str(tmp_path / f'o{n}.parquet')!r},ScoreSpec(chunk_rows=2000,quiet=True));"
            # VmHWM: this process's own peak. ru_maxrss would also count the pytest parent's RSS at fork time
            # (Linux carries it across fork + exec), so a big parent made the two sizes read the same.
            "hwm=[l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')];"
            "print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        procs[n] = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    rss = {}
    for n, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        rss[n] = int(out.strip().splitlines()[-1]) / 1024  # both are in KiB on Linux
        assert pq.read_metadata(tmp_path / f"o{n}.parquet").num_rows == n
    assert rss[80_000] < rss[4_000] * 1.3 and rss[80_000] < 1500, rss


def test_row_estimate_for_the_progress_bar(tmp_path):
    import pandas as pd

    from tfgbv.predict.files import estimate_rows

    src = _write_jsonl(tmp_path / "in.jsonl", 12)
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x", "y", "z"]})
    df.to_csv(tmp_path / "a.csv", index=False)
    df.to_parquet(tmp_path / "b.parquet")
    assert estimate_rows([str(src), str(tmp_path / "a.csv"), str(tmp_path / "b.parquet")]) == 18
    assert estimate_rows(["-"]) is None


def test_jsonl_on_stdin(tmp_path, clf, monkeypatch):
    import io

    raw = b'{"id": "s1", "text": "salom"}\n\n{"id": "s2", "text": ""}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(raw))))
    s = score_files(clf, ["-"], tmp_path / "o.jsonl", ScoreSpec(quiet=True))
    assert (s["input_rows"], s["output_rows"], s["rejected_rows"]) == (2, 1, 1)


def test_jsonl_output_gives_labels_as_a_list_while_csv_and_parquet_keep_a_joined_string(tmp_path, clf):
    import csv

    src = _write_jsonl(tmp_path / "in.jsonl", 8)
    saved = clf.thresholds
    on = {"insult": 0.0, "threat": 0.0}  # every row: insult and threat on, the other labels off
    clf.thresholds = np.array([on.get(lab, 1.1) for lab in clf.labels], dtype=np.float32)
    try:
        for name in ("o.jsonl", "o.csv", "o.parquet"):
            score_files(clf, [str(src)], tmp_path / name, ScoreSpec(quiet=True))
    finally:
        clf.thresholds = saved  # the fixture is shared by the module's tests
    jsonl = [json.loads(line)["labels"] for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    with (tmp_path / "o.csv").open(encoding="utf-8") as fh:
        csv_labels = [row["labels"] for row in csv.DictReader(fh)]
    both = [lab for lab in clf.labels if lab in on]
    assert jsonl == [both] * 8
    assert csv_labels == pq.read_table(tmp_path / "o.parquet").column("labels").to_pylist() == [",".join(both)] * 8


def _peak_rss_mib(tmp_path, tiny_run, rows: int, text_chars: int, spec: str) -> dict[int, float]:
    """Score `rows` texts of `text_chars` characters in a fresh process each; its peak RSS (VmHWM) in MiB."""
    procs = {}
    for n in (rows, 4 * rows):
        src = tmp_path / f"long{n}.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for i in range(n):  # varied words, so the tokenizer cannot share anything between texts
                text = " ".join(f"сўз{(i * 7919 + k) % 100_000}" for k in range(text_chars // 10))[:text_chars]
                fh.write(json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False) + "\n")
        code = (
            "from tfgbv.predict.transformer import Classifier;from tfgbv.predict.files import ScoreSpec,score_files;"
            f"c=Classifier.from_pretrained({str(tiny_run)!r},num_threads=1);"
            f"score_files(c,[{str(src)!r}],{str(tmp_path / f'long{n}.parquet')!r},ScoreSpec({spec}));"
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])"
        )
        procs[n] = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    rss = {}
    for n, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        rss[n] = int(out.strip().splitlines()[-1]) / 1024
    return rss


@pytest.mark.slow
def test_memory_is_bounded_by_chunk_chars_whatever_the_text_lengths(tmp_path, tiny_run):
    """Long texts (19,000 characters, under max_chars) in one 10,000-row chunk once took ~3.6 MB each to score
    (issue 27.10: 3,000 rows peaked at 10.9 GB). A chunk now also ends at chunk_chars characters: four times the rows
    of long texts raise the peak by little."""
    rss = _peak_rss_mib(tmp_path, tiny_run, 40, 19_000, "quiet=True,chunk_chars=200_000")
    print("peak RSS MiB (40 and 160 rows of 19,000 characters):", rss)
    assert rss[160] - rss[40] < 60, rss
