"""HateCheck-style functional test suite (Röttger et al. 2021) for TFGBV detection in Tajik and Russian.

Each *functionality* is one behaviour the classifier must get right: a plain form of a label (insult, shaming,
threat, doxxing, or a combination) or a *hard negative* that shares words with abuse but carries no label
(counter-speech, a victim's report, news quoting abuse, negation, neutral or positive mention of a group, public or
own contact details). Cases are generated from hand-written Tajik and Russian templates × target noun phrases; then
positive cases are obfuscated the ways seen in the wild (Tajik typed without ҳ ҷ қ ғ ӣ ӯ, Latin transliteration,
Latin look-alike letters, leetspeak, spaced and stretched letters), keeping their labels.

Grammar: Tajik templates never attach an izofa to the target phrase (for multi-word phrases such as "хоҳари Рустам"
it would attach to the wrong noun); the object marker -ро attaches to the whole phrase, which is correct. Russian
templates use the case form they need ({t} nominative, {t_acc}, {t_gen}, {t_dat}); every singular target is
feminine, plural targets have their own template variant.

Privacy: every phone number is in the fictitious range +992 00 0XX XX XX (Tajik national numbers never start with
0), every address, name and workplace is invented. Generation is deterministic for a seed.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import yaml

from tfgbv.data.corpus import OBFUSCATIONS as CORPUS_OBFUSCATIONS
from tfgbv.labels import LABELS
from tfgbv.locations import data_dir

LANG_ORDER = ("tg", "ru")
PHONE_RANGE = "+992 00 0XX XX XX"

# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A target noun phrase in both languages. `number` selects the singular or plural template variant."""

    key: str
    tg: str
    ru: str  # nominative
    ru_acc: str
    ru_gen: str
    ru_dat: str
    number: str = "sg"
    relational: bool = False  # a private woman named by her relation to a man ("wife of ..."), not a group


TARGETS: tuple[Target, ...] = (
    Target("activist", "фаъолаи ҳуқуқи занон", "активистка", "активистку", "активистки", "активистке"),
    Target("journalist", "рӯзноманигор", "журналистка", "журналистку", "журналистки", "журналистке"),
    Target("singer", "сароянда", "певица", "певицу", "певицы", "певице"),
    Target("dancer", "раққоса", "танцовщица", "танцовщицу", "танцовщицы", "танцовщице"),
    Target(
        "divorced_woman",
        "зани талоқшуда",
        "разведённая женщина",
        "разведённую женщину",
        "разведённой женщины",
        "разведённой женщине",
    ),
    Target(
        "woman_with_disability",
        "зани дорои маъюбӣ",
        "женщина с инвалидностью",
        "женщину с инвалидностью",
        "женщины с инвалидностью",
        "женщине с инвалидностью",
    ),
    Target(
        "hijab_wearer",
        "духтари ҳиҷобпӯш",
        "девушка в хиджабе",
        "девушку в хиджабе",
        "девушки в хиджабе",
        "девушке в хиджабе",
    ),
    Target(
        "woman_without_hijab",
        "духтари бе рӯймол",
        "девушка без платка",
        "девушку без платка",
        "девушки без платка",
        "девушке без платка",
    ),
    Target(
        "ethnic_russian_woman", "зани рус", "русская женщина", "русскую женщину", "русской женщины", "русской женщине"
    ),
    Target("teen_girl", "духтари мактабхон", "школьница", "школьницу", "школьницы", "школьнице"),
    Target("wife", "зани Ҷамшед", "жена Джамшеда", "жену Джамшеда", "жены Джамшеда", "жене Джамшеда", relational=True),
    Target(
        "sister",
        "хоҳари Рустам",
        "сестра Рустама",
        "сестру Рустама",
        "сестры Рустама",
        "сестре Рустама",
        relational=True,
    ),
    Target(
        "girls_general",
        "духтарони имрӯза",
        "современные девушки",
        "современных девушек",
        "современных девушек",
        "современным девушкам",
        number="pl",
    ),
    Target("feminists", "феминистҳо", "феминистки", "феминисток", "феминисток", "феминисткам", number="pl"),
)
NO_TARGET = "none"

# ----------------------------------------------------------------------------- invented contact details

