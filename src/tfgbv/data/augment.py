"""Style-varied copies of training texts, so case, punctuation and emoji cannot decide a label.

Real comments (and the Tajik prose in tg_parstext) are often typed in lower case without punctuation, while the
bundled corpus is written carefully; a model trained on it alone learns "careful style = abuse" shortcuts. Each
function here maps one text to one variant deterministically; `data.SourceSpec.augment` names the ones a source uses.
"""

from __future__ import annotations

import re
from typing import Callable

from tfgbv.text import keyboard_spelling

# Punctuation and symbols (Unicode categories P*, S* except letters/digits/space), kept: @ and # start handles and
# tags, and placeholders like [PHONE] keep their brackets out of the way by being removed too (harmless: only the word
# is kept).
_PUNCT = re.compile(r"[^\w\s@#]+")
_SPACES = re.compile(r"\s+")
# Emoji and pictographs (the main blocks), variation selectors and the zero-width joiner that glues emoji sequences.
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0e\ufe0f\u200d\u20e3]+")


def lower_nopunct(text: str) -> str:
    """'Ту, бешарм!!! 😡' -> 'ту бешарм 😡': lower case, punctuation removed, spacing collapsed."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def no_emoji(text: str) -> str:
    """Emoji removed, spacing collapsed."""
    return _SPACES.sub(" ", _EMOJI.sub(" ", text)).strip()


def keyboard(text: str) -> str:
    """'Ту бешарм ҳастӣ' -> 'ту бешарм хасти': Tajik as most people type it, on a Russian keyboard without Tajik
    letters (ҷ→ч, ҳ→х, қ→к, ғ→г, ӯ→у, ӣ→и), lower case, no punctuation. Texts without Tajik letters are unchanged
    (and so give no copy)."""
    typed = keyboard_spelling(text)
    return lower_nopunct(typed) if typed != text else text


AUGMENTATIONS: dict[str, Callable[[str], str]] = {
    "lower_nopunct": lower_nopunct,
    "no_emoji": no_emoji,
    "keyboard": keyboard,
}


def style_variants(text: str, names: list[str]) -> list[tuple[str, str]]:
    """(name, variant) for each augmentation that changes the text and leaves something to read."""
    out = []
    for name in names:
        variant = AUGMENTATIONS[name](text)
        if variant and variant != text:
            out.append((name, variant))
    return out
