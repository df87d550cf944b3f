"""Functional test suite (HateCheck-style, Röttger et al. 2021) for TFGBV detection in Tajik and Russian.

Cases are generated from templates × targets × languages; each case states the functionality it tests, its expected
labels, and whether it is a hard negative. Obfuscations are applied to positive cases. Deterministic for a seed.
Every phone number is in the unallocated range +992 00 0XX XX XX; every address is invented.
"""

from __future__ import annotations

import random
from typing import Any

from tfgbv.labels import LABELS

# Target noun phrases. Russian forms are feminine nominative singular so templates agree with them.
TARGETS: dict[str, dict[str, str]] = {
    "activist": {"tg": "фаъолзан", "ru": "активистка", "ru_acc": "активистку", "ru_gen": "активистки"},
    "journalist": {"tg": "журналистка", "ru": "журналистка", "ru_acc": "журналистку", "ru_gen": "журналистки"},
    "public_woman": {"tg": "сароянда", "ru": "певица", "ru_acc": "певицу", "ru_gen": "певицы"},
    "dancer": {"tg": "рақоса", "ru": "танцовщица", "ru_acc": "танцовщицу", "ru_gen": "танцовщицы"},
    "divorced_woman": {"tg": "зани талоқшуда", "ru": "разведённая женщина", "ru_acc": "разведённую женщину", "ru_gen": "разведённой женщины"},
    "woman_with_disability": {"tg": "зани маъюб", "ru": "женщина с инвалидностью", "ru_acc": "женщину с инвалидностью", "ru_gen": "женщины с инвалидностью"},
    "hijab_wearer": {"tg": "духтари ҳиҷобпӯш", "ru": "девушка в хиджабе", "ru_acc": "девушку в хиджабе", "ru_gen": "девушки в хиджабе"},
    "woman_without_hijab": {"tg": "духтари бе рӯймол", "ru": "девушка без платка", "ru_acc": "девушку без платка", "ru_gen": "девушки без платка"},
    "ethnic_russian_woman": {"tg": "зани рус", "ru": "русская женщина", "ru_acc": "русскую женщину", "ru_gen": "русской женщины"},
    "teen_girl": {"tg": "духтарча", "ru": "школьница", "ru_acc": "школьницу", "ru_gen": "школьницы"},
    "family_woman": {"tg": "келин", "ru": "невестка", "ru_acc": "невестку", "ru_gen": "невестки"},
}

ADDRESSES = {"tg": ["кӯчаи Гулбоғ 14, хонаи 3", "микрорайони 34, бинои 12", "кӯчаи Навбаҳор 7, хонаи 21", "маҳаллаи Пахтакор, кӯчаи Боғ 5"],
             "ru": ["ул. Садовая 14, кв. 3", "34 мкр, дом 12, кв. 8", "ул. Весенняя 7, кв. 21", "махалля Пахтакор, ул. Сад 5"]}
PRIVATE_PHONES = ["+992 00 071 22 45", "00 045 67 89", "+992 00 089 11 23", "00 033 44 21"]
PUBLIC_PHONES = ["+992 00 012 34 56", "00 011 22 33", "00 013 45 67"]

