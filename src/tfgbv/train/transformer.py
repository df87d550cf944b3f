"""Fine-tuning: masked multi-label BCE on the Hugging Face Trainer, threshold tuning on dev, a self-describing run
dir."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import datasets
import numpy as np
import torch
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from tfgbv import rundir
from tfgbv.data.sources import LoadedData, labels_matrix
from tfgbv.env import progress_bar_wanted, seed_everything
from tfgbv.io import write_json
from tfgbv.labels import LABELS
from tfgbv.metrics.decision import THRESHOLD_GRID, apply_temperature, fit_decisions, macro_f1_at, sigmoid
from tfgbv.models.build import ModelSpec, build_model, frozen_modules, save_model_dir, spec_to_meta
from tfgbv.models.coverage import tokenizer_coverage
from tfgbv.models.hf_format import HEAD_PREFIXES
from tfgbv.predict.transformer import predict_logits
from tfgbv.train.device import DevicePlan, device_plan
from tfgbv.train.distributed import from_rank0, is_main_process, rank, world_size
from tfgbv.train.persian_translit import build_keyboard_restorer, load_persian_view
from tfgbv.train.run_writer import decisions_meta, finish_run, split_reports, start_run, write_decisions
from tfgbv.train.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class TrainSpec:
    """Optimisation settings; every field is a Hydra config value under `trainer.`."""

    learning_rate: float = 5e-5
    head_learning_rate: float | None = None  # the freshly initialised classification head; None = learning_rate
    num_train_epochs: float = 4.0
    max_steps: int = -1
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 64
    gradient_accumulation_steps: int = 1
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lr_scheduler_type: str = "linear"
    max_grad_norm: float = 1.0
    bf16: str | bool = "auto"  # auto: on when the CPU/GPU supports bf16 matrix products
    group_by_length: bool = True  # batches of similar length (less padding), in random order: ShuffledLengthBatches
    early_stopping_patience: int | None = 2
    eval_strategy: str = "epoch"
    eval_steps: int | None = None
    logging_steps: int = 20
    pos_weight: str | list[float] | None = None  # None | "auto" (neg/pos on train, capped) | one float per label
    pos_weight_cap: float = 10.0
    threshold_grid: list[float] = field(default_factory=lambda: list(THRESHOLD_GRID))  # code only, not in YAML
    calibrate: bool = True  # fit a temperature per label on dev
    num_threads: int | None = None
    use_cpu: bool = False
    keep_checkpoints: bool = False
    # Dev macro-F1 (at 0.5) at this many evenly spaced steps: a learning curve in train_history.json. Only adds
    # evaluations (no checkpoints, no model selection), so the trained model is the same.
    curve_points: int = 0
    # Train every layer, whatever the model config freezes (model.freeze_embeddings / freeze_layers): trainer=gpu.
    train_all_layers: bool = False


# ----------------------------------------------------------------------------- loss + thresholds


def masked_bce_loss(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean BCE over annotated cells only: labels < 0 (MISSING) contribute nothing to loss or gradient.

    Soft labels in [0, 1] (mean annotator votes) are valid targets.
    """
    mask = (labels >= 0).to(logits.dtype)
    targets = labels.clamp(min=0).to(logits.dtype)
    per_cell = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, targets, pos_weight=pos_weight, reduction="none"
    )
    denom = mask.sum()
    if denom == 0:
        return (logits * 0).sum()  # keeps the graph; a batch with nothing annotated teaches nothing
    return (per_cell * mask).sum() / denom


def compute_pos_weight(y: np.ndarray, cap: float = 10.0) -> list[float]:
    """neg/pos per label over annotated cells, capped, so rare labels are not ignored."""
    out = []
    for j in range(y.shape[1]):
        col = y[:, j]
        pos = float((col >= 0.5).sum())
        neg = float(((col >= 0) & (col < 0.5)).sum())
        out.append(float(min(cap, neg / pos)) if pos > 0 else 1.0)
    return out


# ----------------------------------------------------------------------------- helpers


