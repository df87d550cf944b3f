"""Tokenizer coverage report and character fallback (fast: a tiny hand-made Unigram tokenizer, no model files)."""

import pytest

from tfgbv.models.coverage import (
    E5_TAJIK_FALLBACK,
    apply_char_fallback,
    coverage_markdown,
    tokenizer_coverage,
)


@pytest.fixture(scope="module")
def char_tokenizer():
    """Unigram over single letters (Russian + ҳ ӣ ӯ, as e5), so ҷ Ҷ Ӣ Ӯ and emoji are <unk>."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИКЛМНОПРСТУФХЧШЭЮЯҳӣӯ,.!?"
    vocab = [("<unk>", 0.0), ("<pad>", 0.0)] + [(c, -1.0) for c in letters]
    tok = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>")


def test_counts_per_language_and_overall(char_tokenizer):
    texts = ["ҷон ҷон", "Ӯ гуфт", "мама", "да нет"]
    rep = tokenizer_coverage(char_tokenizer, texts, ["tg", "tg", "ru", "ru"])
    tg, ru, all_ = rep["per_lang"]["tg"], rep["per_lang"]["ru"], rep["overall"]
    assert (tg["texts"], tg["words"], tg["tokens"], tg["unk_tokens"]) == (2, 4, 11, 3)
    assert tg["unk_rate"] == pytest.approx(3 / 11) and tg["texts_with_unk"] == 1.0
    assert tg["tokens_per_word"] == pytest.approx(11 / 4)
    assert tg["top_unknown_chars"] == [["ҷ", 2], ["Ӯ", 1]]
    assert ru["unk_tokens"] == 0 and ru["texts_with_unk"] == 0.0 and ru["top_unknown_chars"] == []
    assert all_["texts"] == 4 and all_["unk_tokens"] == 3 and all_["tokens"] == tg["tokens"] + ru["tokens"]


def test_fallback_removes_unknowns(char_tokenizer):
    texts = ["Ҷавоб деҳ, ҷон", "Ӯ гуфт", "Ӣ"]
    fixed = [apply_char_fallback(t, E5_TAJIK_FALLBACK) for t in texts]
    assert fixed == ["Чавоб деҳ, чон", "ӯ гуфт", "ӣ"]
    assert tokenizer_coverage(char_tokenizer, fixed, ["tg"] * 3)["overall"]["unk_tokens"] == 0


def test_e5_fallback_covers_the_missing_letters():
    assert set(E5_TAJIK_FALLBACK) >= {"ҷ", "Ҷ", "Ӣ", "Ӯ"}
    assert all(len(k) == 1 and v and v not in E5_TAJIK_FALLBACK for k, v in E5_TAJIK_FALLBACK.items())


def test_apply_char_fallback_edge_cases():
    assert apply_char_fallback("ҷон", {}) == "ҷон"
    assert apply_char_fallback("ҷон", {"ҷ": "дж"}) == "джон"  # longer replacement
    assert apply_char_fallback("a\u200bb", {"\u200b": ""}) == "ab"  # deletion
    assert apply_char_fallback("", E5_TAJIK_FALLBACK) == ""
    with pytest.raises(ValueError, match="single characters"):
        apply_char_fallback("x", {"ab": "c"})


def test_markdown_and_empty_input(char_tokenizer):
    rep = tokenizer_coverage(char_tokenizer, ["ҷон", "мама"], ["tg", "ru"])
    md = coverage_markdown(rep)
    assert "| tg | 1 |" in md and "| ru | 1 |" in md and "| all | 2 |" in md and "ҷ (1)" in md
    empty = tokenizer_coverage(char_tokenizer, [], [])
    assert empty["per_lang"] == {} and empty["overall"]["unk_rate"] is None
    assert "| all | 0 |" in coverage_markdown(empty)
    with pytest.raises(ValueError, match="2 texts but 1"):
        tokenizer_coverage(char_tokenizer, ["a", "b"], ["ru"])
