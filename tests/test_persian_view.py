"""The Persian view: Tajik words to Persian script, only the Tajik words, the same everywhere a model runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, assert_pipeline_and_batch_scoring_match
from tfgbv import rundir
from tfgbv.persian_view import PersianView, WordLanguage
from tfgbv.text import keyboard_spelling
from tfgbv.train.persian_translit import (
    TranslitSpec,
    ensure_persian_view,
    from_tg2fa,
    keyboard_restorations,
    measure_running_text,
    read_pairs,
    split_pairs,
    train_model,
    word_scores,
)

PUBLIC = FIXTURES / "public"
ARABIC = re.compile("[\u0600-\u06ff]")
TAJIK = ["ту", "духтари", "бешарм", "ҳастӣ", "ман", "туро", "мекушам", "хонаат", "модарат", "шарм"]
RUSSIAN = ["это", "просто", "ужас", "ты", "что", "она", "сказала", "мне", "вчера", "слушай", "дура", "тебя"]


@pytest.fixture(scope="module")
def base_view() -> PersianView:
    """The tg2fa-translit weights (a package dependency) and a word-language model fitted on a few words."""
    return PersianView(from_tg2fa(), WordLanguage.fit(TAJIK * 3, RUSSIAN * 3, min_count=1))


def test_tg2fa_weights_load_as_tensors_and_spell_literary_tajik_in_persian():
    model = from_tg2fa()
    assert model.greedy(["ҳама", "духтар", "китоб", "одам"]) == ["همه", "دختر", "کتاب", "آدم"]


def test_keyboard_spelling_folds_the_six_tajik_letters_and_keeps_case():
    assert keyboard_spelling("Ҳама ҷавобҳо қарзи ғамгин, дӯстӣ") == "Хама чавобхо карзи гамгин, дусти"


def test_only_tajik_words_are_rewritten_in_a_code_switched_comment(base_view):
    text = "Ту духтари бешарм ҳастӣ, это просто ужас 😡 <PHONE> https://t.me/xyz 2024"
    out = base_view(text)
    for kept in ("это просто ужас", "😡", "<PHONE>", "https://t.me/xyz", "2024"):
        assert kept in out
    for tajik in ("Ту", "духтари", "бешарм", "ҳастӣ"):
        assert tajik not in out
    assert ARABIC.search(out.split(",")[0]) and not ARABIC.search(out.split(",")[1])


def test_names_inside_a_sentence_stay_as_written(base_view):
    out = base_view("ман Мадинаро намешиносам, лекин Рустам медонад")
    assert "Рустам" in out and "ман" not in out


def test_batching_and_cache_do_not_change_the_view(base_view):
    texts = ["ту бешарм ҳастӣ", "это просто ужас", "ман туро мекушам, ты поняла?", ""]
    fresh = PersianView(base_view.model, base_view.language)
    assert fresh.texts(texts) == [base_view(t) for t in texts] == fresh.texts(texts)


def test_saved_view_is_safetensors_and_json_and_loads_to_the_same_output(base_view, tmp_path):
    base_view.save(tmp_path / "view")
    assert sorted(p.name for p in (tmp_path / "view").iterdir()) == sorted(
        [rundir.PERSIAN_VIEW_WEIGHTS, rundir.PERSIAN_VIEW_CONFIG]
    )
    text = "Ту духтари бешарм ҳастӣ, это просто ужас"
    assert PersianView.load(tmp_path / "view")(text) == base_view(text)


def test_word_language_tells_keyboard_typed_tajik_from_russian_by_context():
    lang = WordLanguage.fit(TAJIK * 3, RUSSIAN * 3, min_count=1)
    assert lang.is_tajik(["ту", "бешарм", "хасти"]) == [True, True, True]  # keyboard-typed: no Tajik letter left
    assert lang.is_tajik(["ты", "просто", "дура"]) == [False, False, False]


def test_fine_tuning_on_keyboard_spellings_teaches_them(tmp_path):
    """A few passes over the fixture pairs, half of them keyboard-typed: keyboard spellings of training words are then
    read like the literary ones (the real run's held-out figures are in docs/persian_view.md)."""
    pairs = read_pairs(PUBLIC / "tgfa_stibiumghost_translit")
    keyboard = [(keyboard_spelling(t), f) for t, f in pairs if keyboard_spelling(t) != t]
    before = word_scores(from_tg2fa().greedy, keyboard)["word_accuracy"]
    model = train_model(from_tg2fa(), pairs, TranslitSpec(epochs=30, batch_size=16, learning_rate=2e-3))
    assert word_scores(model.greedy, keyboard)["word_accuracy"] > before
    assert word_scores(model.greedy, pairs)["word_accuracy"] >= 0.8


def test_keyboard_restoration_takes_the_commonest_tajik_word_and_keeps_words_as_written():
    running_text = ["ҳама", "ҳама", "хама", "кор", "кор", "қор", "корӣ", "дӯст"]
    assert keyboard_restorations(running_text) == {"хама": "ҳама", "кори": "корӣ", "дуст": "дӯст"}
    assert keyboard_restorations(["қарз", "карз"]) == {}  # a tie: the spelling as typed wins


def test_restorations_are_measured_token_by_token_on_running_text():
    scores = measure_running_text({"хама": "ҳама", "кор": "қор"}, ["ҳама", "ва", "кор", "ҳам", "ҳама"])
    assert scores["tokens_with_tajik_letters"] == 3 and scores["restored_exactly"] == pytest.approx(2 / 3)
    assert scores["plain_tokens_kept"] == 0.5  # "кор" as written was "restored" to "қор"


def test_the_view_restores_a_keyboard_spelling_before_transliterating_it(base_view):
    restored = PersianView(base_view.model, base_view.language, restore={"хама": "ҳама", "духтар": "духтар"})
    assert restored.words(["хама"]) == base_view.words(["ҳама"]) == ["همه"]
    assert restored.words(["ҳама", "китоб"]) == base_view.words(["ҳама", "китоб"])  # literary words as before


def test_restorations_travel_with_the_saved_view(base_view, tmp_path):
    view = PersianView(base_view.model, base_view.language, restore={"хама": "ҳама"})
    assert PersianView.load(view.save(tmp_path / "view")).restore == {"хама": "ҳама"}


def test_split_is_by_tajik_word_and_never_moves():
    pairs = [(f"калима{i}", f"کلمه{i}") for i in range(400)]
    train, test = split_pairs(pairs, 0.1)
    assert (train, test) == split_pairs(list(reversed(pairs))[::-1], 0.1)
    assert not {t for t, _ in train} & {t for t, _ in test} and 10 < len(test) < 80


# ----------------------------------------------------------------------------- a run saved with the Persian view


@pytest.fixture(scope="module")
def persian_run(tmp_path_factory, tiny_data) -> Path:
    """model=tiny with text.persian_view=true, the transliterator trained on the fixture pairs (cached in tmp)."""
    from omegaconf import OmegaConf

    from tests.helpers import REPO
    from tfgbv.cli.run import model_spec
    from tfgbv.train.transformer import TrainSpec, train

    spec = model_spec(
        OmegaConf.merge(
            OmegaConf.load(REPO / "configs" / "model" / "tiny.yaml"),
            {"text": {"max_length": 48, "persian_view": True}, "tiny": {"vocab_size": 300}},
        )
    )
    tspec = TrainSpec(max_steps=3, per_device_train_batch_size=8, eval_strategy="no", early_stopping_patience=None,
                      logging_steps=1, bf16=False)  # fmt: skip
    cache = tmp_path_factory.mktemp("cache")
    run = train(tiny_data, spec, tspec, tmp_path_factory.mktemp("run"), seed=3, cache_dir=cache, shared_datasets=PUBLIC)
    return Path(run["run_dir"])


def test_run_records_the_view_and_carries_its_transliterator(persian_run):
    model_dir = rundir.model_dir(persian_run)
    meta = json.loads((model_dir / rundir.META_FILE).read_text(encoding="utf-8"))
    assert meta["text"]["persian_view"] is True
    assert (model_dir / rundir.PERSIAN_VIEW_DIR / rundir.PERSIAN_VIEW_WEIGHTS).is_file()
    evaluation = json.loads((model_dir / rundir.PERSIAN_VIEW_DIR / rundir.PERSIAN_VIEW_EVAL).read_text())
    assert {"tg2fa_translit", "fine_tuned", "word_language"} <= set(evaluation)


def test_classifier_batch_scoring_and_pipeline_on_prepared_text_score_alike(persian_run, tmp_path):
    from tfgbv.models.build import load_text_prep
    from tfgbv.predict.transformer import Classifier

    texts = ["Ту духтари бешарм ҳастӣ", "ман туро мекушам, ты поняла", "Телефон доверия работает"]
    clf = Classifier.from_pretrained(persian_run)
    assert clf.prep.persian_view and clf.prep.view is not None

    model_dir = rundir.model_dir(persian_run)
    prepared = load_text_prep(model_dir).many(texts)
    assert ARABIC.search(prepared[0]) and "ты поняла" in prepared[1]
    assert_pipeline_and_batch_scoring_match(clf, model_dir, texts, prepared, tmp_path)


def test_cached_transliterator_is_trained_once(tmp_path):
    first = ensure_persian_view(PUBLIC, tmp_path)
    stamp = (first / rundir.PERSIAN_VIEW_WEIGHTS).stat().st_mtime_ns
    assert ensure_persian_view(PUBLIC, tmp_path) == first
    assert (first / rundir.PERSIAN_VIEW_WEIGHTS).stat().st_mtime_ns == stamp


def test_a_new_view_reuses_the_cached_character_model(tmp_path, monkeypatch):
    from tfgbv.train import persian_translit

    first = ensure_persian_view(PUBLIC, tmp_path)
    monkeypatch.setattr(persian_translit, "_VERSION", 999)  # the view's making changed, the fine-tuning did not

    def no_training(*args, **kwargs):
        raise AssertionError("the character model was trained again")

    monkeypatch.setattr(persian_translit, "train_model", no_training)
    second = ensure_persian_view(PUBLIC, tmp_path)
    assert second != first
    assert (second / rundir.PERSIAN_VIEW_WEIGHTS).read_bytes() == (first / rundir.PERSIAN_VIEW_WEIGHTS).read_bytes()
    evaluation = json.loads((second / rundir.PERSIAN_VIEW_EVAL).read_text(encoding="utf-8"))
    assert {"tg2fa_translit", "fine_tuned", "view", "keyboard_restoration", "word_language"} <= set(evaluation)


def test_card_shows_the_transliterator_and_its_pipeline_snippet_prepares_texts_like_classifier(persian_run):
    from tfgbv.predict.transformer import Classifier
    from tfgbv.report.model_card import render_model_card

    card = str(render_model_card(persian_run))
    assert "## Tajik through Persian script (the Persian view)" in card and "keyboard-typed" in card
    section = card[card.index("## How to use with plain transformers") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace("path/to/model", str(rundir.model_dir(persian_run)))
    assert "load_text_prep" in code and "prep.many(texts)" in code
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - our own generated snippet
    last = Classifier.from_pretrained(persian_run).predict(scope["texts"][-1])
    assert scope["scores"] == pytest.approx(last["scores"], abs=1e-4)
