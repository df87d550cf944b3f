"""Text normalisation (Tajik letters, look-alikes, leetspeak, spacing) and PII masking."""

from tfgbv.text import apply_char_map, mask_pii, normalize_text


def test_nfc_composes_decomposed_tajik_letters_and_strips_zero_width():
    assert normalize_text("хона\u0438\u0304", deobfuscate=False) == "хонаӣ"
    assert normalize_text("ду\u200bхтар   хуб", deobfuscate=False) == "духтар хуб"


def test_homoglyphs_and_leet_inside_cyrillic_words_only():
    assert normalize_text("Ты тупaя курицa") == "Ты тупая курица"
    assert normalize_text("с0бака и к@ша") == "собака и каша"
    assert normalize_text("Hello world, ok") == "Hello world, ok"  # Latin text is left alone
    assert normalize_text("Tu yak zani ablah hasti") == "Tu yak zani ablah hasti"


def test_spaced_and_stretched_letters():
    assert normalize_text("ты с у к а") == "ты сука"
    assert normalize_text("Шармандааааа") == "Шарманда"
    assert normalize_text("Аллоҳ", deobfuscate=True) == "Аллоҳ"  # legitimate doubles stay


def test_digits_of_phone_numbers_and_prices_are_untouched():
    for text in ("+992 00 071 22 45", "нарх 500 сомонӣ", "соли 2024", "кв. 30"):
        assert normalize_text(text) == text


def test_normalisation_is_idempotent():
    for text in ("Бeсстыжая д@ура", "ш а р м", "Привееееет", "обычный текст"):
        once = normalize_text(text)
        assert normalize_text(once) == once


def test_apply_char_map():
    assert apply_char_map("Ҷавоб ҷон", {"ҷ": "ч", "Ҷ": "Ч"}) == "Чавоб чон"
    assert apply_char_map("abc", {}) == "abc"


def test_mask_pii_phones_emails_addresses_tags_urls():
    text = ("Рақамаш +992 00 071 22 45, почта zarina@example.tj, суроға кӯчаи Гулбоғ 14, [id123|Иван] "
            "@zarina_07 https://t.me/xyz, звони 8 (900) 123-45-67")
    masked = mask_pii(text)
    for secret in ("071 22 45", "zarina@example.tj", "Гулбоғ 14", "id123", "Иван", "@zarina_07", "t.me", "123-45-67"):
        assert secret not in masked, secret
    assert "<PHONE>" in masked and "<EMAIL>" in masked and "<ADDRESS>" in masked and "<USER>" in masked and "<URL>" in masked
    assert mask_pii("ул. Садовая, д. 5, кв. 3") .count("<ADDRESS>") >= 1


def test_mask_pii_keeps_ordinary_numbers():
    for text in ("Нархи картошка 5 сомонӣ", "соли 2024", "синфи 9", "Поезд в 18:30"):
        assert mask_pii(text) == text


def test_mask_pii_masks_every_row_of_a_batch():
    texts = [f"Комментарий {i}: звоните +992 00 0{i % 10}1 22 45 или пишите user{i}@example.com" for i in range(2000)]
    out = [mask_pii(t) for t in texts]
    assert all("<PHONE>" in t and "<EMAIL>" in t and "22 45" not in t for t in out)
