"""PNG plots of an evaluation: precision-recall curves, reliability diagrams, per-slice F1 (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_curve

from tfgbv.labels import LABELS


def _figure(ncols: int, figsize: tuple[float, float]):
    """A standalone Figure (own Agg canvas): no pyplot, so the caller's matplotlib backend and open figures are
    left alone (pyplot/`matplotlib.use` would switch an interactive session or a notebook to Agg)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def write_plots(out_dir: Path, y: np.ndarray, prob: np.ndarray, calibration: dict, slices: dict) -> list[str]:
    written = []
    fig, axes = _figure(len(LABELS), (4 * len(LABELS), 3.6))
    for j, lab in enumerate(LABELS):
        ax = axes[j]
        mask = y[:, j] >= 0
        yt = (y[mask, j] >= 0.5).astype(int)
        if mask.sum() and 0 < yt.sum() < len(yt):
            p, r, _ = precision_recall_curve(yt, prob[mask, j])
            ax.plot(r, p)
        else:
            ax.text(0.5, 0.5, "n/a", ha="center")
        ax.set_title(f"PR: {lab}")
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    fig.tight_layout()
    fig.savefig(out_dir / "pr_curves.png", dpi=90)
    written.append("pr_curves.png")

    fig, axes = _figure(len(LABELS), (4 * len(LABELS), 3.6))
    for j, lab in enumerate(LABELS):
        ax = axes[j]
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        cal = calibration.get(lab, {})
        for key, style in (("bins_before", "o-"), ("bins_after", "s-")):
            bins = [b for b in cal.get(key, []) if b.get("count")]
            if bins:
                ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], style, label=key.split("_")[1])
        ax.set_title(f"reliability: {lab}")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed positive rate")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "reliability.png", dpi=90)
    written.append("reliability.png")

    for field_name in ("lang", "target", "obfuscated"):
        table = slices.get(field_name, {})
        names = [k for k in table if isinstance(table[k], dict)]
        if not names:
            continue
        fig, (ax,) = _figure(1, (max(5, 0.7 * len(names) + 2), 3.6))
        vals = [table[k]["macro_f1"] or 0.0 for k in names]
        colors = ["#bbbbbb" if table[k]["too_small"] else "#3b6ea5" for k in names]
        ax.bar(range(len(names)), vals, color=colors)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("macro F1")
        ax.set_title(f"macro F1 by {field_name} (grey: too small to judge)")
        fig.tight_layout()
        fig.savefig(out_dir / f"slices_{field_name}.png", dpi=90)
        written.append(f"slices_{field_name}.png")
    return written