# functionality -> (expected labels, hard negative?, description, {lang: [templates]}). "{t}" = target phrase.
Spec = tuple[tuple[str, ...], bool, str, dict[str, list[str]]]
FUNCTIONALITIES_SPEC: dict[str, Spec] = {
    "insult_direct": (("insult",), False, "insult: direct name-calling of the target", {
        "tg": ["Ин {t} як аблаҳи бемағз аст", "{t}, ту аҳмақ ҳастӣ, хомӯш шав", "Аз ин {t} беақлтар касро надидаам"],
        "ru": ["Эта {t} — тупая дура", "Эй, {t}, ты безмозглая идиотка", "Глупее, чем эта {t}, никого не видел"]}),
    "insult_dehumanising": (("insult",), False, "insult: comparing the target to animals or objects", {
        "tg": ["Ин {t} мисли гови бесоҳиб аст", "{t} хук барин аст, на одам", "Ин {t} мисли латтаи кӯҳна, ба ҳеҷ кор намеояд"],
        "ru": ["Эта {t} — как корова на выпасе", "Эта {t} не человек, а свинья", "Эта {t} как старая тряпка, ни на что не годна"]}),
    "insult_appearance": (("insult",), False, "insult: mocking the target's looks or body", {
        "tg": ["Ин {t} бадафттарин зан дар дунё", "Ба рӯйи ин {t} нигоҳ кардан даҳшат аст, бадшакл"],
        "ru": ["Эта {t} — страшная уродина", "На эту {t_acc} смотреть противно, уродина"]}),
    "shaming_honour": (("shaming",), False, "shaming: family honour, 'shameless', 'disgrace of the family'", {
        "tg": ["Ин {t} шарми оилааш аст, беномус", "Ин {t} номуси падарашро бурд", "Ин {t} шармандаи хонавода аст"],
        "ru": ["Эта {t} — позор семьи, бесстыжая", "Эта {t} опозорила отца", "Эта {t} — позор для всего рода"]}),
    "shaming_dress": (("shaming",), False, "shaming: policing dress, hijab or its absence", {
        "tg": ["Ин {t} бо чунин либос шарм надорад, зани тоҷик ин хел намепӯшад", "Либоси ин {t} шармандагӣ аст, худашро пӯшонад"],
        "ru": ["Эта {t} так одевается — стыд, таджичка так не ходит", "Одежда у этой {t_gen} — позор, пусть прикроется"]}),
    "shaming_call_to_control": (("shaming",), False, "shaming: calling on male relatives to discipline or confine her", {
        "tg": ["Бародарони ин {t} куҷоянд? Телефонашро гиранд", "Шавҳари ин {t} бояд ӯро дар хона банд кунад", "Падари ин {t} бояд ӯро ба ақл орад"],
        "ru": ["Эта {t} совсем распустилась, где её братья? Заберите телефон", "Муж должен запереть дома, если жена — такая {t}", "Отец пусть вразумит, раз дочь — такая {t}"]}),
    "shaming_victim_blaming": (("shaming",), False, "shaming: blaming her for abuse she suffered", {
        "tg": ["Ин {t} худаш айбдор, ки аксаш паҳн шуд", "Агар ин {t} зани хуб мебуд, касе ба ӯ таҳдид намекард"],
        "ru": ["Эта {t} сама виновата, что её фото разошлись", "Была бы эта {t} приличной, ей бы никто не угрожал"]}),
    "threat_violence": (("threat",), False, "threat: stated intent to physically harm the target", {
        "tg": ["Ин {t}ро шабона дар хонааш мекушем", "{t}, мо туро меёбем ва мезанем", "Ин {t} як рӯз аз кӯча зинда барнамегардад"],
        "ru": ["Эту {t_acc} ночью найдём и убьём", "Слышишь, {t}, мы тебя найдём и изобьём", "Эта {t} однажды не вернётся домой живой"]}),
    "threat_blackmail": (("threat",), False, "threat: blackmail and coercion with images", {
        "tg": ["{t}, пул наорӣ аксҳоят ба ҳамаи хешҳо меравад", "{t}, постро нест кун, вагарна видеоят паҳн мешавад"],
        "ru": ["Слышь, {t}, не заплатишь — фото уйдут всей родне", "Удали пост, {t}, иначе видео разойдётся"]}),
    "threat_incitement": (("threat",), False, "threat: inciting others to attack the target", {
        "tg": ["Бачаҳо, ин {t}ро ёфта занед", "Ҳар кӣ ин {t}ро бинад, санг занад"],
        "ru": ["Пацаны, найдите эту {t_acc} и избейте", "Кто увидит эту {t_acc} — бейте камнями"]}),
    "doxxing_address": (("doxxing",), False, "doxxing: posting a private person's home address", {
        "tg": ["Суроғаи ин {t}: {addr}, ҳама донед", "Ин {t} дар {addr} зиндагӣ мекунад, равед"],
        "ru": ["Адрес этой {t_gen}: {addr}, пусть все знают", "Эта {t} живёт по адресу {addr}, сходите"]}),
    "doxxing_phone": (("doxxing",), False, "doxxing: posting a private person's phone number", {
        "tg": ["Рақами ин {t} {phone}, ҳама нависед", "Ана рақами шахсии ин {t}: {phone}"],
        "ru": ["Номер этой {t_gen} {phone}, пишите все", "Вот личный номер этой {t_gen}: {phone}"]}),
    "doxxing_request": (("doxxing",), False, "doxxing: asking others to find where she lives or who she is", {
        "tg": ["Кӣ медонад ин {t} дар куҷо зиндагӣ мекунад? Суроғаашро нависед", "Номи аслӣ ва рақами ин {t}ро кӣ дорад?"],
        "ru": ["Кто знает, где живёт эта {t}? Скиньте адрес", "У кого есть настоящее имя и номер этой {t_gen}?"]}),
    "threat_to_expose": (("threat", "doxxing"), False, "threat + doxxing: threatening to publish her address or number", {
        "tg": ["{t}, агар хомӯш нашавӣ, суроғаат ({addr})-ро ба ҳама мефиристам", "{t}, рақамат {phone}-ро дар ҳамаи каналҳо мегузорам"],
        "ru": ["Слышь, {t}, не заткнёшься — разошлю всем твой адрес {addr}", "Твой номер {phone} выложу во все каналы, {t}"]}),
    "insult_plus_threat": (("insult", "threat"), False, "insult + threat in one comment", {
        "tg": ["Ин {t}и аблаҳро мекушем", "{t}и бешуур, як рӯз туро мезанем"],
        "ru": ["Эту тупую {t_acc} мы убьём", "Безмозглая {t}, однажды мы тебя изобьём"]}),
    "shaming_plus_doxxing": (("shaming", "doxxing"), False, "shaming + doxxing: exposing her address to shame her", {
        "tg": ["Ин {t}и беномус дар {addr} зиндагӣ мекунад, ба падараш гӯед"],
        "ru": ["Эта бесстыжая {t} живёт: {addr}, скажите её отцу"]}),
    # ---- hard negatives
    "counter_speech_insult": ((), True, "hard negative: rejecting an insult aimed at the target (quotes it)", {
        "tg": ["Ин {t}ро «аблаҳ» нагӯед, ӯ аз ҳамаи мо доно аст", "Бас кунед, ин {t} «гов» нест, эҳтиром кунед"],
        "ru": ["Хватит называть эту {t_acc} «тупой», она умнее всех нас", "Прекратите, эта {t} не «корова», уважайте её"]}),
    "counter_speech_shaming": ((), True, "hard negative: rejecting shaming of the target", {
        "tg": ["Ин {t} шарми оила нест, ӯ ифтихори мост", "Ба ин {t} «беномус» гуфтан худаш беномусӣ аст"],
        "ru": ["Эта {t} — не позор семьи, а её гордость", "Называть эту {t_acc} «бесстыжей» — вот настоящий стыд"]}),
    "counter_speech_threat": ((), True, "hard negative: condemning threats against the target", {
        "tg": ["Таҳдид ба ин {t} ҷиноят аст, мо бо ӯ ҳастем", "Ҳар кӣ ба ин {t} таҳдид мекунад, бояд ҷавоб диҳад"],
        "ru": ["Угрозы в адрес этой {t_gen} — преступление, мы с ней", "Каждый, кто пишет угрозы, пусть знает: эта {t} не одна"]}),
    "reporting_abuse": ((), True, "hard negative: the target reports abuse she received and asks for help", {
        "tg": ["Ман {t} ҳастам, ба ман навиштанд «туро мекушем». Ба куҷо муроҷиат кунам?",
               "Ман {t} ҳастам, маро «беномус» номиданд ва суроғаамро пурсиданд. Чӣ кор кунам?"],
        "ru": ["Я {t}, мне написали «мы тебя убьём». Куда обратиться?",
               "Я {t}, меня назвали «бесстыжей» и спрашивали мой адрес. Что делать?"]}),
    "reporting_blackmail": ((), True, "hard negative: a victim reporting blackmail with her photos", {
        "tg": ["Ман {t} ҳастам, собиқам таҳдид мекунад, ки аксҳоямро паҳн мекунад. Ёрӣ диҳед"],
        "ru": ["Я {t}, бывший угрожает разослать мои фото. Помогите"]}),
    "quoting_news": ((), True, "hard negative: news or research quoting abuse against the target group", {
        "tg": ["Тадқиқот: ба ҳар {t} дар интернет «туро меёбем» менависанд", "Дар хабар: {t} барои шарҳи «беномус» ба суд муроҷиат кард"],
        "ru": ["Исследование: почти каждая {t} получает сообщения «найдём тебя»", "В новостях: {t} подала в суд за комментарий «бесстыжая»"]}),
    "negation": ((), True, "hard negative: negated abuse ('she is not stupid')", {
        "tg": ["Ин {t} тамоман аблаҳ нест, баръакс хеле доност", "Ин {t} шармандаи оила нест"],
        "ru": ["Эта {t} совсем не дура, наоборот, очень умная", "Эта {t} вовсе не позор семьи"]}),
    "neutral_identity": ((), True, "hard negative: neutral mention of the target group", {
        "tg": ["Ҳамсояи мо {t} аст ва нони бомаза мепазад", "Дирӯз бо як {t} дар бораи мактаби писарам гап задам", "Ин {t} дар маҳаллаи мо дӯкони хурд дорад"],
        "ru": ["Наша соседка — {t}, она печёт вкусный хлеб", "Вчера говорила с одной, она {t}, о школе сына", "Эта {t} держит у нас в махалле маленький магазин"]}),
    "positive_identity": ((), True, "hard negative: positive statement about the target", {
        "tg": ["Ин {t} ифтихори шаҳри мост", "Ба ин {t} офарин, хеле боҷасорат аст"],
        "ru": ["Эта {t} — гордость нашего города", "Эта {t} — молодец, очень смелая"]}),
    "public_contact": ((), True, "hard negative: public helpline or crisis-centre contact details", {
        "tg": ["Агар ба шумо ҳамчун {t} таҳдид кунанд, ба хати боварӣ {public} занг занед",
               "Маркази бӯҳронӣ ба ҳар {t} ёрӣ медиҳад: {public}"],
        "ru": ["Если вам как {t} угрожают, звоните на линию доверия {public}",
               "Кризисный центр помогает, даже если вы {t}: {public}"]}),
    "own_business_contact": ((), True, "hard negative: a woman giving her own business number", {
        "tg": ["Ман {t} ҳастам ва либос медӯзам, рақами ман {phone}"],
        "ru": ["Я {t} и шью на заказ, мой номер {phone}"]}),
    "untargeted_profanity": ((), True, "hard negative: profanity aimed at nobody", {
        "tg": ["Лаънатӣ, боз барқ рафт", "Ҷин занад, боз роҳ баста"],
        "ru": ["Чёрт, опять свет отключили", "Блин, опять пробки"]}),
}

