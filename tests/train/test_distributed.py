"""Training in two processes (torchrun, gloo on CPU): one run directory written by rank 0 only, the same model as one
process with the same effective batch, and a failing rank that fails the run by name."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.helpers import REPO
from tfgbv import rundir
from tfgbv.train import distributed

# debug=fast's settings spelled out rather than `debug=fast`: a debug= run is a smoke run, which leaves runs/latest
# alone, and runs/latest is one of the things only rank 0 may write.
FAST = [
    "data=seed",
    "data.functional=null",
    "max_train_samples=64",
    "max_eval_samples=32",
    "trainer.max_steps=4",
    "trainer.logging_steps=1",
    "trainer.eval_strategy=no",
    "trainer.early_stopping_patience=null",
    "trainer.learning_rate=1e-3",
    "trainer.bf16=false",
    "evaluation.bootstrap_resamples=20",
    "evaluation.per_source_resamples=10",
]


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory, tiny_corpus_path) -> Path:
    """A tiny BERT saved once, loaded by every run below (model.source=local): `model=tiny` trains its tokenizer in
    each process, and the tokenizers library breaks frequency ties differently per process, so two launches would
    not start from the same vocabulary. No dropout, so the runs compared below differ only in how they batch."""
    from tfgbv.models.build import ModelSpec, build_model

    texts = [json.loads(line)["text"] for line in tiny_corpus_path.read_text(encoding="utf-8").splitlines()]
    tiny = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    tokenizer, model = build_model(ModelSpec(source="tiny", tiny={**tiny, "vocab_size": 300}), texts * 20)
    model.config.hidden_dropout_prob = model.config.attention_probs_dropout_prob = 0.0
    out = tmp_path_factory.mktemp("tiny_encoder")
    model.base_model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _model(encoder: Path) -> list[str]:
    return ["model=tiny", "model.source=local", f"model.name_or_path={encoder}", "model.freeze_layers=1"]


def _launch(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)


def _torchrun(nproc: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]


def _runs(runs_dir: Path) -> list[Path]:
    return [p for p in runs_dir.glob("*/*") if p.is_dir() and p.parent.name != rundir.LATEST]


def _step_losses(run: Path) -> list[float]:
    history = json.loads((run / rundir.HISTORY).read_text(encoding="utf-8"))
    return [h["loss"] for h in history if "loss" in h]


@pytest.mark.slow
@pytest.mark.e2e
def test_two_processes_write_one_run_and_train_as_one_process_of_the_same_effective_batch(tmp_path, tiny_encoder):
    ddp_runs, one_runs = tmp_path / "ddp", tmp_path / "one"
    ddp = _launch(
        [*_torchrun(2), "-m", "tfgbv.cli.train", *_model(tiny_encoder), *FAST]
        + ["trainer.per_device_train_batch_size=8", "logger=csv", f"paths.runs_dir={ddp_runs}"],
        tmp_path,
    )
    assert ddp.returncode == 0, ddp.stdout[-3000:] + ddp.stderr[-3000:]
    one = _launch(
        [sys.executable, "-m", "tfgbv.cli.train", *_model(tiny_encoder), *FAST]
        + ["trainer.per_device_train_batch_size=16", f"paths.runs_dir={one_runs}"],
        tmp_path,
    )
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]

    # Rank 0 wrote one run (its card and evaluation included) and runs/latest; rank 1 nothing, not even Hydra files.
    (run,) = _runs(ddp_runs)
    assert (ddp_runs / rundir.LATEST).resolve() == run.resolve()
    assert (run / rundir.CARD).exists() and (run / rundir.EVAL_DIR / rundir.METRICS).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp", "one"]
    train = json.loads((run / rundir.METRICS).read_text(encoding="utf-8"))["train"]
    assert train["processes"] == 2 and train["effective_batch_size"] == 16 and train["steps"] == 4
    assert math.isfinite(train["train_loss"])
    with (run / rundir.TRAIN_LOG_CSV).open(encoding="utf-8") as fh:  # tracked once, by rank 0
        logged = [int(r["step"]) for r in csv.DictReader(fh) if r["name"] == "loss"]
    assert logged == [1, 2, 3, 4]

    # Each step of the two processes sees the 16 rows the one process sees (8 per rank); the DDP gradient is the mean of
    # the two halves' mean losses, which equals the one process's mean loss here because every cell of the seed corpus
    # is annotated (equal denominators), and without dropout nothing random is left. What differs is float summation
    # order (gloo's all-reduce, 1 vs 2 threads): ~1e-7 (measured: losses 1.2e-7, weights 6e-8 apart). Tolerances:
    # 1e-5 on per-step losses and weights, 100x that; dev macro-F1 within 0.02 (thresholds are tuned on a 0.05 grid,
    # a probability nudged across a grid point could move one label's threshold, nothing more).
    (reference,) = _runs(one_runs)
    assert _step_losses(run) == pytest.approx(_step_losses(reference), abs=1e-5)
    ours, theirs = (load_file(r / rundir.MODEL_DIR / rundir.WEIGHTS) for r in (run, reference))
    assert max(float((ours[k] - theirs[k]).abs().max()) for k in ours) < 1e-5
    dev = json.loads((run / rundir.METRICS).read_text(encoding="utf-8"))["dev"]["overall"]["macro_f1"]
    ref_dev = json.loads((reference / rundir.METRICS).read_text(encoding="utf-8"))["dev"]["overall"]["macro_f1"]
    assert dev == pytest.approx(ref_dev, abs=0.02)


@pytest.mark.slow
@pytest.mark.e2e
def test_a_failing_rank_fails_the_run_and_is_named(tmp_path, tiny_encoder):
    runs = tmp_path / "runs"
    out = _launch(
        [*_torchrun(2), str(REPO / "tests" / "train" / "ddp_failing_rank.py"), *_model(tiny_encoder), *FAST]
        + ["trainer.per_device_train_batch_size=8", "evaluate_after_train=false", f"paths.runs_dir={runs}"],
        tmp_path,
    )
    assert out.returncode != 0
    assert "rank 1 of 2 failed: RuntimeError: injected failure in the training step" in out.stdout + out.stderr
    assert not (runs / rundir.LATEST).exists()
    assert not [p for p in runs.rglob(rundir.METRICS)]  # no run looks finished


def test_a_single_process_is_rank_0_of_1_and_adds_no_hydra_overrides(monkeypatch):
    for name in ("WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    assert (distributed.world_size(), distributed.rank(), distributed.is_main_process()) == (1, 0, True)
    assert distributed.hydra_overrides_for_rank() == []
    assert distributed.from_rank0({"x": 1}) == {"x": 1}
    assert distributed.shared_run_dir("runs/a") == Path("runs/a")


def test_other_ranks_keep_hydra_from_writing(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert distributed.hydra_overrides_for_rank() == []
    monkeypatch.setenv("RANK", "1")
    assert distributed.hydra_overrides_for_rank() == [
        "hydra.output_subdir=null",
        "hydra/job_logging=stdout",
        "hydra.run.dir=.",
    ]


def test_a_rank_failure_keeps_its_type_and_names_the_rank(monkeypatch, caplog):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    with pytest.raises(ValueError) as info, distributed.rank_named_failures():
        raise ValueError("bad shard")
    assert "rank 3 of 4 failed: ValueError: bad shard" in caplog.text
    if sys.version_info >= (3, 11):
        assert "rank 3 of 4 failed" in info.value.__notes__[0]


def test_frozen_layers_stay_frozen_and_in_eval_mode_inside_ddp():
    """The training step sees the DDP wrapper, not the model: frozen blocks must still be found and run without
    dropout, and every trainable parameter gets its gradient (DDP runs with find_unused_parameters=False); a
    one-process gloo group, no launcher."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from transformers import TrainingArguments

    from tfgbv.models.build import ModelSpec, TextPrep, build_model
    from tfgbv.train.transformer import MaskedBCETrainer

    tiny = {"hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 32}
    spec = ModelSpec(source="tiny", text=TextPrep(max_length=16), tiny={**tiny, "vocab_size": 200}, freeze_layers=2)
    tok, model = build_model(spec, ["один два три", "четыре пять"])
    args = TrainingArguments(output_dir="/tmp/unused", use_cpu=True, report_to="none", bf16=False)
    trainer = MaskedBCETrainer(model=model, args=args)
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        ddp = DistributedDataParallel(model, find_unused_parameters=False)
        trainable = [p for p in model.parameters() if p.requires_grad]
        seen: dict[str, bool] = {}
        layers = model.bert.encoder.layer
        layers[1].register_forward_hook(lambda m, i, o: seen.update(frozen=m.training))
        layers[2].register_forward_hook(lambda m, i, o: seen.update(trained=m.training))
        ddp.train()
        enc = tok(["один два три", "четыре пять"], padding=True, return_tensors="pt")
        loss = trainer.compute_loss(ddp, {**enc, "labels": torch.tensor([[1.0, 0, 0, -1], [0, 1, 0, 0]])})
        loss.backward()  # find_unused_parameters=False: every trainable parameter got its gradient
        assert seen == {"frozen": False, "trained": True}
        assert all(p.grad is None for p in layers[0].parameters()) and all(p.grad is not None for p in trainable)
    finally:
        dist.destroy_process_group()
