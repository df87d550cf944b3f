"""`engine=ray`: Ray Data reads the input files, `map_batches` runs an actor pool (one model per actor, loaded once),
and Ray Data writes the scored rows as Parquet; the driver then streams those files into the same single output file
and rejects file as the local engine (same schema, same reject reasons, same ids, same row order).

Reading goes through a Ray `FileBasedDatasource` that calls the local engine's chunked readers
(`tfgbv.predict.files.chunks_from_handle`), so a malformed line, undecodable bytes or a non-text value becomes a reject
row exactly as in the local engine instead of failing a read task. Files are read in parallel, one read task per file.

Local by default (`ray.init(num_cpus=...)`, no dashboard, no network); `address="auto"`, `ray://HOST:10001` or the
RAY_ADDRESS environment variable attach to a cluster (inputs and output must then be on storage every node sees).
There is no shard-level resume as in the local engine: Ray retries failed tasks and actors itself, and a killed
driver re-runs the job from the start (the output file only appears, atomically, at the end).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tfgbv.io import atomic_write, write_json
from tfgbv.models.build import find_model_dir, read_meta
from tfgbv.predict.base import model_identifier, precision_of
from tfgbv.predict.files import (
    FORMATS,
    IdCounter,
    ScoreSpec,
    ScoringError,
    check_inputs,
    check_paths,
    chunks_from_handle,
    expand_inputs,
    load_scorer,
    output_lock,
    output_schema,
    prepare_output_dirs,
    refuse_another_models_output,
    run_paths,
    run_summary,
    score_chunk,
)
from tfgbv.predict.precision import choose_bf16

log = logging.getLogger(__name__)

READ_ROWS = 2_000  # rows per block produced by a read task


def _row_datasource_class():
    """Defined lazily so that importing this module does not import Ray."""
    from ray.data.datasource import FileBasedDatasource

    class RowDatasource(FileBasedDatasource):
        """Blocks of (pickled row dict, file, row index in the file), read with the local engine's readers."""

        def __init__(
            self, paths: list[str], chunk_rows: int = READ_ROWS, delimiter: str | None = None, encoding="utf-8"
        ):
            super().__init__(paths)
            self.chunk_rows, self.delimiter, self.encoding = chunk_rows, delimiter, encoding

        def _open_input_source(self, filesystem, path: str, **open_args):
            # Random access: Parquet needs to seek to its footer; the other formats just read sequentially.
            return filesystem.open_input_file(path)

        def _read_stream(self, f, path: str) -> Iterator[Any]:
            index = 0
            fmt = FORMATS[Path(path).suffix.lower()]
            for rows in chunks_from_handle(f, fmt, self.chunk_rows, delimiter=self.delimiter, encoding=self.encoding):
                yield pa.table(
                    {
                        "_row": pa.array([pickle.dumps(r, protocol=5) for r in rows], pa.binary()),
                        "_path": pa.array([path] * len(rows), pa.string()),
                        "_index": pa.array(range(index, index + len(rows)), pa.int64()),
                    }
                )
                index += len(rows)

    return RowDatasource


class _Scorer:
    """Ray actor: loads the classifier once, then scores batches. Every input row yields one output row; rejected rows
    carry `_reject_reason` (and null scores), so one pass feeds both the output and the rejects."""

    def __init__(
        self,
        model_dir: str,
        spec_dict: dict,
        backend: str,
        bf16: Any,
        batch_size: int,
        num_threads: int,
        sources: dict[str, str],
    ):
        self.spec = ScoreSpec(**spec_dict)
        self.sources = sources  # Ray's normalised path -> the path as the user gave it (used in rejects and ids)
        self.clf = load_scorer(model_dir, backend, bf16=bf16, num_threads=num_threads, batch_size=batch_size)
        self.columns = output_schema(self.clf.labels, self.spec.echo_text).names

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows = [pickle.loads(b) for b in batch["_row"]]
        paths, indices = list(batch["_path"]), [int(i) for i in batch["_index"]]
        out: dict[str, list] = {c: [] for c in (*self.columns, "_reject_reason", "_source", "_line", "_precision")}
        # A batch may span files: score each run of rows from the same file together. Scored rows and rejects keep
        # their input order among themselves, which is all the split into output and rejects files needs.
        start = 0
        while start < len(rows):
            end = start
            while end < len(rows) and paths[end] == paths[start]:
                end += 1
            source = self.sources.get(paths[start], paths[start])
            good, bad = score_chunk(self.clf, rows[start:end], self.spec, source, indices=indices[start:end])
            for rec in good:
                for c in self.columns:
                    out[c].append(rec.get(c))
                out["_reject_reason"].append(None)
                out["_line"].append(None)
                out["_source"].append(source)
            for rec in bad:
                for c in self.columns:
                    out[c].append(rec["id"] if c == "id" else None)
                out["_reject_reason"].append(rec["reason"])
                out["_line"].append(rec["line"])
                out["_source"].append(source)
            start = end
        out["_precision"] = [precision_of(self.clf)] * len(out["_source"])  # for the summary
        return out


