"""Data layer: one schema, validated loading of local files, mapping of foreign datasets, splits, manifest.

Every source is read from local paths with its values as written: JSONL with the json module line by line (no type
guessing), CSV/TSV as physical records (`tfgbv.data.records`: a stray quote never merges rows), Parquet with pyarrow.
Bad input raises `DataValidationError` naming the file, the line (or row) and the field, before anything is written.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pyarrow.parquet as pq

from tfgbv.data.annotation import apply_votes, krippendorff_alpha
from tfgbv.data.augment import AUGMENTATIONS, style_variants
from tfgbv.data.dedup import duplicate_groups, match_key, minhash_near_pairs
from tfgbv.data.records import CsvFileError, csv_lines, csv_records, read_jsonl
from tfgbv.io import sha256_file
from tfgbv.labels import LABELS, LANGS
from tfgbv.text import VK_USER_TAG, mask_pii

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
META_FIELDS = (
    "target",
    "source",
    "functionality",
    "script",
    "obfuscation",
    "platform",
    "annotator_votes",
    "annotators",
    "slice",
    "pair",
)
LIST_META_FIELDS = ("annotator_votes", "annotators")  # kept as written (a mapping / a list), not made strings
MISSING = -1.0  # label value meaning "not annotated"; masked out of loss and metrics
FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".txt": "text"}
SPLIT_PRIORITY = {"test": 0, "dev": 1, "train": 2}  # a text in two splits is kept in the first of these


class DataValidationError(ValueError):
    """Bad input data; the message names file, line and field, and lists every problem found."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = self.problems[:50]
        more = len(self.problems) - len(shown)
        msg = f"{len(self.problems)} data problem(s):\n  " + "\n  ".join(shown)
        if more:
            msg += f"\n  ... and {more} more"
        super().__init__(msg)


@dataclass
class SplitSpec:
    """How to make splits when a source does not ship them (seeded, stratified by labels and language)."""

    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42


@dataclass
class SourceSpec:
    """How one dataset maps into the canonical schema.

    `files` maps a split name (train/dev/test) or "all" to one or more local paths. Splits that are
    missing are carved out of the first available one ("all" or "train") with `split`.
    """

    name: str
    files: dict[str, list[str]]
    text_column: str = "text"
    id_column: str | None = "id"
    lang: str | None = None  # constant language when the source has no column
    lang_column: str | None = "lang"
    label_columns: dict[str, str] = field(default_factory=lambda: {lab: lab for lab in LABELS})
    label_values: dict[str, Any] | None = None  # source value -> 1/0/None; None = values are already 0/1
    drop_values: list[Any] = field(default_factory=list)  # rows whose label value is one of these are dropped
    metadata_columns: dict[str, str] = field(default_factory=dict)  # canonical meta field -> source column
    metadata_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # meta field -> {source value: our value}
    # Sources that list tags per row (e.g. span types): tag -> our label; a label none of whose tags is present gets
    # `list_absent` (None = missing, for positive-only corpora; 0 = explicit negative).
    list_label_column: str | None = None
    list_label_map: dict[str, str] = field(default_factory=dict)
    list_absent: float | None = None
    csv_delimiter: str | None = None
    split: SplitSpec = field(default_factory=SplitSpec)
    use_splits: list[str] = field(default_factory=lambda: list(SPLITS))  # e.g. ["test"] for evaluation-only sources
    max_rows: int | None = None  # per split, for quick experiments
    # Times each training row of this source is shown per epoch (oversampling, e.g. 3 for the small bundled corpus in
    # a mix with large public sets). Dev/test rows and the manifest counts are never repeated.
    train_repeat: int = 1
    label_mode: str = "gold"  # gold | majority | soft: derive labels from `annotator_votes` where present
    on_empty_text: str = "error"  # error | skip (public dumps contain empty comments, e.g. stickers); skips are counted
    mask_user_tags: bool = False  # replace VK-style [id123|Name] tags before anything sees the text
    # tfgbv.text.mask_pii kinds replaced before anything sees the text, e.g. [handle, url] for raw tweets
    mask_pii: list[str] = field(default_factory=list)
    # Terms of the data (a Hugging Face licence id: mit, cc-by-4.0, gpl-3.0, other, ...; "unknown" until checked). A
    # model card's `license:` is the most restrictive licence among the sources it was trained on
    # (tfgbv.report.model_card).
    license: str = "unknown"
    dataset: str | None = None  # public identifier for a card's `datasets:` (Hub id or repository URL); None = name
    mapping: str = ""  # one line for the model card: how the source's labels map onto ours
    optional: bool = False  # files absent (e.g. no ../shared/datasets): skip the source with one warning, recorded
    column_names: list[str] | None = None  # header-less CSV/TSV: names for its columns, in order
    # Several texts per row, each with its own constant labels, e.g. a toxic comment and its neutral rewrites
    # ([{column: toxic_comment, labels: {insult: 1}}, {column: neutral_comment1, labels: {insult: 0}}]). A row's
    # texts form one group: they land in the same split and are kept as minimal pairs (field `pair`).
    text_variants: list[dict[str, Any]] = field(default_factory=list)
    label_constants: dict[str, float] = field(default_factory=dict)  # labels every row has, e.g. 0 for news prose
    keep_values: dict[str, list[Any]] = field(default_factory=dict)  # keep only rows whose column holds one of these
    segment: str = "line"  # .txt files: "line" (a text per non-empty line) | "sentence" (lines cut into sentences)
    min_chars: int = 1  # shorter texts are skipped and counted (segments of prose, stray fragments)
    # Style-varied copies of each training row (same labels): "lower_nopunct" types it the way many comments are
    # typed (lower case, no punctuation), "no_emoji" removes emoji. Dev/test rows are never augmented.
    augment: list[str] = field(default_factory=list)
    # At most this many training rows (a seeded sample, taken after dedup and before augmentation): the training
    # budget goes to many sources rather than to the largest one. Dev/test rows are never capped by it.
    max_train_rows: int | None = None

    @property
    def annotated_labels(self) -> list[str]:
        return sorted(set(self.label_columns) | set(self.list_label_map.values()), key=LABELS.index)


