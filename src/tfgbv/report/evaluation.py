"""Evaluate a run on any data: metrics with bootstrap CIs, slices, unintended-bias AUCs, calibration,
functional suite, error analysis, plots; written to `eval/` (metrics.json, report.md, PNGs).

Everything reads the run directory only; numbers that cannot be computed are reported as "n/a" with a reason.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tfgbv import rundir
from tfgbv.data.augment import lower_nopunct
from tfgbv.data.records import jsonl_objects
from tfgbv.data.sources import LoadedData, labels_matrix
from tfgbv.io import write_json, write_jsonl, write_text
from tfgbv.labels import LABELS
from tfgbv.metrics.decision import apply_temperature
from tfgbv.metrics.masked import (
    bias_aucs,
    classification_report,
    expected_calibration_error,
    generalized_mean,
    proportion_ci,
    reliability_bins,
)
from tfgbv.predict.base import precision_of
from tfgbv.predict.loading import load_classifier
from tfgbv.report.markdown import ci_of, interval, number
from tfgbv.report.model_card import functional_language_lines, per_source_rows
from tfgbv.report.plots import write_plots
from tfgbv.text import keyboard_spelling, mask_pii

log = logging.getLogger(__name__)

SLICE_FIELDS = ("lang", "script", "obfuscated", "target", "source", "slice")


@dataclass
class EvalSpec:
    """Evaluation settings (Hydra group `evaluation`)."""

    split: str = "test"
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    ci_level: float = 0.95
    min_slice_rows: int = 30  # slices smaller than this are marked "too small to judge"
    min_slice_positives: int = 5
    calibration_bins: int = 10
    error_examples: int = 10
    batch_size: int = 64
    plots: bool = True
    subgroup_field: str = "target"
    ignore_subgroups: list[str] = field(default_factory=lambda: ["none"])
    # Sources whose test rows are scored again typed in lower case without punctuation (tfgbv.data.augment): if the
    # labels change, the model reads style, not content. The bundled corpus is written carefully, so the shortcut shows
    # there.
    style_check_sources: list[str] = field(default_factory=lambda: ["seed"])
    # Bootstrap resamples for the per-source CIs (one report per resample and source: 13 sources x 1000 resamples took
    # minutes of make train's budget); the pooled metrics keep `bootstrap_resamples`.
    per_source_resamples: int = 200


class RunDirError(FileNotFoundError):
    """The run directory is missing something evaluation needs."""


def check_run_dir(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: run directory not found")
    base = run_dir if rundir.model_dir(run_dir).is_dir() else run_dir.parent
    required = [rundir.model_dir(base) / rundir.META_FILE]
    missing = [str(f.relative_to(base)) for f in required if not f.exists()]
    if missing:
        raise RunDirError(f"{run_dir}: not a complete run directory, missing {missing}; was training interrupted?")
    return base


# ----------------------------------------------------------------------------- metric blocks


def _na(reason: str) -> dict[str, Any]:
    return {"value": None, "reason": reason}


def overall_metrics(y: np.ndarray, prob: np.ndarray, thresholds: Sequence[float], spec: EvalSpec) -> dict[str, Any]:
    """classification_report plus seeded percentile-bootstrap CIs for per-label F1 / ROC-AUC / PR-AUC and micro/macro
    F1.

    One report per resample yields every metric at once; resamples where a metric is undefined are skipped for it.
    """
    labels = list(LABELS)
    report = classification_report(y, prob, list(thresholds), labels)
    keys = [("labels", lab, m) for lab in labels for m in ("f1", "roc_auc", "pr_auc")] + [
        ("overall", None, m) for m in ("micro_f1", "macro_f1")
    ]
    samples: dict[tuple, list[float]] = {k: [] for k in keys}
    rng = np.random.default_rng(spec.bootstrap_seed)
    n = len(y)
    for _ in range(spec.bootstrap_resamples):
        idx = rng.integers(0, n, n)
        rep = classification_report(y[idx], prob[idx], list(thresholds), labels)
        for k in keys:
            value = rep["labels"][k[1]][k[2]] if k[0] == "labels" else rep["overall"][k[2]]
            if value is not None:
                samples[k].append(value)
    alpha = 1 - spec.ci_level

    def interval(vals: list[float]) -> list[float | None]:
        if len(vals) < max(10, spec.bootstrap_resamples // 10):
            return [None, None, len(vals)]
        return [float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)), len(vals)]

    for lab in labels:
        report["labels"][lab]["ci"] = {
            m: interval(samples[("labels", lab, m)])
            for m in ("f1", "roc_auc", "pr_auc")
            if report["labels"][lab].get(m) is not None
        }
    report["overall"]["ci"] = {
        m: interval(samples[("overall", None, m)])
        for m in ("micro_f1", "macro_f1")
        if report["overall"].get(m) is not None
    }
    return report


def slice_values(records: Sequence[dict], field_name: str) -> list[str | None]:
    if field_name == "obfuscated":
        return [
            None
            if r.get("obfuscation") is None
            else ("plain" if r.get("obfuscation") in ("none", "", None) else "obfuscated")
            for r in records
        ]
    return [None if r.get(field_name) is None else str(r.get(field_name)) for r in records]


def slice_metrics(
    records: Sequence[dict], y: np.ndarray, prob: np.ndarray, thresholds: Sequence[float], spec: EvalSpec
) -> dict[str, Any]:
    """Per slice field and value: rows, positives per label, per-label F1 / ROC-AUC, macro F1; small slices marked."""
    out: dict[str, Any] = {}
    for field_name in SLICE_FIELDS:
        values = slice_values(records, field_name)
        present = sorted({v for v in values if v is not None})
        if not present:
            out[field_name] = {"n/a": "no row carries this field"}
            continue
        table = {}
        for value in present:
            idx = np.array([i for i, v in enumerate(values) if v == value])
            rep = classification_report(y[idx], prob[idx], list(thresholds), list(LABELS))
            positives = {lab: int((y[idx, j] >= 0.5).sum()) for j, lab in enumerate(LABELS)}
            too_small = len(idx) < spec.min_slice_rows
            table[value] = {
                "rows": int(len(idx)),
                "positives": positives,
                "too_small": too_small,
                "note": f"fewer than {spec.min_slice_rows} rows: too small to judge" if too_small else None,
                "macro_f1": rep["overall"].get("macro_f1"),
                "labels": {
                    lab: {
                        "f1": rep["labels"][lab].get("f1"),
                        "roc_auc": rep["labels"][lab].get("roc_auc"),
                        "support": rep["labels"][lab].get("support"),
                        "small_support": positives[lab] < spec.min_slice_positives,
                    }
                    for lab in LABELS
                },
            }
        out[field_name] = table
    return out


def bias_metrics(records: Sequence[dict], y: np.ndarray, prob: np.ndarray, spec: EvalSpec) -> dict[str, Any]:
    """Borkan et al. (2019) subgroup / BPSN / BNSP AUCs per label over target groups, with generalized means (p=-5)."""
    groups = slice_values(records, spec.subgroup_field)
    names = sorted({g for g in groups if g is not None and g not in spec.ignore_subgroups})
    out: dict[str, Any] = {"subgroup_field": spec.subgroup_field, "labels": {}}
    if not names:
        out["n/a"] = f"no rows carry a '{spec.subgroup_field}' annotation"
        return out
    for j, lab in enumerate(LABELS):
        mask = y[:, j] >= 0
        if mask.sum() == 0 or len(set((y[mask, j] >= 0.5).tolist())) < 2:
            out["labels"][lab] = {"n/a": "label not annotated or only one class present"}
            continue
        yt = (y[mask, j] >= 0.5).astype(int)
        pj = prob[mask, j]
        g_arr = np.array([groups[i] for i in np.flatnonzero(mask)], dtype=object)
        table = {}
        for name in names:
            sub = g_arr == name
            if sub.sum() == 0:
                continue
            res = bias_aucs(yt, pj, sub)
            res["rows"] = int(sub.sum())
            res["positives"] = int(yt[sub].sum())
            table[name] = res
        means = {}
        for key in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
            vals = [t[key] for t in table.values() if t.get(key) is not None]
            means[key] = generalized_mean(vals, p=-5) if vals else None
        out["labels"][lab] = {"subgroups": table, "generalized_mean_p-5": means}
    return out


def calibration_metrics(y: np.ndarray, logits: np.ndarray, temps: Sequence[float], spec: EvalSpec) -> dict[str, Any]:
    """ECE and reliability bins per label, before (T=1) and after the run's temperature scaling."""
    before = apply_temperature(logits, [1.0] * len(LABELS))
    after = apply_temperature(logits, list(temps))
    out = {}
    for j, lab in enumerate(LABELS):
        mask = y[:, j] >= 0
        if mask.sum() == 0:
            out[lab] = _na("label not annotated in this data")
            continue
        yt = (y[mask, j] >= 0.5).astype(int)
        out[lab] = {
            "temperature": float(temps[j]),
            "ece_before": expected_calibration_error(yt, before[mask, j], spec.calibration_bins),
            "ece_after": expected_calibration_error(yt, after[mask, j], spec.calibration_bins),
            "bins_before": reliability_bins(yt, before[mask, j], spec.calibration_bins),
            "bins_after": reliability_bins(yt, after[mask, j], spec.calibration_bins),
        }
    return out


