"""Exact and near-duplicate detection (character n-gram Jaccard similarity) within and across splits."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

_SPACE = re.compile(r"\s+")


def canonical(text: str) -> str:
    """Lower-cased, whitespace-collapsed form used for exact-duplicate detection."""
    return _SPACE.sub(" ", text.lower()).strip()


def near_duplicate_pairs(texts: Sequence[str], threshold: float = 0.8, ngram: int = 4) -> list[tuple[int, int, float]]:
    """Pairs (i, j, similarity), i < j, whose character n-gram sets have Jaccard similarity >= threshold.

    Sparse binary n-gram vectors make the all-pairs intersection one matrix product (fast for tens of thousands).
    """
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


def duplicate_report(
    splits: Mapping[str, Sequence[Mapping[str, Any]]], threshold: float = 0.8, ngram: int = 4
) -> dict[str, Any]:
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
        "threshold": threshold,
        "ngram": ngram,
        "items": len(texts),
        "exact_within": [d for d in exact_desc if d["a"]["split"] == d["b"]["split"]],
        "exact_across": [d for d in exact_desc if d["a"]["split"] != d["b"]["split"]],
        "near_within": [d for d in near_desc if d["a"]["split"] == d["b"]["split"]],
        "near_across": [d for d in near_desc if d["a"]["split"] != d["b"]["split"]],
    }


_NON_WORD = re.compile(r"[\W_]+")


def match_key(text: str) -> str:
    """Exact-duplicate key across sources: case, punctuation, digits' separators and spacing ignored.

    Public sets re-publish each other's comments with such differences (RuParaDetox took its toxic side from 2ch and
    Odnoklassniki; the Odnoklassniki dump is lower-cased), so `canonical` alone would miss them.
    """
    return _NON_WORD.sub(" ", text.lower()).strip()


def minhash_near_pairs(
    texts: Sequence[str],
    threshold: float = 0.8,
    ngram: int = 5,
    bands: int = 16,
    rows: int = 5,
    seed: int = 0,
    max_bucket: int = 50,
) -> list[tuple[int, int, float]]:
    """Near-duplicate pairs (i < j, Jaccard of character n-gram sets >= threshold) for large collections.

    Texts equal under `match_key` are pairs at similarity 1.0. For the rest, MinHash with locality-sensitive banding
    proposes candidates (P(found | Jaccard 0.8) > 0.99 with 16 bands of 5, P(proposed | Jaccard 0.3) < 0.04) and each
    candidate's exact Jaccard is computed, so no pair below the threshold is returned. Time and memory grow linearly
    with the number of texts, unlike the all-pairs `near_duplicate_pairs`. A bucket of more than `max_bucket` distinct
    texts (a very common short phrase) is skipped.
    """
    if len(texts) < 2:
        return []
    keys = [match_key(t) for t in texts]
    first: dict[str, int] = {}
    out: set[tuple[int, int, float]] = set()
    for k, key in enumerate(keys):
        if key in first:
            out.add((first[key], k, 1.0))
        else:
            first[key] = k
    reps = np.array(sorted(first.values()), dtype=np.int64)
    vec = HashingVectorizer(
        analyzer="char",
        ngram_range=(ngram, ngram),
        n_features=1 << 26,
        binary=True,
        alternate_sign=False,
        norm=None,
        lowercase=False,
    )
    X = vec.transform([keys[k] for k in reps]).tocsr()
    X.sort_indices()
    sizes = np.diff(X.indptr)
    live = np.flatnonzero(sizes > 0)  # texts shorter than the n-gram are left to the exact key
    found: list[np.ndarray] = []
    if len(live) > 1:
        rng = np.random.default_rng(seed)
        cols = X.indices.astype(np.uint64) + np.uint64(1)
        starts = X.indptr[live]
        for _ in range(bands):
            band_key = np.zeros(len(live), dtype=np.uint64)
            for a, b in rng.integers(1, 1 << 62, size=(rows, 2), dtype=np.int64).astype(np.uint64):
                # multiply-shift hashing (wrapping uint64 arithmetic): a random hash of each n-gram id
                minima = np.minimum.reduceat((cols * (a | np.uint64(1)) + b) >> np.uint64(20), starts)
                band_key = band_key * np.uint64(0x9E3779B97F4A7C15) + minima
            order = np.argsort(band_key, kind="stable")
            sorted_keys = band_key[order]
            bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
            sizes_b = np.diff(bounds)
            for lo, n in zip(
                bounds[:-1][(sizes_b > 1) & (sizes_b <= max_bucket)], sizes_b[(sizes_b > 1) & (sizes_b <= max_bucket)]
            ):
                members = live[order[lo : lo + n]]
                ii, jj = np.triu_indices(n, 1)
                found.append(np.stack([members[ii], members[jj]], axis=1))
    if found:
        pairs = np.unique(np.sort(np.concatenate(found), axis=1), axis=0)
        i, j = pairs[:, 0], pairs[:, 1]
        inter = np.asarray(X[i].multiply(X[j]).sum(axis=1)).ravel()
        sim = inter / (sizes[i] + sizes[j] - inter)
        keep = sim >= threshold
        out.update((int(reps[a]), int(reps[b]), float(c)) for a, b, c in zip(i[keep], j[keep], sim[keep]))
    # every member of an exact-key family pairs with the near-duplicates of its representative
    family: dict[int, list[int]] = defaultdict(list)
    for k, key in enumerate(keys):
        if first[key] != k:
            family[first[key]].append(k)
    for a, b, c in list(out):
        if c < 1.0 or keys[a] != keys[b]:
            for x in [a, *family.get(a, [])]:
                for y in [b, *family.get(b, [])]:
                    if x != y:
                        out.add((min(x, y), max(x, y), c))
    return sorted(out)