def source_from_dict(name: str, raw: Mapping[str, Any]) -> SourceSpec:
    """Build a SourceSpec from a plain dict (e.g. an OmegaConf container), checking its keys."""
    raw = dict(raw)
    unknown_labels = [k for k in (raw.get("label_columns") or {}) if k not in LABELS]
    unknown_labels += [v for v in (raw.get("list_label_map") or {}).values() if v not in LABELS]
    if unknown_labels:
        raise DataValidationError(
            [f"data source '{name}': unknown label name(s) {unknown_labels} in label_columns; known: {list(LABELS)}"]
        )
    files = raw.pop("files", None)
    if not files:
        raise DataValidationError([f"data source '{name}': no files given"])
    files = {k: ([v] if isinstance(v, str) else list(v)) for k, v in dict(files).items()}
    bad_splits = [k for k in files if k not in (*SPLITS, "all")]
    if bad_splits:
        raise DataValidationError([f"data source '{name}': unknown split name(s) {bad_splits}; use train/dev/test/all"])
    split = SplitSpec(**dict(raw.pop("split", {}) or {}))
    raw.pop("name", None)
    known = set(SourceSpec.__dataclass_fields__) - {"name", "files", "split"}
    extra = set(raw) - known
    if extra:
        raise DataValidationError([f"data source '{name}': unknown option(s) {sorted(extra)}; known: {sorted(known)}"])
    if raw.get("label_columns") is not None:
        raw["label_columns"] = dict(raw["label_columns"])
    elif "label_columns" in raw:
        raw.pop("label_columns")  # null: the canonical label columns
    if raw.get("label_values") is not None:
        raw["label_values"] = dict(raw["label_values"])
    for key in ("metadata_columns", "metadata_values", "list_label_map", "label_constants", "keep_values"):
        if raw.get(key) is not None:
            raw[key] = dict(raw[key])
    for key in ("text_variants", "augment", "column_names"):
        if raw.get(key) is not None:
            raw[key] = list(raw[key])
    unknown_labels = [k for k in (raw.get("label_constants") or {}) if k not in LABELS]
    unknown_labels += [
        k for v in (raw.get("text_variants") or []) for k in (dict(v).get("labels") or {}) if k not in LABELS
    ]
    if unknown_labels:
        raise DataValidationError(
            [f"data source '{name}': unknown label name(s) {unknown_labels}; known: {list(LABELS)}"]
        )
    bad_aug = [a for a in raw.get("augment") or [] if a not in AUGMENTATIONS]
    if bad_aug:
        raise DataValidationError(
            [f"data source '{name}': unknown augment(s) {bad_aug}; known: {sorted(AUGMENTATIONS)}"]
        )
    if raw.get("segment", "line") not in ("line", "sentence"):
        raise DataValidationError(
            [f"data source '{name}': segment must be 'line' or 'sentence', got {raw['segment']!r}"]
        )
    repeat = raw.get("train_repeat", 1)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 1:
        raise DataValidationError([f"data source '{name}': train_repeat must be an integer >= 1, got {repeat!r}"])
    return SourceSpec(name=name, files=files, split=split, **raw)


# ----------------------------------------------------------------------------- reading


def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataValidationError(
            [f"{path}: unsupported file type '{path.suffix}'; use .jsonl, .csv, .tsv or .parquet"]
        )
    return fmt


@dataclass
class Table:
    """The rows of one file as written: JSON values keep their JSON types (a JSON string stays a string, whatever it
    looks like), CSV cells are strings (None when empty), Parquet values keep their column types. `lines[i]` is the
    physical line row i starts on (empty for Parquet)."""

    rows: list[dict]
    column_names: list[str]
    lines: list[int]
    problems: list[str] = field(default_factory=list)  # the file's unusable lines (JSON/CSV), each "file:line: why"

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)


