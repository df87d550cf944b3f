"""The default model's headline figures: the issue-12 targets read from an evaluation's metrics.json, and their spread
over runs that differ only in the seed (so a claimed gain can be compared with the noise)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Mapping, Sequence

from tfgbv import rundir
from tfgbv.data.records import jsonl_objects
from tfgbv.labels import LABELS

# (key, what it is, target, higher is better)
TARGETS: tuple[tuple[str, str, float, bool], ...] = (
    ("ru_2ch_pikabu.insult.f1", "ru_2ch_pikabu insult F1", 0.92, True),
    ("ru_2ch_pikabu.insult.roc_auc", "ru_2ch_pikabu insult ROC-AUC", 0.975, True),
    ("ru_sexism_vk.shaming.f1", "ru_sexism_vk shaming F1", 0.80, True),
    ("ru_distorted_toxicity.insult.f1", "ru_distorted_toxicity insult F1 (own test split)", 0.75, True),
    ("ru_paradetox.pairs", "RuParaDetox held-out pairs: toxic scores above its rewrite", 0.95, True),
    ("ru_paradetox.toxic_flagged", "RuParaDetox held-out toxic comments flagged", 0.80, True),
    ("ru_paradetox.rewrites_flagged", "RuParaDetox held-out neutral rewrites flagged", 0.10, False),
    ("tg_prose.flagged", "real Tajik prose held out (ParsText + addresses) flagged", 0.03, False),
    ("tg_parstext.flagged", "  of which ParsText news/blog sentences", 0.03, False),
    ("tg_addresses.flagged", "  of which presidential-address sentences", 0.03, False),
    ("seed.macro_f1", "bundled synthetic test split macro F1", 0.86, True),
    ("functional.hard_negatives", "functional suite hard negatives accuracy", 0.90, True),
    # issue 23: Tajik, as written and as typed on a Russian keyboard (lower-case), and real Persian offence
    ("functional.tg.abusive", "functional suite, Tajik abusive cases exact match", 0.90, True),
    ("functional.tg.hard_negatives", "functional suite, Tajik hard negatives exact match", 0.92, True),
    (
        "functional_keyboard.tg.abusive",
        "  the same Tajik abusive cases typed lower-case on a Russian keyboard",
        0.90,
        True,
    ),
    ("functional_keyboard.tg.hard_negatives", "  the same Tajik hard negatives typed that way", 0.92, True),
    ("functional.ru.abusive", "functional suite, Russian abusive cases exact match", 0.90, True),
    ("functional.ru.hard_negatives", "functional suite, Russian hard negatives exact match", 0.92, True),
    ("fa_pars_off.insult.roc_auc", "Pars-OFF held-out targeted offence (insult) ROC-AUC", 0.90, True),
)
# Reported next to the targets (no goal): does style still decide the label? (evaluation.style_shift)
CHECKS: tuple[tuple[str, str, bool], ...] = (
    ("fa_pars_off.insult.f1", "  Pars-OFF targeted offence F1 at the saved insult threshold", True),
    ("style.changed_rate", "synthetic test rows whose labels change when typed lower-case without punctuation", False),
    ("style.macro_f1_restyled", "  bundled synthetic test macro F1, typed that way", True),
    # what reaches a reviewer: abusive cases given any label, right or not (exact match above is stricter)
    ("functional.tg.abusive_flagged", "functional suite, Tajik abusive cases flagged with any label", True),
    ("functional_keyboard.tg.abusive_flagged", "  the same typed lower-case on a Russian keyboard", True),
    ("functional.ru.abusive_flagged", "functional suite, Russian abusive cases flagged with any label", True),
)
_FLAGGED = {key for key, *_ in CHECKS if key.endswith(".abusive_flagged")}


_KEYS = {key for key, *_ in TARGETS}


def headline_metrics(
    ev: Mapping[str, Any], external: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, float | None]:
    """The TARGETS' values from one eval/metrics.json (None where the source was not evaluated). `external`: the run's
    other evaluations ({data: metrics}, e.g. eval-fa_pars_off/), for sources its own test split lacks and for the
    functional suite's per-language figures where its own evaluation has none."""
    per = dict(ev.get("per_source") or {})
    for other in (external or {}).values():
        for source, entry in (other.get("per_source") or {}).items():
            per.setdefault(source, entry)
    out: dict[str, float | None] = {}

    def label(source: str, lab: str, metric: str) -> float | None:
        return (((per.get(source) or {}).get("labels") or {}).get(lab) or {}).get(metric)

    out["ru_2ch_pikabu.insult.f1"] = label("ru_2ch_pikabu", "insult", "f1")
    out["ru_2ch_pikabu.insult.roc_auc"] = label("ru_2ch_pikabu", "insult", "roc_auc")
    out["ru_sexism_vk.shaming.f1"] = label("ru_sexism_vk", "shaming", "f1")
    out["ru_distorted_toxicity.insult.f1"] = label("ru_distorted_toxicity", "insult", "f1")
    px = per.get("ru_paradetox") or {}
    out["ru_paradetox.pairs"] = (px.get("pairs") or {}).get("rate")
    out["ru_paradetox.toxic_flagged"] = ((px.get("flags") or {}).get("positives") or {}).get("rate")
    out["ru_paradetox.rewrites_flagged"] = ((px.get("flags") or {}).get("negatives") or {}).get("rate")
    flagged = rows = 0
    for source in ("tg_parstext", "tg_addresses"):
        neg = ((per.get(source) or {}).get("flags") or {}).get("negatives") or {}
        out[f"{source}.flagged"] = neg.get("rate")
        flagged, rows = flagged + (neg.get("flagged") or 0), rows + (neg.get("rows") or 0)
    out["tg_prose.flagged"] = flagged / rows if rows else None
    seed_f1 = [m.get("f1") for m in ((per.get("seed") or {}).get("labels") or {}).values() if m.get("f1") is not None]
    out["seed.macro_f1"] = sum(seed_f1) / len(seed_f1) if len(seed_f1) == len(LABELS) else None
    suites = [e["functional"] for e in (ev, *(external or {}).values()) if e.get("functional")]
    out["functional.hard_negatives"] = suites[0].get("hard_negative_accuracy") if suites else None
    for block in ("functional", "functional_keyboard"):
        suite = suite_by_language(ev, external, block)[0] or {}
        for lang in ("tg", "ru"):
            groups = (suite.get("by_language") or {}).get(lang) or {}
            for group in ("abusive", "hard_negatives"):
                if f"{block}.{lang}.{group}" in _KEYS:
                    out[f"{block}.{lang}.{group}"] = (groups.get(group) or {}).get("accuracy")
            if f"{block}.{lang}.abusive_flagged" in _FLAGGED:
                out[f"{block}.{lang}.abusive_flagged"] = abusive_flagged(suite, lang)
    out["fa_pars_off.insult.roc_auc"] = label("fa_pars_off", "insult", "roc_auc")
    out["fa_pars_off.insult.f1"] = label("fa_pars_off", "insult", "f1")
    style = ev.get("style_shift") or {}
    out["style.changed_rate"] = style.get("changed_rate")
    out["style.macro_f1_restyled"] = style.get("macro_f1_restyled")
    return out


