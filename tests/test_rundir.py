"""tfgbv.rundir is the only module that spells run-directory file names (peft's utils/constants.py pattern)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import REPO
from tfgbv import rundir

# README.md is also the repository's own README: the Hub card name is checked by its constant's users only.
FILE_NAMES = sorted(
    {v for k, v in vars(rundir).items() if k.isupper() and isinstance(v, str) and "." in v} - {"README.md"}
)
DIR_NAMES = {rundir.MODEL_DIR, rundir.EVAL_DIR, rundir.ONNX_DIR, rundir.CHECKPOINTS}
PATTERN = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, FILE_NAMES)) + r")(?![\w-])|(?<![\w.])eval-(?=$|\*)")


def _sources():
    files = sorted((REPO / "src" / "tfgbv").rglob("*.py")) + sorted((REPO / "scripts").glob("*.py"))
    return [f for f in files if f.name != "rundir.py"]


def _spellings(path: Path, root: Path = REPO) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if PATTERN.search(node.value):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value[:60]!r}")
        # `run_dir / "eval"`, `path / "model"`: a run-directory folder spelled out
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Div)
            and isinstance(node.right, ast.Constant)
            and node.right.value in DIR_NAMES
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: / {node.right.value!r}")
    return found


def test_run_directory_names_are_spelled_only_in_rundir():
    found = [hit for f in _sources() for hit in _spellings(f)]
    assert not found, "use the tfgbv.rundir constants instead of:\n" + "\n".join(found)


@pytest.mark.parametrize("name", ["metrics.json", "tfgbv_config.json", "eval-*", "model"])
def test_the_check_catches_a_spelled_out_name(tmp_path, name):
    bad = tmp_path / "bad.py"
    bad.write_text(f"from pathlib import Path\np = Path('r') / {name!r}\n", encoding="utf-8")
    assert _spellings(bad, root=tmp_path)


def test_eval_dir_of_other_data_gets_the_prefix(tmp_path):
    run = tmp_path / "run"
    (run).mkdir()
    (run / rundir.CONFIG).write_text('{"data": {"name": "seed"}}', encoding="utf-8")
    assert rundir.eval_dir(run, "seed") == run / rundir.EVAL_DIR
    assert rundir.eval_dir(run, "ru_2ch_pikabu") == run / f"{rundir.OTHER_EVAL_PREFIX}ru_2ch_pikabu"
    (run / f"{rundir.OTHER_EVAL_PREFIX}ru_2ch_pikabu").mkdir()
    (run / f"{rundir.OTHER_EVAL_PREFIX}ru_2ch_pikabu" / rundir.METRICS).write_text('{"rows": 3}', encoding="utf-8")
    assert rundir.other_evals(run) == {"ru_2ch_pikabu": {"rows": 3}}
