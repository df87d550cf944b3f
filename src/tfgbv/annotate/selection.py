"""Choose the comments of a raw dump worth annotating, and write them as a Label Studio batch.

The pipeline (`select_batch`): read the dump with the scoring readers (CSV/TSV/JSONL/Parquet, globs), drop what was
annotated before (ids in canonical annotated files or Label Studio exports, and texts of canonical files), collapse
exact duplicates (`tfgbv.data.dedup.match_key`: a viral comment is one candidate), score with the run (or take the
scores of a `tfgbv-predict` output, joined by id), embed the candidates when the strategy needs diversity, and pick `n`
with `tfgbv.annotate.strategies.select` (stratified by language x predicted label, seeded).

Written to `out_dir`: `selection.jsonl` (raw text, scores, stratum, rank: stays on this machine), `tasks.json` (Label
Studio tasks with PII-masked text and pre-annotations) and `labeling_config.xml`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tfgbv import rundir
from tfgbv.annotate.label_studio import exported_ids, labeling_config, make_task
from tfgbv.annotate.strategies import STRATEGIES, margins, select, stratum_keys
from tfgbv.data.dedup import match_key
from tfgbv.data.records import read_jsonl
from tfgbv.data.sources import shown
from tfgbv.io import write_json, write_jsonl, write_text
from tfgbv.labels import LANGS
from tfgbv.predict.base import base_model_id
from tfgbv.predict.embeddings import embed
from tfgbv.predict.files import ScoreSpec, ScoringError, check_inputs, check_row, expand_inputs, read_chunks, row_id
from tfgbv.predict.loading import load_classifier
from tfgbv.translit import looks_like_tajik_latin

log = logging.getLogger(__name__)

DIVERSE = ("diversity", "uncertainty_diversity")  # the strategies that need embeddings
_TAJIK = re.compile(r"[ҳҷқғӣӯҲҶҚҒӢӮ]|(?<!\w)(?:аст|ин|ки|ва|бо|шумо|ман|нест|ҳаст|хаст|барои|мекунад)(?!\w)", re.I)
_CYRILLIC = re.compile("[А-Яа-яЁё]")


class SelectionError(ValueError):
    """Bad options or input for a selection; names the file, line and field."""


@dataclass
class SelectSpec:
    """Options of `tfgbv-select` (configs/select.yaml)."""

    model_dir: str | None = None  # a trained run (or its model/ directory)
    input: Any = None  # raw comment file(s): a path, a glob, or a list of them
    out_dir: str | None = None
    n: int = 200
    strategy: str = "uncertainty_diversity"
    seed: int = 0
    scores: str | None = None  # a tfgbv-predict output (p_<label> columns), joined by id, to skip re-scoring
    exclude: list[str] = field(default_factory=list)  # annotated JSONL files and/or Label Studio exports (.json)
    stratify: bool = True
    pool_factor: int = 5  # uncertainty_diversity: k-center within the pool_factor * n most uncertain per stratum
    text_column: str = "text"
    id_column: str = "id"
    delimiter: str | None = None  # as tfgbv-predict: CSV/TSV separator, null = from the suffix
    encoding: str = "utf-8"  # as tfgbv-predict: of CSV/TSV/JSONL input
    lang_column: str = "lang"
    lang: str | None = None  # a constant language when the file has none; null = the column, else a guess
    chunk_rows: int = 10_000
    batch_size: int = 64
    max_chars: int = 20_000
    mask_pii: bool = True  # in tasks.json (the text Label Studio shows)
    predictions: bool = True  # pre-annotations (the model's labels) in tasks.json
    guidelines_url: str = "data/ANNOTATION_GUIDELINES.md"  # where annotators read the guidelines (a URL they can open)

    def __post_init__(self) -> None:
        problems = []
        for name in ("model_dir", "input", "out_dir"):
            if not getattr(self, name):
                problems.append(f"{name} is required")
        if self.strategy not in STRATEGIES:
            problems.append(f"strategy must be one of {list(STRATEGIES)}, got {self.strategy!r}")
        for name in ("n", "pool_factor", "chunk_rows", "batch_size", "max_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if self.lang is not None and self.lang not in LANGS:
            problems.append(f"lang must be one of {list(LANGS)} or null, got {self.lang!r}")
        if problems:
            raise SelectionError("invalid selection option(s): " + "; ".join(problems))

    @property
    def inputs(self) -> list[str]:
        return [self.input] if isinstance(self.input, (str, Path)) else [str(p) for p in self.input]


# ----------------------------------------------------------------------------- the pool


def guess_lang(text: str) -> str:
    """A rough language for a text without a language field: Tajik letters or function words -> tg, other Cyrillic
    -> ru, Tajik chat-Latin -> tg-Latn, anything else -> ru-Latn. Give a lang column (or lang=) where you can."""
    if _TAJIK.search(text):
        return "tg"
    if _CYRILLIC.search(text):
        return "ru"
    return "tg-Latn" if looks_like_tajik_latin(text) else "ru-Latn"


def _row_lang(row: Mapping[str, Any], spec: SelectSpec, where: str, text: str) -> str:
    value = row.get(spec.lang_column) if spec.lang_column else None
    if value in (None, ""):
        return spec.lang or guess_lang(text)
    if value not in LANGS:
        raise SelectionError(f"{where}: field '{spec.lang_column}' has value {shown(value)}; known: {list(LANGS)}")
    return str(value)


def _reading_spec(spec: SelectSpec) -> ScoreSpec:
    """The reading options and row checks of tfgbv-predict, so both read and reject a dump's rows alike."""
    try:
        return ScoreSpec(
            text_column=spec.text_column,
            id_column=spec.id_column,
            delimiter=spec.delimiter,
            encoding=spec.encoding,
            max_chars=spec.max_chars,
        )
    except ScoringError as err:
        raise SelectionError(str(err)) from None