def suite_by_language(
    ev: Mapping[str, Any] | None, external: Mapping[str, Mapping[str, Any]] | None, block: str = "functional"
) -> tuple[dict[str, Any] | None, str | None]:
    """The functional suite's results with per-language figures (`block`: functional or functional_keyboard), as run by
    this evaluation or, where it predates those figures, by the run's first other evaluation that has them; and the
    name of that other evaluation (None for this one)."""
    for name, e in (("", ev or {}), *sorted((external or {}).items())):
        if (e.get(block) or {}).get("by_language"):
            return e[block], name or None
    return None, None


def abusive_flagged_counts(block: Mapping[str, Any], lang: str) -> tuple[int, int] | None:
    """(abusive functional cases of a language given at least one label, abusive cases). Evaluations written before
    the count existed are read from their failures, where a case not flagged is one predicting nothing; that needs every
    failure (`with_all_failures`: metrics.json keeps only the first ones), else None."""
    abusive = ((block.get("by_language") or {}).get(lang) or {}).get("abusive") or {}
    if not abusive.get("cases"):
        return None
    if abusive.get("flagged") is not None:
        return abusive["flagged"], abusive["cases"]
    if abusive.get("passed") is None:
        return None
    failed = [f for f in block.get("failures") or () if f["lang"] == lang and f["expected"]]
    if len(failed) != abusive["cases"] - abusive["passed"]:
        return None  # not every failure is at hand
    return abusive["cases"] - sum(1 for f in failed if not f["predicted"]), abusive["cases"]


