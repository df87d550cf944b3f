"""Inference and training speed benchmark (scripts/bench.py, `make bench`): one process, one model, one text set.

Inference: the naive `transformers.pipeline("text-classification", batch_size=32)` fp32 baseline against our backends
(PyTorch fp32, bf16 weights, compiled bf16, compiled static int8; ONNX Runtime fp32 and int8): texts/s, ratio to the
baseline, peak RSS, label agreement with PyTorch fp32, and efficiency against this machine's measured matrix-multiply
peak (FLOPs per text ~= 2 x parameters outside the embeddings x tokens scored; attention's own T^2 term is left out,
so the efficiency is slightly understated).
Training: samples/s of our training step against a plain `Trainer` with the
Hugging Face example defaults. Ray: throughput with 1 and 2 actors.
"""

from __future__ import annotations

import datetime
import glob
import json
import logging
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import datasets
import numpy as np
import psutil
import torch
from transformers import (
    AutoModelForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    pipeline,
)

from tfgbv import rundir
from tfgbv.data.records import jsonl_objects
from tfgbv.data.sources import DataValidationError, read_table
from tfgbv.env import bf16_supported, cpu_flags, cpu_model
from tfgbv.io import write_jsonl, write_text
from tfgbv.labels import LABELS
from tfgbv.metrics.decision import apply_temperature
from tfgbv.models.build import build_model, find_model_dir, resolve_pretrained_path, save_model_dir, spec_to_meta
from tfgbv.predict.base import MAX_TEXT_CHARS
from tfgbv.predict.files import ScoreSpec
from tfgbv.predict.onnx_backend import FILES, OnnxClassifier, export_onnx
from tfgbv.predict.precision import COMPILE_MIN_ROWS, int8_choice_key, provenance, record_choice
from tfgbv.predict.ray_engine import score_with_ray
from tfgbv.predict.transformer import Classifier, encode
from tfgbv.train.transformer import MaskedBCETrainer, make_dataset

log = logging.getLogger(__name__)

BACKENDS = (
    "pipeline_fp32",
    "torch_fp32",
    "torch_bf16",
    "torch_bf16_compiled",
    "torch_int8_compiled",
    "onnx_fp32",
    "onnx_int8",
)


@dataclass
class BenchSpec:
    """Sizes and switches (Hydra config `bench.yaml`)."""

    # A trained run / model dir (agreement on a trained model's scores is what users see); None, or a path that does
    # not exist, = e5-small with a fresh untrained head (its scores all sit near 0.5, the threshold: a harsh test)
    model_dir: str | None = None
    texts: list[str] = field(
        default_factory=lambda: ["data/seed/*.jsonl", "data/seed/parts/*.jsonl"]
    )  # globs; the first that matches is used
    n_texts: int = 5000  # corpus texts repeated up to this many
    backends: list[str] = field(default_factory=lambda: list(BACKENDS))
    warmup_texts: int = 1000  # scored once, untimed, by every backend first (kernels for each batch shape get built)
    timing_repeats: int = 2  # timed passes over the texts per backend; the fastest is reported
    batch_size: int = 256  # our backends: rows per batch at most ...
    batch_tokens: int | None = 2048  # ... and padded tokens per batch at most (tfgbv.predict.transformer)
    baseline_batch_size: int = 32  # the naive pipeline
    num_threads: int | None = None  # torch / ORT threads; None = all cores
    matmul_size: int = 2048
    train_steps: int = 20  # 0 = skip the training comparison
    train_warmup_steps: int = 3
    train_batch_size: int = 16
    cli_rows: int = 20000  # rows scored by scripts/predict.py end to end (0 = skip)
    ray_texts: int = 2000  # 0 = skip the Ray measurement
    ray_actors: list[int] = field(default_factory=lambda: [1, 2])
    min_agreement: float = 0.995  # a backend must agree this well with fp32 PyTorch to be recommended
    # Real text on which every backend's labels are also compared with fp32 PyTorch (untimed): name -> {path,
    # text_column, column_names (header-less CSV)}; the first `agreement_texts` non-empty texts of each file.
    agreement_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    agreement_texts: int = 2000
    cache_dir: str | None = None
    out_json: str = "docs/bench.json"
    out_md: str = "docs/bench.md"
    command: str = "python scripts/bench.py"


# ----------------------------------------------------------------------------- measuring helpers


