"""Training in several processes (`torchrun` / `accelerate launch`): who this process is, the one run directory all
ranks share, and failures that name their rank.

The Hugging Face Trainer does the data parallelism itself (DistributedDataParallel: gloo on CPU, NCCL on GPUs; each
rank its shard of every epoch's batches). What is left to the project: every rank must agree on the run directory
(Hydra stamps it with the time each process started), only rank 0 writes anything, and a crash on one rank must say
which rank it was. A single process (no WORLD_SIZE in the environment) takes none of these paths.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Iterator, TypeVar

import torch
import torch.distributed as dist
from accelerate import PartialState

log = logging.getLogger(__name__)

T = TypeVar("T")


def world_size() -> int:
    """Processes in this run (torchrun / accelerate launch set WORLD_SIZE); 1 for a plain `python` run."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Rank 0: the one process that writes the run directory, the evaluation, the card and runs/latest."""
    return rank() == 0


def start(use_cpu: bool) -> None:
    """Join the process group (once) so ranks can agree on the run directory before the Trainer starts.

    gloo on CPU, NCCL on CUDA (accelerate's choice; it also pins each rank to its GPU). The Trainer's own
    accelerate state later finds the group initialised and uses it."""
    if world_size() <= 1 or dist.is_initialized():
        return
    cpu = use_cpu or not torch.cuda.is_available()
    PartialState(cpu=cpu, backend="gloo" if cpu else None)
    if not is_main_process():  # one copy of the run's progress lines (rank 0's); warnings and errors from every rank
        logging.getLogger("tfgbv").setLevel(logging.WARNING)
    log.info("rank %d of %d joined (%s)", rank(), world_size(), dist.get_backend())


def shared_run_dir(run_dir: str | Path) -> Path:
    """Rank 0's run directory, on every rank (the other ranks' Hydra directories are never written)."""
    return Path(from_rank0(str(run_dir)))


def from_rank0(obj: T) -> T:
    """Rank 0's `obj` on every rank (pickled through the process group); `obj` itself in a single process.

    For what each rank would otherwise build differently: a tokenizer trained on the fly (model=tiny: the tokenizers
    library breaks ties between equally frequent pieces differently in each process)."""
    if world_size() <= 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def process_group(use_cpu: bool) -> Iterator[None]:
    """`start` ... `finish` around a training run (nothing for a single process)."""
    start(use_cpu)
    try:
        yield
    finally:
        finish()


def finish() -> None:
    """Leave the process group (each rank on its own: rank 0 may still be evaluating while the others exit)."""
    if dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def rank_named_failures() -> Iterator[None]:
    """In a multi-process run, an exception says which rank raised it (logged, and noted on the exception so the
    traceback ends with it); its type is kept, so a user error still ends as one. A single process is unchanged."""
    try:
        yield
    except Exception as err:
        if world_size() > 1:
            note = f"rank {rank()} of {world_size()} failed: {type(err).__name__}: {err}"
            log.error(note)
            if hasattr(err, "add_note"):  # Python 3.11+
                err.add_note(note)
        raise


def hydra_overrides_for_rank() -> list[str]:
    """Overrides that keep a non-zero rank's Hydra from writing: no .hydra/ copy, logs to stdout only, and the
    current directory (which exists) as its output directory. Rank 0 (and a single process) gets none."""
    if world_size() <= 1 or is_main_process():
        return []
    return ["hydra.output_subdir=null", "hydra/job_logging=stdout", "hydra.run.dir=."]


__all__ = [
    "world_size",
    "rank",
    "is_main_process",
    "start",
    "shared_run_dir",
    "from_rank0",
    "finish",
    "process_group",
    "rank_named_failures",
    "hydra_overrides_for_rank",
]