def _invalid_unicode_field(obj: dict) -> str | None:
    """The first field holding a lone surrogate (a `\\ud800` escape is valid JSON but not valid Unicode text)."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
        return None
    except UnicodeEncodeError:
        for key, value in obj.items():
            try:
                json.dumps({key: value}, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return key.encode("utf-8", "backslashreplace").decode("utf-8")
        return "?"


def _read_jsonl(path: Path) -> Table:
    """JSONL parsed line by line with the json module (tfgbv.data.records, the one JSONL reader): no type guessing,
    every bad line reported with its number, the good ones kept so their fields are checked in the same report."""
    rows, lines, problems, columns = [], [], [], {}
    for rec in read_jsonl(path):
        if rec.problem is not None:
            problems.append(f"{path}:{rec.line}: {rec.problem}")
            continue
        bad = _invalid_unicode_field(rec.value)
        if bad is not None:
            problems.append(f"{path}:{rec.line}: field '{bad}' is not valid Unicode (a lone surrogate \\u escape)")
            continue
        rows.append(rec.value)
        lines.append(rec.line)
        columns.update(dict.fromkeys(rec.value))
    return Table(rows, list(columns), lines, problems)


def _read_csv(path: Path, delimiter: str, column_names: Sequence[str] | None = None) -> Table:
    """CSV/TSV as physical records (tfgbv.data.records): lines end at \\r\\n, \\r or \\n like the csv module; cells
    stay strings as written; a record broken by a stray quote, with the wrong number of fields or undecodable bytes is
    reported at its line, never merged with the rows after it."""
    problems: list[str] = []
    rows, lines, header = [], [], []
    with path.open("rb") as fh:
        try:
            for rec in csv_records(csv_lines(fh), delimiter, header_out=header, names=column_names):
                if rec.problem:
                    problems.append(f"{path}:{rec.line}: {rec.problem}")
                else:
                    rows.append(rec.values)
                    lines.append(rec.line)
        except CsvFileError as err:
            raise DataValidationError([f"{path}:{err.line}: {err}" if err.line else f"{path}: {err}"]) from None
    return Table(rows, header, lines, problems)


def _read_parquet(path: Path) -> Table:
    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for a truncated or foreign file
        raise DataValidationError([f"{path}: not a readable Parquet file ({type(err).__name__}: {err})"]) from err
    return Table(table.to_pylist(), list(table.column_names), [])


def where(path: Path, row: int, lines: list[int] | None) -> str:
    if lines and row < len(lines):
        return f"{path}:{lines[row]}"
    return f"{path} row {row + 1}"


_TEXT_EOL = re.compile(r"\r\n|\r|\n")  # the line ends of CSV (tfgbv.data.records.csv_lines)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def read_text_lines(path: Path, segment: str = "line") -> Table:
    """A plain-text file as a table with one `text` per non-empty line (or per sentence) and its line numbers."""
    texts, lines = [], []
    data = path.read_bytes()
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataValidationError([f"{path}:{line}: not valid UTF-8 ({err.reason} at byte {err.start})"]) from None
    for lineno, line in enumerate(_TEXT_EOL.split(raw), start=1):  # not splitlines(): U+2028 and U+0085 are text
        parts = _SENTENCE_END.split(line) if segment == "sentence" else [line]
        for part in parts:
            if part.strip():
                texts.append(part.strip())
                lines.append(lineno)
    if not texts:
        raise DataValidationError([f"{path}: file has no text lines"])
    return Table([{"text": t} for t in texts], ["text"], lines)


def read_table(
    path: str | Path,
    delimiter: str | None = None,
    column_names: Sequence[str] | None = None,
    segment: str = "line",
    keep_going: bool = False,
) -> Table:
    """Load one local file (JSONL, CSV/TSV, Parquet or plain text) with its values as written (see Table).

    `column_names` names the columns of a header-less CSV/TSV; `segment` cuts plain text into lines or sentences.
    Unusable lines raise DataValidationError listing all of them, or with `keep_going` are left in `Table.problems`
    (so the caller can check the good rows too and report everything at once)."""
    path = Path(path)
    if not path.exists():
        raise DataValidationError([f"{path}: file not found"])
    if not path.is_file():
        raise DataValidationError([f"{path}: not a regular file"])
    if path.stat().st_size == 0:
        raise DataValidationError([f"{path}: file is empty"])
    fmt = _format_of(path)
    if fmt == "text":
        return read_text_lines(path, segment)
    if fmt == "json":
        table = _read_jsonl(path)
    elif fmt == "csv":
        table = _read_csv(path, delimiter or ("\t" if path.suffix.lower() == ".tsv" else ","), column_names)
    else:
        table = _read_parquet(path)
    if len(table) == 0:
        raise DataValidationError(table.problems or [f"{path}: file has no rows"])
    if table.problems and not keep_going:
        raise DataValidationError(table.problems)
    return table


# ----------------------------------------------------------------------------- mapping + validation


def _line_order(problem: str) -> tuple[str, int]:
    """Sort key of a "file:line: why" problem: by file, then line (problems without a line first)."""
    m = re.match(r"(.*?):(\d+): ", problem)
    return (m.group(1), int(m.group(2))) if m else (problem, 0)


def shown(value: Any, limit: int = 40) -> str:
    """A cell value as an error message may show it: PII masked (tfgbv.text.mask_pii) and cut to `limit` characters,
    so a validation error never prints a whole comment, a phone number or an address."""
    text = mask_pii(value) if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text) if isinstance(value, str) else text


def _is_missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, str) and value.strip() == "")
    )


def _match_keys(value: Any) -> list[str]:
    """How a source value is matched against label_values / drop_values keys from a config: by text, with integral
    numbers in integer form, so the CSV cell "2" and "2.0" and the JSON number 2 all match the YAML key 2."""
    keys = [str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)]
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and number.is_integer():
            keys.append(str(int(number)))
    return keys


def _in_values(value: Any, values: Sequence[Any]) -> bool:
    wanted = {str(v) for v in values}
    return any(k in wanted for k in _match_keys(value))


def _map_label(value: Any, spec: SourceSpec, label: str, loc: str, problems: list[str]) -> float | None:
    """Map one source label value to 1.0 / 0.0 / MISSING; in label_mode=soft also a probability in [0, 1].

    Strict: JSON numbers 0/1, booleans and the strings "0"/"1" (CSV cells) are labels; anything else (0.5 in gold
    mode, the string "true", "yes", 2) is refused, never guessed."""
    if _is_missing(value):
        return MISSING
    if spec.label_values is not None:
        table = {str(k): v for k, v in spec.label_values.items()}
        for key in _match_keys(value):
            if key in table:
                mapped = table[key]
                return MISSING if mapped is None else float(mapped)
        problems.append(
            f"{loc}: field '{spec.label_columns[label]}' has value {shown(value)}, not in label_values "
            f"{list(spec.label_values)}"
        )
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        number = float(value)
        if number in (0.0, 1.0) or (spec.label_mode == "soft" and 0.0 <= number <= 1.0):
            return number
    elif isinstance(value, str) and value.strip() in ("0", "1", "0.0", "1.0"):
        return float(value)
    allowed = "1, 0, a probability in [0, 1] (label_mode=soft)" if spec.label_mode == "soft" else "1, 0"
    problems.append(
        f"{loc}: field '{spec.label_columns[label]}' must be {allowed} or empty (missing), got {shown(value)}"
    )
    return None


def _row_texts(row: Mapping[str, Any], spec: SourceSpec) -> list[tuple[str, Any, dict[str, float]]]:
    """(column, value, constant labels) for each text a row holds: one, or one per `text_variants` entry."""
    if not spec.text_variants:
        return [(spec.text_column, row.get(spec.text_column), {})]
    out = []
    for variant in spec.text_variants:
        value = row.get(variant["column"])
        if variant.get("optional", True) and _is_missing(value):
            continue  # e.g. a toxic comment with only one of three neutral rewrites
        out.append((variant["column"], value, {k: float(v) for k, v in (variant.get("labels") or {}).items()}))
    return out


def _kept(row: Mapping[str, Any], spec: SourceSpec) -> bool:
    return all(_in_values(row.get(col), allowed) for col, allowed in spec.keep_values.items())


def map_rows(ds, spec: SourceSpec, path: Path, split: str) -> tuple[list[dict], list[str], int]:
    """Map a loaded table into canonical records; collect every problem with its location; count skipped rows."""
    problems: list[str] = []
    skipped = 0
    columns = set(ds.column_names)
    text_cols = [v["column"] for v in spec.text_variants] or [spec.text_column]
    needed = [
        *text_cols,
        *spec.label_columns.values(),
        *([spec.list_label_column] if spec.list_label_column else []),
        *spec.keep_values,
    ]
    missing_cols = [c for c in needed if c not in columns]
    if missing_cols:
        return [], [f"{path}: missing column(s) {missing_cols}; found {sorted(columns)}"], 0
    if spec.label_columns == {lab: lab for lab in LABELS}:
        # Canonical files: any other column that looks like a label is a typo worth reporting.
        for col in columns:
            if col not in LABELS and col.lower() in {"insults", "shame", "threats", "doxing", "dox"}:
                problems.append(f"{path}: unknown label column '{col}' (labels are {list(LABELS)})")
    lines = ds.lines
    records: list[dict] = []
    for i, row in enumerate(ds):
        loc = where(path, i, lines)
        if spec.keep_values and not _kept(row, spec):
            continue  # filtered out by the config (files[].rows - kept - skipped counts them)
        drop = False
        labels: dict[str, float] = dict(spec.label_constants)
        for lab, col in spec.label_columns.items():
            if spec.drop_values and not _is_missing(row.get(col)) and _in_values(row.get(col), spec.drop_values):
                drop = True
                break
            value = _map_label(row.get(col), spec, lab, loc, problems)
            if value is not None:
                labels[lab] = value
        if drop:
            continue
        if spec.list_label_column:
            tags = row.get(spec.list_label_column) or []
            tags = [tags] if isinstance(tags, str) else list(tags)
            hit = {spec.list_label_map[t] for t in tags if t in spec.list_label_map}
            for lab in set(spec.list_label_map.values()):
                labels[lab] = 1.0 if lab in hit else (MISSING if spec.list_absent is None else float(spec.list_absent))
        rid = row.get(spec.id_column) if spec.id_column and spec.id_column in columns else None
        rid = f"{spec.name}:{path.stem}:{i}" if _is_missing(rid) else str(rid)
        lang = row.get(spec.lang_column) if spec.lang_column and spec.lang_column in columns else spec.lang
        if lang is None:
            problems.append(f"{loc}: no language: add a '{spec.lang_column}' field or set lang in the data config")
            continue
        if lang not in LANGS:
            problems.append(f"{loc}: field 'lang' has value {shown(lang)}; known: {list(LANGS)}")
            continue
        texts = _row_texts(row, spec)
        for k, (col, text, variant_labels) in enumerate(texts):
            if spec.on_empty_text == "skip" and (not isinstance(text, str) or len(text.strip()) < spec.min_chars):
                skipped += 1
                continue
            if not isinstance(text, str):
                problems.append(f"{loc}: field '{col}' must be a string, got {type(text).__name__}")
                continue
            if not text.strip():
                problems.append(f"{loc}: field '{col}' is empty")
                continue
            if len(text.strip()) < spec.min_chars:
                skipped += 1
                continue
            if spec.mask_user_tags:
                text = VK_USER_TAG.sub("<USER>", text)
            if spec.mask_pii:
                text = mask_pii(text, tuple(spec.mask_pii))
            rec: dict[str, Any] = {
                "id": rid if not spec.text_variants else f"{rid}#{col}",
                "text": text,
                "lang": lang,
                "source": spec.name,
            }
            merged = {**labels, **variant_labels}
            for lab in LABELS:
                rec[lab] = merged.get(lab, MISSING)
            for meta in META_FIELDS:
                mcol = spec.metadata_columns.get(meta, meta)
                if meta != "source" and mcol in columns and not _is_missing(row.get(mcol)):
                    value = row.get(mcol)
                    if meta in spec.metadata_values:
                        table = spec.metadata_values[meta]
                        key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
                        value = table.get(key, table.get(value, value))
                    rec[meta] = value if meta in LIST_META_FIELDS else str(value)
            if spec.text_variants:
                rec["pair"] = f"{spec.name}:{path.stem}:{i}"  # the row's texts are one minimal-pair group
            if spec.label_mode != "gold" and rec.get("annotator_votes"):
                apply_votes(rec, spec.label_mode)
            rec["_loc"] = loc
            records.append(rec)
    return records, problems, skipped


def check_unique_ids(records: Iterable[dict]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for rec in records:
        key = f"{rec['source']}::{rec['id']}"
        if key in seen:
            problems.append(f"{rec['_loc']}: field 'id' duplicates id {shown(rec['id'])} first seen at {seen[key]}")
        else:
            seen[key] = rec["_loc"]
    return problems


# ----------------------------------------------------------------------------- splits


def stratum(rec: Mapping[str, Any]) -> str:
    """Label combination + language: the unit of stratification."""
    combo = "".join(
        "1" if rec.get(lab, MISSING) >= 0.5 else ("0" if rec.get(lab, MISSING) >= 0 else "?") for lab in LABELS
    )
    return f"{combo}|{rec.get('lang')}"


def stratified_split(
    records: list[dict], dev_fraction: float, test_fraction: float, seed: int, groups: Sequence[int] | None = None
) -> dict[str, list[dict]]:
    """Seeded split stratified by label combination and language.

    `groups` (optional, one int per record) keeps records of one group (e.g. near-duplicates) in one split.
    """
    if not 0 <= dev_fraction < 1 or not 0 <= test_fraction < 1 or dev_fraction + test_fraction >= 1:
        raise ValueError(
            f"split fractions must be in [0, 1) and sum below 1, got dev={dev_fraction} test={test_fraction}"
        )
    rng = random.Random(seed)
    groups = list(groups) if groups is not None else list(range(len(records)))
    by_group: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for g, members in sorted(by_group.items()):
        by_stratum[stratum(records[members[0]])].append(g)
    out: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for key in sorted(by_stratum):
        gs = by_stratum[key]
        rng.shuffle(gs)
        n = len(gs)
        # Largest-remainder rounding per stratum, with a random tie-break so small strata still land in dev/test.
        n_test = int(n * test_fraction + rng.random())
        n_dev = int(n * dev_fraction + rng.random())
        n_test = min(n_test, n)
        n_dev = min(n_dev, n - n_test)
        for j, g in enumerate(gs):
            split = "test" if j < n_test else ("dev" if j < n_test + n_dev else "train")
            out[split].extend(records[i] for i in by_group[g])
    return out


# ----------------------------------------------------------------------------- public API


@dataclass
class LoadedData:
    """Canonical records per split, plus per-source provenance for the manifest."""

    splits: dict[str, list[dict]]
    files: list[dict]  # path, sha256, rows
    train_repeat: dict[str, int] = field(default_factory=dict)  # source -> oversampling factor (only those != 1)
    skipped: list[dict] = field(default_factory=list)  # optional sources not loaded (files absent)
    dropped: list[dict] = field(default_factory=list)  # cross-source duplicates and leaks removed (drop_duplicates)
    augmented: dict[str, int] = field(default_factory=dict)  # "source:augmentation" -> style-varied copies added
    capped: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> training rows available / kept
    sources: dict[str, dict] = field(default_factory=dict)  # source -> {"license", "dataset"}: what a card declares

    def training_records(self) -> list[dict]:
        """The train split with each source's rows repeated `train_repeat` times (what one epoch shows the model)."""
        out: list[dict] = []
        for r in self.splits.get("train", []):
            out.extend([r] * self.train_repeat.get(r["source"], 1))
        return out

    def texts(self, split: str) -> list[str]:
        return [r["text"] for r in self.splits.get(split, [])]

    def label_matrix(self, split: str) -> np.ndarray:
        return labels_matrix(self.splits.get(split, []))


