"""The device choice of training, checked on a CPU machine with CUDA's answers faked."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tfgbv.train.device import GPU_DATALOADER_WORKERS, device_plan
from tfgbv.train.transformer import TrainSpec, training_arguments


def _gpu(monkeypatch, bf16: bool, capability: tuple[int, int]) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)


def test_without_a_gpu_training_takes_the_cpu_choices_it_always_took(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("tfgbv.train.device.cpu_bf16_supported", lambda: True)
    plan = device_plan("auto")
    assert (plan.device, plan.use_cpu, plan.bf16, plan.fp16, plan.tf32) == ("cpu", True, True, False, None)
    assert (plan.dataloader_num_workers, plan.dataloader_pin_memory) == (0, False)
    assert device_plan(False).bf16 is False


def test_an_ampere_gpu_trains_in_bf16_with_tf32_pinned_memory_and_workers(monkeypatch):
    _gpu(monkeypatch, bf16=True, capability=(8, 0))
    plan = device_plan("auto")
    assert (plan.device, plan.use_cpu, plan.bf16, plan.fp16, plan.tf32) == ("cuda", False, True, False, True)
    assert (plan.dataloader_num_workers, plan.dataloader_pin_memory) == (GPU_DATALOADER_WORKERS, True)


def test_a_gpu_without_bf16_trains_in_fp16_without_tf32(monkeypatch):
    _gpu(monkeypatch, bf16=False, capability=(7, 5))  # a T4
    plan = device_plan("auto")
    assert (plan.bf16, plan.fp16, plan.tf32) == (False, True, False)
    assert (device_plan(False).bf16, device_plan(False).fp16) == (False, False)  # bf16=false: fp32
    with pytest.raises(ValueError, match="no bf16"):
        device_plan(True)


def test_use_cpu_keeps_a_gpu_machine_on_the_cpu_with_the_cpus_bf16_answer(monkeypatch):
    _gpu(monkeypatch, bf16=True, capability=(9, 0))
    monkeypatch.setattr("tfgbv.train.device.cpu_bf16_supported", lambda: False)
    plan = device_plan("auto", use_cpu=True)
    assert (plan.device, plan.use_cpu, plan.bf16, plan.tf32, plan.dataloader_num_workers) == (
        "cpu",
        True,
        False,
        None,
        0,
    )


def test_the_cpu_plan_gives_the_training_arguments_a_cpu_run_always_had(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = training_arguments(TrainSpec(bf16=False), tmp_path, 1, device_plan(False), has_eval=False)
    assert args.use_cpu and not args.bf16 and not args.fp16 and args.tf32 is None
    assert args.dataloader_num_workers == 0 and not args.dataloader_pin_memory and args.report_to == []
    assert args.world_size == 1 and args.ddp_find_unused_parameters is False
