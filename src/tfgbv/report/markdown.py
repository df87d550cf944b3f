"""Number and interval formatting shared by every Markdown the package writes (report, card, README, benchmarks)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence


def number(x: Any, nd: int = 3) -> str:
    """A float with `nd` decimals, "n/a" for None, anything else as written (counts stay integers)."""
    if x is None:
        return "n/a"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def interval(ci: Sequence[float | None] | None, brackets: bool = False) -> str:
    """ " (lo–hi)" (or " [lo, hi]"), or "" when there is no interval."""
    if not ci or ci[0] is None or ci[1] is None:
        return ""
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]" if brackets else f" ({ci[0]:.3f}–{ci[1]:.3f})"


def ci_of(entry: Mapping[str, Any], metric: str, brackets: bool = False) -> str:
    """The interval stored for `metric` in an entry's "ci" mapping (see tfgbv.report.evaluation)."""
    return interval((entry.get("ci") or {}).get(metric), brackets)


def with_interval(value: Any, ci: Sequence[float | None] | None, nd: int = 3) -> str:
    """`value` and its interval: "0.812 (0.790–0.833)"."""
    return number(value, nd) + interval(ci)
