"""Batch scoring never loses, merges or mixes rows (issue 16): stray quotes, concurrent writers, stdin resume, lone
surrogates, self-overwriting paths, model identity, crash points, bad files, ids, temp files, options.

Most tests use a fake classifier (deterministic scores from the text, no model): they test the plumbing, fast."""

import io
import json
import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.helpers import REPO
from tfgbv.labels import LABELS
from tfgbv.predict.files import (
    ScoreSpec,
    ScoringError,
    output_lock,
    run_paths,
    score_files,
)


class FakeClassifier:
    """Scores from a checksum of the text; `text.encode` fails on a lone surrogate like a real tokenizer would."""

    labels = list(LABELS)
    thresholds = np.full(len(LABELS), 0.5, dtype=np.float32)
    model_id = "fake-000000000000"

    def __init__(self):
        self.calls = 0

    def predict_proba(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for i, t in enumerate(texts):
            crc = zlib.crc32(t.encode("utf-8"))
            out[i] = [((crc >> (8 * j)) & 0xFF) / 255 for j in range(len(LABELS))]
        return out


def _jsonl(path: Path, rows) -> Path:
    path.write_bytes(b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows))
    return path


def _out_ids(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pq.read_table(path, columns=["id"]).column("id").to_pylist()
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def _rejects(out: Path) -> list[dict]:
    return [json.loads(line) for line in Path(f"{out}.rejects.jsonl").read_text(encoding="utf-8").splitlines()]


SPEC = ScoreSpec(quiet=True, chunk_rows=3)


# ----------------------------------------------------------------------------- 1. stray quotes


@pytest.mark.parametrize("suffix, sep", [(".tsv", "\t"), (".csv", ",")])
def test_stray_quote_never_merges_rows(tmp_path, suffix, sep):
    src = tmp_path / f"q{suffix}"
    lines = (
        ["id", "text"],
        ["t1", "first"],
        ["t2", '"quoted start'],
        ["t3", "third"],
        ["t4", 'fourth "q'],
        ["t5", "fifth"],
    )
    src.write_text("".join(sep.join(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "q.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert _out_ids(out) == ["t1", "t3", "t4", "t5"]
    rej = _rejects(out)
    assert [(r["id"], r["line"]) for r in rej] == [("t2", 3)] and "unbalanced quote" in rej[0]["reason"]
    assert (s["input_rows"], s["output_rows"], s["rejected_rows"]) == (5, 4, 1)


def test_clean_multiline_quoted_field_is_one_record(tmp_path):
    src = tmp_path / "m.csv"
    src.write_text('id,text\na,"two\nlines"\nb,"say ""hi"""\nc,x,extra\n', encoding="utf-8")
    out = tmp_path / "m.jsonl"
    s = score_files(FakeClassifier(), [str(src)], out, ScoreSpec(quiet=True, echo_text=True, mask_pii=False))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["id"], r["text"]) for r in rows] == [("a", "two\nlines"), ("b", 'say "hi"')]
    assert _rejects(out)[0]["line"] == 5 and "expected 2 fields" in _rejects(out)[0]["reason"]
    assert s["input_rows"] == 3


# ----------------------------------------------------------------------------- 2. one writer per output


def test_second_writer_is_refused(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": f"салом {i}"} for i in range(5)])
    out = tmp_path / "c.parquet"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time;from tfgbv.predict.files import output_lock,run_paths\n"
            f"with output_lock(run_paths({str(out)!r})):\n print('held',flush=True);time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        clf = FakeClassifier()
        with pytest.raises(ScoringError, match=f"another run is writing .*process {holder.pid}"):
            score_files(clf, [str(src)], out, SPEC)
        assert clf.calls == 0 and not out.exists()
    finally:
        holder.kill()
        holder.wait()
    assert score_files(FakeClassifier(), [str(src)], out, SPEC)["output_rows"] == 5  # the kernel released the lock
    assert not run_paths(out).lock.exists()


def test_lock_in_the_same_process_is_refused_too(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}])
    out = tmp_path / "o.jsonl"
    with output_lock(run_paths(out)):
        with pytest.raises(ScoringError, match="another run is writing"):
            score_files(FakeClassifier(), [str(src)], out, SPEC)


# ----------------------------------------------------------------------------- 11. temp files


def test_temp_file_never_follows_a_precreated_symlink(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": f"t{i}"} for i in range(4)])
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "o.jsonl"
    for name in ("o.jsonl.tmp", "o.jsonl.rejects.jsonl.tmp", "o.jsonl.summary.json.tmp", "o.rejects.jsonl.tmp"):
        (tmp_path / name).symlink_to(victim)
    score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert victim.read_text() == "keep me" and len(_out_ids(out)) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


# ----------------------------------------------------------------------------- 3. stdin


def _stdin(monkeypatch, rows):
    raw = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(raw))))


