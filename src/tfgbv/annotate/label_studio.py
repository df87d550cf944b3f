"""Label Studio, both ways: the labelling interface and tasks we hand it, and the JSON export we take back.

Out: `labeling_config` (the four labels as one multi-choice question, an "unsure" checkbox, a free-text note and a link
to the annotation guidelines) and `make_task` (PII-masked text, our id in `data.id`, the model's labels and score as a
pre-annotation). The raw text never goes into a task: it stays in the local selection file.

In: `parse_export` reads a Label Studio JSON export (the simple export, where `completed_by` is a user id, and the
snapshot export, where it is an object) into `Judgement`s, one per annotator and task, refusing a malformed export with
the file, the task id and the field (`export.json: task 17: annotations[1].result[0].value.choices: expected a list of
strings`). Skipped (cancelled) annotations are counted, never votes.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, Mapping, Sequence

from tfgbv.labels import DESCRIPTIONS, LABELS
from tfgbv.text import mask_pii

# The names our labelling config gives its controls; an export is read back through them.
TEXT_NAME = "text"
LABELS_NAME = "labels"
UNSURE_NAME = "unsure"
NOTE_NAME = "note"
UNSURE_VALUE = "unsure"


class ExportError(ValueError):
    """A Label Studio export (or a selection file) we cannot take; lists every problem, each naming task and field."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = self.problems[:30]
        more = f"\n  ... and {len(self.problems) - len(shown)} more" if len(self.problems) > len(shown) else ""
        super().__init__(f"{len(self.problems)} problem(s):\n  " + "\n  ".join(shown) + more)


# ----------------------------------------------------------------------------- out: config and tasks


def labeling_config(guidelines_url: str, labels: Sequence[str] = LABELS) -> str:
    """The Label Studio labelling interface (XML), checked to parse."""
    link = escape(f'<a href="{escape(guidelines_url)}" target="_blank">Annotation guidelines</a>', quote=True)
    choices = "\n".join(
        f'    <Choice value="{lab}" hint="{escape(DESCRIPTIONS.get(lab, lab), quote=True)}"/>' for lab in labels
    )
    xml = f"""<View>
  <Header value="Read the annotation guidelines before labelling: {escape(guidelines_url, quote=True)}"/>
  <HyperText name="guidelines" value="{link}" inline="true"/>
  <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>
  <Header value="Which kinds of abuse does the comment contain? Select all that apply; none = not abusive."/>
  <Choices name="{LABELS_NAME}" toName="{TEXT_NAME}" choice="multiple" showInLine="true">
{choices}
  </Choices>
  <Choices name="{UNSURE_NAME}" toName="{TEXT_NAME}" choice="multiple">
    <Choice value="{UNSURE_VALUE}" hint="Tick when you cannot decide: your answer is kept but not counted as a vote"/>
  </Choices>
  <TextArea name="{NOTE_NAME}" toName="{TEXT_NAME}" placeholder="Optional note (why, context, doubts)"
            maxSubmissions="1" editable="true"/>
</View>
"""
    check_config(xml, labels)
    return xml


def check_config(xml: str, labels: Sequence[str] = LABELS) -> ET.Element:
    """Parse the config and check it has what `parse_export` reads back (the labels, unsure, note)."""
    root = ET.fromstring(xml)
    named = {el.get("name"): el for el in root.iter() if el.get("name")}
    missing = [n for n in (TEXT_NAME, LABELS_NAME, UNSURE_NAME, NOTE_NAME) if n not in named]
    values = [c.get("value") for c in named.get(LABELS_NAME, ET.Element("x")).iter("Choice")]
    if missing or values != list(labels) or named[LABELS_NAME].get("choice") != "multiple":
        raise ValueError(f"labelling config lacks {missing or 'the multi-choice labels ' + str(list(labels))}")
    return root


def choices_result(labels: Sequence[str]) -> list[dict[str, Any]]:
    """A Label Studio result (pre-annotation or annotation) choosing `labels`; none chosen = an empty result."""
    if not labels:
        return []
    return [
        {
            "from_name": LABELS_NAME,
            "to_name": TEXT_NAME,
            "type": "choices",
            "value": {"choices": list(labels)},
        }
    ]