def read_pool(spec: SelectSpec) -> tuple[list[dict[str, Any]], Counter]:
    """Every selectable row as {id, text, lang}, and counts of rows left out (by reason).

    Read as tfgbv-predict reads (tfgbv.predict.files: the same reader, options, row checks and ids): a line that
    scoring would reject (bad JSON or CSV, undecodable bytes, empty or over-long text) is left out and counted, never
    the end of the selection; a file the options do not fit (no text column, another encoding) is refused before
    anything is read."""
    checks = _reading_spec(spec)
    paths = expand_inputs(spec.inputs)
    try:
        check_inputs(paths, checks)
    except ScoringError as err:
        raise SelectionError(str(err)) from None
    rows: list[dict[str, Any]] = []
    left_out: Counter = Counter()
    seen: dict[str, str] = {}
    for path in paths:
        index = 0
        for chunk, _ in read_chunks(path, spec.chunk_rows, delimiter=spec.delimiter, encoding=spec.encoding):
            for row in chunk:
                rid = row_id(row, checks, path, index)
                where = f"{path}:{row.get('_line') or index + 1}"
                index += 1
                reason = check_row(row, checks)
                if reason:
                    if "_error" in row:
                        log.warning("%s: %s: left out", where, reason)
                    left_out[reason.split(" (")[0]] += 1
                    continue
                if rid in seen:
                    raise SelectionError(f"{where}: field '{spec.id_column}': id {rid!r} is also at {seen[rid]}")
                seen[rid] = where
                text = row[spec.text_column]
                rows.append({"id": rid, "text": text, "lang": _row_lang(row, spec, where, text)})
    return rows, left_out


