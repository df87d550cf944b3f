"""Streaming, resumable batch scoring of comment dumps (CSV / JSONL / Parquet files, globs, or JSONL on stdin).

Guarantees (docs/inference.md states them for users):

- Exactly once: every input record (a JSONL line, a CSV/TSV physical record, a Parquet row) ends up exactly once in
  the output or in the rejects file, in input order, however often the run is killed and resumed. CSV/TSV is read as
  physical records (tfgbv.data.records): a stray quote rejects that record, it never merges the rows after it.
- One writer: `<output>.lock` is held (flock) for the whole run; a second run on the same output is refused.
- Input is read in chunks of `chunk_rows` rows or `chunk_chars` characters, whichever is reached first (memory does
  not grow with input size or text length). Chunk k of file f becomes the
  shards `out-f-k.parquet` and `rej-f-k.parquet` in `<output>.parts/` and then `cnt-f-k.json`, the chunk's marker
  (written last, with the rows of both shards and a hash of the input bytes read so far). Every file is written
  atomically (tfgbv.io.atomic_write: unique temp file, fsync, rename). A resume reuses a chunk only when its marker
  and both shards are complete and the data read so far hashes the same (bytes of JSONL/CSV and standard input,
  batch contents of Parquet, so a replaced file of the same size and mtime is noticed); otherwise
  the chunk is scored again, or the run is refused when the input changed.
- Commit: output, rejects and summary are merged into temp files, checked (input rows = output rows + rejected rows,
  every shard as counted), and only then renamed (output, rejects, then summary; the old summary is removed first),
  so a good file is never replaced by a worse one and a summary only ever describes the files next to it. The
  parts directory is removed last, behind a `_done.json` marker, so every crash point resumes to the same result.
- Bad rows go to the rejects file with a reason; they never stop the run. A bad *file* (unreadable, corrupt or
  truncated Parquet, a CSV without a header, a directory) is recorded in the summary with its location and skipped;
  the other files are scored and committed, then the run fails (ScoringError) naming the bad files.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import glob
import hashlib
import io
import itertools
import json
import logging
import os
import re
import stat
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from tfgbv import rundir
from tfgbv.data.records import CsvFileError, check_encoding, csv_lines, csv_records, iter_lines, jsonl_records
from tfgbv.io import atomic_write, create_temp, write_bytes, write_json, write_text
from tfgbv.models.build import find_model_dir, is_hub_id
from tfgbv.predict.base import base_model_id, precision_of
from tfgbv.predict.loading import load_classifier
from tfgbv.predict.onnx_backend import FILES, OnnxClassifier, export_onnx
from tfgbv.predict.precision import choose_bf16, choose_int8
from tfgbv.predict.transformer import DEFAULT_BATCH_TOKENS
from tfgbv.text import mask_pii

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}
OUTPUT_FORMATS = ("parquet", "jsonl", "csv")
_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone surrogate (JSON "\ud800") is not valid Unicode text


class ScoringError(RuntimeError):
    """A problem with the options, the paths, an input file or the output directory (never with individual rows).

    `summary` is set when the run committed its files but some input files could not be read."""

    summary: dict[str, Any] | None = None


class InputFileError(Exception):
    """One input file cannot be read (any further): names the file and, where known, the line."""

    def __init__(self, path: str, message: str, line: int | None = None):
        self.path, self.message, self.line = path, message, line
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


@dataclass
class ScoreSpec:
    """Batch-scoring options (Hydra config `predict.yaml`); validated on construction."""

    text_column: str = "text"
    id_column: str | None = "id"
    delimiter: str | None = None  # CSV/TSV field separator; None = "," for .csv, tab for .tsv (no sniffing)
    encoding: str = "utf-8"  # of CSV/TSV/JSONL input (ASCII-compatible: utf-8, cp1251, koi8-r, ...)
    max_reject_share: float = 0.5  # the run fails (ok: false, exit 1) when more of its input rows are rejected
    chunk_rows: int = 10_000
    chunk_chars: int = 4_000_000  # a chunk also ends at this many characters: memory is bounded whatever the texts
    batch_size: int = 256
    max_chars: int = 20_000  # longer texts are rejected ("over-long"); shorter ones are scored by sliding windows
    review_band: float = 0.1  # needs_review when any score is within this distance of its threshold
    echo_text: bool = False  # copy the text column into the output
    mask_pii: bool = True  # mask phone numbers, e-mails, addresses, user tags in the echoed text
    output_format: str | None = None  # parquet | jsonl | csv; default from the output file's suffix
    quiet: bool = False
    keep_parts: bool = False

    def __post_init__(self) -> None:
        problems = []
        for name in ("chunk_rows", "chunk_chars", "batch_size", "max_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        band = self.review_band
        if not isinstance(band, (int, float)) or isinstance(band, bool) or not 0 <= band <= 1:
            problems.append(f"review_band must be a number in [0, 1], got {band!r}")
        if not isinstance(self.text_column, str) or not self.text_column:
            problems.append(f"text_column must be a column name, got {self.text_column!r}")
        if self.id_column is not None and (not isinstance(self.id_column, str) or not self.id_column):
            problems.append(f"id_column must be a column name or null, got {self.id_column!r}")
        problems += _reading_problems(self)
        if self.output_format is not None and self.output_format not in OUTPUT_FORMATS:
            problems.append(f"output_format must be one of {list(OUTPUT_FORMATS)} or null, got {self.output_format!r}")
        for name in ("echo_text", "mask_pii", "quiet", "keep_parts"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name} must be true or false, got {getattr(self, name)!r}")
        if problems:
            raise ScoringError("invalid scoring option(s): " + "; ".join(problems))


def _reading_problems(spec: ScoreSpec) -> list[str]:
    problems = []
    d = spec.delimiter
    if d is not None and (not isinstance(d, str) or len(d) != 1 or d in '\r\n"' or ord(d) > 127):
        problems.append(f"delimiter must be one ASCII character other than a quote or line end (or null), got {d!r}")
    if (why := check_encoding(spec.encoding)) is not None:
        problems.append(why)
    share = spec.max_reject_share
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
        problems.append(f"max_reject_share must be a number in [0, 1], got {share!r}")
    return problems


def check_scorer_options(
    backend: Any = "torch",
    bf16: Any = "auto",
    num_threads: Any = None,
    onnx_variant: Any = "int8",
    batch_tokens: Any = DEFAULT_BATCH_TOKENS,
    compile: Any = False,
    int8: Any = False,
) -> None:
    """Refuse scorer options that would be misread (bf16=maybe taken as true, num_threads=0 as all cores,
    batch_tokens=0 as one window per batch) or fail later with a raw error (an unknown ONNX variant)."""
    problems = []
    if backend not in ("torch", "onnx"):
        problems.append(f"backend must be torch or onnx, got {backend!r}")
    if onnx_variant not in FILES:
        problems.append(f"onnx_variant must be one of {sorted(FILES)}, got {onnx_variant!r}")
    for name, value in (("bf16", bf16), ("compile", compile), ("int8", int8)):
        if not (isinstance(value, bool) or value == "auto"):
            problems.append(f"{name} must be true, false or auto, got {value!r}")
    for name, value in (("num_threads", num_threads), ("batch_tokens", batch_tokens)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            problems.append(f"{name} must be a positive integer or null, got {value!r}")
    if problems:
        raise ScoringError("invalid scoring option(s): " + "; ".join(problems))


def load_scorer(
    model_dir: str | Path,
    backend: str = "torch",
    bf16: Any = "auto",
    num_threads: int | None = None,
    batch_size: int = 256,
    onnx_variant: str = "int8",
    batch_tokens: int | None = DEFAULT_BATCH_TOKENS,
    compile: bool = False,
    int8: Any = False,
    rows: int | None = None,
    remeasure: bool = False,
):
    """A classifier for the chosen backend (torch | onnx), loaded once per process (or once per Ray actor).

    `rows`: the input's size, when known (bf16=auto measures nothing below BF16_MEASURE_MIN_ROWS); `remeasure`: time
    the auto choices again and replace this machine's cached ones.

    torch: `bf16` true/false/"auto" (measured once per machine, see tfgbv.predict.precision); `compile` runs the model
    through torch.compile (pays off on large inputs: it costs up to a minute once per process); `int8` true scores
    with the calibrated int8 model (always compiled), "auto" does so when compiling and int8 measured faster than
    compiled bf16 at >= 99.5% label agreement for this model on this machine."""
    check_scorer_options(backend, bf16, num_threads, onnx_variant, batch_tokens, compile, int8)
    if not isinstance(remeasure, bool):
        raise ScoringError(f"invalid scoring option(s): remeasure must be true or false, got {remeasure!r}")
    if backend == "onnx":
        if not (find_model_dir(model_dir) / rundir.ONNX_DIR / FILES[onnx_variant]).exists():
            log.warning("no ONNX export in %s yet: exporting now (once; scripts/export.py does the same)", model_dir)
            export_onnx(model_dir, quantize=onnx_variant == "int8")
        return OnnxClassifier.from_pretrained(
            model_dir, variant=onnx_variant, batch_size=batch_size, num_threads=num_threads, batch_tokens=batch_tokens
        )
    if backend != "torch":
        raise ScoringError(f"backend={backend!r}: choose torch or onnx")
    if int8 == "auto":
        int8 = bool(compile) and choose_int8(
            model_dir, refresh=remeasure, num_threads=num_threads, batch_tokens=batch_tokens
        )
    if int8:
        return load_classifier(
            model_dir, batch_size=batch_size, int8=True, num_threads=num_threads, batch_tokens=batch_tokens
        )
    if bf16 == "auto":
        bf16 = choose_bf16(model_dir, rows=rows, refresh=remeasure, num_threads=num_threads, batch_tokens=batch_tokens)
    return load_classifier(
        model_dir, batch_size=batch_size, bf16=bf16, num_threads=num_threads, batch_tokens=batch_tokens, compile=compile
    )


# ----------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class RunPaths:
    """Every file a run writes. All are named after the whole output file name, so `x.parquet` and `x.csv` never
    share rejects, summary, parts or lock."""

    output: Path
    rejects: Path
    summary: Path
    parts: Path
    lock: Path


def run_paths(output: str | Path, rejects: str | Path | None = None) -> RunPaths:
    output = Path(output)
    sibling = lambda suffix: output.with_name(output.name + suffix)  # noqa: E731
    return RunPaths(
        output,
        Path(rejects) if rejects else sibling(".rejects.jsonl"),
        sibling(".summary.json"),
        sibling(".parts"),
        sibling(".lock"),
    )


def _same_file(a: str | Path, b: str | Path) -> bool:
    """Same file, also under another name (symlink, hard link, relative path): same device and inode."""
    try:
        return os.path.samestat(os.stat(a), os.stat(b))
    except OSError:  # one does not exist (yet): compare where the names lead
        return os.path.realpath(a) == os.path.realpath(b)


def _own_role(path: str, paths: RunPaths) -> str | None:
    """Which of this run's files `path` is (output, rejects, summary, lock, parts), or None."""
    for role in ("output", "rejects", "summary", "lock"):
        if _same_file(path, getattr(paths, role)):
            return role
    if os.path.realpath(path).startswith(os.path.realpath(paths.parts) + os.sep):
        return "parts"
    return None


