"""A user's mistake (missing input, missing run directory, bad option) ends every entry point with one line naming the
fix and exit code 2, without a traceback and before a model loads; TFGBV_DEBUG=1 shows the traceback."""

import importlib
import sys

import pytest
from hydra.core.global_hydra import GlobalHydra

from tests.helpers import REPO
from tfgbv.cli import errors

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def run_cli(fn, argv, monkeypatch, capsys):
    """Run an entry point function as its console script would (argv, exit code); returns (code, stderr)."""
    monkeypatch.setattr(sys, "argv", argv)
    try:
        fn()
        code = 0
    except SystemExit as exc:
        code = exc.code
    finally:
        GlobalHydra.instance().clear()  # Hydra stays initialised after a run in this process
    return code, capsys.readouterr().err


def _no_model(*_a, **_k):
    raise AssertionError("the model must not load before the inputs and the run directory are checked")


@pytest.fixture
def predict(monkeypatch):
    from tfgbv.cli import scoring

    monkeypatch.setattr(scoring, "load_scorer", _no_model)
    monkeypatch.delenv(errors.DEBUG_ENV, raising=False)
    return scoring.predict


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_missing_input_file_is_one_line_exit_2_before_the_model_loads(predict, tiny_run, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(predict, ["tfgbv-predict", f"model_dir={tiny_run}", "input=missing.csv"], monkeypatch, capsys)
    assert code == 2
    assert _one_line(err).startswith("tfgbv-predict: error: input 'missing.csv': no such file")


def test_missing_run_directory_is_one_line_exit_2_naming_the_directory(predict, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("id,text\n1,salom\n", encoding="utf-8")
    code, err = run_cli(predict, ["tfgbv-predict", "model_dir=runs/latest", "input=a.csv"], monkeypatch, capsys)
    assert code == 2
    line = _one_line(err)
    assert "runs/latest: no such run or model directory" in line and str(tmp_path) in line


@pytest.mark.parametrize(
    "option,expected",
    [("chunk_row=5", "chunk_row"), ("chunk_rows=0", "chunk_rows must be a positive integer"), ("bf16=maybe", "bf16")],
)
def test_bad_option_is_one_line_exit_2(predict, option, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.csv").write_text("id,text\n1,salom\n", encoding="utf-8")
    code, err = run_cli(predict, ["tfgbv-predict", "input=a.csv", option], monkeypatch, capsys)
    assert code == 2 and expected in _one_line(err)


def test_missing_mandatory_input_names_the_option(predict, monkeypatch, capsys):
    code, err = run_cli(predict, ["tfgbv-predict"], monkeypatch, capsys)
    assert code == 2 and "missing option input" in _one_line(err)


def test_debug_flag_shows_the_traceback(predict, tmp_path, monkeypatch, capsys):
    from tfgbv.predict.files import ScoringError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(errors.DEBUG_ENV, "1")
    with pytest.raises(ScoringError, match="no such file"):
        run_cli(predict, ["tfgbv-predict", "input=missing.csv"], monkeypatch, capsys)


def test_a_bug_keeps_its_traceback(monkeypatch):
    @errors.entry_point("tfgbv-x")
    def buggy():
        raise KeyError("a bug, not the user's")

    with pytest.raises(KeyError):
        buggy()


def _console_scripts() -> dict[str, str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


@pytest.mark.parametrize("name", sorted(_console_scripts()))
def test_every_entry_point_reports_a_bad_option_in_one_line_with_exit_2(name, monkeypatch, capsys):
    module, func = _console_scripts()[name].split(":")
    fn = getattr(importlib.import_module(module), func)
    monkeypatch.delenv(errors.DEBUG_ENV, raising=False)
    code, err = run_cli(fn, [name, "no_such_option=1"], monkeypatch, capsys)  # argparse tools: an unknown argument
    hint = f"{name}: decorate it with tfgbv.cli.errors.hydra_entry_point (Hydra) or entry_point (argparse)\n{err}"
    assert code == 2, hint
    assert "Traceback" not in err and "no_such_option" in err, hint


def test_every_user_error_name_is_an_exception_class():
    for qualified in errors.USER_ERRORS:
        module, name = qualified.rsplit(".", 1)
        assert issubclass(getattr(importlib.import_module(module), name), Exception), qualified


@pytest.mark.parametrize(
    "name,argv",
    [
        ("tfgbv-evaluate", ["run_dir=runs/nope", "data=seed"]),
        ("tfgbv-export", ["model_dir=runs/nope"]),
        ("tfgbv-compare", ["a=runs/nope/eval", "b=runs/other/eval"]),
        ("tfgbv-select", ["model_dir=runs/nope", "input=missing.jsonl", "out_dir=batch"]),
    ],
)
def test_missing_paths_end_every_command_in_one_line_with_exit_2(name, argv, tmp_path, monkeypatch, capsys):
    module, func = _console_scripts()[name].split(":")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(errors.DEBUG_ENV, raising=False)
    code, err = run_cli(getattr(importlib.import_module(module), func), [name, *argv], monkeypatch, capsys)
    assert code == 2, err
    line = _one_line(err)
    assert line.startswith(f"{name}: error: ") and ("nope" in line or "missing" in line), line
