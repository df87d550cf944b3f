"""Hub-ready model folder: the card as model/README.md with licence and datasets from the training sources, and
loading by Hub repo id (local paths first; offline, a clear error)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import REPO

# ----------------------------------------------------------------------------- licence and datasets


@pytest.mark.parametrize(
    "licenses, expected",
    [
        (["mit"], "mit"),
        (["mit", "cc-by-4.0"], "cc-by-4.0"),
        (["mit", "gpl-3.0", "cc-by-4.0"], "gpl-3.0"),
        (["mit", "gpl-3.0", "cc-by-sa-4.0"], "other"),  # two share-alike licences cannot both be the model's
        (["mit", "other"], "other"),
        (["mit", "unknown", "gpl-3.0"], "gpl-3.0"),  # of the stated ones: an unstated one never hides them
        (["mit", "some-custom-terms"], "other"),
        ([], "unknown"),
    ],
)
def test_card_licence_is_the_most_restrictive_training_licence(licenses, expected):
    from tfgbv.report.model_card import most_restrictive_license

    assert most_restrictive_license(licenses) == expected


def test_every_data_config_declares_a_licence_and_the_bundled_corpus_is_mit():
    for path in sorted((REPO / "configs" / "data").glob("*.yaml")):
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
        if cfg.get("defaults"):
            continue  # a mix (default_mix): its sources come from the configs it lists, with their licences
        for name, src in cfg["sources"].items():
            assert isinstance(src.get("license"), str) and src["license"], f"{path.name}: {name} has no license"
    seed = yaml.safe_load((REPO / "configs" / "data" / "seed.yaml").read_text(encoding="utf-8"))["sources"]["seed"]
    assert seed["license"] == "mit"


def test_source_licence_defaults_to_unknown_and_reaches_the_manifest(tiny_split_dir):
    from tfgbv.data.sources import SourceSpec, load_data, manifest, source_from_dict

    files = {s: [str(tiny_split_dir / f"{s}.jsonl")] for s in ("train", "dev", "test")}
    assert SourceSpec(name="x", files=files).license == "unknown"
    spec = source_from_dict("ours", {"files": files, "license": "cc-by-4.0", "dataset": "someone/set"})
    man = manifest(load_data([spec]))
    assert man["sources"] == {
        "ours": {
            "license": "cc-by-4.0",
            "dataset": "someone/set",
            "mapping": "",
            "labels": ["insult", "shaming", "threat", "doxxing"],
        }
    }


def test_model_readme_is_the_card_with_licence_and_datasets_of_the_training_sources(tiny_run, tmp_path):
    from huggingface_hub import ModelCard

    from tfgbv.report.model_card import write_model_card

    man_path = tiny_run / "data_manifest.json"
    saved = man_path.read_text(encoding="utf-8")
    man = json.loads(saved)
    try:  # the fixture run's one source, declared as GPL data next to an MIT source that has no training rows
        man["sources"] = {
            "fixture": {"license": "gpl-3.0", "dataset": "https://example.org/fixture"},
            "eval_only": {"license": "mit", "dataset": "eval/only"},
        }
        man_path.write_text(json.dumps(man), encoding="utf-8")
        out = write_model_card(tiny_run, tmp_path / "model_card.md")
        readme = tiny_run / "model" / "README.md"
        assert readme.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")
        card = ModelCard.load(readme)
        assert card.data.license == "gpl-3.0"
        assert card.data.datasets == ["https://example.org/fixture"]
        assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
        assert "| `fixture` | https://example.org/fixture | gpl-3.0 |" in card.text
    finally:
        man_path.write_text(saved, encoding="utf-8")


# ----------------------------------------------------------------------------- loading by Hub repo id


def _fake_hub_cache(cache: Path, repo_id: str, model_dir: Path) -> Path:
    """The layout huggingface_hub uses for a downloaded snapshot (refs/main -> snapshots/<commit>/)."""
    commit = "0" * 40
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snap = repo / "snapshots" / commit
    shutil.copytree(model_dir, snap)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    return snap


def test_classifier_loads_a_hub_repo_id_from_the_cache_offline(tiny_run, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from tfgbv.predict.loading import load_classifier
    from tfgbv.predict.transformer import Classifier

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    snap = _fake_hub_cache(tmp_path / "hub", "someone/tfgbv-tiny", tiny_run / "model")
    monkeypatch.chdir(tmp_path)  # no local someone/tfgbv-tiny here
    texts = ["Ту бешарм ҳастӣ", "Телефон доверия"]
    expected = Classifier.from_pretrained(tiny_run).predict_proba(texts)
    clf = Classifier.from_pretrained("someone/tfgbv-tiny")
    assert clf.model_dir == snap
    np.testing.assert_array_equal(clf.predict_proba(texts), expected)
    assert load_classifier("someone/tfgbv-tiny").model_dir == snap


def test_local_directory_wins_over_a_hub_repo_id_of_the_same_name(tiny_run, tmp_path, monkeypatch):
    import tfgbv.models.build as build
    from tfgbv.predict.transformer import Classifier

    def no_hub(*_a, **_k):
        raise AssertionError("the Hub must not be asked when a local directory exists")

    monkeypatch.setattr(build, "snapshot_download", no_hub)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(tiny_run / "model", tmp_path / "someone" / "tfgbv-tiny")
    assert Classifier.from_pretrained("someone/tfgbv-tiny").model_dir == Path("someone/tfgbv-tiny")


def test_hub_repo_id_offline_and_not_cached_fails_with_a_clear_message(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from tfgbv.models.build import ModelLoadError
    from tfgbv.predict.transformer import Classifier

    assert constants.HF_HUB_OFFLINE  # conftest sets HF_HUB_OFFLINE=1
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ModelLoadError,
        match=r"(?s)'someone/missing' is not a local directory.*HF_HUB_OFFLINE=1.*hf download someone/missing",
    ):
        Classifier.from_pretrained("someone/missing")


def test_hub_download_fetches_only_safetensors_json_txt_and_sentencepiece_files(monkeypatch, tmp_path):
    import tfgbv.models.build as build
    from tfgbv.models.build import ModelLoadError, resolve_model_dir

    seen = {}

    def fake_download(repo_id, revision=None, allow_patterns=None, **_):
        seen.update(repo_id=repo_id, revision=revision, allow_patterns=allow_patterns)
        return str(tmp_path)  # no tfgbv_config.json there: the usual "not a tfgbv model directory" error follows

    monkeypatch.setattr(build, "snapshot_download", fake_download)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelLoadError, match="not a tfgbv run or model directory"):
        resolve_model_dir("someone/model", revision="v1")
    assert seen == {
        "repo_id": "someone/model",
        "revision": "v1",
        "allow_patterns": ["*.safetensors", "*.json", "*.txt", "*.model"],
    }


def test_runs_latest_from_another_directory_is_a_missing_path_never_a_hub_repo(tmp_path, monkeypatch):
    """`model_dir=runs/latest` typed outside the checkout once loaded a Hub repo named runs/latest (issue 27.14)."""
    import tfgbv.models.build as build
    from tfgbv.models.build import ModelLoadError, resolve_model_dir

    def no_hub(*_a, **_k):
        raise AssertionError("a path must never be fetched from the Hub")

    monkeypatch.setattr(build, "snapshot_download", no_hub)
    monkeypatch.chdir(tmp_path)
    for value in ("runs/latest", "runs/e5-small-default_mix", "elsewhere/latest", "./someone/model", "a/b/c"):
        with pytest.raises(ModelLoadError, match="no such run or model directory"):
            resolve_model_dir(value)


@pytest.mark.parametrize(
    "value,hub",
    [("someone/tfgbv-tiny", True), ("runs/latest", False), ("x/latest", False), ("runs/x", False), ("/abs/p", False)],
)
def test_only_owner_name_that_is_no_local_path_is_a_hub_id(value, hub, tmp_path, monkeypatch):
    from tfgbv.models.build import is_hub_id

    monkeypatch.chdir(tmp_path)
    assert is_hub_id(value) is hub
    (tmp_path / "someone").mkdir()  # a local folder of that name: the value is a path under it
    assert not is_hub_id("someone/tfgbv-tiny")


def test_the_log_says_whether_a_local_run_or_a_hub_repo_was_loaded(tiny_run, tmp_path, monkeypatch, caplog):
    import logging

    from huggingface_hub import constants

    from tfgbv.models.build import resolve_model_dir

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    _fake_hub_cache(tmp_path / "hub", "someone/tfgbv-tiny", tiny_run / "model")
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO, logger="tfgbv.models.build"):
        resolve_model_dir(tiny_run)
        resolve_model_dir("someone/tfgbv-tiny")
    assert f"model: local directory {(tiny_run / 'model').resolve()}" in caplog.text
    assert "model: Hugging Face Hub repo someone/tfgbv-tiny" in caplog.text