def _written_by_an_earlier_run(path: str, role: str, paths: RunPaths) -> bool:
    """Whether `path`, which is this run's `role` file, was left there by an earlier run on the same output (so a glob
    may leave it out) rather than being data that happens to lie at that path (then leaving it out would hide an input
    and the run would overwrite it). Summary, lock and parts files are never data."""
    if role not in ("output", "rejects") or paths.parts.is_dir():  # parts: an unfinished (or kept) run on this output
        return True
    try:
        summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(summary, dict) or not isinstance(summary.get(role), str):
        return False
    return _same_file(summary[role], path) or Path(summary[role]).name == Path(path).name


def expand_inputs(inputs: Sequence[str], paths: RunPaths | None = None) -> list[str]:
    """Files and globs in a stable order; "-" means JSONL on standard input.

    A glob never yields the run's own output, rejects, summary or parts files (so re-running `input='dir/*.jsonl'
    output=dir/scores.jsonl` does not score the first run's output); naming one of them explicitly is an error, and so
    is a glob matching a file at the output or rejects path that no earlier run on this output wrote (it is data the
    run would overwrite). A file given twice (also by another name or through overlapping globs) is read once."""
    if isinstance(inputs, (str, Path)):
        inputs = [str(inputs)]
    out: list[str] = []
    for item in inputs:
        item = str(item)
        if item == "-":
            if "-" in out:
                raise ScoringError("standard input ('-') given twice")
            out.append("-")
            continue
        # an existing path is that file, even with glob characters in its name ("dump[1].jsonl")
        is_glob = glob.has_magic(item) and not os.path.lexists(os.path.expanduser(item))
        matches = sorted(glob.glob(os.path.expanduser(item))) if is_glob else [os.path.expanduser(item)]
        if not is_glob and not os.path.lexists(matches[0]):
            raise ScoringError(f"input {item!r}: no such file")
        if paths is not None:
            own = {m: role for m in matches if (role := _own_role(m, paths))}  # file -> which of this run's files
            if own and not is_glob:
                role = next(iter(own.values()))
                raise ScoringError(
                    f"input {item} is also this run's {role} file ({getattr(paths, role)}): writing it "
                    f"would destroy the input; choose another {role} path"
                )
            for m, role in own.items():
                if not _written_by_an_earlier_run(m, role, paths):
                    raise ScoringError(
                        f"input {item!r} matches {m}, which is this run's {role} path but was not written by an "
                        f"earlier run on {paths.output} (no {paths.summary.name} names it): scoring would overwrite "
                        f"it; choose another {role} path"
                    )
            if own:
                log.info("glob %r: leaving out this run's own files %s", item, list(own))
            matches = [m for m in matches if m not in own]
        if not matches:
            raise ScoringError(f"input {item!r}: the glob matched nothing (or only this run's own files)")
        out.extend(os.path.normpath(m) for m in matches)
    if not out:
        raise ScoringError("no input given")
    for path in out:
        if path != "-" and Path(path).suffix.lower() not in FORMATS:
            raise ScoringError(f"input {path}: unsupported file type; use .csv, .tsv, .jsonl or .parquet")
    return _drop_duplicates(out)


