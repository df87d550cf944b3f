"""One journey per user: train (tiny) -> save -> reload -> same scores; evaluate -> card; Hydra CLI smoke run."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from tests.helpers import REPO
from tfgbv.labels import LABELS


def test_run_directory_explains_itself(tiny_run):
    for name in (
        "model/model.safetensors",
        "model/config.json",
        "model/tokenizer.json",
        "model/tfgbv_config.json",
        "thresholds.json",
        "calibration.json",
        "metrics.json",
        "config.json",
        "data_manifest.json",
        "environment.json",
    ):
        assert (tiny_run / name).exists(), name
    assert not list((tiny_run / "model").glob("*.bin")), "weights are saved as safetensors only"
    cfg = json.loads((tiny_run / "model" / "config.json").read_text())
    assert cfg["id2label"] == {str(i): lab for i, lab in enumerate(LABELS)}
    assert cfg["problem_type"] == "multi_label_classification"
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    for split in ("dev", "test"):
        for lab in LABELS:
            assert {"precision", "recall", "f1", "roc_auc", "pr_auc"} <= set(metrics[split]["labels"][lab])
        assert {"micro_f1", "macro_f1"} <= set(metrics[split]["overall"])
    env = json.loads((tiny_run / "environment.json").read_text())
    assert env["versions"]["torch"] and env["versions"]["transformers"]


def test_reloaded_run_gives_identical_scores(tiny_run, tiny_data):
    from tfgbv.predict.transformer import Classifier

    texts = tiny_data.texts("test")
    a = Classifier.from_pretrained(tiny_run).predict_proba(texts)
    b = Classifier.from_pretrained(tiny_run / "model").predict_proba(texts)
    assert a.shape == (len(texts), len(LABELS))
    np.testing.assert_array_equal(a, b)
    one = Classifier.from_pretrained(tiny_run).predict(texts[0])
    assert set(one["scores"]) == set(LABELS) and all(lab in LABELS for lab in one["labels"])


def test_over_long_text_is_scored_by_windows_not_truncated(tiny_run):
    from tfgbv.predict.transformer import Classifier

    clf = Classifier.from_pretrained(tiny_run)
    short = "Шабона ба хонаат меоем, мекушемат"
    filler = " ".join(["бозор кушода аст"] * 60)
    s_short = clf.predict_logits([short])[0]
    s_long = clf.predict_logits([filler + " " + short])[0]
    s_filler = clf.predict_logits([filler])[0]
    # max over windows: the long text scores at least as high as its filler alone on every label
    assert (s_long >= s_filler - 1e-5).all()
    assert np.isfinite(s_long).all() and np.isfinite(s_short).all()


@pytest.mark.slow
def test_evaluate_then_model_card(tiny_run, tiny_data, tmp_path):
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    from tfgbv.report.evaluation import EvalSpec, evaluate_run
    from tfgbv.report.model_card import write_model_card

    result = evaluate_run(
        tiny_run,
        tiny_data,
        tiny_run / "eval",
        EvalSpec(bootstrap_resamples=50, min_slice_rows=5),
        functional_path=None,
        data_name="fixture",
    )
    assert (tiny_run / "eval" / "metrics.json").exists() and (tiny_run / "eval" / "report.md").exists()
    assert (tiny_run / "eval" / "pr_curves.png").exists() and (tiny_run / "eval" / "reliability.png").exists()
    # The same model scored on other data (as scripts/evaluate.py data=X writes eval-X/) gets its own card section.
    other = evaluate_run(
        tiny_run,
        tiny_data,
        tiny_run / "eval-other_set",
        EvalSpec(bootstrap_resamples=20, min_slice_rows=5),
        functional_path=None,
        data_name="other_set",
    )
    card_path = write_model_card(tiny_run, tmp_path / "model_card.md")
    text = card_path.read_text(encoding="utf-8")
    assert "## Other evaluation data" in text
    f1_other = other["metrics"]["labels"]["insult"]["f1"]
    if f1_other is not None:
        assert f"| other_set | insult | {other['metrics']['labels']['insult']['n']} |" in text
    for section in (
        "## Model details",
        "## Intended use",
        "## Out-of-scope and forbidden uses",
        "## Training data",
        "## Evaluation data",
        "## Quantitative analyses",
        "## Bias and fairness",
        "## Limitations",
        "## Ethical considerations",
        "## How to get started",
        "## Citation",
    ):
        assert section in text, section
    header = yaml.safe_load(text.split("---")[1])
    _, results = model_index_to_eval_results(header["model-index"])
    card = ModelCard(text)
    assert card.data.eval_results
    by_name = {r.metric_name: r.metric_value for r in results}
    for lab in LABELS:
        f1 = result["metrics"]["labels"][lab]["f1"]
        if f1 is not None:
            assert by_name[f"{lab} f1"] == round(f1, 4)
    macro = result["metrics"]["overall"]["macro_f1"]
    assert by_name["macro f1"] == round(macro, 4)
    assert f"{macro:.3f}" in text


@pytest.mark.slow
def test_hydra_train_cli_smoke(tmp_path, tiny_split_dir):
    """The README's researcher journey: scripts/train.py with overrides writes a run, its eval and its card."""
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "train.py"),
        "model=tiny",
        "debug=fast",
        "data=custom",
        f"data.sources.custom.files.all={tiny_split_dir / 'train.jsonl'}",
        f"paths.runs_dir={tmp_path}",
        "evaluation.bootstrap_resamples=20",
        "data.functional=null",
        "model.tiny.vocab_size=300",
        "data.sources.custom.split.test_fraction=0.3",
        "data.sources.custom.split.dev_fraction=0.3",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = [p for p in tmp_path.glob("tiny-custom/*") if p.is_dir()]
    assert len(runs) == 1
    run = runs[0]
    assert (run / "model" / "model.safetensors").exists() and (run / "eval" / "metrics.json").exists()
    assert (run / "model_card.md").exists() and (run / ".hydra" / "config.yaml").exists()
    assert (run / "model" / "README.md").read_text(encoding="utf-8") == (run / "model_card.md").read_text(
        encoding="utf-8"
    )
    assert not (tmp_path / "latest").exists()  # a smoke run (tiny, debug=fast) never becomes the scoring model
    assert "smoke run" in out.stderr + out.stdout
    # The saved model/ scores in plain transformers as in tfgbv (issue 13: pipeline parity for `model=tiny debug=fast`).
    from transformers import pipeline

    from tfgbv.predict.transformer import Classifier

    texts = ["Ҷавоб\u200b деҳ, ту бешарм ҳастӣ", "Телефон доверия кризисного центра"]
    pipe = pipeline("text-classification", model=str(run / "model"), top_k=None, function_to_apply="sigmoid")
    plain = np.array([[{d["label"]: d["score"] for d in row}[lab] for lab in LABELS] for row in pipe(texts)])
    np.testing.assert_allclose(plain, Classifier.from_pretrained(run).predict_proba(texts), atol=1e-4, rtol=0)
    # Re-evaluating an existing run (e.g. after an evaluation change) rewrites eval/ and can republish the card.
    (run / "eval" / "metrics.json").unlink()
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "evaluate.py"),
        f"run_dir={run}",
        "data=custom",
        f"data.sources.custom.files.all={tiny_split_dir / 'train.jsonl'}",
        "data.functional=null",
        "data.sources.custom.split.test_fraction=0.3",
        "data.sources.custom.split.dev_fraction=0.3",
        "evaluation.bootstrap_resamples=20",
        "publish_card=true",
        f"paths.root_dir={tmp_path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (run / "eval" / "metrics.json").exists()
    assert (tmp_path / "model_card.md").read_text(encoding="utf-8") == (run / "model_card.md").read_text(
        encoding="utf-8"
    )


