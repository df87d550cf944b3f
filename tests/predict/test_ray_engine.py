"""engine=ray gives the same rows, order, scores, schema and rejects as the local engine (local Ray instance)."""

import json
import re

import pyarrow.parquet as pq
import pytest

from tfgbv.predict.files import ScoreSpec, score_files


@pytest.mark.slow
def test_ray_engine_equals_local_engine(tmp_path, tiny_run, capfd):
    pytest.importorskip("ray")
    import pandas as pd

    from tfgbv.predict.ray_engine import score_with_ray
    from tfgbv.predict.transformer import Classifier

    a = tmp_path / "a[1].jsonl"  # an existing path is that file, never a glob (issue 27.3), in both engines
    with a.open("wb") as fh:
        for i in range(50):
            row = {"id": f"r{i:03d}", "text": f"Ту бешарм ҳастӣ {i}" if i % 9 else ""}
            fh.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        fh.write(b'{"id": "bad1", "text": "\xff\xfe"}\n{broken json\n{"text": "no id here"}\n')
    pd.DataFrame({"id": [f"p{i}" for i in range(10)], "text": [f"салом {i}" for i in range(9)] + [None]}).to_parquet(
        tmp_path / "b.parquet"
    )
    inputs = [str(a), str(tmp_path / "b.parquet")]
    spec = ScoreSpec(quiet=True, chunk_rows=16)
    local = score_files(Classifier.from_pretrained(tiny_run), inputs, tmp_path / "local.parquet", spec)
    capfd.readouterr()
    remote = score_with_ray(
        str(tiny_run), inputs, tmp_path / "ray.parquet", spec, num_actors=2, batch_size=16, bf16=False
    )
    printed = capfd.readouterr()
    # One summary schema for both engines (issue 26.5), and quiet=true prints nothing from Ray either.
    assert set(remote) == set(local) and remote["engine"] == "ray" and local["engine"] == "local"
    assert remote["ok"] and remote["model_id"] == local["model_id"] and remote["scored_rows"] == local["scored_rows"]
    assert remote["precision"] == local["precision"] == "fp32" and remote["duplicate_ids"] == local["duplicate_ids"]
    assert not printed.out.strip(), printed.out
    # Ray's C++ core prints a few lines of its own on stderr (token authentication, actor restarts): not Python logs.
    native = re.compile(r"^\s*(\[\d{4}-\d\d-\d\d [^]]*\] \w+\.cc:\d+|Token authentication is enabled)")
    noisy = [line for line in printed.err.splitlines() if line.strip() and not native.match(line)]
    assert not noisy, "\n".join(noisy)
    assert remote["accounting_ok"] and remote["input_rows"] == local["input_rows"] == 63
    assert (
        remote["output_rows"] == local["output_rows"] == 54 and remote["rejected_rows"] == local["rejected_rows"] == 9
    )
    assert pq.read_schema(tmp_path / "local.parquet") == pq.read_schema(tmp_path / "ray.parquet")
    x, y = pq.read_table(tmp_path / "local.parquet").to_pylist(), pq.read_table(tmp_path / "ray.parquet").to_pylist()
    assert [r["id"] for r in x] == [r["id"] for r in y]  # same ids (incl. the file:index fallback), same order
    assert f"{a}:53" in {r["id"] for r in y}  # generated ids name the input path and the (1-based) line
    for p, q in zip(x, y):
        assert (
            p["labels"] == q["labels"] and abs(p["p_insult"] - q["p_insult"]) < 1e-5 and p["model_id"] == q["model_id"]
        )
    lines = lambda name: [json.loads(s) for s in (tmp_path / name).read_text().splitlines()]  # noqa: E731
    assert lines("local.parquet.rejects.jsonl") == lines("ray.parquet.rejects.jsonl")
