"""Streaming, resumable batch scoring of comment dumps (CSV / JSONL / Parquet files, globs, or JSONL on stdin).

Input is read in chunks of `chunk_rows` rows, so memory does not grow with input size. Each chunk becomes one
output shard and one rejects shard, both written atomically (temp file + rename) into `<output>.parts/`; the
output shard is written last, so its presence means the chunk is finished. A re-run with the same arguments skips
finished chunks: no row is scored twice or lost after Ctrl-C, kill -9 or a crash. At the end the shards are merged
(streaming) into the output file and a summary checks input rows = output rows + rejected rows.

Bad rows (missing / empty / non-text text, undecodable bytes, text over `max_chars`) go to the rejects file with a
reason; they never stop the run. Texts longer than the model's window are scored with overlapping windows and the
maximum over windows (see tfgbv.inference), never silently truncated.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


@dataclass
class ScoreSpec:
    """Batch-scoring options (Hydra config `predict.yaml`)."""

    text_column: str = "text"
    id_column: str | None = "id"
    chunk_rows: int = 10_000
    batch_size: int = 64
    max_chars: int = 20_000  # longer texts are rejected ("over-long"); shorter ones are scored by sliding windows
    review_band: float = 0.1  # needs_review when any score is within this distance of its threshold
    echo_text: bool = False  # copy the text column into the output
    mask_pii: bool = True  # mask phone numbers, e-mails, addresses, user tags in the echoed text
    output_format: str | None = None  # parquet | jsonl | csv; default from the output file's suffix
    quiet: bool = False
    keep_parts: bool = False


class ScoringError(RuntimeError):
    """A problem with the arguments or the output directory (never with individual rows)."""


def load_scorer(model_dir: str | Path, backend: str = "torch", bf16: Any = "auto", num_threads: int | None = None,
                batch_size: int = 64, onnx_variant: str = "int8"):
    """A classifier for the chosen backend (torch | onnx), loaded once per process (or once per Ray actor)."""
    if backend == "onnx":
        from tfgbv.modeling import find_model_dir
        from tfgbv.onnx_backend import FILES, ONNX_DIR, OnnxClassifier, export_onnx

        if not (find_model_dir(model_dir) / ONNX_DIR / FILES[onnx_variant]).exists():
            log.warning("no ONNX export in %s yet: exporting now (once; scripts/export.py does the same)", model_dir)
            export_onnx(model_dir, quantize=onnx_variant == "int8")
        return OnnxClassifier.from_pretrained(model_dir, variant=onnx_variant, batch_size=batch_size, num_threads=num_threads)
    if backend != "torch":
        raise ScoringError(f"backend={backend!r}: choose torch or onnx")
    from tfgbv.modeling import load_classifier  # also loads the tfidf_lr baseline behind the same API

    return load_classifier(model_dir, batch_size=batch_size, bf16=bf16, num_threads=num_threads)


# ----------------------------------------------------------------------------- inputs


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files and globs in a stable order; "-" means JSONL on standard input."""
    out: list[str] = []
    for item in inputs:
        if item == "-":
            out.append("-")
            continue
        matches = sorted(glob.glob(os.path.expanduser(item)))
        if not matches:
            raise ScoringError(f"input {item!r}: no such file (or the glob matched nothing)")
        out.extend(matches)
    if not out:
        raise ScoringError("no input given")
    for path in out:
        if path != "-" and Path(path).suffix.lower() not in FORMATS:
            raise ScoringError(f"input {path}: unsupported file type; use .csv, .tsv, .jsonl or .parquet")
    return out


def parse_jsonl_line(raw: bytes | str, lineno: int | None) -> dict | None:
    """One JSONL line as a row dict (None for a blank line); undecodable or unparsable lines become rows with `_error`,
    so they reach the rejects file instead of stopping the run."""
    if isinstance(raw, bytes):
        if not raw.strip():
            return None
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"_error": "undecodable bytes (not UTF-8)", "_line": lineno}
    elif not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except ValueError as err:
        return {"_error": f"invalid JSON ({str(err)[:80]})", "_line": lineno}
    if not isinstance(obj, dict):
        return {"_error": "invalid JSON (not a JSON object)", "_line": lineno}
    obj["_line"] = lineno
    return obj


