"""How every entry point ends on a user's mistake: one line on stderr naming what is wrong and the fix, exit code 2, no
traceback. A missing input file, a run directory that does not exist, an unknown or malformed option (Hydra override
or library option) are the user's; anything else is a bug and keeps its traceback (exit code 1).

`TFGBV_DEBUG=1` in the environment re-raises user errors too, with the full traceback (Hydra's own frames included).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable, TypeVar

import hydra
from hydra.errors import HydraException
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from tfgbv.cli.config import CONFIG_DIR
from tfgbv.cli.help import command_help, wants_help

F = TypeVar("F", bound=Callable[..., Any])

DEBUG_ENV = "TFGBV_DEBUG"
EXIT_USER_ERROR = 2  # as argparse exits on a bad option

# Errors that describe the user's input, paths or options (their messages name the file/option and the fix), by
# qualified class name: importing them all would make a scoring run import the trainer and the report room.
USER_ERRORS = frozenset(
    {
        "tfgbv.predict.files.ScoringError",
        "tfgbv.predict.files.InputFileError",
        "tfgbv.models.build.ModelLoadError",
        "tfgbv.models.hf_format.SavedFormatError",
        "tfgbv.models.e5.E5FormatError",
        "tfgbv.cli.config.ConfigError",
        "tfgbv.report.evaluation.RunDirError",
        "tfgbv.report.comparison.ComparisonError",
        "tfgbv.data.sources.DataValidationError",
        "tfgbv.data.records.CsvFileError",
        "tfgbv.data.fetch.FetchError",
        "tfgbv.annotate.label_studio.ExportError",
        "tfgbv.annotate.selection.SelectionError",
        "tfgbv.serve.spec.ServeError",
        "builtins.FileNotFoundError",
        "builtins.IsADirectoryError",
        "builtins.NotADirectoryError",
    }
)
# A bad override (unknown key, parse error, unknown config group option), a missing mandatory value (input=???).
OPTION_ERRORS = (HydraException, OmegaConfBaseException)


def is_user_error(err: BaseException) -> bool:
    return isinstance(err, OPTION_ERRORS) or any(
        f"{cls.__module__}.{cls.__qualname__}" in USER_ERRORS for cls in type(err).__mro__
    )


def debug_errors() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


def one_line(err: BaseException, prog: str) -> str:
    """The error's message on one line; Hydra's and OmegaConf's get their cause and a pointer to --help."""
    if isinstance(err, MissingMandatoryValue):
        key = getattr(err, "full_key", None) or str(err).split(":")[-1].strip()
        text = f"missing option {key}: set it on the command line ({key}=...)"
    else:
        text = str(err) or type(err).__name__
        cause = err.__cause__
        if isinstance(err, OPTION_ERRORS) and cause is not None and str(cause):
            text += f" ({str(cause).splitlines()[0]})"
    parts = [line.strip() for line in text.splitlines() if line.strip()]
    msg = " ".join(parts)
    if isinstance(err, OPTION_ERRORS):
        msg += f"; see `{prog} --help` for the options"
    return f"{prog}: error: {msg}"


def hydra_entry_point(prog: str, config_name: str) -> Callable[[F], F]:
    """`hydra.main` on the command's config, with user errors reported by `entry_point`: those of the task itself
    (inside Hydra, so Hydra adds no "Error executing job" line) and Hydra's own (a bad override, outside). `--help`
    prints this command's help (tfgbv.cli.help) instead of Hydra's."""

    def wrap(fn: F) -> F:
        task = entry_point(prog)(fn)
        app = entry_point(prog)(hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(task))

        @functools.wraps(fn)
        def main(*args: Any, **kwargs: Any) -> Any:
            if not args and not kwargs and wants_help(sys.argv[1:]):  # this command's help, not Hydra's
                print(command_help(prog, config_name, fn.__doc__))
                return None
            return app(*args, **kwargs)

        main.config_name = config_name  # type: ignore[attr-defined]  # which config its --help describes
        return main  # type: ignore[return-value]

    return wrap


def entry_point(prog: str) -> Callable[[F], F]:
    """Decorate an entry point: user errors become one line on stderr and exit code 2.

    Hydra is told to raise rather than print its own traceback (HYDRA_FULL_ERROR) for the duration of the call, so
    its override errors reach this handler too."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def main(*args: Any, **kwargs: Any) -> Any:
            saved = os.environ.get("HYDRA_FULL_ERROR")
            os.environ["HYDRA_FULL_ERROR"] = "1"
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                if debug_errors() or not is_user_error(err):
                    raise
                print(one_line(err, prog), file=sys.stderr)
                raise SystemExit(EXIT_USER_ERROR) from None
            finally:
                if saved is None:
                    os.environ.pop("HYDRA_FULL_ERROR", None)
                else:
                    os.environ["HYDRA_FULL_ERROR"] = saved

        return main  # type: ignore[return-value]

    return wrap
