"""Each command's --help says what it does and lists its own options (issue 26.13): a scoring command does not list
the training groups; `tfgbv-data`'s documented example parses."""

import importlib
import sys

import pytest
import yaml

from tests.cli.test_errors import _console_scripts
from tfgbv.cli.config import CONFIG_DIR

HYDRA_COMMANDS = sorted(
    name
    for name, target in _console_scripts().items()
    if getattr(getattr(importlib.import_module(target.split(":")[0]), target.split(":")[1]), "config_name", None)
)


def _entry(name):
    module, func = _console_scripts()[name].split(":")
    return getattr(importlib.import_module(module), func)


@pytest.mark.parametrize("name", sorted(_console_scripts()))
def test_every_command_has_its_own_help(name, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, "--help"])
    try:
        _entry(name)()
        code = 0
    except SystemExit as exc:  # argparse exits 0 after its help
        code = exc.code
    out = capsys.readouterr().out
    assert code in (0, None) and out.startswith(f"usage: {name}") and "powered by Hydra" not in out


@pytest.mark.parametrize("name", HYDRA_COMMANDS)
def test_hydra_help_describes_the_command_and_every_option_of_its_config(name, monkeypatch, capsys):
    fn = _entry(name)
    monkeypatch.setattr(sys, "argv", [name, "--help"])
    fn()
    out = capsys.readouterr().out
    config = yaml.safe_load(open(f"{CONFIG_DIR}/{fn.config_name}.yaml", encoding="utf-8"))
    assert out.startswith(f"usage: {name} ") and "powered by Hydra" not in out
    assert fn.__doc__.strip().splitlines()[0] in out
    for key in set(config) - {"defaults", "task_name", "hydra"}:
        assert f"\n  {key}:" in out, key
    used = {next(iter(d)) if isinstance(d, dict) else d for d in config.get("defaults", [])}
    for group in ("trainer", "model", "data", "debug", "experiment"):
        assert (f"\n  {group}:" in out) == (group in used or f"optional {group}" in used), group


def test_predict_help_lists_no_training_groups(monkeypatch, capsys):
    from tfgbv.cli.scoring import predict

    monkeypatch.setattr(sys, "argv", ["tfgbv-predict", "--help"])
    predict()
    out = capsys.readouterr().out
    assert "chunk_chars:" in out and "engine: local, ray" in out
    assert "trainer:" not in out and "debug:" not in out and "python scripts/" not in out


def test_data_help_example_with_dest_after_the_subcommand_parses(tmp_path, capsys):
    """`tfgbv-data fetch NAME --dest DIR` (the --help example) once failed: --dest was only accepted before `fetch`."""
    from tfgbv.cli.data import fetch_data

    assert fetch_data(["list", "--dest", str(tmp_path)]) in (0, 1)
    assert str(tmp_path) in capsys.readouterr().out