ADDRESSES = {
    "tg": [
        "кӯчаи Гулбоғ 14, хонаи 3",
        "микрорайони 34, бинои 12, хонаи 8",
        "кӯчаи Навбаҳор 7, хонаи 21",
        "маҳаллаи Пахтакор, кӯчаи Боғ 5",
        "ш. Душанбе, кӯчаи Лолазор 19, хонаи 4",
        "деҳаи Сарбоғ, кӯчаи Мактаб 3",
    ],
    "ru": [
        "ул. Садовая 14, кв. 3",
        "34 мкр, дом 12, кв. 8",
        "ул. Весенняя 7, кв. 21",
        "махалля Пахтакор, ул. Садовая 5",
        "г. Душанбе, ул. Лолазор 19, кв. 4",
        "кишлак Сарбог, ул. Школьная 3",
    ],
}
PUBLIC_ADDRESSES = {
    "tg": ["кӯчаи Дӯстӣ 10, ошёнаи 2", "кӯчаи Марказӣ 1", "хиёбони Истиқлол 45, утоқи 12"],
    "ru": ["ул. Дружбы 10, 2 этаж", "ул. Центральная 1", "проспект Независимости 45, кабинет 12"],
}
# Formats people type; all are the fictitious range +992 00 0XX XX XX.
PHONE_FORMATS = (
    "+992 00 0{a} {b} {c}",
    "+992 (00) 0{a}-{b}-{c}",
    "00 0{a} {b} {c}",
    "+992000{a}{b}{c}",
    "+992-00-0{a}-{b}-{c}",
)
PHONE_RE = re.compile(r"(?:\+?992[\s\-()]*)?\(?00\)?[\s\-]*0\d{2}[\s\-]*\d{2}[\s\-]*\d{2}")  # the fictitious range


def fictitious_phone(rng: random.Random) -> str:
    """A phone number in the fictitious range +992 00 0XX XX XX, in one of the formats people type."""
    a, b, c = (f"{rng.randint(0, 99):02d}" for _ in range(3))
    return rng.choice(PHONE_FORMATS).format(a=a, b=b, c=c)


# ----------------------------------------------------------------------------- templates


class T(NamedTuple):
    """One template: singular and plural variants (either may be None), targets to skip or to use exclusively.

    Placeholders: {t} {t_acc} {t_gen} {t_dat} target phrase; {addr} {phone} private details; {public_phone}
    {public_addr} public ones. [word] marks the word an obfuscation targets (the slur or key verb), as in the wild.
    """

    sg: str | None
    pl: str | None = None
    skip: tuple[str, ...] = ()
    only: tuple[str, ...] = ()


RELATIONAL = tuple(t.key for t in TARGETS if t.relational)


@dataclass(frozen=True)
class Functionality:
    """A functionality: expected labels, the label(s) it tests, and templates per language."""

    labels: tuple[str, ...]  # expected positive labels; empty for negatives
    tests: tuple[str, ...]  # labels whose behaviour it tests (for hard negatives: the label it must not trigger)
    hard_negative: bool
    description: str
    templates: dict[str, list[T]]
    targeted: bool = True
    variants: int = 1  # untargeted templates with random details are filled this many times


TEMPLATES_FILE = ("functional", "templates.yaml")  # under the data directory (tfgbv.locations.data_dir)
_FUNCTIONALITY_KEYS = {"labels", "hard_negative_for", "description", "targeted", "variants", *LANG_ORDER}
_TEMPLATE_KEYS = {"sg", "pl", "skip", "only"}


def _template(raw: Any, where: str) -> T:
    if isinstance(raw, str):
        return T(raw)
    if not isinstance(raw, dict) or set(raw) - _TEMPLATE_KEYS or not (raw.get("sg") or raw.get("pl")):
        raise ValueError(
            f"{where}: a template is a string or a mapping with keys from {sorted(_TEMPLATE_KEYS)} "
            f"(sg or pl set), got {raw!r}"
        )
    return T(raw.get("sg"), raw.get("pl"), tuple(raw.get("skip") or ()), tuple(raw.get("only") or ()))


