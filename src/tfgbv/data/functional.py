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
from typing import Any, Iterable, NamedTuple

from tfgbv.labels import LABELS

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
    Target("divorced_woman", "зани талоқшуда", "разведённая женщина", "разведённую женщину", "разведённой женщины",
           "разведённой женщине"),
    Target("woman_with_disability", "зани дорои маъюбӣ", "женщина с инвалидностью", "женщину с инвалидностью",
           "женщины с инвалидностью", "женщине с инвалидностью"),
    Target("hijab_wearer", "духтари ҳиҷобпӯш", "девушка в хиджабе", "девушку в хиджабе", "девушки в хиджабе",
           "девушке в хиджабе"),
    Target("woman_without_hijab", "духтари бе рӯймол", "девушка без платка", "девушку без платка", "девушки без платка",
           "девушке без платка"),
    Target("ethnic_russian_woman", "зани рус", "русская женщина", "русскую женщину", "русской женщины",
           "русской женщине"),
    Target("teen_girl", "духтари мактабхон", "школьница", "школьницу", "школьницы", "школьнице"),
    Target("wife", "зани Ҷамшед", "жена Джамшеда", "жену Джамшеда", "жены Джамшеда", "жене Джамшеда",
           relational=True),
    Target("sister", "хоҳари Рустам", "сестра Рустама", "сестру Рустама", "сестры Рустама", "сестре Рустама",
           relational=True),
    Target("girls_general", "духтарони имрӯза", "современные девушки", "современных девушек", "современных девушек",
           "современным девушкам", number="pl"),
    Target("feminists", "феминистҳо", "феминистки", "феминисток", "феминисток", "феминисткам", number="pl"),
)
NO_TARGET = "none"

# ----------------------------------------------------------------------------- invented contact details

ADDRESSES = {
    "tg": ["кӯчаи Гулбоғ 14, хонаи 3", "микрорайони 34, бинои 12, хонаи 8", "кӯчаи Навбаҳор 7, хонаи 21",
           "маҳаллаи Пахтакор, кӯчаи Боғ 5", "ш. Душанбе, кӯчаи Лолазор 19, хонаи 4", "деҳаи Сарбоғ, кӯчаи Мактаб 3"],
    "ru": ["ул. Садовая 14, кв. 3", "34 мкр, дом 12, кв. 8", "ул. Весенняя 7, кв. 21", "махалля Пахтакор, ул. Садовая 5",
           "г. Душанбе, ул. Лолазор 19, кв. 4", "кишлак Сарбог, ул. Школьная 3"],
}
PUBLIC_ADDRESSES = {"tg": ["кӯчаи Дӯстӣ 10, ошёнаи 2", "кӯчаи Марказӣ 1", "хиёбони Истиқлол 45, утоқи 12"],
                    "ru": ["ул. Дружбы 10, 2 этаж", "ул. Центральная 1", "проспект Независимости 45, кабинет 12"]}
# Formats people type; all are the fictitious range +992 00 0XX XX XX.
PHONE_FORMATS = ("+992 00 0{a} {b} {c}", "+992 (00) 0{a}-{b}-{c}", "00 0{a} {b} {c}", "+992000{a}{b}{c}",
                 "+992-00-0{a}-{b}-{c}")
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


def _pos(labels: tuple[str, ...], description: str, tg: list[T], ru: list[T]) -> Functionality:
    return Functionality(labels, labels, False, f"{' + '.join(labels)}: {description}", {"tg": tg, "ru": ru})


def _neg(tests: tuple[str, ...], description: str, tg: list[T], ru: list[T], targeted: bool = True,
         variants: int = 1) -> Functionality:
    return Functionality((), tests, True, f"hard negative for {' / '.join(tests)}: {description}", {"tg": tg, "ru": ru},
                         targeted, variants)


