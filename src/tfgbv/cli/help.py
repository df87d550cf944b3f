"""`--help` of a Hydra entry point: what the command does and its own options, read from its config file.

Hydra's own help lists every config group of the shared configs/ directory (a scoring command would show the training
groups) and no option descriptions. This help shows the command's docstring, its config file as written (options,
defaults and their comments, examples), and only the config groups that file composes. `--hydra-help` still shows
Hydra's flags.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tfgbv.cli.config import CONFIG_DIR

HELP_FLAGS = ("--help", "-h")
# Groups every config composes for Hydra's own settings or paths: not options worth listing per command.
_QUIET_GROUPS = ("hydra", "_self_")


def wants_help(argv: list[str]) -> bool:
    return any(a in HELP_FLAGS for a in argv)


def _groups(defaults: list) -> list[str]:
    """The config groups a defaults list composes ("optional debug", "override x" spelled as groups)."""
    names = []
    for item in defaults or []:
        key = next(iter(item)) if isinstance(item, dict) else str(item)
        key = key.replace("optional ", "").replace("override ", "").strip()
        if key not in _QUIET_GROUPS and "/" not in key:
            names.append(key)
    return names


def _options_text(lines: list[str]) -> list[str]:
    """The config file without its `defaults:` list: the options with their defaults and comments."""
    out, skipping = [], False
    for line in lines:
        if line.startswith("defaults:"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "-", "\t")) or not line.strip()):
            continue
        skipping = False
        if line.startswith("task_name:"):
            continue
        out.append("  " + line if line.strip() else "")
    return out


def command_help(prog: str, config_name: str, doc: str | None) -> str:
    path = Path(CONFIG_DIR) / f"{config_name}.yaml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    intro = []
    for line in lines:  # the file's leading comment: what the command does, with examples
        if not line.startswith("#"):
            break
        intro.append(line[1:].rstrip())
    body = lines[len(intro) :]
    groups = _groups((yaml.safe_load(text) or {}).get("defaults"))
    parts = [f"usage: {prog} [option=value ...] [group=option ...]", ""]
    if doc:
        parts += [doc.strip().splitlines()[0], ""]
    if intro:
        parts += [line[1:] if line.startswith(" ") else line for line in intro] + [""]
    parts += [f"options (option=value; defaults and notes from {path}):"] + _options_text(body) + [""]
    if groups:
        parts.append("config groups (group=option):")
        for group in groups:
            options = sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))
            parts.append(f"  {group}: {', '.join(options)}")
        parts.append("")
    parts += [
        "A mistake (missing file, unknown option) ends in one line on stderr and exit code 2; TFGBV_DEBUG=1 shows the",
        "traceback. Hydra's own flags: --hydra-help; `--cfg job` prints the composed options.",
    ]
    return "\n".join(parts)