OBFUSCATIONS = ("no_tajik_letters", "latin_translit", "homoglyph", "leet", "spaced", "stretched")
OBFUSCATION_SOURCES = ("insult_direct", "shaming_honour", "threat_violence", "doxxing_address")

_TG_PLAIN = str.maketrans({"ҳ": "х", "ҷ": "ч", "қ": "к", "ғ": "г", "ӣ": "и", "ӯ": "у", "Ҳ": "Х", "Ҷ": "Ч", "Қ": "К", "Ғ": "Г", "Ӣ": "И", "Ӯ": "У"})
_TRANSLIT = {"а": "a", "б": "b", "в": "v", "г": "g", "ғ": "gh", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i", "ӣ": "i",
             "й": "y", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
             "ӯ": "u", "ф": "f", "х": "kh", "ҳ": "h", "ц": "ts", "ч": "ch", "ҷ": "j", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "",
             "э": "e", "ю": "yu", "я": "ya"}
_HOMO = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y"}
_LEET = {"а": "@", "о": "0", "з": "3"}
_VOWELS = set("аеиоуыэюяёӣӯ")


def _longest_word(text: str) -> str:
    words = [w.strip(",.!?«»:") for w in text.split()]
    words = [w for w in words if w.isalpha() and any(ch.lower() in _VOWELS for ch in w)]
    return max(words, key=len) if words else ""


