"""Where training runs and what the device affords: CUDA when there is a GPU (unless `trainer.use_cpu`), else the CPU.

On CUDA: bf16 where the GPU has it, else fp16 (`trainer.bf16=auto`); TF32 matrix products on GPUs that have them
(Ampere and later); pinned host memory and worker processes for the data loader, so batches are collated while the GPU
computes. On the CPU the choices are the ones every CPU run has always made (bf16 where the CPU does bf16 matrix
products, no workers, no pinning: the collator is cheap next to a CPU step and workers would take its cores).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from tfgbv.env import cpu_bf16_supported

# Collating padded token ids is cheap; two workers keep one batch ready ahead of the GPU without taking many cores.
GPU_DATALOADER_WORKERS = 2


@dataclass(frozen=True)
class DevicePlan:
    """The TrainingArguments that depend on the device."""

    device: str  # "cuda" | "cpu"
    use_cpu: bool
    bf16: bool
    fp16: bool
    tf32: bool | None  # None: leave PyTorch's setting alone (CPU)
    dataloader_pin_memory: bool
    dataloader_num_workers: int

    @property
    def cuda(self) -> bool:
        return self.device == "cuda"


def device_plan(bf16: str | bool = "auto", use_cpu: bool = False) -> DevicePlan:
    """The device and its settings for `trainer.bf16` / `trainer.use_cpu` on this machine."""
    if use_cpu or not torch.cuda.is_available():
        return DevicePlan(
            device="cpu",
            use_cpu=True,
            bf16=cpu_bf16_supported() if bf16 == "auto" else bool(bf16),
            fp16=False,
            tf32=None,
            dataloader_pin_memory=False,
            dataloader_num_workers=0,
        )
    has_bf16 = torch.cuda.is_bf16_supported()
    if bf16 is True and not has_bf16:
        raise ValueError("trainer.bf16=true but this GPU has no bf16; use trainer.bf16=auto (fp16) or false (fp32)")
    use_bf16 = has_bf16 if bf16 == "auto" else bool(bf16)
    return DevicePlan(
        device="cuda",
        use_cpu=False,
        bf16=use_bf16,
        fp16=bf16 == "auto" and not has_bf16,  # mixed precision either way; fp16 on GPUs without bf16 (pre-Ampere)
        tf32=torch.cuda.get_device_capability()[0] >= 8,  # TF32 units came with Ampere (compute capability 8.0)
        dataloader_pin_memory=True,
        dataloader_num_workers=GPU_DATALOADER_WORKERS,
    )


__all__ = ["DevicePlan", "device_plan"]