def abusive_flagged(block: Mapping[str, Any], lang: str) -> float | None:
    """Share of a language's abusive functional cases given at least one label (`abusive_flagged_counts`)."""
    counts = abusive_flagged_counts(block, lang)
    return counts[0] / counts[1] if counts else None


def with_all_failures(art: dict[str, Any]) -> dict[str, Any]:
    """A run's artifacts (rundir.load_artifacts) with every failing functional case of each evaluation, from the files
    beside its metrics.json, which keeps only the first ones: older evaluations count abusive cases flagged with any
    label through them (`abusive_flagged_counts`)."""
    run_dir = Path(art["run_dir"])
    evals = [(art.get("eval"), run_dir / rundir.EVAL_DIR)]
    evals += [(m, run_dir / f"{rundir.OTHER_EVAL_PREFIX}{name}") for name, m in (art.get("external") or {}).items()]
    for metrics, eval_dir in evals:
        for block, name in (
            ("functional", rundir.FUNCTIONAL_FAILURES),
            ("functional_keyboard", rundir.FUNCTIONAL_KEYBOARD_FAILURES),
        ):
            if metrics and metrics.get(block) and (eval_dir / name).exists():
                metrics[block]["failures"] = jsonl_objects(eval_dir / name)
    return art


def learning_curve(history: Sequence[Mapping[str, Any]], batch_size: int) -> list[tuple[int, float]]:
    """(training rows seen, dev macro-F1 at 0.5) from a run's train_history.json (trainer.curve_points or epochs)."""
    return [(int(h["step"]) * batch_size, float(h["eval_macro_f1"])) for h in history if "eval_macro_f1" in h]


def spread(values: Sequence[dict[str, float | None]]) -> dict[str, dict[str, Any]]:
    """Per target: the values of each run, their mean, sample SD, min, max, and whether the mean meets the target."""
    out = {}
    rows = [*TARGETS, *((key, what, None, higher) for key, what, higher in CHECKS)]
    for key, what, target, higher in rows:
        vals = [v[key] for v in values if v.get(key) is not None]
        if not vals:
            continue
        mean = statistics.fmean(vals)
        out[key] = {
            "what": what,
            "target": target,
            "higher_is_better": higher,
            "values": vals,
            "per_run": [v.get(key) for v in values],  # aligned with the runs: None where a run lacks the figure
            "mean": mean,
            "sd": statistics.stdev(vals) if len(vals) > 1 else None,
            "min": min(vals),
            "max": max(vals),
            "met": None if target is None else (mean >= target if higher else mean <= target),
        }
    return out