def make_task(
    item: Mapping[str, Any],
    thresholds: Mapping[str, float],
    model_id: str | None,
    mask: bool = True,
    predictions: bool = True,
) -> dict[str, Any]:
    """One Label Studio task from a selection row: masked text (placeholders keep the doxxing signal visible: a
    `<PHONE>` or `<ADDRESS>` is still a phone number or an address), our id, language, stratum and rank, and the model's
    labels at its thresholds as a pre-annotation scored by its highest probability."""
    text = mask_pii(item["text"]) if mask else item["text"]
    task: dict[str, Any] = {
        "data": {
            TEXT_NAME: text,
            "id": item["id"],
            "lang": item["lang"],
            "stratum": item["stratum"],
            "rank": item["rank"],
        }
    }
    scores = item.get("scores") or {}
    if predictions and scores:
        chosen = [lab for lab in LABELS if lab in scores and scores[lab] >= thresholds[lab]]
        task["predictions"] = [
            {
                "model_version": model_id or "unknown",
                "score": round(max(scores.values()), 4),
                "result": choices_result(chosen),
            }
        ]
    return task


# ----------------------------------------------------------------------------- in: the export


@dataclass
class Judgement:
    """One annotator's answer on one task (their latest non-skipped annotation)."""

    item_id: str
    task_id: int
    annotation_id: int
    user_id: int
    labels: list[str]
    unsure: bool
    note: str = ""


@dataclass
class ExportedTask:
    item_id: str
    task_id: int
    text: str  # the text Label Studio showed (masked)
    lang: str | None
    judgements: list[Judgement] = field(default_factory=list)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (annotation id, user id) of "skip"ped annotations
    # The task's created_at in its Label Studio instance: task and annotation ids restart at 1 in every instance, so
    # two instances' "task 11" are told apart by it (None in exports without it).
    created: str | None = None


def pseudonym(user_id: int, salt: str) -> str:
    """A stable pseudonymous annotator id: salted SHA-256 of the Label Studio user id (never a name or e-mail)."""
    return "ann-" + hashlib.sha256(f"{salt}\0{int(user_id)}".encode()).hexdigest()[:12]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _user_id(value: Any) -> int | None:
    """`completed_by`: an int (simple export) or {"id": int, "email": ...} (snapshot export)."""
    if _is_int(value):
        return value
    if isinstance(value, Mapping) and _is_int(value.get("id")):
        return value["id"]
    return None


def _read_result(result: Any, where: str, problems: list[str]) -> tuple[list[str], bool, str]:
    """(labels, unsure, note) from one annotation's `result` list."""
    if not isinstance(result, list):
        problems.append(f"{where}.result: expected a list")
        return [], False, ""
    labels: list[str] = []
    unsure, note = False, ""
    for k, item in enumerate(result):
        at = f"{where}.result[{k}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), Mapping):
            problems.append(f"{at}.value: expected an object")
            continue
        name, value = item.get("from_name"), item["value"]
        if name in (LABELS_NAME, UNSURE_NAME):
            choices = value.get("choices")
            if not _string_list(choices):
                problems.append(f"{at}.value.choices: expected a list of strings")
                continue
            if name == UNSURE_NAME:
                unsure = unsure or UNSURE_VALUE in choices
                continue
            unknown = [c for c in choices if c not in LABELS]
            if unknown:
                problems.append(f"{at}.value.choices: unknown label(s) {unknown}; known: {list(LABELS)}")
            labels.extend(c for c in choices if c in LABELS and c not in labels)
        elif name == NOTE_NAME:
            text = value.get("text")
            if not _string_list(text):
                problems.append(f"{at}.value.text: expected a list of strings")
                continue
            note = " ".join(text)
        # other controls (a config extended by hand) are not ours to read
    return sorted(labels, key=LABELS.index), unsure, note


