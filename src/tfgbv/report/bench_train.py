"""Training throughput in 1 vs N processes (`make bench-train`): samples/s of the default configuration's training
step under torchrun (DDP, gloo on CPU), and what the gradient all-reduce costs per step.

Each configuration is a separate `torchrun --standalone --nproc_per_node=N` launch of `time_training` (the trainer's
own pieces: length-grouped batches, masked BCE, frozen layers, bf16 where the device has it), timed from the end of
the warm-up steps to the end of the last step on rank 0; samples/s counts every rank's rows. The communication cost
is the all-reduce of a buffer the size of the trainable parameters (what DDP sums after each backward pass), timed
alone: DDP overlaps part of it with the backward pass, so it bounds the step time it adds from above.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as dist
from transformers import DataCollatorWithPadding, TrainerCallback

from tfgbv.data.sources import LoadedData
from tfgbv.env import cpu_flags, cpu_model, seed_everything
from tfgbv.io import write_text
from tfgbv.models.build import ModelSpec, build_model
from tfgbv.train.device import device_plan
from tfgbv.train.distributed import world_size
from tfgbv.train.transformer import MaskedBCETrainer, TrainSpec, make_dataset, training_arguments


@dataclass
class TrainBenchSpec:
    steps: int = 20  # timed optimizer steps per configuration
    warmup_steps: int = 3  # untimed steps first (allocator, oneDNN kernel selection)
    processes: tuple[int, ...] = (1, 2)
    allreduce_repeats: int = 10
    out_json: str = "docs/bench_train.json"
    out_md: str = "docs/bench_train.md"


class StepTimer(TrainerCallback):
    """perf_counter at the end of every optimizer step."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.ends.append(time.perf_counter())


def allreduce_ms(numel: int, repeats: int) -> float | None:
    """Mean milliseconds of one all-reduce (sum) of `numel` fp32 values across the process group; None alone."""
    if world_size() <= 1 or not dist.is_initialized():
        return None
    buf = torch.ones(numel, dtype=torch.float32)
    dist.all_reduce(buf)  # warm-up: connections, buffers
    dist.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        dist.all_reduce(buf)
    return (time.perf_counter() - start) / repeats * 1000


def time_training(
    data: LoadedData,
    model_spec: ModelSpec,
    train_spec: TrainSpec,
    bench: TrainBenchSpec,
    seed: int = 42,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train `warmup_steps + steps` steps of `train_spec` in this process group; rank 0's timings (every rank must
    call this)."""
    spec = replace(train_spec, max_steps=bench.warmup_steps + bench.steps, eval_strategy="no", logging_steps=10_000)
    plan = device_plan(spec.bf16, spec.use_cpu)
    if spec.train_all_layers:
        model_spec = replace(model_spec, freeze_embeddings=False, freeze_layers=0)
    seed_everything(seed)
    tokenizer, model = build_model(model_spec, [r["text"] for r in data.splits["train"]], cache_dir=cache_dir)
    train_ds = make_dataset(data.training_records(), tokenizer, model_spec.text, model_spec.text.max_length)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as tmp:
        args = training_arguments(spec, Path(tmp), seed, plan, has_eval=False)
        args.disable_tqdm = True
        trainer = MaskedBCETrainer(
            model=model,
            args=args,
            train_dataset=train_ds,
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[timer],
            head_learning_rate=spec.head_learning_rate,
            length_batches=spec.group_by_length,
        )
        trainer.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    timed = timer.ends[bench.warmup_steps :]
    seconds = timed[-1] - timed[0]
    global_batch = spec.per_device_train_batch_size * world_size() * spec.gradient_accumulation_steps
    comm = allreduce_ms(trainable, bench.allreduce_repeats)
    step_ms = seconds / (len(timed) - 1) * 1000
    return {
        "processes": world_size(),
        "threads_per_process": torch.get_num_threads(),
        "device": plan.device,
        "bf16": plan.bf16,
        "per_device_train_batch_size": spec.per_device_train_batch_size,
        "effective_batch_size": global_batch,
        "steps_timed": len(timed) - 1,
        "step_ms": round(step_ms, 1),
        "samples_per_s": round(global_batch * (len(timed) - 1) / seconds, 2),
        "trainable_parameters": trainable,
        "allreduce_ms": None if comm is None else round(comm, 1),
        "allreduce_share_of_step": None if comm is None else round(comm / step_ms, 3),
    }


def launch(processes: int, worker_args: Sequence[str], result: Path) -> dict[str, Any]:
    """One `torchrun --standalone --nproc_per_node=N` run of the worker; its rank 0's result."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    cmd += ["-m", "tfgbv.cli.bench_train", "--worker", "--result", str(result), *worker_args]
    load_before = os.getloadavg()[0]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if out.returncode != 0:
        raise RuntimeError(f"bench worker ({processes} processes) failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    # The machine's 1-minute load average around the run: other work on a shared machine slows both configurations.
    load = {"load_average_before": round(load_before, 2), "load_average_after": round(os.getloadavg()[0], 2)}
    return {**json.loads(result.read_text(encoding="utf-8")), **load}


def summarise(
    runs: list[dict[str, Any]], bench: TrainBenchSpec, model_spec: ModelSpec, overrides: Sequence[str] = ()
) -> dict[str, Any]:
    """The runs with the N-process speed-up over one process and the machine they ran on."""
    one = next((r for r in runs if r["processes"] == 1), None)
    for r in runs:
        r["speedup_vs_1_process"] = round(r["samples_per_s"] / one["samples_per_s"], 2) if one else None
    return {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "cpu_flags": cpu_flags(), "torch": torch.__version__},
        "model": {
            "name": model_spec.short_name,
            "freeze_embeddings": model_spec.freeze_embeddings,
            "freeze_layers": model_spec.freeze_layers,
            "max_length": model_spec.text.max_length,
        },
        "spec": asdict(bench),
        "overrides": list(overrides),
        "runs": runs,
    }


