"""Scoring on CUDA never takes a CPU-only choice (thread count, the CPU attention, int8, the CPU's bf16 timing);
checked on a CPU machine with CUDA's answers faked and the move to the GPU stubbed."""

from __future__ import annotations

import pytest
import torch

from tfgbv.models.attention import CPU_ATTENTION
from tfgbv.models.build import load_model_dir
from tfgbv.predict import precision
from tfgbv.predict.transformer import Classifier, scoring_device


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


def test_scoring_goes_to_the_gpu_when_there_is_one_unless_told_otherwise(monkeypatch, fake_gpu):
    assert scoring_device().type == "cuda" and scoring_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert scoring_device().type == "cpu"


def test_a_cuda_classifier_skips_threads_cpu_attention_and_int8(tiny_run, monkeypatch, fake_gpu):
    tokenizer, model, meta = load_model_dir(tiny_run)
    moved = []
    monkeypatch.setattr(model, "to", lambda *a, **k: moved.append(a) or model)  # no GPU to move to here
    threads = torch.get_num_threads()
    clf = Classifier(tokenizer, model, meta, tiny_run, bf16="auto", int8=True, num_threads=threads + 1)
    assert clf.device.type == "cuda" and (torch.device("cuda"),) in moved
    assert torch.get_num_threads() == threads
    assert model.config._attn_implementation != CPU_ATTENTION
    assert clf.int8 is False and clf.bf16 is True  # the GPU's bf16 answer


def test_a_cpu_classifier_on_a_gpu_machine_keeps_the_cpu_choices(tiny_run, monkeypatch, fake_gpu):
    monkeypatch.setattr("tfgbv.predict.transformer.cpu_bf16_supported", lambda: False)
    tokenizer, model, meta = load_model_dir(tiny_run)
    clf = Classifier(tokenizer, model, meta, tiny_run, bf16="auto", device="cpu")
    assert clf.device.type == "cpu" and clf.bf16 is False  # the CPU's answer, not the GPU's
    assert model.config._attn_implementation == CPU_ATTENTION


def test_bf16_and_int8_auto_measure_nothing_on_a_gpu(tmp_path, monkeypatch, fake_gpu):
    def measured(*args, **kwargs):
        raise AssertionError("a CUDA run timed the CPU")

    monkeypatch.setattr(precision, "measure_precision", measured)
    monkeypatch.setattr(precision, "measure_int8", measured)
    assert precision.choose_bf16(tmp_path, cache=tmp_path) is True
    assert precision.choose_int8(tmp_path, cache=tmp_path) is False
    assert not list(tmp_path.iterdir())  # no cached CPU choice written