def _drop_duplicates(paths: list[str]) -> list[str]:
    seen: dict[tuple[int, int], str] = {}
    out = []
    for p in paths:
        try:
            st = os.stat(p) if p != "-" else None
        except OSError:
            st = None
        ident = (st.st_dev, st.st_ino) if st else None
        if ident is not None and ident in seen:
            log.warning("input %s is the same file as %s: read once", p, seen[ident])
            continue
        if ident is not None:
            seen[ident] = p
        out.append(p)
    return out


def _not_a_regular_file(path: Path) -> str | None:
    """What `path` is when it exists (also through a symlink) but is not a regular file: a FIFO, a device, a socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, what in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "not a regular file"


def check_paths(inputs: Sequence[str], paths: RunPaths) -> None:
    """Refuse outputs that would destroy data: output, rejects or summary being an input or one another, a directory,
    or not a regular file (a FIFO would hang the run; renaming over a device node such as a link to /dev/null would
    replace it by a regular file)."""
    named = {"output": paths.output, "rejects": paths.rejects, "summary": paths.summary}
    for what, q in named.items():
        if q.is_dir():
            raise ScoringError(f"{what} {q} is a directory: give a file name")
        kind = _not_a_regular_file(q)
        if kind:
            raise ScoringError(
                f"{what} {q} is {kind}{' (through a symlink)' if q.is_symlink() else ''}: scores are written to "
                f"regular files only (written atomically, by renaming); choose a file path"
            )
    for p in inputs:
        if p != "-":
            for what, q in named.items():
                if _same_file(p, q):
                    raise ScoringError(
                        f"{what} {q} is the input file {p} (also when linked): choose another {what} path"
                    )
    if _same_file(paths.rejects, paths.output) or _same_file(paths.rejects, paths.summary):
        raise ScoringError(f"rejects={paths.rejects} is the output or summary file: choose another rejects path")
    if _same_file(paths.rejects, paths.lock) or os.path.realpath(paths.rejects).startswith(
        os.path.realpath(paths.parts) + os.sep
    ):
        raise ScoringError(f"rejects={paths.rejects} is one of the run's working files: choose another rejects path")


def prepare_output_dirs(paths: RunPaths) -> None:
    """Create the output and rejects directories and check that files can be created there, before any scoring."""
    for directory in {paths.output.parent, paths.rejects.parent}:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, probe = create_temp(directory / "write-check")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            raise ScoringError(f"cannot write in {directory}: {err.strerror or err}") from err


@contextlib.contextmanager
def output_lock(paths: RunPaths) -> Iterator[None]:
    """Hold `<output>.lock` (flock, released by the kernel even on kill -9) for the whole run; refuse a second
    writer."""
    while True:
        try:
            fd = os.open(
                paths.lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o666
            )
        except OSError as err:
            raise ScoringError(f"cannot create the lock file {paths.lock}: {err.strerror or err}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise ScoringError(
                f"another run is writing {paths.output} (lock {paths.lock} is held"
                f"{' by process ' + holder if holder else ''}); wait for it to finish or choose another "
                f"output"
            ) from None
        try:  # the previous holder may have removed the file between our open and flock: then lock the new one
            if os.path.samestat(os.fstat(fd), os.stat(paths.lock, follow_symlinks=False)):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    try:
        yield
    finally:
        try:
            os.unlink(paths.lock)  # while still holding it, so no one else can be holding this file
        except OSError:
            pass
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------- inputs


def _row_chars(row: dict) -> int:
    return sum(len(v) for v in row.values() if isinstance(v, (str, bytes)))


def _chunked(rows: Iterator[dict], chunk_rows: int, chunk_chars: int | None = None) -> Iterator[list[dict]]:
    """Chunks of at most `chunk_rows` rows that end once they hold `chunk_chars` characters of string values (so a
    chunk of long texts is short: what it costs to hold and score is bounded by configuration, not by the texts)."""
    chunk: list[dict] = []
    chars = 0
    for row in rows:
        chunk.append(row)
        chars += _row_chars(row) if chunk_chars else 0
        if len(chunk) >= chunk_rows or (chunk_chars and chars >= chunk_chars):
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _jsonl_rows(lines: Iterator[bytes], encoding: str = "utf-8") -> Iterator[dict]:
    for rec in jsonl_records(lines, encoding):
        row = rec.value if rec.problem is None else {"_error": rec.problem}
        row["_line"] = rec.line
        yield row


def _csv_rows(lines: Iterator[bytes], delimiter: str, encoding: str = "utf-8") -> Iterator[dict]:
    """One row per physical CSV record; a malformed record is a reject row naming its line (never a merged row)."""
    for rec in csv_records(lines, delimiter, encoding=encoding):
        row = dict(rec.values)
        if rec.problem:
            row["_error"] = rec.problem
        row["_line"] = rec.line
        yield row


def _parquet_records(fh, chunk_rows: int, hasher=None) -> Iterator[list[dict]]:
    """Parquet rows with `_line`: their 1-based row number, the one numbering of ids and rejects. With `hasher`, each
    batch's content (Arrow IPC bytes) is fed to it as it is read: a resume detects a replaced file of the same size
    and modification time, as it does for JSONL/CSV."""
    n = 0
    for batch in pq.ParquetFile(fh).iter_batches(batch_size=chunk_rows):
        if hasher is not None:
            hasher.update(batch.serialize())
        rows = batch.to_pylist()
        for k, row in enumerate(rows, start=n + 1):
            row["_line"] = k
        n += len(rows)
        yield rows


def delimiter_of(fmt: str, delimiter: str | None = None) -> str:
    """The field separator of a CSV/TSV input: the `delimiter` option, else "," for .csv and a tab for .tsv."""
    return delimiter or ("\t" if fmt == "tsv" else ",")


def _hashed(lines: Iterator[bytes], hasher) -> Iterator[bytes]:
    for raw in lines:
        hasher.update(raw)
        yield raw


def chunks_from_handle(
    fh,
    fmt: str,
    chunk_rows: int,
    hasher=None,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    chunk_chars: int | None = None,
) -> Iterator[list[dict]]:
    """Stream an open binary file of format `fmt` (jsonl | parquet | csv | tsv) in chunks of dict rows, each with
    `_line` (1-based: the line it starts on, the row number in Parquet) and, when it cannot be scored, `_error`.

    Shared by the local engine, the Ray datasource and tfgbv-select, so all read, decode and reject rows identically
    (tfgbv.data.records: JSONL split at "\\n" only, CSV/TSV at "\\r\\n", "\\r" or "\\n" like the csv module). With
    `hasher` (a hashlib object), the raw bytes of JSONL/CSV (Parquet: each batch's content) are fed to it as they are
    read, so when a chunk is yielded the hash covers the data read so far (what a resume compares). A chunk ends at
    `chunk_rows` rows or `chunk_chars` characters, whichever comes first."""
    if fmt == "parquet":
        parquet_rows = (row for rows in _parquet_records(fh, chunk_rows, hasher) for row in rows)
        yield from _chunked(parquet_rows, chunk_rows, chunk_chars)
        return
    if fmt not in ("jsonl", "csv", "tsv"):
        raise ScoringError(f"unsupported input format {fmt!r}")
    lines = iter_lines(fh) if fmt == "jsonl" else csv_lines(fh)
    if hasher is not None:
        lines = _hashed(lines, hasher)
    if fmt == "jsonl":
        rows = _jsonl_rows(lines, encoding)
    else:
        rows = _csv_rows(lines, delimiter_of(fmt, delimiter), encoding)
    yield from _chunked(rows, chunk_rows, chunk_chars)


def read_chunks(
    path: str,
    chunk_rows: int,
    with_digest: bool = False,
    *,
    delimiter: str | None = None,
    encoding: str = "utf-8",
    chunk_chars: int | None = None,
) -> Iterator[tuple[list[dict], str | None]]:
    """Stream one input ("-" = JSONL on stdin) as (chunk of dict rows, digest of the bytes read so far or None).

    Any failure to read the file (missing, a directory, corrupt Parquet, no CSV header) raises InputFileError."""
    fmt = "jsonl" if path == "-" else FORMATS[Path(path).suffix.lower()]
    hasher = hashlib.sha256() if with_digest else None
    last_line = None
    try:
        with contextlib.ExitStack() as stack:
            fh = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))
            for rows in chunks_from_handle(
                fh, fmt, chunk_rows, hasher, delimiter=delimiter, encoding=encoding, chunk_chars=chunk_chars
            ):
                last_line = rows[-1].get("_line") if rows else last_line
                yield rows, hasher.hexdigest() if hasher is not None else None
    except CsvFileError as err:
        raise InputFileError(path, str(err), err.line) from err
    except MemoryError:
        raise
    except (
        Exception
    ) as err:  # only reading runs in this block: any failure here is this file's (pyarrow has many types)
        raise InputFileError(
            path, f"{type(err).__name__}: {err}", None if last_line is None else last_line + 1
        ) from err


SAMPLE_BYTES = 1 << 20  # what check_inputs reads of each file


def check_inputs(inputs: Sequence[str], spec: ScoreSpec) -> None:
    """Refuse, before a model loads or a row is scored, input files the reading options do not fit: a CSV/TSV header
    or Parquet schema without `text_column`, JSONL whose first objects all lack it, or bytes in the first MiB that
    are not `spec.encoding`. Each problem names the file, what was found and the option to set. Standard input and
    files that cannot be opened are left to the run (which reports them as bad files)."""
    problems = []
    for path in inputs:
        if path == "-":
            continue
        try:
            problem = _check_input(path, FORMATS[Path(path).suffix.lower()], spec)
        except (OSError, CsvFileError, pa.ArrowException):
            continue  # unreadable, empty or corrupt: the run records it as a bad file with its location
        if problem:
            problems.append(problem)
    if problems:
        raise ScoringError("nothing was scored: " + "; ".join(problems))


def _check_input(path: str, fmt: str, spec: ScoreSpec) -> str | None:
    col = spec.text_column
    if fmt == "parquet":
        names = pq.ParquetFile(path).schema_arrow.names
        return None if col in names else f"{path} has no column '{col}' (columns: {_some(names)}); set text_column="
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if problem := _check_encoding_of(path, fmt, sample, spec):
        return problem
    if fmt == "jsonl":
        return _check_jsonl_fields(path, sample, spec)
    header: list[str] = []
    delimiter = delimiter_of(fmt, spec.delimiter)
    try:
        next(csv_records(csv_lines(io.BytesIO(sample)), delimiter, header_out=header, encoding=spec.encoding), None)
    except CsvFileError as err:
        if "undecodable" not in str(err):
            raise  # no header at all: the run records the file as bad
        return f"{path}:{err.line}: {err}: set encoding= to the file's encoding (e.g. encoding=cp1251)"
    if col in header:
        if spec.id_column and spec.id_column not in header:
            log.warning("%s has no id column '%s': its rows get ids <file>:<line>", path, spec.id_column)
        return None
    hint = ""
    for other in (";", "\t", ",", "|"):
        if other != delimiter and len(header) == 1 and col in header[0].split(other):
            hint = " name the file .tsv, or" if other == "\t" else f" set delimiter='{other}', or"
            break
    return (
        f"{path}: the header has no column '{col}' (columns found, split at {delimiter!r}: {_some(header)});{hint} "
        f"set text_column= to the column holding the comments"
    )


def _check_encoding_of(path: str, fmt: str, sample: bytes, spec: ScoreSpec) -> str | None:
    """A wrong `encoding`: more of the sample's lines are undecodable than max_reject_share allows (the run would
    fail on its rejects anyway). A few broken lines are rejected row by row instead."""
    lines = list(iter_lines(io.BytesIO(sample)) if fmt == "jsonl" else csv_lines(io.BytesIO(sample)))
    if len(sample) == SAMPLE_BYTES:
        lines = lines[:-1]  # the last line may be cut in the middle of a character
    bad, total = [], 0
    for n, raw in enumerate(lines, start=1):
        if raw.strip():
            total += 1
            try:
                raw.decode(spec.encoding)
            except UnicodeDecodeError:
                bad.append(n)
    if not bad or len(bad) <= spec.max_reject_share * total:
        return None
    return (
        f"{path}: {len(bad)} of its first {total} lines (e.g. line {bad[0]}) have bytes that are not "
        f"{spec.encoding}: set encoding= to the file's encoding (e.g. encoding=cp1251 for Windows Cyrillic) or "
        f"convert it to UTF-8"
    )


def _check_jsonl_fields(path: str, sample: bytes, spec: ScoreSpec, objects: int = 100) -> str | None:
    """None when one of the first `objects` JSON objects has the text field (or there is none to look at)."""
    lines = list(iter_lines(io.BytesIO(sample)))
    if len(sample) == SAMPLE_BYTES:
        lines = lines[:-1]  # the last line may be cut
    seen: dict[str, None] = {}
    for rec in itertools.islice((r for r in jsonl_records(lines, spec.encoding) if r.value is not None), objects):
        if spec.text_column in rec.value:
            return None
        seen.update(dict.fromkeys(rec.value))
    if not seen:
        return None
    return (
        f"{path}: no '{spec.text_column}' field in its first JSON objects (fields found: {_some(list(seen))}); "
        f"set text_column= to the field holding the comments"
    )


def _some(names: Sequence[str], n: int = 20) -> str:
    shown = [_printable(str(x))[:60] for x in names[:n]]
    return str(shown) + (f" and {len(names) - n} more" if len(names) > n else "")


def estimate_rows(inputs: Sequence[str]) -> int | None:
    """Row count for the progress bar's ETA: exact for Parquet (metadata), lines for JSONL/CSV (a fast byte scan;
    CSV fields with line breaks make it an over-estimate). None for standard input; unreadable files count 0."""
    total = 0
    for path in inputs:
        if path == "-":
            return None
        try:
            total += _estimate_file(path)
        except Exception:  # noqa: BLE001 - only an ETA; the file's error is reported when it is read
            continue
    return total


def _estimate_file(path: str) -> int:
    fmt = FORMATS[Path(path).suffix.lower()]
    if fmt == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    lines, last = 0, b"\n"
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"  # a last line without a newline
    return max(0, lines - (1 if fmt in ("csv", "tsv") else 0))  # the CSV header


# ----------------------------------------------------------------------------- rows


def _printable(value: str) -> str:
    """`value` with lone surrogates written as \\udXXX escapes, so it can be stored as UTF-8."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8") if _SURROGATE.search(value) else value


