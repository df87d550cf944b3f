"""The saved model/ folder in plain transformers: same calibrated scores as Classifier, no random weights, no remote
code."""

from __future__ import annotations

import json
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import REPO
from tfgbv.labels import LABELS
from tfgbv.models.coverage import E5_TAJIK_FALLBACK

FALLBACK = E5_TAJIK_FALLBACK  # the e5-small config's fallback (tests/cli/test_config.py checks they agree)

# Texts inside one window that deobfuscation leaves unchanged: Tajik letters the fallback maps, zero-width and other
# invisible characters, NFD-decomposed letters, Tajik letters typed with combining marks or borrowed look-alikes,
# irregular whitespace.
PARITY_TEXTS = [
    "Ташаккур барои дастур",
    "Найдём и уничтожим",
    "Ҷавоб деҳ, ту бешарм ҳастӣ",
    "Ту\u200b бешарм\u200d ҳастӣ,\u00ad ҷалаб",
    unicodedata.normalize("NFD", "Её адрес: ул. Садовая 14, кв. 3, й ё"),
    unicodedata.normalize("NFD", "Шабона ба хонаат меоем, ӣ ӯ"),
    "Ч\u0327авоб бидех\u0327, ў ҹ",
    "  Телефон доверия\tкризисного центра\n\nработает  ",
    "\ufeffПозор семьи, где её братья?",
]


def _pipeline_proba(model_dir: Path, texts: list[str]) -> np.ndarray:
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(model_dir), top_k=None, function_to_apply="sigmoid")
    return np.array([[{d["label"]: d["score"] for d in row}[lab] for lab in LABELS] for row in pipe(texts)])


def _train_tiny(run_dir: Path, data, **text) -> Path:
    """configs/model/tiny.yaml (as `model=tiny`) with text overrides, a few steps as with `debug=fast`."""
    from omegaconf import OmegaConf

    from tfgbv.cli.run import model_spec
    from tfgbv.train.transformer import TrainSpec, train

    pooling = text.pop("pooling", None)
    overrides = {
        "text": {"max_length": 48, **text},
        "tiny": {"vocab_size": 300},
        **({"pooling": pooling} if pooling else {}),
    }
    spec = model_spec(OmegaConf.merge(OmegaConf.load(REPO / "configs" / "model" / "tiny.yaml"), overrides))
    tspec = TrainSpec(
        max_steps=4,
        per_device_train_batch_size=8,
        eval_strategy="no",
        early_stopping_patience=None,
        logging_steps=1,
        learning_rate=1e-3,
        bf16=False,
    )
    return Path(train(data, spec, tspec, run_dir, seed=3)["run_dir"])


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory, tiny_data) -> Path:
    """A tiny run with the e5 fallback and deobfuscation on, as the default config has them."""
    return _train_tiny(
        tmp_path_factory.mktemp("fallback_run"), tiny_data, deobfuscate=True, char_fallback=dict(FALLBACK)
    )


# ----------------------------------------------------------------------------- tokenizer normaliser


def _normaliser_cases() -> list[str]:
    from tfgbv import text

    invisible = "".join(
        chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and text._INVISIBLE.fullmatch(chr(c))
    )
    spaces = "".join(chr(c) for c in range(0x3100) if chr(c).isspace())
    corpus = [
        json.loads(line)["text"]
        for line in (REPO / "data" / "functional" / "cases.jsonl").read_text("utf-8").splitlines()[:300]
    ]
    return [
        *PARITY_TEXTS,
        *corpus,
        f"мо{invisible}ҳ ва",  # every invisible character between letters
        f"{spaces}а{spaces}б{spaces}",  # every whitespace character, also at the ends
        " ".join(k for k in text._COMBINING_FIX),  # every base + combining mark pair
        " ".join(text.TAJIK_CONFUSABLES),  # every borrowed look-alike letter
        "х\u0327\u0327 к\u0328 и\u0304 У\u0305 ч\u200b\u0327",  # doubled mark; invisible between letter and mark
        unicodedata.normalize("NFD", "ӣӯйёЙЁ") + " ҶҷӢӮ",
        "",
        "   ",
    ]


