"""Text normalisation (Tajik letters, look-alikes, leetspeak, spacing, stretching) and PII masking."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfgbv.text import DEFAULT_IGNORABLE_RANGES, PII_KINDS, apply_char_map, mask_pii, normalize_text

# ----------------------------------------------------------------------------- Unicode and Tajik letters


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("хона\u0438\u0304", "хонаӣ"),  # и + combining macron (NFC)
        ("р\u0443\u0304з", "рӯз"),  # у + combining macron (NFC)
        ("\u0418\u0304", "Ӣ"),
        ("х\u0327амин", "ҳамин"),  # х + cedilla
        ("ч\u0322ашн", "ҷашн"),  # ч + retroflex hook below
        ("к\u0329арор", "қарор"),  # к + vertical line below
        ("г\u0335ам", "ғам"),  # г + short stroke overlay
        ("Х\u0327айрон", "Ҳайрон"),
        ("р\u0443\u0305з", "рӯз"),  # overline instead of macron
        ("рўз", "рӯз"),  # Uzbek-keyboard ў
        ("ҹавоб ҡарор ӽамин ӻам", "ҷавоб қарор ҳамин ғам"),  # look-alike letters of other Cyrillic alphabets
    ],
)
def test_tajik_letters_are_composed_and_repaired(raw, expected):
    assert normalize_text(raw, deobfuscate=False) == expected


def test_invisible_characters_and_whitespace():
    assert normalize_text("ду\u200bхтар\u00ad   хуб\u200e", deobfuscate=False) == "духтар хуб"
    assert normalize_text("  Привет,\n\n\tкак\u00a0дела  ", deobfuscate=False) == "Привет, как дела"
    assert normalize_text("с\ufeffука", deobfuscate=False) == "сука"


def test_deobfuscate_false_keeps_obfuscations():
    assert normalize_text("тупaя д@ра с у к а", deobfuscate=False) == "тупaя д@ра с у к а"


# ----------------------------------------------------------------------------- look-alike letters


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Ты тупaя курицa", "Ты тупая курица"),  # Latin a
        ("Эта активистка — сykа", "Эта активистка — сука"),
        ("xyй", "хуй"),  # Latin majority, but every Latin letter is a look-alike
        ("Ин зан беномуc аст", "Ин зан беномус аст"),  # Tajik
        ("Шаpмандаи оила", "Шармандаи оила"),
        ("hамин зан беномус аст", "ҳамин зан беномус аст"),  # lowercase h in Tajik text stands for ҳ
        ("Ты hе права", "Ты не права"),  # ... and for н in Russian text
        ("Бeсстыжая", "Бесстыжая"),
        ("кӯчаи Гулбоғ", "кӯчаи Гулбоғ"),
        ("Salom, dustӣ", "Salom, dustӣ"),  # mostly-Latin word with a stray Cyrillic letter: left alone
    ],
)
def test_latin_lookalikes_inside_cyrillic_words(raw, expected):
    assert normalize_text(raw) == expected


def test_latin_text_is_left_alone():
    for text in (
        "Hello world, ok",
        "Tu yak zani ablah hasti",
        "Eta aktivistka — tupaya dura",
        "iPhone 15 Pro",
        "Instagram и Telegram",
        "zarina@mail.ru",
        "@zarina_07",
    ):
        assert normalize_text(text) == text


# ----------------------------------------------------------------------------- leetspeak


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("с0бака и к@ша", "собака и каша"),
        ("д@ра", "дара"),
        ("сук@", "сука"),  # @/0 at the end of a word
        ("0на дура", "она дура"),  # ... and at the start
        ("с6ка", "сбка"),
        ("4ерт", "4ерт"),  # digits at a word edge are never letters ("4х", "3кг")
        ("ш@рм@нд@", "шарманда"),  # Tajik
        ("бен0мус", "беномус"),
        ("м0ш4ина", "мошчина"),
        ("к0з3л", "коззл"),
    ],
)
def test_leetspeak_inside_cyrillic_words(raw, expected):
    assert normalize_text(raw) == expected


def test_numbers_are_not_leetspeak():
    for text in (
        "3кг",
        "6мин",
        "в30х",
        "2024г",
        "кв. 30",
        "А380",
        "5-этажный",
        "10:30",
        "1990-2000 гг",
        "1 500 000 сомонӣ",
        "синфи 9",
        "тел.900123456",
    ):
        assert normalize_text(text) == text, text


@pytest.mark.parametrize(
    "phone",
    [
        "+992 00 071 22 45",
        "+992 (00) 071-22-45",
        "00 045 67 89",
        "+992000712245",
        "8 (900) 123-45-67",
        "+7 900 123 45 67",
        "(37) 221-22-33",
        "93 300 30 60",
    ],
)
def test_phone_digits_untouched_by_deobfuscation(phone):
    for text in (phone, f"рақам: {phone}", f"номер {phone}, пиши", f"Рақами ин зан {phone}-ро гузоред"):
        assert normalize_text(text) == text


# ----------------------------------------------------------------------------- spaced and stretched letters


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ты с у к а", "ты сука"),
        ("с.у.к.а", "сука"),
        ("с-у-к-а!", "сука!"),
        ("т у п а я  д у р а", "тупая дура"),  # a wider gap separates spaced words
        ("Ин зан б е н о м у с аст", "Ин зан беномус аст"),  # Tajik
        ("ш а р м а н д а", "шарманда"),
        ("с y к a", "сука"),  # spaced and look-alike at once
        ("т у п", "туп"),
    ],
)
def test_spaced_letters_are_joined(raw, expected):
    assert normalize_text(raw) == expected


def test_real_one_letter_words_are_not_joined():
    for text in ("А я и не знала", "и т. д.", "и.т.д", "С. А. Иванов", "Ман ва ӯ", "а) б) в)", "a b c d"):
        assert normalize_text(text) == text, text


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Шармандааааа", "Шарманда"),
        ("Привееееет", "Привет"),
        ("дууууура", "дура"),
        ("Аааа", "А"),  # case-insensitive run
        ("бееееномус", "беномус"),
        ("сyyyка", "сука"),  # look-alike and stretched at once
    ],
)
def test_stretched_letters_collapse(raw, expected):
    assert normalize_text(raw) == expected


def test_legitimate_double_letters_stay():
    for text in ("Аллоҳ", "касса", "раққоса", "ванна", "Ассалому алайкум", "тадқиқот", "ссора"):
        assert normalize_text(text) == text


# ----------------------------------------------------------------------------- idempotence


def test_normalisation_is_idempotent():
    samples = [
        "Бeсстыжая д@ура",
        "ш а р м",
        "Привееееет",
        "обычный текст",
        "с у  к а",
        "с\tу\tк\tа",
        "т у п а я  д у р а",
        "x\u0327амин ў",
        "0на д@ра сук@",
        "А я и не знала",
        "hамин аст",
        "д@@@ура",
        "с.у.к.а и т. д.",
        "+992 00 071 22 45",
    ]
    rng = random.Random(0)
    alphabet = "аоезчбс @0346.-  ӣӯҳaeopcxyh\u200b\u0304\u0327"
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(20000)]
    for text in samples:
        once = normalize_text(text)
        assert normalize_text(once) == once, (text, once)


# ----------------------------------------------------------------------------- apply_char_map


def test_apply_char_map():
    assert apply_char_map("Ҷавоб ҷон", {"ҷ": "ч", "Ҷ": "Ч"}) == "Чавоб чон"
    assert apply_char_map("ӯ ва ӣ", {"ӯ": "у", "ӣ": "и"}) == "у ва и"
    assert apply_char_map("abc", {}) == "abc"
    assert apply_char_map("a-b", {"-": ""}) == "ab"  # deletion
    assert apply_char_map("ҳ", {"ҳ": "ḩ"}) == "ḩ"
    mapping = {"ҳ": "х"}
    assert apply_char_map("ҳа", mapping) == apply_char_map("ҳа", dict(mapping)) == "ха"  # equal mappings, same table
    with pytest.raises(ValueError, match="single characters"):
        apply_char_map("abc", {"ab": "x"})


# ----------------------------------------------------------------------------- PII masking


@pytest.mark.parametrize(
    "text",
    [
        "+992 00 071 22 45",
        "+992 (00) 071-22-45",
        "+992-00-071-22-45",
        "+992000712245",
        "992 00 071 22 45",
        "00992 00 071 22 45",
        "(+992) 00 071 22 45",
        "00 071 22 45",
        "000712245",
        "(37) 221-22-33",
        "918 12 34 56",
        "+7 900 123-45-67",
        "8 (900) 123-45-67",
        "89001234567",
        "+79001234567",
        "8 (3452) 12-34-56",
        "(900) 123-45-67",
    ],
)
def test_mask_phone_formats(text):
    for sentence in (text, f"Рақамаш {text}, нависед", f"звони: {text}."):
        masked = mask_pii(sentence)
        assert "<PHONE>" in masked and not any(ch.isdigit() for ch in masked), (sentence, masked)


@pytest.mark.parametrize(
    "text",
    [
        "кӯчаи Гулбоғ 14",
        "кучаи гулбог 14",
        "кӯчаи Навбаҳор 7, хонаи 21",
        "хонаи 5",
        "бинои 12, хонаи 8",
        "ш. Душанбе",
        "ш. Душанбе, ноҳияи Сино, кӯчаи Айнӣ 45",
        "маҳаллаи Пахтакор, кӯчаи Боғ 5",
        "микрорайони 34",
        "деҳаи Сарбоғ",
        "ул. Садовая, д. 5, кв. 3",
        "ул. Садовая 14, кв. 3",
        "ул. Н. Карабаева, д. 12, кв. 8",
        "микрорайон 12",
        "34 мкр, дом 12, кв. 8",
        "12-й микрорайон",
        "г. Душанбе, ул. Лолазор 19, кв. 4",
        "проспект Рудаки 45",
        "махалля Пахтакор",
        "кв. 3",
        "д. 5-а",
        "ул. Дружбы 10, 2 этаж",
    ],
)
def test_mask_addresses(text):
    masked = mask_pii(f"Суроға: {text}.")
    assert masked == "Суроға: <ADDRESS>.", masked


def test_mask_emails_tags_handles_urls():
    text = (
        "почта zarina.k@example.tj, [id123|Иван Петров] [club99|Группа] id456789 @zarina_07 "
        "https://t.me/xyz?a=1, www.example.com/page, vk.com/id12345 и wa.me/992000712245."
    )
    masked = mask_pii(text)
    assert masked == ("почта <EMAIL>, <USER> <USER> <USER> <USER> <URL>, <URL>, <URL> и <URL>.")
    assert mask_pii("сайт example.tj, ok.ru") == "сайт <URL>, <URL>"


def test_mask_pii_combined_and_kinds():
    text = (
        "Рақамаш +992 00 071 22 45, почта zarina@example.tj, суроға кӯчаи Гулбоғ 14, [id123|Иван] "
        "@zarina_07 https://t.me/xyz, звони 8 (900) 123-45-67"
    )
    assert mask_pii(text) == ("Рақамаш <PHONE>, почта <EMAIL>, суроға <ADDRESS>, <USER> <USER> <URL>, звони <PHONE>")
    assert mask_pii(text, kinds=("phone",)).count("<PHONE>") == 2 and "zarina@example.tj" in mask_pii(
        text, kinds=("phone",)
    )
    assert set(PII_KINDS) == {"user", "email", "url", "phone", "address", "handle"}
    with pytest.raises(ValueError, match="unknown kinds"):
        mask_pii(text, kinds=("phones",))


@pytest.mark.parametrize(
    "text",
    [
        "Нархи картошка 5 сомонӣ",
        "нарх 500 сомонӣ",
        "1 500 000 сомонӣ",
        "150 000 000 сомонӣ",
        "Цена 2 500 сомони",
        "соли 2024",
        "В 2024 году",
        "1990-2000 гг",
        "2020–2024",
        "12.05.2024",
        "Поезд в 18:30",
        "с 9:00 до 18:00",
        "синфи 9",
        "Дар синфи мо 28 нафар",
        "дар хона 5 нафар",
        "хонаи 50 нафар",
        "Хонаи 3-ҳуҷрагӣ",
        "Сдаётся 3-комнатная",
        "50 кв. м",
        "дом 5 этажей",
        "шаҳри Душанбе",
        "в районе Сино",
        "в 2024 г. Президент",
        "на 2 этаже",
        "Ш. Рустамов гуфт",
        "маҳаллаи мо хуб аст",
        "кӯчаи мо",
        "т.е. всё хорошо",
        "ИНН 12345",
        "рақами 45",
        "Автобус номер 8 ходит каждые 15 минут",
        "1 кило гӯшт, 2 кило биринҷ",
        "хуб аст.Баъд",
        "email me",
    ],
)
def test_mask_pii_keeps_ordinary_text_and_numbers(text):
    assert mask_pii(text) == text


def test_mask_pii_masks_every_row_of_a_large_mixed_batch():
    # Speed belongs to benchmarks, not to assertions (timings move with the machine and its load).
    rng = random.Random(0)
    shapes = [
        "Комментарий {i}: звоните +992 00 0{a} {b} {c} или пишите user{i}@example.com",
        "Эта активистка — позор семьи, живёт на ул. Садовая {a}, кв. {b}",
        "Нархи картошка {a} сомонӣ, соли 2024, бозор соати 7:00 кушода мешавад",
        "[id{i}|Имя] смотри https://t.me/chan{a} и пиши @user_{b}",
        "Ин духтар беномус аст, шарми оила",
    ]
    texts = [
        rng.choice(shapes).format(i=i, a=rng.randint(10, 99), b=rng.randint(10, 99), c=rng.randint(10, 99))
        for i in range(10_000)
    ]
    out = [mask_pii(t) for t in texts]
    assert all(("<PHONE>" in o and "<EMAIL>" in o) for t, o in zip(texts, out) if t.startswith("Комментарий"))
    assert all("Садовая" not in o for t, o in zip(texts, out) if "Садовая" in t)


# ----------------------------------------------------------------------------- invisible and filler characters

# Every Default_Ignorable_Code_Point (the Hangul fillers U+115F U+1160 U+3164 U+FFA0 among them) as a sample list:
# the ones seen in evasion first, so hypothesis tries them early, then the rest of each range.
_EVASION_CHARS = ["\ufe0f", "\u3164", "\u115f", "\u1160", "\uffa0", "\u200b", "\u200d", "\u2060", "\U000e0041"]
IGNORABLES = _EVASION_CHARS + [chr(c) for a, b in DEFAULT_IGNORABLE_RANGES for c in range(a, b + 1)]
_TEXT_ALPHABET = "аоезчбсукдтыяшлюхаҳҷқғӣӯАБВ aeopcxyhAB0123456789@.,!?-+()\n\t\u00a0\u0304\u0327"


def test_default_ignorable_ranges_cover_unicode_property():
    """The hand-written ranges hold every code point Unicode (via the `regex` module) calls Default_Ignorable."""
    import regex

    ours = {c for a, b in DEFAULT_IGNORABLE_RANGES for c in range(a, b + 1)}
    di = regex.compile(r"\p{Default_Ignorable_Code_Point}")
    missing = [
        f"U+{c:04X}" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and di.match(chr(c)) and c not in ours
    ]
    assert not missing
    assert {0x115F, 0x1160, 0x3164, 0xFFA0, 0xFE0F} <= ours


def _interleave(text: str, inserts: list[tuple[int, str]]) -> str:
    chars = list(text)
    for pos, ch in sorted(inserts, reverse=True):
        chars.insert(pos % (len(chars) + 1), ch)
    return "".join(chars)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=_TEXT_ALPHABET, max_size=40),
    inserts=st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(IGNORABLES)), max_size=12),
    deobfuscate=st.booleans(),
)
def test_interleaved_ignorable_characters_never_change_normalised_text(text, inserts, deobfuscate):
    expected = normalize_text(text, deobfuscate=deobfuscate)
    assert normalize_text(_interleave(text, inserts), deobfuscate=deobfuscate) == expected


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.text(alphabet="сукадураты@0aex", min_size=1, max_size=6), min_size=1, max_size=6))
def test_braille_blank_counts_as_a_space(words):
    assert normalize_text("\u2800".join(words)) == normalize_text(" ".join(words))
    assert normalize_text("\u2800" + " \u2800".join(words) + "\u2800") == normalize_text(" ".join(words))


def test_filler_evasion_of_a_threat_is_undone():
    threat = "Ты шлюха, я тебя найду и убью"
    for ch in ("\ufe0f", "\u3164", "\u115f", "\uffa0"):
        assert normalize_text(ch.join(threat)) == normalize_text(threat)
    assert normalize_text(threat.replace(" ", "\u2800")) == normalize_text(threat)


# ----------------------------------------------------------------------------- PII behind exotic separators

# Separators between digit groups that must not hide a phone number: Unicode spaces (thin, narrow no-break, figure,
# ideographic, no-break), hyphens and dashes (U+2010, U+2011, en, em, minus, fullwidth), slash, tab, newline, the
# Braille blank, and the ASCII forms.
PHONE_SEPARATORS = [
    " ",
    "\u2009",
    "\u202f",
    "\u2007",
    "\u3000",
    "\u00a0",
    "\u2800",
    "-",
    "\u2010",
    "\u2011",
    "\u2013",
    "\u2014",
    "\u2212",
    "\uff0d",
    "/",
    "\t",
    "\n",
    ".",
    "",
    " - ",
    " \u2014 ",
    "\u2009\u2013\u2009",
]
_PHONE_SHAPES = [  # fixed prefix, then the lengths of the digit groups
    ("+992", (2, 3, 2, 2)),
    ("00992", (3, 2, 2, 2)),
    ("", (2, 3, 2, 2)),
    ("", (3, 2, 2, 2)),
    ("+7", (3, 3, 2, 2)),
    ("8", (3, 3, 2, 2)),
    ("8", (4, 2, 2, 2)),
    ("", (3, 3, 2, 2)),
]
_INTERLEAVED = ["\ufe0f", "\u3164", "\u200b", "\u2060", "\U000e0031"]
_FULLWIDTH_DIGITS = str.maketrans("0123456789+", "０１２３４５６７８９＋")


@st.composite
def _phones(draw) -> str:
    prefix, groups = draw(st.sampled_from(_PHONE_SHAPES))
    parts = [prefix] if prefix else []
    parts += ["".join(draw(st.lists(st.sampled_from("0123456789"), min_size=n, max_size=n))) for n in groups]
    phone = parts[0]
    for part in parts[1:]:
        sep = draw(st.sampled_from(PHONE_SEPARATORS))
        phone += sep + part
    if draw(st.booleans()):
        phone = phone.translate(_FULLWIDTH_DIGITS)
    inserts = draw(st.lists(st.tuples(st.integers(0, 40), st.sampled_from(_INTERLEAVED)), max_size=6))
    return _interleave(phone, inserts)


@settings(max_examples=200, deadline=None)
@given(phone=_phones(), context=st.sampled_from(["{}", "Рақамаш {}, нависед", "звони: {}.", "тел.\n{}\nписать"]))
def test_phone_numbers_behind_any_separator_are_masked(phone, context):
    masked = mask_pii(context.format(phone))
    assert "<PHONE>" in masked and not any(ch.isdigit() for ch in masked), (phone, masked)


@settings(max_examples=200, deadline=None)
@given(
    digits=st.lists(st.sampled_from("0123456789"), min_size=9, max_size=12),
    sep=st.sampled_from([s for s in PHONE_SEPARATORS if len(s) == 1]),
    inserts=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(_INTERLEAVED)), max_size=6),
)
def test_phone_digits_spelled_out_with_any_separator_are_masked(digits, sep, inserts):
    masked = mask_pii(f"пиши {_interleave(sep.join(digits), inserts)} вечером")
    assert "<PHONE>" in masked and not any(ch.isdigit() for ch in masked), masked


@settings(max_examples=200, deadline=None)
@given(
    local=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=3, max_size=20).filter(
        lambda s: s[0].isalnum()
    ),
    domain=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=2, max_size=10), min_size=1, max_size=4
    ),
    tld=st.sampled_from(["ru", "tj", "com", "рф"]),
    at=st.sampled_from(["@", "\uff20", "\ufe6b"]),
    inserts=st.lists(st.tuples(st.integers(0, 80), st.sampled_from(_INTERLEAVED)), max_size=6),
)
def test_emails_with_fullwidth_at_or_invisible_characters_are_masked(local, domain, tld, at, inserts):
    email = _interleave(f"{local}{at}{'.'.join(domain)}.{tld}", inserts)
    masked = mask_pii(f"Почтааш: {email}, нависед")
    assert masked == "Почтааш: <EMAIL>, нависед", (email, masked)


def test_masking_keeps_the_texts_own_characters_outside_placeholders():
    text = "Эта — позор\u2009семьи,\tзвони 93\u2009123\u201345\u221267 или пиши zarina\uff20mail.ru"
    assert mask_pii(text) == "Эта — позор\u2009семьи,\tзвони <PHONE> или пиши <EMAIL>"


# ----------------------------------------------------------------------------- linear-time masking


@pytest.mark.parametrize(
    "text",
    [
        "a." * 50_000,  # an unbounded host pattern retried at every word start made these quadratic
        "1a." * 33_000,
        "x@" + "a." * 50_000,
        "a-" * 50_000 + ".",
        "[id1|" * 20_000,  # and the VK tag pattern scanning to the end from every "["
    ],
    ids=["dots", "digit-dots", "email-dots", "hyphens", "vk-tags"],
)
def test_mask_pii_handles_100k_character_adversarial_inputs(text):
    """Linear patterns: each of these took minutes when masking was quadratic (docs/mask_pii_bench.json has the
    timings; no timing is asserted here). None of them holds PII."""
    assert mask_pii(text) == text