def check_row(row: dict, spec: ScoreSpec) -> str | None:
    """Why a row cannot be scored, or None. One wording per reason, whatever the format: an empty CSV cell, a JSON
    "" or null and a Parquet null are all "empty text"; only a JSON object without the field has "no '<col>' field"
    (the header check refuses a CSV or Parquet file without the column before scoring)."""
    if "_error" in row:
        return row["_error"]
    if spec.text_column not in row:
        return f"no '{spec.text_column}' field"
    text = row[spec.text_column]
    if text is None or (isinstance(text, str) and not text.strip()):
        return "empty text"
    if not isinstance(text, str):
        return f"text is {type(text).__name__}, not a string"
    if _SURROGATE.search(text):
        return "text is not valid Unicode (a lone surrogate \\u escape)"
    if len(text) > spec.max_chars:
        return f"over-long text ({len(text)} characters > max_chars={spec.max_chars})"
    return None


def row_id(row: dict, spec: ScoreSpec, source: str, index: int) -> str:
    """The id column's value, or `<input path as given>:<line>` (unique across inputs, also for files with the same
    name in different directories). `<line>` is the row's 1-based `_line` (the line it starts on; the row number in
    Parquet), the same number its reject names; `index + 1` for a row without one."""
    value = row.get(spec.id_column) if spec.id_column else None
    if value is not None and value != "":
        return str(value)
    return f"{_printable(source)}:{row.get('_line') or index + 1}"


