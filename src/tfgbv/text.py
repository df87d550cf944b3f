"""Text normalisation for Tajik and Russian comments, and PII masking.

`normalize_text` repairs how Tajik letters arrive from phones (decomposed or borrowed look-alike letters), removes
invisible characters, collapses whitespace and, with `deobfuscate=True`, undoes the filter-evasion tricks seen in the
wild: Latin look-alike letters and leetspeak inside Cyrillic words, spaced-out letters and stretched letters.
`mask_pii` replaces phone numbers, e-mails, street addresses, user tags, @handles and URLs with placeholders.
`apply_char_map` swaps single characters (e.g. Tajik letters a tokenizer lacks) through a cached translation table.

Every pattern is compiled once at import; the hot paths bail out early on texts that cannot contain what they look for,
so both functions are cheap enough for millions of rows.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Callable

# ----------------------------------------------------------------------------- character classes

# Russian + Tajik Cyrillic letters (Tajik adds ҳ ҷ қ ғ ӣ ӯ).
CYR = "А-Яа-яЁёҲҳҶҷҚқҒғӢӣӮӯ"
_CYR_RE = re.compile(f"[{CYR}]")

# How Tajik is typed on a Russian keyboard (most comments): each Tajik letter becomes the Russian letter it is built on.
KEYBOARD_SPELLING = {"ҷ": "ч", "ҳ": "х", "қ": "к", "ғ": "г", "ӯ": "у", "ӣ": "и"}
KEYBOARD_SPELLING |= {k.upper(): v.upper() for k, v in KEYBOARD_SPELLING.items()}
_KEYBOARD_TABLE = str.maketrans(KEYBOARD_SPELLING)


def keyboard_spelling(text: str) -> str:
    """Tajik as typed without Tajik letters: ҷ→ч, ҳ→х, қ→к, ғ→г, ӯ→у, ӣ→и (case kept)."""
    return text.translate(_KEYBOARD_TABLE)


# ----------------------------------------------------------------------------- Tajik letter repair (always applied)

# Phones without a Tajik layout produce the six Tajik letters in other ways. NFC already composes и/у + U+0304
# (combining macron) into ӣ/ӯ. ҳ ҷ қ ғ have no canonical decomposition, so a base letter followed by a combining
# "descender-like" mark (cedilla, comma/hook/vertical line below, ogonek) or, for ғ, a stroke overlay, is composed
# here by hand. An overline (U+0305) is sometimes used instead of the macron for ӣ/ӯ.
_DESCENDERS = "\u0322\u0326\u0327\u0328\u0329"
_STROKES = "\u0335\u0336"
_COMBINING_FIX: dict[str, str] = {}
for _base, _letter in (("х", "ҳ"), ("ч", "ҷ"), ("к", "қ")):
    for _mark in _DESCENDERS:
        _COMBINING_FIX[_base + _mark] = _letter
        _COMBINING_FIX[_base.upper() + _mark] = _letter.upper()
for _mark in _STROKES:
    _COMBINING_FIX["г" + _mark] = "ғ"
    _COMBINING_FIX["Г" + _mark] = "Ғ"
for _base, _letter in (("и", "ӣ"), ("у", "ӯ")):
    _COMBINING_FIX[_base + "\u0305"] = _letter
    _COMBINING_FIX[_base.upper() + "\u0305"] = _letter.upper()
_COMBINING_RE = re.compile("|".join(sorted(_COMBINING_FIX)))
_REPAIR_MARKS = frozenset(_DESCENDERS + _STROKES + "\u0305")  # the marks the repair above composes

# Precomposed letters of other Cyrillic alphabets that look like (and are typed for) Tajik ones: Uzbek keyboards give
# ў for ӯ; Khakas/Abkhaz/Bashkir/Chukchi letters stand in for ҷ қ ҳ ғ; Udmurt/Altai diaeresis letters for ӣ ӯ;
# pre-Unicode Tajik fonts put ҷ ҳ қ ғ on the code points of Serbian/Macedonian љ њ ќ ѓ; Kazakh layouts give һ, and
# Azerbaijani Cyrillic ҝ, for ҳ, қ. None of them is a Russian or Tajik letter. (Cost: genuine Uzbek ў, Serbian or
# Kazakh text is altered, harmless for this task.) Legacy-font ї for ӣ is Ukrainian too: see LEGACY_YI below.
TAJIK_CONFUSABLES: dict[str, str] = {
    "љ": "ҷ",
    "Љ": "Ҷ",
    "њ": "ҳ",
    "Њ": "Ҳ",
    "ќ": "қ",
    "Ќ": "Қ",
    "ѓ": "ғ",
    "Ѓ": "Ғ",
    "һ": "ҳ",
    "Һ": "Ҳ",
    "ҝ": "қ",
    "Ҝ": "Қ",
    "ў": "ӯ",
    "Ў": "Ӯ",
    "ӱ": "ӯ",
    "Ӱ": "Ӯ",
    "ӥ": "ӣ",
    "Ӥ": "Ӣ",
    "ҹ": "ҷ",
    "Ҹ": "Ҷ",
    "ӌ": "ҷ",
    "Ӌ": "Ҷ",
    "ҡ": "қ",
    "Ҡ": "Қ",
    "ӄ": "қ",
    "Ӄ": "Қ",
    "ӽ": "ҳ",
    "Ӽ": "Ҳ",
    "ӿ": "ҳ",
    "Ӿ": "Ҳ",
    "ӻ": "ғ",
    "Ӻ": "Ғ",
    "ҕ": "ғ",
    "Ҕ": "Ғ",
}
_CONFUSABLE_TABLE = str.maketrans(TAJIK_CONFUSABLES)
_COMBINING_MARK = re.compile("[\u0300-\u036f]")
_CONFUSABLE_RE = re.compile(f"[{''.join(TAJIK_CONFUSABLES)}]")
# Legacy Tajik fonts also type ӣ as ї, a Ukrainian letter: repaired only in texts without the Ukrainian letters і є ґ
# (which no such font produces), so Ukrainian stays intact. Context-dependent, so not in a tokenizer normaliser.
LEGACY_YI: dict[str, str] = {"ї": "ӣ", "Ї": "Ӣ"}
_LEGACY_YI_TABLE = str.maketrans(LEGACY_YI)
_UKRAINIAN_RE = re.compile("[іІєЄґҐ]")

# Every Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt; tests check this list against the `regex`
# module's \p{Default_Ignorable_Code_Point}): zero-width characters, soft hyphen, bidi marks, word joiner, BOM,
# variation selectors (U+FE0F after a letter), Mongolian selectors, the Hangul fillers U+115F U+1160 U+3164 U+FFA0,
# TAG characters and the reserved ignorable ranges. They render as nothing (or as an empty glyph), split words for
# tokenizers and are a cheap evasion trick: interleaved into a threat they flipped its labels. ZWJ inside emoji
# sequences is lost too; acceptable here.
DEFAULT_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_INVISIBLE = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in DEFAULT_IGNORABLE_RANGES) + "]")
# The Braille blank U+2800 is a printable symbol that looks like a space and is typed as one to dodge filters: it
# counts as whitespace (collapsed into one space with the rest).
BRAILLE_BLANK = "\u2800"
# Control characters that are not whitespace (NUL, backspace, escape, DEL, the C1 block) and Unicode TAG characters
# (U+E0000-U+E007F, invisible "tag letters"): invisible too, and an evasion route (NUL bytes between words flipped a
# shaming comment to an insult). Removed together with the invisible characters above.
_CONTROL_AND_TAG = re.compile(
    "["
    + "".join(re.escape(chr(c)) for c in range(0xA0) if unicodedata.category(chr(c)) == "Cc" and not chr(c).isspace())
    + "\U000e0000-\U000e007f]"
)
# Combining marks still left after NFC and the Tajik letter repair belong to no Russian or Tajik letter: stress marks,
# "Zalgo" stacks, marks on spaces or digits. They change the tokens while the text still reads the same, so they are
# stripped (blocks: diacritical marks + extended + supplement, Cyrillic combining marks, Cyrillic Extended-A/B, half
# marks). A repair mark after a Latin look-alike waits for deobfuscation, which may still compose it ("x" + U+0327 ->
# "х" + U+0327 -> "ҳ").
_STRAY_MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u2de0-\u2dff\ua66f-\ua67f\ufe20-\ufe2f]"
)
_WHITESPACE = re.compile(r"[\s\u2800]+")

# ----------------------------------------------------------------------------- deobfuscation tables

# Latin letters that look like Cyrillic ones, plus n/r/u/i, which stand for п/г/и inside Cyrillic words, and macron
# vowels from Latin-keyboard Tajik. Applied only inside words that are Cyrillic in disguise. Lowercase h is not a
# look-alike of н; in Tajik text it stands for ҳ (the Latin transliteration of ҳ), in Russian text it is used for н.
HOMOGLYPHS: dict[str, str] = {
    "a": "а",
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "x": "х",
    "y": "у",
    "k": "к",
    "m": "м",
    "t": "т",
    "b": "в",
    "n": "п",
    "r": "г",
    "u": "и",
    "i": "и",
    "ë": "ё",
    "ī": "ӣ",
    "ū": "ӯ",
    "A": "А",
    "B": "В",
    "E": "Е",
    "K": "К",
    "M": "М",
    "H": "Н",
    "O": "О",
    "P": "Р",
    "C": "С",
    "T": "Т",
    "X": "Х",
    "Y": "У",
    "Ë": "Ё",
    "Ī": "Ӣ",
    "Ū": "Ӯ",
}
_HOMO_TABLE_RU = str.maketrans({**HOMOGLYPHS, "h": "н"})
_HOMO_TABLE_TG = str.maketrans({**HOMOGLYPHS, "h": "ҳ"})
_HOMO_CHARS = set(HOMOGLYPHS) | {"h"}

# Leetspeak: symbols/digits used as letters. Deliberately *not* mapped: 1 (и? л? й? and ordinals "1-ум"), 8 and 9
# (rare, ambiguous), 5/7 (never letters here). Digits are replaced only when flanked by Cyrillic letters on both
# sides ("с0бака", "м0ш4ина"), so "3кг", "6мин", "2024г", prices and every phone number stay intact. @ and 0 are also
# replaced at the start or end of a word next to two Cyrillic letters ("дур@", "0на"), where they are unambiguous.
LEET: dict[str, str] = {"@": "а", "0": "о", "3": "з", "4": "ч", "6": "б", "$": "с"}
_LEET_TABLE = str.maketrans(LEET)
_LEET_CHARS = "@0346$"
_LEET_INNER = re.compile(f"(?<=[{CYR}])[{re.escape(_LEET_CHARS)}]+(?=[{CYR}])")
_LEET_EDGE = re.compile(f"^[@0](?=[{CYR}]{{2}})|(?<=[{CYR}]{{2}})[@0]$")

_LATIN_LIKE = "A-Za-zëËīĪūŪ"
# A word (letters, digits, @, $) needs fixing only if a Cyrillic letter touches a Latin letter or a leet symbol in it;
# pure-Cyrillic and pure-Latin words are left as they are.
_WORD_CHARS = "\\w@$\u0300-\u036f"  # combining marks belong to their word
_WORD = re.compile(f"[{_WORD_CHARS}]+")
_MIXED = re.compile(f"[{CYR}][{_LATIN_LIKE}{re.escape(_LEET_CHARS)}]|[{_LATIN_LIKE}{re.escape(_LEET_CHARS)}][{CYR}]")
_LATIN_RE = re.compile(f"[{_LATIN_LIKE}]")

# Spaced letters: 3+ single letters with one consistent separator ("с у к а", "с.у.к.а", "б-е-н-о-м-у-с").
# Latin look-alikes and @ are allowed inside so mixed tricks ("с y к a") are joined before the word-level fixes.
_SPACED_LETTER = f"[{CYR}{''.join(sorted(_HOMO_CHARS))}@]"
# The separator may be a run of spaces (the same run throughout), so "т у п а я  д у р а" (words set apart by a wider
# gap) becomes "тупая дура"; this is why joining runs before whitespace is collapsed.
_SPACED = re.compile(f"(?<![\\w@$]){_SPACED_LETTER}( +|[.\\-_*·+]){_SPACED_LETTER}(?:\\1{_SPACED_LETTER})+(?![\\w@$])")
# Russian/Tajik one-letter words: a run of exactly three of them ("а я и …") is more likely real words than a
# spaced-out word, so it is left alone; four or more are joined.
_ONE_LETTER_WORDS = set("абвжиксуояӯАБВЖИКСУОЯӮ")

# Stretched letters: 3+ repeats of a Cyrillic letter (case-insensitive) become one. Legitimate doubles ("Аллоҳ",
# "касса", "раққоса") are untouched. Known casualties: the rare Russian triple-е words ("длинношеее").
_STRETCH = re.compile(f"([{CYR}])\\1{{2,}}", re.IGNORECASE)

# Signals that a text is Tajik (for lowercase Latin h inside Cyrillic words): a Tajik-only letter or a very frequent
# Tajik function word that is not Russian.
_TAJIK_HINT = re.compile(
    r"[ҳҷқғӣӯҲҶҚҒӢӮ]|(?<!\w)(?:аст|ин|ки|ва|бо|мо|шумо|ман|нест|ҳаст|хаст|мекунад|мешавад|"
    r"барои|як|мекунанд|намедонам|гуфт|ҳастӣ|хасти|ҳастам|хастам)(?!\w)",
    re.IGNORECASE,
)


def _repair_tajik_letters(text: str) -> str:
    """Compose Tajik letters typed as base letter + combining mark, and swap look-alike letters of other alphabets."""
    if _COMBINING_RE.search(text):
        text = _COMBINING_RE.sub(lambda m: _COMBINING_FIX[m.group(0)], text)
    if _CONFUSABLE_RE.search(text):
        text = text.translate(_CONFUSABLE_TABLE)
    return text


def _strip_stray_marks(text: str, keep_for_deobfuscation: bool) -> str:
    """Remove combining marks that composed into no letter (see _STRAY_MARKS)."""
    if not _STRAY_MARKS.search(text):
        return text
    if not keep_for_deobfuscation:
        return _STRAY_MARKS.sub("", text)
    repair = _REPAIR_MARKS

    def keep(m: re.Match[str]) -> str:
        i = m.start()
        return m.group(0) if m.group(0) in repair and i > 0 and text[i - 1] in _HOMO_CHARS else ""

    return _STRAY_MARKS.sub(keep, text)


def _join_spaced(match: re.Match[str]) -> str:
    """Join one run of spaced letters unless it is probably a sequence of real one-letter words or not Cyrillic."""
    run, sep = match.group(0), match.group(1)
    letters = run.replace(sep, "")  # the separator is the same throughout the run
    if len(_CYR_RE.findall(letters)) < 2:
        return run  # "a b c d" in Latin text, or mostly Latin: not ours to touch
    if len(letters) == 3 and (all(ch in _ONE_LETTER_WORDS for ch in letters) or match.group(1) == "."):
        return run  # "а я и", "и.т.д": real words / abbreviations
    return letters


def _fix_word(word: str, tajik: bool) -> str:
    """Latin look-alikes and leetspeak -> Cyrillic inside one word that is (mostly) Cyrillic."""
    at = word.find("@")
    if at >= 0 and _LATIN_RE.match(word, at + 1):
        return word  # an e-mail or handle ("зарина@mail"), not leetspeak
    latin = _LATIN_RE.findall(word)
    if latin:
        n_cyr = len(_CYR_RE.findall(word))
        # Convert when Cyrillic letters are the majority, or when every Latin letter is a look-alike ("xyй"):
        # either way the word is Cyrillic in disguise. A mostly-Latin word with a stray Cyrillic letter is left as is.
        if n_cyr >= len(latin) or all(ch in _HOMO_CHARS for ch in latin):
            word = word.translate(_HOMO_TABLE_TG if tajik else _HOMO_TABLE_RU)
            if _COMBINING_MARK.search(word):  # "x" + U+0327 is now "х" + U+0327: compose before the leet step
                word = _repair_tajik_letters(unicodedata.normalize("NFC", word))
        else:
            return word
    n_leet = sum(word.count(ch) for ch in _LEET_CHARS)
    if n_leet and n_leet < len(_CYR_RE.findall(word)):  # letters must outnumber symbols ("в30х" stays)
        word = _LEET_INNER.sub(lambda m: m.group(0).translate(_LEET_TABLE), word)
        word = _LEET_EDGE.sub(lambda m: m.group(0).translate(_LEET_TABLE), word)
    return word


def normalize_text(text: str, *, deobfuscate: bool = True) -> str:
    """Normalise one comment.

    Always: Unicode NFC (и/у + U+0304 -> ӣ/ӯ), Tajik letters typed with combining marks, borrowed look-alike
    letters or legacy-font letters ("њастї" -> "ҳастӣ") -> ҳ ҷ қ ғ ӣ ӯ, invisible characters (every Unicode
    Default_Ignorable_Code_Point: zero-width, variation selectors, Hangul fillers, TAG characters; NUL and other
    controls) and combining marks that compose into no letter removed, every whitespace run (newlines and the Braille
    blank U+2800 included) -> one space.
    With `deobfuscate`: spaced letters joined ("с у к а" -> "сука"); inside mostly-Cyrillic words Latin look-alikes
    -> Cyrillic ("тупaя" -> "тупая") and leetspeak -> letters ("д@ура" -> "дура"); 3+ repeated Cyrillic letters -> one
    ("шармандааааа" -> "шарманда"). Digits outside Cyrillic words (phone numbers, prices, years) are never touched.
    Idempotent: normalize_text(normalize_text(x)) == normalize_text(x).
    """
    text = _INVISIBLE.sub("", text)  # first, so a mark after an invisible character still composes
    text = _CONTROL_AND_TAG.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = _repair_tajik_letters(text)
    text = _strip_stray_marks(text, keep_for_deobfuscation=deobfuscate)  # after composing: only marks of no letter
    if ("ї" in text or "Ї" in text) and not _UKRAINIAN_RE.search(text):
        text = text.translate(_LEGACY_YI_TABLE)
    if deobfuscate:
        text = _SPACED.sub(_join_spaced, text)  # before collapsing: wider gaps between spaced words are word breaks
    text = _WHITESPACE.sub(" ", text).strip()
    if deobfuscate:
        # One fix can expose another (a leet symbol turned letter completes a spaced run, a look-alike turned
        # Cyrillic composes with its combining mark), so repeat until nothing changes; ordinary text takes one pass.
        for _ in range(_MAX_PASSES):
            fixed = _deobfuscate_pass(text)
            if fixed == text:
                break
            text = fixed
    return text


_MAX_PASSES = 4


def _deobfuscate_pass(text: str) -> str:
    """One pass of the deobfuscation steps over whitespace-collapsed text."""
    text = _SPACED.sub(_join_spaced, text)  # runs with uneven gaps ("с у  к а") are joined after collapsing
    if _MIXED.search(text):  # only then can a word need fixing; the common case costs one linear scan
        tajik = bool(_TAJIK_HINT.search(text))
        text = _WORD.sub(lambda m: _fix_word(m.group(0), tajik) if _MIXED.search(m.group(0)) else m.group(0), text)
    text = _STRETCH.sub(r"\1", text)
    if _COMBINING_MARK.search(text):  # a look-alike turned Cyrillic may now compose with its mark ("x" + U+0327)
        text = _repair_tajik_letters(unicodedata.normalize("NFC", text))
    return _strip_stray_marks(text, keep_for_deobfuscation=False)  # marks that did not compose now never will


# ----------------------------------------------------------------------------- character maps


@lru_cache(maxsize=64)
def _translation_table(items: tuple[tuple[str, str], ...]) -> dict[int, str]:
    return str.maketrans(dict(items))


def apply_char_map(text: str, mapping: dict[str, str]) -> str:
    """Replace single characters via `mapping` (e.g. {"ҷ": "ч"} for a tokenizer without Tajik letters).

    Built on str.translate; the translation table is cached per distinct mapping, so calling this per row is cheap.
    Values may be longer than one character or empty (deletion). Keys must be single characters.
    """
    if not mapping:
        return text
    items = tuple(sorted(mapping.items()))
    bad = [k for k, _ in items if len(k) != 1]
    if bad:
        raise ValueError(f"apply_char_map: mapping keys must be single characters; got {bad[:5]!r}")
    return text.translate(_translation_table(items))


# ----------------------------------------------------------------------------- PII masking

# PII patterns run on a folded copy of the text of the same length (so a match there is a match at the same place in
# the original, which keeps its characters outside the masked spans): every whitespace character but the newline
# (thin, narrow no-break, figure, ideographic spaces, tab, ...) and the Braille blank -> " ", every hyphen and dash
# (U+2010-U+2015, minus, small and fullwidth hyphen-minus) -> "-", fullwidth ASCII (U+FF01-U+FF5E: at sign, plus,
# digits, full stop) -> ASCII, small commercial at -> "@". Masking therefore sees "93\u2009123\u201345\u2212 67" and
# "zarina\uff20mail.ru" as the forms it knows.
_PII_FOLD: dict[str, str] = {
    **{chr(c): " " for c in range(0x3100) if chr(c).isspace() and chr(c) not in " \n"},
    BRAILLE_BLANK: " ",
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63", "-"),
    **{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
    "\ufe6b": "@",
    "\u2044": "/",
    "\u2215": "/",
}
# A regex substitution rather than str.translate: most texts hold none of these, and a search is cheaper than a
# per-character table lookup.
_PII_FOLDABLE = re.compile("[" + "".join(map(re.escape, _PII_FOLD)) + "]")


def _fold_for_pii(text: str) -> str:
    """`text` with _PII_FOLD applied (same length)."""
    return _PII_FOLDABLE.sub(lambda m: _PII_FOLD[m.group(0)], text)


# Phone digit-group separator: nothing, up to three of space, newline, dash, slash (" - ", "/"), or one dot
# (93.555.12.34). Bounded, like every repetition below that can meet a long run, so that masking stays linear.
_SEP = r"(?:[ \n\-/]{0,3}|\.)"
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    # Tajikistan, international: +992 93 123 45 67, +992 (37) 221-22-33, 00992..., +992 918 12 34 56
    rf"\(?(?:\+|00)?992\)?{_SEP}(?:\(\d{{2,3}}\)|\d{{2,3}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    rf"|\(?(?:\+|00)?992\)?{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    # Russia: +7 / 8, mobile 3-3-2-2 or city code 4-2-2-2: 8 (900) 123-45-67, +7 3452 12-34-56, 89001234567
    rf"|(?:\+7|8){_SEP}(?:\(\d{{3}}\)|\d{{3}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    rf"|(?:\+7|8){_SEP}(?:\(\d{{4}}\)|\d{{4}}){_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    # Tajikistan, national 9 digits: 93 123 45 67, (37) 221-22-33, 918 12 34 56, 931234567
    rf"|(?:\(\d{{2}}\)|\d{{2}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    rf"|\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    # Russia without prefix, 10 digits: (900) 123-45-67
    rf"|(?:\(\d{{3}}\)|\d{{3}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
    r")(?!\w)"
)
# Amounts ("1 500 000"), years, dates (dots), times and 3-3-3 money groupings do not fit these shapes.
# Digits written one by one with the same separator ("9 3 5 5 5 1 2 3 4", "9-3-5-5-5-1-2-3-4"): 9 to 12 single digits
# are a phone number spelled out to dodge the shapes above; amounts and dates are written in groups.
_SPACED_PHONE = re.compile(r"(?<![\w+])\+?\s?\d(?P<sep>[ .\-/\n])\d(?:(?P=sep)\d){7,10}(?!\w)")

# Lengths bounded as DNS and e-mail bound them (labels of at most 63 characters, a local part of at most 64) and a
# host of at most 16 labels: an unbounded `(?:label\.)+` tried at every word start of "a.a.a.a..." made masking
# quadratic (7 s for 20,000 characters); bounded, every start costs at most a constant.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){0,16}\.[A-Za-zА-Яа-я]{2,63}")
_URL = re.compile(
    r"(?:\b(?:https?://|www\.)"
    r"|\b(?:[a-z0-9-]{1,63}\.){1,16}(?:com|ru|tj|org|net|me|io|info|su|uz|kz|be|ly|gl|tv|app)\b(?!\.\w))"
    r"(?:[^\s<>\"«»]*[^\s<>\"«».,!?;:)])?",
    re.IGNORECASE,
)
# VK reply tags "[id123|Name]" carry real user ids and names (masked in PII masking and in loaded public data).
VK_USER_TAG = re.compile(r"\[(?:id|club|public)\d{1,20}\|[^\]\n]{0,256}\]")
_VK_ID = re.compile(r"(?<![\w/])(?:id|club|public)\d{3,}(?!\w)")
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")

# Addresses are a run of components (street, house, flat, micro-district, neighbourhood/village, city) joined by
# spaces or commas, masked as one <ADDRESS>. A house or flat needs a number; a street needs a capitalised name or a
# number; city/district/region names and floors/rooms alone ("шаҳри Душанбе", "в районе Сино", "на 2 этаже") are not
# masked, but the abbreviated address forms "ш. Душанбе" / "г. Душанбе" are.
_CAP = r"[«\"]?[A-ZА-ЯЁҲҶҚҒӢӮ][\w\-’']*[»\"]?"
_INITIAL = r"(?:[A-ZА-ЯЁҲҶҚҒӢӮ]\.\s?)"
# A house number, not a quantity: "14", "14а", "14/2", "№ 5" but not "5 нафар", "3 этажа", "2 сол".
_NUM = (
    r"(?:№\s?)?\d{1,4}(?!\d)(?!-[^\W\d_]{2})(?!\s?(?i:нафар|ошёна|ҳуҷра|хучра|сол|сомон|комнат|этаж|человек|год|лет|руб|раз|"
    r"минут|соат|рӯз|руз|дақиқа|дакика|кг|км|%))(?:[\s\-]?[а-яa-z](?!\w))?(?:\s?/\s?\d{1,4})?"
)
_STREET_KW = (
    r"(?i:кӯчаи|кучаи|кӯча|куча|хиёбони|хиёбон|гузаргоҳи|гузаргохи|тупики|ул\.|ул(?=\s)|улиц[аеуы]|улицей|"
    r"пр-т\.?|пр\.|просп\.|проспект[аеу]?|пер\.|переул(?:ок|ке|ка)|бульвар[аеу]?|б-р\.?|шоссе|"
    r"набережн(?:ая|ой))"
)
_HOUSE_KW = r"(?i:хонаи|бинои|хонаҳои|д\.|дом[ае]?|корп\.|корпус[ае]?)"
_ADDR_PARTS = {
    "street": (
        rf"{_STREET_KW}\s*(?:{_INITIAL}?{_CAP}(?:\s+{_CAP}){{0,2}}(?:[\s,]+(?:{_HOUSE_KW}\s*)?{_NUM})?"
        rf"|[\w\-]+(?:\s+[\w\-]+)?[\s,]+(?:{_HOUSE_KW}\s*)?{_NUM})"
    ),
    "house": rf"{_HOUSE_KW}\s*{_NUM}",
    "flat": rf"(?i:кв\.|кв(?=\s)|квартир(?:аи|а|е|у|ы))\s*{_NUM}",
    "mkr": (
        r"(?i:микрорайон(?:и|е|а|у)?|мкр-н\.?|мкр\.?)\s*(?:№\s?\d{1,3}|\d{1,3}|" + _CAP + r")"
        r"|\d{1,3}(?:-?(?i:ум|уми|й|ый|ом|м))?\s*(?i:микрорайон(?:и|е|а|у)?|мкр\.?)(?!\w)"
    ),
    "area": (
        r"(?i:маҳаллаи|махаллаи|махалл[яеи]|деҳаи|дехаи|деҳа|деха|кишлоқи|кишлоки|қишлоқи|кишлак[аеу]?|"
        r"посёлок|поселок|пос\.|ҷамоати|чамоати|джамоат[аеу]?|село|селе)\s+" + _CAP + r"(?:\s+" + _CAP + r")?"
    ),
    "city": r"(?<!\d )(?<!\d)(?:ш\.|г\.)\s?" + _CAP,
    # Weak parts: masked only together with a strong part above.
    "region": r"(?i:шаҳри|шахри|город[аеу]?|ноҳияи|нохияи|район[аеу]?|вилояти|област[иь]|область)\s+" + _CAP,
    "unit": (
        r"(?i:ошёнаи|утоқи|подъезд|кабинет|каб\.|офис)\s*\d{1,4}(?!\d)"
        r"|\d{1,2}\s*(?i:-?й\s)?(?i:этаж|подъезд)(?!\w)"
    ),
}
_WEAK_PART = f"(?:{_ADDR_PARTS['region']})|(?:{_ADDR_PARTS['unit']})"
_ADDR_PART = "|".join(f"(?:{p})" for p in _ADDR_PARTS.values())
_ADDRESS = re.compile(rf"(?<![\w])(?:{_ADDR_PART})(?:[\s,]+(?:{_ADDR_PART}))*")
_WEAK_ONLY = re.compile(rf"(?:{_WEAK_PART})(?:[\s,]+(?:{_WEAK_PART}))*")


# Applied in this order whatever order `kinds` lists: tags and e-mails before URLs (a bare-domain URL would eat an
# e-mail's domain), URLs before phones (wa.me/992...), phones before addresses, handles last (after e-mails).
PII_KINDS: tuple[str, ...] = ("user", "email", "url", "phone", "address", "handle")
PII_PLACEHOLDERS: dict[str, str] = {
    "user": "<USER>",
    "email": "<EMAIL>",
    "url": "<URL>",
    "phone": "<PHONE>",
    "address": "<ADDRESS>",
    "handle": "<USER>",
}
_ADDRESS_HINT = re.compile(
    r"\d|ш\.|г\.|(?i:маҳалла|махалл|деҳа|деха|кишло|қишло|кишлак|посёлок|поселок|пос\.|"
    r"ҷамоат|чамоат|джамоат|село|селе|микрорайон|мкр)"
)
_DIGIT = re.compile(r"\d")


def mask_pii(text: str, kinds: tuple[str, ...] = PII_KINDS) -> str:
    """Replace PII with placeholders: <USER> (VK tags [id123|Name], id123, @handles), <EMAIL>, <URL>, <PHONE>
    (Tajik +992 / national and Russian +7/8 formats with spaces, dashes, dots, slashes, parentheses, or digits spelled
    out one by one) and <ADDRESS> (Tajik and Russian street/house/flat/micro-district/neighbourhood forms). Ordinary
    numbers (prices, years, times) stay. Invisible characters are removed first (from the returned text too); the
    patterns then run on a folded copy (exotic spaces, dashes and fullwidth forms as ASCII, see _PII_FOLD), so they
    cannot hide PII either, while the returned text keeps its own characters outside the placeholders. Linear time:
    every pattern is bounded (docs/mask_pii_bench.json measures adversarial inputs)."""
    unknown = set(kinds) - set(PII_KINDS)
    if unknown:
        raise ValueError(f"mask_pii: unknown kinds {sorted(unknown)}; known: {PII_KINDS}")
    # On text without invisible characters: a zero-width space or a NUL between digits must not hide a phone number.
    text = _CONTROL_AND_TAG.sub("", _INVISIBLE.sub("", text))
    folded = _fold_for_pii(text)
    has_digit = bool(_DIGIT.search(folded))
    for kind in PII_KINDS:
        if kind not in kinds:
            continue
        if kind == "user":
            if "[" in folded:
                text, folded = _mask(VK_USER_TAG, "<USER>", text, folded)
            if has_digit:
                text, folded = _mask(_VK_ID, "<USER>", text, folded)
        elif kind == "email":
            if "@" in folded:
                text, folded = _mask(_EMAIL, "<EMAIL>", text, folded)
        elif kind == "url":
            if "." in folded:
                text, folded = _mask(_URL, "<URL>", text, folded)
        elif kind == "phone":
            if has_digit:
                text, folded = _mask(_PHONE, "<PHONE>", text, folded)
                text, folded = _mask(_SPACED_PHONE, "<PHONE>", text, folded)
        elif kind == "address":
            if _ADDRESS_HINT.search(folded):
                text, folded = _mask(_ADDRESS, "<ADDRESS>", text, folded, keep=_WEAK_ONLY.fullmatch)
        elif kind == "handle":
            if "@" in folded:
                text, folded = _mask(_HANDLE, "<USER>", text, folded)
    return text


def _mask(
    rx: re.Pattern[str], placeholder: str, text: str, folded: str, keep: Callable[[str], object] | None = None
) -> tuple[str, str]:
    """Replace the matches of `rx` in `folded` by `placeholder`, at the same places in `text` (of the same length);
    a match for which `keep(matched folded text)` is true stays as it is."""
    out, out_folded, last = [], [], 0
    for m in rx.finditer(folded):
        start, end = m.span()
        if keep is not None and keep(m.group(0)):
            continue
        out += (text[last:start], placeholder)
        out_folded += (folded[last:start], placeholder)
        last = end
    if not out:
        return text, folded
    out.append(text[last:])
    out_folded.append(folded[last:])
    return "".join(out), "".join(out_folded)