def functional_results(cases: Sequence[dict], prob: np.ndarray, thresholds: Sequence[float]) -> dict[str, Any]:
    """A case passes when every label's prediction equals its expected value. Accuracy per functionality x language."""
    thr = np.asarray(thresholds)
    pred = prob >= thr
    exp = labels_matrix(cases) >= 0.5
    ok = (pred == exp).all(axis=1)
    by_func: dict[str, dict] = defaultdict(
        lambda: {"cases": 0, "passed": 0, "by_lang": Counter(), "by_lang_total": Counter()}
    )
    failures = []
    for i, case in enumerate(cases):
        f = by_func[case["functionality"]]
        f["cases"] += 1
        f["passed"] += int(ok[i])
        f["by_lang_total"][case["lang"]] += 1
        f["by_lang"][case["lang"]] += int(ok[i])
        if not ok[i]:
            failures.append(
                {
                    "id": case["id"],
                    "functionality": case["functionality"],
                    "lang": case["lang"],
                    "text": mask_pii(case["text"]),
                    "expected": [lab for j, lab in enumerate(LABELS) if exp[i, j]],
                    "predicted": [lab for j, lab in enumerate(LABELS) if pred[i, j]],
                }
            )
    table = {}
    for name, f in sorted(by_func.items()):
        hard = any(c.get("hard_negative") for c in cases if c["functionality"] == name)
        table[name] = {
            "cases": f["cases"],
            "accuracy": f["passed"] / f["cases"],
            "hard_negative": hard,
            "by_lang": {lang: f["by_lang"][lang] / n for lang, n in sorted(f["by_lang_total"].items())},
        }
    hard_idx = [i for i, c in enumerate(cases) if c.get("hard_negative")]
    by_language: dict[str, dict[str, Any]] = {}
    for lang in sorted({c["lang"] for c in cases}):
        groups = {"abusive": [], "hard_negatives": []}
        for i, c in enumerate(cases):
            if c["lang"] == lang:
                if exp[i].any():
                    groups["abusive"].append(i)
                elif c.get("hard_negative"):
                    groups["hard_negatives"].append(i)
        by_language[lang] = {
            name: _group_result(ok, pred, idx, abusive=name == "abusive") for name, idx in groups.items() if idx
        }
    # Wilson 95% intervals: whether adding data "lowered" hard-negative accuracy is judged against them.
    return {
        "cases": len(cases),
        "accuracy": float(ok.mean()) if len(cases) else None,
        "accuracy_ci": proportion_ci(int(ok.sum()), len(cases)),
        "hard_negatives": len(hard_idx),
        "hard_negative_accuracy": float(ok[hard_idx].mean()) if hard_idx else None,
        "hard_negative_ci": proportion_ci(int(ok[hard_idx].sum()), len(hard_idx)),
        "functionalities": table,
        "by_language": by_language,  # abusive cases (any label expected) and hard negatives, per language
        "failures": failures,
    }


