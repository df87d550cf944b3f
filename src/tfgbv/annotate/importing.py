"""Label Studio export -> our canonical annotated JSONL (a data source like any other) + an agreement report.

Each output record is one comment: `id`, the raw `text` (restored from the local selection file by id; Label Studio
only ever saw the masked text), `lang`, one value per label from the votes (`label_mode`: majority | soft),
`annotator_votes` {label: [1 / 0 / null per annotator]}, `annotators` (pseudonyms: a salted hash of the Label Studio
user id), `unsure` and `skipped` counts, and `annotations`, one entry per Label Studio annotation keyed by
(task id, the task's created_at, annotation id, annotator): ids restart at 1 in every Label Studio instance, so two
instances' "task 11, annotation 101" stay two annotations and no vote is lost. Each annotator has one vote per task
(their latest annotation in it). An annotator who ticked "unsure" has a null vote (counted, never a vote); a skipped
annotation is kept as an entry for the audit trail but gives no vote. One comment id with two different texts (across
exports, or between an export and the existing output) is refused, naming both.

Importing merges into an existing output file by those keys, so re-importing the same export changes nothing (the
file is byte-identical) and a later export of the same project adds only what is new. Everything is checked before
anything is written, and every file is written atomically (tfgbv.io).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from tfgbv import rundir
from tfgbv.annotate.label_studio import ExportedTask, ExportError, parse_export, pseudonym
from tfgbv.data.annotation import aggregate_votes, krippendorff_alpha
from tfgbv.data.records import read_jsonl
from tfgbv.io import write_json, write_jsonl, write_text
from tfgbv.labels import LABELS, LANGS
from tfgbv.locations import cache_dir
from tfgbv.text import mask_pii

log = logging.getLogger(__name__)

LABEL_MODES = ("majority", "soft")
SALT_ENV = "TFGBV_ANNOTATOR_SALT"
SALT_FILE = "annotator-salt"  # under the cache dir: one random salt per machine unless one is given
REPORT_TEXT_CHARS = 300  # the disagreement report shows the start of each (masked) comment


@dataclass
class ImportSpec:
    """Options of `tfgbv-import-annotations` (configs/import_annotations.yaml)."""

    export: Any = None  # one Label Studio JSON export, or a list of them
    output: str | None = None  # the canonical JSONL written (merged into when it exists)
    selection: str | None = None  # selection.jsonl of the batch: the raw texts, by id
    label_mode: str = "majority"
    allow_masked_text: bool = False  # keep Label Studio's masked text where an id is not in the selection
    salt: str | None = None  # for the annotator pseudonyms; null = $TFGBV_ANNOTATOR_SALT, else a per-machine salt
    merge: bool = True  # merge into an existing output file (false: replace it)

    def __post_init__(self) -> None:
        problems = []
        if not self.export:
            problems.append("export: give a Label Studio JSON export (export=path/to/export.json)")
        if not self.output:
            problems.append("output: give the annotated JSONL to write (output=data/annotated/tg.jsonl)")
        if self.label_mode not in LABEL_MODES:
            problems.append(f"label_mode must be one of {list(LABEL_MODES)}, got {self.label_mode!r}")
        if not self.selection and not self.allow_masked_text:
            problems.append(
                f"selection: give the batch's {rundir.SELECTION} (the raw texts), or allow_masked_text=true"
            )
        if problems:
            raise ExportError(problems)

    @property
    def exports(self) -> list[str]:
        return [self.export] if isinstance(self.export, (str, Path)) else [str(p) for p in self.export]


# ----------------------------------------------------------------------------- reading


def read_jsonl_records(path: str | Path, required: Sequence[str]) -> list[dict[str, Any]]:
    """JSON objects of a JSONL file, each with the `required` fields; errors name the file and line."""
    path = Path(path)
    out, problems = [], []
    try:  # the one JSONL reader: lines end at "\\n" only (a comment's U+2028 is text), deep JSON is a line's problem
        for line in read_jsonl(path):
            if line.problem is not None:
                problems.append(f"{path}:{line.line}: {line.problem}")
                continue
            missing = [f for f in required if line.value.get(f) in (None, "")]
            if missing:
                problems.append(f"{path}:{line.line}: missing field(s) {missing}")
                continue
            out.append(line.value)
    except OSError as err:
        raise ExportError([f"{path}: cannot read ({err})"]) from err
    if problems:
        raise ExportError(problems)
    return out


def annotator_salt(salt: str | None) -> str:
    """The salt of the annotator pseudonyms: given, $TFGBV_ANNOTATOR_SALT, or a random per-machine salt created once
    under the cache dir. It never goes into the data: with it, a pseudonym of a small user id is easy to reverse."""
    if salt:
        return str(salt)
    if os.environ.get(SALT_ENV):
        return os.environ[SALT_ENV]
    path = cache_dir() / SALT_FILE
    if not path.exists():
        write_text(path, secrets.token_hex(16) + "\n")
        log.info("created a per-machine annotator salt at %s (keep it to get the same pseudonyms again)", path)
    return path.read_text(encoding="utf-8").strip()


# ----------------------------------------------------------------------------- records


def _entries(task: ExportedTask, salt: str) -> list[dict[str, Any]]:
    """One entry per annotation of a task: who (pseudonym), what (labels, unsure, masked note) or skipped."""
    created = {"task_created": task.created} if task.created else {}
    out = [
        {
            "task": j.task_id,
            **created,
            "annotation": j.annotation_id,
            "annotator": pseudonym(j.user_id, salt),
            "labels": j.labels,
            "unsure": j.unsure,
            "note": mask_pii(j.note) if j.note else "",
        }
        for j in task.judgements
    ]
    out += [
        {"task": task.task_id, **created, "annotation": ann_id, "annotator": pseudonym(user, salt), "skipped": True}
        for ann_id, user in task.skipped
    ]
    return out


def _key(entry: Mapping[str, Any]) -> tuple[int, str, int, str]:
    """What identifies an annotation across Label Studio instances (see the module docstring)."""
    return int(entry["task"]), str(entry.get("task_created") or ""), int(entry["annotation"]), str(entry["annotator"])


def _legacy_key(key: tuple[int, str, int, str]) -> tuple[int, str, int, str]:
    """The key the same annotation has in an entry written without the task's created_at (older files, exports
    without it)."""
    return key[0], "", key[2], key[3]


def _same_text(a: str, b: str) -> bool:
    """The same comment: equal texts, or equal once masked (Label Studio shows masked text; masking may improve)."""
    return a == b or mask_pii(a) == mask_pii(b)


def _snippet(text: str) -> str:
    masked = mask_pii(text)
    return repr(masked if len(masked) <= 60 else masked[:60] + "…")


def _label_value(votes: Sequence[int | None], mode: str) -> float | int | None:
    value = aggregate_votes(votes, mode)
    if value is None:
        return None
    return int(value) if mode == "majority" else round(value, 4)


def build_record(item_id: str, text: str, lang: str, entries: Sequence[Mapping[str, Any]], mode: str) -> dict:
    """The canonical record of one comment from its annotation entries (any order; one vote per annotator and task:
    the entry with the highest annotation id)."""
    entries = sorted(entries, key=_key)
    latest: dict[tuple[str, int, str], Mapping[str, Any]] = {}
    for e in entries:
        if not e.get("skipped"):
            latest[e["annotator"], int(e["task"]), str(e.get("task_created") or "")] = e
    judged = sorted(latest.values(), key=_key)
    votes = {lab: [None if e["unsure"] else int(lab in e["labels"]) for e in judged] for lab in LABELS}
    rec: dict[str, Any] = {"id": item_id, "text": text, "lang": lang}
    rec.update({lab: _label_value(votes[lab], mode) for lab in LABELS})
    rec["annotator_votes"] = votes
    rec["annotators"] = [e["annotator"] for e in judged]
    rec["unsure"] = sum(1 for e in judged if e["unsure"])
    rec["skipped"] = sum(1 for e in entries if e.get("skipped"))
    rec["annotations"] = [dict(e) for e in entries]
    return rec


def _selection_texts(spec: ImportSpec) -> dict[str, dict[str, Any]]:
    if not spec.selection:
        return {}
    return {str(r["id"]): r for r in read_jsonl_records(spec.selection, ("id", "text", "lang"))}


def _text_and_lang(task: ExportedTask, selection: Mapping[str, Mapping[str, Any]], spec: ImportSpec, where: str):
    row = selection.get(task.item_id)
    if row is not None:
        return row["text"], row["lang"], None
    if not spec.allow_masked_text:
        return (
            None,
            None,
            (
                f"{where}: task {task.task_id}: data.id {task.item_id!r} is not in the selection {spec.selection}: "
                f"the raw text cannot be restored (give the batch's {rundir.SELECTION}, or allow_masked_text=true "
                "to keep Label Studio's masked text)"
            ),
        )
    return task.text, task.lang, None


def collect(spec: ImportSpec, salt: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """{item id: {"text", "lang", "entries"}} from every export, and the problems found."""
    selection = _selection_texts(spec)
    items: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for path in spec.exports:
        for task in parse_export(path):
            entries = _entries(task, salt)
            if not entries:
                continue  # a task nobody annotated yet
            text, lang, problem = _text_and_lang(task, selection, spec, path)
            if problem:
                problems.append(problem)
                continue
            if lang not in LANGS:
                problems.append(f"{path}: task {task.task_id}: lang {lang!r} of {task.item_id!r}; known: {list(LANGS)}")
                continue
            item = items.setdefault(
                task.item_id,
                {
                    "text": text,
                    "lang": lang,
                    "entries": {},
                    "shown": task.text,
                    "where": f"task {task.task_id} of {path}",
                },
            )
            if not _same_text(item["shown"], task.text):
                problems.append(
                    f"{path}: task {task.task_id}: data.id {task.item_id!r} has the text {_snippet(task.text)}, but "
                    f"{item['where']} has {_snippet(item['shown'])} under the same id: two different comments, refused"
                )
                continue
            _add_entries(item["entries"], entries)
    return items, problems


def _add_entries(slot: dict[tuple, Mapping[str, Any]], entries: Sequence[Mapping[str, Any]]) -> None:
    """Add entries by key; one now known with its task's created_at replaces the entry written without it."""
    for e in entries:
        key = _key(e)
        if key[1]:
            slot.pop(_legacy_key(key), None)
        slot[key] = e