def _read_annotation(ann: Any, where: str, problems: list[str]) -> tuple[int, int, bool, tuple] | None:
    """(annotation id, user id, cancelled, result) or None with a problem recorded."""
    if not isinstance(ann, Mapping):
        problems.append(f"{where}: expected an object")
        return None
    if not _is_int(ann.get("id")):
        problems.append(f"{where}.id: expected an integer annotation id")
        return None
    user = _user_id(ann.get("completed_by"))
    if user is None:
        problems.append(f"{where}.completed_by: expected a user id (an integer or an object with an integer id)")
        return None
    cancelled = ann.get("was_cancelled", False)
    if not isinstance(cancelled, bool):
        problems.append(f"{where}.was_cancelled: expected true or false")
        return None
    result = ([], False, "") if cancelled else _read_result(ann.get("result"), where, problems)
    return ann["id"], user, cancelled, result


def _read_task(task: Any, index: int, problems: list[str]) -> ExportedTask | None:
    if not isinstance(task, Mapping) or not _is_int(task.get("id")):
        problems.append(f"task at position {index}: expected an object with an integer 'id'")
        return None
    name = f"task {task['id']}"
    data = task.get("data")
    if not isinstance(data, Mapping):
        problems.append(f"{name}: data: expected an object")
        return None
    item_id = data.get("id")
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool) or str(item_id) == "":
        problems.append(f"{name}: data.id: expected our comment id (a string), got {item_id!r}")
        return None
    if not isinstance(data.get(TEXT_NAME), str):
        problems.append(f"{name}: data.{TEXT_NAME}: expected a string")
        return None
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list):
        problems.append(f"{name}: annotations: expected a list")
        return None
    created = task.get("created_at") if isinstance(task.get("created_at"), str) else None
    out = ExportedTask(str(item_id), task["id"], data[TEXT_NAME], data.get("lang"), created=created)
    latest: dict[int, Judgement] = {}
    positions: dict[int, int] = {}
    for a, ann in enumerate(annotations):
        read = _read_annotation(ann, f"{name}: annotations[{a}]", problems)
        if read is None:
            continue
        ann_id, user, cancelled, (labels, unsure, note) = read
        if ann_id in positions:  # one instance never repeats an id: keeping one of them would drop a vote unseen
            problems.append(
                f"{name}: annotations[{a}].id {ann_id} repeats annotations[{positions[ann_id]}].id; annotation ids "
                "are unique in a Label Studio task (an export edited or merged by hand?): fix the export"
            )
            continue
        positions[ann_id] = a
        if cancelled:
            out.skipped.append((ann_id, user))
            continue
        # One vote per annotator and task: an annotator who submitted twice counts with the later annotation.
        if user not in latest or ann_id > latest[user].annotation_id:
            latest[user] = Judgement(out.item_id, out.task_id, ann_id, user, labels, unsure, note)
    out.judgements = sorted(latest.values(), key=lambda j: j.annotation_id)
    return out


def parse_export(path: str | Path) -> list[ExportedTask]:
    """Every task of a Label Studio JSON export; ExportError naming file, task and field for anything malformed."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:  # deeper than the json module can parse
        raise ExportError([f"{path}: not a readable JSON file (nested too deeply)"]) from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ExportError([f"{path}: not a readable JSON file ({err})"]) from err
    if not isinstance(raw, list):
        raise ExportError(
            [f"{path}: expected a JSON list of tasks (Label Studio's JSON export), got {type(raw).__name__}"]
        )
    problems: list[str] = []
    tasks = [t for i, task in enumerate(raw) if (t := _read_task(task, i, problems)) is not None]
    seen: dict[str, int] = {}
    for t in tasks:
        if t.item_id in seen and seen[t.item_id] != t.task_id:
            problems.append(f"task {t.task_id}: data.id: {t.item_id!r} is also task {seen[t.item_id]}")
        seen.setdefault(t.item_id, t.task_id)
    if problems:
        raise ExportError([f"{path}: {p}" for p in problems])
    return tasks


def exported_ids(path: str | Path) -> set[str]:
    """Our ids of every task in a Label Studio export (annotated or not): what a new selection must not repeat."""
    return {t.item_id for t in parse_export(path)}