def _init_ray(address: str | None, num_actors: int, num_cpus_per_actor: float, quiet: bool) -> bool:
    """Start a local Ray instance (or attach to `address` / RAY_ADDRESS); True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    # Locally: one logical CPU per actor plus one for the read and write tasks, which otherwise wait forever for a
    # CPU held by an idle actor (logical CPUs only; the actors set their own torch thread counts).
    num_cpus = None if address else int(num_actors * num_cpus_per_actor) + 1
    ray.init(
        address=address,
        num_cpus=num_cpus,
        include_dashboard=False,
        log_to_driver=not quiet,
        ignore_reinit_error=True,
        configure_logging=not quiet,
        logging_level=logging.WARNING,
    )
    return True


def _quiet_ray_data(ctx, quiet: bool) -> None:
    """quiet=true: no progress bars and none of Ray's and Ray Data's INFO lines (execution plans, "Started a local Ray
    instance"), as the local engine prints nothing but its summary."""
    ctx.enable_progress_bars = not quiet
    if hasattr(ctx, "enable_operator_progress_bars"):
        ctx.enable_operator_progress_bars = not quiet
    if quiet:  # ERROR: Ray Data even warns that the progress bars are off
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)


def score_with_ray(
    model_dir: str | Path,
    inputs: Sequence[str],
    output: str | Path,
    spec: ScoreSpec | None = None,
    num_actors: int = 2,
    address: str | None = None,
    batch_size: int = 256,
    num_cpus_per_actor: float = 1,
    backend: str = "torch",
    bf16: Any = "auto",
    rejects: str | Path | None = None,
    rows: int | None = None,
    remeasure: bool = False,
) -> dict[str, Any]:
    """Score `inputs` with a Ray Data actor pool; writes `output` (Parquet), the rejects JSONL and a summary JSON.

    `batch_size` is the number of rows per Ray batch sent to an actor; the model's own batch is `spec.batch_size`.
    `backend`/`bf16` as in `tfgbv.predict.files.load_scorer` (one model per actor, `num_cpus_per_actor` torch threads);
    bf16=auto is decided once, here (`rows`, `remeasure` as in load_scorer), not in every actor.

    Returns the summary (input rows = output rows + rejected rows is checked against a separate count of the input).
    """
    spec = spec or ScoreSpec()
    run = run_paths(output, rejects)
    paths = expand_inputs(inputs, run)
    check_inputs(paths, spec)  # the same reading checks as the local engine, before Ray starts
    for path in paths:
        try:  # Ray and Arrow take file names as UTF-8 text: say so rather than fail inside a read task
            path.encode("utf-8")
        except UnicodeEncodeError:
            raise ScoringError(
                f"input {path.encode('utf-8', 'backslashreplace').decode()}: engine=ray cannot read a file whose name "
                "is not valid UTF-8; rename it, or score it with engine=local"
            ) from None
    if "-" in paths:
        raise ScoringError("engine=ray reads files, not standard input: use engine=local for input=-")
    output = run.output
    if output.suffix.lower() != ".parquet":
        raise ScoringError(f"output {output}: engine=ray writes Parquet, use a name ending in .parquet")
    check_paths(paths, run)
    prepare_output_dirs(run)
    with output_lock(run):  # one writer per output, as in the local engine
        model_dir = str(find_model_dir(model_dir))
        refuse_another_models_output(run, model_identifier(model_dir, read_meta(model_dir)))
        if backend == "torch" and bf16 == "auto":
            bf16 = choose_bf16(model_dir, rows=rows, refresh=remeasure, num_threads=max(1, int(num_cpus_per_actor)))
        return _score_locked(
            model_dir, paths, run, spec, num_actors, address, batch_size, num_cpus_per_actor, backend, bf16
        )


