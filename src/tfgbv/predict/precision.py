"""fp32, bf16 or int8 on this machine: measured once at first use, cached, overridable (`bf16=`, `int8=true|false`).

The fastest precision differs by CPU: with AMX or AVX-512 BF16 units, bf16 weights run several times faster than fp32;
on CPUs that only emulate bf16 it is slower. So `bf16=auto` in batch scoring times both on the bundled corpus (a few
seconds), keeps bf16 only if it is faster and its labels agree with fp32 on at least `min_agreement` of the cells,
and stores the decision in `<cache>/backend_choice.json` under a key of CPU model, ISA flags, threads and torch version
(tfgbv.env.machine_key), so later runs on the same machine reuse it. Each precision is timed as the best of
TIMING_REPEATS passes over the texts (a pass slowed by other work on the machine does not decide), and the log says
how long the measurement took. Below BF16_MEASURE_MIN_ROWS input rows the measurement cannot pay for itself: without
a cached choice such a run scores in fp32 and measures nothing. `remeasure=true` (tfgbv-predict) or `make bench` /
`tfgbv-bench` (more thorough) replace the cached entry; a cache file that cannot be read as choices is ignored with a
warning and rewritten.

int8 (tfgbv.models.int8) only runs compiled, so `int8=auto` compares it with compiled bf16, when scoring is compiled
(large inputs): calibrated on bundled texts, timed and checked against fp32 on others, kept only if faster and in
agreement; its entry is keyed by machine and model (the agreement depends on the model).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from tfgbv.env import cpu_flags, cpu_model, machine_key
from tfgbv.io import write_json
from tfgbv.locations import cache_dir
from tfgbv.models.build import find_model_dir, read_meta
from tfgbv.predict.base import PROBE_TEXTS, model_identifier, probe_texts
from tfgbv.predict.transformer import Classifier, scoring_device

log = logging.getLogger(__name__)

CHOICE_FILE = "backend_choice.json"
# torch.compile costs up to a minute once and then scores faster (docs/bench.md): worth it from about 100k rows.
COMPILE_MIN_ROWS = 100_000
MIN_AGREEMENT = 0.995
# Timing fp32 against bf16 costs about 2 x TIMING_REPEATS x PROBE_TEXTS texts scored (tens of seconds for e5-small on
# a busy CPU); bf16 can save at most about two thirds of fp32's time per row, so below this many rows it cannot pay.
BF16_MEASURE_MIN_ROWS = 5_000
TIMING_REPEATS = 2
# What a cached entry must hold to be used (anything else is a corrupt cache: measured again).
BF16_FIELDS = ("bf16", "fp32_texts_per_s", "bf16_texts_per_s", "label_agreement")
INT8_FIELDS = ("int8", "bf16_compiled_texts_per_s", "int8_texts_per_s", "label_agreement")


def _texts_per_s(clf: Classifier, texts: Sequence[str], repeats: int = TIMING_REPEATS) -> tuple[float, np.ndarray]:
    """Texts per second, the best of `repeats` passes over `texts` after a warm-up; the last pass's probabilities."""
    clf.predict_proba(texts[:64])  # warm-up: kernels for the first batch shapes
    best, prob = 0.0, np.zeros((0, 0))
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        prob = clf.predict_proba(texts)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best, prob


def measure_precision(
    model_dir: str | Path, texts: Sequence[str], min_agreement: float = MIN_AGREEMENT, **kwargs: Any
) -> dict[str, Any]:
    """Time fp32 and bf16 on `texts`; bf16 is chosen when it is faster and agrees on >= `min_agreement` of labels."""
    fp32 = Classifier.from_pretrained(model_dir, bf16=False, **kwargs)
    fp32_speed, ref = _texts_per_s(fp32, texts)
    thresholds = fp32.thresholds
    del fp32
    bf16 = Classifier.from_pretrained(model_dir, bf16=True, **kwargs)
    bf16_speed, prob = _texts_per_s(bf16, texts)
    agreement = float(((prob >= thresholds) == (ref >= thresholds)).mean())
    return {
        "bf16": bool(bf16_speed > fp32_speed and agreement >= min_agreement),
        "fp32_texts_per_s": round(fp32_speed, 1),
        "bf16_texts_per_s": round(bf16_speed, 1),
        "label_agreement": round(agreement, 4),
        "texts": len(texts),
        **provenance(min_agreement, "tfgbv.predict.precision"),
    }