def _group_result(ok: np.ndarray, pred: np.ndarray, idx: Sequence[int], abusive: bool) -> dict[str, Any]:
    """Exact match of one group of cases; for abusive cases also how many got any label at all, since a monitoring
    team's reviewers see every flagged comment, whichever label flagged it."""
    passed = int(ok[idx].sum())
    out: dict[str, Any] = {
        "cases": len(idx),
        "passed": passed,
        "accuracy": passed / len(idx),
        "ci": proportion_ci(passed, len(idx)),
    }
    if abusive:
        flagged = int(pred[idx].any(axis=1).sum())
        out |= {"flagged": flagged, "flagged_rate": flagged / len(idx), "flagged_ci": proportion_ci(flagged, len(idx))}
    return out


def keyboard_typed_functional(clf, cases: Sequence[dict], prob: np.ndarray, thresholds: Sequence[float]) -> dict | None:
    """The Tajik (Cyrillic) cases again as most Tajik comments are typed: lower-case, on a Russian keyboard (ҷ→ч ҳ→х
    қ→к ғ→г ӯ→у ӣ→и). Exact match per group, and how many cases change a label against the same case as written."""
    idx = [i for i, c in enumerate(cases) if c["lang"] == "tg"]
    if not idx:
        return None
    typed = [{**cases[i], "text": keyboard_spelling(cases[i]["text"]).lower()} for i in idx]
    typed_prob = clf.predict_proba([c["text"] for c in typed])
    t = np.asarray(thresholds)[None, :]
    changed = int(((prob[idx] >= t) != (typed_prob >= t)).any(axis=1).sum())
    result = functional_results(typed, typed_prob, thresholds)
    return {
        "cases": len(idx),
        "labels_changed": changed,
        "changed_rate": changed / len(idx),
        "by_language": result["by_language"],
        "failures": result["failures"],  # written to rundir.FUNCTIONAL_KEYBOARD_FAILURES, not into the metrics
    }


