"""Exact and near-duplicate detection (character n-gram Jaccard similarity) within and across splits."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

_SPACE = re.compile(r"\s+")


def canonical(text: str) -> str:
    """Lower-cased, whitespace-collapsed form used for exact-duplicate detection."""
    return _SPACE.sub(" ", text.lower()).strip()


def near_duplicate_pairs(texts: Sequence[str], threshold: float = 0.8, ngram: int = 4) -> list[tuple[int, int, float]]:
    """Pairs (i, j, similarity), i < j, whose character n-gram sets have Jaccard similarity >= threshold.

    Sparse binary n-gram vectors make the all-pairs intersection one matrix product (fast for tens of thousands).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    if len(texts) < 2:
        return []
    docs = [canonical(t) for t in texts]
    vec = CountVectorizer(analyzer="char", ngram_range=(ngram, ngram), binary=True, lowercase=False, dtype=np.int32)
    try:
        X = vec.fit_transform(docs).tocsr()
    except ValueError:  # every text shorter than the n-gram
        return []
    sizes = np.asarray(X.sum(axis=1)).ravel()
    inter = (X @ X.T).tocoo()
    out = []
    for i, j, n in zip(inter.row, inter.col, inter.data):
        if i >= j:
            continue
        union = sizes[i] + sizes[j] - n
        sim = n / union if union else 1.0
        if sim >= threshold:
            out.append((int(i), int(j), float(sim)))
    return sorted(out)


def duplicate_groups(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[int]:
    """Union-find over near-duplicate pairs: a group id per item, so a split can keep each group together."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j, _ in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(n)]


def duplicate_report(splits: Mapping[str, Sequence[Mapping[str, Any]]], threshold: float = 0.8, ngram: int = 4) -> dict[str, Any]:
    """Exact and near duplicates within each split and across splits (cross-split ones are leaks)."""
    items = [(split, rec) for split, recs in splits.items() for rec in recs]
    texts = [rec["text"] for _, rec in items]
    exact: dict[str, list[int]] = defaultdict(list)
    for k, t in enumerate(texts):
        exact[canonical(t)].append(k)
    exact_pairs = [(g[0], k) for g in exact.values() if len(g) > 1 for k in g[1:]]
    near = near_duplicate_pairs(texts, threshold, ngram)

    def describe(i: int, j: int, sim: float | None = None) -> dict[str, Any]:
        (si, ri), (sj, rj) = items[i], items[j]
        d = {"a": {"split": si, "id": ri["id"]}, "b": {"split": sj, "id": rj["id"]}}
        if sim is not None:
            d["similarity"] = round(sim, 3)
        return d

    exact_desc = [describe(i, j) for i, j in exact_pairs]
    near_desc = [describe(i, j, s) for i, j, s in near]
    return {
        "threshold": threshold, "ngram": ngram, "items": len(texts),
        "exact_within": [d for d in exact_desc if d["a"]["split"] == d["b"]["split"]],
        "exact_across": [d for d in exact_desc if d["a"]["split"] != d["b"]["split"]],
        "near_within": [d for d in near_desc if d["a"]["split"] == d["b"]["split"]],
        "near_across": [d for d in near_desc if d["a"]["split"] != d["b"]["split"]],
    }
