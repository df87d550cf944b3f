"""Gated Latin -> Cyrillic transliteration of Tajik chat Latin ("tu besharm hasti" -> "ту бешарм ҳасти").

Phones without a Tajik layout make many people write Tajik in Latin letters, with the informal conventions of chat
(sh ch zh kh gh for ш ч ж х ғ, j for ҷ, q for қ, h for ҳ, x for х). Tajik encoders have seen little such text;
converting it to the Cyrillic they were trained on may help. It is off by default (`model.text.transliterate: true`
turns it on) and applies only to texts that look like Tajik chat Latin (`looks_like_tajik_latin`), never to Russian in
Latin letters, English, or mixed Cyrillic text. Ambiguities are resolved towards the common case: final -i is и (not
ӣ), e is е (not э), j is ҷ (not ж), y before a vowel starts я ю ё е. Measured on the bundled corpus in
docs/inference.md; see there before enabling it.
"""

from __future__ import annotations

import re

# Longest first: digraphs before their letters.
_DIGRAPHS = {"sh": "ш", "ch": "ч", "zh": "ж", "kh": "х", "gh": "ғ", "ya": "я", "yu": "ю", "yo": "ё", "ye": "е"}
_LETTERS = {
    "a": "а",
    "b": "б",
    "c": "с",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "ҳ",
    "i": "и",
    "j": "ҷ",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "q": "қ",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "w": "в",
    "x": "х",
    "y": "й",
    "z": "з",
    "ī": "ӣ",
    "ū": "ӯ",
    "ö": "ӯ",
    "ü": "ӯ",
    "'": "ъ",
    "`": "ъ",
    "’": "ъ",
}  # an apostrophe inside a word ("ma'lum") is Tajik ъ
_PIECE = re.compile("|".join(sorted(map(re.escape, [*_DIGRAPHS, *_LETTERS]), key=len, reverse=True)), re.IGNORECASE)

# Frequent Tajik words in chat Latin that are neither Russian (in Latin letters) nor English words.
TAJIK_LATIN_MARKERS = frozenset(
    """
ast hast hasti hastand hastam hastem hastu nest nesti nestam man tu turo mo moro shumo vay onho ki chi ba dar az bo
va in yak har
agar lekin ham boz xele khele kujo kujost chunon imruz imshab mekunad mekunam mekunand mekunem mekuni meshavad shud
shav kardi kard zan zani zanho duxtar dukhtar bacha bachaho tojik tojiki tojikon khudo xudo barot baroi baroyi
namedonam medonam nadorad dorad doram doi gap gapi bisyor kalon khub xub bad beaql benomus besharm sharm ayb hama
bosh xona khona kun kunad muborak boyad shuda shudam raft kucha kuchai xel khel hamin jonam intizor tashakkur zebo
""".split()
)
_ENGLISH = frozenset("the and is are you your to of it this that with for was not".split())
_WORD = re.compile(r"[A-Za-zĪīŪūÖöÜü]+(?:['’`][A-Za-zĪīŪūÖöÜü]+)*")  # quotes around a word are not letters
_CYRILLIC = re.compile("[А-Яа-яЁёҲҳҶҷҚқҒғӢӣӮӯ]")
_LATIN = re.compile("[A-Za-zĪīŪūÖöÜü]")
_KEEP = re.compile(r"(?:https?://|www\.)\S+|\S*@\S+|#\w+|<[A-Z]+>")  # URLs, e-mails, handles, tags, placeholders


# Tajik endings: object marker -ro ("telefonashro"), plurals -ho/-hoi ("zanho"), possessive -ash ("raqamash"), me-/na-
# with personal endings ("mekunam", "namedonad"). Each matching word counts as a marker.
_TAJIK_SUFFIX = re.compile(r"\w{3,}(?:ro|hoi|ho|ash)|(?:me|name|na)\w+(?:am|ad|and|em|ed|i)", re.IGNORECASE)


def looks_like_tajik_latin(text: str, min_markers: int = 2) -> bool:
    """Mostly Latin letters, at least `min_markers` Tajik marker words or endings, and not English."""
    if len(_LATIN.findall(text)) <= 2 * len(_CYRILLIC.findall(text)):
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if sum(w in _ENGLISH for w in words) >= 2:
        return False
    return sum(w in TAJIK_LATIN_MARKERS or bool(_TAJIK_SUFFIX.fullmatch(w)) for w in words) >= min_markers


def _word_to_cyrillic(word: str) -> str:
    out = _PIECE.sub(lambda m: _DIGRAPHS.get(m.group(0).lower()) or _LETTERS[m.group(0).lower()], word)
    if word[:1].isupper():  # "Tu" -> "Ту"; "TU" -> "ТУ"
        out = out.upper() if word.isupper() and len(word) > 1 else out[:1].upper() + out[1:]
    return out


def transliterate_tajik_latin(text: str) -> str:
    """Tajik chat Latin -> Cyrillic when `looks_like_tajik_latin(text)`; any other text is returned unchanged.

    URLs, e-mails, @handles, hashtags and <PLACEHOLDERS> are kept as written. Idempotent.
    """
    if not looks_like_tajik_latin(text):
        return text
    pieces, last = [], 0
    for keep in _KEEP.finditer(text):
        pieces.append(_WORD.sub(lambda m: _word_to_cyrillic(m.group(0)), text[last : keep.start()]))
        pieces.append(keep.group(0))
        last = keep.end()
    pieces.append(_WORD.sub(lambda m: _word_to_cyrillic(m.group(0)), text[last:]))
    return "".join(pieces)