def provenance(min_agreement: float, by: str) -> dict[str, Any]:
    """What every cached choice records besides its figures: the floor it was judged by, the machine, when, by whom."""
    return {
        "min_agreement": min_agreement,
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "by": by,
    }


def int8_choice_key(model_dir: str | Path) -> str:
    """int8's agreement depends on the model as well as on the machine: its cache entry is keyed by both."""
    found = find_model_dir(model_dir)
    return f"{machine_key()}:int8:{model_identifier(found, read_meta(found))}"


def measure_int8(
    model_dir: str | Path,
    texts: Sequence[str],
    calibration_texts: Sequence[str],
    min_agreement: float = MIN_AGREEMENT,
    **kwargs: Any,
) -> dict[str, Any]:
    """Time the compiled bf16 model and the int8 one (both compiled: int8 is compiled-only) on `texts`, which should
    not be the calibration texts; int8 is chosen when it is faster and its labels agree with fp32 on at least
    `min_agreement` of the cells."""
    fp32 = Classifier.from_pretrained(model_dir, bf16=False, **kwargs)
    ref, thresholds = fp32.predict_proba(texts), fp32.thresholds
    del fp32
    bf16 = Classifier.from_pretrained(model_dir, bf16=True, compile=True, **kwargs)
    bf16_speed, _ = _texts_per_s(bf16, texts)
    del bf16
    int8 = Classifier.from_pretrained(model_dir, int8=True, calibration_texts=calibration_texts, **kwargs)
    int8_speed, prob = _texts_per_s(int8, texts)
    agreement = float(((prob >= thresholds) == (ref >= thresholds)).mean())
    return {
        "int8": bool(int8_speed > bf16_speed and agreement >= min_agreement),
        "bf16_compiled_texts_per_s": round(bf16_speed, 1),
        "int8_texts_per_s": round(int8_speed, 1),
        "label_agreement": round(agreement, 4),
        "texts": len(texts),
        "calibration_texts": len(calibration_texts),
        **provenance(min_agreement, "tfgbv.predict.precision"),
    }


def read_choices(cache: Path | None = None) -> dict[str, Any]:
    """The cached choices, {} when there are none; a file that is not a JSON object of choices (truncated, `[]`) is
    ignored with a warning (the next measurement rewrites it)."""
    path = (cache or cache_dir()) / CHOICE_FILE
    try:
        choices = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        log.warning("%s cannot be read (%s): ignored, measured again and rewritten", path, err)
        return {}
    if not isinstance(choices, dict):
        log.warning("%s holds a %s, not choices: ignored, measured again and rewritten", path, type(choices).__name__)
        return {}
    return choices


def cached_entry(key: str, fields: Sequence[str], cache: Path | None = None) -> dict[str, Any] | None:
    """The cached entry under `key` when it holds `fields`, else None (a corrupt entry is reported and re-measured)."""
    entry = read_choices(cache).get(key)
    if entry is None:
        return None
    if not isinstance(entry, dict) or any(f not in entry for f in fields):
        log.warning("the cached choice %s in %s is incomplete (%r): measured again", key, CHOICE_FILE, entry)
        return None
    return entry


def record_choice(entry: dict[str, Any], cache: Path | None = None, key: str | None = None) -> None:
    """Store `entry` as this machine's choice, or under `key` (other entries are kept)."""
    choices = read_choices(cache)
    choices[key or machine_key()] = entry
    write_json((cache or cache_dir()) / CHOICE_FILE, choices)