def _functionality(name: str, raw: Any, where: str) -> Functionality:
    where = f"{where}: {name}"
    if not isinstance(raw, dict) or set(raw) - _FUNCTIONALITY_KEYS:
        raise ValueError(f"{where}: expected a mapping with keys from {sorted(_FUNCTIONALITY_KEYS)}, got {raw!r}")
    if ("labels" in raw) == ("hard_negative_for" in raw):
        raise ValueError(f"{where}: give exactly one of labels (abusive) or hard_negative_for (hard negative)")
    labels = tuple(raw.get("labels") or ())
    tests = tuple(raw.get("hard_negative_for") or labels)
    unknown = set(labels + tests) - set(LABELS)
    if unknown or not tests:
        raise ValueError(
            f"{where}: labels must be a non-empty list from {list(LABELS)}, got {sorted(unknown) or tests}"
        )
    if not isinstance(raw.get("description"), str):
        raise ValueError(f"{where}: description must be a string")
    templates = {}
    for lang in LANG_ORDER:
        items = raw.get(lang)
        if not isinstance(items, list) or not items:
            raise ValueError(f"{where}: {lang} must be a non-empty list of templates")
        templates[lang] = [_template(t, f"{where}.{lang}[{i}]") for i, t in enumerate(items)]
    hard = "hard_negative_for" in raw
    prefix = f"hard negative for {' / '.join(tests)}" if hard else " + ".join(labels)
    return Functionality(
        labels,
        tests,
        hard,
        f"{prefix}: {raw['description']}",
        templates,
        bool(raw.get("targeted", True)),
        int(raw.get("variants", 1)),
    )


def load_spec(path: str | Path | None = None) -> dict[str, Functionality]:
    """The functionalities and their templates from the YAML data file (data/functional/templates.yaml)."""
    path = Path(path) if path is not None else data_dir().joinpath(*TEMPLATES_FILE)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not raw:
        raise ValueError(f"{path}: expected a mapping of functionality name -> definition")
    return {name: _functionality(name, entry, str(path)) for name, entry in raw.items()}


SPEC: dict[str, Functionality] = load_spec()

# The obfuscations the suite applies to abusive templates: every kind the corpus schema knows except "none".
OBFUSCATIONS = tuple(k for k in CORPUS_OBFUSCATIONS if k != "none")
OBFUSCATION_DESCRIPTIONS = {
    "no_tajik_letters": "Tajik typed without its letters (ҳ→х, ҷ→ч, қ→к, ғ→г, ӣ→и, ӯ→у)",
    "latin_translit": "Tajik or Russian typed in Latin letters, as people type it",
    "homoglyph": "Latin look-alike letters inside the key Cyrillic word",
    "leet": "leetspeak inside the key word (@ for а, 0 for о, 3 for з, 4 for ч, 6 for б)",
    "spaced": "the key word spelt with spaces or dots between letters",
    "stretched": "a vowel of the key word stretched",
}
OBFUSCATED_PER_LANG = 40  # obfuscated cases per kind and source language (no_tajik_letters: Tajik only, doubled)

FUNCTIONALITIES: dict[str, str] = {name: f.description for name, f in SPEC.items()}
FUNCTIONALITIES.update(
    {
        f"obfuscated_{k}": f"labels of the plain form: {OBFUSCATION_DESCRIPTIONS[k]}, applied to positive cases"
        for k in OBFUSCATIONS
    }
)
LABELS_TESTED: dict[str, tuple[str, ...]] = {name: f.tests for name, f in SPEC.items()}
LABELS_TESTED.update({f"obfuscated_{k}": LABELS for k in OBFUSCATIONS})

# ----------------------------------------------------------------------------- obfuscation