def oversubscribed(res: dict[str, Any]) -> float | None:
    """The highest load average seen before a run started, when it exceeded the core count (else None). The load after
    a run counts the benchmark's own processes (a 2-process run leaves ~2 behind), not other jobs."""
    loads = [r.get("load_average_before") or 0.0 for r in res["runs"]]
    peak = max(loads, default=0.0)
    return peak if peak > (res["machine"]["cores"] or 1) else None


def render(res: dict[str, Any]) -> str:
    m = res["machine"]
    precision = "bf16" if all(r["bf16"] for r in res["runs"]) else "fp32 (this CPU has no bf16 matrix units)"
    lines = [
        "# Training throughput: 1 vs N processes",
        "",
        f"Written by `make bench-train` (tfgbv.report.bench_train) on {m['cpu']} ({m['cores']} cores), "
        f"torch {m['torch']}, CPU only (gloo). Model: {res['model']['name']} as configured for `make train` "
        f"(word embedding frozen: {res['model']['freeze_embeddings']}, lower layers frozen: "
        f"{res['model']['freeze_layers']}, max_length {res['model']['max_length']}), trainer=real_mix, "
        f"bundled corpus (data=seed); {res['spec']['steps']} steps timed after {res['spec']['warmup_steps']} warm-up "
        f"steps. Overrides: {' '.join(res['overrides']) or 'none'}. ISA: {', '.join(m['cpu_flags']) or 'unknown'}; "
        f"precision: {precision}.",
        "",
        "| processes | threads/process | per-device batch | effective batch | step (ms) | samples/s | vs 1 process "
        "| all-reduce of the gradients (ms/step) | share of the step | load average (before, after) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in res["runs"]:
        comm = "—" if r["allreduce_ms"] is None else f"{r['allreduce_ms']:.1f}"
        share = "—" if r["allreduce_share_of_step"] is None else f"{100 * r['allreduce_share_of_step']:.1f}%"
        lines.append(
            f"| {r['processes']} | {r['threads_per_process']} | {r['per_device_train_batch_size']} "
            f"| {r['effective_batch_size']} | {r['step_ms']:.0f} | {r['samples_per_s']:.1f} "
            f"| {r['speedup_vs_1_process']:.2f}x | {comm} | {share} "
            f"| {r['load_average_before']}, {r['load_average_after']} |"
        )
    lines += [
        "",
        "Each process keeps the per-device batch, so N processes train N times the rows per step (torchrun's default "
        "behaviour with the same config); samples/s counts all of them. On one machine the processes share its cores "
        "(torchrun gives each one thread where one process uses them all), so more processes mainly add gradient "
        "all-reduces: the gain, if any, comes from the larger effective batch and from processes overlapping their "
        "serial parts. The all-reduce is timed alone on a buffer the size of the trainable parameters "
        f"({res['runs'][0]['trainable_parameters']:,} fp32 values); DDP overlaps part of it with the backward pass. "
        "The load average is the machine's (other work on a shared machine slows every configuration; a load above "
        "the core count means the figures understate what an idle machine does).",
        "",
        "The GPU path (NCCL, bf16/fp16, TF32) has not been run: no GPU was available where this was measured.",
        "",
    ]
    peak = oversubscribed(res)
    if peak is not None:
        lines[-2:-2] = [
            f"**The machine was oversubscribed while this ran** (load average up to {peak:.1f} on {m['cores']} "
            "cores: other jobs). A process running several OpenMP threads suffers far more from that than "
            "single-threaded processes do (each parallel region waits for its slowest thread, and a descheduled "
            "thread stalls the others), so the speed-up above is probably mostly that effect, not data parallelism. "
            "On an idle machine of this size expect little or no gain from a second process; re-run "
            "`make bench-train` on an idle machine before relying on the ratio.",
            "",
        ]
    return "\n".join(lines)


def write_results(res: dict[str, Any], root: Path, bench: TrainBenchSpec) -> None:
    write_text(root / bench.out_json, json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    write_text(root / bench.out_md, render(res))


__all__ = ["TrainBenchSpec", "time_training", "allreduce_ms", "launch", "summarise", "render", "write_results"]