def test_tokenizer_normaliser_does_what_normalize_text_and_fallback_do():
    """Guards the one source of truth: if tfgbv.text gains a step the builder does not mirror, this fails."""
    from tokenizers import normalizers

    from tfgbv.models.hf_format import text_normalizers
    from tfgbv.text import apply_char_map, normalize_text

    norm = normalizers.Sequence(text_normalizers(FALLBACK))
    for text in _normaliser_cases():
        expected = apply_char_map(normalize_text(text, deobfuscate=False), FALLBACK)
        assert norm.normalize_str(text) == expected, repr(text)
        assert norm.normalize_str(expected) == expected, f"not idempotent on {text!r}"


def test_chained_replacements_are_refused():
    from tfgbv.models.hf_format import SavedFormatError, text_normalizers

    with pytest.raises(SavedFormatError, match="char_fallback"):
        text_normalizers({"ҷ": "ч", "ч": "x"})


def test_saved_tokenizer_applies_text_normalisation_before_its_own(fallback_run):
    from transformers import AutoTokenizer

    from tfgbv.models.build import read_meta, text_prep_from_meta

    tok = AutoTokenizer.from_pretrained(fallback_run / "model")
    prep = text_prep_from_meta(read_meta(fallback_run))
    for text in PARITY_TEXTS:
        assert tok(text)["input_ids"] == tok(prep(text))["input_ids"], repr(text)


# Invisible and filler characters an evader interleaves (variation selector, Hangul fillers, zero-width, TAG letter)
# and the Braille blank typed as a space: neither the tokenizer nor the scores may notice them.
EVASION_CHARS = ["\ufe0f", "\u3164", "\u115f", "\u1160", "\uffa0", "\u200b", "\u200d", "\u2060", "\U000e0041"]
THREAT = "Ты шлюха, я тебя найду и убью"


def _evasions(text: str) -> list[str]:
    return [ch.join(text) for ch in EVASION_CHARS] + [text.replace(" ", "\u2800"), text.replace(" ", " \u2800")]


def _interleave(text: str, inserts: list[tuple[int, str]]) -> str:
    chars = list(text)
    for pos, ch in sorted(inserts, reverse=True):
        chars.insert(pos % (len(chars) + 1), ch)
    return "".join(chars)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="аоезчбсукдтыяшлюҳҷқғӣӯ aeopcxAB0123@.,!\n\t\u00a0\u0304\u0327", max_size=30),
    inserts=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(EVASION_CHARS)), max_size=8),
    space=st.sampled_from([" ", "\u2800", " \u2800", "\u2800\u2800"]),
)
def test_tokenizer_normaliser_ignores_interleaved_fillers(text, inserts, space):
    """Property: the saved normaliser (plain transformers path) drops default-ignorables and reads U+2800 as a space,
    exactly as normalize_text does."""
    from tokenizers import normalizers

    from tfgbv.models.hf_format import text_normalizers
    from tfgbv.text import apply_char_map, normalize_text

    norm = normalizers.Sequence(text_normalizers(FALLBACK))
    expected = apply_char_map(normalize_text(text, deobfuscate=False), FALLBACK)
    assert norm.normalize_str(_interleave(text, inserts).replace(" ", space)) == expected


