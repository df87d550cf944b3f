"""Exact keys and MinHash near-duplicate search across sources."""

import random

from tfgbv.data.dedup import match_key, minhash_near_pairs, near_duplicate_pairs


def test_match_key_ignores_case_punctuation_and_spacing():
    assert match_key("Ты  Дура!!!") == match_key("ты дура") == "ты дура"


def test_minhash_finds_the_same_pairs_as_all_pairs_search():
    rng = random.Random(0)
    words = "мама мыла раму ты дура и уродина уходи отсюда сегодня погода хорошая бозор рафтанд".split()
    base = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(60)]
    texts = base + [t + " да" for t in base[:20]] + [t.upper() + "!" for t in base[20:30]]
    exact = {(i, j) for i, j, _ in near_duplicate_pairs(texts, 0.8, 5)}
    # the all-pairs search keeps case and punctuation; compare on texts where they do not matter
    found = {(i, j) for i, j, _ in minhash_near_pairs(texts, 0.8, 5)}
    assert {(i, 60 + i) for i in range(20)} <= found
    assert {(20 + k, 80 + k) for k in range(10)} <= found, "case and punctuation differences are duplicates"
    assert exact <= found
    assert all(s >= 0.8 for _, _, s in minhash_near_pairs(texts, 0.8, 5)), "candidates are verified exactly"


def test_minhash_on_unrelated_texts_finds_nothing():
    assert minhash_near_pairs(["первый текст про кошек", "второй о погоде в горах", "ҳаво имрӯз хуб аст"]) == []
