"""Does active selection pay? The annotation loop replayed on labelled data with the labels hidden.

A dataset's train split is the unlabelled pool; only an `Oracle` (the simulated annotators) holds its labels and
answers for the rows a strategy picks. Each round refits the model on the rows revealed so far, tunes its threshold on
the dev split, scores the test split, and selects the next batch from the rows still unlabelled
(`tfgbv.annotate.strategies.select`, against the tuned threshold). Every curve of one seed starts from the same random
seed set, so strategies differ only in what they choose afterwards.

The model is the tfidf_lr baseline (char n-gram TF-IDF + one logistic regression, `tfgbv.models.baseline`): a refit
takes about a second on a CPU, so strategies x seeds x rounds fit in minutes; the transformer would take minutes per
refit. The vectorizer, and the embeddings the diversity strategies need (TruncatedSVD of the TF-IDF matrix), are fitted
once on the whole pool's text (no labels), as a real loop could do from the start; only the regression is refitted.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from sklearn.decomposition import TruncatedSVD  # only the simulation imports this module

from tfgbv.annotate.strategies import STRATEGIES, random_order, select
from tfgbv.data.sources import MISSING, LoadedData
from tfgbv.labels import LABELS
from tfgbv.metrics.decision import Decisions, apply_temperature, fit_decisions
from tfgbv.metrics.masked import classification_report
from tfgbv.models.baseline import BaselineSpec, baseline_prep, fit_label_models, make_vectorizer

log = logging.getLogger(__name__)

# What a curve records per round (columns of equal length; "labels" = rows annotated when the model was fitted).
CURVE_KEYS = ("labels", "positives", "f1", "precision", "recall", "roc_auc", "pr_auc", "threshold")


@dataclass
class SimSpec:
    """One simulated annotation campaign: `seed_size` random labels, then batches of `batch` up to `budget` labels."""

    seed_size: int = 100
    batch: int = 100
    budget: int = 3000
    svd_dim: int = 100  # embeddings for the diversity strategies
    pool_factor: int = 5  # uncertainty_diversity: k-center among the pool_factor * batch most uncertain rows
    stratify: bool = False  # select()'s language x predicted-label strata; off: one language, and random stays uniform
    target_fraction: float = 0.6  # issue 15: active reaches random's final F1 with <= 60% of random's labels

    def check(self, pool_rows: int) -> None:
        if self.seed_size < 1 or self.batch < 1:
            raise ValueError(f"seed_size and batch must be >= 1, got {self.seed_size}, {self.batch}")
        if not self.seed_size <= self.budget <= pool_rows:
            raise ValueError(
                f"budget {self.budget} must be between seed_size {self.seed_size} and the pool ({pool_rows})"
            )


@dataclass
class Task:
    """One dataset prepared once: pool features without labels, dev and test features with theirs ([N, 1])."""

    name: str
    label: str
    X_pool: Any  # sparse [pool, features]
    embeddings: np.ndarray  # [pool, svd_dim]
    langs: list[str]
    X_dev: Any
    y_dev: np.ndarray
    X_test: Any
    y_test: np.ndarray
    info: dict = field(default_factory=dict)  # row and positive counts per split

    @property
    def pool_rows(self) -> int:
        return self.X_pool.shape[0]


class Oracle:
    """The simulated annotators: the only holder of the pool's labels. Answers for the rows asked, once each."""

    def __init__(self, labels: Sequence[float]) -> None:
        self._labels = np.asarray(labels, dtype=np.float64)
        self.asked: list[int] = []
        self._seen: set[int] = set()

    def reveal(self, rows: Sequence[int]) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        again = self._seen.intersection(rows.tolist())
        if again or len(set(rows.tolist())) != len(rows):
            raise ValueError(f"rows asked twice: {sorted(again)[:5] or 'within one batch'}")
        self.asked.extend(rows.tolist())
        self._seen.update(rows.tolist())
        return self._labels[rows]

    def fresh(self) -> "Oracle":
        """The same labels, nothing asked yet (one annotator per simulated campaign)."""
        return Oracle(self._labels)

    def __len__(self) -> int:
        return len(self._labels)


# ----------------------------------------------------------------------------- preparing a dataset


def label_of(data: LoadedData) -> str:
    """The one label a single-label dataset annotates in its train split (error if none or several)."""
    y = data.label_matrix("train")
    annotated = [lab for j, lab in enumerate(LABELS) if (y[:, j] >= 0).any()]
    if len(annotated) != 1:
        raise ValueError(f"expected one annotated label, found {annotated}; name it as <dataset>:<label>")
    return annotated[0]