def on_cuda(classifier_kwargs: dict[str, Any]) -> bool:
    """Whether a Classifier built with these arguments scores on CUDA (its `device` default: CUDA where present)."""
    return scoring_device(classifier_kwargs.get("device")).type == "cuda"


def choose_bf16(
    model_dir: str | Path,
    cache: Path | None = None,
    rows: int | None = None,
    refresh: bool = False,
    **kwargs: Any,
) -> bool:
    """This machine's measured choice, measuring (and caching) it first if there is none yet, or if `refresh`. On a
    machine with a GPU the Classifier scores there: bf16 where the GPU has it, and the CPU is not timed.

    `rows`: the input's size, when known; below BF16_MEASURE_MIN_ROWS nothing is measured and fp32 is used."""
    if on_cuda(kwargs):
        return torch.cuda.is_bf16_supported()
    entry = None if refresh else cached_entry(machine_key(), BF16_FIELDS, cache)
    if entry is None:
        if not refresh and rows is not None and rows < BF16_MEASURE_MIN_ROWS:
            log.info(
                "bf16=auto -> fp32: %d rows are too few to pay for timing fp32 against bf16 (from %d rows; "
                "remeasure=true or tfgbv-bench measures now, bf16=true|false overrides)",
                rows,
                BF16_MEASURE_MIN_ROWS,
            )
            return False
        texts = probe_texts()
        log.info(
            "bf16=auto: timing fp32 and bf16 once on this machine (best of %d passes over %d texts each; cached in %s)",
            TIMING_REPEATS,
            len(texts),
            cache or cache_dir(),
        )
        start = time.perf_counter()
        entry = measure_precision(model_dir, texts, **kwargs)
        entry["seconds"] = round(time.perf_counter() - start, 1)
        log.info("bf16=auto: measured in %.1f s", entry["seconds"])
        record_choice(entry, cache)
    log.info(
        "bf16=auto -> %s on this machine (fp32 %.0f, bf16 %.0f texts/s, agreement %.4f; bf16=true|false overrides)",
        "bf16" if entry["bf16"] else "fp32",
        entry["fp32_texts_per_s"],
        entry["bf16_texts_per_s"],
        entry["label_agreement"],
    )
    return bool(entry["bf16"])


def choose_int8(model_dir: str | Path, cache: Path | None = None, refresh: bool = False, **kwargs: Any) -> bool:
    """Whether int8 beats compiled bf16 for this model on this machine at >= MIN_AGREEMENT label agreement: measured
    once (calibrated on the first PROBE_TEXTS bundled texts, timed and checked on the next ones: two compilations,
    a few minutes) and cached under the machine and the model's content hash."""
    if on_cuda(kwargs):  # int8 runs on the CPU's oneDNN kernels only
        return False
    key = int8_choice_key(model_dir)
    entry = None if refresh else cached_entry(key, INT8_FIELDS, cache)
    if entry is None:
        log.info("int8=auto: timing compiled bf16 and int8 once for this model on this machine (cached in %s)", cache)
        texts = probe_texts(3 * PROBE_TEXTS)
        calibration, held_out = texts[:PROBE_TEXTS], texts[PROBE_TEXTS:]
        start = time.perf_counter()
        entry = measure_int8(model_dir, held_out or calibration, calibration, **kwargs)
        entry["seconds"] = round(time.perf_counter() - start, 1)
        log.info("int8=auto: measured in %.1f s", entry["seconds"])
        record_choice(entry, cache, key)
    log.info(
        "int8=auto -> %s (compiled bf16 %.0f, int8 %.0f texts/s, agreement %.4f; int8=true|false overrides)",
        "int8" if entry["int8"] else "no int8",
        entry["bf16_compiled_texts_per_s"],
        entry["int8_texts_per_s"],
        entry["label_agreement"],
    )
    return bool(entry["int8"])