def merge(
    existing: Sequence[Mapping[str, Any]], items: Mapping[str, Mapping[str, Any]], mode: str, output: str = "the output"
) -> list[dict]:
    """Existing records with the new annotation entries merged in by annotation key; sorted by id. ExportError when an
    id already in `output` comes with another text."""
    by_id: dict[str, dict[str, Any]] = {}
    for rec in existing:
        by_id[str(rec["id"])] = {
            "text": rec["text"],
            "lang": rec["lang"],
            "entries": {_key(e): e for e in rec.get("annotations") or []},
        }
    problems = []
    for item_id, item in items.items():
        slot = by_id.setdefault(item_id, {"text": item["text"], "lang": item["lang"], "entries": {}})
        if not _same_text(slot["text"], item["text"]):
            problems.append(
                f"data.id {item_id!r}: {output} holds the text {_snippet(slot['text'])}, but "
                f"{item.get('where', 'the export')} gives {_snippet(item['text'])} under the same id: two different "
                "comments, refused (import them into another output, or give one of them a new id)"
            )
            continue
        _add_entries(slot["entries"], list(item["entries"].values()))
    if problems:
        raise ExportError(problems)
    return [
        build_record(item_id, slot["text"], slot["lang"], list(slot["entries"].values()), mode)
        for item_id, slot in sorted(by_id.items())
    ]


