"""Paired comparison of two evaluations of the same data (e.g. the default run vs a run with public data added).

Two models scored on the same cases are not independent samples: whether B "lowers" hard-negative accuracy is a
question about the cases on which they disagree. The functional suite is compared with an exact McNemar test on those
discordant cases; per-label metrics are shown side by side with each model's own bootstrap CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scipy.stats import binomtest

from tfgbv import rundir
from tfgbv.data.records import read_jsonl
from tfgbv.labels import LABELS
from tfgbv.report.markdown import number, with_interval

LABEL_METRICS = ("precision", "recall", "f1", "roc_auc", "pr_auc")


class ComparisonError(ValueError):
    """The two evaluations cannot be compared (missing files, different data)."""


def _eval_dir(path: str | Path) -> Path:
    path = rundir.evaluation_of(path)  # a run directory: its own evaluation
    if not (path / rundir.METRICS).exists():
        raise ComparisonError(
            f"{path}: no {rundir.METRICS} (give an evaluation directory such as <run>/{rundir.EVAL_DIR} "
            f"or <run>/{rundir.OTHER_EVAL_PREFIX}seed)"
        )
    return path


def _load(eval_dir: Path) -> dict[str, Any]:
    return rundir.read_json(eval_dir / rundir.METRICS)


def _failures(eval_dir: Path, name: str = rundir.FUNCTIONAL_FAILURES) -> dict[str, dict]:
    """Failing functional case id -> its record (functionality; lang and expected labels where written), from
    functional_failures.jsonl (or `name`: the keyboard-typed cases' failures)."""
    path = eval_dir / name
    if not path.exists():
        raise ComparisonError(f"{path}: missing; re-run scripts/evaluate.py on that run")
    out = {}
    for line in read_jsonl(path):  # the one JSONL reader (lines end at "\\n" only; deep JSON is a line's problem)
        try:
            if line.problem is not None:
                raise ValueError(line.problem)
            out[line.value["id"]] = {**line.value, "functionality": line.value["functionality"]}  # both required
        except (ValueError, KeyError) as e:
            raise ComparisonError(
                f"{path}:{line.line}: not a failure record with 'id' and 'functionality' ({e})"
            ) from None
    return out


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (binomial test at 1/2); 1.0 when none disagree."""
    if a_only + b_only == 0:
        return 1.0
    return float(binomtest(a_only, a_only + b_only, 0.5).pvalue)


def paired_pass_rates(total: int, fail_a: set[str], fail_b: set[str]) -> dict[str, Any]:
    """Pass rates of A and B on the same `total` cases, the discordant counts and the exact McNemar p-value."""
    a_only, b_only = len(fail_a - fail_b), len(fail_b - fail_a)
    return {
        "cases": total,
        "accuracy_a": 1 - len(fail_a) / total if total else None,
        "accuracy_b": 1 - len(fail_b) / total if total else None,
        "fail_only_a": a_only,
        "fail_only_b": b_only,
        "p_value": mcnemar_exact(a_only, b_only),
    }


def compare_functional(dir_a: Path, dir_b: Path, fa: dict, fb: dict) -> dict[str, Any]:
    table_a, table_b = fa["functionalities"], fb["functionalities"]
    if {k: v["cases"] for k, v in table_a.items()} != {k: v["cases"] for k, v in table_b.items()}:
        raise ComparisonError(
            f"{dir_a} and {dir_b} ran different functional suites (functionalities or case counts differ)"
        )
    hard = {name for name, e in table_a.items() if e["hard_negative"]}
    failures_a, failures_b = _failures(dir_a), _failures(dir_b)

    def scope(names: set[str]) -> dict[str, Any]:
        total = sum(table_a[n]["cases"] for n in names)
        return paired_pass_rates(
            total,
            {i for i, f in failures_a.items() if f["functionality"] in names},
            {i for i, f in failures_b.items() if f["functionality"] in names},
        )

    return {
        "all": scope(set(table_a)),
        "hard_negatives": scope(hard),
        "by_language": _paired_by_language(fa, fb, failures_a, failures_b, hard),
        "by_functionality": {name: {**scope({name}), "hard_negative": name in hard} for name in sorted(table_a)},
        "label_errors": label_errors(failures_a, failures_b),
    }


def _label_error_counts(failures: dict[str, dict]) -> dict[str, dict[str, dict[str, int]]] | None:
    """{functionality: {label: {"extra": n, "missed": n}}} over the failing cases: a label given that the case does
    not carry, or one it carries that was not given; None if any record lacks the labels (older evaluations)."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for f in failures.values():
        if not isinstance(f.get("expected"), list) or not isinstance(f.get("predicted"), list):
            return None
        expected, predicted = set(f["expected"]), set(f["predicted"])
        for kind, labels in (("extra", predicted - expected), ("missed", expected - predicted)):
            for lab in labels:
                entry = out.setdefault(f["functionality"], {}).setdefault(lab, {"extra": 0, "missed": 0})
                entry[kind] += 1
    return out


def label_errors(failures_a: dict[str, dict], failures_b: dict[str, dict]) -> dict[str, Any] | None:
    """Which label each model got wrong, per functionality: a hard negative lost to doxxing on a sentence naming a
    woman's shop and neighbourhood is a different problem from one lost to shaming. {functionality: {label:
    {"extra_a", "extra_b", "missed_a", "missed_b"}}}; None where either side's failures lack the labels."""
    ca, cb = _label_error_counts(failures_a), _label_error_counts(failures_b)
    if ca is None or cb is None:
        return None
    out: dict[str, Any] = {}
    for name in sorted(set(ca) | set(cb)):
        for lab in LABELS:
            ea, eb = (ca.get(name) or {}).get(lab), (cb.get(name) or {}).get(lab)
            if ea is None and eb is None:
                continue
            ea, eb = ea or {"extra": 0, "missed": 0}, eb or {"extra": 0, "missed": 0}
            out.setdefault(name, {})[lab] = {
                "extra_a": ea["extra"],
                "extra_b": eb["extra"],
                "missed_a": ea["missed"],
                "missed_b": eb["missed"],
            }
    return out


def _pool_label_errors(entries: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Label errors summed over pairs of runs (a functionality or label one pair lacks counts 0 there)."""
    if any(e is None for e in entries):
        return None
    out: dict[str, Any] = {}
    for entry in entries:
        for name, by_label in entry.items():  # type: ignore[union-attr]
            for lab, counts in by_label.items():
                into = out.setdefault(name, {}).setdefault(lab, dict.fromkeys(counts, 0))
                for key, n in counts.items():
                    into[key] += n
    return {name: {lab: out[name][lab] for lab in LABELS if lab in out[name]} for name in sorted(out)}


def _paired_by_language(fa: dict, fb: dict, failures_a: dict, failures_b: dict, hard: set[str]) -> dict[str, Any]:
    """Abusive cases and hard negatives per language, paired, where both evaluations counted the same cases."""

    def in_group(failure: dict, lang: str, group: str) -> bool:
        abusive = bool(failure.get("expected"))
        if failure.get("lang") != lang:
            return False
        return abusive if group == "abusive" else (not abusive and failure["functionality"] in hard)

    by_language: dict[str, dict[str, Any]] = {}
    langs_a, langs_b = fa.get("by_language") or {}, fb.get("by_language") or {}
    for lang, groups in langs_a.items():  # evaluations from before the per-language figures have none
        for group, entry in groups.items():
            if ((langs_b.get(lang) or {}).get(group) or {}).get("cases") != entry["cases"]:
                continue
            by_language.setdefault(lang, {})[group] = paired_pass_rates(
                entry["cases"],
                {i for i, f in failures_a.items() if in_group(f, lang, group)},
                {i for i, f in failures_b.items() if in_group(f, lang, group)},
            )
    return by_language


def compare_keyboard_typed(dir_a: Path, dir_b: Path, ev_a: dict, ev_b: dict) -> dict[str, Any] | None:
    """The Tajik cases as typed on a Russian keyboard, paired per language and group; None where either evaluation
    has no record of them (evaluations from before they were written)."""
    ka, kb = ev_a.get("functional_keyboard"), ev_b.get("functional_keyboard")
    name = rundir.FUNCTIONAL_KEYBOARD_FAILURES
    if not ka or not kb or not (dir_a / name).is_file() or not (dir_b / name).is_file():
        return None
    hard = {n for n, e in ev_a["functional"]["functionalities"].items() if e["hard_negative"]}
    return _paired_by_language(ka, kb, _failures(dir_a, name), _failures(dir_b, name), hard)


def _require_same_data(where_a: Any, where_b: Any, a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two evaluations (or comparisons) are comparable only on the same data, split and row count."""
    for key in ("data", "split", "rows"):
        if a.get(key) != b.get(key):
            raise ComparisonError(
                f"{where_a} and {where_b} evaluated different data: {key} {a.get(key)!r} vs {b.get(key)!r}"
            )


def compare_evaluations(a: str | Path, b: str | Path) -> dict[str, Any]:
    """Compare evaluation A with B on the same data; raises ComparisonError if they scored different data."""
    dir_a, dir_b = _eval_dir(a), _eval_dir(b)
    ev_a, ev_b = _load(dir_a), _load(dir_b)
    _require_same_data(dir_a, dir_b, ev_a, ev_b)
    labels = {}
    for lab in LABELS:
        ea, eb = ev_a["metrics"]["labels"].get(lab, {}), ev_b["metrics"]["labels"].get(lab, {})
        if ea.get("f1") is None or eb.get("f1") is None:
            continue
        labels[lab] = {
            m: {
                "a": ea.get(m),
                "b": eb.get(m),
                "ci_a": (ea.get("ci") or {}).get(m),
                "ci_b": (eb.get("ci") or {}).get(m),
                "delta": None if ea.get(m) is None or eb.get(m) is None else eb[m] - ea[m],
            }
            for m in LABEL_METRICS
        }
    fa, fb = ev_a.get("functional"), ev_b.get("functional")
    functional = compare_functional(dir_a, dir_b, fa, fb) if fa and fb else None
    if functional is not None:
        functional["keyboard_typed"] = compare_keyboard_typed(dir_a, dir_b, ev_a, ev_b)
    return {
        "a": {"eval_dir": str(dir_a), "model_id": ev_a["model_id"]},
        "b": {"eval_dir": str(dir_b), "model_id": ev_b["model_id"]},
        "data": ev_a.get("data"),
        "split": ev_a.get("split"),
        "rows": ev_a.get("rows"),
        "labels": labels,
        "macro_f1": {"a": ev_a["metrics"]["overall"].get("macro_f1"), "b": ev_b["metrics"]["overall"].get("macro_f1")},
        "functional": functional,
    }


def _pool_scope(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One functional scope over several pairs of runs: cases and discordant counts summed, accuracies averaged, and
    the exact McNemar test on the summed discordant counts (under the null each pair's disagreements split evenly,
    so their sum does too); `per_pair` keeps each pair's B − A so a reader sees whether the pairs agree in sign."""
    a_only, b_only = sum(e["fail_only_a"] for e in entries), sum(e["fail_only_b"] for e in entries)
    return {
        "cases": sum(e["cases"] for e in entries),
        "accuracy_a": sum(e["accuracy_a"] for e in entries) / len(entries),
        "accuracy_b": sum(e["accuracy_b"] for e in entries) / len(entries),
        "fail_only_a": a_only,
        "fail_only_b": b_only,
        "p_value": mcnemar_exact(a_only, b_only),
        "per_pair": [e["accuracy_b"] - e["accuracy_a"] for e in entries],
    }


def _pool_groups(groups: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """{lang: {group: scope}} pooled where every pair has that scope (older evaluations may lack some)."""
    if any(g is None for g in groups):
        return None
    out: dict[str, Any] = {}
    for lang, by_group in groups[0].items():
        for group in by_group:
            entries = [(g.get(lang) or {}).get(group) for g in groups]
            if all(e is not None and e["cases"] for e in entries):
                out.setdefault(lang, {})[group] = _pool_scope(entries)
    return out


def _pool_functional(results: list[dict[str, Any]]) -> dict[str, Any] | None:
    funcs = [r["functional"] for r in results]
    if any(f is None for f in funcs):
        return None
    return {
        "all": _pool_scope([f["all"] for f in funcs]),
        "hard_negatives": _pool_scope([f["hard_negatives"] for f in funcs]),
        "by_language": _pool_groups([f["by_language"] for f in funcs]),
        "keyboard_typed": _pool_groups([f.get("keyboard_typed") for f in funcs]),
        "by_functionality": {
            name: {**_pool_scope([f["by_functionality"][name] for f in funcs]), "hard_negative": e["hard_negative"]}
            for name, e in funcs[0]["by_functionality"].items()
        },
        "label_errors": _pool_label_errors([f.get("label_errors") for f in funcs]),
    }


def _mean(values: list[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(values) / len(values)  # type: ignore[arg-type]


def compare_pairs(pairs: list[tuple[str | Path, str | Path]]) -> dict[str, Any]:
    """Configuration A against configuration B over several pairs of runs (e.g. one pair per seed: A and B trained
    with the same seed), all on the same data. Functional cases are pooled over the pairs (summed discordant counts,
    one exact McNemar test); per-label metrics are averaged. With one pair this is `compare_evaluations`. The test
    asks whether these trained models differ on these cases; whether a difference survives other seeds is read from
    `per_pair` (same sign in every pair) and the seed spread."""
    if not pairs:
        raise ComparisonError("no pairs of evaluations to compare")
    results = [compare_evaluations(a, b) for a, b in pairs]
    if len(results) == 1:
        return results[0]
    first = results[0]
    for r in results[1:]:
        _require_same_data(r["a"]["eval_dir"], first["a"]["eval_dir"], r, first)
    labels = {
        lab: {
            m: {
                "a": _mean([r["labels"][lab][m]["a"] for r in results]),
                "b": _mean([r["labels"][lab][m]["b"] for r in results]),
                "ci_a": None,
                "ci_b": None,
                "delta": _mean([r["labels"][lab][m]["delta"] for r in results]),
            }
            for m in LABEL_METRICS
        }
        for lab in first["labels"]
        if all(lab in r["labels"] for r in results)
    }
    functional = _pool_functional(results)
    return {
        "a": {"eval_dir": ", ".join(r["a"]["eval_dir"] for r in results), "model_id": first["a"]["model_id"]},
        "b": {"eval_dir": ", ".join(r["b"]["eval_dir"] for r in results), "model_id": first["b"]["model_id"]},
        "pairs": [{"a": r["a"], "b": r["b"]} for r in results],
        "data": first["data"],
        "split": first["split"],
        "rows": first["rows"],
        "labels": labels,
        "macro_f1": {
            "a": _mean([r["macro_f1"]["a"] for r in results]),
            "b": _mean([r["macro_f1"]["b"] for r in results]),
        },
        "functional": functional,
    }


def render_comparison(result: dict[str, Any]) -> str:
    pairs = result.get("pairs")
    if pairs:
        head = [f"{len(pairs)} pairs of runs (A, B), e.g. one per seed:", ""]
        head += [f"{i}. A `{p['a']['eval_dir']}`, B `{p['b']['eval_dir']}`" for i, p in enumerate(pairs, 1)]
        head += [
            "",
            f"Data `{result['data']}`, split `{result['split']}`, {result['rows']} rows. Per-label figures are means "
            "over the pairs (no CIs).",
        ]
    else:
        head = [
            f"A: `{result['a']['model_id']}` ({result['a']['eval_dir']})",
            f"B: `{result['b']['model_id']}` ({result['b']['eval_dir']})",
            "",
            f"Data `{result['data']}`, split `{result['split']}`, {result['rows']} rows. Brackets: each model's own "
            "95% bootstrap CI.",
        ]
    lines = [
        "# Comparison",
        "",
        *head,
        "",
        "| label | F1 A | F1 B | B − A | ROC-AUC A | ROC-AUC B |",
        "|---|---|---|---|---|---|",
    ]
    for lab, m in result["labels"].items():
        d = m["f1"]["delta"]
        lines.append(
            f"| {lab} | {with_interval(m['f1']['a'], m['f1']['ci_a'])} | "
            f"{with_interval(m['f1']['b'], m['f1']['ci_b'])} | {'n/a' if d is None else f'{d:+.3f}'} | "
            f"{number(m['roc_auc']['a'])} | {number(m['roc_auc']['b'])} |"
        )
    fr = result["functional"]
    if fr:
        pooled = (
            " Cases and disagreements are summed over the pairs (accuracies: means), one test on the sums; "
            "the last column is B − A in each pair."
            if pairs
            else ""
        )
        lines += [
            "",
            "Functional suite, paired on the same cases (exact McNemar test on the cases where A and B disagree):"
            + pooled,
            "",
            "| scope | cases | accuracy A | accuracy B | fail only A | fail only B | p |"
            + (" B − A per pair |" if pairs else ""),
            "|---|---|---|---|---|---|---|" + ("---|" if pairs else ""),
        ]
        rows = [("all cases", fr["all"]), ("hard negatives", fr["hard_negatives"])]
        rows += [
            (f"{lang}, {group.replace('_', ' ')}", e)
            for lang, groups in (fr.get("by_language") or {}).items()
            for group, e in groups.items()
        ]
        rows += [
            (f"{lang} typed on a Russian keyboard, {group.replace('_', ' ')}", e)
            for lang, groups in (fr.get("keyboard_typed") or {}).items()
            for group, e in groups.items()
        ]
        rows += [
            (f"{name}{' (hard negative)' if e['hard_negative'] else ''}", e)
            for name, e in fr["by_functionality"].items()
        ]
        for name, e in rows:
            per_pair = (" " + ", ".join(f"{d:+.3f}" for d in e["per_pair"]) + " |") if "per_pair" in e else ""
            lines.append(
                f"| {name} | {e['cases']} | {number(e['accuracy_a'])} | {number(e['accuracy_b'])} | "
                f"{e['fail_only_a']} | {e['fail_only_b']} | {e['p_value']:.3g} |{per_pair}"
            )
        lines += _label_error_lines(fr.get("label_errors"), fr["by_functionality"], bool(pairs))
    return "\n".join(lines) + "\n"


def _label_error_lines(errors: dict[str, Any] | None, by_functionality: dict[str, Any], pooled: bool) -> list[str]:
    if not errors:
        return []
    lines = [
        "",
        "Which label was wrong, per functionality: on failing cases, the cases given a label they do not carry "
        "(extra) and those not given one they carry (missed)" + (", summed over the pairs" if pooled else "") + ".",
        "",
        "| functionality | label | extra A | extra B | missed A | missed B |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_label in errors.items():
        hard = " (hard negative)" if (by_functionality.get(name) or {}).get("hard_negative") else ""
        for lab, c in by_label.items():
            lines.append(
                f"| {name}{hard} | {lab} | {c['extra_a']} | {c['extra_b']} | {c['missed_a']} | {c['missed_b']} |"
            )
    return lines
