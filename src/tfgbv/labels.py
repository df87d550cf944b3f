"""The label set, defined once for the whole project."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("insult", "shaming", "threat", "doxxing")
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {name: i for i, name in ID2LABEL.items()}

# Values a label column may hold in the canonical schema: 1 = yes, 0 = no, None = not annotated.
LABEL_VALUES = (0, 1, None)

# fa: Persian in Perso-Arabic script (real Persian abuse data, read by the Persian view as Tajik is).
LANGS: tuple[str, ...] = ("tg", "ru", "mixed", "tg-Latn", "ru-Latn", "fa")

DESCRIPTIONS: dict[str, str] = {
    "insult": "Abusive, degrading or obscene language aimed at a person or group.",
    "shaming": "Attacks on a woman's honour, morality or conformity to gender norms, used as social control.",
    "threat": "Expressed intent, wish or call to harm, including blackmail and threats to publish images.",
    "doxxing": "Exposing, requesting or threatening to expose private identifying information without consent.",
}