def _score_locked(model_dir, paths, run, spec, num_actors, address, batch_size, num_cpus_per_actor, backend, bf16):
    import ray

    output, rejects = run.output, run.rejects
    labels = read_meta(model_dir)["labels"]
    schema = output_schema(labels, spec.echo_text)
    sources = {os.path.abspath(p): p for p in paths}
    t0 = time.time()
    work = output.with_name(output.name + ".ray")
    shutil.rmtree(work, ignore_errors=True)
    if spec.quiet:  # before ray.init, which logs at INFO
        logging.getLogger("ray").setLevel(logging.WARNING)
    started = _init_ray(address, num_actors, num_cpus_per_actor, spec.quiet)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # output in input order, like the local engine
        _quiet_ray_data(ctx, spec.quiet)
        read = ray.data.read_datasource(
            _row_datasource_class()(
                [os.path.abspath(p) for p in paths], delimiter=spec.delimiter, encoding=spec.encoding
            )
        )
        scored = read.map_batches(
            _Scorer,
            fn_constructor_args=(
                model_dir,
                dict(spec.__dict__),
                backend,
                bf16,
                spec.batch_size,
                max(1, int(num_cpus_per_actor)),
                sources,
            ),
            batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=num_actors),
            num_cpus=num_cpus_per_actor,
            batch_format="numpy",
        )
        scored.write_parquet(str(work))
        n_input = read.count()  # a second, cheap read pass: the accounting below checks against it
    finally:
        if started:
            ray.shutdown()
    run.summary.unlink(missing_ok=True)  # a summary only ever stands next to the files it describes
    ids = IdCounter(spec.id_column)
    n_out, n_rej, blocks, precision = _split(work, output, rejects, schema, n_input, ids)
    shutil.rmtree(work, ignore_errors=True)
    counts = {"input_rows": n_input, "scored_rows": n_out, "rejected_rows": n_rej, "scored_chunks": blocks}
    model_id = model_identifier(model_dir, read_meta(model_dir))  # as each actor's classifier computes it
    summary = run_summary(
        "ray", counts, n_out, n_rej, run, model_id, precision, time.time() - t0, spec, ids=ids, actors=num_actors
    )
    write_json(run.summary, summary)
    return summary


def _split(work: Path, output: Path, rejects: Path, schema, n_input: int, ids: IdCounter) -> tuple[int, int, int, str]:
    """Stream Ray's Parquet files (in order) into the output Parquet and the rejects JSONL; returns their row counts,
    the number of Ray's files (its chunks) and the actors' precision; `ids` counts repeated ids as the local engine
    does. Both are written to unique temp files and renamed only when input rows = output rows + rejected rows."""
    files = sorted(work.glob("*.parquet"))
    n_out = n_rej = 0
    precision = None
    with atomic_write(rejects) as fh, atomic_write(output, binary=True) as out_fh:
        with pq.ParquetWriter(out_fh, schema) as writer:
            for f in files:
                for batch in pq.ParquetFile(f).iter_batches(batch_size=10_000):
                    ids.add([{ids.column: i} for i in batch.column("id").to_pylist()] if ids.column else [])
                    precision = precision or next(iter(batch.column("_precision").drop_null().to_pylist()), None)
                    ok = pc.is_null(batch.column("_reject_reason"))
                    good = batch.filter(ok)
                    if good.num_rows:
                        writer.write_table(pa.Table.from_batches([good]).select(schema.names).cast(schema))
                    n_out += good.num_rows
                    for r in batch.filter(pc.invert(ok)).to_pylist():
                        fh.write(
                            json.dumps(
                                {
                                    "id": r["id"],
                                    "source": r["_source"],
                                    "line": r["_line"],
                                    "reason": r["_reject_reason"],
                                },
                                ensure_ascii=False,
                            )
                            + "\n"
                        )
                        n_rej += 1
        if n_input != n_out + n_rej:
            raise ScoringError(
                f"row accounting failed: {n_input} input rows != {n_out} output + {n_rej} rejected; "
                f"nothing was replaced"
            )
    return n_out, n_rej, len(files), precision or "fp32"
