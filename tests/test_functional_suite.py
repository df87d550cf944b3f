"""The committed functional suite is a fresh generation, covers every label's plain forms and hard negatives."""

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from tfgbv.corpus import FICTITIOUS_PHONE, phone_numbers
from tfgbv.functional import FUNCTIONALITIES, OBFUSCATIONS, generate_cases, obfuscate
from tfgbv.labels import LABELS
from tfgbv.text import normalize_text

CASES = Path(__file__).resolve().parents[1] / "data" / "functional" / "cases.jsonl"


def _committed():
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]


def test_committed_file_equals_fresh_generation():
    assert _committed() == generate_cases(seed=0)


def test_generation_is_deterministic_for_a_seed():
    assert generate_cases(seed=5) == generate_cases(seed=5)


def test_size_and_coverage():
    cases = _committed()
    funcs = Counter(c["functionality"] for c in cases)
    assert len(cases) >= 1500 and len(funcs) >= 25
    assert set(funcs) <= set(FUNCTIONALITIES)
    langs = defaultdict(set)
    for c in cases:
        langs[c["functionality"]].add(c["lang"].split("-")[0])
    assert all(v == {"tg", "ru"} for k, v in langs.items() if k != "obfuscated_no_tajik_letters")
    for lab in LABELS:
        assert any(c[lab] for c in cases), f"no positive case for {lab}"
    hard = {c["functionality"] for c in cases if c["hard_negative"]}
    assert {"counter_speech_insult", "counter_speech_shaming", "counter_speech_threat", "reporting_abuse", "quoting_news",
            "negation", "neutral_identity", "public_contact", "own_business_contact"} <= hard
    assert all(not any(c[lab] for lab in LABELS) for c in cases if c["hard_negative"])


def test_every_phone_number_is_fictitious():
    for c in _committed():
        for digits in phone_numbers(c["text"]):
            assert FICTITIOUS_PHONE.match(digits), (c["id"], digits)


def test_obfuscations_change_text_and_mostly_normalise_back():
    rng = random.Random(0)
    plain = "Эта активистка — тупая дура и позор семьи"
    for kind in OBFUSCATIONS:
        if kind == "no_tajik_letters":
            assert obfuscate("Ин ҳақиқат аст", kind, rng) == "Ин хакикат аст"
            continue
        assert obfuscate(plain, kind, rng) != plain, kind
    recovered = []
    for c in _committed():
        if c["obfuscation"] in ("homoglyph", "leet", "spaced", "stretched"):
            src = next(x for x in _committed() if x["id"] == c["source_case"]) if "source_case" in c else None
            if src:
                recovered.append(normalize_text(c["text"]) == normalize_text(src["text"], deobfuscate=False))
    rate = sum(recovered) / len(recovered)
    assert rate >= 0.9, f"normalisation recovers only {rate:.0%} of obfuscated cases"