def test_stdin_resume_never_reuses_other_data(tmp_path, monkeypatch):
    a = [{"id": f"a{i}", "text": f"A {i}"} for i in range(10)]
    b = [{"id": f"b{i}", "text": f"B {i}"} for i in range(10)]
    out = tmp_path / "kp.parquet"
    spec = ScoreSpec(quiet=True, chunk_rows=4, keep_parts=True)
    _stdin(monkeypatch, a)
    score_files(FakeClassifier(), ["-"], out, spec)
    _stdin(monkeypatch, b)
    with pytest.raises(ScoringError, match="differs from the one the unfinished run"):
        score_files(FakeClassifier(), ["-"], out, spec)
    assert _out_ids(out) == [r["id"] for r in a]  # nothing was replaced
    _stdin(monkeypatch, a)  # the same data again: finished chunks are reused
    s = score_files(FakeClassifier(), ["-"], out, ScoreSpec(quiet=True, chunk_rows=4))
    assert s["skipped_chunks"] == 3 and _out_ids(out) == [r["id"] for r in a]


def test_stdin_resume_after_a_crash_never_mixes_other_data(tmp_path, monkeypatch):
    a = [{"id": f"a{i}", "text": f"A {i}"} for i in range(10)]
    b = [{"id": f"b{i}", "text": f"B {i}"} for i in range(10)]
    refused = 0
    for n in range(2, 14):  # kill points from before the first chunk to the commit
        out = tmp_path / f"kp{n}.parquet"
        with _crash_at(monkeypatch, n):
            _stdin(monkeypatch, a)
            with pytest.raises(SimulatedCrash):
                score_files(FakeClassifier(), ["-"], out, ScoreSpec(quiet=True, chunk_rows=4))
        _stdin(monkeypatch, b)
        try:
            score_files(FakeClassifier(), ["-"], out, ScoreSpec(quiet=True, chunk_rows=4))
        except ScoringError as err:  # a chunk of A was finished: B cannot resume it
            assert "pipe the same data again" in str(err)
            refused += 1
            continue
        assert _out_ids(out) == [r["id"] for r in b]  # nothing of A was finished: B was scored from the start
    assert refused >= 5


# ----------------------------------------------------------------------------- 4. lone surrogates