class PeakRss:
    """Peak resident memory of this process while the block runs (sampled every 10 ms by a thread), in MiB."""

    def __enter__(self) -> "PeakRss":
        self._proc = psutil.Process()
        self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def mib(self) -> float:
        return round(self.peak / 2**20, 1)


def matmul_peak_gflops(dtype_name: str, n: int = 2048, seconds: float = 3.0) -> float:
    """Measured GFLOP/s of an n x n torch.matmul in fp32 or bf16 (best of repeated runs)."""
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        torch.matmul(a, b)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return round(best, 1)


def load_texts(globs: Sequence[str], n: int, root: Path) -> tuple[list[str], str]:
    """`n` texts from the first glob that matches (repeated if fewer); returns (texts, description)."""
    for pattern in globs:
        files = sorted(glob.glob(str(root / pattern)))
        texts = [rec["text"] for f in files for rec in jsonl_objects(f)]
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
        if texts:
            reps = -(-n // len(texts))
            return (texts * reps)[:n], f"{len(texts)} unique texts from {pattern} ({len(files)} files), repeated to {n}"
    raise FileNotFoundError(f"no texts found under {root} for {list(globs)}")


def non_embedding_params(model) -> int:
    """Parameters outside the embedding tables (those do lookups, not matrix products)."""
    emb = sum(p.numel() for n, p in model.named_parameters() if ".embeddings." in f".{n}")
    return sum(p.numel() for p in model.parameters()) - emb


def tokens_scored(tokenizer, prep, texts: Sequence[str]) -> int:
    """Tokens our backends feed the model (all windows, no padding)."""
    ids, _ = encode(tokenizer, prep.many(texts), prep.max_length)
    return int(sum(len(x) for x in ids))


def agreement(probs: np.ndarray, ref: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """Label agreement (all texts x labels) and max abs probability difference against a reference."""
    same = (probs >= thresholds) == (ref >= thresholds)
    return {
        "label_agreement": round(float(same.mean()), 5),
        "label_agreement_per_label": {lab: round(float(same[:, j].mean()), 5) for j, lab in enumerate(LABELS)},
        "max_abs_prob_diff": round(float(np.abs(probs - ref).max()), 5),
    }


# ----------------------------------------------------------------------------- model


def load_agreement_sets(spec: BenchSpec) -> dict[str, list[str]]:
    """{name: texts} of `spec.agreement_sets`; a set whose file is missing is left out with a warning (the bench still
    runs on a machine without the shared datasets)."""
    sets: dict[str, list[str]] = {}
    for name, where in spec.agreement_sets.items():
        unknown = set(where) - {"path", "text_column", "column_names"}
        if unknown or "path" not in where or "text_column" not in where:
            raise ValueError(f"bench agreement_sets.{name}: needs path and text_column (and optional column_names)")
        try:
            table = read_table(where["path"], column_names=where.get("column_names"))
        except DataValidationError as err:
            log.warning("bench: agreement set %s left out (%s)", name, err)
            continue
        texts = [t for t in (row.get(where["text_column"]) for row in table) if isinstance(t, str) and t.strip()]
        sets[name] = [t[:MAX_TEXT_CHARS] for t in texts[: spec.agreement_texts]]
    return sets


def prepare_model(spec: BenchSpec, model_spec, root: Path) -> tuple[Path, str]:
    """The model dir to benchmark: the given run, or e5-small with a fresh head saved once under the cache dir."""
    if spec.model_dir and Path(spec.model_dir).expanduser().exists():
        return find_model_dir(spec.model_dir), f"trained run {spec.model_dir}"
    if spec.model_dir:
        log.warning("bench: %s does not exist; benchmarking a fresh untrained head instead", spec.model_dir)
    cache = Path(spec.cache_dir or os.environ.get("TFGBV_CACHE", Path.home() / ".cache" / "tfgbv"))
    out = cache / f"bench-{model_spec.short_name}-fresh-head"
    if not (out / rundir.WEIGHTS).exists():
        torch.manual_seed(0)
        tokenizer, model = build_model(model_spec, cache_dir=cache)
        meta = {
            "kind": "transformer",
            "labels": list(LABELS),
            "thresholds": {lab: 0.5 for lab in LABELS},
            "temperatures": {lab: 1.0 for lab in LABELS},
            **spec_to_meta(model_spec),
            "trained_on": [],
        }
        save_model_dir(model, tokenizer, out, meta)
    return out, (
        f"{model_spec.short_name} ({model_spec.name_or_path}) converted offline, with a fresh untrained "
        f"classification head (throughput does not depend on the head; agreement is measured on its scores)"
    )


# ----------------------------------------------------------------------------- inference


def _time(
    fn: Callable[[list[str]], np.ndarray], texts: list[str], warmup: int, repeats: int = 1
) -> tuple[np.ndarray, list[float], float]:
    """(probabilities, seconds of each of `repeats` timed passes over `texts`, peak RSS) after one untimed warm-up
    pass over `warmup` texts. The fastest pass is the one reported: on a shared machine other jobs only ever slow a
    pass down, so the minimum is the least disturbed measurement (as timeit does)."""
    fn(texts[: max(1, warmup)])
    passes = []
    with PeakRss() as rss:
        for _ in range(max(1, repeats)):
            t = time.perf_counter()
            probs = fn(texts)
            passes.append(time.perf_counter() - t)
    return probs, passes, rss.mib


def pipeline_predict(model, tokenizer, batch_size: int, temperatures: np.ndarray) -> Callable[[list[str]], np.ndarray]:
    """The naive baseline: `transformers.pipeline` (fp32, batches in input order, padding to the batch's longest)."""
    pipe = pipeline(
        "text-classification",
        model=model,
        tokenizer=tokenizer,
        batch_size=batch_size,
        device=-1,
        top_k=None,
        function_to_apply="sigmoid",
    )
    id2label = model.config.id2label

    def predict(texts: list[str]) -> np.ndarray:
        out = pipe(list(texts), truncation=True)
        probs = np.array(
            [[{d["label"]: d["score"] for d in row}[id2label[j]] for j in range(len(id2label))] for row in out],
            dtype=np.float64,
        )
        # Same calibration as ours so that agreement compares like with like (the pipeline knows no temperatures).
        logits = np.log(np.clip(probs, 1e-12, 1)) - np.log(np.clip(1 - probs, 1e-12, 1))
        return apply_temperature(logits, temperatures)

    return predict


def _backend_fn(name: str, spec: BenchSpec, model_dir: Path, texts: list[str], threads: int, export_report: dict):
    """(predict_proba of backend `name`, its matmul peak key); each backend is its own classifier in its own
    precision."""
    if name == "pipeline_fp32":
        clf = Classifier.from_pretrained(model_dir, bf16=False)
        # A folded model's pipeline output is calibrated already: only unfolded temperatures remain to apply.
        temps = clf.temperatures / clf.logit_scale
        clf.model.set_attn_implementation("sdpa")  # what a user's pipeline runs (Classifier switched it)
        return pipeline_predict(clf.model, clf.tokenizer, spec.baseline_batch_size, temps), "fp32"
    if name.startswith("torch_"):
        bf16, int8, compile_ = "bf16" in name, "int8" in name, name.endswith("_compiled")
        clf = Classifier.from_pretrained(
            model_dir,
            bf16=bf16,
            int8=int8,
            compile=compile_,
            batch_size=spec.batch_size,
            batch_tokens=spec.batch_tokens,
        )
        # int8 is set against the bf16 peak: what it must beat, and the unit its matrix products replace.
        return clf.predict_proba, "bf16" if bf16 or int8 else "fp32"
    if name in ("onnx_fp32", "onnx_int8"):
        variant = name.split("_")[1]
        onnx_dir = model_dir / rundir.ONNX_DIR
        if not (onnx_dir / FILES[variant]).exists():
            t = time.perf_counter()
            export_report.update(export_onnx(model_dir, onnx_dir, quantize=True, check_texts=texts[:200]))
            export_report["seconds"] = round(time.perf_counter() - t, 1)
        clf = OnnxClassifier.from_pretrained(
            model_dir,
            variant=variant,
            onnx_dir=onnx_dir,
            batch_size=spec.batch_size,
            num_threads=threads,
            batch_tokens=spec.batch_tokens,
        )
        return clf.predict_proba, "fp32"
    raise ValueError(f"unknown backend {name!r}; known: {list(BACKENDS)}")


def bench_inference(
    spec: BenchSpec,
    model_dir: Path,
    texts: list[str],
    peaks: dict[str, float],
    agreement_sets: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    threads = spec.num_threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    ref_clf = Classifier.from_pretrained(model_dir, bf16=False)
    n_tokens = tokens_scored(ref_clf.tokenizer, ref_clf.prep, texts)
    flops_per_token = 2 * non_embedding_params(ref_clf.model)
    thresholds = ref_clf.thresholds
    del ref_clf
    results: dict[str, Any] = {}
    export_report: dict[str, Any] = {}
    ref, set_refs = None, {}
    order = ["torch_fp32"] + [b for b in spec.backends if b != "torch_fp32"]  # the reference first
    for name in order:
        log.info("benchmarking %s on %d texts", name, len(texts))
        t_load = time.perf_counter()
        fn, peak_key = _backend_fn(name, spec, model_dir, texts, threads, export_report)
        t_warm = time.perf_counter()
        probs, passes, rss = _time(fn, texts, spec.warmup_texts, spec.timing_repeats)
        seconds = min(passes)
        warm_s = time.perf_counter() - t_warm - sum(passes)  # the warm-up call: includes torch.compile's compilation
        peak = peaks[peak_key]
        row: dict[str, Any] = {
            "texts_per_s": round(len(texts) / seconds, 1),
            "seconds": round(seconds, 2),
            "seconds_each_pass": [round(x, 2) for x in passes],
            "load_seconds": round(t_warm - t_load, 1),
            "warmup_seconds": round(warm_s, 1),
            "peak_rss_mib": rss,
            "achieved_gflops": round(flops_per_token * n_tokens / seconds / 1e9, 1),
            "peak_gflops_ref": peak,
            "peak_ref": peak_key,
        }
        row["efficiency"] = round(row["achieved_gflops"] / peak, 3)
        set_probs = {k: fn(v) for k, v in (agreement_sets or {}).items()}  # untimed
        if name == "torch_fp32":
            ref, set_refs = probs, set_probs
        row.update(agreement(probs, ref, thresholds))
        row["real_text_agreement"] = {
            k: agreement(p, set_refs[k], thresholds)["label_agreement"] for k, p in set_probs.items()
        }
        results[name] = row
        del fn
    base = results.get("pipeline_fp32", {}).get("texts_per_s")
    for name in order:
        if base:
            results[name]["ratio_to_baseline"] = round(results[name]["texts_per_s"] / base, 2)
    return {
        "backends": results,
        "onnx_export": export_report,
        "tokens_scored": n_tokens,
        "tokens_per_text": round(n_tokens / len(texts), 1),
        "non_embedding_params": flops_per_token // 2,
        "threads": threads,
        "agreement_sets": {k: len(v) for k, v in (agreement_sets or {}).items()},
    }


def bench_cli(spec: BenchSpec, model_dir: Path, texts: list[str], backend: str, root: Path) -> dict[str, Any]:
    """`scripts/predict.py` end to end on `spec.cli_rows` rows (the texts repeated) in a fresh process, with the
    recommended backend's precision: wall time (start-up, model load, reading, scoring, writing) and the scoring
    loop's own time from the run summary."""
    rows = (texts * (spec.cli_rows // max(1, len(texts)) + 1))[: spec.cli_rows]
    bf16, int8 = "bf16" in backend, "int8" in backend
    compile_ = backend.endswith("_compiled")
    with tempfile.TemporaryDirectory(prefix="tfgbv-bench-cli-") as tmp:
        src, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.parquet"
        write_jsonl(src, ({"id": f"r{i}", "text": t} for i, t in enumerate(rows)))
        script = root / "scripts" / "predict.py"
        entry = [str(script)] if script.exists() else ["-c", "from tfgbv.cli.scoring import predict; predict()"]
        cmd = [
            sys.executable,
            *entry,
            f"model_dir={model_dir}",
            f"input={src}",
            f"output={out}",
            "quiet=true",
            f"bf16={str(bf16).lower()}",
            f"compile={str(compile_).lower()}",
            f"int8={str(int8).lower()}",
            f"batch_size={spec.batch_size}",
            f"batch_tokens={spec.batch_tokens}",
        ]
        if spec.num_threads:
            cmd.append(f"num_threads={spec.num_threads}")
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"bench_cli: predict failed ({done.returncode}): {done.stderr[-2000:]}")
        summary = json.loads(Path(str(out) + ".summary.json").read_text(encoding="utf-8"))
    return {
        "rows": len(rows),
        "backend": backend,
        "compiled": compile_,
        "wall_seconds": round(wall, 1),
        "rows_per_s_end_to_end": round(len(rows) / wall, 1),
        "scoring_seconds": summary["seconds"],
        "rows_per_s_scoring": round(len(rows) / summary["seconds"], 1),
    }


def cli_backend(backends: dict[str, Any], recommended: str, rows: int, min_agreement: float) -> str:
    """What `scripts/predict.py` runs by default on `rows` rows: the recommended backend if it is compiled and the
    input is large enough for compile=auto, else the fastest agreeing eager torch backend (int8 runs compiled only)."""
    if recommended.endswith("_compiled") and rows >= COMPILE_MIN_ROWS:
        return recommended
    return recommend({k: v for k, v in backends.items() if k in ("torch_fp32", "torch_bf16")}, min_agreement)


def record_machine_choice(
    backends: dict[str, Any], recommended: str, min_agreement: float, model_dir: Path | None = None
) -> None:
    """Refresh this machine's fp32/bf16 choice, and this model's int8 choice (tfgbv.predict.precision), from this
    fuller measurement."""
    fp32, bf16 = backends.get("torch_fp32"), backends.get("torch_bf16")
    compiled, int8 = backends.get("torch_bf16_compiled"), backends.get("torch_int8_compiled")
    if model_dir is not None and compiled and int8:
        record_choice(
            {
                "int8": int8["texts_per_s"] > compiled["texts_per_s"] and int8["label_agreement"] >= min_agreement,
                "bf16_compiled_texts_per_s": compiled["texts_per_s"],
                "int8_texts_per_s": int8["texts_per_s"],
                "label_agreement": int8["label_agreement"],
                **provenance(min_agreement, "make bench"),
            },
            key=int8_choice_key(model_dir),
        )
    if not (fp32 and bf16):
        return
    record_choice(
        {
            "bf16": bf16["texts_per_s"] > fp32["texts_per_s"] and bf16["label_agreement"] >= min_agreement,
            "fp32_texts_per_s": fp32["texts_per_s"],
            "bf16_texts_per_s": bf16["texts_per_s"],
            "label_agreement": bf16["label_agreement"],
            **provenance(min_agreement, "make bench"),
        }
    )


def recommend(backends: dict[str, Any], min_agreement: float) -> str:
    """The fastest of our backends whose labels agree with fp32 PyTorch at least `min_agreement`."""
    ok = {k: v for k, v in backends.items() if k != "pipeline_fp32" and v["label_agreement"] >= min_agreement}
    return max(ok, key=lambda k: ok[k]["texts_per_s"]) if ok else "torch_fp32"


# ----------------------------------------------------------------------------- training


def _train_records(root: Path, n: int) -> list[dict]:
    rows = (
        jsonl_objects(root / "data" / "seed" / "train.jsonl")
        if (root / "data" / "seed" / "train.jsonl").exists()
        else []
    )
    if not rows:
        rows = [
            rec
            for f in sorted(glob.glob(str(root / "data" / "seed" / "parts" / "*.jsonl")))
            for rec in jsonl_objects(f)
        ]
    return (rows * (-(-n // max(1, len(rows)))))[:n]


def _steps_per_s_callback(warmup: int):
    class Timer(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

        def samples_per_s(self, batch: int) -> float:
            timed = self.ends[warmup:]
            return batch * (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) > 1 else float("nan")

    return Timer()


def bench_training(spec: BenchSpec, model_spec, root: Path, records: list[dict] | None = None) -> dict[str, Any]:
    """samples/s: our step (bf16 where supported, length-grouped dynamic padding, frozen word embedding as configured,
    masked BCE) vs a plain Trainer with the HF example defaults (pad to 128, no grouping, fp32, all weights trained)."""
    steps, batch = spec.train_steps + spec.train_warmup_steps + 1, spec.train_batch_size
    # What `make train` trains on (a seeded sample of the configured data's training rows), else the bundled corpus.
    records = (
        random.Random(0).sample(records, min(len(records), steps * batch))
        if records
        else _train_records(root, steps * batch)
    )
    common = dict(
        max_steps=steps,
        per_device_train_batch_size=batch,
        learning_rate=5e-5,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        seed=0,
    )
    out: dict[str, Any] = {"steps_timed": spec.train_steps, "batch_size": batch}
    tmp = Path(spec.cache_dir or "/tmp") / "bench-train-tmp"

    # Ours.
    torch.manual_seed(0)
    tokenizer, model = build_model(model_spec, cache_dir=spec.cache_dir)
    use_bf16 = bf16_supported()
    ds = make_dataset(records, tokenizer, model_spec.text, model_spec.text.max_length)
    timer = _steps_per_s_callback(spec.train_warmup_steps)
    args = TrainingArguments(output_dir=str(tmp / "ours"), bf16=use_bf16, remove_unused_columns=False, **common)
    with PeakRss() as rss:
        MaskedBCETrainer(
            model=model,
            args=args,
            train_dataset=ds,
            data_collator=DataCollatorWithPadding(tokenizer),
            callbacks=[timer],
            length_batches=True,
        ).train()
    out["ours"] = {
        "samples_per_s": round(timer.samples_per_s(batch), 2),
        "bf16": use_bf16,
        "group_by_length": True,
        "padding": "dynamic (per batch)",
        "frozen_word_embedding": model_spec.freeze_embeddings,
        "max_length": model_spec.text.max_length,
        "peak_rss_mib": rss.mib,
    }
    del model

    # Plain Trainer, Hugging Face example defaults.
    path = resolve_pretrained_path(model_spec, spec.cache_dir)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(LABELS), problem_type="multi_label_classification"
    )
    enc = tokenizer([r["text"] for r in records], padding="max_length", truncation=True, max_length=128)
    labels = [[float(max(0, r.get(lab, 0) if r.get(lab) is not None else 0)) for lab in LABELS] for r in records]
    plain_ds = datasets.Dataset.from_dict(
        {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels}
    )
    timer = _steps_per_s_callback(spec.train_warmup_steps)
    args = TrainingArguments(output_dir=str(tmp / "plain"), **common)
    with PeakRss() as rss:
        Trainer(model=model, args=args, train_dataset=plain_ds, callbacks=[timer]).train()
    out["plain_trainer"] = {
        "samples_per_s": round(timer.samples_per_s(batch), 2),
        "bf16": False,
        "group_by_length": False,
        "padding": "max_length=128",
        "frozen_word_embedding": False,
        "peak_rss_mib": rss.mib,
    }
    out["speedup"] = round(out["ours"]["samples_per_s"] / out["plain_trainer"]["samples_per_s"], 2)
    return out


# ----------------------------------------------------------------------------- Ray


def bench_ray(spec: BenchSpec, model_dir: Path, texts: list[str]) -> dict[str, Any]:
    """Rows/s of engine=ray with 1 and 2 actors (one torch thread each) on the same texts; end to end, so Ray's start
    and the per-actor model load are included."""
    out: dict[str, Any] = {"rows": spec.ray_texts}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for i, t in enumerate((texts * (-(-spec.ray_texts // len(texts))))[: spec.ray_texts]):
                fh.write(json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n")
        for n in spec.ray_actors:
            s = score_with_ray(
                str(model_dir),
                [str(src)],
                Path(tmp) / f"o{n}.parquet",
                ScoreSpec(quiet=True, batch_size=spec.batch_size),
                num_actors=n,
                batch_size=256,
                num_cpus_per_actor=1,
                bf16="auto",
            )
            out[f"actors_{n}"] = {"rows_per_s": s["rows_per_second"], "seconds": s["seconds"]}
    if len(spec.ray_actors) >= 2:
        a, b = spec.ray_actors[0], spec.ray_actors[-1]
        out["scaling"] = round(out[f"actors_{b}"]["rows_per_s"] / out[f"actors_{a}"]["rows_per_s"], 2)
    return out


# ----------------------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "bf16_supported": bf16_supported(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def render(res: dict[str, Any]) -> str:
    m, inf = res["machine"], res["inference"]
    lines = [
        "# Speed benchmark",
        "",
        f"Generated by `{res['command']}` on {res['date']}; do not edit by hand. Every number was measured in one "
        "process, in one run, on the machine below.",
        "",
        f"- Machine: {m['cpu']}, {m['logical_cores']} logical cores, {m['memory_gib']} GiB RAM, torch {m['torch']}, "
        f"{inf['threads']} threads, bf16 {'supported' if m['bf16_supported'] else 'not supported'}; ISA: "
        f"{', '.join(m.get('cpu_flags') or []) or 'unknown'}; load average at start {m['load_average_at_start']}, "
        f"at end {m.get('load_average_at_end', 'n/a')} (other jobs on a shared machine lower every figure).",
        f"- Model: {res['model']}; {inf['non_embedding_params'] / 1e6:.1f} M parameters outside the embeddings.",
        f"- Texts: {res['texts']}; {inf['tokens_per_text']} tokens per text on average "
        f"({inf['tokens_scored']} in all).",
        f"- Matrix-multiply peak (torch.matmul {res['matmul']['size']}^2): fp32 {res['matmul']['fp32_gflops']} "
        f"GFLOP/s, bf16 {res['matmul']['bf16_gflops']} GFLOP/s.",
        "",
        "## Inference",
        "",
        "| backend | texts/s | x baseline | peak RSS (MiB) | label agreement vs torch fp32 | max abs prob diff | "
        "GFLOP/s | efficiency vs matmul peak | load + warm-up (s) | label agreement on real text |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in inf["backends"].items():
        lines.append(
            f"| {name} | {r['texts_per_s']} | {r.get('ratio_to_baseline', 'n/a')} | {r['peak_rss_mib']} | "
            f"{r['label_agreement']:.4f} | {r['max_abs_prob_diff']:.4f} | {r['achieved_gflops']} | "
            f"{r['efficiency']:.1%} of {r['peak_ref']}{' (int8 peak not measured)' if name == 'onnx_int8' else ''} | "
            f"{r.get('load_seconds', 'n/a')} + {r.get('warmup_seconds', 'n/a')} | "
            + (", ".join(f"{k} {v:.4f}" for k, v in r.get("real_text_agreement", {}).items()) or "n/a")
            + " |"
        )
    lines += [
        "",
        f"Fastest backend with label agreement >= {res['min_agreement']:.1%} on this machine: "
        f"**{res['recommended']}**. Batch scoring (`configs/predict.yaml`: `bf16`, `compile` and `int8` all `auto`) "
        "picks fp32 or bf16 weights per machine from a measurement cached at first use, compiles from 100k input "
        "rows, and then scores in int8 if int8 measured faster than compiled bf16 at the agreement above for this "
        "model on this machine (this run refreshed both entries).",
        "",
        'pipeline_fp32 is the naive `transformers.pipeline("text-classification", batch_size=32)` a user '
        "would write (input order, no length sorting, fp32). It computes like torch_fp32 and gives the same "
        "probabilities on most texts (to 1e-4); its label agreement and max abs prob diff come from the texts it "
        "prepares differently: obfuscated ones (look-alike letters, leetspeak, spaced-out or stretched words, which "
        "tfgbv undoes before scoring when the model's `text.deobfuscate` is on) and texts longer than one window "
        "(the pipeline truncates them; tfgbv takes each label's maximum over windows). Our backends sort by length "
        "and pad per batch, in "
        f"batches of at most {res['spec']['batch_size']} rows and {res['spec'].get('batch_tokens')} padded tokens, "
        "under `torch.inference_mode`; torch_bf16 stores the weights in bf16 once (no per-call casting), "
        "torch_bf16_compiled adds `torch.compile` (dynamic shapes, frozen weights; its compilation is in the warm-up "
        "column); "
        "torch_int8_compiled smooths the encoder's linears (SmoothQuant), quantises them statically to int8 "
        "(per-channel weights, activations calibrated on 512 bundled texts, which are among the texts timed here) "
        "and compiles with frozen weights, the rest in bf16; its efficiency counts int8 work against the bf16 peak. "
        "ONNX: ONNX Runtime CPU, int8 = dynamic quantisation of the weights. "
        f"Each backend first scores {res['spec']['warmup_texts']} of the texts untimed (warm-up), then all of them "
        f"{res['spec'].get('timing_repeats', 1)} time(s); texts/s is the fastest pass (all passes in bench.json). "
        "FLOPs per text = 2 x non-embedding parameters x tokens scored (padding is not useful work, so it "
        "lowers the efficiency). Peak RSS is the whole process (model + texts + earlier backends' leftovers), "
        "sampled during each backend's run. Label agreement on real text: each backend's labels against fp32 "
        "PyTorch's on the first texts of "
        + (
            ", ".join(f"{k} ({n} texts)" for k, n in inf.get("agreement_sets", {}).items())
            or "no real-text set (none configured or found)"
        )
        + " (configs/bench.yaml `agreement_sets`; scored untimed, texts never seen in calibration).",
    ]
    if "cli" in res:
        c = res["cli"]
        ratio = c["rows_per_s_scoring"] / c["in_process_texts_per_s"]
        lines += [
            "",
            "## Command line, end to end",
            "",
            f"`scripts/predict.py` in a fresh process on {c['rows']} rows (the texts above, repeated) as JSONL, "
            f"writing Parquet, backend {c['backend']}: {c['wall_seconds']} s wall ({c['rows_per_s_end_to_end']} rows/s "
            f"including start-up and model load); its scoring loop (reading, scoring, writing, overlapped) ran "
            f"{c['scoring_seconds']} s = **{c['rows_per_s_scoring']} rows/s, {ratio:.0%} of the in-process "
            f"{c['in_process_texts_per_s']} texts/s**"
            + (
                " (that loop includes torch.compile's compilation, which the in-process figure leaves to its warm-up)."
                if c["backend"].endswith("_compiled")
                else "."
            ),
        ]
    if "training" in res:
        t = res["training"]
        lines += [
            "",
            "## Training step",
            "",
            "| setup | samples/s | bf16 | padding | length grouping | frozen word embedding | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|",
        ]
        for name in ("ours", "plain_trainer"):
            r = t[name]
            lines.append(
                f"| {name} | {r['samples_per_s']} | {r['bf16']} | {r['padding']} | {r['group_by_length']} | "
                f"{r['frozen_word_embedding']} | {r['peak_rss_mib']} |"
            )
        lines += [
            "",
            f"Speed-up: **{t['speedup']}x** ({t['steps_timed']} timed steps of {t['batch_size']} bundled-corpus "
            "texts each, after warm-up steps). The plain Trainer uses the Hugging Face example defaults: pad to "
            "128, random order, fp32, every weight trained.",
        ]
    if "ray" in res:
        r = res["ray"]
        lines += ["", "## Ray engine", "", "| actors | rows/s (end to end) | seconds |", "|---|---|---|"]
        for n in res["ray_actors"]:
            lines.append(f"| {n} | {r[f'actors_{n}']['rows_per_s']} | {r[f'actors_{n}']['seconds']} |")
        if "scaling" in r:
            lines += [
                "",
                f"{r['rows']} rows; scaling from {res['ray_actors'][0]} to {res['ray_actors'][-1]} actors: "
                f"{r['scaling']}x. End to end includes starting Ray and loading one model per actor; each actor "
                "uses one torch thread.",
            ]
    return "\n".join(lines) + "\n"


def _portable(value: Any, root: Path) -> Any:
    """The spec as committed to docs/bench.json, with no machine paths in the repository: absolute paths (also inside
    lists and dicts, e.g. agreement_sets) relative to the repository root if under its parent, else with ~ for home."""
    if isinstance(value, dict):
        return {k: _portable(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v, root) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        path, base = os.path.normpath(value), os.path.normpath(root.resolve())
        if path.startswith(os.path.dirname(base) + os.sep):
            return os.path.relpath(path, base)
        home = str(Path.home())
        return path.replace(home, "~", 1) if path.startswith(home) else path
    return value


def run_bench(
    spec: BenchSpec, model_spec, root: str | Path = ".", train_records: list[dict] | None = None
) -> dict[str, Any]:
    """Run every measurement and write `out_json` and `out_md` (paths relative to `root`)."""
    root = Path(root)
    if spec.num_threads:
        torch.set_num_threads(spec.num_threads)
    res: dict[str, Any] = {
        "command": spec.command,
        "date": datetime.date.today().isoformat(),
        "machine": machine_info(),
        "spec": _portable(asdict(spec), root),
        "min_agreement": spec.min_agreement,
        "ray_actors": spec.ray_actors,
    }
    res["matmul"] = {
        "size": spec.matmul_size,
        "fp32_gflops": matmul_peak_gflops("fp32", spec.matmul_size),
        "bf16_gflops": matmul_peak_gflops("bf16", spec.matmul_size),
    }
    model_dir, res["model"] = prepare_model(spec, model_spec, root)
    texts, res["texts"] = load_texts(spec.texts, spec.n_texts, root)
    res["inference"] = bench_inference(
        spec,
        model_dir,
        texts,
        {"fp32": res["matmul"]["fp32_gflops"], "bf16": res["matmul"]["bf16_gflops"]},
        load_agreement_sets(spec),
    )
    res["recommended"] = recommend(res["inference"]["backends"], spec.min_agreement)
    record_machine_choice(res["inference"]["backends"], res["recommended"], spec.min_agreement, model_dir)
    if spec.cli_rows > 0 and res["recommended"].startswith("torch"):
        same = cli_backend(res["inference"]["backends"], res["recommended"], spec.cli_rows, spec.min_agreement)
        res["cli"] = bench_cli(spec, model_dir, texts, same, root)
        res["cli"]["in_process_backend"] = same
        res["cli"]["in_process_texts_per_s"] = res["inference"]["backends"][same]["texts_per_s"]
    if spec.train_steps > 0:
        res["training"] = bench_training(spec, model_spec, root, train_records)
    if spec.ray_texts > 0:
        res["ray"] = bench_ray(spec, model_dir, texts)
    res["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_text(root / spec.out_json, json.dumps(res, indent=2, ensure_ascii=False, default=str))
    write_text(root / spec.out_md, render(res))
    return res