def test_interleaved_fillers_change_neither_tokens_nor_scores(fallback_run):
    from transformers import AutoTokenizer

    from tfgbv.predict.transformer import Classifier

    tok = AutoTokenizer.from_pretrained(fallback_run / "model")
    texts = [THREAT, *PARITY_TEXTS[:3]]
    evaded = [e for t in texts for e in _evasions(t)]
    clean = [t for t in texts for _ in _evasions(t)]
    assert [tok(e)["input_ids"] for e in evaded] == [tok(c)["input_ids"] for c in clean]
    clf = Classifier.from_pretrained(fallback_run)
    np.testing.assert_allclose(clf.predict_proba(evaded), clf.predict_proba(clean), atol=1e-6, rtol=0)
    pipe_evaded = _pipeline_proba(fallback_run / "model", evaded)
    np.testing.assert_allclose(pipe_evaded, _pipeline_proba(fallback_run / "model", clean), atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------- parity with Classifier


def test_pipeline_scores_equal_classifier_on_tiny_run(fallback_run):
    from tfgbv.predict.transformer import Classifier

    ours = Classifier.from_pretrained(fallback_run).predict_proba(PARITY_TEXTS)
    np.testing.assert_allclose(_pipeline_proba(fallback_run / "model", PARITY_TEXTS), ours, atol=1e-4, rtol=0)


def test_model_card_pipeline_snippet_runs_and_matches_classifier(fallback_run, tiny_data):
    import re

    from tfgbv.predict.transformer import Classifier
    from tfgbv.report.model_card import render_model_card

    card = str(render_model_card(fallback_run))
    section = card[card.index("## How to use with plain transformers") :]
    code = (
        re.search(r"```python\n(.*?)```", section, re.S).group(1).replace("path/to/model", str(fallback_run / "model"))
    )
    assert "trust_remote_code" not in code
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - our own generated snippet
    clf = Classifier.from_pretrained(fallback_run)
    last = clf.predict(scope["texts"][-1])
    assert scope["scores"] == pytest.approx(last["scores"], abs=1e-4)
    assert sorted(scope["labels"]) == sorted(last["labels"])
    assert "**Deobfuscation**" in section and "**Long texts**" in section and "**Decisions**" in section


def test_saved_model_loads_natively_with_no_missing_or_unexpected_keys(fallback_run):
    from transformers import (
        AutoModelForSequenceClassification,
        BertForSequenceClassification,
    )

    model, info = AutoModelForSequenceClassification.from_pretrained(fallback_run / "model", output_loading_info=True)
    assert isinstance(model, BertForSequenceClassification) and model.bert.pooler is not None
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert model.config.id2label == dict(enumerate(LABELS))


def test_temperatures_are_folded_into_the_output_layer(fallback_run, tiny_run):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tfgbv.predict.transformer import Classifier

    for run in (fallback_run, tiny_run):
        meta = json.loads((run / "model" / "tfgbv_config.json").read_text())
        assert meta["temperatures_folded"] is True and meta["transformers_architecture"] == "native"
        clf = Classifier.from_pretrained(run)
        temps = np.array([meta["temperatures"][lab] for lab in LABELS], dtype=np.float32)
        model = AutoModelForSequenceClassification.from_pretrained(run / "model").eval()
        tok = AutoTokenizer.from_pretrained(run / "model")
        with torch.inference_mode():
            plain = model(**tok(PARITY_TEXTS[:3], padding=True, return_tensors="pt")).logits.numpy()
        # Classifier.predict_logits stays uncalibrated; the saved layer already divides by T.
        np.testing.assert_allclose(plain * temps, clf.predict_logits(PARITY_TEXTS[:3]), atol=1e-4, rtol=1e-4)


def test_run_saved_before_folding_still_scores_the_same(fallback_run, tmp_path):
    """A model/ written by an older tfgbv (raw head, no tokenizer normaliser, no flag) keeps its scores."""
    from tokenizers import normalizers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tfgbv.predict.transformer import Classifier

    src = fallback_run / "model"
    meta = json.loads((src / "tfgbv_config.json").read_text())
    temps = torch.tensor([meta["temperatures"][lab] for lab in LABELS])
    model = AutoModelForSequenceClassification.from_pretrained(src)
    with torch.no_grad():  # unfold: what the old writer saved
        model.classifier.weight.mul_(temps[:, None])
        model.classifier.bias.mul_(temps)
    old = tmp_path / "model"
    model.save_pretrained(old)
    tok = AutoTokenizer.from_pretrained(src)
    tok.backend_tokenizer.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])  # tiny's own
    tok.save_pretrained(old)
    for key in ("temperatures_folded", "tokenizer_normalizer", "transformers_architecture"):
        meta.pop(key)
    (old / "tfgbv_config.json").write_text(json.dumps(meta), encoding="utf-8")
    np.testing.assert_allclose(
        Classifier.from_pretrained(old).predict_proba(PARITY_TEXTS),
        Classifier.from_pretrained(src).predict_proba(PARITY_TEXTS),
        atol=1e-5,
        rtol=0,
    )


# ----------------------------------------------------------------------------- mean pooling: refused by transformers