# ----------------------------------------------------------------------------- agreement report


def agreement_report(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts, per-label Krippendorff's alpha and, per label, the comments whose annotators disagree (masked text)."""
    disagreements: dict[str, list[dict[str, Any]]] = {}
    for lab in LABELS:
        rows = []
        for r in records:
            votes = [v for v in r["annotator_votes"][lab] if v is not None]
            if 0 in votes and 1 in votes:
                rows.append(
                    {
                        "id": r["id"],
                        "lang": r["lang"],
                        "yes": votes.count(1),
                        "no": votes.count(0),
                        "unsure": r["unsure"],
                        "text": mask_pii(r["text"])[:REPORT_TEXT_CHARS],
                        "notes": [e["note"] for e in r["annotations"] if e.get("note")],
                    }
                )
        disagreements[lab] = rows
    annotators = {a for r in records for a in r["annotators"]}
    judged = [r for r in records if any(v is not None for v in r["annotator_votes"][LABELS[0]])]
    return {
        "items": len(records),
        "items_with_votes": len(judged),
        "annotators": len(annotators),
        "annotations": sum(len(r["annotators"]) for r in records),
        "unsure": sum(r["unsure"] for r in records),
        "skipped": sum(r["skipped"] for r in records),
        "votes_per_item": dict(sorted(Counter(len(r["annotators"]) - r["unsure"] for r in records).items())),
        "alpha": krippendorff_alpha(records),
        "positive": {lab: sum(1 for r in records if (r[lab] or 0) >= 0.5) for lab in LABELS},
        "disagreements": disagreements,
    }


def _fmt_alpha(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_agreement(report: Mapping[str, Any], output_name: str) -> str:
    lines = [
        f"# Annotation agreement: `{output_name}`",
        "",
        f"{report['items']} comments ({report['items_with_votes']} with at least one vote), "
        f"{report['annotations']} annotations by {report['annotators']} annotators; {report['unsure']} marked "
        f"unsure (not counted as votes), {report['skipped']} skipped.",
        "",
        "| label | Krippendorff's alpha (nominal) | positive | comments with disagreement |",
        "|---|---|---|---|",
    ]
    for lab in LABELS:
        lines.append(
            f"| {lab} | {_fmt_alpha(report['alpha'][lab])} | {report['positive'][lab]} | "
            f"{len(report['disagreements'][lab])} |"
        )
    lines += ["", "Alpha is undefined (n/a) when a label got only one value from every annotator.", ""]
    for lab in LABELS:
        rows = report["disagreements"][lab]
        if not rows:
            continue
        lines += [f"## {lab}: {len(rows)} comments", "", "| id | lang | yes | no | unsure | text (PII masked) |"]
        lines += ["|---|---|---|---|---|---|"]
        for r in rows:
            text = r["text"].replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{r['id']}` | {r['lang']} | {r['yes']} | {r['no']} | {r['unsure']} | {text} |")
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the import


def import_annotations(spec: ImportSpec) -> dict[str, Any]:
    """Read the export(s), merge into `spec.output`, write it and its agreement report; return a summary."""
    salt = annotator_salt(spec.salt)
    items, problems = collect(spec, salt)
    if problems:
        raise ExportError(problems)
    output = Path(spec.output)
    existing = read_jsonl_records(output, ("id", "text", "lang")) if spec.merge and output.exists() else []
    records = merge(existing, items, spec.label_mode, str(output))
    report = agreement_report(records)
    json_path, md_path = rundir.agreement_paths(output)
    write_jsonl(output, records)
    write_json(json_path, report)
    write_text(md_path, render_agreement(report, output.name) + "\n")
    summary = {
        "output": str(output),
        "agreement": str(json_path),
        "agreement_md": str(md_path),
        "items": report["items"],
        "new_items": len(set(items) - {str(r["id"]) for r in existing}),
        "annotators": report["annotators"],
        "annotations": report["annotations"],
        "unsure": report["unsure"],
        "skipped": report["skipped"],
        "alpha": report["alpha"],
    }
    log.info("imported %d comments (%d annotators) into %s", summary["items"], summary["annotators"], output)
    return summary