class IdCounter:
    """Counts rows whose id (the `id_column` value) already appeared on an earlier row of the run: they are scored
    (every input row is accounted for) but the output no longer joins one-to-one to the input, so the summary says
    so. Holds one hash per distinct id (about 60 bytes each)."""

    def __init__(self, id_column: str | None, examples: int = 5):
        self.column, self.seen, self.duplicates, self.examples, self.n_examples = id_column, set(), 0, [], examples

    def add(self, rows: Sequence[dict]) -> None:
        if not self.column:
            return
        for row in rows:
            value = row.get(self.column)
            if value is None or value == "":
                continue  # a generated <file>:<line> id is unique
            key = hash(str(value))
            if key in self.seen:
                self.duplicates += 1
                if len(self.examples) < self.n_examples:
                    self.examples.append(_printable(str(value))[:100])
            else:
                self.seen.add(key)

    def summary(self) -> dict[str, Any]:
        if self.duplicates:
            log.warning("%d rows repeat an id of an earlier row (e.g. %s)", self.duplicates, self.examples[:3])
        return {"duplicate_ids": self.duplicates, "duplicate_id_examples": self.examples}


def reject_verdict(input_rows: int, rejected_rows: int, spec: ScoreSpec) -> dict[str, Any]:
    """The share of rejected input rows and whether it fails the run (more than `spec.max_reject_share`)."""
    share = rejected_rows / input_rows if input_rows else 0.0
    return {
        "reject_share": round(share, 4),
        "max_reject_share": spec.max_reject_share,
        "too_many_rejects": share > spec.max_reject_share,
    }


def score_chunk(
    clf, rows: list[dict], spec: ScoreSpec, source: str, start_index: int = 0, indices: Sequence[int] | None = None
) -> tuple[list[dict], list[dict]]:
    """Score the valid rows of a chunk; return (output records, reject records).

    Rows without an id get `<input path>:<line>` (see _row_id); a row without `_line` counts as row `start_index + k`
    (0-based), or `indices[k]`, of the file.
    """
    good, rejects = [], []
    for k, row in enumerate(rows):
        rid = row_id(row, spec, source, indices[k] if indices is not None else start_index + k)
        reason = check_row(row, spec)
        if reason is None and _SURROGATE.search(rid):
            reason = "id is not valid Unicode (a lone surrogate \\u escape)"
        if reason:
            rejects.append(
                {"id": _printable(rid), "source": _printable(source), "line": row.get("_line"), "reason": reason}
            )
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
            rec["precision"] = precision_of(clf)
            if spec.echo_text:
                rec["text"] = mask_pii(text) if spec.mask_pii else text
            out.append(rec)
    return out, rejects