def error_analysis(
    records: Sequence[dict], y: np.ndarray, prob: np.ndarray, thresholds: Sequence[float], k: int
) -> dict[str, Any]:
    """Highest-scoring false positives and lowest-scoring false negatives per label; texts PII-masked."""
    out = {}
    for j, lab in enumerate(LABELS):
        mask = y[:, j] >= 0
        fp = [i for i in np.flatnonzero(mask) if y[i, j] < 0.5 and prob[i, j] >= thresholds[j]]
        fn = [i for i in np.flatnonzero(mask) if y[i, j] >= 0.5 and prob[i, j] < thresholds[j]]
        fp = sorted(fp, key=lambda i: -prob[i, j])[:k]
        fn = sorted(fn, key=lambda i: prob[i, j])[:k]

        def row(i):
            r = records[i]
            return {
                "id": r["id"],
                "score": round(float(prob[i, j]), 4),
                "lang": r.get("lang"),
                "text": mask_pii(r["text"]),
            }

        out[lab] = {"false_positives": [row(i) for i in fp], "false_negatives": [row(i) for i in fn]}
    return out


# ----------------------------------------------------------------------------- plots


# ----------------------------------------------------------------------------- report


def flag_rates(y: np.ndarray, prob: np.ndarray, thresholds: Sequence[float]) -> dict[str, Any]:
    """How often rows are flagged (any label at or above its threshold), split by what their annotations say.

    `negatives`: rows with at least one annotated label and no positive one (ordinary text, neutral rewrites); the
    share flagged is what a reviewer would see as false alarms. `positives`: rows with a positive label; the share
    flagged on any label is the recall a reviewer gets, whatever the label name.
    """
    flagged = (prob >= np.asarray(thresholds)[None, :]).any(axis=1)
    annotated = (y >= 0).any(axis=1)
    positive = (y >= 0.5).any(axis=1)
    out: dict[str, Any] = {}
    for name, mask in (("negatives", annotated & ~positive), ("positives", positive)):
        n, k = int(mask.sum()), int(flagged[mask].sum())
        out[name] = {"rows": n, "flagged": k, "rate": k / n if n else None, "ci": proportion_ci(k, n) if n else None}
    return out


