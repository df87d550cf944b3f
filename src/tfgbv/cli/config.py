"""The one seam between Hydra configs and the library: `to_spec` turns a config mapping into a typed spec.

Every entry point converts its DictConfig with `to_spec` and nothing else; the converters of each config group live
next to the entry points that use them, so a scoring run never imports the trainer. Unknown keys are an error
everywhere (a typo in a predict option must not go unnoticed), naming the config group and the keys it knows; nested
dataclass fields (`model.text`) are converted the same way.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Mapping, TypeVar

from omegaconf import DictConfig, OmegaConf

from tfgbv.locations import checkout_root, config_dir, set_path_defaults

T = TypeVar("T")

# Configs: $TFGBV_CONFIG_DIR, else the checkout's configs/, else the copy installed inside the package (a plain
# directory, so Hydra gets an absolute path either way). REPO_ROOT is None outside a checkout.
REPO_ROOT = checkout_root()
CONFIG_DIR = str(config_dir())
set_path_defaults()


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