# ----------------------------------------------------------------------------- shards


def _write_parquet(path: Path, records: list[dict], schema) -> None:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records, schema=schema), buf)
    write_bytes(path, buf.getvalue())


def _parquet_rows(path: Path) -> int | None:
    """Rows of a complete Parquet file, None when it is missing or unreadable."""
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError):
        return None


def output_schema(labels: Sequence[str], echo_text: bool):
    fields = [pa.field("id", pa.string())] + [pa.field(f"p_{lab}", pa.float32()) for lab in labels]
    fields += [pa.field("labels", pa.string()), pa.field("needs_review", pa.bool_()), pa.field("model_id", pa.string())]
    fields.append(pa.field("precision", pa.string()))  # fp32/bf16/int8/onnx-*: same model id, slightly other scores
    if echo_text:
        fields.append(pa.field("text", pa.string()))
    return pa.schema(fields)


REJECT_SCHEMA_FIELDS = (("id", "string"), ("source", "string"), ("line", "int64"), ("reason", "string"))


def _reject_schema():
    return pa.schema([pa.field(n, getattr(pa, t)()) for n, t in REJECT_SCHEMA_FIELDS])


def run_key(inputs: Sequence[str], model_id: str, spec: ScoreSpec) -> str:
    """Identifies a run: inputs (path, size, mtime), model and every option that changes the output. Standard input
    has no size or mtime: its content is checked chunk by chunk instead (see the chunk markers)."""
    h = hashlib.sha256()
    for p in inputs:
        st = os.stat(p) if p != "-" else None
        # the name as bytes: a non-UTF-8 name comes as surrogate escapes, which str.encode() refuses
        h.update(os.fsencode(p) + f"|{st.st_size if st else ''}|{st.st_mtime_ns if st else ''}".encode())
    h.update(model_id.encode())
    unrelated = ("quiet", "keep_parts", "batch_size", "max_reject_share")  # they do not change the files written
    relevant = {k: v for k, v in asdict(spec).items() if k not in unrelated}
    h.update(json.dumps(relevant, sort_keys=True).encode())
    return h.hexdigest()[:16]


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection: `=HYPERLINK(...)` in a comment
# or an id). CSV output prefixes such string values with an apostrophe, which spreadsheets show as text (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """`value` as a spreadsheet will not run it: a string starting with = + - @ tab or CR gets a leading "'"."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _merge_output(parts: Path, shards: Sequence[str], fh, fmt: str, schema) -> int:
    """Stream the output shards, in order, into the open output file; returns the row count."""
    n = 0
    if fmt == "parquet":
        with pq.ParquetWriter(fh, schema) as writer:
            for s in shards:
                t = pq.read_table(parts / f"out-{s}.parquet", schema=schema)
                writer.write_table(t)
                n += t.num_rows
        return n
    writer = csv.DictWriter(fh, fieldnames=schema.names) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for s in shards:
        for rec in pq.read_table(parts / f"out-{s}.parquet", schema=schema).to_pylist():
            n += 1
            if writer:
                writer.writerow({k: csv_safe(v) for k, v in rec.items()})
            else:  # JSONL: labels as a JSON list; Parquet and CSV keep the comma-joined string
                if isinstance(rec.get("labels"), str):
                    rec["labels"] = [lab for lab in rec["labels"].split(",") if lab]
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return n


def _merge_rejects(parts: Path, shards: Sequence[str], fh) -> int:
    n = 0
    for s in shards:
        for rec in pq.read_table(parts / f"rej-{s}.parquet", schema=_reject_schema()).to_pylist():
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


_END = object()