SPEC: dict[str, Functionality] = {
    # ------------------------------------------------------------------ insult
    "insult_direct": _pos(("insult",), "direct name-calling of the target", [
        T("Ин {t} як [аблаҳ] аст, ҳеҷ чизро намефаҳмад", "Ин {t} ҳама [аблаҳанд], ҳеҷ чизро намефаҳманд"),
        T("Ҳой {t}, ту [бемағз] ҳастӣ, забонатро нигоҳ дор"),
        T("Аз ин {t} [беақлтар] касро надидаам", "Аз ин {t} [беақлтар] одамонро надидаам"),
    ], [
        T("Эта {t} — тупая [дура], ничего не понимает", "Эти {t} — тупые [дуры], ничего не понимают"),
        T("Эй, {t}, ты [безмозглая] идиотка, закрой рот"),
        T("[Глупее] этой {t_gen} я никого не видел", "[Глупее] этих {t_gen} я никого не видел"),
    ]),
    "insult_dehumanising": _pos(("insult",), "comparing the target to animals or objects", [
        T("Ин {t} [ҳайвон] аст, на одам", "Ин {t} [ҳайвонанд], на одам"),
        T("Ин {t} мисли [гов] аст", "Ин {t} мисли [говҳо] ҳастанд"),
        T("Ин {t} як [латтаи] кӯҳна аст, ба ҳеҷ кор намеояд"),
    ], [
        T("Эта {t} — не человек, а [скотина]", "Эти {t} — не люди, а [скотины]"),
        T("Эта {t} — настоящая [корова]", "Эти {t} — настоящие [коровы]"),
        T("Эта {t} как старая [тряпка], ни на что не годится"),
    ]),
    "insult_appearance_disability": _pos(("insult",), "mocking the target's looks, body or disability", [
        T("Ин {t} [бадафт] аст, ба рӯяш нигоҳ кардан ғайриимкон", "Ин {t} ҳама [бадафтанд]"),
        T("Ин {t} чунон [бадшакл] аст, ки одам метарсад"),
        T("Ин {t} [ланг] аст, чаро ба кӯча мебарояд?", only=("woman_with_disability",)),
    ], [
        T("Эта {t} — страшная [уродина]", "Эти {t} — страшные [уродины]"),
        T("На эту {t_acc} смотреть [противно], жирная и кривая"),
        T("Эта {t} — [калека], зачем она вообще выходит на улицу?", only=("woman_with_disability",)),
    ]),
    "insult_profane": _pos(("insult",), "profane abuse and curses aimed at the target", [
        T("Ин {t} [падарлаънат] аст"),
        T("Ҳой {t}, гум шав аз ин ҷо, [лаънатӣ]", "Ин {t} гум шаванд аз ин ҷо, [лаънатиҳо]"),
    ], [
        T("Эта {t} — [сука] конченая", "Эти {t} — [суки] конченые"),
        T("Пошла вон отсюда, {t}, [тварь]"),
    ]),
    "insult_shaming_slur": _pos(("insult", "shaming"), "sexual-morality slurs (abusive and shaming at once)", [
        T("Ин {t} [фоҳиша] аст", "Ин {t} ҳама [фоҳишаанд]"),
        T("Ҳама медонанд, ки ин {t} як [фоҳиша] аст"),
    ], [
        T("Эта {t} — подзаборная [шлюха]", "Эти {t} — все [шлюхи]"),
        T("Все знают, что эта {t} — [шалава]"),
    ]),
    # ------------------------------------------------------------------ shaming
    "shaming_honour_family": _pos(("shaming",), "'shame of the family', 'shameless', dishonouring her parents", [
        T("Ин {t} [шармандаи] оилааш аст", "Ин {t} [шармандаи] оилаҳояшон ҳастанд"),
        T("Ин {t} [беномус] аст, шарму ҳаёро гум кардааст", "Ин {t} [беномусанд], шарму ҳаёро гум кардаанд"),
        T("Ин {t} номуси падару модарашро [паймол] кард"),
    ], [
        T("Эта {t} — [позор] семьи", "Эти {t} — [позор] для своих семей"),
        T("Эта {t} совсем [бесстыжая], ни стыда ни совести", "Эти {t} совсем [бесстыжие], ни стыда ни совести"),
        T("Эта {t} [опозорила] отца и мать"),
    ]),
    "shaming_dress_hijab": _pos(("shaming",), "policing dress, hijab or its absence", [
        T("Ин {t} бо чунин либос [шарм] надорад, зани тоҷик ин хел намегардад",
          "Ин {t} бо чунин либос [шарм] надоранд, занони тоҷик ин хел намегарданд", skip=("ethnic_russian_woman",)),
        T("Либоси ин {t} [шармандагӣ] аст, бигӯед, ки худашро пӯшонад"),
        T("Ин {t} рӯймолашро кашида, тамоми миллатро [шарманда] кард", skip=("hijab_wearer",)),
        T("Ҳиҷоб либоси мо нест, ин {t} миллатро [шарманда] мекунад", only=("hijab_wearer",)),
    ], [
        T("Эта {t} так одевается — [стыдоба], приличная таджичка так не ходит",
          "Эти {t} так одеваются — [стыдоба], приличные таджички так не ходят", skip=("ethnic_russian_woman",)),
        T("Одежда у этой {t_gen} — [позорище], пусть прикроется"),
        T("Эта {t} сняла платок и [опозорила] весь народ", skip=("hijab_wearer",)),
        T("Хиджаб — не наша одежда, эта {t} [позорит] нацию", only=("hijab_wearer",)),
    ]),
    "shaming_call_to_control": _pos(("shaming",), "calling on male relatives to confine, check or take her phone", [
        T("Бародарони ин {t} куҷоянд? [Телефонашро] гиранд",
          "Падару бародарони ин {t} куҷоянд? [Телефонҳояшонро] гиранд"),
        T("Шавҳари ин {t} бояд ӯро дар хона [нигоҳ] дорад", skip=("wife",)),
        T("Падари ин {t} бояд ӯро [тафтиш] кунад ва ба кӯча набарорад"),
    ], [
        T("Где братья этой {t_gen}? Пусть [заберут] у неё телефон",
          "Где отцы и братья этих {t_gen}? Пусть [заберут] у них телефоны"),
        T("Муж этой {t_gen} должен [запереть] её дома", skip=("wife",)),
        T("Отец этой {t_gen} должен её [проверять] и не выпускать из дома"),
    ]),
    "shaming_victim_blaming": _pos(("shaming",), "blaming her for the abuse she suffered", [
        T("Ин {t} худаш [гунаҳкор] аст, ки аксҳояш паҳн шуданд",
          "Ин {t} худашон [гунаҳкоранд], ки аксҳояшон паҳн мешаванд"),
        T("Агар ин {t} зани [одобнок] мебуд, касе ба ӯ таҳдид намекард"),
        T("Ин {t} аксҳояшро худаш гузошт, пас [сазовор] аст"),
    ], [
        T("Эта {t} сама [виновата], что её фото разошлись", "Эти {t} сами [виноваты], что их фото расходятся"),
        T("Была бы эта {t} [приличной], ей бы никто не угрожал"),
        T("Эта {t} сама выложила фотки, значит [заслужила]"),
    ]),
    "shaming_morality_rumour": _pos(("shaming",), "rumours about her morals, dancing, 'not a proper Tajik woman'", [
        T("Ҳама бидонед: ин {t} бо мардони бегона [мегардад]"),
        T("Ин {t} зани тоҷик нест, урфу одатро [вайрон] кардааст",
          "Ин {t} занони тоҷик нестанд, урфу одатро [вайрон] мекунанд", skip=("ethnic_russian_woman",)),
        T("Ин {t} дар тӯй [рақсид], шарм намедорад?", "Ин {t} дар тӯйҳо [мерақсанд], шарм намедоранд?"),
    ], [
        T("Все знайте: эта {t} [гуляет] с чужими мужиками"),
        T("Эта {t} — не таджичка, [нарушает] все традиции", "Эти {t} — не таджички, [нарушают] все традиции",
          skip=("ethnic_russian_woman",)),
        T("Эта {t} [плясала] на свадьбе, совсем стыд потеряла",
          "Эти {t} [пляшут] на свадьбах, совсем стыд потеряли"),
    ]),
    # ------------------------------------------------------------------ threat
    "threat_violence": _pos(("threat",), "stated intent to physically harm or kill the target", [
        T("Ин {t}ро шабона [мекушем]", "Ин {t}ро шабона [мекушем]"),
        T("Ҳой {t}, мо туро меёбем ва [мезанем]"),
        T("Ин {t} як рӯз аз кӯча [зинда] барнамегардад"),
    ], [
        T("Эту {t_acc} ночью найдём и [убьём]", "Этих {t_acc} ночью найдём и [убьём]"),
        T("Слышишь, {t}, мы тебя найдём и [изобьём]"),
        T("Эта {t} однажды не вернётся домой [живой]"),
    ]),
    "threat_sexual": _pos(("threat",), "threat or call of sexual violence", [
        T("Ба номуси ин {t} [таҷовуз] бояд кард, то ҷояшро донад",
          "Ба номуси ин {t} [таҷовуз] бояд кард, то ҷояшонро донанд"),
    ], [
        T("Эту {t_acc} надо [изнасиловать], чтобы знала своё место",
          "Этих {t_acc} надо [изнасиловать], чтобы знали своё место"),
    ]),
    "threat_blackmail_images": _pos(("threat",), "blackmail and threats to publish her photos or videos", [
        T("Ҳой {t}, агар пул надиҳӣ, аксҳоят ба ҳамаи [хешовандонат] мераванд"),
        T("Ҳой {t}, постатро нест кун, вагарна [видеоят] ба падару модарат меравад"),
        T("Агар ин {t} хомӯш нашавад, аксҳои шахсиашро дар ҳама каналҳо [паҳн] мекунем"),
    ], [
        T("Слышь, {t}, не заплатишь — твои фото [уйдут] всей родне"),
        T("Удали пост, {t}, иначе видео [отправим] твоим родителям"),
        T("Если эта {t} не замолчит, её личные фото [разлетятся] по всем каналам"),
    ]),
    "threat_incitement": _pos(("threat",), "inciting others to find and attack the target", [
        T("Бачаҳо, ин {t}ро ёфта [занед]", "Бачаҳо, ин {t}ро ёфта [занед]"),
        T("Ҳар кӣ ин {t}ро бинад, [санг] занад", "Ҳар кӣ ин {t}ро бинад, [санг] занад"),
        T("Ин {t}ро ёбед ва [нобуд] кунед", "Ин {t}ро ёбед ва [нобуд] кунед"),
    ], [
        T("Пацаны, найдите эту {t_acc} и [избейте]", "Пацаны, найдите этих {t_acc} и [избейте]"),
        T("Кто увидит эту {t_acc} — [бейте] камнями", "Кто увидит этих {t_acc} — [бейте] камнями"),
        T("Найти и [уничтожить] эту {t_acc}", "Найти и [уничтожить] этих {t_acc}"),
    ]),
    "threat_we_know_where": _pos(("threat",), "implicit threat: 'we know where you live' (no details exposed)", [
        T("Ҳой {t}, мо медонем, ки ту дар куҷо зиндагӣ мекунӣ. [Эҳтиёт] шав"),
        T("Ин {t} бояд донад: хонаашро меёбем ва [пушаймон] мешавад"),
    ], [
        T("Эй, {t}, мы знаем, где ты живёшь. [Берегись]"),
        T("Пусть эта {t} знает: мы найдём её дом, и она [пожалеет]"),
    ]),
    # ------------------------------------------------------------------ doxxing
    "doxxing_address": _pos(("doxxing",), "posting a private woman's home address", [
        T("[Суроғаи] ин {t}: {addr}, ҳама донед"),
        T("Ин {t} дар {addr} [зиндагӣ] мекунад"),
        T("Хонаи ин {t} ин ҷост: {addr}, ана [суроғааш]"),
    ], [
        T("[Адрес] этой {t_gen}: {addr}, пусть все знают"),
        T("Эта {t} [живёт] по адресу: {addr}"),
        T("Вот где [живёт] эта {t}: {addr}"),
    ]),
    "doxxing_phone": _pos(("doxxing",), "posting a private woman's phone number", [
        T("[Рақами] ин {t}: {phone}, ҳама нависед"),
        T("Ана рақами [шахсии] ин {t} — {phone}"),
        T("Рақами телефони ин {t}ро [ёфтам]: {phone}"),
    ], [
        T("[Номер] этой {t_gen}: {phone}, пишите все"),
        T("Вот [личный] номер этой {t_gen} — {phone}"),
        T("Нашёл [телефон] этой {t_gen}: {phone}"),
    ]),
    "doxxing_workplace_school": _pos(("doxxing",), "exposing her workplace, market stall, children's school, routine", [
        T("Ин {t} дар бозори Навбаҳор, дӯкони 112 [кор] мекунад, ҳама донед"),
        T("Писари ин {t} дар мактаби рақами 45 [мехонад]", skip=("teen_girl",)),
        T("Ин {t} ҳар рӯз соати 8 аз хона [мебарояд] ва ба идораи «Сомон-Сервис» меравад"),
    ], [
        T("Эта {t} [работает] на рынке Навбахор, место 112, все знайте"),
        T("Сын этой {t_gen} [учится] в школе № 45", skip=("teen_girl",)),
        T("Эта {t} каждый день в 8 утра [выходит] из дома и идёт в офис «Сомон-Сервис»"),
    ]),
    "doxxing_identity_reveal": _pos(("doxxing",), "revealing the real identity behind an account, naming relatives", [
        T("Ин саҳифаи бенномро ҳамин {t} менависад, номи аслиаш Нигина Раҳимова, [духтари] Саид аз маҳаллаи Пахтакор"),
        T("Падари ин {t} Саид Раҳимов аст, дар [бозори] Навбаҳор кор мекунад"),
    ], [
        T("Этот анонимный аккаунт ведёт эта {t}, её настоящее имя — Нигина Рахимова, [дочь] Саида из махалли Пахтакор"),
        T("Отец этой {t_gen} — Саид Рахимов, [работает] на рынке Навбахор"),
    ]),
    "doxxing_request": _pos(("doxxing",), "asking others to find where she lives, her number or real name", [
        T("Кӣ медонад, ки ин {t} дар куҷо [зиндагӣ] мекунад? Суроғаашро нависед"),
        T("Номи аслӣ ва [рақами] ин {t}ро кӣ дорад?"),
        T("Суроғаи ин {t}ро ба ман [ёбед], пул медиҳам"),
    ], [
        T("Кто знает, где [живёт] эта {t}? Скиньте адрес"),
        T("У кого есть настоящее имя и [номер] этой {t_gen}?"),
        T("[Найдите] мне адрес этой {t_gen}, заплачу"),
    ]),
    "doxxing_private_chats": _pos(("doxxing",), "publishing screenshots of her private chats", [
        T("Ана скриншоти [мукотибаи] шахсии ин {t} бо дугонааш, ҳама хонед"),
        T("Паёмҳои шахсии ин {t}ро ёфтам ва ҳамаашро дар канал [гузоштам]"),
    ], [
        T("Вот скрины личной [переписки] этой {t_gen} с подругой, читайте все"),
        T("Достал личные сообщения этой {t_gen} и [выложил] всё в канал"),
    ]),
    # ------------------------------------------------------------------ combinations
    "threat_to_expose": _pos(("threat", "doxxing"), "threatening to publish her address, number or relatives' names", [
        T("Ҳой {t}, агар хомӯш нашавӣ, суроғаатро ба ҳама [мефиристам]"),
        T("Ҳой {t}, рақами телефонат {phone}-ро дар ҳамаи каналҳо [мегузорам]"),
        T("Агар ин {t} постро нест накунад, суроғаи хонааш ва номи падарашро [паҳн] мекунем"),
    ], [
        T("Слышь, {t}, не заткнёшься — [разошлю] всем твой адрес"),
        T("Твой номер {phone} [выложу] во все каналы, {t}"),
        T("Если эта {t} не удалит пост, мы [опубликуем] её адрес и имя отца"),
    ]),
    "insult_plus_threat": _pos(("insult", "threat"), "abuse and a threat in one comment", [
        T("Ин {t} [аблаҳ] аст, мо ӯро мекушем", "Ин {t} [аблаҳанд], мо ҳамаашонро мекушем"),
        T("Ҳой {t}, [аҳмақ], як рӯз туро мезанем"),
    ], [
        T("Эта {t} — тупая [дура], мы её убьём", "Эти {t} — тупые [дуры], мы их убьём"),
        T("Эй, {t}, [идиотка], однажды мы тебя изобьём"),
    ]),
    "shaming_plus_doxxing": _pos(("shaming", "doxxing"), "exposing her address or number to shame her", [
        T("Ин {t} [беномус] аст ва дар {addr} зиндагӣ мекунад, ба падараш гӯед"),
        T("Ин {t} шармандаи оила аст, ана [рақамаш]: {phone}"),
    ], [
        T("Эта {t} — [бесстыжая], живёт по адресу {addr}, скажите её отцу"),
        T("Эта {t} — позор семьи, вот её [номер]: {phone}"),
    ]),
    "shaming_plus_threat": _pos(("shaming", "threat"), "'honour' violence: shaming with a call to kill or stone her", [
        T("Ин {t} шармандаи оила аст, бародаронаш бояд ӯро [кушанд]"),
        T("Ин {t} [беномус] аст, бояд ӯро аз деҳа ронда, санг зананд"),
    ], [
        T("Эта {t} — позор семьи, братья должны её [убить]"),
        T("Эта {t} — [бесстыжая], её надо выгнать из кишлака и забить камнями"),
    ]),
    # ------------------------------------------------------------------ hard negatives
    "counter_speech_insult": _neg(("insult",), "rejecting an insult aimed at the target (quotes it)", [
        T("Ин {t}ро «аблаҳ» нагӯед, ӯ аз ҳамаи мо доност", "Ин {t}ро «аблаҳ» нагӯед, онҳо аз ҳамаи мо доноянд"),
        T("Бас кунед, ин {t} «гов» нест. Ҳақорат кардан айб аст"),
        T("Касе, ки ин {t}ро ҳақорат мекунад, худашро шарманда мекунад",
          "Касе, ки ин {t}ро ҳақорат мекунад, худашро шарманда мекунад"),
    ], [
        T("Хватит называть эту {t_acc} «дурой», она умнее нас всех",
          "Хватит называть этих {t_acc} «дурами», они умнее нас всех"),
        T("Перестаньте, эта {t} не «корова». Оскорблять стыдно"),
        T("Кто оскорбляет эту {t_acc}, тот позорит сам себя", "Кто оскорбляет этих {t_acc}, тот позорит сам себя"),
    ]),
    "counter_speech_shaming": _neg(("shaming",), "rejecting shaming and dress policing (quotes it)", [
        T("Ин {t}ро «беномус» гуфтан бас аст, ӯ ҳаққи интихоби либосашро дорад"),
        T("Ҳеҷ кас ҳақ надорад ба ин {t} гӯяд, ки чӣ пӯшад", "Ҳеҷ кас ҳақ надорад ба ин {t} гӯяд, ки чӣ пӯшанд"),
        T("Ин {t}ро бо «шарми оила» таҳқир кардан назорат аст, на ғамхорӣ",
          "Ин {t}ро бо «шарми оила» таҳқир кардан назорат аст, на ғамхорӣ"),
    ], [
        T("Хватит называть эту {t_acc} «бесстыжей», она имеет право одеваться как хочет",
          "Хватит называть этих {t_acc} «бесстыжими», они имеют право одеваться как хотят"),
        T("Никто не вправе указывать этой {t_dat}, что ей носить", "Никто не вправе указывать этим {t_dat}, что им носить"),
        T("Травить эту {t_acc} словами «позор семьи» — это контроль, а не забота",
          "Травить этих {t_acc} словами «позор семьи» — это контроль, а не забота"),
    ]),
    "counter_speech_threat": _neg(("threat",), "condemning threats against the target (quotes them)", [
        T("Таҳдид ба ин {t} ҷиноят аст, мо бо ӯ ҳастем", "Таҳдид ба ин {t} ҷиноят аст, мо бо онҳо ҳастем"),
        T("Ҳар кӣ ба ин {t} «туро мекушем» менависад, бояд ҷавоб диҳад",
          "Ҳар кӣ ба ин {t} «шуморо мекушем» менависад, бояд ҷавоб диҳад"),
        T("Таҳдидҳо ба ин {t} қобили қабул нестанд, ба милитсия хабар диҳед",
          "Таҳдидҳо ба ин {t} қобили қабул нестанд, ба милитсия хабар диҳед"),
    ], [
        T("Угрозы в адрес этой {t_gen} — преступление, мы с ней", "Угрозы в адрес этих {t_gen} — преступление, мы с ними"),
        T("Каждый, кто пишет этой {t_dat} «убьём», должен ответить по закону",
          "Каждый, кто пишет этим {t_dat} «убьём», должен ответить по закону"),
        T("Угрожать этой {t_dat} недопустимо, сообщите в милицию", "Угрожать этим {t_dat} недопустимо, сообщите в милицию"),
    ]),
    "counter_speech_doxxing": _neg(("doxxing",), "asking people not to spread her address or number", [
        T("Суроғаи ин {t}ро нашр накунед, ин ҷиноят аст"),
        T("Касе, ки рақами ин {t}ро паҳн кард, постро нест кунад, ин хатарнок аст"),
    ], [
        T("Не публикуйте адрес этой {t_gen}, это преступление"),
        T("Кто выложил номер этой {t_gen} — удалите, это опасно"),
    ]),
    "reporting_insult_shaming": _neg(("insult", "shaming"), "the target reports insults or shaming and asks for help", [
        T("Ман {t} ҳастам, ба ман навиштанд «аблаҳ» ва «беномус». Чӣ кор кунам?"),
        T("Ба ман ҳамчун {t} ҳар рӯз «шарми оила» менависанд. Ба куҷо шикоят кунам?"),
    ], [
        T("Я {t}, мне написали «дура» и «бесстыжая». Что делать?"),
        T("Мне, как {t_dat}, каждый день пишут «позор семьи». Куда жаловаться?"),
    ]),
    "reporting_threat": _neg(("threat",), "the target reports threats or blackmail and asks where to turn", [
        T("Ман {t} ҳастам, ба ман навиштанд «туро мекушем». Ба куҷо муроҷиат кунам?"),
        T("Ман {t} ҳастам, собиқ шавҳарам таҳдид мекунад, ки аксҳоямро паҳн мекунад. Ёрӣ диҳед",
          skip=("teen_girl", "wife")),
    ], [
        T("Я {t}, мне написали «мы тебя убьём». Куда обратиться?"),
        T("Я {t}, бывший муж угрожает разослать мои фото. Помогите", skip=("teen_girl", "wife")),
    ]),
    "reporting_doxxing": _neg(("doxxing",), "the target reports that her address or number was posted", [
        T("Ман {t} ҳастам, касе суроғаи хонаамро дар гурӯҳ нашр кард. Ба куҷо шикоят кунам?"),
        T("Ман {t} ҳастам, рақами маро дар канал гузоштанд ва шабу рӯз занг мезананд. Чӣ кор кунам?"),
    ], [
        T("Я {t}, кто-то выложил мой домашний адрес в группе. Куда жаловаться?"),
        T("Я {t}, мой номер выложили в канал, и мне звонят днём и ночью. Что делать?"),
    ]),
    "quoting_news_research": _neg(("insult", "shaming", "threat", "doxxing"), "news or research quoting abuse", [
        T("Тадқиқот: ба ҳар {t} дар интернет «туро меёбем» менависанд", skip=RELATIONAL),
        T("Дар хабар: {t} барои шарҳи «беномус» ба суд муроҷиат кард"),
        T("Хабарнигорон навиштанд, ки ба як {t} дар Инстаграм «суроғаатро паҳн мекунем» гуфта таҳдид кардаанд",
          skip=RELATIONAL),
    ], [
        T("Исследование: почти каждая {t} получает в сети сообщения «найдём тебя»", skip=RELATIONAL),
        T("В новостях: {t} подала в суд за комментарий «бесстыжая»"),
        T("Журналисты сообщают, что одной {t_dat} в Instagram угрожали: «выложим твой адрес»", skip=RELATIONAL),
    ]),
    "negation": _neg(("insult", "shaming", "threat"), "negated abuse ('she is not a disgrace, she is brave')", [
        T("Ин {t} тамоман аблаҳ нест, баръакс хеле доност", "Ин {t} тамоман аблаҳ нестанд, баръакс хеле доноянд"),
        T("Ин {t} шармандаи оила нест, ӯ боҷасорат аст", "Ин {t} шармандаи оила нестанд, онҳо боҷасоратанд"),
        T("Мо ба ин {t} ҳеҷ гоҳ зарар намерасонем ва намегузорем, ки касе расонад",
          "Мо ба ин {t} ҳеҷ гоҳ зарар намерасонем ва намегузорем, ки касе расонад"),
    ], [
        T("Эта {t} совсем не дура, наоборот, очень умная", "Эти {t} совсем не дуры, наоборот, очень умные"),
        T("Эта {t} — не позор семьи, она смелая", "Эти {t} — не позор семьи, они смелые"),
        T("Мы никогда не причиним вреда этой {t_dat} и никому не позволим",
          "Мы никогда не причиним вреда этим {t_dat} и никому не позволим"),
    ]),
    "neutral_identity": _neg(("insult", "shaming"), "neutral mention of the target group", [
        T("Ҳамсояи ман {t} аст ва нонвойхона дорад"),
        T("Дирӯз бо як {t} дар бораи мактаби писарам гап задам", skip=RELATIONAL),
        T("Ин {t} дар маҳаллаи мо дӯкони хурд дорад", "{t} бисёр мехонанд ва кор мекунанд"),
    ], [
        T("Моя соседка — {t}, она держит пекарню"),
        T("Вчера на родительском собрании говорила с одной мамой, она {t}", skip=(*RELATIONAL, "teen_girl")),
        T("Эта {t} держит в нашей махалле маленький магазин", "{t} много учатся и работают"),
    ]),
    "positive_identity": _neg(("insult", "shaming"), "praise and support for the target", [
        T("Ин {t} ифтихори шаҳри мост", "Ин {t} ифтихори шаҳри мо ҳастанд"),
        T("Ба ин {t} офарин, хеле боҷасорат аст", "Ба ин {t} офарин, хеле боҷасоратанд"),
    ], [
        T("Эта {t} — гордость нашего города", "Эти {t} — гордость нашего города"),
        T("Эта {t} — молодец, очень смелая", "Эти {t} — молодцы, очень смелые"),
    ]),
    "criticism_no_abuse": _neg(("insult",), "disagreeing with the target's views or actions without abuse", [
        T("Бо фикри ин {t} розӣ нестам, далелҳояш заифанд", "Бо фикри ин {t} розӣ нестам, далелҳояшон заифанд"),
        T("Ин {t} дар мусоҳиба хато кард, рақамҳояш нодурустанд"),
    ], [
        T("Я не согласен с мнением этой {t_gen}, аргументы слабые", "Я не согласен с мнением этих {t_gen}, аргументы слабые"),
        T("Эта {t} в интервью ошиблась, цифры неверные"),
    ]),
    "public_helpline": _neg(("doxxing",), "public helpline and crisis-centre numbers and addresses", [
        T("Агар шумо {t} бошед ва ба шумо таҳдид кунанд, ба хати боварӣ {public_phone} занг занед", skip=RELATIONAL),
        T("Маркази бӯҳронӣ ба ҳар {t} ройгон ёрӣ медиҳад: {public_phone}, {public_addr}", skip=RELATIONAL),
    ], [
        T("Если вы {t} и вам угрожают, звоните на линию доверия {public_phone}", skip=RELATIONAL),
        T("Кризисный центр бесплатно помогает каждой {t_dat}: {public_phone}, {public_addr}", skip=RELATIONAL),
    ]),
    "public_office_address": _neg(("doxxing",), "addresses and numbers of official offices and NGOs", [
        T("Қабули шаҳрвандон дар шуъбаи милитсияи ноҳия: {public_addr}, соатҳои 9:00–17:00"),
        T("Ташкилоти ҷамъиятии ҳимояи занон: {public_addr}, телефон {public_phone}"),
        T("Маслиҳати ройгони ҳуқуқшинос дар идораи ҳукумати шаҳр, {public_addr}"),
    ], [
        T("Приём граждан в районном отделе милиции: {public_addr}, с 9:00 до 17:00"),
        T("Общественная организация защиты женщин: {public_addr}, телефон {public_phone}"),
        T("Бесплатная консультация юриста в здании хукумата, {public_addr}"),
    ], targeted=False, variants=4),
    "own_business_contact": _neg(("doxxing",), "a woman giving her own business number", [
        T("Ман {t} ҳастам ва либос медӯзам, рақами ман {phone}"),
        T("Торт ба фармоиш мепазам, рақамам: {phone}. Ман {t} ҳастам ва аз хона кор мекунам"),
    ], [
        T("Я {t} и шью на заказ, мой номер {phone}"),
        T("Пеку торты на заказ, пишите: {phone}. Я {t} и работаю из дома"),
    ]),
    "neutral_tradition_dress": _neg(("shaming",), "neutral talk about traditions, national dress and hijab", [
        T("Атласу адрас дар тӯйҳо хеле зебо менамояд"), T("Дар маҳаллаи мо баъзе духтарон рӯймол мепӯшанд, баъзеҳо не"),
        T("Тӯйи арӯсӣ дар деҳаи мо се рӯз давом мекунад"), T("Модарам ба ман либоси миллӣ дӯхт, хеле зебо шуд"),
        T("Оё касе медонад, ки куртаи чакан аз куҷо харидан мумкин аст?"), T("Рақсҳои миллии Бадахшон хеле зебоянд"),
        T("Дар мактаби мо духтарон ҳам бо рӯймол ва ҳам бе рӯймол мехонанд"), T("Ҷашни Наврӯз дар маҳаллаи мо хеле хуб гузашт"),
    ], [
        T("Атлас и адрас на свадьбах смотрятся очень красиво"), T("В нашей махалле одни девушки носят платок, другие нет"),
        T("Свадьба в нашем кишлаке длится три дня"), T("Мама сшила мне национальное платье, получилось очень красиво"),
        T("Кто знает, где купить курта чакан?"), T("Памирские национальные танцы очень красивые"),
        T("В нашей школе учатся девочки и в платках, и без"), T("Навруз в нашей махалле прошёл очень хорошо"),
    ], targeted=False),
    "untargeted_profanity": _neg(("insult",), "profanity and curses aimed at nobody", [
        T("Лаънат ба ин барқ, боз хомӯш шуд"), T("Э падарлаънат, боз роҳ баста аст"), T("Ҷин занад, телефонам боз шикаст"),
        T("Лаънатӣ, боз борон омад"), T("Ин чӣ бало буд, интернет боз намеравад"), T("Вой падарлаънат, нархҳо боз баланд шуданд"),
    ], [
        T("Чёрт, опять свет отключили"), T("Блин, опять пробки на мосту"), T("Твою ж мать, опять интернет пропал"),
        T("Зараза, телефон снова разбился"), T("Чёрт побери, опять дождь"), T("Блин, цены опять выросли"),
    ], targeted=False),
    "everyday": _neg(("doxxing", "insult"), "ordinary comments with prices, years, times and counts", [
        T("Бозор аз соати 7:00 то 18:00 кор мекунад"), T("Нархи картошка имрӯз 5 сомонӣ"),
        T("Тӯйи писарам 12-уми август аст, ҳамаатонро даъват мекунам"),
        T("Дастури оши палав: 1 кило гӯшт, 2 кило биринҷ, 500 грамм сабзӣ"), T("Соли 2024 ҳосил хуб шуд"),
        T("Хонаи 3-ҳуҷрагӣ ба иҷора дода мешавад, нархаш 2 500 сомонӣ"), T("Автобуси рақами 8 ҳар 15 дақиқа меояд"),
        T("Дар синфи мо 28 нафар мехонанд"),
    ], [
        T("Рынок работает с 7:00 до 18:00"), T("Картошка сегодня по 5 сомони"), T("Свадьба сына 12 августа, приглашаю всех"),
        T("Рецепт плова: 1 кг мяса, 2 кг риса, 500 г моркови"), T("В 2024 году урожай был хороший"),
        T("Сдаётся 3-комнатная квартира, цена 2 500 сомони"), T("Автобус номер 8 ходит каждые 15 минут"),
        T("В нашем классе учатся 28 человек"),
    ], targeted=False),
}