_TG_PLAIN = str.maketrans(
    {
        "ҳ": "х",
        "ҷ": "ч",
        "қ": "к",
        "ғ": "г",
        "ӣ": "и",
        "ӯ": "у",
        "Ҳ": "Х",
        "Ҷ": "Ч",
        "Қ": "К",
        "Ғ": "Г",
        "Ӣ": "И",
        "Ӯ": "У",
    }
)
# Cyrillic -> Latin as people type it in chats (not an official romanisation). Where several spellings are common,
# one is drawn per text, so a text is consistent in itself.
_TRANSLIT: dict[str, tuple[str, ...]] = {
    "а": ("a",),
    "б": ("b",),
    "в": ("v",),
    "г": ("g",),
    "ғ": ("gh", "g"),
    "д": ("d",),
    "е": ("e",),
    "ё": ("yo", "e"),
    "ж": ("zh", "j"),
    "з": ("z",),
    "и": ("i",),
    "ӣ": ("i",),
    "й": ("y", "i", "j"),
    "к": ("k",),
    "қ": ("q", "k"),
    "л": ("l",),
    "м": ("m",),
    "н": ("n",),
    "о": ("o",),
    "п": ("p",),
    "р": ("r",),
    "с": ("s",),
    "т": ("t",),
    "у": ("u",),
    "ӯ": ("u", "o"),
    "ф": ("f",),
    "х": ("kh", "x", "h"),
    "ҳ": ("h",),
    "ц": ("ts", "c"),
    "ч": ("ch",),
    "ҷ": ("j",),
    "ш": ("sh",),
    "щ": ("sch", "sh"),
    "ъ": ("", "'"),
    "ы": ("y", "i"),
    "ь": ("", "'"),
    "э": ("e",),
    "ю": ("yu", "ju"),
    "я": ("ya", "ja"),
}
# Cyrillic letters and their Latin look-alikes (what people substitute; the normaliser maps them back).
_HOMO_OUT = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "к": "k",
    "А": "A",
    "В": "B",
    "Е": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
}
_LEET_OUT = {"а": "@", "о": "0", "з": "3", "ч": "4", "б": "6"}
_CYR_LETTER = re.compile(r"[А-Яа-яЁёҲҳҶҷҚқҒғӢӣӮӯ]")
_VOWELS = set("аеёиоуыэюяӣӯАЕЁИОУЫЭЮЯӢӮ")
_SPACE_SEPARATORS = (" ", " ", " ", ".", "-", "*")


def _is_cyr(ch: str) -> bool:
    return bool(_CYR_LETTER.fullmatch(ch))


def transliterate(text: str, rng: random.Random) -> str:
    """Cyrillic (Tajik or Russian) -> informal Latin, keeping capitalisation, digits and punctuation."""
    scheme = {ch: rng.choice(options) for ch, options in _TRANSLIT.items()}
    out = []
    for ch in text:
        low = ch.lower()
        rep = scheme.get(low)
        if rep is None:
            out.append(ch)
        elif ch != low:
            out.append(rep[:1].upper() + rep[1:])
        else:
            out.append(rep)
    return "".join(out)