def mean_values(values: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """Per target, the mean over runs of one configuration (None where no run has the figure)."""
    keys = {k for v in values for k in v}
    out: dict[str, float | None] = {}
    for key in sorted(keys):
        vals = [v[key] for v in values if v.get(key) is not None]
        out[key] = statistics.fmean(vals) if vals else None
    return out


def _goal(e: Mapping[str, Any]) -> str:
    return "–" if e["target"] is None else ("≥ " if e["higher_is_better"] else "≤ ") + f"{e['target']:g}"


def _met(e: Mapping[str, Any]) -> str:
    return "–" if e["met"] is None else ("yes" if e["met"] else "**no**")


def render_spread(summary: Mapping[str, Any], runs: Sequence[str]) -> list[str]:
    """Markdown table of `spread`, one column per run, headed by the run's name (every figure names its run)."""
    lines = [
        "| target | goal | mean | SD | " + " | ".join(f"`{run}`" for run in runs) + " | met |",
        "|---|---|---|---|" + "---|" * len(runs) + "---|",
    ]
    for key, e in summary.items():
        sd = f"{e['sd']:.3f}" if e["sd"] is not None else "–"
        cells = " | ".join("–" if v is None else f"{v:.3f}" for v in e.get("per_run", e["values"]))
        lines.append(f"| {e['what']} | {_goal(e)} | {e['mean']:.3f} | {sd} | {cells} | {_met(e)} |")
    return lines


def compare_variants(
    summary: Mapping[str, Any], variants: Mapping[str, dict[str, float | None]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each variant run (one seed) against the default's seed spread: value, difference from the mean, and whether the
    difference is beyond 2 SD of the seeds (smaller is noise); `better` says which way it moved."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, vals in variants.items():
        out[name] = {}
        for key, e in summary.items():
            v = vals.get(key)
            if v is None:
                continue
            diff = v - e["mean"]
            beyond = e["sd"] is not None and abs(diff) > 2 * e["sd"]
            out[name][key] = {
                "value": v,
                "diff": diff,
                "beyond_noise": beyond,
                "better": beyond and ((diff > 0) == e["higher_is_better"]),
            }
    return out


def render_variants(summary: Mapping[str, Any], compared: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown: the default's mean ± SD, then per variant its value and difference (bold beyond 2 SD)."""
    names = list(compared)
    lines = [
        "| target | goal | default mean ± SD | " + " | ".join(f"{n} (Δ)" for n in names) + " |",
        "|---|---|---|" + "---|" * len(names),
    ]
    for key, e in summary.items():
        sd = f" ± {e['sd']:.3f}" if e["sd"] is not None else ""
        cells = []
        for n in names:
            c = compared[n].get(key)
            if c is None:
                cells.append("–")
                continue
            delta = f"{c['diff']:+.3f}"
            if c["beyond_noise"]:
                delta = f"**{delta}** {'better' if c['better'] else 'worse'}"
            cells.append(f"{c['value']:.3f} ({delta})")
        lines.append(f"| {e['what']} | {_goal(e)} | {e['mean']:.3f}{sd} | " + " | ".join(cells) + " |")
    return lines


# Config keys that differ between runs of one configuration without changing what is trained.
IGNORED_KEYS = ("seed", "run_name", "hydra", "paths", "publish_card", "trainer.curve_points")


def _flat(cfg: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(cfg, dict):
        return {k: v for key, val in cfg.items() for k, v in _flat(val, f"{prefix}{key}.").items()}
    return {prefix[:-1]: cfg}


def config_changes(base: dict, other: dict, root: str | None = None) -> list[str]:
    """`key: before -> after` for every resolved config value that differs (paths, seed and run names aside); file
    paths under `root` (the repository) are shown relative to it, so no machine's paths reach the docs."""
    a, b = _flat(base), _flat(other)
    keep = [k for k in sorted(set(a) | set(b)) if not any(k == i or k.startswith(i + ".") for i in IGNORED_KEYS)]

    def shown(value: Any) -> Any:
        prefix = f"{root.rstrip('/')}/" if root else None
        return value[len(prefix) :] if prefix and isinstance(value, str) and value.startswith(prefix) else value

    return [f"`{k}`: {shown(a.get(k, '–'))} → {shown(b.get(k, '–'))}" for k in keep if a.get(k) != b.get(k)]
