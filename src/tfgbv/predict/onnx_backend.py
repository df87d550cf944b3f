"""ONNX Runtime backend: export a run's model to ONNX (optionally int8 dynamic quantisation), score with the same
API as `tfgbv.predict.transformer.Classifier`, and check agreement with PyTorch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from transformers import AutoConfig, AutoTokenizer

from tfgbv import rundir
from tfgbv.data.records import jsonl_objects
from tfgbv.io import atomic_path, write_json
from tfgbv.models.build import check_max_length, find_model_dir, load_model_dir, read_meta
from tfgbv.models.hf_format import read_mean_pool_config
from tfgbv.predict.transformer import DEFAULT_BATCH_TOKENS, Classifier, predict_windows

log = logging.getLogger(__name__)

FILES = {"fp32": rundir.ONNX_FP32, "int8": rundir.ONNX_INT8}
DEFAULT_CHECK_TEXTS = [
    "Ту як зани аблаҳ ҳастӣ",
    "Шабона ба хонаат меоем",
    "Телефон доверия кризисного центра",
    "Её адрес: ул. Садовая 14, кв. 3",
    "Имрӯз бозор то соати 6 кушода аст",
    "Позор семьи, где её братья?",
]


def export_onnx(
    model_dir: str | Path,
    out_dir: str | Path | None = None,
    quantize: bool = True,
    check_texts: str | Sequence[str] | None = None,
    opset: int = 17,
) -> dict[str, Any]:
    """Write model.onnx (+ model.int8.onnx) next to the model (default <model_dir>/onnx/) and an agreement report."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model_dir = find_model_dir(model_dir)
    out = Path(out_dir) if out_dir else model_dir / rundir.ONNX_DIR
    out.mkdir(parents=True, exist_ok=True)
    tokenizer, model, meta = load_model_dir(model_dir)
    model.eval()
    dummy = tokenizer(["пример текста", "example"], padding=True, return_tensors="pt", return_token_type_ids=False)

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return self.m(input_ids=input_ids, attention_mask=attention_mask).logits

    with atomic_path(out / FILES["fp32"], suffix=".onnx") as tmp:
        torch.onnx.export(
            Wrapper(model),
            (dummy["input_ids"], dummy["attention_mask"]),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "logits": {0: "batch"},
            },
            opset_version=opset,
            dynamo=False,
        )
    variants = ["fp32"]
    if quantize:
        with atomic_path(out / FILES["int8"], suffix=".onnx") as tmp:
            quantize_dynamic(str(out / FILES["fp32"]), str(tmp), weight_type=QuantType.QInt8)
        variants.append("int8")
    texts = _check_texts(check_texts)
    ref = Classifier(tokenizer, model, meta, model_dir).predict_proba(texts)
    ref_labels = ref >= np.asarray([meta["thresholds"][lab] for lab in meta["labels"]])
    report: dict[str, Any] = {"texts": len(texts), "opset": opset, "variants": {}}
    for v in variants:
        clf = OnnxClassifier.from_pretrained(model_dir, variant=v, onnx_dir=out)
        p = clf.predict_proba(texts)
        report["variants"][v] = {
            "file": FILES[v],
            "bytes": (out / FILES[v]).stat().st_size,
            "max_abs_prob_diff": float(np.abs(p - ref).max()),
            "label_agreement": float(((p >= clf.thresholds) == ref_labels).mean()),
        }
    write_json(out / rundir.ONNX_AGREEMENT, report)
    return report


def _check_texts(spec: str | Sequence[str] | None) -> list[str]:
    if spec is None:
        return list(DEFAULT_CHECK_TEXTS)
    if isinstance(spec, str):
        path = Path(spec)
        return [rec["text"] for rec in jsonl_objects(path)]
    return list(spec)


class OnnxClassifier(Classifier):
    """Classifier whose forward pass runs in ONNX Runtime (CPU)."""

    def __init__(
        self,
        tokenizer,
        session,
        meta: dict[str, Any],
        model_dir: str | Path,
        variant: str,
        batch_size: int = 256,
        batch_tokens: int | None = DEFAULT_BATCH_TOKENS,
    ):
        super().__init__(tokenizer, None, meta, model_dir, batch_size=batch_size, bf16=False, batch_tokens=batch_tokens)
        self.session = session
        self.variant = variant

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        variant: str = "int8",
        onnx_dir: str | Path | None = None,
        batch_size: int = 256,
        num_threads: int | None = None,
        batch_tokens: int | None = DEFAULT_BATCH_TOKENS,
        **_: Any,
    ) -> "OnnxClassifier":
        import onnxruntime as ort

        model_dir = find_model_dir(path)
        onnx_path = Path(onnx_dir or model_dir / rundir.ONNX_DIR) / FILES[variant]
        if not onnx_path.exists():
            raise FileNotFoundError(f"{onnx_path} not found: run `python scripts/export.py model_dir={path}` first")
        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
        meta = read_meta(model_dir)
        check_max_length(meta, read_mean_pool_config(model_dir) or AutoConfig.from_pretrained(model_dir), model_dir)
        session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        return cls(
            AutoTokenizer.from_pretrained(model_dir),
            session,
            meta,
            model_dir,
            variant,
            batch_size,
            batch_tokens,
        )

    @property
    def precision(self) -> str:
        return f"onnx-{self.variant}"

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        def forward(input_ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
            return self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention})[0]

        return (
            predict_windows(
                forward, self.tokenizer, texts, self.prep, len(self.labels), self.batch_size, self.batch_tokens
            )
            * self.logit_scale
        )
