"""Which comments are worth a human's time: selection strategies over model scores and embeddings (numpy only).

Every strategy returns row indices in the order they should be annotated, deterministically for a seed:
- `uncertainty`: closest to a decision threshold first (the smallest margin |p_j - t_j| over the labels);
- `diversity`: k-center greedy (farthest-first) on L2-normalised embeddings, so a viral comment and its copies fill
  one slot, not the batch;
- `uncertainty_diversity` (default): the `pool_factor * n` most uncertain rows, then k-center within them;
- `random`: a seeded shuffle (the baseline an active strategy must beat).
`select` applies a strategy within each stratum (language x predicted label) and takes strata in turn, so a batch is
not all Russian insults when Tajik threats are rarer and more uncertain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

STRATEGIES = ("uncertainty", "diversity", "uncertainty_diversity", "random")


def margins(prob: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """[N] smallest distance of any label's probability to that label's threshold (0 = on the fence)."""
    prob = np.asarray(prob, dtype=np.float64)
    return np.abs(prob - np.asarray(thresholds, dtype=np.float64)[None, :]).min(axis=1)


def uncertainty_order(prob: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Row indices, most uncertain first (ties in row order)."""
    return np.argsort(margins(prob, thresholds), kind="stable")


def random_order(n_rows: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_rows)


def k_center_order(embeddings: np.ndarray, k: int, first: int = 0) -> np.ndarray:
    """Greedy k-center (farthest-first traversal) on cosine distance: `first`, then repeatedly the row farthest from
    everything chosen so far. Returns up to `k` row indices; exact duplicates are never chosen twice while a row at a
    positive distance remains."""
    x = np.asarray(embeddings, dtype=np.float64)
    n = len(x)
    if n == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    chosen = [int(first)]
    dist = 1.0 - x @ x[first]
    dist[first] = -np.inf
    for _ in range(min(k, n) - 1):
        nxt = int(np.argmax(dist))  # the first of equally far rows: deterministic
        if not np.isfinite(dist[nxt]):
            break
        chosen.append(nxt)
        dist = np.minimum(dist, 1.0 - x @ x[nxt])
        dist[chosen] = -np.inf
    return np.asarray(chosen, dtype=np.int64)


def strategy_order(
    strategy: str,
    k: int,
    prob: np.ndarray,
    thresholds: Sequence[float],
    embeddings: np.ndarray | None,
    seed: int,
    pool_factor: int = 5,
) -> np.ndarray:
    """Up to `k` row indices of one group of rows, in annotation order, for `strategy`."""
    n = len(prob)
    if strategy == "random":
        return random_order(n, seed)[:k]
    if strategy == "uncertainty":
        return uncertainty_order(prob, thresholds)[:k]
    if embeddings is None:
        raise ValueError(f"strategy {strategy!r} needs embeddings")
    if strategy == "diversity":
        return k_center_order(embeddings, k, first=int(random_order(n, seed)[0]) if n else 0)
    if strategy == "uncertainty_diversity":
        pool = uncertainty_order(prob, thresholds)[: max(k, pool_factor * k)]
        return pool[k_center_order(embeddings[pool], k, first=0)]  # the most uncertain row seeds the traversal
    raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")


def stratum_keys(
    langs: Sequence[str], prob: np.ndarray, thresholds: Sequence[float], labels: Sequence[str]
) -> list[str]:
    """ "<lang>/<predicted label>" per row: the label with the highest score above its threshold, or "none"."""
    prob = np.asarray(prob, dtype=np.float64)
    over = prob - np.asarray(thresholds, dtype=np.float64)[None, :]
    keys = []
    for lang, row in zip(langs, over):
        j = int(np.argmax(row))
        keys.append(f"{lang or 'unknown'}/{labels[j] if row[j] >= 0 else 'none'}")
    return keys


@dataclass
class Selection:
    """Chosen rows in annotation order, with the stratum and within-stratum rank of each (for the audit trail)."""

    indices: list[int]
    strata: list[str]
    ranks: list[int]


def select(
    prob: np.ndarray,
    thresholds: Sequence[float],
    labels: Sequence[str],
    langs: Sequence[str],
    n: int,
    strategy: str = "uncertainty_diversity",
    embeddings: np.ndarray | None = None,
    seed: int = 0,
    pool_factor: int = 5,
    stratify: bool = True,
) -> Selection:
    """Pick `n` rows: `strategy` within each stratum, strata taken in turn (sorted by name), until `n` or no rows left.

    With `stratify=False` the whole pool is one stratum."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}")
    prob = np.asarray(prob, dtype=np.float64)
    keys = stratum_keys(langs, prob, thresholds, labels) if stratify else ["all"] * len(prob)
    groups: dict[str, np.ndarray] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)  # type: ignore[attr-defined]
    orders = {}
    for g, (key, rows) in enumerate(sorted(groups.items())):
        rows = np.asarray(rows, dtype=np.int64)
        emb = embeddings[rows] if embeddings is not None else None
        local = strategy_order(strategy, min(n, len(rows)), prob[rows], thresholds, emb, seed + g, pool_factor)
        orders[key] = rows[local].tolist()
    out = Selection([], [], [])
    rank = 0
    while len(out.indices) < n and any(rank < len(o) for o in orders.values()):
        for key in sorted(orders):
            if rank < len(orders[key]) and len(out.indices) < n:
                out.indices.append(orders[key][rank])
                out.strata.append(key)
                out.ranks.append(rank)
        rank += 1
    return out
