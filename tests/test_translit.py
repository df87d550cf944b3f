"""Tajik text as people type it: legacy-font and Kazakh-layout letters, and gated Latin -> Cyrillic transliteration."""

from __future__ import annotations

import json

import pytest

from tests.helpers import REPO
from tfgbv.text import normalize_text

# ----------------------------------------------------------------------------- legacy fonts and other layouts


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Ту бешарм њастї, љалаб", "Ту бешарм ҳастӣ, ҷалаб"),  # the example
        ("ЉАВОБ ДЕЊ", "ҶАВОБ ДЕҲ"),
        ("Ќишлоќи мо, ѓам махўр", "Қишлоқи мо, ғам махӯр"),
        ("Ѓам Ќарз Њаст Љон Їро Ўро", "Ғам Қарз Ҳаст Ҷон Ӣро Ӯро"),  # every capital
    ],
)
def test_legacy_tajik_font_letters_become_tajik_letters(typed, expected):
    assert normalize_text(typed, deobfuscate=False) == expected
    assert normalize_text(typed) == expected


def test_kazakh_and_azerbaijani_layout_letters_become_tajik_letters():
    assert normalize_text("һамаи инҳо, Һар рӯз, ҝишлоҝ, Ҝ") == "ҳамаи инҳо, Ҳар рӯз, қишлоқ, Қ"


def test_ukrainian_yi_is_left_in_ukrainian_text():
    """ї is a Ukrainian letter: with і/є/ґ in the text it is Ukrainian, not a legacy-font ӣ."""
    for text in ("Вона бачила її і пішла", "Їжак є тут", "Ґанок їхній"):
        assert normalize_text(text) == text
    assert normalize_text("Ту девонаї") == "Ту девонаӣ"  # no Ukrainian letter: legacy-font Tajik


def test_russian_text_is_unchanged_by_the_letter_repairs():
    text = "Ты просто тварь, и мы тебя найдём. Её адрес: ул. Садовая 14, кв. 3 — щёки, подъезд, Эх"
    assert normalize_text(text) == text


def test_letter_repairs_are_idempotent():
    for text in ("Ту бешарм њастї, љалаб", "һамаи ҝишлоҝ", "Вона бачила її і пішла"):
        once = normalize_text(text)
        assert normalize_text(once) == once


def test_always_on_legacy_letters_reach_the_saved_tokenizer_and_the_context_rule_does_not():
    from tokenizers import normalizers

    from tfgbv.models.hf_format import text_normalizers

    norm = normalizers.Sequence(text_normalizers())
    assert norm.normalize_str("њастӣ љалаб һар ҝишлоҝ") == "ҳастӣ ҷалаб ҳар қишлоқ"
    assert norm.normalize_str("девонаї") == "девонаї"  # context rule: stated in the card instead


def test_card_states_what_the_tokenizer_cannot_do(tiny_run):
    from tfgbv.models.build import read_meta
    from tfgbv.report.model_card import _not_in_tokenizer

    meta = read_meta(tiny_run)
    items = _not_in_tokenizer({**meta, "text": {**meta["text"], "transliterate": True, "deobfuscate": True}})
    text = " ".join(items)
    assert "ї" in text and "Tajik chat Latin" in text and "Deobfuscation" in text


# ----------------------------------------------------------------------------- Latin -> Cyrillic (gated)


@pytest.mark.parametrize(
    "latin, cyrillic",
    [
        ("tu besharm hasti", "ту бешарм ҳасти"),
        ("In duxtaroni imroza misli govho hastand", "Ин духтарони имроза мисли говҳо ҳастанд"),
        ("Agar ba sud ravi, videoatro pahn mekunam", "Агар ба суд рави, видеоатро паҳн мекунам"),
        ("shumo yak chizi ghalat kardi, ma'lum ast", "шумо як чизи ғалат карди, маълум аст"),
        ("KHUDO HAST, tu chi mekuni?", "ХУДО ҲАСТ, ту чи мекуни?"),
    ],
)
def test_tajik_chat_latin_is_transliterated(latin, cyrillic):
    from tfgbv.translit import transliterate_tajik_latin

    assert transliterate_tajik_latin(latin) == cyrillic
    assert transliterate_tajik_latin(cyrillic) == cyrillic  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "Ty prosto tvar', i my tebya naydem. Zhdi",  # Russian in Latin letters
        "This is the house and you are in it",  # English
        "Ту бешарм ҳастӣ, tu besharm hasti",  # mostly Cyrillic already
        "ok",
    ],
)
def test_other_texts_are_not_transliterated(text):
    from tfgbv.translit import transliterate_tajik_latin

    assert transliterate_tajik_latin(text) == text


def test_urls_handles_and_placeholders_are_kept_as_written():
    from tfgbv.translit import transliterate_tajik_latin

    out = transliterate_tajik_latin("tu besharm hasti, https://t.me/kanal @nodira_media <PHONE> zan@mail.tj")
    assert out == "ту бешарм ҳасти, https://t.me/kanal @nodira_media <PHONE> zan@mail.tj"


def test_gate_separates_the_bundled_corpus_latin_slices():
    """On the bundled corpus: nearly all tg-Latn texts are transliterated, no ru-Latn or Cyrillic text is."""
    from tfgbv.translit import looks_like_tajik_latin

    rows = [
        json.loads(line)
        for split in ("train", "dev", "test")
        for line in (REPO / "data" / "seed" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    tg_latn = [r for r in rows if r["lang"] == "tg-Latn"]
    assert sum(looks_like_tajik_latin(r["text"]) for r in tg_latn) >= 0.9 * len(tg_latn)
    assert not [r["text"] for r in rows if r["lang"] != "tg-Latn" and looks_like_tajik_latin(r["text"])]


def test_transliteration_is_off_by_default_and_runs_after_normalisation_before_the_fallback():
    from tfgbv.models.build import TextPrep

    assert TextPrep().transliterate is False
    assert TextPrep(char_fallback={"ҷ": "ч"})("jazo hast, tu besharm") == "jazo hast, tu besharm"
    prep = TextPrep(transliterate=True, char_fallback={"ҷ": "ч"})
    assert prep("jazo\u200b hast, tu  besharm") == "чазо ҳаст, ту бешарм"


def test_transliteration_measurement_script_compares_off_and_on(tiny_run, tmp_path, monkeypatch):
    import runpy
    import sys

    out = tmp_path / "translit.json"
    monkeypatch.setattr(sys, "argv", ["measure_translit.py", str(tiny_run), "--out", str(out)])
    runpy.run_path(str(REPO / "scripts" / "measure_translit.py"), run_name="__main__")
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["gated"]["functional_tg_latn"] == 40
    for mode in ("off", "on"):
        assert result[mode]["seed_test_tg_latn"]["rows"] == 17 and result[mode]["functional_tg_latn"]["cases"] == 40
