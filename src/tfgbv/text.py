"""Text normalisation (Tajik letters, look-alike letters, leetspeak, spacing) and PII masking."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Latin letters that look like Cyrillic ones; replaced only inside words that are mostly Cyrillic.
HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "k": "к", "m": "м",
                            "t": "т", "h": "н", "b": "в", "A": "А", "E": "Е", "O": "О", "P": "Р", "C": "С", "X": "Х",
                            "Y": "У", "K": "К", "M": "М", "T": "Т", "H": "Н", "B": "В"})
# Digits and symbols used as letters inside Cyrillic words ("д@ура", "c0сать"); phone numbers never match because
# a replacement needs Cyrillic letters on both sides or an adjoining Cyrillic run.
LEET = str.maketrans({"@": "а", "0": "о", "3": "з", "4": "ч", "6": "б", "$": "с"})
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
CYR = "А-Яа-яЁёҲҳҶҷҚқҒғӢӣӮӯІі"
WORD = re.compile(rf"[\w@$]+", re.UNICODE)
SPACED = re.compile(rf"(?<![{CYR}\w])(?:[{CYR}][ .\-_*]){{2,}}[{CYR}](?![{CYR}\w])")
STRETCH = re.compile(rf"([{CYR}])\1{{2,}}")
CYR_CHAR = re.compile(rf"[{CYR}]")


def _fix_word(word: str) -> str:
    cyr = len(CYR_CHAR.findall(word))
    if cyr == 0 or cyr == len(word):
        return word
    letters = sum(ch.isalpha() for ch in word)
    if cyr * 2 < letters:  # mostly Latin: a transliteration, leave it alone
        return word
    if word.isdigit():
        return word
    return word.translate(HOMOGLYPHS).translate(LEET)


def normalize_text(text: str, *, deobfuscate: bool = True) -> str:
    """NFC (composes decomposed Tajik letters such as и + U+0304 -> ӣ), strip zero-width characters, collapse spaces.

    With `deobfuscate`: Latin look-alikes and leetspeak inside Cyrillic words become Cyrillic, spaced letters are joined,
    runs of 3+ identical Cyrillic letters shrink to one. Digits of phone numbers and prices are untouched.
    """
    text = unicodedata.normalize("NFC", text)
    text = ZERO_WIDTH.sub("", text)
    text = SPACES.sub(" ", text).strip()
    if deobfuscate:
        text = WORD.sub(lambda m: _fix_word(m.group(0)), text)
        text = SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), text)
        text = STRETCH.sub(r"\1", text)
    return text


@lru_cache(maxsize=32)
def _table(items: tuple[tuple[str, str], ...]) -> dict[int, str]:
    return str.maketrans(dict(items))


def apply_char_map(text: str, mapping: dict[str, str]) -> str:
    """Replace single characters (e.g. letters a tokenizer lacks) via a cached translation table."""
    if not mapping:
        return text
    return text.translate(_table(tuple(sorted(mapping.items()))))


# ----------------------------------------------------------------------------- PII masking

_PHONE = re.compile(r"(?<![\w+])(?:\+?(?:992|7|8)[\s\-()]*)?\(?\d{2,3}\)?[\s\-]*\d{2,3}[\s\-]*\d{2}[\s\-]*\d{2}(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b(?:t\.me|vk\.com|instagram\.com|facebook\.com)/\S+", re.IGNORECASE)
_VK = re.compile(r"\[(?:id|club)\d+\|[^\]]*\]")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]{3,}")
_ADDRESS = re.compile(
    r"(?:\b(?:кӯчаи|кучаи|куч\.|ул\.|улица|пр\.|проспект|хиёбони|микрорайон|мкр\.?|маҳаллаи|махаллаи|деҳаи|дехаи|д\.|дом|кв\.|квартира|хонаи|хонаҳои)"
    r"\s*[\w\-\".«»]+(?:\s+[\w\-\".«»]+)?(?:[\s,]*(?:№\s*)?\d+[а-я]?)?"
    r"|\b[\w\-]+\s+(?:кӯчаи|кучаи)\s+\d+)", re.IGNORECASE)

PII_KINDS = ("url", "email", "user", "phone", "address", "handle")
_PATTERNS = {"url": (_URL, "<URL>"), "email": (_EMAIL, "<EMAIL>"), "user": (_VK, "<USER>"), "phone": (_PHONE, "<PHONE>"),
             "address": (_ADDRESS, "<ADDRESS>"), "handle": (_HANDLE, "<USER>")}


def mask_pii(text: str, kinds: tuple[str, ...] = PII_KINDS) -> str:
    """Replace phone numbers, e-mails, street addresses, user tags, @handles and URLs with placeholders."""
    for kind in kinds:
        pattern, placeholder = _PATTERNS[kind]
        text = pattern.sub(placeholder, text)
    return text