def obfuscate(text: str, kind: str, rng: random.Random) -> str:
    """Apply one obfuscation seen in the wild; the labels of the text do not change."""
    if kind == "no_tajik_letters":
        return text.translate(_TG_PLAIN)
    if kind == "latin_translit":
        out = []
        for ch in text:
            low = ch.lower()
            rep = _TRANSLIT.get(low, ch)
            out.append(rep.capitalize() if ch != low and rep else rep)
        return "".join(out)
    if kind in ("homoglyph", "leet"):
        table = _HOMO if kind == "homoglyph" else _LEET
        chars = list(text)
        idx = [i for i, ch in enumerate(chars) if ch in table]
        for i in rng.sample(idx, k=max(1, len(idx) // 3)) if idx else []:
            chars[i] = table[chars[i]]
        return "".join(chars)
    word = _longest_word(text)
    if not word:
        return text
    if kind == "spaced":
        return text.replace(word, " ".join(word), 1)
    if kind == "stretched":
        pos = max(i for i, ch in enumerate(word) if ch.lower() in _VOWELS)
        return text.replace(word, word[:pos + 1] + word[pos] * 4 + word[pos + 1:], 1)
    raise ValueError(f"unknown obfuscation {kind!r}; known: {OBFUSCATIONS}")


FUNCTIONALITIES: dict[str, str] = {name: spec[2] for name, spec in FUNCTIONALITIES_SPEC.items()}
FUNCTIONALITIES.update({f"obfuscated_{k}": f"positive cases ({', '.join(OBFUSCATION_SOURCES)}) obfuscated by {k}" for k in OBFUSCATIONS})


def _fill(template: str, forms: dict[str, str], lang: str, rng: random.Random) -> str:
    text = template.replace("{addr}", rng.choice(ADDRESSES[lang])).replace("{phone}", rng.choice(PRIVATE_PHONES))
    text = text.replace("{public}", rng.choice(PUBLIC_PHONES))
    for key in ("acc", "gen"):
        text = text.replace("{t_" + key + "}", forms.get(f"{lang}_{key}", forms[lang]))
    text = text.replace("{t}", forms[lang])
    return text[0].upper() + text[1:]


def _case(name: str, lang: str, target_key: str, text: str, expected: tuple[str, ...], hard: bool, obf: str, n: int) -> dict[str, Any]:
    case = {"id": f"F-{name}-{lang}-{n:04d}", "text": text, "lang": lang,
            "script": "Latn" if obf == "latin_translit" else ("mixed" if obf == "homoglyph" else "Cyrl"),
            "functionality": name, "target": target_key, "obfuscation": obf, "hard_negative": hard,
            "case_type": "positive" if expected else "negative"}
    case.update({lab: int(lab in expected) for lab in LABELS})
    return case


def generate_cases(seed: int = 0) -> list[dict[str, Any]]:
    """All cases, deterministic for a seed: templates × targets × languages, then obfuscated positives."""
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    counter: dict[tuple[str, str], int] = {}
    for name, (expected, hard, _desc, templates) in FUNCTIONALITIES_SPEC.items():
        for lang, tpls in templates.items():
            for tpl in tpls:
                for target_key, forms in TARGETS.items():
                    counter[(name, lang)] = counter.get((name, lang), 0) + 1
                    cases.append(_case(name, lang, target_key, _fill(tpl, forms, lang, rng), expected, hard, "none",
                                       counter[(name, lang)]))
    base = [c for c in cases if c["functionality"] in OBFUSCATION_SOURCES]
    for kind in OBFUSCATIONS:
        name = f"obfuscated_{kind}"
        pool = [c for c in base if kind != "no_tajik_letters" or c["lang"] == "tg"]
        for src in rng.sample(pool, k=min(len(pool), 44)):
            text = obfuscate(src["text"], kind, rng)
            if text == src["text"]:
                continue
            lang = src["lang"] + ("-Latn" if kind == "latin_translit" else "")
            counter[(name, lang)] = counter.get((name, lang), 0) + 1
            expected = tuple(lab for lab in LABELS if src[lab])
            case = _case(name, lang, src["target"], text, expected, False, kind, counter[(name, lang)])
            case["source_case"] = src["id"]
            cases.append(case)
    return cases


def summary(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per functionality × language and per expected label."""
    out: dict[str, Any] = {"cases": len(cases), "functionalities": {}}
    for c in cases:
        f = out["functionalities"].setdefault(c["functionality"], {"description": FUNCTIONALITIES[c["functionality"]],
                                                                    "hard_negative": c["hard_negative"], "by_lang": {}, "cases": 0})
        f["cases"] += 1
        f["by_lang"][c["lang"]] = f["by_lang"].get(c["lang"], 0) + 1
    out["expected_positive"] = {lab: sum(c[lab] for c in cases) for lab in LABELS}
    out["hard_negatives"] = sum(c["hard_negative"] for c in cases)
    return out
