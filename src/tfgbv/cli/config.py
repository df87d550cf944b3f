"""The one seam between Hydra configs and the library: `to_spec` turns a config mapping into a typed spec.

Every entry point converts its DictConfig here and nowhere else. Unknown keys are an error everywhere (a typo in a
predict option must not go unnoticed), naming the config group and the keys it knows; nested dataclass fields
(`model.text`) are converted the same way.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping, TypeVar

from omegaconf import DictConfig, OmegaConf

from tfgbv.data.sources import SourceSpec, source_from_dict
from tfgbv.locations import checkout_root, config_dir, set_path_defaults
from tfgbv.models.baseline import BaselineSpec
from tfgbv.models.build import ModelSpec
from tfgbv.predict.files import ScoreSpec
from tfgbv.report.bench import BenchSpec
from tfgbv.report.evaluation import EvalSpec
from tfgbv.train.transformer import TrainSpec

T = TypeVar("T")

# Configs: $TFGBV_CONFIG_DIR, else the checkout's configs/, else the copy installed inside the package (a plain
# directory, so Hydra gets an absolute path either way). REPO_ROOT is None outside a checkout.
REPO_ROOT = checkout_root()
CONFIG_DIR = str(config_dir())
set_path_defaults()

# Keys of a model config that choose the trainer rather than configure the model.
MODEL_SELECTOR_KEYS = ("kind",)
# predict.yaml keys that choose the model, inputs, outputs, backend or engine; every other key is a ScoreSpec option.
PREDICT_RUN_KEYS = (
    "task_name",
    "paths",
    "engine",
    "model_dir",
    "input",
    "output",
    "rejects",
    "backend",
    "onnx_variant",
    "bf16",
    "num_threads",
)
# bench.yaml keys consumed by the entry point (the model and data groups it composes) rather than BenchSpec.
BENCH_RUN_KEYS = ("task_name", "paths", "model", "data", "trainer")


class ConfigError(ValueError):
    """A config value the library cannot take (unknown key, wrong nesting)."""


def as_dict(cfg: DictConfig | Mapping[str, Any] | None) -> dict[str, Any]:
    """A plain, resolved dict of a config node (or mapping); None gives {}."""
    if cfg is None:
        return {}
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True) or {}
    return dict(cfg)


def to_spec(
    cls: type[T],
    raw: DictConfig | Mapping[str, Any] | None,
    where: str | None = None,
    ignore: typing.Iterable[str] = (),
) -> T:
    """Build dataclass `cls` from `raw`; unknown keys raise ConfigError naming `where` (the config group).

    `ignore`: keys that belong to the entry point rather than the spec (e.g. `input`/`output` of predict), dropped
    before the check. Nested dataclass fields accept a mapping."""
    where = where or cls.__name__
    values = {k: v for k, v in as_dict(raw).items() if k not in set(ignore)}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        sub = hints.get(name)
        if dataclasses.is_dataclass(sub) and isinstance(value, Mapping):
            values[name] = to_spec(sub, value, f"{where}.{name}")
    return cls(**values)


def dataclass_defaults(cls: type) -> dict[str, Any]:
    """Field defaults of a dataclass as plain values (nested dataclasses as dicts): what its YAML must say."""
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            continue
        out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
    return out


# ----------------------------------------------------------------------------- one function per config group


def data_sources(data_cfg: DictConfig) -> list[SourceSpec]:
    """The `data` group: its `sources` mapping, each source checked by tfgbv.data.sources.source_from_dict."""
    return [source_from_dict(name, raw) for name, raw in as_dict(data_cfg.sources).items()]


def model_spec(model_cfg: DictConfig) -> ModelSpec:
    raw = as_dict(model_cfg)
    if not raw.get("tiny"):  # e5-small.yaml says `tiny: {}`: keep the dataclass default
        raw.pop("tiny", None)
    return to_spec(ModelSpec, raw, "model", ignore=MODEL_SELECTOR_KEYS)


def baseline_spec(model_cfg: DictConfig) -> BaselineSpec:
    return to_spec(BaselineSpec, model_cfg, "model (tfidf_lr)", ignore=(*MODEL_SELECTOR_KEYS, "source", "name_or_path"))


def train_spec(trainer_cfg: DictConfig) -> TrainSpec:
    return to_spec(TrainSpec, trainer_cfg, "trainer")


def eval_spec(eval_cfg: DictConfig | None) -> EvalSpec:
    return to_spec(EvalSpec, eval_cfg, "evaluation")


def score_spec(cfg: DictConfig) -> ScoreSpec:
    """ScoreSpec from predict.yaml; an unknown key (a typo such as `chunk_row=`) is an error, never ignored."""
    return to_spec(ScoreSpec, cfg, "predict", ignore=PREDICT_RUN_KEYS)


def bench_spec(cfg: DictConfig, command: str) -> BenchSpec:
    return to_spec(BenchSpec, {**as_dict(cfg), "command": command}, "bench", ignore=BENCH_RUN_KEYS)