def _iter_lines(fh, block_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Lines of a binary stream split at b"\\n" only (like a Python binary file); also for Arrow files that lack
    readline (the Ray datasource)."""
    if isinstance(fh, (io.BufferedReader, io.BufferedRandom)):  # Python files and stdin: their own line iterator
        yield from fh
        return
    buf = b""
    while True:
        data = fh.read(block_bytes)
        if not data:
            break
        *lines, buf = (buf + data).split(b"\n")
        for line in lines:
            yield line + b"\n"
    if buf:
        yield buf


def _jsonl_chunks(stream, chunk_rows: int) -> Iterator[list[dict]]:
    """Rows of a JSONL byte stream in chunks (line by line: memory is bounded by the chunk)."""
    chunk: list[dict] = []
    for lineno, raw in enumerate(_iter_lines(stream), start=1):
        row = parse_jsonl_line(raw, lineno)
        if row is None:
            continue
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def chunks_from_handle(fh, fmt: str, chunk_rows: int) -> Iterator[list[dict]]:
    """Stream an open binary file of format `fmt` (jsonl | parquet | csv | tsv) in chunks of dict rows.

    Shared by the local engine and the Ray datasource, so both read, decode and reject rows identically.
    """
    if fmt == "jsonl":
        yield from _jsonl_chunks(fh, chunk_rows)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(fh).iter_batches(batch_size=chunk_rows):
            yield batch.to_pylist()
    elif fmt in ("csv", "tsv"):
        import pandas as pd

        # dtype=str: ids and texts stay as written; encoding_errors="replace" turns bad bytes into U+FFFD, which
        # check_row rejects as undecodable instead of the whole file failing.
        reader = pd.read_csv(fh, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False, na_values=[""],
                             chunksize=chunk_rows, encoding="utf-8", encoding_errors="replace")
        for df in reader:
            df = df.astype(object).where(df.notna(), None)
            yield df.to_dict("records")
    else:
        raise ScoringError(f"unsupported input format {fmt!r}")


def read_chunks(path: str, chunk_rows: int) -> Iterator[list[dict]]:
    """Stream one input ("-" = JSONL on stdin) in chunks of dict rows (never the whole file in memory)."""
    if path == "-":
        yield from _jsonl_chunks(sys.stdin.buffer, chunk_rows)
        return
    with open(path, "rb") as fh:
        yield from chunks_from_handle(fh, FORMATS[Path(path).suffix.lower()], chunk_rows)


def estimate_rows(inputs: Sequence[str]) -> int | None:
    """Row count for the progress bar's ETA: exact for Parquet (metadata), lines for JSONL/CSV (a fast byte scan;
    CSV fields with line breaks make it an over-estimate). None for standard input."""
    total = 0
    for path in inputs:
        if path == "-":
            return None
        fmt = FORMATS[Path(path).suffix.lower()]
        if fmt == "parquet":
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
            continue
        lines, last = 0, b"\n"
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                lines += block.count(b"\n")
                last = block[-1:]
        lines += last != b"\n"  # a last line without a newline
        total += lines - (1 if fmt in ("csv", "tsv") else 0)  # the CSV header
    return total


# ----------------------------------------------------------------------------- rows


def check_row(row: dict, spec: ScoreSpec) -> str | None:
    """Why a row cannot be scored, or None."""
    if "_error" in row:
        return row["_error"]
    if spec.text_column not in row or row[spec.text_column] is None:
        return f"missing text column '{spec.text_column}'"
    text = row[spec.text_column]
    if not isinstance(text, str):
        return f"text is {type(text).__name__}, not a string"
    if not text.strip():
        return "empty text"
    if "\ufffd" in text:
        return "undecodable bytes (not UTF-8)"
    if len(text) > spec.max_chars:
        return f"over-long text ({len(text)} characters > max_chars={spec.max_chars})"
    return None


def _row_id(row: dict, spec: ScoreSpec, source: str, index: int) -> str:
    value = row.get(spec.id_column) if spec.id_column else None
    return str(value) if value is not None and value != "" else f"{Path(source).name}:{index}"


def score_chunk(clf, rows: list[dict], spec: ScoreSpec, source: str, start_index: int = 0,
                indices: Sequence[int] | None = None) -> tuple[list[dict], list[dict]]:
    """Score the valid rows of a chunk; return (output records, reject records).

    Rows without an id get `<file name>:<row index in the file>`; the index is `start_index + k`, or `indices[k]`.
    """
    from tfgbv.text import mask_pii

    good, rejects = [], []
    for k, row in enumerate(rows):
        rid = _row_id(row, spec, source, indices[k] if indices is not None else start_index + k)
        reason = check_row(row, spec)
        if reason:
            rejects.append({"id": rid, "source": source, "line": row.get("_line"), "reason": reason})
        else:
            good.append((rid, row[spec.text_column]))
    out: list[dict] = []
    if good:
        probs = clf.predict_proba([t for _, t in good])
        thr = np.asarray(clf.thresholds)
        flags = probs >= thr
        review = (np.abs(probs - thr) <= spec.review_band).any(axis=1)
        for (rid, text), p, f, r in zip(good, probs, flags, review):
            rec: dict[str, Any] = {"id": rid}
            rec.update({f"p_{lab}": float(p[j]) for j, lab in enumerate(clf.labels)})
            rec["labels"] = ",".join(lab for j, lab in enumerate(clf.labels) if f[j])
            rec["needs_review"] = bool(r)
            rec["model_id"] = clf.model_id
            if spec.echo_text:
                rec["text"] = mask_pii(text) if spec.mask_pii else text
            out.append(rec)
    return out, rejects


# ----------------------------------------------------------------------------- shards


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_parquet(path: Path, records: list[dict], schema) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(records, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    _atomic_write_bytes(path, buf.getvalue())


def output_schema(labels: Sequence[str], echo_text: bool):
    import pyarrow as pa

    fields = [pa.field("id", pa.string())] + [pa.field(f"p_{lab}", pa.float32()) for lab in labels]
    fields += [pa.field("labels", pa.string()), pa.field("needs_review", pa.bool_()), pa.field("model_id", pa.string())]
    if echo_text:
        fields.append(pa.field("text", pa.string()))
    return pa.schema(fields)


REJECT_SCHEMA_FIELDS = (("id", "string"), ("source", "string"), ("line", "int64"), ("reason", "string"))


def _reject_schema():
    import pyarrow as pa

    return pa.schema([pa.field(n, getattr(pa, t)()) for n, t in REJECT_SCHEMA_FIELDS])


def run_key(inputs: Sequence[str], model_id: str, spec: ScoreSpec) -> str:
    """Identifies a run: inputs (path, size, mtime), model and every option that changes the output."""
    h = hashlib.sha256()
    for p in inputs:
        st = os.stat(p) if p != "-" else None
        h.update(f"{p}|{st.st_size if st else ''}|{st.st_mtime_ns if st else ''}".encode())
    h.update(model_id.encode())
    relevant = {k: v for k, v in asdict(spec).items() if k not in ("quiet", "keep_parts", "batch_size")}
    h.update(json.dumps(relevant, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _merge(parts_dir: Path, pattern: str, output: Path, fmt: str, schema) -> int:
    """Stream shards into one output file (temp + rename); returns the row count."""
    import pyarrow.parquet as pq

    shards = sorted(parts_dir.glob(pattern))
    tmp = output.with_name(output.name + ".tmp")
    n = 0
    if fmt == "parquet":
        with pq.ParquetWriter(tmp, schema) as writer:
            for s in shards:
                t = pq.read_table(s, schema=schema)
                writer.write_table(t)
                n += t.num_rows
    else:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            import csv

            writer = csv.DictWriter(fh, fieldnames=schema.names) if fmt == "csv" else None
            if writer:
                writer.writeheader()
            for s in shards:
                for rec in pq.read_table(s, schema=schema).to_pylist():
                    n += 1
                    if writer:
                        writer.writerow(rec)
                    else:  # JSONL: labels as a JSON list; Parquet and CSV keep the comma-joined string
                        if isinstance(rec.get("labels"), str):
                            rec["labels"] = [lab for lab in rec["labels"].split(",") if lab]
                        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.replace(tmp, output)
    return n


def score_files(clf, inputs: Sequence[str], output: str | Path, spec: ScoreSpec | None = None,
                rejects: str | Path | None = None) -> dict[str, Any]:
    """Score every row of `inputs` into `output` (+ rejects), resumably. Returns the summary dict."""
    from tqdm import tqdm

    spec = spec or ScoreSpec()
    inputs = expand_inputs(inputs)
    output = Path(output)
    fmt = spec.output_format or {".parquet": "parquet", ".jsonl": "jsonl", ".csv": "csv"}.get(output.suffix.lower())
    if fmt not in ("parquet", "jsonl", "csv"):
        raise ScoringError(f"output {output}: choose a .parquet, .jsonl or .csv file (or output_format)")
    rejects = Path(rejects) if rejects else output.with_name(output.stem + ".rejects.jsonl")
    parts = output.with_name(output.name + ".parts")
    parts.mkdir(parents=True, exist_ok=True)
    key = run_key(inputs, clf.model_id, spec)
    state_file = parts / "_run.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if state.get("key") != key:
            raise ScoringError(f"{parts} holds an unfinished run with other inputs, model or options; "
                               f"delete it or choose another output")
    else:
        _atomic_write_bytes(state_file, json.dumps({"key": key, "inputs": inputs, "model_id": clf.model_id,
                                                    "spec": asdict(spec)}, indent=2).encode())
    schema = output_schema(clf.labels, spec.echo_text)
    counts = {"input_rows": 0, "scored_rows": 0, "rejected_rows": 0, "skipped_chunks": 0, "scored_chunks": 0}
    t0 = time.time()
    total = None if spec.quiet else estimate_rows(inputs)
    bar = tqdm(total=total, unit="rows", disable=spec.quiet, desc="scoring", dynamic_ncols=True, mininterval=1.0,
               unit_scale=True)
    for f_idx, path in enumerate(inputs):
        index = 0
        for c_idx, rows in enumerate(read_chunks(path, spec.chunk_rows)):
            shard = f"{f_idx:04d}-{c_idx:06d}"
            out_path, rej_path, cnt_path = parts / f"out-{shard}.parquet", parts / f"rej-{shard}.parquet", parts / f"cnt-{shard}.json"
            if out_path.exists() and cnt_path.exists():
                c = json.loads(cnt_path.read_text())
                counts["skipped_chunks"] += 1
            else:
                good, bad = score_chunk(clf, rows, spec, path, index)
                _write_parquet(rej_path, bad, _reject_schema())
                c = {"input": len(rows), "scored": len(good), "rejected": len(bad)}
                _atomic_write_bytes(cnt_path, json.dumps(c).encode())
                _write_parquet(out_path, good, schema)  # written last: marks the chunk as finished
                counts["scored_chunks"] += 1
            counts["input_rows"] += c["input"]
            counts["scored_rows"] += c["scored"]
            counts["rejected_rows"] += c["rejected"]
            index += len(rows)
            bar.update(len(rows))
    bar.close()
    n_out = _merge(parts, "out-*.parquet", output, fmt, schema)
    n_rej = _merge(parts, "rej-*.parquet", rejects, "jsonl", _reject_schema())
    seconds = time.time() - t0
    summary = {**counts, "output_rows": n_out, "rejects_file_rows": n_rej, "output": str(output), "rejects": str(rejects),
               "model_id": clf.model_id, "seconds": round(seconds, 2),
               "rows_per_second": round(counts["scored_chunks"] and counts["input_rows"] / max(seconds, 1e-9), 1),
               "accounting_ok": counts["input_rows"] == n_out + n_rej}
    if not summary["accounting_ok"]:
        raise ScoringError(f"row accounting failed: {counts['input_rows']} input rows != {n_out} output + {n_rej} rejected")
    summary_path = output.with_name(output.stem + ".summary.json")
    _atomic_write_bytes(summary_path, json.dumps(summary, indent=2).encode())
    if not spec.keep_parts:
        for p in parts.iterdir():
            p.unlink()
        parts.rmdir()
    return summary
