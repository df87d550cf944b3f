"""The saved `model/` folder as plain Hugging Face transformers reads it.

A folder written by `tfgbv.models.build.save_model_dir` is meant to score the same in
`transformers.pipeline("text-classification", model=dir, top_k=None, function_to_apply="sigmoid")` as in
`tfgbv.predict.transformer.Classifier` (for texts that fit one window and that deobfuscation leaves unchanged):

- the architecture is one transformers knows (CLS pooling: `BertForSequenceClassification` & co.); the research
  option `pooling: mean` is saved under a model type transformers does not know, so it fails loudly instead of
  loading a random pooler;
- the per-label temperatures are folded into the output layer (logit / T == (W / T) x + b / T);
- the always-on part of `tfgbv.text.normalize_text` (invisible characters, NFC, Tajik letter repair, whitespace) and
  the model's character fallback are prepended to the tokenizer's own normaliser, built from the constants of
  `tfgbv.text` so there is one source of truth.

What a tokenizer normaliser cannot express (deobfuscation, context-gated letter repairs, the text prefix, windows over
long texts, thresholds) is stated in the model card's "How to use".
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from tokenizers import Regex, Tokenizer, normalizers
from transformers import BertConfig

from tfgbv import rundir, text
from tfgbv.io import write_text

# Saved instead of "bert" for mean-pooled models: AutoConfig (and so pipeline/AutoModel) raises on it, so nobody gets
# BertForSequenceClassification with a random pooler. tfgbv.models.build loads it as BertConfig + the mean-pool class.
MEAN_POOL_MODEL_TYPE = "tfgbv_bert_mean_pool"
MEAN_POOL_ARCHITECTURE = "TfgbvBertMeanPoolForSequenceClassification"
HEAD_PREFIXES = ("classifier", "pre_classifier", "score")  # where transformers puts sequence-classification heads


class SavedFormatError(ValueError):
    """A model cannot be saved in the transformers-readable format; the message says what and why."""


# ----------------------------------------------------------------------------- temperatures


def output_layer_name(model: torch.nn.Module) -> str:
    """Name of the head's final Linear layer (one row per label): `classifier` (BERT) or `classifier.out_proj`
    (XLM-R)."""
    n_labels = model.config.num_labels
    names = [
        name
        for name, mod in model.named_modules()
        if isinstance(mod, torch.nn.Linear) and mod.out_features == n_labels and name.startswith(HEAD_PREFIXES)
    ]
    if len(names) != 1:
        raise SavedFormatError(
            f"{type(model).__name__}: expected one output Linear layer with {n_labels} outputs under "
            f"{HEAD_PREFIXES}, found {names or 'none'}; cannot fold temperatures into it"
        )
    return names[0]


def folded_state_dict(model: torch.nn.Module, temperatures: Sequence[float]) -> dict[str, torch.Tensor]:
    """The model's state dict with the output layer's rows divided by the per-label temperature.

    The model itself is left untouched (training goes on scoring test with it and divides by T itself).
    """
    temps = torch.as_tensor([float(t) for t in temperatures], dtype=torch.float32)
    if temps.numel() != model.config.num_labels or not bool((temps > 0).all()):
        raise SavedFormatError(f"temperatures {temps.tolist()}: need {model.config.num_labels} values > 0")
    layer = output_layer_name(model)
    state = dict(model.state_dict())
    weight, bias = state[f"{layer}.weight"], state.get(f"{layer}.bias")
    state[f"{layer}.weight"] = (weight / temps.to(weight)[:, None]).contiguous()
    if bias is not None:
        state[f"{layer}.bias"] = (bias / temps.to(bias)).contiguous()
    return state


# ----------------------------------------------------------------------------- mean pooling guard


def mark_mean_pool_config(config_path: Path) -> None:
    """Rewrite a saved config.json so transformers refuses it (unknown model type) instead of loading a random
    pooler."""
    raw = json.loads(config_path.read_text(encoding="utf-8"))
    raw["model_type"] = MEAN_POOL_MODEL_TYPE
    raw["architectures"] = [MEAN_POOL_ARCHITECTURE]
    write_text(config_path, json.dumps(raw, indent=2, sort_keys=True) + "\n")


def read_mean_pool_config(model_dir: Path):
    """BertConfig of a folder saved by `mark_mean_pool_config`, or None when it is not one."""
    raw = json.loads((model_dir / rundir.HF_CONFIG).read_text(encoding="utf-8"))
    if raw.get("model_type") != MEAN_POOL_MODEL_TYPE:
        return None
    raw.pop("model_type")
    return BertConfig(**raw)


# ----------------------------------------------------------------------------- tokenizer normaliser


@lru_cache(maxsize=8)
def _chars_matching(pattern: str, flags: int) -> str:
    """Every code point (surrogates excepted) that the single-character Python regex matches."""
    every = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, sys.maxunicode + 1)))
    found = re.compile(pattern, flags).findall(every)  # one scan instead of a million fullmatch calls
    if any(len(m) != 1 for m in found):
        raise SavedFormatError(f"pattern {pattern!r} is not a single-character class")
    return "".join(found)


def _onig_class(chars: str) -> str:
    """An Oniguruma character class of exactly these characters, as ranges of `\\x{...}` escapes.

    Rebuilt from the code points rather than copying the Python pattern, whose syntax Oniguruma need not share.
    """
    points = sorted({ord(ch) for ch in chars})
    if not points:
        raise SavedFormatError("empty character class")
    parts, start, prev = [], points[0], points[0]
    for cp in points[1:] + [None]:
        if cp is not None and cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\x{{{start:X}}}" if start == prev else f"\\x{{{start:X}}}-\\x{{{prev:X}}}")
        if cp is not None:
            start = prev = cp
    return "[" + "".join(parts) + "]"


def _single_char_class(rx: re.Pattern[str]) -> str:
    """`rx` (one character class, optionally with `+`) as an Oniguruma class of the same characters."""
    pattern = rx.pattern[:-1] if rx.pattern.endswith("+") else rx.pattern
    return _onig_class(_chars_matching(pattern, rx.flags))


def _replacements(mapping: Mapping[str, str], what: str) -> list:
    """One `Replace` per entry; applying them in turn equals one simultaneous translation only if no output is an
    input."""
    chained = sorted(k for k in mapping if any(k in v for v in mapping.values()))
    if chained:
        raise SavedFormatError(
            f"{what}: {chained} appear both as keys and in replacements; a tokenizer normaliser "
            f"(one Replace after another) would not do what the Python translation does"
        )
    return [normalizers.Replace(k, v) for k, v in mapping.items()]


def text_normalizers(char_fallback: Mapping[str, str] | None = None) -> list:
    """tokenizers normalisers doing what `normalize_text(t, deobfuscate=False)` and then the character fallback do.

    Same order as tfgbv.text.normalize_text: invisible, control and TAG characters out, NFC, Tajik letters typed with
    combining marks or borrowed from other alphabets repaired, leftover combining marks out, whitespace runs -> one
    space, ends stripped; then the fallback.
    """
    return [
        normalizers.Replace(Regex(_single_char_class(text._INVISIBLE)), ""),
        normalizers.Replace(Regex(_single_char_class(text._CONTROL_AND_TAG)), ""),
        normalizers.NFC(),
        *_replacements(text._COMBINING_FIX, "tfgbv.text._COMBINING_FIX"),
        *_replacements(text.TAJIK_CONFUSABLES, "tfgbv.text.TAJIK_CONFUSABLES"),
        normalizers.Replace(Regex(_single_char_class(text._STRAY_MARKS)), ""),  # marks that composed into no letter
        normalizers.Replace(Regex(_single_char_class(text._WHITESPACE) + "+"), " "),
        normalizers.Strip(),
        *_replacements(dict(char_fallback or {}), "model.text.char_fallback"),
    ]


def add_text_normalizer(tokenizer_json: Path, char_fallback: Mapping[str, str] | None = None) -> None:
    """Prepend `text_normalizers` to the normaliser of a saved tokenizer.json (in place).

    The Python side (tfgbv.predict.transformer) still prepares texts itself; every step here is idempotent, so running
    them again on prepared text changes nothing and a consumer that sends raw text gets the same tokens.
    """
    tok = Tokenizer.from_file(str(tokenizer_json))
    steps = text_normalizers(char_fallback)
    if tok.normalizer is not None:
        steps.append(tok.normalizer)
    tok.normalizer = normalizers.Sequence(steps)
    write_text(tokenizer_json, tok.to_str(pretty=True))


def format_meta(pooling: str, tokenizer_normalizer: bool) -> dict[str, Any]:
    """What tfgbv_config.json records about the saved format (read back by tfgbv.predict.transformer.Classifier)."""
    return {
        "temperatures_folded": True,  # the output layer already divides by T: do not divide again
        "tokenizer_normalizer": "tfgbv.text (invisible characters, NFC, Tajik letters, whitespace) + char_fallback"
        if tokenizer_normalizer
        else None,
        "transformers_architecture": MEAN_POOL_ARCHITECTURE if pooling == "mean" else "native",
    }
