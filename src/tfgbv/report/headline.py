"""The default model's headline figures: the issue-12 targets read from an evaluation's metrics.json, and their spread
over runs that differ only in the seed (so a claimed gain can be compared with the noise)."""

from __future__ import annotations

import statistics
from typing import Any, Mapping, Sequence

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
)


def headline_metrics(ev: Mapping[str, Any]) -> dict[str, float | None]:
    """The TARGETS' values from one eval/metrics.json (None where the source was not evaluated)."""
    per = ev.get("per_source") or {}
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
    out["functional.hard_negatives"] = (ev.get("functional") or {}).get("hard_negative_accuracy")
    return out


def spread(values: Sequence[dict[str, float | None]]) -> dict[str, dict[str, Any]]:
    """Per target: the values of each run, their mean, sample SD, min, max, and whether the mean meets the target."""
    out = {}
    for key, what, target, higher in TARGETS:
        vals = [v[key] for v in values if v.get(key) is not None]
        if not vals:
            continue
        mean = statistics.fmean(vals)
        out[key] = {
            "what": what,
            "target": target,
            "higher_is_better": higher,
            "values": vals,
            "mean": mean,
            "sd": statistics.stdev(vals) if len(vals) > 1 else None,
            "min": min(vals),
            "max": max(vals),
            "met": mean >= target if higher else mean <= target,
        }
    return out


def render_spread(summary: Mapping[str, Any], runs: Sequence[str]) -> list[str]:
    """Markdown table of `spread` (one column per run)."""
    lines = [
        "| target | goal | mean | SD | " + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " | met |",
        "|---|---|---|---|" + "---|" * len(runs) + "---|",
    ]
    for key, e in summary.items():
        goal = ("≥ " if e["higher_is_better"] else "≤ ") + f"{e['target']:g}"
        sd = f"{e['sd']:.3f}" if e["sd"] is not None else "–"
        cells = " | ".join(f"{v:.3f}" for v in e["values"])
        lines.append(f"| {e['what']} | {goal} | {e['mean']:.3f} | {sd} | {cells} | {'yes' if e['met'] else '**no**'} |")
    return lines
