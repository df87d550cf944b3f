"""The package's rooms import one way (docs/architecture.md): leaves -> domain -> models -> predict -> train -> report
-> serve -> cli, with no cycle between modules, and imports at the top of each file (lazy only for heavy optional
libraries)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

PACKAGE = REPO / "src" / "tfgbv"
# Room -> level. A module may import its own room and any room of a lower level, never a higher one.
LEVELS = {
    "labels": 0,
    "io": 0,
    "env": 0,
    "rundir": 0,
    "locations": 0,
    "text": 1,
    "translit": 1,
    "persian_view": 1,
    "keyboard_restore": 1,
    "data": 1,
    "metrics": 1,
    "models": 2,
    "predict": 3,
    "train": 4,
    "annotate": 4,
    "report": 5,
    "serve": 6,
    "cli": 7,
}
# Imported inside functions on purpose: optional extras; libraries that would pull torch into torch-free rooms
# (evaluate); scikit-learn, which only the tfidf_lr baseline needs (1.5 s of every scoring run's start otherwise); and
# the POSIX-only fcntl, probed where a fallback exists (dataset fetch, e5 conversion locks).
LAZY_OK = {"ray", "onnxruntime", "onnx", "matplotlib", "evaluate", "sklearn", "fcntl", "libarchive"}
# libarchive: loads the system's libarchive library, which only `tfgbv-data fetch` unpacking an archive needs.
# `tfgbv.Classifier` is resolved lazily so `import tfgbv` stays torch-free (tfgbv/__init__.py).
LAZY_TFGBV_OK = {"tfgbv/__init__.py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[str, int, bool, bool]]:
    """(imported tfgbv module, line, at module level, under TYPE_CHECKING) for each tfgbv import of `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tfgbv":
            names = [f"{node.module}.{a.name}" if node.module == "tfgbv" else node.module for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "tfgbv"]
        else:
            continue
        for name in names:
            out.append((name, node.lineno, node in tree.body, id(node) in guarded))
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        for name, _, _, guarded in _imports(path):
            if guarded:
                continue
            target = name if name in modules else name.rsplit(".", 1)[0]  # `from tfgbv import rundir` -> tfgbv.rundir
            if target in modules and target != mod:
                graph[mod].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_room_has_a_level():
    rooms = {_room(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {None}
    assert rooms <= set(LEVELS), f"add {sorted(rooms - set(LEVELS))} to LEVELS and to docs/architecture.md"


def test_imports_run_one_way_between_rooms():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(_module_name(path))
        if room is None:
            continue
        for name, line, _, guarded in _imports(path):
            target = _room(name)
            if guarded or target is None or target == room:
                continue
            if LEVELS[target] > LEVELS[room]:
                wrong.append(
                    f"{path.relative_to(REPO)}:{line}: {room} (level {LEVELS[room]}) imports {name} "
                    f"(level {LEVELS[target]})"
                )
    assert not wrong, "imports against the room order:\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules():
    assert import_cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tfgbv_imports_are_at_the_top_of_the_file():
    hidden = [
        f"{path.relative_to(REPO)}:{line}: {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, line, top, guarded in _imports(path)
        if not top and not guarded and str(path.relative_to(PACKAGE.parent)) not in LAZY_TFGBV_OK
    ]
    assert not hidden, "function-local tfgbv imports hide dependencies:\n" + "\n".join(hidden)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lazy_imports_are_only_for_heavy_optional_libraries(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body:
            mod = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
            if mod.split(".")[0] not in LAZY_OK | {"tfgbv"}:
                lazy.append(f"{node.lineno}: {mod}")
    assert not lazy, f"{path.relative_to(REPO)}: move these imports to the top: {lazy}"