def make_dataset(records: Sequence[dict], tokenizer, prep, max_length: int):
    """Tokenise once with batched `datasets.map`; keep a length column for length-grouped batches."""
    ds = datasets.Dataset.from_dict(
        {"text": prep.many([r["text"] for r in records]), "labels": labels_matrix(records).tolist()}
    )

    def _tok(batch):
        enc = tokenizer(batch["text"], truncation=True, max_length=max_length)
        enc["length"] = [len(ids) for ids in enc["input_ids"]]
        return enc

    ds = ds.map(_tok, batched=True, remove_columns=["text"], desc=None)
    if "token_type_ids" in ds.column_names:
        ds = ds.remove_columns("token_type_ids")  # always segment 0; e5 has a single token-type row
    return ds


class ShuffledLengthBatches(torch.utils.data.Sampler):
    """Indices such that each run of `batch_size` has similar lengths, with the batches in random order.

    Transformers' own length grouping yields each mega-batch longest-first, so for ~50 steps in a row batches go from
    long to short texts. Where length correlates with the label (long forum posts are mostly sexist in ru_sexism_vk),
    that drift makes the model chase the batch's base rate instead of the text: the dev loss stayed at the prior.
    Here the sorted batches are shuffled across the whole epoch, which keeps the padding savings and the i.i.d. order.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, mega_batch_mult: int = 50):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.mega = max(1, mega_batch_mult)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.lengths)

    def batches(self, epoch: int) -> list[list[int]]:
        gen = torch.Generator().manual_seed(self.seed + epoch)
        perm = torch.randperm(len(self.lengths), generator=gen).tolist()
        size = self.mega * self.batch_size
        full, tail = [], []
        for start in range(0, len(perm), size):
            chunk = sorted(perm[start : start + size], key=lambda i: self.lengths[i], reverse=True)
            for b in range(0, len(chunk), self.batch_size):
                (full if len(chunk[b : b + self.batch_size]) == self.batch_size else tail).append(
                    chunk[b : b + self.batch_size]
                )
        order = torch.randperm(len(full), generator=gen).tolist()
        # The one partial batch goes last so every other slice of batch_size indices stays one sorted batch.
        return [full[i] for i in order] + tail

    def __iter__(self):
        batches = self.batches(self.epoch)
        self.epoch += 1
        return iter([i for b in batches for i in b])


def head_parameter_names(model: torch.nn.Module) -> list[str]:
    """The freshly initialised parameters: the classification head, plus whatever else the checkpoint lacked.

    e5 ships no pooler, so with CLS pooling `bert.pooler.*` starts random too (build_model records the checkpoint's
    missing keys as `model.tfgbv_new_parameters`); a pretrained pooler (mBERT, LaBSE) stays with the encoder.
    """
    new = set(getattr(model, "tfgbv_new_parameters", ()))
    return [n for n, _ in model.named_parameters() if n.startswith(HEAD_PREFIXES) or n in new]


def split_head_param_groups(optimizer: torch.optim.Optimizer, model: torch.nn.Module, head_lr: float) -> int:
    """Move the freshly initialised parameters (head_parameter_names) into their own groups with learning rate
    `head_lr`.

    The head starts from random weights while the encoder is pretrained: a larger step for the head alone lets a
    small encoder leave the all-negative start faster on imbalanced labels without disturbing the encoder.
    Returns the number of head tensors moved. Weight decay settings of each original group are kept.
    """
    names = set(head_parameter_names(model))
    head_ids = {id(p) for n, p in model.named_parameters() if n in names and p.requires_grad}
    if not head_ids:
        raise ValueError(f"trainer.head_learning_rate is set but the model has no parameters named {HEAD_PREFIXES}")
    new_groups = []
    for group in optimizer.param_groups:
        head = [p for p in group["params"] if id(p) in head_ids]
        if head:
            group["params"] = [p for p in group["params"] if id(p) not in head_ids]
            new_groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": head, "lr": head_lr})
    optimizer.param_groups[:] = [g for g in optimizer.param_groups if g["params"]]
    for g in new_groups:
        optimizer.add_param_group(g)
    return sum(len(g["params"]) for g in new_groups)


class MaskedBCETrainer(Trainer):
    """Trainer whose loss ignores labels that a source did not annotate (value -1)."""

    def __init__(
        self,
        *args,
        pos_weight: list[float] | None = None,
        head_learning_rate: float | None = None,
        length_batches: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self._pos_weight = torch.tensor(pos_weight, dtype=torch.float32) if pos_weight else None
        self._head_lr = head_learning_rate
        self._length_batches = length_batches
        self._frozen_cache: tuple[torch.nn.Module, list[torch.nn.Module]] | None = None

    def _get_train_sampler(self, train_dataset=None):
        ds = self.train_dataset if train_dataset is None else train_dataset
        if self._length_batches and ds is not None and "length" in getattr(ds, "column_names", []):
            # Under DDP each optimizer step's batch is one sorted run of `world_size` per-device batches, handed out
            # one per rank (accelerate's batch sharding), so N processes see the batches one process of N times the
            # per-device batch would; with one process this is the per-device batch.
            batch = self.args.train_batch_size * self.args.world_size
            return ShuffledLengthBatches(ds["length"], batch, seed=self.args.seed)
        return super()._get_train_sampler(train_dataset)

    def _get_eval_sampler(self, eval_dataset):
        # Order does not change dev metrics (predictions and labels travel together); longest-first halves padding.
        if self._length_batches and eval_dataset is not None and "length" in getattr(eval_dataset, "column_names", []):
            lengths = eval_dataset["length"]
            return sorted(range(len(lengths)), key=lambda i: -lengths[i])
        return super()._get_eval_sampler(eval_dataset)

    def create_optimizer(self, model=None):
        optimizer = super().create_optimizer(model)
        if self._head_lr is not None and not getattr(optimizer, "_tfgbv_head_group", False):
            split_head_param_groups(optimizer, self.model if model is None else model, self._head_lr)
            optimizer._tfgbv_head_group = True
        return optimizer

    def _frozen_modules(self, model) -> list[torch.nn.Module]:
        # Frozen blocks (model.freeze_layers) run as fixed feature extractors, without dropout.
        if self._frozen_cache is None or self._frozen_cache[0] is not model:
            self._frozen_cache = (model, frozen_modules(model))
        return self._frozen_cache[1]

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.pop("labels")
        inputs.pop("length", None)
        if model.training:  # Trainer switches the whole model to train mode before every step
            for module in self._frozen_modules(model):
                module.eval()
        outputs = model(**inputs)
        pw = self._pos_weight.to(outputs.logits.device) if self._pos_weight is not None else None
        loss = masked_bce_loss(outputs.logits.float(), labels.float(), pw)
        return (loss, outputs) if return_outputs else loss


# ----------------------------------------------------------------------------- the run, in steps


class CurvePoints(TrainerCallback):
    """Asks the Trainer to evaluate dev at `n` evenly spaced steps (the last one included)."""

    def __init__(self, n: int):
        self.n = n
        self.steps: set[int] = set()

    def on_train_begin(self, args, state, control, **kwargs):
        total = max(1, state.max_steps)
        self.steps = {max(1, round(total * (i + 1) / self.n)) for i in range(self.n)}

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step in self.steps:
            control.should_evaluate = True
        return control


def training_arguments(
    spec: TrainSpec, output_dir: Path, seed: int, plan: DevicePlan, has_eval: bool, report_to: str = "none"
) -> TrainingArguments:
    """Hugging Face TrainingArguments for `spec` on the device `plan` chose; checkpoints (and best-model selection)
    only when dev is evaluated."""
    strategy = spec.eval_strategy if has_eval else "no"
    return TrainingArguments(
        output_dir=str(output_dir),
        learning_rate=spec.learning_rate,
        num_train_epochs=spec.num_train_epochs,
        max_steps=spec.max_steps,
        per_device_train_batch_size=spec.per_device_train_batch_size,
        per_device_eval_batch_size=spec.per_device_eval_batch_size,
        gradient_accumulation_steps=spec.gradient_accumulation_steps,
        weight_decay=spec.weight_decay,
        warmup_steps=spec.warmup_ratio,
        lr_scheduler_type=spec.lr_scheduler_type,
        max_grad_norm=spec.max_grad_norm,
        bf16=plan.bf16,
        fp16=plan.fp16,
        tf32=plan.tf32,
        use_cpu=plan.use_cpu,
        train_sampling_strategy="random",  # group_by_length: ShuffledLengthBatches, set on the trainer
        eval_strategy=strategy,
        eval_steps=spec.eval_steps,
        save_strategy=strategy,
        save_steps=spec.eval_steps,
        save_total_limit=1,
        save_only_model=True,
        load_best_model_at_end=has_eval,
        metric_for_best_model="macro_f1" if has_eval else None,
        greater_is_better=True,
        logging_steps=spec.logging_steps,
        report_to=report_to,
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=plan.dataloader_num_workers,
        dataloader_pin_memory=plan.dataloader_pin_memory,
        # DDP (several processes): frozen parameters have requires_grad=False and DDP leaves them out, and every
        # trainable one is used in each step, so the per-step search for unused parameters is not needed.
        ddp_find_unused_parameters=False,
        ddp_backend="gloo" if plan.use_cpu and world_size() > 1 else None,
        remove_unused_columns=False,
        disable_tqdm=not progress_bar_wanted(),
    )


def resolve_pos_weight(spec: TrainSpec, y_train: np.ndarray) -> list[float] | None:
    """The BCE positive-class weights `spec.pos_weight` asks for: none, "auto" (from the training labels) or a list."""
    if spec.pos_weight == "auto":
        return compute_pos_weight(y_train, spec.pos_weight_cap)
    if isinstance(spec.pos_weight, (list, tuple)):
        return [float(x) for x in spec.pos_weight]
    return None


def dev_macro_f1(eval_pred) -> dict[str, float]:
    """Early-stopping metric: macro F1 at 0.5 on dev (uncalibrated; thresholds are tuned after training)."""
    logits, labels = eval_pred
    logits = logits[0] if isinstance(logits, tuple) else logits
    prob = sigmoid(np.asarray(logits, dtype=np.float64))
    return {"macro_f1": macro_f1_at(np.asarray(labels), prob, [0.5] * len(LABELS))}


def fine_tune(
    model,
    tokenizer,
    data: LoadedData,
    prep,
    spec: TrainSpec,
    run_dir: Path,
    seed: int,
    tracker: Tracker | None = None,
    plan: DevicePlan | None = None,
):
    """Run the Trainer on the training records (dev for early stopping if configured); returns (model, train info,
    log history). Checkpoints are removed afterwards unless `keep_checkpoints`. `tracker`: where the Trainer also
    reports (logger=...); `plan`: the device (default: device_plan(spec.bf16, spec.use_cpu))."""
    epoch_recs = data.training_records()  # sources with train_repeat > 1 appear that many times
    train_ds = make_dataset(epoch_recs, tokenizer, prep, prep.max_length)
    dev_recs = data.splits["dev"]
    dev_ds = make_dataset(dev_recs, tokenizer, prep, prep.max_length) if dev_recs else None
    pos_weight = resolve_pos_weight(spec, labels_matrix(epoch_recs))
    plan = plan or device_plan(spec.bf16, spec.use_cpu)
    has_eval = dev_ds is not None and spec.eval_strategy != "no"
    ckpt_dir = run_dir / rundir.CHECKPOINTS
    callbacks = (
        [EarlyStoppingCallback(early_stopping_patience=spec.early_stopping_patience)]
        if has_eval and spec.early_stopping_patience
        else []
    )
    curve = dev_ds is not None and spec.curve_points > 0
    if curve:
        callbacks.append(CurvePoints(spec.curve_points))
    if tracker is not None:
        callbacks.extend(tracker.callbacks())
    args = training_arguments(spec, ckpt_dir, seed, plan, has_eval, tracker.report_to if tracker else "none")
    batch = batch_sizes(args)
    log.info(
        "training on %s: effective batch %d = %d per device x %d process(es) x %d accumulation step(s)",
        plan.device,
        batch["effective_batch_size"],
        batch["per_device_train_batch_size"],
        batch["processes"],
        batch["gradient_accumulation_steps"],
    )
    trainer = MaskedBCETrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=dev_ds,
        data_collator=DataCollatorWithPadding(tokenizer),  # pads each batch to its longest
        compute_metrics=dev_macro_f1 if has_eval or curve else None,
        callbacks=callbacks,
        pos_weight=pos_weight,
        head_learning_rate=spec.head_learning_rate,
        length_batches=spec.group_by_length,
    )
    t0 = time.time()
    result = trainer.train()
    info = {
        "seconds": round(time.time() - t0, 1),
        "steps": result.global_step,
        "train_loss": float(result.training_loss),
        "rows": len(data.splits["train"]),
        "rows_per_epoch": len(epoch_recs),
        "bf16": plan.bf16,
        "pos_weight": pos_weight,
        "device": plan.device,
        **({"fp16": True} if plan.fp16 else {}),
        **batch,
    }
    if not spec.keep_checkpoints and is_main_process():
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return trainer.model.eval(), info, trainer.state.log_history


def batch_sizes(args: TrainingArguments) -> dict[str, int]:
    """Rows per optimizer step: per-device batch x processes x gradient accumulation steps."""
    per_device, processes, accumulation = (
        args.per_device_train_batch_size,
        args.world_size,
        args.gradient_accumulation_steps,
    )
    return {
        "per_device_train_batch_size": per_device,
        "processes": processes,
        "gradient_accumulation_steps": accumulation,
        "effective_batch_size": per_device * processes * accumulation,
    }


def train(
    data: LoadedData,
    model_spec: ModelSpec,
    train_spec: TrainSpec,
    run_dir: str | Path,
    seed: int = 42,
    resolved_config: dict | None = None,
    cache_dir: str | Path | None = None,
    shared_datasets: str | Path | None = None,
    score_test: bool = True,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    """Fine-tune, then calibrate and tune thresholds on dev only, and write the run directory; returns a summary.

    `score_test=False` leaves the test split to the evaluation that follows (it scores it anyway, with CIs and slices).
    Under torchrun every rank trains; only rank 0 writes the run directory (the others return after training with
    `{"run_dir", "rank"}`).
    """
    main = is_main_process()
    run_dir = start_run(run_dir, data, resolved_config) if main else Path(run_dir)
    plan = device_plan(train_spec.bf16, train_spec.use_cpu)
    if train_spec.num_threads and not plan.cuda:  # a CPU choice: a GPU run keeps torch's default
        torch.set_num_threads(train_spec.num_threads)
    if train_spec.train_all_layers:
        model_spec = replace(model_spec, freeze_embeddings=False, freeze_layers=0)
    seed_everything(seed)
    if model_spec.text.keyboard_restore:  # counted from the shared Tajik text (seconds), then saved with the model
        model_spec.text.attach_restorer(build_keyboard_restorer(shared_datasets))
    if model_spec.text.persian_view:  # trained once per machine and data (cached), then saved with the model
        model_spec.text.attach_persian_view(load_persian_view(shared_datasets, cache_dir))
    tokenizer, model = build_model(model_spec, [r["text"] for r in data.splits["train"]], cache_dir=cache_dir)
    tokenizer = from_rank0(tokenizer)  # torchrun: one vocabulary (DDP gives every rank rank 0's weights itself)
    prep = model_spec.text
    coverage = _coverage(tokenizer, data, prep) if main else None
    if coverage is not None:
        write_json(run_dir / rundir.COVERAGE, coverage)
    model, train_info, history = fine_tune(model, tokenizer, data, prep, train_spec, run_dir, seed, tracker, plan)
    if not main:
        return {"run_dir": str(run_dir), "rank": rank()}

    batch = train_spec.per_device_eval_batch_size

    def predict(texts):
        return predict_logits(model, tokenizer, list(texts), prep, batch)

    dev_recs = data.splits["dev"]
    decisions, dev_prob = fit_decisions(
        predict([r["text"] for r in dev_recs]) if dev_recs else None,
        labels_matrix(dev_recs),
        len(LABELS),
        train_spec.calibrate,
        train_spec.threshold_grid,
    )
    meta = {
        "kind": "transformer",
        "labels": list(LABELS),
        **decisions_meta(decisions),
        **spec_to_meta(model_spec),
        "trained_on": data.files and sorted({f["source"] for f in data.files}),
    }
    model_dir = save_model_dir(model, tokenizer, rundir.model_dir(run_dir), meta, text_prep=prep)
    write_decisions(run_dir, decisions)
    metrics = {
        "train": train_info,
        **split_reports(
            data, lambda t: apply_temperature(predict(t), decisions.temperatures), decisions, dev_prob, score_test
        ),
    }
    finish_run(run_dir, metrics, history)
    log.info("run written to %s (%.0f s)", run_dir, train_info["seconds"])
    return {"run_dir": str(run_dir), "model_dir": str(model_dir), "metrics": metrics, "thresholds": meta["thresholds"]}


def _coverage(tokenizer, data: LoadedData, prep) -> dict | None:
    """Tokenizer coverage (unknown-token rate, tokens per word) per language on all loaded texts."""
    recs = [r for split in data.splits.values() for r in split]
    return tokenizer_coverage(tokenizer, prep.many([r["text"] for r in recs]), [r["lang"] for r in recs])


__all__ = ["TrainSpec", "masked_bce_loss", "compute_pos_weight", "train"]