@pytest.mark.slow
def test_hydra_multirun_sweep_over_seeds(tmp_path, tiny_split_dir):
    cmd = [
        sys.executable,
        str(REPO / "scripts" / "train.py"),
        "-m",
        "seed=1,2",
        "model=tiny",
        "debug=fast",
        "data=custom",
        f"data.sources.custom.files.all={tiny_split_dir / 'train.jsonl'}",
        f"paths.runs_dir={tmp_path}",
        "evaluate_after_train=false",
        "model.tiny.vocab_size=300",
        "data.sources.custom.split.test_fraction=0.3",
        "data.sources.custom.split.dev_fraction=0.3",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = sorted(
        p for p in (tmp_path / "multirun").glob("tiny-custom/*/*") if (p / "model" / "model.safetensors").exists()
    )
    assert [p.name for p in jobs] == ["0", "1"]
    seeds = [json.loads((p / "config.json").read_text())["seed"] for p in jobs]
    assert seeds == [1, 2]
    assert not list(tmp_path.rglob("latest"))  # sweep jobs leave runs/latest alone


def test_hub_model_offline_fails_with_a_clear_message(monkeypatch):
    from tfgbv.models.build import ModelLoadError, ModelSpec, build_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="model.name_or_path=/path/to/dir"):
        build_model(ModelSpec(source="hub", name_or_path="cointegrated/rubert-tiny2"))
    with pytest.raises(ModelLoadError, match="local model directory not found"):
        build_model(ModelSpec(source="local", name_or_path="/nonexistent/model"))


def test_evaluation_of_a_broken_run_dir_is_a_precise_error(tmp_path, tiny_data):
    from tfgbv.report.evaluation import RunDirError, evaluate_run

    (tmp_path / "run").mkdir()
    with pytest.raises(RunDirError, match="missing.*tfgbv_config.json"):
        evaluate_run(tmp_path / "run", tiny_data, tmp_path / "eval")
    with pytest.raises(RunDirError, match="not found"):
        evaluate_run(tmp_path / "nope", tiny_data, tmp_path / "eval")


def test_validate_data_command_exits_nonzero_naming_file_and_line(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    for split in ("train", "dev", "test"):
        lines = (REPO / "data" / "seed" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:40]
        if split == "dev":
            bad = json.loads(lines[2])
            bad["threat"] = 7
            lines[2] = json.dumps(bad, ensure_ascii=False)
        (seed / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = (seed / "dev.jsonl").read_bytes()
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "validate_data.py"),
            "--seed-dir",
            str(seed),
            "--statement",
            str(tmp_path / "none.md"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1
    assert f"{seed / 'dev.jsonl'}:3: field 'threat'" in out.stderr
    assert (seed / "dev.jsonl").read_bytes() == before  # never rewrites data files