def labels_matrix(records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """[N, len(LABELS)] float array with MISSING (-1) where a label is not annotated."""
    return np.array([[float(r.get(lab, MISSING)) for lab in LABELS] for r in records], dtype=np.float32).reshape(
        len(records), len(LABELS)
    )


def load_source(spec: SourceSpec) -> tuple[dict[str, list[dict]], list[dict], list[str]]:
    """Load, map and split one source; returns (splits, file provenance, problems)."""
    problems: list[str] = []
    by_split: dict[str, list[dict]] = {}
    files_info: list[dict] = []
    for split, paths in spec.files.items():
        recs: list[dict] = []
        for p in paths:
            path = Path(os.path.normpath(Path(p).expanduser()))
            try:
                ds = read_table(path, spec.csv_delimiter, spec.column_names, spec.segment, keep_going=True)
            except DataValidationError as err:
                problems.extend(err.problems)
                continue
            rows, probs, skipped = map_rows(ds, spec, path, split)
            problems.extend(sorted(ds.problems + probs, key=_line_order))  # one report: lines, fields, in file order
            recs.extend(rows)
            files_info.append(
                {
                    "source": spec.name,
                    "split": split,
                    "path": str(path),
                    "sha256": sha256_file(path),
                    "rows": len(ds),
                    "kept": len(rows),
                    "skipped_empty_text": skipped,
                }
            )
        by_split[split] = recs
    problems.extend(check_unique_ids(r for recs in by_split.values() for r in recs))  # with the others, not after
    if problems:
        return {}, files_info, problems
    if "all" in by_split:
        pool = by_split.pop("all")
        out = stratified_split(
            pool, spec.split.dev_fraction, spec.split.test_fraction, spec.split.seed, groups=split_groups(pool)
        )
        for split, recs in by_split.items():  # explicit split files win over carved ones
            out[split] = recs
    else:
        out = {s: by_split.get(s, []) for s in SPLITS}
        if "train" in by_split and "dev" not in by_split and spec.split.dev_fraction > 0:
            carved = stratified_split(
                by_split["train"], spec.split.dev_fraction, 0.0, spec.split.seed, groups=split_groups(by_split["train"])
            )
            out["train"], out["dev"] = carved["train"], carved["dev"]
        if "train" in by_split and "test" not in by_split and spec.split.test_fraction > 0:
            carved = stratified_split(
                out["train"], 0.0, spec.split.test_fraction, spec.split.seed + 1, groups=split_groups(out["train"])
            )
            out["train"], out["test"] = carved["train"], carved["test"]
    out = {s: (out.get(s, []) if s in spec.use_splits else []) for s in SPLITS}
    if spec.max_rows is not None:
        rng = random.Random(spec.split.seed)
        for s in SPLITS:
            if len(out[s]) > spec.max_rows:
                out[s] = rng.sample(out[s], spec.max_rows)
    for s in SPLITS:
        for r in out[s]:
            r["split"] = s
    return out, files_info, []


def split_groups(records: Sequence[Mapping[str, Any]], threshold: float = 0.8) -> list[int]:
    """A group id per record so that a carved split keeps together a row's minimal pair and its near-duplicates."""
    pairs: list[tuple[int, int, float]] = []
    first: dict[str, int] = {}
    for i, rec in enumerate(records):
        for key in (f"pair:{rec['pair']}" if rec.get("pair") else None, f"text:{match_key(rec['text'])}"):
            if key is not None:
                if key in first:
                    pairs.append((first[key], i, 1.0))
                else:
                    first[key] = i
    pairs += minhash_near_pairs([r["text"] for r in records], threshold)
    return duplicate_groups(len(records), pairs)


def drop_duplicates(splits: dict[str, list[dict]], threshold: float = 0.8) -> list[dict]:
    """Remove leaks and repeats across all sources, in place; return what was dropped and why.

    A text (exact after `match_key`, or a near-duplicate by character 5-gram Jaccard >= `threshold`) that is in a test
    split is dropped from every dev and train split, one in dev from every train split, and a text repeated within
    train is kept once. Texts of one minimal-pair group (a toxic comment and its rewrite) never count as duplicates
    of each other, and evaluation splits of different sources may share a text (each is scored on its own).
    """
    items = [(s, r) for s in sorted(SPLITS, key=SPLIT_PRIORITY.get) for r in splits[s]]
    drop: dict[int, tuple[str, int]] = {}

    def group(k: int) -> str:
        return items[k][1].get("pair") or f"row:{k}"

    def consider(keep: int, other: int) -> None:
        (s_keep, _), (s_other, _) = items[keep], items[other]
        if other in drop or keep in drop or group(keep) == group(other) or s_other != "train" and s_other == s_keep:
            return
        drop[other] = ("leaks into " + s_keep if s_keep != s_other else "repeated in train", keep)

    first: dict[str, int] = {}
    for k, (_, rec) in enumerate(items):
        key = match_key(rec["text"])
        if key in first:
            consider(first[key], k)
        else:
            first[key] = k
    for i, j, _ in minhash_near_pairs([r["text"] for _, r in items], threshold):
        consider(i, j)  # i < j: items are ordered test, dev, train, so i is the one to keep
    report: Counter = Counter()
    for k, (why, keep) in drop.items():
        report[(items[k][1]["source"], items[k][0], why, items[keep][1]["source"])] += 1
    dropped = {id(items[k][1]) for k in drop}
    for s in SPLITS:
        splits[s] = [r for r in splits[s] if id(r) not in dropped]
    return [
        {"source": src, "split": split, "reason": why, "other_source": other, "rows": n}
        for (src, split, why, other), n in sorted(report.items())
    ]


def augment_train(splits: dict[str, list[dict]], sources: Sequence[SourceSpec]) -> dict[str, int]:
    """Append each source's style-varied copies of its training rows (after dedup: a copy is a duplicate by design)."""
    wanted = {spec.name: spec.augment for spec in sources if spec.augment}
    added: Counter = Counter()
    extra = []
    for rec in splits["train"]:
        for name, text in style_variants(rec["text"], wanted.get(rec["source"], [])):
            extra.append({**rec, "id": f"{rec['id']}#{name}", "text": text, "augment": name})
            added[f"{rec['source']}:{name}"] += 1
    splits["train"].extend(extra)
    return dict(added)


def cap_train_rows(
    splits: dict[str, list[dict]], sources: Sequence[SourceSpec], seed: int
) -> dict[str, dict[str, int]]:
    """Keep a seeded sample of `max_train_rows` training rows per source; return {source: {available, kept}}."""
    caps = {spec.name: spec.max_train_rows for spec in sources if spec.max_train_rows is not None}
    if not caps:
        return {}
    by_source: dict[str, list[dict]] = defaultdict(list)
    for rec in splits["train"]:
        by_source[rec["source"]].append(rec)
    rng = random.Random(seed)
    out, kept = {}, []
    for source, recs in by_source.items():
        cap = caps.get(source)
        if cap is not None and len(recs) > cap:
            out[source] = {"available": len(recs), "kept": cap}
            recs = rng.sample(recs, cap)
        kept.extend(recs)
    splits["train"] = kept
    return out


def absent_files(spec: SourceSpec) -> list[str]:
    return [p for paths in spec.files.values() for p in paths if not Path(p).expanduser().exists()]


def trained_on_name(name: str, specs: Sequence[SourceSpec]) -> str:
    """What a run on data config `name` is named for: `name` itself, or, when optional sources' files are absent,
    what it trains on instead ("default_mix-only-seed"; "default_mix-without-3" when more than two are left), so a
    run on the bundled corpus alone is never named for the whole mix."""
    absent = [s.name for s in specs if s.optional and absent_files(s)]
    if not absent:
        return name
    present = [s.name for s in specs if s.name not in absent]
    if len(present) > 2:
        return f"{name}-without-{len(absent)}"
    return f"{name}-only-{'+'.join(present)}" if present else name


def skipped_sources_message(skipped: Sequence[dict], present: Sequence[str]) -> str:
    """One message for every optional source skipped because its files are absent: which, where, and how to get
    them (a mix with ten public sources would otherwise warn ten times without saying what to do)."""
    missing = [str(Path(p).expanduser().absolute()) for s in skipped for p in s["missing"]]
    where = os.path.commonpath(missing) if len(missing) > 1 else str(Path(missing[0]).parent)
    return (
        f"{len(skipped)} optional data source(s) skipped, their files are absent (under {where}): "
        + ", ".join(s["source"] for s in skipped)
        + f". Training goes on with {', '.join(present) or 'nothing else'}. To train on them, download the public "
        "datasets with `tfgbv-data fetch` (into paths.shared_datasets), or set paths.shared_datasets=/path/to/datasets "
        "to a copy you have."
    )


def load_data(
    sources: Sequence[SourceSpec],
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    seed: int = 42,
    dedup: bool | None = None,
) -> LoadedData:
    """Load and validate every source, drop cross-source duplicates and leaks, augment, then concatenate splits.

    Raises DataValidationError listing every problem (file:line: field: what) before anything is trained or written.
    An `optional` source whose files are absent is skipped with one warning and recorded in `LoadedData.skipped`.
    `dedup` (default: when there is more than one source) runs `drop_duplicates`.
    """
    if not sources:
        raise DataValidationError(["no data sources configured"])
    splits: dict[str, list[dict]] = {s: [] for s in SPLITS}
    files: list[dict] = []
    problems: list[str] = []
    skipped: list[dict] = []
    present = []
    for spec in sources:
        missing = absent_files(spec)
        if missing and spec.optional:
            skipped.append({"source": spec.name, "reason": "files absent", "missing": missing})
            continue
        present.append(spec)
        out, info, probs = load_source(spec)
        files.extend(info)
        problems.extend(probs)
        for s, recs in out.items():
            splits[s].extend(recs)
    if problems:
        raise DataValidationError(problems)
    if skipped:
        log.warning(skipped_sources_message(skipped, [spec.name for spec in present]))
    dropped = drop_duplicates(splits) if (dedup if dedup is not None else len(present) > 1) else []
    capped = cap_train_rows(splits, present, seed)
    augmented = augment_train(splits, present)
    rng = random.Random(seed)
    for s, limit in (("train", max_train_samples), ("dev", max_eval_samples), ("test", max_eval_samples)):
        if limit is not None and len(splits[s]) > limit:
            splits[s] = rng.sample(splits[s], limit)
    for recs in splits.values():
        for r in recs:
            r.pop("_loc", None)
    if not splits["train"] and not splits["test"]:
        raise DataValidationError(["the configured sources produced no rows"])
    repeat = {spec.name: spec.train_repeat for spec in present if spec.train_repeat != 1}
    terms = {
        spec.name: {"license": spec.license, "dataset": spec.dataset or spec.name, "mapping": spec.mapping}
        for spec in present
    }
    return LoadedData(
        splits=splits,
        files=files,
        train_repeat=repeat,
        sources=terms,
        skipped=skipped,
        dropped=dropped,
        augmented=augmented,
        capped=capped,
    )


def annotation_stats(splits: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per source with annotators' votes (all splits, augmented copies left out): annotated items, the number of
    distinct annotators (a count: never who) and per-label Krippendorff's alpha."""
    by_source: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for recs in splits.values():
        for r in recs:
            if r.get("annotator_votes") and not r.get("augment"):
                by_source[r["source"]].append(r)
    return {
        name: {
            "items": len(recs),
            "annotators": len({a for r in recs for a in (r.get("annotators") or [])}) or None,
            "alpha": krippendorff_alpha(recs),
        }
        for name, recs in sorted(by_source.items())
    }


def manifest(data: LoadedData) -> dict:
    """Row counts per split / source / language / label value, and file hashes: the run's data provenance."""
    out: dict[str, Any] = {
        "files": data.files,
        "splits": {},
        "skipped_sources": list(data.skipped),
        "dropped_duplicates": list(data.dropped),
        "augmented": dict(data.augmented),
        "train_rows_capped": dict(data.capped),
    }
    if data.train_repeat:
        out["train_repeat"] = dict(data.train_repeat)
    if data.sources:
        annotated: dict[str, set[str]] = defaultdict(set)
        for recs in data.splits.values():
            for r in recs:
                annotated[r["source"]].update(lab for lab in LABELS if r[lab] >= 0)
        out["sources"] = {
            name: {**terms, "labels": [lab for lab in LABELS if lab in annotated[name]]}
            for name, terms in data.sources.items()
        }
    annotation = annotation_stats(data.splits)
    if annotation:
        out["annotation"] = annotation
    for split, recs in data.splits.items():
        entry: dict[str, Any] = {
            "rows": len(recs),
            "by_source": dict(Counter(r["source"] for r in recs)),
            "by_lang": dict(Counter(r["lang"] for r in recs)),
            "labels": {},
        }
        for lab in LABELS:
            vals = [r[lab] for r in recs]
            entry["labels"][lab] = {
                "positive": sum(1 for v in vals if v >= 0.5),
                "negative": sum(1 for v in vals if 0 <= v < 0.5),
                "missing": sum(1 for v in vals if v < 0),
            }
        entry["no_label"] = sum(1 for r in recs if all(0 <= r[lab] < 0.5 for lab in LABELS))
        out["splits"][split] = entry
    return out