def _homoglyph_word(word: str, rng: random.Random) -> str | None:
    idx = [i for i, ch in enumerate(word) if ch in _HOMO_OUT]
    n_cyr = sum(_is_cyr(ch) for ch in word)
    k = min(len(idx), max(1, len(idx) // 2), n_cyr - 1)  # keep at least one Cyrillic letter: it is a Cyrillic word
    if k < 1:
        return None
    chars = list(word)
    for i in rng.sample(idx, k):
        chars[i] = _HOMO_OUT[chars[i]]
    return "".join(chars)


def _leet_word(word: str, rng: random.Random) -> str | None:
    # Inside the word, between two Cyrillic letters; or а/о as the last letter ("дур@") - the forms seen in the wild.
    idx = [i for i in range(1, len(word) - 1) if word[i] in _LEET_OUT and _is_cyr(word[i - 1]) and _is_cyr(word[i + 1])]
    if len(word) >= 3 and word[-1] in "ао" and _is_cyr(word[-2]) and _is_cyr(word[-3]):
        idx.append(len(word) - 1)
    if not idx:
        return None
    k = min(len(idx), rng.choice((1, 1, 2)), (sum(_is_cyr(ch) for ch in word) - 1) // 2)
    if k < 1:
        return None
    chars = list(word)
    for i in rng.sample(idx, k):
        chars[i] = _LEET_OUT[chars[i]]
    return "".join(chars)


def _stretched_word(word: str, rng: random.Random) -> str | None:
    idx = [
        i
        for i, ch in enumerate(word)
        if ch in _VOWELS
        and (i == 0 or word[i - 1].lower() != ch.lower())
        and (i == len(word) - 1 or word[i + 1].lower() != ch.lower())
    ]
    if not idx:
        return None
    i = rng.choice(idx)
    return word[: i + 1] + word[i].lower() * rng.randint(3, 6) + word[i + 1 :]


def _spaced_word(word: str, rng: random.Random) -> str | None:
    if len(word) < 4 or not all(_is_cyr(ch) for ch in word):
        return None
    return rng.choice(_SPACE_SEPARATORS).join(word)


_WORD_FUNCS = {"homoglyph": _homoglyph_word, "leet": _leet_word, "stretched": _stretched_word, "spaced": _spaced_word}


def _spacing_is_unambiguous(text: str, start: int, end: int) -> bool:
    """Spaced letters next to a one-letter word ("и д у р а") would read as one run; people avoid it, so do we."""
    before = text[:start].split()
    after = text[end:].split()

    def lonely(tok: str) -> bool:
        return len(tok) == 1 and tok.isalpha()

    return not (before and lonely(before[-1])) and not (after and lonely(after[0]))


def _candidate_words(text: str) -> list[str]:
    words = [w.strip(',.!?«»:;—()"') for w in text.split()]
    words = [w for w in words if len(w) >= 4 and all(_is_cyr(ch) for ch in w)]
    return sorted(dict.fromkeys(words), key=len, reverse=True)


def obfuscate(text: str, kind: str, rng: random.Random, words: Iterable[str] | None = None) -> str:
    """Apply one obfuscation seen in the wild; the labels of the text do not change.

    `no_tajik_letters` and `latin_translit` rewrite the whole text. The others change one word: the first of `words`
    (the key word a template marks, usually the slur or key verb) that the obfuscation applies to, else the longest
    Cyrillic word that works. Returns the text unchanged when nothing applies.
    """
    if kind == "no_tajik_letters":
        return text.translate(_TG_PLAIN)
    if kind == "latin_translit":
        return transliterate(text, rng)
    func = _WORD_FUNCS.get(kind)
    if func is None:
        raise ValueError(f"obfuscate: unknown kind {kind!r}; known: {', '.join(OBFUSCATIONS)}")
    for word in [*(words or ()), *_candidate_words(text)]:
        match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
        if not match:
            continue
        if kind == "spaced" and not _spacing_is_unambiguous(text, match.start(), match.end()):
            continue
        new = func(word, rng)
        if new and new != word:
            return text[: match.start()] + new + text[match.end() :]
    return text


# ----------------------------------------------------------------------------- generation

_KEY_WORD = re.compile(r"\[([^\]]+)\]")


def _fill(template: str, target: Target | None, lang: str, rng: random.Random) -> tuple[str, list[str]]:
    """Fill one template; return the text and its marked key words."""
    text = template
    for placeholder, make in (
        ("{addr}", lambda: rng.choice(ADDRESSES[lang])),
        ("{phone}", lambda: fictitious_phone(rng)),
        ("{public_addr}", lambda: rng.choice(PUBLIC_ADDRESSES[lang])),
        ("{public_phone}", lambda: fictitious_phone(rng)),
    ):
        while placeholder in text:
            text = text.replace(placeholder, make(), 1)
    if target is not None:
        forms = {
            "{t_acc}": target.ru_acc,
            "{t_gen}": target.ru_gen,
            "{t_dat}": target.ru_dat,
            "{t}": target.tg if lang == "tg" else target.ru,
        }
        for placeholder, form in forms.items():
            text = text.replace(placeholder, form)
    if "{" in text:
        raise ValueError(f"template {template!r} ({lang}) has an unknown placeholder: {text!r}")
    first = 1 if text.startswith("[") else 0
    text = text[:first] + text[first].upper() + text[first + 1 :]
    return _KEY_WORD.sub(r"\1", text), _KEY_WORD.findall(text)


def _targets_for(tpl: T) -> list[tuple[Target, str]]:
    out = []
    for target in TARGETS:
        form = tpl.sg if target.number == "sg" else tpl.pl
        if form is None or target.key in tpl.skip or (tpl.only and target.key not in tpl.only):
            continue
        out.append((target, form))
    return out


def _make_case(
    name: str, lang: str, n: int, text: str, target: str, labels: Iterable[str], hard: bool, obfuscation: str
) -> dict[str, Any]:
    labels = set(labels)
    script = {"latin_translit": "Latn", "homoglyph": "mixed"}.get(obfuscation, "Cyrl")
    case: dict[str, Any] = {
        "id": f"F-{name}-{lang}-{n:04d}",
        "text": text,
        "lang": lang,
        "script": script,
        "functionality": name,
        "target": target,
        "obfuscation": obfuscation,
    }
    case.update({lab: int(lab in labels) for lab in LABELS})
    case.update({"hard_negative": hard, "case_type": "positive" if labels else "negative"})
    return case


def _plain_cases(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    cases: list[dict[str, Any]] = []
    key_words: dict[str, list[str]] = {}
    for name, spec in SPEC.items():
        for lang in LANG_ORDER:
            n = 0
            seen: set[str] = set()
            for tpl in spec.templates[lang]:
                if spec.targeted:
                    fills = _targets_for(tpl)
                else:  # random details make the variants; a few extra draws so duplicates can be dropped
                    fills = [(None, tpl.sg)] * (spec.variants * 5)
                made = 0
                for target, form in fills:
                    if not spec.targeted and made == spec.variants:
                        break
                    text, keys = _fill(form, target, lang, rng)
                    if text in seen:
                        continue
                    seen.add(text)
                    made += 1
                    n += 1
                    case = _make_case(
                        name,
                        lang,
                        n,
                        text,
                        target.key if target else NO_TARGET,
                        spec.labels,
                        spec.hard_negative,
                        "none",
                    )
                    cases.append(case)
                    key_words[case["id"]] = keys
    return cases, key_words


def _stratified_sample(pool: list[dict[str, Any]], k: int, rng: random.Random) -> list[dict[str, Any]]:
    """Round-robin over functionalities (each shuffled) so every positive functionality is obfuscated."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case in pool:
        groups[case["functionality"]].append(case)
    for group in groups.values():
        rng.shuffle(group)
    order: list[dict[str, Any]] = []
    while any(groups.values()):
        for name in list(groups):
            if groups[name]:
                order.append(groups[name].pop())
    return order[:k] if k < len(order) else order


def generate_cases(seed: int = 0) -> list[dict[str, Any]]:
    """All cases, deterministic for a seed: templates × targets × languages, then obfuscated positive cases.

    Each case: id, text, lang, script, functionality, target, obfuscation, one 0/1 key per label, hard_negative,
    case_type; obfuscated cases also carry source_case (the id of their plain form).
    """
    rng = random.Random(seed)
    cases, key_words = _plain_cases(rng)
    positives = [c for c in cases if c["case_type"] == "positive"]
    for kind in OBFUSCATIONS:
        name = f"obfuscated_{kind}"
        for lang in LANG_ORDER:
            if kind == "no_tajik_letters" and lang != "tg":
                continue  # Russian has no Tajik letters to drop
            want = OBFUSCATED_PER_LANG * (2 if kind == "no_tajik_letters" else 1)
            out_lang = f"{lang}-Latn" if kind == "latin_translit" else lang
            made = 0
            for src in _stratified_sample([c for c in positives if c["lang"] == lang], len(positives), rng):
                if made == want:
                    break
                text = obfuscate(src["text"], kind, rng, key_words[src["id"]])
                if text == src["text"]:
                    continue
                made += 1
                case = _make_case(
                    name, out_lang, made, text, src["target"], [lab for lab in LABELS if src[lab]], False, kind
                )
                case["source_case"] = src["id"]
                cases.append(case)
    return cases


# ----------------------------------------------------------------------------- outputs


def dump_jsonl(cases: Iterable[dict[str, Any]]) -> str:
    """The exact JSONL text of the committed file (one case per line, UTF-8, keys in generation order)."""
    return "".join(json.dumps(case, ensure_ascii=False) + "\n" for case in cases)


def summarize(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per functionality × language × expected label, and overall."""
    by_func: dict[str, Any] = {}
    for case in cases:
        name = case["functionality"]
        entry = by_func.setdefault(
            name,
            {
                "description": FUNCTIONALITIES[name],
                "labels_tested": list(LABELS_TESTED[name]),
                "hard_negative": case["hard_negative"],
                "cases": 0,
                "by_lang": {},
            },
        )
        entry["cases"] += 1
        per_lang = entry["by_lang"].setdefault(case["lang"], {"cases": 0, **{lab: 0 for lab in LABELS}, "no_label": 0})
        per_lang["cases"] += 1
        for lab in LABELS:
            per_lang[lab] += case[lab]
        per_lang["no_label"] += int(not any(case[lab] for lab in LABELS))
    return {
        "cases": len(cases),
        "functionalities": len(by_func),
        "hard_negative_cases": sum(c["hard_negative"] for c in cases),
        "expected_positive": {lab: sum(c[lab] for c in cases) for lab in LABELS},
        "by_lang": dict(sorted(Counter(c["lang"] for c in cases).items())),
        "by_obfuscation": dict(sorted(Counter(c["obfuscation"] for c in cases).items())),
        "by_target": dict(sorted(Counter(c["target"] for c in cases).items())),
        "by_functionality": by_func,
    }


def readme(cases: list[dict[str, Any]]) -> str:
    """data/functional/README.md, generated so the functionalities table never goes stale."""
    summary = summarize(cases)
    rows = []
    for name, entry in summary["by_functionality"].items():
        langs = ", ".join(f"{lang} {v['cases']}" for lang, v in entry["by_lang"].items())
        kind = "hard negative" if entry["hard_negative"] else "positive"
        rows.append(
            f"| `{name}` | {kind} | {', '.join(entry['labels_tested'])} | {entry['cases']} ({langs}) | "
            f"{FUNCTIONALITIES[name]} |"
        )
    targets = ", ".join(f"`{t.key}` ({t.ru})" for t in TARGETS)
    return "\n".join(
        [
            "# Functional test suite",
            "",
            "<!-- generated by scripts/make_functional.py from data/functional/templates.yaml and "
            "src/tfgbv/data/functional.py; do not edit by hand -->",
            "",
            "HateCheck-style (Röttger et al. 2021) behavioural tests for the four TFGBV labels in Tajik and Russian. "
            "Each *functionality* is one behaviour the classifier must get right: the plain forms of each label, and "
            "the *hard negatives* that share words with abuse but carry no label (counter-speech, a victim's own "
            "report, news quoting abuse, negation, neutral or positive mention of a group, public helplines, a woman's "
            "own business number). Cases are hand-written templates × target phrases × both languages; positive "
            "cases are also obfuscated (Tajik typed without its letters, Latin transliteration, Latin look-alike "
            "letters, leetspeak, spaced and stretched letters) and keep their labels. A case passes when every "
            "label's prediction equals its expected value; `scripts/evaluate.py` reports accuracy per functionality "
            "and language.",
            "",
            f"{summary['cases']} cases, {summary['functionalities']} functionalities, "
            f"{summary['hard_negative_cases']} hard-negative cases. Expected positives per label: "
            + ", ".join(f"{lab} {n}" for lab, n in summary["expected_positive"].items())
            + ". Languages: "
            + ", ".join(f"{lang} {n}" for lang, n in summary["by_lang"].items())
            + ".",
            "",
            f"Targets: {targets}; `none` for untargeted cases.",
            "",
            "## Files",
            "",
            "- `cases.jsonl`: one case per line: `id` (`F-<functionality>-<lang>-NNNN`), `text`, `lang` (`tg`, `ru`, "
            "`tg-Latn`, `ru-Latn`), `script`, `functionality`, `target`, `obfuscation`, one 0/1 field per label "
            f"({', '.join(LABELS)}), `hard_negative`, `case_type` (`positive`/`negative`); obfuscated cases also have "
            "`source_case`, the id of their plain form.",
            "- `summary.json`: counts per functionality × language × expected label.",
            "",
            "## Regenerate",
            "",
            "Never edit these files by hand; a test checks that they equal a fresh generation.",
            "",
            "    python scripts/make_functional.py --out data/functional/cases.jsonl --seed 0   # or: make functional",
            "",
            "## Privacy",
            "",
            f"Every phone number is in the fictitious range `{PHONE_RANGE}` (Tajik national numbers never start "
            "with 0), including the 'public' helpline numbers; every address, name, market stall, school and company "
            "is invented.",
            "",
            "## Functionalities",
            "",
            "| functionality | type | labels tested | cases (by language) | description |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