def test_lone_surrogate_is_a_rejected_row_not_a_crash(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_bytes(
        b'{"id": "ok1", "text": "good"}\n{"id": "a", "text": "bad \\ud800"}\n'
        b'{"id": "bad \\udc00", "text": "fine text"}\n{"id": "ok2", "text": "good too"}\n'
    )
    out = tmp_path / "s.parquet"
    s = score_files(FakeClassifier(), [str(src)], out, SPEC)
    assert _out_ids(out) == ["ok1", "ok2"] and s["rejected_rows"] == 2
    rej = _rejects(out)
    assert rej[0]["id"] == "a" and "lone surrogate" in rej[0]["reason"] and rej[0]["line"] == 2
    assert rej[1]["id"] == "bad \\udc00" and "id is not valid Unicode" in rej[1]["reason"]
    assert score_files(FakeClassifier(), [str(src)], out, SPEC)["accounting_ok"]  # and again on a re-run


# ----------------------------------------------------------------------------- 5. paths that would destroy data


def test_output_that_is_the_input_is_refused(tmp_path):
    src = _jsonl(tmp_path / "x.jsonl", [{"id": "a", "text": "x"}])
    before = src.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(src)
    os.link(src, tmp_path / "hard.jsonl")
    for output in (src, tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        with pytest.raises(ScoringError, match="input"):
            score_files(FakeClassifier(), [str(src)], output, SPEC)
    with pytest.raises(ScoringError, match="also this run's rejects file"):
        score_files(FakeClassifier(), [str(src)], tmp_path / "o.jsonl", SPEC, rejects=tmp_path / "hard.jsonl")
    assert src.read_bytes() == before


def test_rejects_that_is_the_output_is_refused(tmp_path):
    src = _jsonl(tmp_path / "x.jsonl", [{"id": "a", "text": "x"}])
    with pytest.raises(ScoringError, match="rejects=.* is the output"):
        score_files(FakeClassifier(), [str(src)], tmp_path / "o.jsonl", SPEC, rejects=tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()


def test_glob_never_matches_the_runs_own_files(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    _jsonl(d / "a.jsonl", [{"id": f"a{i}", "text": "x"} for i in range(3)] + [{"id": "e", "text": ""}])
    for _ in range(2):
        s = score_files(FakeClassifier(), [str(d / "*.jsonl*")], d / "scores.jsonl", SPEC)
        assert (s["input_rows"], s["output_rows"], s["rejected_rows"]) == (4, 3, 1)
    assert _out_ids(d / "scores.jsonl") == ["a0", "a1", "a2"]


def test_glob_never_hides_a_data_file_at_the_output_or_rejects_path(tmp_path):
    d = tmp_path / "dir"
    d.mkdir()
    a = _jsonl(d / "a.jsonl", [{"id": f"a{i}", "text": "x"} for i in range(3)])
    b = _jsonl(d / "b.jsonl", [{"id": "b0", "text": "y"}])
    before = {p: p.read_bytes() for p in (a, b)}
    with pytest.raises(ScoringError, match=r"matches .*a\.jsonl, which is this run's output path"):
        score_files(FakeClassifier(), [str(d / "*.jsonl")], a, SPEC)
    with pytest.raises(ScoringError, match=r"matches .*b\.jsonl, which is this run's rejects path"):
        score_files(FakeClassifier(), [str(d / "*.jsonl")], d / "scores.parquet", SPEC, rejects=b)
    assert {p: p.read_bytes() for p in (a, b)} == before and sorted(os.listdir(d)) == ["a.jsonl", "b.jsonl"]
    # the files an earlier run on this output wrote are still left out, also with a custom rejects path
    for _ in range(2):
        s = score_files(FakeClassifier(), [str(d / "*.jsonl")], d / "s.jsonl", SPEC, rejects=d / "r.jsonl")
        assert (s["input_rows"], s["output_rows"]) == (4, 4)


def test_outputs_of_other_formats_do_not_share_rejects_or_summary(tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [{"id": "a1", "text": ""}, {"id": "a2", "text": "x"}])
    b = _jsonl(tmp_path / "b.jsonl", [{"id": "b1", "text": ""}, {"id": "b2", "text": "y"}, {"id": "b3", "text": "z"}])
    score_files(FakeClassifier(), [str(a)], tmp_path / "x.parquet", SPEC)
    score_files(FakeClassifier(), [str(b)], tmp_path / "x.csv", SPEC)
    assert [r["id"] for r in _rejects(tmp_path / "x.parquet")] == ["a1"]
    assert [r["id"] for r in _rejects(tmp_path / "x.csv")] == ["b1"]
    assert json.loads((tmp_path / "x.parquet.summary.json").read_text())["output_rows"] == 1
    assert json.loads((tmp_path / "x.csv.summary.json").read_text())["output_rows"] == 2


# ----------------------------------------------------------------------------- 6. model identity


def test_model_id_covers_text_preparation_max_length_and_tokenizer(tmp_path, tiny_run):
    from tfgbv.predict.transformer import Classifier

    model = tmp_path / "model"
    shutil.copytree(tiny_run / "model", model)
    ids = {Classifier.from_pretrained(model).model_id}
    meta_file = model / "tfgbv_config.json"
    meta = json.loads(meta_file.read_text())
    for change in ({"prefix": "passage: "}, {"max_length": 16}, {"deobfuscate": True}):
        meta["text"].update(change)
        meta_file.write_text(json.dumps(meta))
        ids.add(Classifier.from_pretrained(model).model_id)
    tok = json.loads((model / "tokenizer_config.json").read_text())
    tok["model_max_length"] = 64
    (model / "tokenizer_config.json").write_text(json.dumps(tok))
    ids.add(Classifier.from_pretrained(model).model_id)
    assert len(ids) == 5


def test_resume_with_another_text_preparation_is_refused(tmp_path, tiny_run):
    from tfgbv.predict.transformer import Classifier

    model = tmp_path / "model"
    shutil.copytree(tiny_run / "model", model)
    src = _jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": f"ту бешарм {i}"} for i in range(6)])
    out = tmp_path / "o.parquet"
    score_files(
        Classifier.from_pretrained(model), [str(src)], out, ScoreSpec(quiet=True, keep_parts=True, chunk_rows=2)
    )
    meta = json.loads((model / "tfgbv_config.json").read_text())
    meta["text"]["prefix"] = "query: "
    (model / "tfgbv_config.json").write_text(json.dumps(meta))
    with pytest.raises(ScoringError, match="unfinished run with other inputs, model or options"):
        score_files(Classifier.from_pretrained(model), [str(src)], out, ScoreSpec(quiet=True, chunk_rows=2))


# ----------------------------------------------------------------------------- 7. crash-safe finish + property test


class SimulatedCrash(BaseException):
    """Stands for kill -9: not an Exception, so no `except Exception` in the code under test can swallow it."""


class _crash_at:
    """Raise SimulatedCrash at the n-th rename or unlink (the points where files appear or disappear), once."""

    def __init__(self, monkeypatch, n: int):
        self.mp, self.n, self.count = monkeypatch, n, 0

    def _wrap(self, real):
        def f(*args, **kwargs):
            self.count += 1
            if self.count == self.n:
                raise SimulatedCrash(f"crash at file operation {self.n}")
            return real(*args, **kwargs)

        return f

    def __enter__(self):
        self.real = (os.replace, os.unlink, os.rmdir)
        self.mp.setattr(os, "replace", self._wrap(os.replace))
        self.mp.setattr(os, "unlink", self._wrap(os.unlink))
        self.mp.setattr(os, "rmdir", self._wrap(os.rmdir))
        return self

    def __exit__(self, *exc):
        os.replace, os.unlink, os.rmdir = self.real
        return False


def test_missing_reject_shard_is_rescored_not_skipped(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": "" if i % 3 == 0 else f"t{i}"} for i in range(12)])
    out = tmp_path / "o.parquet"
    score_files(FakeClassifier(), [str(src)], out, ScoreSpec(quiet=True, chunk_rows=3, keep_parts=True))
    good = Path(f"{out}.rejects.jsonl").read_bytes()
    (Path(f"{out}.parts") / "rej-0000-000001.parquet").unlink()  # as a kill -9 during an old clean-up left it
    s = score_files(FakeClassifier(), [str(src)], out, ScoreSpec(quiet=True, chunk_rows=3))
    assert Path(f"{out}.rejects.jsonl").read_bytes() == good and s["scored_chunks"] == 1 and s["accounting_ok"]


def test_crash_during_clean_up_resumes_to_the_committed_files(tmp_path, monkeypatch):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": f"r{i}", "text": "" if i % 4 == 0 else f"t{i}"} for i in range(12)])
    out = tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(src)], tmp_path / "ref.jsonl", SPEC)
    counter = _crash_at(monkeypatch, 10**9)
    with counter:
        score_files(FakeClassifier(), [str(src)], out, SPEC)
    total = counter.count
    out.unlink()
    for n in range(total - 6, total + 1):  # the last file operations: commit renames and the clean-up
        for p in (out, Path(f"{out}.rejects.jsonl"), Path(f"{out}.summary.json")):
            p.unlink(missing_ok=True)
        shutil.rmtree(f"{out}.parts", ignore_errors=True)
        with _crash_at(monkeypatch, n), pytest.raises(SimulatedCrash):
            score_files(FakeClassifier(), [str(src)], out, SPEC)
        s = score_files(FakeClassifier(), [str(src)], out, SPEC)
        assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes(), n
        assert _rejects(out) == _rejects(tmp_path / "ref.jsonl") and s["accounting_ok"] and s["output_rows"] == 9
        assert not Path(f"{out}.parts").exists()


def _random_inputs(rng: random.Random, d: Path) -> tuple[list[str], list[str]]:
    """2-3 files (JSONL / CSV / TSV) mixing good and bad rows; returns (paths, every record's id in input order)."""
    paths, ids = [], []
    for f in range(rng.randint(2, 3)):
        kind = rng.choice(["jsonl", "csv", "tsv"])
        path = d / f"in{f}.{kind}"
        n = rng.randint(0, 25)
        if kind == "jsonl":
            lines = []
            for i in range(n):
                rid = f"f{f}r{i}"
                bad = rng.random()
                if bad < 0.08:
                    lines.append(b"{not json")
                    rid = f"{path}:{i + 1}"  # ids name the 1-based line
                elif bad < 0.15:
                    lines.append(b'{"id": "%s", "text": "x\\ud800"}' % rid.encode())
                elif bad < 0.22:  # an undecodable line: its id cannot be read either
                    lines.append(b'{"id": "%s", "text": "\xff\xfe"}' % rid.encode())
                    rid = f"{path}:{i + 1}"
                elif bad < 0.3:
                    lines.append(json.dumps({"id": rid, "text": rng.choice(["", 12, None])}).encode())
                else:
                    lines.append(json.dumps({"id": rid, "text": f"матн {rng.random()}"}, ensure_ascii=False).encode())
                ids.append(rid)
            path.write_bytes(b"\n".join(lines) + (b"\n" if lines else b""))
        else:
            sep = "," if kind == "csv" else "\t"
            lines = [f"id{sep}text"]
            for i in range(n):
                rid = f"f{f}r{i}"
                text = rng.choice(["матн", '"stray', 'in "quotes"', '"clean ""quoted"""', ""]) + f" {i}"
                if text.startswith('"clean'):
                    text = '"clean ""quoted"" ' + f'{i}"'
                lines.append(f"{rid}{sep}{text}")
                ids.append(rid)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(str(path))
    return paths, ids


def test_property_every_record_exactly_once_whatever_the_crash_points(tmp_path, monkeypatch):
    """Random files of good and bad rows, random crash points, resume: output ids + reject ids = input ids, each
    exactly once and in input order, and the files equal those of a run that never crashed."""
    rng = random.Random(16)
    for trial in range(12):
        d = tmp_path / f"t{trial}"
        d.mkdir()
        inputs, ids = _random_inputs(rng, d)
        spec = ScoreSpec(quiet=True, chunk_rows=rng.randint(1, 7), keep_parts=rng.random() < 0.3)
        fmt = rng.choice(["parquet", "jsonl", "csv"])
        ref, out = d / f"ref.{fmt}", d / f"out.{fmt}"
        counter = _crash_at(monkeypatch, 10**9)
        with counter:
            score_files(FakeClassifier(), inputs, ref, spec)
        for n in sorted(rng.sample(range(1, counter.count + 1), k=min(3, counter.count))):
            with _crash_at(monkeypatch, n):  # a resume does less work: a late crash point may not be reached
                try:
                    score_files(FakeClassifier(), inputs, out, spec)
                except SimulatedCrash:
                    pass
        s = score_files(FakeClassifier(), inputs, out, spec)
        out_ids = _out_ids(out) if fmt != "csv" else [line.split(",")[0] for line in out.read_text().splitlines()[1:]]
        rej_ids = [r["id"] for r in _rejects(out)]
        assert sorted(out_ids + rej_ids) == sorted(ids) and len(set(out_ids + rej_ids)) == len(ids), trial
        assert out_ids == [i for i in ids if i in set(out_ids)], trial  # input order
        assert out.read_bytes() == ref.read_bytes() and _rejects(out) == _rejects(ref), trial
        assert s["accounting_ok"] and s["input_rows"] == len(ids), trial


def _fixed_size_parquet(path: Path, n: int, marker: str) -> None:
    """n rows whose texts differ by `marker` only: another marker gives a file of the very same size."""
    import pyarrow as pa

    table = pa.table({"id": [f"p{i:03d}" for i in range(n)], "text": [f"{marker} матн {i:03d}" for i in range(n)]})
    pq.write_table(table, path, compression="NONE", use_dictionary=False, write_statistics=False)


def test_property_parquet_replaced_between_kill_and_resume_never_mixes(tmp_path, monkeypatch):
    """The kill/resume property with a Parquet input replaced, between the kill and the resume, by another file of the
    same size and modification time (issue 27.9): the resume is refused, or (nothing of it was kept yet) equals a run
    on the new data, or (it had committed) the run on the old data. Never a mix of both."""
    rng = random.Random(279)
    refused = 0
    for trial in range(10):
        d = tmp_path / f"t{trial}"
        d.mkdir()
        inputs, _ = _random_inputs(rng, d)
        parquet, n = d / "in.parquet", rng.randint(4, 20)
        _fixed_size_parquet(parquet, n, "a")
        inputs.insert(rng.randint(0, len(inputs)), str(parquet))
        spec = ScoreSpec(quiet=True, chunk_rows=rng.randint(1, 5))
        ref_old, out = d / "ref_old.jsonl", d / "out.jsonl"
        counter = _crash_at(monkeypatch, 10**9)
        with counter:
            score_files(FakeClassifier(), inputs, ref_old, spec)
        with _crash_at(monkeypatch, rng.randint(1, counter.count)):
            try:
                score_files(FakeClassifier(), inputs, out, spec)
            except SimulatedCrash:
                pass
        before = os.stat(parquet)
        _fixed_size_parquet(parquet, n, "b")
        os.utime(parquet, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert os.stat(parquet).st_size == before.st_size  # the run key (path, size, mtime) cannot tell them apart
        try:
            score_files(FakeClassifier(), inputs, out, spec)
        except ScoringError as err:
            assert "differs from the one the unfinished run" in str(err), trial
            refused += 1
            continue
        ref_new = d / "ref_new.jsonl"
        score_files(FakeClassifier(), inputs, ref_new, spec)
        assert out.read_bytes() in (ref_new.read_bytes(), ref_old.read_bytes()), trial
    assert refused  # the trials did reach resumes that had kept chunks of the old file


# ----------------------------------------------------------------------------- 8. bad files in a multi-file run


def test_bad_file_in_a_multi_file_run_is_named_and_skipped(tmp_path):
    import pandas as pd

    good1 = _jsonl(tmp_path / "a_good.jsonl", [{"id": f"a{i}", "text": "x"} for i in range(4)])
    corrupt = tmp_path / "b_corrupt.parquet"
    corrupt.write_bytes(b"PAR1 not really parquet")
    pd.DataFrame({"id": [f"t{i}" for i in range(50)], "text": ["y"] * 50}).to_parquet(tmp_path / "full.parquet")
    truncated = tmp_path / "c_truncated.parquet"
    truncated.write_bytes((tmp_path / "full.parquet").read_bytes()[:-40])
    empty_csv = tmp_path / "d_empty.csv"
    empty_csv.write_text("")
    (tmp_path / "e_dir.jsonl").mkdir()
    good2 = _jsonl(tmp_path / "f_good.jsonl", [{"id": f"f{i}", "text": "z"} for i in range(3)])
    inputs = [str(p) for p in (good1, corrupt, truncated, empty_csv, tmp_path / "e_dir.jsonl", good2)]
    out = tmp_path / "o.parquet"
    with pytest.raises(ScoringError) as exc:
        score_files(FakeClassifier(), inputs, out, SPEC)
    msg = str(exc.value)
    assert "4 input file(s) could not be read" in msg
    for bad in inputs[1:5]:
        assert bad in msg
    assert _out_ids(out) == [f"a{i}" for i in range(4)] + [f"f{i}" for i in range(3)]
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert [b["file"] for b in summary["bad_files"]] == inputs[1:5] and not summary["ok"] and summary["accounting_ok"]
    assert exc.value.summary == summary and not Path(f"{out}.parts").exists()


# ----------------------------------------------------------------------------- 10. generated ids


def test_generated_ids_are_unique_across_inputs_with_the_same_name(tmp_path):
    for d in ("d1", "d2"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "c.csv").write_text("text\nодин\nдва\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    score_files(FakeClassifier(), [str(tmp_path / "d1/c.csv"), str(tmp_path / "d2/c.csv")], out, SPEC)
    ids = _out_ids(out)
    assert len(set(ids)) == 4 and ids[0] == f"{tmp_path / 'd1/c.csv'}:2"  # line 2: the first row under the header


def test_a_file_given_twice_is_read_once(tmp_path):
    src = _jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "x"}])
    s = score_files(
        FakeClassifier(),
        [str(src), str(tmp_path / "." / "a.jsonl"), str(tmp_path / "*.jsonl")],
        tmp_path / "o.parquet",
        SPEC,
    )
    assert s["input_rows"] == 1


# ----------------------------------------------------------------------------- 14. options and writable paths


@pytest.mark.parametrize(
    "option",
    [
        {"chunk_rows": 0},
        {"batch_size": 0},
        {"max_chars": -1},
        {"chunk_rows": "10"},
        {"review_band": 2.0},
        {"output_format": "xlsx"},
        {"text_column": ""},
    ],
)
def test_invalid_options_are_refused(option):
    with pytest.raises(ScoringError, match=f"invalid scoring option.*{next(iter(option))}"):
        ScoreSpec(**option)


@pytest.mark.parametrize(
    "option",
    [
        {"bf16": "maybe"},
        {"compile": "yes"},
        {"int8": "yes"},
        {"num_threads": 0},
        {"batch_tokens": 0},
        {"batch_tokens": -5},
        {"onnx_variant": "fp16"},
        {"backend": "tensorrt"},
    ],
)
def test_invalid_scorer_options_are_refused_before_the_model_loads(option, tmp_path):
    from tfgbv.predict.files import check_scorer_options, load_scorer

    with pytest.raises(ScoringError, match=f"invalid scoring option.*{next(iter(option))}"):
        check_scorer_options(**option)
    with pytest.raises(ScoringError, match=f"invalid scoring option.*{next(iter(option))}"):
        load_scorer(tmp_path / "no-model-here", **option)  # refused before the model directory is even looked at


def test_default_and_documented_scorer_options_are_accepted():
    from tfgbv.predict.files import check_scorer_options

    check_scorer_options()
    for bf16 in (True, False, "auto"):
        check_scorer_options(bf16=bf16, compile=bf16, int8=bf16)
    check_scorer_options(backend="onnx", onnx_variant="fp32", num_threads=2, batch_tokens=None)


def test_int8_auto_is_measured_only_when_scoring_is_compiled(tiny_run, monkeypatch):
    import tfgbv.predict.files as files

    asked = []
    monkeypatch.setattr(files, "choose_int8", lambda *a, **k: asked.append(a) or False)
    monkeypatch.setattr(files, "choose_bf16", lambda *a, **k: False)
    clf = files.load_scorer(tiny_run, int8="auto", compile=False)
    assert asked == [] and not clf.int8 and not clf.compiled  # int8 runs compiled only: not even measured
    clf = files.load_scorer(tiny_run, int8="auto", compile=True)
    assert len(asked) == 1 and not clf.int8 and clf.compiled  # measured, and the measurement said no


def test_unknown_predict_option_is_an_error():
    from hydra import compose, initialize_config_dir

    from tfgbv.cli.run import CONFIG_DIR
    from tfgbv.cli.scoring import score_spec

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        assert score_spec(compose(config_name="predict", overrides=["input=x.jsonl", "chunk_rows=5"])).chunk_rows == 5
        with pytest.raises(ValueError, match=r"predict: unknown option.*chunk_row"):
            score_spec(compose(config_name="predict", overrides=["input=x.jsonl", "+chunk_row=5"]))


def test_unwritable_rejects_path_fails_before_scoring(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}])
    (tmp_path / "file").write_text("not a directory")
    clf = FakeClassifier()
    with pytest.raises(ScoringError, match="cannot write in"):
        score_files(clf, [str(src)], tmp_path / "o.jsonl", SPEC, rejects=tmp_path / "file" / "rej.jsonl")
    assert clf.calls == 0
    s = score_files(clf, [str(src)], tmp_path / "o.jsonl", SPEC, rejects=tmp_path / "new" / "dir" / "rej.jsonl")
    assert s["output_rows"] == 1 and (tmp_path / "new" / "dir" / "rej.jsonl").exists()


def test_max_chars_above_the_classifier_cap_is_refused(tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "x"}])
    clf = FakeClassifier()
    clf.max_chars = 1000
    with pytest.raises(ScoringError, match="above the classifier's limit"):
        score_files(clf, [str(src)], tmp_path / "o.jsonl", ScoreSpec(quiet=True, max_chars=5000))