def annotated_before(paths: Sequence[str]) -> tuple[set[str], set[str]]:
    """(ids, text match keys) already annotated: canonical JSONL files give both, Label Studio exports (.json) ids."""
    ids: set[str] = set()
    keys: set[str] = set()
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise SelectionError(f"exclude: {path}: no such file")
        if path.suffix.lower() == ".json":
            ids |= exported_ids(path)
            continue
        for line in read_jsonl(path):  # the one JSONL reader: split at "\\n" only (U+2028 is text)
            n, rec = line.line, line.value
            if line.problem is not None:
                raise SelectionError(f"exclude: {path}:{n}: {line.problem}")
            if rec.get("id") in (None, ""):
                raise SelectionError(f"exclude: {path}:{n}: field 'id' missing")
            ids.add(str(rec["id"]))
            if isinstance(rec.get("text"), str):
                keys.add(match_key(rec["text"]))
    return ids, keys


def collapse(rows: Sequence[dict[str, Any]], ids: set[str], keys: set[str]) -> tuple[list[dict[str, Any]], Counter]:
    """One row per exact duplicate group (the first; `copies` counts the group), without groups annotated before."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(match_key(row["text"]) or row["text"], []).append(row)
    out, counts = [], Counter()
    for key, group in groups.items():
        if key in keys or any(r["id"] in ids for r in group):
            counts["annotated_before"] += len(group)
            continue
        counts["duplicates_collapsed"] += len(group) - 1
        out.append({**group[0], "copies": len(group)})
    return out, counts


# ----------------------------------------------------------------------------- scores and embeddings


def read_scores(path: str, labels: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
    """{id: probabilities} from a tfgbv-predict output; refused when it was made by another model."""
    out: dict[str, np.ndarray] = {}
    columns = [f"p_{lab}" for lab in labels]
    for file in expand_inputs([path]):
        for chunk, _ in read_chunks(file, 50_000):
            for k, row in enumerate(chunk):
                where = f"{file}:{row.get('_line') or k + 1}"
                missing = [c for c in ("id", *columns) if row.get(c) in (None, "")]
                if "_error" in row or missing:
                    raise SelectionError(f"scores: {where}: {row.get('_error') or f'missing field(s) {missing}'}")
                # same run whatever the precision; old files carry it as an id suffix (base_model_id drops it)
                if base_model_id(row.get("model_id")) not in (None, "", model_id):
                    raise SelectionError(
                        f"scores: {where}: made by model {row['model_id']!r}, not {model_id!r} ({file} is another "
                        "run's output: score again, or pass that run as model_dir)"
                    )
                out[str(row["id"])] = np.array([float(row[c]) for c in columns], dtype=np.float64)
    return out


def pool_scores(clf, rows: Sequence[dict[str, Any]], spec: SelectSpec) -> tuple[np.ndarray, int]:
    """[N, L] calibrated probabilities: from `spec.scores` where it has the id, else scored now (how many)."""
    known = read_scores(spec.scores, clf.labels, clf.model_id) if spec.scores else {}
    todo = [i for i, r in enumerate(rows) if r["id"] not in known]
    prob = np.zeros((len(rows), len(clf.labels)), dtype=np.float64)
    for i, r in enumerate(rows):
        if r["id"] in known:
            prob[i] = known[r["id"]]
    for start in range(0, len(todo), spec.chunk_rows):
        part = todo[start : start + spec.chunk_rows]
        prob[part] = clf.predict_proba([rows[i]["text"] for i in part])
    return prob, len(todo)


def candidate_rows(prob: np.ndarray, thresholds: Sequence[float], keys: Sequence[str], spec: SelectSpec) -> np.ndarray:
    """The rows a strategy can pick: all for diversity; for uncertainty_diversity the `pool_factor * n` most uncertain
    of each stratum (so a dump of millions embeds thousands)."""
    if spec.strategy == "diversity":
        return np.arange(len(prob))
    margin = margins(prob, thresholds)
    by_key: dict[str, list[int]] = {}
    for i, key in enumerate(keys if spec.stratify else ["all"] * len(prob)):
        by_key.setdefault(key, []).append(i)
    keep = []
    for rows in by_key.values():
        rows = np.asarray(rows)
        keep.extend(rows[np.argsort(margin[rows], kind="stable")[: spec.pool_factor * spec.n]].tolist())
    return np.asarray(sorted(keep), dtype=np.int64)


def pool_embeddings(clf, rows: Sequence[dict[str, Any]], prob: np.ndarray, spec: SelectSpec) -> np.ndarray | None:
    """[N, D] embeddings, filled for the candidate rows only (the others are never looked at); None when not needed."""
    if spec.strategy not in DIVERSE:
        return None
    keys = stratum_keys([r["lang"] for r in rows], prob, clf.thresholds, clf.labels)
    cand = candidate_rows(prob, clf.thresholds, keys, spec)
    vectors = embed(clf, [rows[i]["text"] for i in cand], seed=spec.seed)
    out = np.zeros((len(rows), vectors.shape[1]), dtype=np.float32)
    out[cand] = vectors
    return out


# ----------------------------------------------------------------------------- the batch


def selection_rows(rows, prob, chosen, labels, strategy: str, model_id: str) -> list[dict[str, Any]]:
    out = []
    for order, (i, stratum, rank) in enumerate(zip(chosen.indices, chosen.strata, chosen.ranks)):
        r = rows[i]
        out.append(
            {
                "id": r["id"],
                "text": r["text"],
                "lang": r["lang"],
                "scores": {lab: round(float(prob[i, j]), 6) for j, lab in enumerate(labels)},
                "stratum": stratum,
                "rank": rank,
                "order": order,
                "copies": r["copies"],
                "strategy": strategy,
                "model_id": model_id,
            }
        )
    return out


def write_batch(out_dir: Path, selected: list[dict[str, Any]], thresholds: Mapping[str, float], spec: SelectSpec):
    tasks = [make_task(r, thresholds, r["model_id"], spec.mask_pii, spec.predictions) for r in selected]
    write_jsonl(out_dir / rundir.SELECTION, selected)
    write_json(out_dir / rundir.TASKS, tasks)
    write_text(out_dir / rundir.LABEL_CONFIG, labeling_config(spec.guidelines_url))


def select_batch(spec: SelectSpec) -> dict[str, Any]:
    """Read, exclude, collapse, score, embed, select and write a batch; returns a summary (counts, no texts)."""
    rows, left_out = read_pool(spec)
    ids, keys = annotated_before(spec.exclude)
    pool, counts = collapse(rows, ids, keys)
    if not pool:
        raise SelectionError(f"nothing to select: {len(rows)} rows read, {dict(counts)}")
    clf = load_classifier(spec.model_dir, batch_size=spec.batch_size)
    prob, scored_now = pool_scores(clf, pool, spec)
    emb = pool_embeddings(clf, pool, prob, spec)
    chosen = select(
        prob,
        clf.thresholds,
        clf.labels,
        [r["lang"] for r in pool],
        spec.n,
        spec.strategy,
        emb,
        spec.seed,
        spec.pool_factor,
        spec.stratify,
    )
    selected = selection_rows(pool, prob, chosen, clf.labels, spec.strategy, clf.model_id)
    thresholds = {lab: float(t) for lab, t in zip(clf.labels, clf.thresholds)}
    out_dir = Path(spec.out_dir)
    write_batch(out_dir, selected, thresholds, spec)
    summary = {
        "out_dir": str(out_dir),
        "rows_read": len(rows) + sum(left_out.values()),
        "left_out": dict(left_out),
        **dict(counts),
        "pool": len(pool),
        "scored_now": scored_now,
        "selected": len(selected),
        "strata": dict(sorted(Counter(chosen.strata).items())),
        "strategy": spec.strategy,
        "model_id": clf.model_id,
        "files": [str(out_dir / n) for n in (rundir.SELECTION, rundir.TASKS, rundir.LABEL_CONFIG)],
    }
    log.info("selected %d of %d candidate comments into %s", len(selected), len(pool), out_dir)
    return summary