def prefetched(iterator: Iterator[Any]) -> Iterator[Any]:
    """The items of `iterator`, each read by a worker thread while the caller works on the previous one (reading and
    parsing JSON/CSV overlaps with scoring, whose torch kernels release the GIL). Exceptions surface in order."""
    with ThreadPoolExecutor(1, thread_name_prefix="tfgbv-read") as pool:
        pending = pool.submit(next, iterator, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = pool.submit(next, iterator, _END)
            yield item


class _Run:
    """One locked run: reuses finished chunks, scores the rest, commits the final files, removes the parts.

    Reading the next chunk and writing the previous chunk's shards run in worker threads while a chunk is scored; at
    most one chunk is in flight each way, so memory stays bounded, and a chunk's marker is still written after both of
    its shards (crash safety does not depend on the threads)."""

    def __init__(self, clf, inputs: list[str], paths: RunPaths, fmt: str, spec: ScoreSpec):
        self.clf, self.inputs, self.paths, self.fmt, self.spec = clf, inputs, paths, fmt, spec
        self.parts = paths.parts
        self.key = run_key(inputs, f"{clf.model_id}:{precision_of(clf)}", spec)  # a resume never mixes precisions
        self.schema = output_schema(clf.labels, spec.echo_text)
        self.counts = {"input_rows": 0, "scored_rows": 0, "rejected_rows": 0, "skipped_chunks": 0, "scored_chunks": 0}
        self.shards: list[str] = []
        self.bad_files: list[dict[str, Any]] = []
        self.ids = IdCounter(spec.id_column)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="tfgbv-write")
        self._written: Future | None = None

    # -- state

    def open_state(self) -> None:
        """Start a run in an empty parts directory, or resume the one it holds if it has the same key."""
        self.parts.mkdir(parents=True, exist_ok=True)
        state = self.parts / "_run.json"
        if state.exists():
            if json.loads(state.read_text(encoding="utf-8")).get("key") != self.key:
                raise ScoringError(
                    f"{self.parts} holds an unfinished run with other inputs, model or options; "
                    f"delete it or choose another output"
                )
            return
        leftovers = sorted(p.name for p in self.parts.iterdir() if not p.name.startswith("."))
        if leftovers:
            raise ScoringError(
                f"{self.parts} holds files but no _run.json ({leftovers[:3]}...): not a run this "
                f"version can resume; delete it or choose another output"
            )
        # ASCII JSON: an input path may hold undecodable bytes (surrogate escapes), which UTF-8 cannot store
        write_text(
            state,
            json.dumps(
                {"key": self.key, "inputs": self.inputs, "model_id": self.clf.model_id, "spec": asdict(self.spec)},
                indent=2,
            ),
        )

    # -- chunks

    def _finished(self, shard: str, digest: str | None, path: str) -> dict | None:
        """The counts of a finished chunk (marker and both shards complete), or None when it must be scored again."""
        marker = self.parts / f"cnt-{shard}.json"
        if not marker.exists():
            return None
        c = json.loads(marker.read_text(encoding="utf-8"))
        if c.get("digest") != digest:
            hint = "pipe the same data again, or" if path == "-" else "the file changed since:"
            raise ScoringError(
                f"input {path} differs from the one the unfinished run in {self.parts} read (chunk "
                f"{shard} has other content); {hint} delete {self.parts} to start over"
            )
        if (
            _parquet_rows(self.parts / f"out-{shard}.parquet") != c["scored"]
            or _parquet_rows(self.parts / f"rej-{shard}.parquet") != c["rejected"]
        ):
            return None
        return c

    def _write_chunk(self, shard: str, good: list[dict], bad: list[dict], c: dict) -> None:
        _write_parquet(self.parts / f"rej-{shard}.parquet", bad, _reject_schema())
        _write_parquet(self.parts / f"out-{shard}.parquet", good, self.schema)
        write_json(self.parts / f"cnt-{shard}.json", c)  # written last: marks the chunk as finished

    def wait_for_writes(self) -> None:
        """Block until the last chunk's files are written; re-raises its error (e.g. a full disk)."""
        if self._written is not None:
            written, self._written = self._written, None
            written.result()

    def _score(self, shard: str, rows: list[dict], path: str, index: int, digest: str | None) -> dict:
        good, bad = score_chunk(self.clf, rows, self.spec, path, index)
        c = {"input": len(rows), "scored": len(good), "rejected": len(bad), "digest": digest}
        self.wait_for_writes()  # one chunk in flight: bounded memory, errors surface at the next chunk
        self._written = self._writer.submit(self._write_chunk, shard, good, bad, c)
        return c

    def score_file(self, f_idx: int, path: str, bar) -> None:
        index = 0
        chunks = prefetched(
            read_chunks(
                path,
                self.spec.chunk_rows,
                with_digest=True,
                chunk_chars=self.spec.chunk_chars,
                delimiter=self.spec.delimiter,
                encoding=self.spec.encoding,
            )
        )
        for c_idx in itertools.count():
            try:
                rows, digest = next(chunks)
            except StopIteration:
                return
            except InputFileError as err:
                log.error("input %s could not be read further (%s); skipped, the other files are scored", path, err)
                self.bad_files.append({"file": path, "line": err.line, "error": err.message, "rows_read": index})
                return
            shard = f"{f_idx:04d}-{c_idx:06d}"
            self.ids.add(rows)  # also for a chunk reused on resume: its rows are read all the same
            c = self._finished(shard, digest, path)
            if c is None:
                c = self._score(shard, rows, path, index, digest)
                self.counts["scored_chunks"] += 1
            else:
                self.counts["skipped_chunks"] += 1
            self.shards.append(shard)
            self.counts["input_rows"] += c["input"]
            self.counts["scored_rows"] += c["scored"]
            self.counts["rejected_rows"] += c["rejected"]
            index += len(rows)
            bar.update(len(rows))

    # -- finish

    def close(self, raise_errors: bool = True) -> None:
        """Finish the pending writes (raising their error unless asked not to) and stop the writer thread."""
        try:
            self.wait_for_writes()
        except Exception:
            if raise_errors:
                raise
        finally:
            self._writer.shutdown(wait=True)

    def commit(self, seconds: float) -> dict[str, Any]:
        """Merge into temp files, check the row accounting, then rename output, rejects and summary into place."""
        p, counts = self.paths, self.counts
        self.wait_for_writes()
        with (
            atomic_write(p.summary) as s_fh,
            atomic_write(p.rejects) as r_fh,
            atomic_write(p.output, binary=self.fmt == "parquet", newline="" if self.fmt == "csv" else None) as o_fh,
        ):
            n_out = _merge_output(self.parts, self.shards, o_fh, self.fmt, self.schema)
            n_rej = _merge_rejects(self.parts, self.shards, r_fh)
            if not (
                n_out == counts["scored_rows"]
                and n_rej == counts["rejected_rows"]
                and counts["input_rows"] == n_out + n_rej
            ):
                raise ScoringError(
                    f"row accounting failed: {counts['input_rows']} input rows != {n_out} output + "
                    f"{n_rej} rejected; nothing was replaced, {self.parts} is kept"
                )
            summary = run_summary(
                "local",
                counts,
                n_out,
                n_rej,
                p,
                self.clf.model_id,
                precision_of(self.clf),
                seconds,
                self.spec,
                ids=self.ids,
                bad_files=self.bad_files,
                run_key=self.key,
            )
            s_fh.write(json.dumps(summary, indent=2))  # ASCII: paths may hold surrogate escapes
            p.summary.unlink(missing_ok=True)  # a summary only ever stands next to the files it describes
        return summary  # the three files are renamed on leaving the block: output, rejects, then summary

    def remove_parts(self) -> None:
        """Delete the parts directory behind a `_done.json` marker (a crash half-way resumes to the committed files)."""
        write_json(self.parts / "_done.json", {"key": self.key})
        for f in self.parts.iterdir():
            if f.name not in ("_run.json", "_done.json"):
                f.unlink()
        (self.parts / "_run.json").unlink(missing_ok=True)
        (self.parts / "_done.json").unlink()
        self.parts.rmdir()

    def finished_before(self) -> dict[str, Any] | None:
        """The summary of this run if it was committed and only its clean-up was interrupted, else None."""
        done = self.parts / "_done.json"
        if not done.exists():
            return None
        if json.loads(done.read_text(encoding="utf-8")).get("key") != self.key:
            raise ScoringError(
                f"{self.parts} holds the leftovers of a finished run with other inputs, model or "
                f"options; delete it or choose another output"
            )
        summary = json.loads(self.paths.summary.read_text(encoding="utf-8"))
        if summary.get("run_key") != self.key:
            raise ScoringError(f"{self.paths.summary} does not belong to the run in {self.parts}; delete both")
        self.remove_parts()
        return summary


COUNT_KEYS = ("input_rows", "scored_rows", "rejected_rows", "skipped_chunks", "scored_chunks")


