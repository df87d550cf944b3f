"""An imported annotation file is a data source like any other: the manifest counts its items and annotators and
gives per-label alpha, the model card shows them, and the CLI entry points run."""

import json
import subprocess
import sys

import pytest

from tests.helpers import FIXTURES, REPO
from tfgbv.annotate.importing import ImportSpec, import_annotations
from tfgbv.data.sources import SourceSpec, load_data, manifest
from tfgbv.report.model_card import _section_training_data

ANN = FIXTURES / "annotate"


@pytest.fixture()
def imported(tmp_path):
    out = tmp_path / "tg.jsonl"
    spec = ImportSpec(
        export=str(ANN / "export.json"), selection=str(ANN / "selection.jsonl"), output=str(out), salt="s"
    )
    return out, import_annotations(spec)


@pytest.mark.parametrize("mode", ["majority", "soft"])
def test_manifest_and_card_show_annotation_stats(tmp_path, imported, mode):
    out, summary = imported
    if mode == "soft":
        out, summary = (
            out,
            import_annotations(
                ImportSpec(
                    export=str(ANN / "export.json"),
                    selection=str(ANN / "selection.jsonl"),
                    output=str(tmp_path / "soft.jsonl"),
                    salt="s",
                    label_mode="soft",
                )
            ),
        )
        out = tmp_path / "soft.jsonl"
    spec = SourceSpec(name="annotated", files={"train": [str(out)]}, label_mode=mode)
    man = manifest(load_data([spec]))
    stats = man["annotation"]["annotated"]
    assert stats["items"] == 5 and stats["annotators"] == 3
    assert stats["alpha"] == pytest.approx(summary["alpha"])
    card = "\n".join(_section_training_data({"manifest": man}))
    assert "| `annotated` | 5 | 3 |" in card and "anna" not in card


def test_cli_entry_points(tmp_path):
    from hydra import compose, initialize_config_dir

    from tfgbv.annotate.selection import SelectSpec
    from tfgbv.cli.annotate import RUN_KEYS
    from tfgbv.cli.config import CONFIG_DIR, to_spec

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("select", ["input=dump.jsonl", "out_dir=batch", "n=5"])
    assert to_spec(SelectSpec, cfg, "select", ignore=RUN_KEYS).n == 5
    out = tmp_path / "tg.jsonl"
    args = [f"export={ANN / 'export.json'}", f"selection={ANN / 'selection.jsonl'}", f"output={out}", "salt=s"]
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "import_annotations.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout[proc.stdout.index("{") :])["items"] == 5 and out.exists()
