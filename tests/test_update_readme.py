"""scripts/update_readme.py: every figure of the README's results names the run it came from, and the training row
count says why it is larger than the card's."""

import importlib.util
import json
import shutil

from tests.helpers import REPO
from tfgbv import rundir


def _script():
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "scripts" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path, tiny_run, evaluated: bool = True):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    man = json.loads((run / rundir.MANIFEST).read_text(encoding="utf-8"))
    man["train_repeat"] = {"fixture": 2}
    (run / rundir.MANIFEST).write_text(json.dumps(man), encoding="utf-8")
    config = rundir.read_json(run / rundir.CONFIG) or {}
    (run / rundir.CONFIG).write_text(json.dumps({**config, "seed": 7}), encoding="utf-8")
    if evaluated:  # what the README's intro needs of an evaluation
        (run / rundir.EVAL_DIR).mkdir(exist_ok=True)
        (run / rundir.EVAL_DIR / rundir.METRICS).write_text(json.dumps({"rows": 3}), encoding="utf-8")
    return run, man["splits"]["train"]["rows"]


def test_every_results_figure_names_its_run_and_the_row_counts_agree(tmp_path, tiny_run):
    script = _script()
    run, rows = _run(tmp_path, tiny_run)
    text = script.render(run)
    assert f"The default run `{script.run_label(run)}` (`make train`: e5-small, seed 7," in text
    assert f"the card counts the {rows} rows of the training split; `fixture`'s are shown 2 times per pass" in text
    spread = json.loads((REPO / "docs" / "default_model.json").read_text(encoding="utf-8"))
    first = spread["runs"][0]
    assert f"`{first['run']}` (seed {first['seed']})" in text and f"| `{first['run']}` |" in text
    bench = json.loads((REPO / "docs" / "bench.json").read_text(encoding="utf-8"))
    assert f"on run `{bench['spec']['model_dir']}`, not the default run above" in text
    assert "| evaluation data | label | model | run | F1 | ROC-AUC |" in text


def test_the_card_explains_why_a_pass_shows_more_rows_than_the_training_split(tmp_path, tiny_run):
    from tfgbv.report.model_card import write_model_card

    run, rows = _run(tmp_path, tiny_run, evaluated=False)
    card = write_model_card(run).read_text(encoding="utf-8")
    assert f"The train counts above are the {rows} rows of the training split; `fixture`'s are shown 2 times" in card