def run_summary(
    engine: str,
    counts: dict[str, int],
    n_out: int,
    n_rej: int,
    paths: RunPaths,
    model_id: str,
    precision: str,
    seconds: float,
    spec: ScoreSpec,
    *,
    ids: IdCounter,
    bad_files: Sequence[dict[str, Any]] = (),
    run_key: str | None = None,
    actors: int | None = None,
) -> dict[str, Any]:
    """The summary of a scoring run, the same keys for both engines (local, ray): what a monitoring job reads.
    `counts`: COUNT_KEYS (engine=ray: its blocks are the chunks); `ok` is false when input files were skipped or too
    many rows were rejected; `run_key` is null for engine=ray (no resume)."""
    counts = {k: int(counts.get(k, 0)) for k in COUNT_KEYS}
    verdict = reject_verdict(counts["input_rows"], counts["rejected_rows"], spec)
    return {
        "engine": engine,
        "actors": actors,
        **counts,
        "output_rows": n_out,
        "rejects_file_rows": n_rej,
        "output": str(paths.output),
        "rejects": str(paths.rejects),
        "model_id": model_id,
        "precision": precision,
        "seconds": round(seconds, 2),
        "rows_per_second": round(counts["input_rows"] / max(seconds, 1e-9), 1) if counts["scored_chunks"] else 0.0,
        "accounting_ok": n_out == counts["scored_rows"]
        and n_rej == counts["rejected_rows"]
        and counts["input_rows"] == n_out + n_rej,
        **ids.summary(),
        **verdict,
        "bad_files": list(bad_files),
        "ok": not bad_files and not verdict["too_many_rejects"],
        "run_key": run_key,
    }


def _output_format(output: Path, spec: ScoreSpec) -> str:
    fmt = spec.output_format or {".parquet": "parquet", ".jsonl": "jsonl", ".csv": "csv"}.get(output.suffix.lower())
    if fmt not in OUTPUT_FORMATS:
        raise ScoringError(f"output {output}: choose a .parquet, .jsonl or .csv file (or output_format)")
    return fmt


def _fail_on_bad_files(summary: dict[str, Any]) -> dict[str, Any]:
    if summary.get("too_many_rejects"):
        err = ScoringError(
            f"{summary['rejected_rows']} of {summary['input_rows']} input rows were rejected, more than "
            f"max_reject_share={summary['max_reject_share']}: the input is probably not what the options say "
            f"(text_column, delimiter, encoding); the reasons are in {summary['rejects']}, the scored rows in "
            f"{summary['output']}"
        )
        err.summary = summary
        raise err
    if summary.get("bad_files"):
        where = "; ".join(
            f"{b['file']}{':' + str(b['line']) if b.get('line') else ''}: {b['error']}" for b in summary["bad_files"]
        )
        err = ScoringError(
            f"{len(summary['bad_files'])} input file(s) could not be read and were skipped ({where}); "
            f"every other file was scored into {summary['output']}; see {summary['output']}.summary.json"
        )
        err.summary = summary
        raise err
    return summary


def preflight(
    model_dir: str | Path,
    inputs: Sequence[str],
    output: str | Path,
    rejects: str | Path | None = None,
    spec: ScoreSpec | None = None,
) -> list[str]:
    """The checks a scoring run makes before its model loads, so a mistake is reported in a second: output format and
    paths, inputs (exist, fit the reading options), and a `model_dir` that is a local path exists (a Hub id is left to
    the loader). Returns the expanded inputs."""
    spec = spec or ScoreSpec()
    paths = run_paths(output, rejects)
    _output_format(paths.output, spec)
    expanded = expand_inputs(inputs, paths)
    check_paths(expanded, paths)
    check_inputs(expanded, spec)
    if not is_hub_id(model_dir):
        find_model_dir(model_dir)
    return expanded


def _model_of_output(paths: RunPaths) -> str | None:
    """The model id of the scores at `paths.output`: from the summary next to it, else from its first record; None
    when neither says (an empty or unreadable file, or not a score file)."""
    try:
        summary = json.loads(paths.summary.read_text(encoding="utf-8"))
        if (
            isinstance(summary, dict)
            and summary.get("model_id")
            and _same_file(summary.get("output", ""), paths.output)
        ):
            return str(summary["model_id"])
    except (OSError, ValueError):
        pass
    try:
        suffix = paths.output.suffix.lower()
        if suffix == ".parquet":
            table = pq.ParquetFile(paths.output).read_row_group(0, columns=["model_id"])
            first = table.column("model_id")[0].as_py() if table.num_rows else None
        else:
            with paths.output.open(encoding="utf-8", newline="") as fh:
                if suffix == ".csv":
                    first = next(csv.DictReader(fh), {}).get("model_id")
                else:
                    first = json.loads(fh.readline() or "{}").get("model_id")
        return str(first) if first else None
    except Exception:  # noqa: BLE001 - not a score file this version can read: nothing to compare
        return None


def refuse_another_models_output(paths: RunPaths, model_id: str) -> None:
    """Scores at the output path written by another model are not replaced silently: a run with the same model
    (whatever its precision) may rewrite them; another model must write elsewhere, or the user deletes them first.
    An unfinished run in the parts directory was checked when it started; resuming it is `_Run.open_state`'s call."""
    if not paths.output.exists() or (paths.parts / "_run.json").exists():
        return
    other = _model_of_output(paths)
    if other is not None and base_model_id(other) != base_model_id(model_id):
        raise ScoringError(
            f"output {paths.output} holds scores of model {other}, and this run's model is {model_id}: re-scoring "
            f"would replace them; choose another output, or delete {paths.output} to replace its scores"
        )


def score_files(
    clf, inputs: Sequence[str], output: str | Path, spec: ScoreSpec | None = None, rejects: str | Path | None = None
) -> dict[str, Any]:
    """Score every row of `inputs` into `output` (+ rejects), resumably. Returns the summary dict.

    Raises ScoringError for bad options or paths (before anything is scored), when another run holds the output,
    and, after committing every other file, when an input file could not be read (the summary lists it)."""
    spec = spec or ScoreSpec()
    paths = run_paths(output, rejects)
    fmt = _output_format(paths.output, spec)
    inputs = expand_inputs(inputs, paths)
    check_paths(inputs, paths)
    check_inputs(inputs, spec)
    cap = getattr(clf, "max_chars", None)
    if cap is not None and spec.max_chars > cap:
        raise ScoringError(f"max_chars={spec.max_chars} is above the classifier's limit of {cap} characters per text")
    prepare_output_dirs(paths)
    with output_lock(paths):
        run = _Run(clf, inputs, paths, fmt, spec)
        done = run.finished_before()
        if done is not None:
            return _fail_on_bad_files(done)
        refuse_another_models_output(paths, clf.model_id)
        run.open_state()
        t0 = time.time()
        total = None if spec.quiet else estimate_rows(inputs)
        with tqdm(
            total=total,
            unit="rows",
            disable=spec.quiet,
            desc="scoring",
            dynamic_ncols=True,
            mininterval=1.0,
            unit_scale=True,
        ) as bar:
            try:
                for f_idx, path in enumerate(inputs):
                    run.score_file(f_idx, path, bar)
            except BaseException:
                run.close(raise_errors=False)  # the scoring error is the one to report
                raise
            run.close()
        summary = run.commit(time.time() - t0)
        if not spec.keep_parts:
            run.remove_parts()
    return _fail_on_bad_files(summary)