def make_task(
    name: str, data: LoadedData, spec: BaselineSpec, sim: SimSpec, label: str | None = None
) -> tuple[Task, Oracle]:
    """Features for pool (train split), dev and test: the vectorizer and SVD are fitted on the pool's text only.
    Pool rows without the label are left out (nothing to reveal)."""
    label = label or label_of(data)
    prep = baseline_prep(spec)
    splits = {}
    for split in ("train", "dev", "test"):
        recs = [r for r in data.splits.get(split, []) if r[label] >= 0]
        y = np.array([1.0 if r[label] >= 0.5 else 0.0 for r in recs])
        splits[split] = ([prep(r["text"]) for r in recs], y, recs)
    if not splits["dev"][0] or not splits["test"][0]:
        raise ValueError(f"{name}: the simulation needs dev and test rows annotating {label!r}")
    vec = make_vectorizer(spec)
    X_pool = vec.fit_transform(splits["train"][0])
    svd = TruncatedSVD(n_components=min(sim.svd_dim, X_pool.shape[1] - 1, X_pool.shape[0] - 1), random_state=0)
    emb = svd.fit_transform(X_pool).astype(np.float32)
    info = {
        split: {"rows": len(y), "positives": int((y >= 0.5).sum()), "positive_rate": float((y >= 0.5).mean())}
        for split, (_, y, _) in splits.items()
    }
    info["features"] = int(X_pool.shape[1])
    task = Task(
        name=name,
        label=label,
        X_pool=X_pool,
        embeddings=emb,
        langs=[r.get("lang") or "unknown" for r in splits["train"][2]],
        X_dev=vec.transform(splits["dev"][0]),
        y_dev=splits["dev"][1][:, None].astype(np.float64),
        X_test=vec.transform(splits["test"][0]),
        y_test=splits["test"][1][:, None].astype(np.float64),
        info=info,
    )
    return task, Oracle(splits["train"][1])


# ----------------------------------------------------------------------------- one round, one curve


@dataclass
class RoundModel:
    """The model of one round: regression weights and the dev-fitted temperature and threshold."""

    coef: np.ndarray
    intercept: np.ndarray
    decisions: Decisions

    def prob(self, X) -> np.ndarray:
        logits = np.asarray(X @ self.coef.T, dtype=np.float64) + self.intercept[None, :]
        return apply_temperature(logits, self.decisions.temperatures)


def fit_round(task: Task, y_known: np.ndarray, spec: BaselineSpec, seed: int) -> RoundModel:
    """Refit on the revealed rows (y_known >= 0; MISSING rows are never seen), then temperature and threshold on dev."""
    coef, intercept = fit_label_models(task.X_pool, y_known[:, None], spec, seed, labels=[task.label])
    dev_logits = np.asarray(task.X_dev @ coef.T, dtype=np.float64) + intercept[None, :]
    decisions, _ = fit_decisions(dev_logits, task.y_dev, 1, calibrate=spec.calibrate)
    return RoundModel(coef, intercept, decisions)


def scores_on_test(model: RoundModel, task: Task) -> dict[str, float | None]:
    """The label's test-split metrics at the dev-tuned threshold."""
    rep = classification_report(task.y_test, model.prob(task.X_test), model.decisions.thresholds, [task.label])
    per = rep["labels"][task.label]
    return {k: per[k] for k in ("f1", "precision", "recall", "roc_auc", "pr_auc")}


def round_seed(seed: int, round_index: int) -> int:
    """A selection seed per (curve seed, round): a fresh shuffle for `random` each round, reproducible."""
    return int(np.random.SeedSequence([seed, round_index]).generate_state(1)[0])


def seed_set(pool_rows: int, size: int, seed: int) -> np.ndarray:
    """The first rows annotated: a random sample depending on the seed only (the same for every strategy)."""
    return random_order(pool_rows, seed)[:size]