def test_mean_pooled_model_is_refused_by_plain_transformers_but_loads_in_tfgbv(tmp_path, tiny_data):
    from transformers import AutoConfig, AutoModelForSequenceClassification, pipeline

    from tfgbv.models.build import mean_pool_class
    from tfgbv.models.hf_format import MEAN_POOL_MODEL_TYPE
    from tfgbv.predict.transformer import Classifier

    run = _train_tiny(tmp_path / "mean", tiny_data, pooling="mean")
    model_dir = run / "model"
    assert json.loads((model_dir / "config.json").read_text())["model_type"] == MEAN_POOL_MODEL_TYPE
    for load in (
        lambda: AutoConfig.from_pretrained(model_dir),
        lambda: AutoModelForSequenceClassification.from_pretrained(model_dir),
        lambda: pipeline("text-classification", model=str(model_dir), top_k=None),
    ):
        with pytest.raises((ValueError, KeyError), match=MEAN_POOL_MODEL_TYPE):
            load()
    clf = Classifier.from_pretrained(run)
    assert isinstance(clf.model, mean_pool_class())
    assert (
        json.loads((model_dir / "tfgbv_config.json").read_text())["transformers_architecture"]
        == "TfgbvBertMeanPoolForSequenceClassification"
    )
    # Reloaded weights are the trained ones (nothing random): two loads agree exactly.
    np.testing.assert_array_equal(
        clf.predict_proba(PARITY_TEXTS), Classifier.from_pretrained(run).predict_proba(PARITY_TEXTS)
    )


def test_unknown_pooling_is_a_clear_error():
    from tfgbv.models.build import ModelLoadError, ModelSpec, build_model

    with pytest.raises(ModelLoadError, match="model.pooling='max'"):
        build_model(ModelSpec(source="tiny", pooling="max"), ["текст"])


# ----------------------------------------------------------------------------- pooler initialised fresh -> head group


def test_pooler_missing_from_the_checkpoint_trains_with_the_head_learning_rate(tmp_path, tiny_data):
    """Like e5 (no pooler shipped): the fresh pooler goes into the head's parameter group with the classifier."""
    from transformers import BertConfig, BertModel

    from tfgbv.models.build import (
        ModelSpec,
        TextPrep,
        build_model,
        train_tiny_tokenizer,
    )
    from tfgbv.train.transformer import split_head_param_groups

    tok = train_tiny_tokenizer(tiny_data.texts("train"), vocab_size=300)
    encoder = BertModel(
        BertConfig(
            vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        ),
        add_pooling_layer=False,
    )
    encoder.save_pretrained(tmp_path / "enc")
    tok.save_pretrained(tmp_path / "enc")
    _, model = build_model(
        ModelSpec(source="local", name_or_path=str(tmp_path / "enc"), pooling="cls", text=TextPrep())
    )
    assert set(model.tfgbv_new_parameters) >= {
        "bert.pooler.dense.weight",
        "bert.pooler.dense.bias",
        "classifier.weight",
        "classifier.bias",
    }
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    split_head_param_groups(opt, model, 3e-3)
    by_id = {id(p): n for n, p in model.named_parameters()}
    fast = {by_id[id(p)] for g in opt.param_groups if g["lr"] == 3e-3 for p in g["params"]}
    assert fast == {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}


# ----------------------------------------------------------------------------- the real default (slow)


@pytest.mark.slow
def test_pipeline_scores_equal_classifier_on_e5_default(tmp_path, tiny_data):
    """configs/model/e5-small.yaml as shipped (CLS pooling, ҷ fallback, deobfuscation), a few steps of training."""
    from omegaconf import OmegaConf
    from transformers import AutoModelForSequenceClassification

    from tfgbv.cli.run import model_spec
    from tfgbv.predict.transformer import Classifier
    from tfgbv.train.transformer import TrainSpec, train

    spec = model_spec(OmegaConf.load(REPO / "configs" / "model" / "e5-small.yaml"))
    assert spec.pooling == "cls" and spec.text.char_fallback.get("ҷ") == "ч"
    tspec = TrainSpec(
        max_steps=2,
        per_device_train_batch_size=4,
        eval_strategy="no",
        early_stopping_patience=None,
        logging_steps=1,
        learning_rate=1e-4,
        head_learning_rate=3e-3,
        bf16=False,
    )
    run = Path(train(tiny_data, spec, tspec, tmp_path / "e5", seed=5)["run_dir"])
    ours = Classifier.from_pretrained(run).predict_proba(PARITY_TEXTS)
    np.testing.assert_allclose(_pipeline_proba(run / "model", PARITY_TEXTS), ours, atol=1e-4, rtol=0)
    _, info = AutoModelForSequenceClassification.from_pretrained(run / "model", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    shutil.rmtree(run)