OBFUSCATIONS = ("no_tajik_letters", "latin_translit", "homoglyph", "leet", "spaced", "stretched")
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
FUNCTIONALITIES.update({f"obfuscated_{k}": f"labels of the plain form: {OBFUSCATION_DESCRIPTIONS[k]}, applied to positive "
                        "cases" for k in OBFUSCATIONS})
LABELS_TESTED: dict[str, tuple[str, ...]] = {name: f.tests for name, f in SPEC.items()}
LABELS_TESTED.update({f"obfuscated_{k}": LABELS for k in OBFUSCATIONS})

# ----------------------------------------------------------------------------- obfuscation

_TG_PLAIN = str.maketrans({"ҳ": "х", "ҷ": "ч", "қ": "к", "ғ": "г", "ӣ": "и", "ӯ": "у",
                           "Ҳ": "Х", "Ҷ": "Ч", "Қ": "К", "Ғ": "Г", "Ӣ": "И", "Ӯ": "У"})
# Cyrillic -> Latin as people type it in chats (not an official romanisation). Where several spellings are common,
# one is drawn per text, so a text is consistent in itself.
_TRANSLIT: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v",), "г": ("g",), "ғ": ("gh", "g"), "д": ("d",), "е": ("e",), "ё": ("yo", "e"),
    "ж": ("zh", "j"), "з": ("z",), "и": ("i",), "ӣ": ("i",), "й": ("y", "i", "j"), "к": ("k",), "қ": ("q", "k"),
    "л": ("l",), "м": ("m",), "н": ("n",), "о": ("o",), "п": ("p",), "р": ("r",), "с": ("s",), "т": ("t",),
    "у": ("u",), "ӯ": ("u", "o"), "ф": ("f",), "х": ("kh", "x", "h"), "ҳ": ("h",), "ц": ("ts", "c"), "ч": ("ch",),
    "ҷ": ("j",), "ш": ("sh",), "щ": ("sch", "sh"), "ъ": ("", "'"), "ы": ("y", "i"), "ь": ("", "'"), "э": ("e",),
    "ю": ("yu", "ju"), "я": ("ya", "ja"),
}
# Cyrillic letters and their Latin look-alikes (what people substitute; the normaliser maps them back).
_HOMO_OUT = {"а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "к": "k",
             "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
             "Х": "X", "У": "Y"}
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
    idx = [i for i, ch in enumerate(word) if ch in _VOWELS
           and (i == 0 or word[i - 1].lower() != ch.lower()) and (i == len(word) - 1 or word[i + 1].lower() != ch.lower())]
    if not idx:
        return None
    i = rng.choice(idx)
    return word[:i + 1] + word[i].lower() * rng.randint(3, 6) + word[i + 1:]


