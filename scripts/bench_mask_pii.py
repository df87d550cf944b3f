"""How long does `tfgbv.text.mask_pii` take on adversarial inputs? Times each input family at growing lengths and
writes the timings as JSON: linear masking takes about twice as long for twice the text (`growth` near the length
ratio), a quadratic pattern about four times. Timings are a benchmark, never a test assertion.

    python scripts/bench_mask_pii.py [--out docs/mask_pii_bench.json] [--sizes 10000 20000 40000 80000]
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def _families() -> dict[str, Callable[[int], str]]:
    """Input families that made (or could make) a backtracking pattern retry a long run from every position."""
    rng = random.Random(0)
    pool = "a.-@1 [|]/:уклдАУ№,\n\u2009\u2013"
    return {
        "a.": lambda n: "a." * (n // 2),  # issue 27.12: hosts without a top-level domain
        "1a.": lambda n: "1a." * (n // 3),
        "a-.": lambda n: "a-" * (n // 2) + ".",
        "x@a.": lambda n: "x@" + "a." * (n // 2),
        "a@.": lambda n: "a@." * (n // 3),
        "@a....": lambda n: "@a" + "." * n,
        "[id1|": lambda n: "[id1|" * (n // 5),
        "id1111": lambda n: "id" + "1" * n + "a",
        "ул. ": lambda n: "ул. " * (n // 4),
        "ул. А ": lambda n: "ул. А " * (n // 6),
        "кв. 3 ,": lambda n: "кв. 3 ," * (n // 7),
        "ул.   x": lambda n: "ул." + " " * n + "x",
        "1 ": lambda n: "1 " * (n // 2),
        "9 3 .": lambda n: "9 3 ." * (n // 5),
        "+992 ": lambda n: "+992 " * (n // 5),
        "http://a...": lambda n: "http://" + "a" * (n // 2) + "." * (n // 2),
        "random PII characters": lambda n: "".join(rng.choice(pool) for _ in range(n)),
    }


def _best_time(fn, text: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "mask_pii_bench.json")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 40_000, 80_000])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from tfgbv.env import cpu_model
    from tfgbv.io import write_json
    from tfgbv.text import mask_pii

    results = {}
    for name, make in _families().items():
        secs = [_best_time(mask_pii, make(n), args.repeats) for n in args.sizes]
        results[name] = {
            "seconds": dict(zip(map(str, args.sizes), secs)),
            "us_per_char_at_largest": secs[-1] / args.sizes[-1] * 1e6,
            # time at the largest size / time at the smallest: about the size ratio if linear, its square if quadratic
            "growth": secs[-1] / max(secs[0], 1e-9),
        }
        print(f"{name:24s} " + " ".join(f"{s * 1e3:8.1f}ms" for s in secs) + f"  growth {results[name]['growth']:.1f}")
    size_ratio = args.sizes[-1] / args.sizes[0]
    write_json(
        args.out,
        {
            "what": "seconds for one tfgbv.text.mask_pii call per input family and length (characters), best of "
            f"{args.repeats}",
            "size_ratio": size_ratio,
            "worst_growth": max(r["growth"] for r in results.values()),
            "cpu": cpu_model(),
            "python": platform.python_version(),
            "families": results,
        },
    )
    print(f"wrote {args.out} (size ratio {size_ratio:.0f}; linear growth is about that, quadratic its square)")


if __name__ == "__main__":
    main()