def run_round(
    task: Task,
    y_known: np.ndarray,
    strategy: str,
    n_select: int,
    spec: BaselineSpec,
    sim: SimSpec,
    seed: int,
    round_index: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit on what is known, score test, and pick up to `n_select` unlabelled rows (pool indices) to reveal next."""
    model = fit_round(task, y_known, spec, seed)
    known = y_known >= 0
    point = {
        "labels": int(known.sum()),
        "positives": int((y_known[known] >= 0.5).sum()),
        "threshold": float(model.decisions.thresholds[0]),
        **scores_on_test(model, task),
    }
    unlabelled = np.flatnonzero(~known)
    if n_select <= 0 or not len(unlabelled):
        return point, np.zeros(0, dtype=np.int64)
    sel = select(
        model.prob(task.X_pool[unlabelled]),
        model.decisions.thresholds,
        [task.label],
        [task.langs[i] for i in unlabelled],
        n_select,
        strategy,
        embeddings=task.embeddings[unlabelled],
        seed=round_seed(seed, round_index),
        pool_factor=sim.pool_factor,
        stratify=sim.stratify,
    )
    return point, unlabelled[np.asarray(sel.indices, dtype=np.int64)]


def simulate_curve(
    task: Task, oracle: Oracle, strategy: str, seed: int, sim: SimSpec, spec: BaselineSpec
) -> dict[str, Any]:
    """One learning curve: the seed set, then rounds of select -> reveal -> refit until `sim.budget` labels.

    Returns the per-round columns (CURVE_KEYS), the rows in the order they were annotated, and the wall time."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    sim.check(task.pool_rows)
    t0 = time.perf_counter()
    y_known = np.full(task.pool_rows, float(MISSING))
    order = seed_set(task.pool_rows, sim.seed_size, seed)
    y_known[order] = oracle.reveal(order)
    order = order.tolist()
    curve: dict[str, list] = {k: [] for k in CURVE_KEYS}
    round_index = 0
    while True:
        n_select = min(sim.batch, sim.budget - len(order))
        point, chosen = run_round(task, y_known, strategy, n_select, spec, sim, seed, round_index)
        for k in CURVE_KEYS:
            curve[k].append(point[k])
        if n_select <= 0 or not len(chosen):
            break
        y_known[chosen] = oracle.reveal(chosen)
        order.extend(chosen.tolist())
        round_index += 1
    return {**curve, "order": order, "seconds": round(time.perf_counter() - t0, 2)}


def full_pool_reference(task: Task, oracle: Oracle, spec: BaselineSpec, seed: int = 42) -> dict[str, Any]:
    """The same model fitted on every pool label: the ceiling a budget is heading for."""
    model = fit_round(task, oracle.fresh().reveal(np.arange(task.pool_rows)), spec, seed)
    return {"labels": task.pool_rows, "threshold": float(model.decisions.thresholds[0]), **scores_on_test(model, task)}


# ----------------------------------------------------------------------------- reading the curves


def labels_to_reach(labels: Sequence[float], f1: Sequence[float | None], target: float) -> float | None:
    """Labels at which a learning curve first reaches `target`, linearly interpolated between its two rounds around
    the crossing; the first point if it already does; None if it never does."""
    prev = None
    for n, f in zip(labels, f1):
        if f is not None and f >= target:
            if prev is None:
                return float(n)
            n0, f0 = prev
            return float(n0 + (target - f0) / (f - f0) * (n - n0))
        prev = (n, f if f is not None else 0.0)
    return None


def _mean_sd(values: Sequence[float]) -> tuple[float | None, float | None]:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None, None
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None)


def _beats(gain: float | None, sd: float | None, n_seeds: int) -> bool | None:
    """gain > 2 SD over seeds (False when there is no gain to speak of; None when one seed gives no SD)."""
    if gain is None:
        return False
    if n_seeds < 2 or sd is None:
        return None
    return gain > 2 * sd


def mean_curve(curves: Mapping[str, Mapping[str, Any]], key: str = "f1") -> dict[str, list]:
    """Per round, the mean and SD over seeds of `key` (curves must share their label counts)."""
    grids = {tuple(c["labels"]) for c in curves.values()}
    if len(grids) != 1:
        raise ValueError(f"curves have different label grids: {sorted(len(g) for g in grids)} rounds")
    grid = list(next(iter(grids)))
    columns = list(zip(*(c[key] for c in curves.values())))
    stats = [_mean_sd(col) for col in columns]
    return {"labels": grid, "mean": [m for m, _ in stats], "sd": [s for _, s in stats]}