def _spaced_word(word: str, rng: random.Random) -> str | None:
    if len(word) < 4 or not all(_is_cyr(ch) for ch in word):
        return None
    return rng.choice(_SPACE_SEPARATORS).join(word)


_WORD_FUNCS = {"homoglyph": _homoglyph_word, "leet": _leet_word, "stretched": _stretched_word, "spaced": _spaced_word}


def _spacing_is_unambiguous(text: str, start: int, end: int) -> bool:
    """Spaced letters next to a one-letter word ("и д у р а") would read as one run; people avoid it, so do we."""
    before = text[:start].split()
    after = text[end:].split()
    lonely = (lambda tok: len(tok) == 1 and tok.isalpha())
    return not (before and lonely(before[-1])) and not (after and lonely(after[0]))


def _candidate_words(text: str) -> list[str]:
    words = [w.strip(",.!?«»:;—()\"") for w in text.split()]
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
            return text[:match.start()] + new + text[match.end():]
    return text


# ----------------------------------------------------------------------------- generation

_KEY_WORD = re.compile(r"\[([^\]]+)\]")


def _fill(template: str, target: Target | None, lang: str, rng: random.Random) -> tuple[str, list[str]]:
    """Fill one template; return the text and its marked key words."""
    text = template
    for placeholder, make in (("{addr}", lambda: rng.choice(ADDRESSES[lang])), ("{phone}", lambda: fictitious_phone(rng)),
                              ("{public_addr}", lambda: rng.choice(PUBLIC_ADDRESSES[lang])),
                              ("{public_phone}", lambda: fictitious_phone(rng))):
        while placeholder in text:
            text = text.replace(placeholder, make(), 1)
    if target is not None:
        forms = {"{t_acc}": target.ru_acc, "{t_gen}": target.ru_gen, "{t_dat}": target.ru_dat,
                 "{t}": target.tg if lang == "tg" else target.ru}
        for placeholder, form in forms.items():
            text = text.replace(placeholder, form)
    if "{" in text:
        raise ValueError(f"template {template!r} ({lang}) has an unknown placeholder: {text!r}")
    first = 1 if text.startswith("[") else 0
    text = text[:first] + text[first].upper() + text[first + 1:]
    return _KEY_WORD.sub(r"\1", text), _KEY_WORD.findall(text)


