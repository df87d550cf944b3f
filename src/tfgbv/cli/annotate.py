"""Entry points of the annotation loop (scripts/select.py, scripts/import_annotations.py, `tfgbv-select`,
`tfgbv-import-annotations`): choose comments for Label Studio, and take its export back as a data source."""

from __future__ import annotations

import json
from typing import Any

from omegaconf import DictConfig

from tfgbv.annotate.importing import ImportSpec
from tfgbv.annotate.importing import import_annotations as run_import
from tfgbv.annotate.selection import SelectSpec, select_batch
from tfgbv.cli.config import to_spec
from tfgbv.cli.errors import hydra_entry_point

RUN_KEYS = ("task_name", "paths")  # keys of the YAML that are Hydra's or path defaults, not options


@hydra_entry_point("tfgbv-select", "select")
def select(cfg: DictConfig) -> dict[str, Any]:
    """Pick comments to annotate from a raw dump with a trained run; write the Label Studio batch."""
    summary = select_batch(to_spec(SelectSpec, cfg, "select", ignore=RUN_KEYS))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary


@hydra_entry_point("tfgbv-import-annotations", "import_annotations")
def import_annotations(cfg: DictConfig) -> dict[str, Any]:
    """Turn a Label Studio JSON export into our annotated JSONL plus an agreement report."""
    summary = run_import(to_spec(ImportSpec, cfg, "import_annotations", ignore=RUN_KEYS))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return summary