def summarize(curves: Mapping[str, Mapping[str, Mapping[str, Any]]], sim: SimSpec) -> dict[str, Any]:
    """The headline per active strategy against `random` (curves: strategy -> seed -> curve).

    reach: labels the active curve needs to reach random's final F1, of the same seed (paired: the same seed set) and
    of the mean curves; met: the mean over seeds is <= target_fraction of the budget (and every seed got there);
    gap_final: active - random F1 at the budget per seed. The gap beats the seed noise on both counts (beats_noise):
    in labels (beats_noise_labels: every seed reached the target and the labels saved, budget - mean reach, exceed
    twice the SD of the reach over seeds) and in F1 (beats_noise_f1: the mean paired F1 gap at the budget exceeds twice
    its SD over seeds). None where one seed leaves no SD."""
    out: dict[str, Any] = {"mean_curves": {s: mean_curve(c) for s, c in curves.items()}}
    if "random" not in curves:
        return out
    rnd = curves["random"]
    rnd_final = {seed: c["f1"][-1] for seed, c in rnd.items()}
    out["random_final_f1"] = dict(zip(("mean", "sd"), _mean_sd(list(rnd_final.values()))))
    budget = out["mean_curves"]["random"]["labels"][-1]
    out["budget"] = budget
    out["target_labels"] = sim.target_fraction * budget
    out["strategies"] = {}
    for strategy, by_seed in curves.items():
        if strategy == "random":
            continue
        seeds = [s for s in by_seed if s in rnd]
        if not seeds:
            continue
        reach = {s: labels_to_reach(by_seed[s]["labels"], by_seed[s]["f1"], rnd_final[s]) for s in seeds}
        reached = [r for r in reach.values() if r is not None]
        mean, sd = _mean_sd(reached) if len(reached) == len(seeds) else (None, None)
        mc = out["mean_curves"][strategy]
        gaps = [by_seed[s]["f1"][-1] - rnd_final[s] for s in seeds]
        gap_mean, gap_sd = _mean_sd(gaps)
        out["strategies"][strategy] = {
            "reach_per_seed": {str(s): r for s, r in reach.items()},
            "reach_mean": mean,
            "reach_sd": sd,
            "seeds_reached": len(reached),
            "seeds": len(seeds),
            "reach_of_mean_curve": labels_to_reach(mc["labels"], mc["mean"], out["random_final_f1"]["mean"]),
            "fraction_of_budget": mean / budget if mean is not None else None,
            "met": mean is not None and mean <= sim.target_fraction * budget,
            "seeds_meeting_target": sum(r is not None and r <= sim.target_fraction * budget for r in reach.values()),
            "gap_final_per_seed": {str(s): g for s, g in zip(seeds, gaps)},
            "gap_final_mean": gap_mean,
            "gap_final_sd": gap_sd,
            "beats_noise_labels": _beats(budget - mean if mean is not None else None, sd, len(seeds)),
            "beats_noise_f1": _beats(gap_mean, gap_sd, len(seeds)),
            "positive_rate_labelled": statistics.fmean(
                by_seed[s]["positives"][-1] / by_seed[s]["labels"][-1] for s in seeds
            ),
        }
    for st in out["strategies"].values():
        both = (st["beats_noise_labels"], st["beats_noise_f1"])
        st["beats_noise"] = None if None in both and False not in both else all(both)
    out["random_positive_rate_labelled"] = statistics.fmean(c["positives"][-1] / c["labels"][-1] for c in rnd.values())
    return out


# ----------------------------------------------------------------------------- the campaign, resumable


def config_of(sim: SimSpec, spec: BaselineSpec) -> dict[str, Any]:
    """What must match for a checkpoint's curves to be reused."""
    return {"simulation": asdict(sim), "model": {"kind": "tfidf_lr", **asdict(spec)}}


def run_campaign(
    tasks: Sequence[tuple[Task, Oracle]],
    strategies: Sequence[str],
    seeds: Sequence[int],
    sim: SimSpec,
    spec: BaselineSpec,
    result: dict[str, Any] | None = None,
    save: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every (dataset, strategy, seed) curve, skipping those already in `result` (a checkpoint with the same
    config_of); `save(result)` after each new curve. The annotation orders are not kept (a curve's columns are)."""
    config = config_of(sim, spec)
    result = result or {}
    for key, want in (("config", config), ("strategies", list(strategies)), ("seeds", [int(x) for x in seeds])):
        if result.get(key, want) != want:
            raise ValueError(f"the checkpoint was made with other {key} ({result[key]}); start a fresh one")
        result[key] = want
    datasets = result.setdefault("datasets", {})
    for task, oracle in tasks:
        entry = datasets.setdefault(task.name, {})
        entry.update({"label": task.label, "splits": task.info})
        if "full_pool" not in entry:
            entry["full_pool"] = full_pool_reference(task, oracle, spec)
        curves = entry.setdefault("curves", {})
        for strategy in strategies:
            for seed in seeds:
                if str(seed) in curves.get(strategy, {}):
                    continue
                curve = simulate_curve(task, oracle.fresh(), strategy, seed, sim, spec)
                curve.pop("order")
                curves.setdefault(strategy, {})[str(seed)] = curve
                log.info(
                    "%s %s seed %d: F1 %.3f at %d labels (%.0f s)",
                    task.name,
                    strategy,
                    seed,
                    curve["f1"][-1],
                    curve["labels"][-1],
                    curve["seconds"],
                )
                entry["summary"] = summarize(curves, sim)
                if save is not None:
                    save(result)
        entry["summary"] = summarize(curves, sim)
    return result
