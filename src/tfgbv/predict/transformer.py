"""Scoring: load a run once, predict many texts fast (length-sorted batches, per-batch padding, inference mode).

Over-long texts are never silently truncated: they are cut into overlapping windows of `max_length` tokens
(stride `WINDOW_STRIDE`) and each label takes the maximum logit over the windows, so abuse at the end of a
long comment still counts.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch._inductor import config as inductor_config

from tfgbv.env import cpu_bf16_supported
from tfgbv.labels import LABELS
from tfgbv.models.attention import use_cpu_attention
from tfgbv.models.build import load_model_dir, resolve_model_dir, text_prep_from_meta
from tfgbv.models.int8 import quantise_int8, recorded_input_ranges, smooth_linears
from tfgbv.predict.base import (
    MAX_TEXT_CHARS,
    calibrated_proba,
    checked_texts,
    labelled_predictions,
    model_identifier,
    probe_texts,
)

log = logging.getLogger(__name__)
# Inductor's int8 lowering copies a tensor the way it warns users not to, once per quantised linear at compile time.
warnings.filterwarnings(
    "ignore", message="To copy construct from a tensor", module=r"torch\._inductor\.mkldnn_lowerings"
)

WINDOW_STRIDE = 32  # tokens shared by consecutive windows of an over-long text (at most a quarter of the window)


def encode(tokenizer, texts: Sequence[str], max_length: int):
    """Token ids per window and, for each window, the index of its text."""
    stride = min(WINDOW_STRIDE, max(0, max_length // 4))  # tokenizers require stride < window minus special tokens
    enc = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    owner = enc.get("overflow_to_sample_mapping")
    if owner is None:  # slow tokenizers do not report overflow: one window per text
        owner = list(range(len(texts)))
    return enc["input_ids"], list(owner)


# Padded tokens per batch. On CPU a batch of ~2k tokens keeps the activations of one layer in cache while giving the
# bf16/AMX matrix units rows enough to fill; larger batches were slower here (docs/bench.md). Short texts therefore
# go ~100 to a batch, long ones ~16.
DEFAULT_BATCH_TOKENS = 2048


def length_batches(lengths: Sequence[int], max_rows: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Window indices sorted by length and cut into batches of at most `max_rows` rows and, if given, at most
    `max_tokens` padded tokens (rows x longest window); a window longer than the budget gets a batch of its own."""
    lengths = np.asarray(lengths)
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while (
            end < len(order)
            and end - start < max_rows
            and (max_tokens is None or (end - start + 1) * lengths[order[end]] <= max_tokens)
        ):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def window_outputs(
    forward,
    tokenizer,
    texts: Sequence[str],
    prep,
    width: int,
    batch_size: int = 64,
    max_batch_tokens: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """([windows, width] outputs of `forward(input_ids, attention_mask)`, the text index of each window).

    Texts are preprocessed with `prep`, cut into windows, sorted by length and padded per batch (`batch_size` rows at
    most, and `max_batch_tokens` padded tokens if given), so every consumer (logits, embeddings) batches the same way.
    """
    ids, owner = encode(tokenizer, prep.many(texts), prep.max_length)
    out = np.empty((len(ids), width), dtype=np.float32)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for idx in length_batches([len(x) for x in ids], batch_size, max_batch_tokens):
        longest = max(len(ids[i]) for i in idx)
        input_ids = np.full((len(idx), longest), pad_id, dtype=np.int64)
        attention = np.zeros((len(idx), longest), dtype=np.int64)
        for row, i in enumerate(idx):
            input_ids[row, : len(ids[i])] = ids[i]
            attention[row, : len(ids[i])] = 1
        out[idx] = forward(input_ids, attention)
    return out, np.asarray(owner)


def predict_windows(
    forward,
    tokenizer,
    texts: Sequence[str],
    prep,
    n_labels: int,
    batch_size: int = 64,
    max_batch_tokens: int | None = None,
) -> np.ndarray:
    """[N, L] logits from any backend: `forward(input_ids, attention_mask)` (int64 numpy arrays) -> logits array.

    Each text takes the maximum logit over its windows (see window_outputs).
    """
    if len(texts) == 0:
        return np.zeros((0, n_labels), dtype=np.float32)
    window_logits, owner = window_outputs(forward, tokenizer, texts, prep, n_labels, batch_size, max_batch_tokens)
    logits = np.full((len(texts), n_labels), -np.inf, dtype=np.float32)
    np.maximum.at(logits, owner, window_logits)
    return logits


def torch_forward(model):
    """A `forward` for predict_windows running a PyTorch model in inference mode, in the model's own dtype (a bf16
    model computes in bf16: its weights were cast once, not on every call as autocast would). A compiled model is
    compiled with Inductor's freezing on (see `compiled`)."""
    device = next(model.parameters()).device
    model.eval()

    def forward(input_ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), inductor_config.patch(freezing=True):
            out = model(
                input_ids=torch.from_numpy(input_ids).to(device), attention_mask=torch.from_numpy(attention).to(device)
            )
        return out.logits.float().cpu().numpy()

    return forward


def predict_logits(
    model, tokenizer, texts: Sequence[str], prep, batch_size: int = 64, max_batch_tokens: int | None = None
) -> np.ndarray:
    """[N, L] logits of a PyTorch model (see predict_windows)."""
    forward = torch_forward(model)
    return predict_windows(forward, tokenizer, texts, prep, model.config.num_labels, batch_size, max_batch_tokens)


def compiled(model):
    """`torch.compile` for CPU inference with dynamic shapes (every batch has its own length). Falls back to the eager
    model, with a warning, where compilation is not possible (e.g. no C++ compiler for Inductor).

    Weight freezing (weights folded into the graph and pre-packed for oneDNN, GELU fused into the linear) is read from
    Inductor's global config when a graph is compiled, i.e. at the first call and at each recompilation, not from
    `torch.compile(options=...)`, which left the linears unpacked here: so torch_forward and graph_forward turn it on
    around every call."""
    try:
        return torch.compile(model, dynamic=True)
    except Exception as err:  # torch.compile raises many kinds of errors; the eager model is always correct
        log.warning("torch.compile unavailable (%s: %s); scoring with the eager model", type(err).__name__, err)
        return model


def graph_forward(graph, bf16: bool = False):
    """A `forward` for predict_windows running an exported `(input_ids, attention_mask) -> logits` graph; `bf16`
    computes its floating-point operations under bf16 autocast. Freezing as in torch_forward (see `compiled`): for
    int8 it is what lowers the quantised linears to oneDNN int8 kernels."""

    def forward(input_ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        with (
            torch.no_grad(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
            inductor_config.patch(freezing=True),
        ):
            out = graph(torch.from_numpy(input_ids), torch.from_numpy(attention))
        return out.float().numpy()

    return forward


def int8_forward(
    model, tokenizer, prep, calibration_texts: Sequence[str], batch_size: int = 64, max_batch_tokens: int | None = None
):
    """A `forward` for predict_windows scoring with an int8 version of the fp32 `model` (tfgbv.models.int8), compiled.

    The texts calibrate it twice, batched as scoring batches them: once for the smoothing ranges, once for the
    quantisation observers. The floating-point rest (attention, LayerNorm, GELU, head) runs in bf16 where the CPU has
    it. `model` itself is modified (its encoder linears smoothed): load a fresh one for other uses.
    """
    if not calibration_texts:
        raise ValueError("int8 needs calibration texts (none given)")
    n_labels = model.config.num_labels
    with recorded_input_ranges(model) as ranges:
        predict_logits(model, tokenizer, calibration_texts, prep, batch_size, max_batch_tokens)
    smooth_linears(model, ranges)

    def calibrate(prepared) -> None:
        predict_windows(
            graph_forward(prepared), tokenizer, calibration_texts, prep, n_labels, batch_size, max_batch_tokens
        )

    graph = quantise_int8(model, calibrate)
    return graph_forward(compiled(graph), bf16=cpu_bf16_supported())  # int8 runs on the CPU


def scoring_device(device: str | None = None) -> torch.device:
    """`device` if given, else CUDA where there is a GPU, else the CPU."""
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


class Classifier:
    """Load once, predict many: `Classifier.from_pretrained(run_or_model_dir).predict(texts)`.

    Probabilities are calibrated with the run's per-label temperatures; labels use the run's dev-tuned thresholds.
    `predict_logits` returns uncalibrated logits (what the temperatures divide) whether or not the saved model has the
    temperatures folded into its output layer, so every consumer divides exactly once.
    Texts longer than `max_chars` characters are refused with a ValueError (see MAX_TEXT_CHARS).
    `int8=True` scores with a smoothed, statically quantised, compiled int8 model calibrated at load on
    `calibration_texts` (default: the bundled corpus, tfgbv.predict.base.probe_texts); about a minute once per process.
    """

    max_chars: int = MAX_TEXT_CHARS

    def __init__(
        self,
        tokenizer,
        model,
        meta: dict[str, Any],
        model_dir: str | Path,
        batch_size: int = 256,
        bf16: bool | str = False,
        num_threads: int | None = None,
        compile: bool = False,
        batch_tokens: int | None = DEFAULT_BATCH_TOKENS,
        int8: bool = False,
        calibration_texts: Sequence[str] | None = None,
        device: str | None = None,
    ):
        # `device`: None = CUDA where there is a GPU, else the CPU. The CPU-only choices (thread count, the CPU
        # attention, int8, the CPU's bf16 answer) are never taken on CUDA.
        self.device = scoring_device(device) if model is not None else torch.device("cpu")
        cuda = self.device.type == "cuda"
        if num_threads and not cuda:
            torch.set_num_threads(num_threads)
        self.tokenizer, self.model, self.meta = tokenizer, model, meta
        self.model_dir = Path(model_dir)
        self.labels: list[str] = list(meta["labels"])
        if self.labels != list(LABELS):
            log.warning("model labels %s differ from this package's %s", self.labels, list(LABELS))
        self.thresholds = np.array([meta["thresholds"][lab] for lab in self.labels], dtype=np.float32)
        temps = meta.get("temperatures") or {}
        self.temperatures = np.array([temps.get(lab, 1.0) for lab in self.labels], dtype=np.float32)
        # Folded models output logit / T already (tfgbv.models.hf_format); multiplying back gives the uncalibrated
        # logit. Run dirs saved before folding existed have no flag and output the uncalibrated logit themselves.
        folded = bool(meta.get("temperatures_folded", False))
        self.logit_scale = self.temperatures.copy() if folded else np.ones_like(self.temperatures)
        self.prep = text_prep_from_meta(meta, model_dir)
        self.batch_size, self.batch_tokens = batch_size, batch_tokens
        if bf16 == "auto":
            bf16 = torch.cuda.is_bf16_supported() if cuda else cpu_bf16_supported()
        if int8 and cuda:
            log.warning("int8 scoring runs on the CPU only (oneDNN kernels): ignored on %s", self.device)
        self.int8 = bool(int8) and model is not None and not cuda
        self.bf16 = bool(bf16) and not self.int8  # int8 quantises the fp32 weights (and computes the rest in bf16)
        if self.bf16:  # weights stored in bf16 once: no per-call re-casting of fp32 weights (as autocast does)
            self.model = self.model.to(torch.bfloat16)
        if cuda:
            self.model = self.model.to(self.device)
        elif self.model is not None:  # fp32-softmax attention: same scores, faster in bf16 (tfgbv.models.attention)
            use_cpu_attention(self.model)
        self.compiled = (bool(compile) or self.int8) and model is not None
        if self.int8:
            texts = probe_texts() if calibration_texts is None else calibration_texts
            self._forward = int8_forward(self.model, tokenizer, self.prep, texts, batch_size, batch_tokens)
        else:
            self._forward = (
                None if model is None else torch_forward(compiled(self.model) if self.compiled else self.model)
            )
        self._id: str | None = None

    @classmethod
    def from_pretrained(cls, path: str | Path, revision: str | None = None, **kwargs) -> "Classifier":
        """`path`: a run directory, its model/ directory, or a Hugging Face Hub repo id ("owner/name", fetched with
        huggingface_hub and cached; `revision` pins a branch, tag or commit). Local paths are tried first."""
        model_dir = resolve_model_dir(path, revision)
        tokenizer, model, meta = load_model_dir(model_dir)
        return cls(tokenizer, model, meta, model_dir, **kwargs)

    @property
    def model_id(self) -> str:
        """The model's content hash, the same whatever the precision (see `precision`) and as the card says."""
        if self._id is None:
            self._id = model_identifier(self.model_dir, self.meta)
        return self._id

    @property
    def precision(self) -> str:
        """How it computes: "fp32", "bf16" or "int8" (scores differ slightly; score files record it next to the id)."""
        return "int8" if self.int8 else "bf16" if self.bf16 else "fp32"

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """[N, L] uncalibrated logits (max over windows)."""
        texts = checked_texts(texts, self.max_chars)
        n_labels = len(self.labels)
        logits = predict_windows(
            self._forward, self.tokenizer, texts, self.prep, n_labels, self.batch_size, self.batch_tokens
        )
        return logits * self.logit_scale

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return calibrated_proba(self, texts)

    def predict(self, texts: Sequence[str] | str) -> list[dict[str, Any]] | dict[str, Any]:
        return labelled_predictions(self, texts)
