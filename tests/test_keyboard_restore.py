"""Keyboard restoration: keyboard-typed Tajik words get their Tajik letters back, only Tajik words, the same everywhere
a model runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import FIXTURES, assert_pipeline_and_batch_scoring_match
from tfgbv import rundir
from tfgbv.keyboard_restore import KeyboardRestorer
from tfgbv.models.build import ModelLoadError, load_text_prep
from tfgbv.persian_view import WordLanguage
from tfgbv.train.persian_translit import build_keyboard_restorer

PUBLIC = FIXTURES / "public"
TAJIK = ["ту", "духтари", "бешарм", "ҳастӣ", "ман", "туро", "мекушам", "хонаат", "модарат", "шарм", "ҳама", "медонанд"]
RUSSIAN = ["это", "просто", "ужас", "ты", "что", "она", "сказала", "мне", "вчера", "слушай", "дура", "тебя", "поняла"]
TABLE = {"хасти": "ҳастӣ", "хама": "ҳама", "мекушам": "мекушам"}


@pytest.fixture(scope="module")
def restorer() -> KeyboardRestorer:
    return KeyboardRestorer(WordLanguage.fit(TAJIK * 3, RUSSIAN * 3, min_count=1), TABLE)


def test_keyboard_typed_tajik_words_get_their_letters_back(restorer):
    assert restorer("ту бешарм хасти, хама медонанд") == "ту бешарм ҳастӣ, ҳама медонанд"


def test_restored_words_keep_the_case_they_were_typed_in(restorer):
    assert restorer("Хама медонанд, ту ХАСТИ") == "Ҳама медонанд, ту ҲАСТӢ"


def test_russian_words_links_handles_and_masked_pii_stay_as_typed(restorer):
    text = "слушай ты поняла что хама <PHONE> @хама https://хама.tj"
    assert restorer(text) == "слушай ты поняла что ҳама <PHONE> @хама https://хама.tj"


def test_a_name_inside_a_sentence_stays_as_written():
    named = KeyboardRestorer(WordLanguage.fit(TAJIK * 3, RUSSIAN * 3, min_count=1), {"мадина": "мадинаи"})
    assert named("ту бешарм Мадина ҳастӣ") == "ту бешарм Мадина ҳастӣ"


def test_text_with_nothing_to_restore_is_returned_unchanged(restorer):
    text = "Ту бешарм ҳастӣ!  "
    assert restorer(text) is text or restorer(text) == text


def test_batch_and_one_by_one_restore_alike(restorer):
    texts = ["ту хасти", "хама медонанд", "это просто ужас", ""]
    assert restorer.texts(texts) == [restorer(t) for t in texts]


def test_saved_restorer_is_json_and_loads_to_the_same_output(restorer, tmp_path):
    restorer.save(tmp_path)
    raw = json.loads((tmp_path / rundir.KEYBOARD_RESTORE_FILE).read_text(encoding="utf-8"))
    assert raw["keyboard_restore"] == dict(sorted(TABLE.items()))
    loaded = KeyboardRestorer.load(tmp_path)
    texts = ["ту бешарм хасти, хама медонанд", "слушай ты поняла"]
    assert loaded.texts(texts) == restorer.texts(texts)


def test_loading_a_folder_without_the_table_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=rundir.KEYBOARD_RESTORE_FILE):
        KeyboardRestorer.load(tmp_path)
    (tmp_path / rundir.KEYBOARD_RESTORE_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="not a keyboard restoration file"):
        KeyboardRestorer.load(tmp_path)


def test_built_from_real_tajik_text_and_measured_on_the_held_out_address():
    built = build_keyboard_restorer(PUBLIC)
    assert built.restore["хама"] == "ҳама"  # counted from the fixture's running text
    assert all(key != word for key, word in built.restore.items())  # spellings that are words as typed stay out
    running = built.evaluation["keyboard_restoration"]["running_text"]
    assert running["tokens"] > 0 and 0.0 <= running["restored_exactly"] <= 1.0
    assert "word_language" in built.evaluation


# ----------------------------------------------------------------------------- a run saved with keyboard restoration


@pytest.fixture(scope="module")
def restoring_run(tmp_path_factory, tiny_data, restorer) -> Path:
    """model=tiny with text.keyboard_restore=true; the table is the fixed one above (the fixture's real-text counts
    route too few words to show a restoration)."""
    from omegaconf import OmegaConf

    from tests.helpers import REPO
    from tfgbv.cli.run import model_spec
    from tfgbv.train import transformer
    from tfgbv.train.transformer import TrainSpec, train

    spec = model_spec(
        OmegaConf.merge(
            OmegaConf.load(REPO / "configs" / "model" / "tiny.yaml"),
            {"text": {"max_length": 48, "keyboard_restore": True}, "tiny": {"vocab_size": 300}},
        )
    )
    tspec = TrainSpec(max_steps=3, per_device_train_batch_size=8, eval_strategy="no", early_stopping_patience=None,
                      logging_steps=1, bf16=False)  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        measured = build_keyboard_restorer(PUBLIC).evaluation
        fixed = KeyboardRestorer(restorer.language, restorer.restore, measured)
        mp.setattr(transformer, "build_keyboard_restorer", lambda shared: fixed)
        run = train(tiny_data, spec, tspec, tmp_path_factory.mktemp("run"), seed=3, shared_datasets=PUBLIC)
    return Path(run["run_dir"])


def test_run_records_the_restoration_and_carries_its_table(restoring_run):
    model_dir = rundir.model_dir(restoring_run)
    meta = json.loads((model_dir / rundir.META_FILE).read_text(encoding="utf-8"))
    assert meta["text"]["keyboard_restore"] is True
    assert (model_dir / rundir.KEYBOARD_RESTORE_DIR / rundir.KEYBOARD_RESTORE_FILE).is_file()
    assert load_text_prep(model_dir)("ту хасти") == "ту ҳастӣ"


def test_a_run_without_its_table_is_refused_with_the_folder_named(restoring_run, tmp_path):
    import shutil

    broken = tmp_path / "model"
    shutil.copytree(rundir.model_dir(restoring_run), broken)
    shutil.rmtree(broken / rundir.KEYBOARD_RESTORE_DIR)
    with pytest.raises(ModelLoadError, match=rundir.KEYBOARD_RESTORE_DIR):
        load_text_prep(broken)


def test_classifier_batch_scoring_and_pipeline_on_prepared_text_score_alike(restoring_run, tmp_path):
    from tfgbv.predict.transformer import Classifier

    texts = ["ту духтари бешарм хасти", "хама медонанд, ты поняла", "Телефон доверия работает"]
    clf = Classifier.from_pretrained(restoring_run)
    assert clf.prep.keyboard_restore and clf.prep.restorer is not None
    ours = clf.predict_proba(texts)
    # restoration is part of what the model reads: the typed and the restored spelling score alike
    np.testing.assert_allclose(clf.predict_proba(["ту духтари бешарм ҳастӣ"]), ours[:1], atol=1e-6, rtol=0)

    model_dir = rundir.model_dir(restoring_run)
    prepared = load_text_prep(model_dir).many(texts)
    assert prepared[0] == "ту духтари бешарм ҳастӣ" and prepared[1] == "ҳама медонанд, ты поняла"
    assert_pipeline_and_batch_scoring_match(clf, model_dir, texts, prepared, tmp_path)


def test_card_explains_the_restoration_and_its_pipeline_snippet_prepares_texts_like_classifier(restoring_run):
    from tfgbv.predict.transformer import Classifier
    from tfgbv.report.model_card import render_model_card, weight_sources

    card = str(render_model_card(restoring_run))
    assert "## Keyboard-typed Tajik (keyboard restoration)" in card and "held out of the counts" in card
    section = card[card.index("## How to use with plain transformers") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace("path/to/model", str(rundir.model_dir(restoring_run)))
    assert "load_text_prep" in code and "prep.many(texts)" in code
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - our own generated snippet
    last = Classifier.from_pretrained(restoring_run).predict(scope["texts"][-1])
    assert scope["scores"] == pytest.approx(last["scores"], abs=1e-4)
    art = rundir.load_artifacts(restoring_run)
    assert "tg_presidential_addresses" in weight_sources(art)  # what the table is counted from travels with it
