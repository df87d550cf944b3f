"""Where configs, the bundled data, runs and public datasets live: in a source checkout or in an installed wheel.

In a checkout (src/tfgbv next to pyproject.toml and configs/) everything is repository-relative, as before.
An installed wheel carries configs/ as `tfgbv/configs` and data/ as `tfgbv/bundled_data` (pyproject.toml maps the
directories, so they are never moved in the repository); runs then go to `./runs` under the current directory and
public datasets to `~/.cache/tfgbv/datasets` (or $TFGBV_CACHE/datasets). Environment variables override each default:

    TFGBV_CONFIG_DIR       the Hydra config directory
    TFGBV_ROOT             paths.root_dir (runs_dir is <root>/runs)
    TFGBV_DATA_DIR         paths.data_dir (bundled corpus and functional suite)
    TFGBV_SHARED_DATASETS  paths.shared_datasets (public datasets, see `tfgbv-data`)
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The repository root when tfgbv is imported from its source tree (editable install or PYTHONPATH=src)."""
    root = PACKAGE_DIR.parents[1]
    if PACKAGE_DIR == root / "src" / "tfgbv" and (root / "pyproject.toml").is_file() and (root / "configs").is_dir():
        return root
    return None


def _packaged(name: str, what: str) -> Path:
    path = PACKAGE_DIR / name
    if not path.is_dir():
        raise FileNotFoundError(
            f"{what} not found: no source checkout around {PACKAGE_DIR} and no {path} in the "
            f"installed package (reinstall tfgbv, or set the environment variable named in "
            f"tfgbv.locations)"
        )
    return path


def config_dir() -> Path:
    """The Hydra config directory: $TFGBV_CONFIG_DIR, the checkout's configs/, or the installed tfgbv/configs."""
    if os.environ.get("TFGBV_CONFIG_DIR"):
        return Path(os.environ["TFGBV_CONFIG_DIR"])
    root = checkout_root()
    return root / "configs" if root else _packaged("configs", "Hydra configs")


def data_dir() -> Path:
    """The bundled corpus and functional suite: $TFGBV_DATA_DIR, the checkout's data/, or tfgbv/bundled_data."""
    if os.environ.get("TFGBV_DATA_DIR"):
        return Path(os.environ["TFGBV_DATA_DIR"])
    root = checkout_root()
    return root / "data" if root else _packaged("bundled_data", "bundled data")


def cache_dir() -> Path:
    return Path(os.environ.get("TFGBV_CACHE") or Path.home() / ".cache" / "tfgbv")


def set_path_defaults() -> None:
    """Fill the environment variables that configs/paths/default.yaml reads, unless the user set them.

    Checkout: TFGBV_ROOT = the repository root (data_dir and shared_datasets follow root_dir in the YAML).
    Installed: root_dir stays the YAML's default "." (runs in ./runs), while the data directory and the public
    datasets cannot sit under the current directory, so their variables are set here.
    """
    root = checkout_root()
    if root is not None:
        os.environ.setdefault("TFGBV_ROOT", str(root))
        return
    os.environ.setdefault("TFGBV_DATA_DIR", str(data_dir()))
    os.environ.setdefault("TFGBV_SHARED_DATASETS", str(cache_dir() / "datasets"))


def shared_datasets_dir() -> Path:
    """paths.shared_datasets as the configs resolve it (used by `tfgbv-data` when --dest is not given)."""
    set_path_defaults()
    paths = OmegaConf.load(config_dir() / "paths" / "default.yaml")
    return Path(str(OmegaConf.create({"paths": paths}).paths.shared_datasets)).expanduser()