def _targets_for(tpl: T) -> list[tuple[Target, str]]:
    out = []
    for target in TARGETS:
        form = tpl.sg if target.number == "sg" else tpl.pl
        if form is None or target.key in tpl.skip or (tpl.only and target.key not in tpl.only):
            continue
        out.append((target, form))
    return out


def _make_case(name: str, lang: str, n: int, text: str, target: str, labels: Iterable[str], hard: bool,
               obfuscation: str) -> dict[str, Any]:
    labels = set(labels)
    script = {"latin_translit": "Latn", "homoglyph": "mixed"}.get(obfuscation, "Cyrl")
    case: dict[str, Any] = {"id": f"F-{name}-{lang}-{n:04d}", "text": text, "lang": lang, "script": script,
                            "functionality": name, "target": target, "obfuscation": obfuscation}
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
                    case = _make_case(name, lang, n, text, target.key if target else NO_TARGET, spec.labels,
                                      spec.hard_negative, "none")
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
                case = _make_case(name, out_lang, made, text, src["target"], [lab for lab in LABELS if src[lab]],
                                  False, kind)
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
        entry = by_func.setdefault(name, {"description": FUNCTIONALITIES[name], "labels_tested": list(LABELS_TESTED[name]),
                                          "hard_negative": case["hard_negative"], "cases": 0, "by_lang": {}})
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
        rows.append(f"| `{name}` | {kind} | {', '.join(entry['labels_tested'])} | {entry['cases']} ({langs}) | "
                    f"{FUNCTIONALITIES[name]} |")
    targets = ", ".join(f"`{t.key}` ({t.ru})" for t in TARGETS)
    return "\n".join([
        "# Functional test suite",
        "",
        "<!-- generated by scripts/make_functional.py from src/tfgbv/functional.py; do not edit by hand -->",
        "",
        "HateCheck-style (Röttger et al. 2021) behavioural tests for the four TFGBV labels in Tajik and Russian. "
        "Each *functionality* is one behaviour the classifier must get right: the plain forms of each label, and the "
        "*hard negatives* that share words with abuse but carry no label (counter-speech, a victim's own report, news "
        "quoting abuse, negation, neutral or positive mention of a group, public helplines, a woman's own business "
        "number). Cases are hand-written templates × target phrases × both languages; positive cases are also "
        "obfuscated (Tajik typed without its letters, Latin transliteration, Latin look-alike letters, leetspeak, "
        "spaced and stretched letters) and keep their labels. A case passes when every label's prediction equals "
        "its expected value; `scripts/evaluate.py` reports accuracy per functionality and language.",
        "",
        f"{summary['cases']} cases, {summary['functionalities']} functionalities, "
        f"{summary['hard_negative_cases']} hard-negative cases. Expected positives per label: "
        + ", ".join(f"{lab} {n}" for lab, n in summary["expected_positive"].items()) + ". Languages: "
        + ", ".join(f"{lang} {n}" for lang, n in summary["by_lang"].items()) + ".",
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
    ])