def pair_ranking(records: Sequence[Mapping[str, Any]], y: np.ndarray, prob: np.ndarray) -> dict[str, Any] | None:
    """Minimal pairs (records sharing `pair`: a toxic text and its neutral rewrites): share of (toxic, rewrite) pairs
    where the toxic text gets the higher score (the highest label probability). None without pairs."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        if rec.get("pair"):
            groups[rec["pair"]].append(i)
    score = prob.max(axis=1)
    wins = total = 0
    for members in groups.values():
        pos = [i for i in members if (y[i] >= 0.5).any()]
        neg = [i for i in members if (y[i] >= 0).any() and not (y[i] >= 0.5).any()]
        for i in pos:
            for j in neg:
                total += 1
                wins += int(score[i] > score[j])
    if not total:
        return None
    return {"pairs": total, "toxic_higher": wins, "rate": wins / total, "ci": proportion_ci(wins, total)}


def style_shift(
    clf,
    records: Sequence[Mapping[str, Any]],
    y: np.ndarray,
    prob: np.ndarray,
    thresholds: Sequence[float],
    sources: Sequence[str],
) -> dict[str, Any] | None:
    """The same rows typed lower-case without punctuation: how many labels flip, and F1 on the restyled text."""
    idx = [i for i, r in enumerate(records) if r.get("source") in set(sources)]
    if not idx:
        return None
    restyled = clf.predict_proba([lower_nopunct(records[i]["text"]) for i in idx])
    t = np.asarray(thresholds)[None, :]
    before, after = prob[idx] >= t, restyled >= t
    sy = y[idx]
    rep_before = classification_report(sy, prob[idx], list(thresholds), list(LABELS))
    rep_after = classification_report(sy, restyled, list(thresholds), list(LABELS))
    changed = int((before != after).any(axis=1).sum())
    return {
        "sources": list(sources),
        "rows": len(idx),
        "rows_with_a_label_changed": changed,
        "changed_rate": changed / len(idx),
        "changed_ci": proportion_ci(changed, len(idx)),
        "macro_f1_as_written": rep_before["overall"]["macro_f1"],
        "macro_f1_restyled": rep_after["overall"]["macro_f1"],
        "f1_restyled": {lab: rep_after["labels"][lab]["f1"] for lab in LABELS},
    }


def per_source_metrics(
    records: Sequence[Mapping[str, Any]], y: np.ndarray, prob: np.ndarray, thresholds: Sequence[float], spec: EvalSpec
) -> dict[str, Any]:
    """Per source: per-label metrics with bootstrap CIs (labels the source annotates), flag rates, minimal pairs.

    Sources measure different things (a public test split, held-out Tajik prose, positive-only spans), so a
    mixed-source test split is read source by source; the pooled figures would mostly reflect the largest source.
    """
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        by_source[str(rec.get("source"))].append(i)
    out = {}
    for source, idx in sorted(by_source.items()):
        sy, sp = y[idx], prob[idx]
        entry: dict[str, Any] = {"rows": len(idx), "flags": flag_rates(sy, sp, thresholds)}
        if any(((sy[:, j] >= 0.5).any() and (sy[:, j] >= 0).sum() > 0) for j in range(len(LABELS))):
            metrics = overall_metrics(sy, sp, thresholds, replace(spec, bootstrap_resamples=spec.per_source_resamples))
            entry["labels"] = {lab: metrics["labels"][lab] for j, lab in enumerate(LABELS) if (sy[:, j] >= 0.5).any()}
        pairs = pair_ranking([records[i] for i in idx], sy, sp)
        if pairs:
            entry["pairs"] = pairs
        out[source] = entry
    return out


def render_per_source(per_source: Mapping[str, Any]) -> list[str]:
    """Markdown table of `per_source_metrics`: the same rows as the model card and README (one renderer)."""
    return [
        "## Per source (real text first: each source's own held-out rows)",
        "",
        *per_source_rows(dict(per_source)),
        "",
    ]


def render_report(result: dict[str, Any]) -> str:
    """Markdown report of a metrics.json produced by evaluate_run."""
    lines = [
        f"# Evaluation report: {result['model_id']}",
        "",
        f"Data: `{result['data']}`, split `{result['split']}`, {result['rows']} rows. Thresholds tuned on dev; "
        f"probabilities temperature-scaled. Brackets: {int(result['spec']['ci_level'] * 100)}% bootstrap CI "
        f"({result['spec']['bootstrap_resamples']} resamples, seed {result['spec']['bootstrap_seed']}).",
        "",
    ]
    m = result["metrics"]
    lines += [
        "## Per label",
        "",
        "| label | n | support | threshold | precision | recall | F1 | ROC-AUC | PR-AUC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for lab in LABELS:
        e = m["labels"][lab]
        lines.append(
            f"| {lab} | {e.get('n', 0)} | {e.get('support', 0)} | {result['thresholds'][lab]:.2f} | "
            f"{number(e.get('precision'))} | {number(e.get('recall'))} | "
            f"{number(e.get('f1'))}{ci_of(e, 'f1', brackets=True)} | "
            f"{number(e.get('roc_auc'))}{ci_of(e, 'roc_auc', brackets=True)} | "
            f"{number(e.get('pr_auc'))}{ci_of(e, 'pr_auc', brackets=True)} |"
        )
    o = m["overall"]
    lines += [
        "",
        f"Micro F1 {number(o.get('micro_f1'))}{ci_of(o, 'micro_f1', brackets=True)}; macro F1 "
        f"{number(o.get('macro_f1'))}{ci_of(o, 'macro_f1', brackets=True)}.",
        "",
    ]
    if result.get("per_source"):
        lines += render_per_source(result["per_source"])
    ss = result.get("style_shift")
    if ss:
        lines += [
            "## Style shift",
            "",
            f"The {ss['rows']} test rows of {', '.join(ss['sources'])} typed in lower case without "
            f"punctuation: {ss['rows_with_a_label_changed']} ({number(ss['changed_rate'])}) change at least one label; "
            f"macro F1 {number(ss['macro_f1_as_written'])} as written, {number(ss['macro_f1_restyled'])} restyled.",
            "",
        ]
    lines += ["## Slices", ""]
    for field_name, table in result["slices"].items():
        if "n/a" in table:
            lines.append(f"- **{field_name}**: n/a ({table['n/a']})")
            continue
        lines += [
            f"### by {field_name}",
            "",
            "| value | rows | macro F1 | " + " | ".join(f"F1 {lab}" for lab in LABELS) + " | note |",
            "|---|---|---|" + "---|" * len(LABELS) + "---|",
        ]
        for value, e in table.items():
            cells = " | ".join(
                number(e["labels"][lab]["f1"]) + ("*" if e["labels"][lab]["small_support"] else "") for lab in LABELS
            )
            lines.append(f"| {value} | {e['rows']} | {number(e['macro_f1'])} | {cells} | {e['note'] or ''} |")
        lines.append("")
    lines += [
        "`*` fewer than 5 positives for that label in the slice.",
        "",
        "## Unintended bias (Borkan et al. 2019)",
        "",
    ]
    bias = result["bias"]
    if "n/a" in bias:
        lines.append(f"n/a: {bias['n/a']}")
    for lab, entry in bias.get("labels", {}).items():
        if "n/a" in entry:
            lines.append(f"- {lab}: n/a ({entry['n/a']})")
            continue
        gm = entry["generalized_mean_p-5"]
        lines += [
            f"### {lab}",
            "",
            f"Generalized mean (p = -5): subgroup AUC {number(gm['subgroup_auc'])}, BPSN {number(gm['bpsn_auc'])}, "
            f"BNSP {number(gm['bnsp_auc'])}.",
            "",
            "| subgroup | rows | positives | subgroup AUC | BPSN AUC | BNSP AUC |",
            "|---|---|---|---|---|---|",
        ]
        for name, t in entry["subgroups"].items():
            lines.append(
                f"| {name} | {t['rows']} | {t['positives']} | {number(t.get('subgroup_auc'))} | "
                f"{number(t.get('bpsn_auc'))} | {number(t.get('bnsp_auc'))} |"
            )
        lines.append("")
    lines += ["## Calibration", "", "| label | temperature | ECE before | ECE after |", "|---|---|---|---|"]
    for lab, e in result["calibration"].items():
        if e.get("value", 0) is None:
            lines.append(f"| {lab} | n/a | n/a | n/a |")
        else:
            lines.append(f"| {lab} | {e['temperature']:.2f} | {number(e['ece_before'])} | {number(e['ece_after'])} |")
    lines.append("")
    fr = result.get("functional")
    if fr:
        lines += [
            "## Functional test suite",
            "",
            f"{fr['cases']} cases; all-label accuracy {number(fr['accuracy'])}"
            f"{interval(fr.get('accuracy_ci'), brackets=True)}; hard negatives {number(fr['hard_negative_accuracy'])}"
            f"{interval(fr.get('hard_negative_ci'), brackets=True)} (Wilson 95% intervals).",
            "",
            "| functionality | hard negative | cases | accuracy | by language |",
            "|---|---|---|---|---|",
        ]
        for name, e in fr["functionalities"].items():
            by_lang = ", ".join(f"{k} {v:.2f}" for k, v in e["by_lang"].items())
            lines.append(
                f"| {name} | {'yes' if e['hard_negative'] else ''} | {e['cases']} | {e['accuracy']:.3f} | {by_lang} |"
            )
        lines += [
            "",
            f"Failing cases: {len(fr['failures'])} (listed in `{rundir.FUNCTIONAL_FAILURES}`, PII masked).",
            "",
            *functional_language_lines(fr, result.get("functional_keyboard")),
        ]
    lines += ["## Error analysis (PII masked)", ""]
    for lab, e in result["errors"].items():
        lines.append(f"### {lab}")
        for kind in ("false_positives", "false_negatives"):
            lines.append(f"**{kind.replace('_', ' ')}**")
            if not e[kind]:
                lines.append("- none")
            for r in e[kind][:5]:
                text = r["text"].replace("\n", " ").replace("|", "/")[:160]
                lines.append(f"- `{r['score']:.3f}` ({r['lang']}) {text}")
        lines.append("")
    if result.get("plots"):
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in result["plots"]]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- main entry


def load_cases(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"functional suite {path} not found (regenerate with `make functional`)")
    return jsonl_objects(path)


def evaluate_run(
    run_dir: str | Path,
    data: LoadedData,
    out_dir: str | Path,
    spec: EvalSpec | None = None,
    functional_path: str | Path | None = None,
    data_name: str = "data",
    classifier=None,
) -> dict[str, Any]:
    """Score `data[spec.split]` with the run and write metrics.json, report.md and plots into out_dir. Returns the
    metrics."""
    spec = spec or EvalSpec()
    base = check_run_dir(run_dir)
    out_dir = Path(out_dir)
    clf = classifier or load_classifier(base, batch_size=spec.batch_size)
    records = data.splits.get(spec.split) or []
    if not records:
        raise ValueError(
            f"data '{data_name}' has no rows in split '{spec.split}'; choose evaluation.split=train|dev|test"
        )
    y = labels_matrix(records)
    logits = clf.predict_logits([r["text"] for r in records])
    temps = clf.temperatures.tolist()
    prob = apply_temperature(logits, clf.temperatures)
    thresholds = clf.thresholds.tolist()
    not_annotated = [lab for j, lab in enumerate(LABELS) if (y[:, j] >= 0).sum() == 0]
    result: dict[str, Any] = {
        "model_id": clf.model_id,
        "precision": precision_of(clf),
        "run_dir": str(base),
        "data": data_name,
        "split": spec.split,
        "rows": len(records),
        "labels_not_annotated": not_annotated,
        "thresholds": dict(zip(LABELS, thresholds)),
        "spec": {
            "bootstrap_resamples": spec.bootstrap_resamples,
            "bootstrap_seed": spec.bootstrap_seed,
            "ci_level": spec.ci_level,
            "min_slice_rows": spec.min_slice_rows,
        },
        "metrics": overall_metrics(y, prob, thresholds, spec),
        "per_source": per_source_metrics(records, y, prob, thresholds, spec),
        "style_shift": style_shift(clf, records, y, prob, thresholds, spec.style_check_sources),
        "slices": slice_metrics(records, y, prob, thresholds, spec),
        "bias": bias_metrics(records, y, prob, spec),
        "calibration": calibration_metrics(y, logits, temps, spec),
        "errors": error_analysis(records, y, prob, thresholds, spec.error_examples),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    if functional_path:
        cases = load_cases(functional_path)
        fprob = clf.predict_proba([c["text"] for c in cases])
        fr = functional_results(cases, fprob, thresholds)
        write_jsonl(out_dir / rundir.FUNCTIONAL_FAILURES, fr["failures"])
        result["functional"] = {k: v for k, v in fr.items() if k != "failures"} | {"failures": fr["failures"][:50]}
        typed = keyboard_typed_functional(clf, cases, fprob, thresholds)
        if typed is not None:
            write_jsonl(out_dir / rundir.FUNCTIONAL_KEYBOARD_FAILURES, typed.pop("failures"))
        result["functional_keyboard"] = typed
    result["plots"] = write_plots(out_dir, y, prob, result["calibration"], result["slices"]) if spec.plots else []
    write_text(out_dir / rundir.REPORT, render_report(result))
    write_json(out_dir / rundir.METRICS, result)  # last: its presence means a finished evaluation
    log.info("evaluation written to %s", out_dir)
    return result
