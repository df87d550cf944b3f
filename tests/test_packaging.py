"""tfgbv installs like a tool: the wheel carries configs, bundled data and py.typed; every console script resolves;
from a non-editable install in an empty directory `tfgbv-train model=tiny debug=fast` and `tfgbv-predict` work.
Also: plots leave the caller's matplotlib backend alone, and training shows a progress bar only on a terminal."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


def test_every_console_script_names_an_importable_function():
    assert {
        "tfgbv-train",
        "tfgbv-evaluate",
        "tfgbv-predict",
        "tfgbv-export",
        "tfgbv-bench",
        "tfgbv-benchmark",
        "tfgbv-validate-data",
        "tfgbv-compare",
        "tfgbv-data",
        "tfgbv-select",
        "tfgbv-import-annotations",
        "tfgbv-simulate",
    } <= set(SCRIPTS)
    for name, target in SCRIPTS.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name


def test_checkout_uses_its_own_configs_and_data():
    from tfgbv import locations

    assert locations.checkout_root() == REPO
    assert locations.config_dir() == REPO / "configs" and locations.data_dir() == REPO / "data"


def test_installed_layout_without_packaged_files_fails_naming_what_is_missing(monkeypatch, tmp_path):
    from tfgbv import locations

    monkeypatch.setattr(locations, "PACKAGE_DIR", tmp_path / "site-packages" / "tfgbv")
    monkeypatch.delenv("TFGBV_CONFIG_DIR", raising=False)
    assert locations.checkout_root() is None
    with pytest.raises(FileNotFoundError, match=r"Hydra configs not found: .*site-packages/tfgbv/configs"):
        locations.config_dir()


def test_plots_leave_the_callers_matplotlib_backend_alone(tmp_path):
    import matplotlib

    from tfgbv.labels import LABELS
    from tfgbv.report.evaluation import write_plots

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # stands for an interactive or notebook backend chosen by the caller
    try:
        rng = np.random.default_rng(0)
        y = rng.integers(0, 2, (40, len(LABELS))).astype(float)
        bins = {"bins_before": [{"count": 3, "confidence": 0.4, "accuracy": 0.3}], "bins_after": []}
        written = write_plots(
            tmp_path,
            y,
            rng.random((40, len(LABELS))),
            {lab: bins for lab in LABELS},
            {"lang": {"tg": {"macro_f1": 0.5, "too_small": False}}},
        )
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    assert {"pr_curves.png", "reliability.png", "slices_lang.png"} <= set(written)
    assert (tmp_path / "pr_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_progress_bar_only_on_a_terminal():
    from tfgbv.env import progress_bar_wanted

    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    assert progress_bar_wanted(Stream(True)) and not progress_bar_wanted(Stream(False))
    assert not progress_bar_wanted(object())  # a replaced stderr without isatty


def test_every_shipped_folder_is_a_listed_package_so_building_prints_no_warning():
    """setuptools warns "Package would be ignored" (16 times, on every pip install) for each folder whose files it
    ships as package data without the folder being in `packages`."""
    setup = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    roots = {"tfgbv": REPO / "src" / "tfgbv"}
    roots.update({pkg: REPO / path for pkg, path in setup["package-dir"].items() if pkg})
    folders = set()
    for pkg, root in roots.items():
        for d in [root, *(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__")]:
            if any(f.is_file() for f in d.iterdir()) and "__pycache__" not in d.parts:
                folders.add(".".join([pkg, *d.relative_to(root).parts]))
    assert folders - set(setup["packages"]) == set(), "add these to [tool.setuptools] packages in pyproject.toml"


# ----------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the project (pip builds in-tree; the checkout stays clean). No build isolation,
    so no network: the running environment's setuptools builds it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        have = version("setuptools")
    except PackageNotFoundError:
        have = "none"
    assert have != "none" and int(have.split(".")[0]) >= 77, (
        f"building the wheel without isolation needs setuptools>=77 in this environment (found {have}); "
        f"pip install -e '.[dev]' installs it"
    )
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    for name in ("src", "configs", "data"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-v",  # setuptools' warnings are only shown verbosely
            "-w",
            str(work / "dist"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "would be ignored" not in out.stdout + out.stderr
    (whl,) = (work / "dist").glob("tfgbv-*.whl")
    return whl


@pytest.mark.slow
@pytest.mark.e2e
def test_wheel_ships_configs_bundled_data_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {p.relative_to(REPO / "configs").as_posix() for p in (REPO / "configs").rglob("*.yaml")}
    data = {p.relative_to(REPO / "data").as_posix() for p in (REPO / "data").rglob("*") if p.is_file()}
    assert {f"tfgbv/configs/{c}" for c in configs} <= names
    assert {f"tfgbv/bundled_data/{d}" for d in data} <= names
    assert "tfgbv/py.typed" in names and "tfgbv/metrics/bias_auc/bias_auc.py" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert all(f"{name} = {target}" in entry_points for name, target in SCRIPTS.items())


def _venv_with_dev_dependencies(root: Path) -> Path:
    """A fresh venv (no pip) that sees this environment's installed packages through a .pth line, so torch and the
    rest are not installed twice. A path line in a .pth only extends sys.path: the .pth files in that directory
    (among them the editable tfgbv's) are not executed, so only the wheel's tfgbv can be imported."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=300)
    python = root / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dev = dict.fromkeys(
        sysconfig.get_paths(vars={"base": sys.prefix, "platbase": sys.prefix})[k] for k in ("purelib", "platlib")
    )
    Path(purelib, "_tfgbv_dev_dependencies.pth").write_text("\n".join(dev) + "\n", encoding="utf-8")
    return python


def _clean_env(tmp: Path) -> dict[str, str]:
    """No PYTHONPATH (it could point at the checkout) and no tfgbv path variables (tfgbv.cli.main sets TFGBV_ROOT in
    this process when imported from the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("TFGBV_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TFGBV_CACHE=str(tmp / "cache"),
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
    )
    return env


@pytest.mark.slow
@pytest.mark.e2e
def test_console_scripts_work_from_a_non_editable_wheel_in_an_empty_directory(wheel, tmp_path):
    python = _venv_with_dev_dependencies(tmp_path / "venv")
    env = _clean_env(tmp_path)
    # --ignore-installed: pip must neither see nor uninstall the development environment's editable tfgbv.
    out = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    bin_dir = python.parent
    work = tmp_path / "empty"
    work.mkdir()

    def run(*cmd: str, timeout: int = 600) -> subprocess.CompletedProcess:
        res = subprocess.run(
            [str(bin_dir / cmd[0]), *cmd[1:]], capture_output=True, text=True, env=env, cwd=work, timeout=timeout
        )
        assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
        return res

    where = json.loads(
        run(
            "python",
            "-c",
            "import json, tfgbv, tfgbv.locations as l; print(json.dumps("
            "[tfgbv.__file__, str(l.checkout_root()), str(l.config_dir())]))",
        ).stdout
    )
    site = str(tmp_path / "venv")
    assert where[0].startswith(site) and where[1] == "None" and where[2].startswith(site), where

    # A smoke run never takes runs/latest (issue 26.3): it is named where it is written, and used by that name.
    run("tfgbv-train", "model=tiny", "debug=fast", "hydra.run.dir=runs/smoke")
    smoke = work / "runs" / "smoke"
    assert (smoke / "model" / "model.safetensors").is_file() and (smoke / "eval" / "metrics.json").is_file()
    assert (smoke / "model_card.md").is_file() and not (work / "runs" / "latest").exists()

    (work / "comments.jsonl").write_text(
        "".join(
            json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n"
            for i, t in enumerate(["Ту бешарм ҳастӣ", "Спасибо", "салом"])
        ),
        encoding="utf-8",
    )
    run("tfgbv-predict", "model_dir=runs/smoke", "input=comments.jsonl", "output=scores.jsonl", "quiet=true")
    rows = [json.loads(line) for line in (work / "scores.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["0", "1", "2"] and all(isinstance(r["labels"], list) for r in rows)

    # The rest only read what is there: run them side by side (each is mostly interpreter start-up and imports).
    checks = {
        "compare": ["tfgbv-compare", "a=runs/smoke", "b=runs/smoke"],
        "validate": ["tfgbv-validate-data"],  # the bundled corpus, read from inside the package
        "data_dest": ["tfgbv-data", "--dest", str(work / "public"), "list"],
        "data_default": ["tfgbv-data", "list"],
        **{
            s: [s, "--cfg", "job", "--resolve"]
            for s in ("tfgbv-evaluate", "tfgbv-export", "tfgbv-bench", "tfgbv-benchmark")
        },
    }
    procs = {
        k: subprocess.Popen(
            [str(bin_dir / c[0]), *c[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=work
        )
        for k, c in checks.items()
    }
    outs = {k: p.communicate(timeout=600) for k, p in procs.items()}
    for k, p in procs.items():
        assert p.returncode == 0, f"{' '.join(checks[k])}\n{outs[k][0][-2000:]}\n{outs[k][1][-3000:]}"
    assert "data valid" in outs["validate"][0]
    assert "missing" in outs["data_dest"][0]
    assert f"datasets in {tmp_path / 'cache' / 'datasets'}:" in outs["data_default"][0]  # installed default
    # --cfg job --resolve: each entry point composes and resolves its config (paths included) and runs nothing
    from tfgbv.predict.files import run_paths

    own = run_paths(
        work / "scores.jsonl"
    )  # the scoring run's own files: output, rejects, summary, lock (no parts left)
    names = {p.name for p in work.iterdir()}
    assert {"comments.jsonl", "runs", own.output.name, own.summary.name} <= names
    assert names <= {"comments.jsonl", "runs", own.output.name, own.rejects.name, own.summary.name, own.lock.name}, (
        names
    )
