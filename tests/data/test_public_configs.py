"""Each public-dataset config maps a tiny hand-made file with the same layout into the schema correctly."""

import pytest
from hydra import compose, initialize_config_dir

from tests.helpers import FIXTURES
from tfgbv.cli.run import CONFIG_DIR, data_sources
from tfgbv.data.sources import MISSING, load_data

PUBLIC = FIXTURES / "public"


def _load(name: str, *overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"data={name}", f"paths.shared_datasets={PUBLIC}", *overrides])
    return load_data(data_sources(cfg.data))


def _all(data):
    return [r for split in data.splits.values() for r in split]


def test_ru_2ch_pikabu_maps_toxic_to_insult_with_own_test_and_carved_dev():
    data = _load("ru_2ch_pikabu", "data.sources.ru_2ch_pikabu.split.dev_fraction=0.3")
    assert len(data.splits["test"]) == 2 and [r["insult"] for r in data.splits["test"]] == [1.0, 0.0]
    assert len(data.splits["train"]) + len(data.splits["dev"]) == 6  # the empty comment is skipped
    assert data.splits["dev"], "dev is carved from train"
    assert {f["skipped_empty_text"] for f in data.files if f["split"] == "train"} == {1}
    for r in _all(data):
        assert r["lang"] == "ru" and r["shaming"] == r["threat"] == r["doxxing"] == MISSING
        assert not r["text"].endswith("\n") or r["text"].strip()


def test_ru_sexism_vk_maps_sexist_to_shaming_drops_in_context_and_racist_and_hides_vk_ids():
    data = _load("ru_sexism_vk")
    recs = _all(data)
    assert len(recs) == 9  # 11 rows minus sexist_in_co and racist
    assert sum(r["shaming"] == 1.0 for r in recs) == 4 and sum(r["shaming"] == 0.0 for r in recs) == 5
    assert all(r["insult"] == MISSING for r in recs)
    assert not any(x in r["id"] for r in recs for x in ("101", "102", "301"))  # VK ids are not used as ids


def test_ru_sexism_vk_in_context_can_be_counted():
    data = _load(
        "ru_sexism_vk",
        "+data.sources.ru_sexism_vk.label_values.sexist_in_co=1",
        "data.sources.ru_sexism_vk.drop_values=[racist]",
    )
    assert sum(r["shaming"] == 1.0 for r in _all(data)) == 5


def test_ru_distorted_toxicity_has_own_split_masks_user_tags_and_slices_distortion():
    data = _load("ru_distorted_toxicity", "data.sources.ru_distorted_toxicity.split.test_fraction=0.4")
    recs = sorted(_all(data), key=lambda r: r["id"])
    assert len(recs) == 3 and data.splits["test"], "a seeded test split is carved from the one file"
    first = recs[0]
    assert "<USER>" in first["text"] and "id123" not in first["text"] and "Иван" not in first["text"]
    assert [r["obfuscation"] for r in recs] == ["distorted", "none", "none"]
    assert [r["insult"] for r in recs] == [1.0, 0.0, 1.0]


def test_rutoxicon_is_positive_only_with_missing_elsewhere():
    data = _load("rutoxicon")
    recs = {r["text"]: r for r in _all(data)}
    assert recs["ты тупой"]["insult"] == 1.0 and recs["ты тупой"]["threat"] == MISSING
    assert recs["я тебя найду"]["threat"] == 1.0 and recs["я тебя найду"]["insult"] == MISSING
    assert recs["бабы все дуры"]["shaming"] == 1.0 and recs["бабы все дуры"]["insult"] == 1.0
    assert all(v == MISSING for k, v in recs["черт побери"].items() if k in ("insult", "shaming", "threat", "doxxing"))
    assert all(r["doxxing"] == MISSING for r in recs.values())


def test_ru_abusive_tweets_grades_map_with_ambiguous_missing():
    data = _load("ru_abusive_tweets")
    assert [r["insult"] for r in data.splits["test"]] == [0.0, 1.0, MISSING, 1.0]


def test_custom_config_reads_your_own_csv(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("comment,toxic\n" + "".join(f"текст {i},{i % 2}\n" for i in range(20)), encoding="utf-8")
    data = _load(
        "custom",
        f"data.sources.custom.files.all={p}",
        "data.sources.custom.text_column=comment",
        "data.sources.custom.lang=ru",
        "data.sources.custom.lang_column=null",
        "data.sources.custom.id_column=null",
        "data.sources.custom.label_columns={insult: toxic}",
    )
    assert sum(len(v) for v in data.splits.values()) == 20 and data.splits["test"]


@pytest.mark.parametrize("name", ["ru_2ch_pikabu", "ru_sexism_vk"])
def test_mixed_run_masks_labels_a_source_does_not_annotate(name):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                "experiment=public_ru_mix",
                f"paths.shared_datasets={PUBLIC}",
                "data.sources.seed.files.train=" + str(FIXTURES / "tiny_corpus.jsonl"),
                "~data.sources.seed.files.dev",
                "~data.sources.seed.files.test",
            ],
        )
    data = load_data(data_sources(cfg.data))
    import numpy as np

    from tfgbv.labels import LABELS

    recs = [r for r in _all(data) if r["source"] == name]
    y = np.array([[r[lab] for lab in LABELS] for r in recs])
    annotated = {"ru_2ch_pikabu": "insult", "ru_sexism_vk": "shaming"}[name]
    for j, lab in enumerate(LABELS):
        assert ((y[:, j] == MISSING).all()) == (lab != annotated)


def test_mixed_run_shows_the_bundled_corpus_more_often_per_epoch():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            config_name="train",
            overrides=[
                "experiment=public_ru_mix",
                f"paths.shared_datasets={PUBLIC}",
                "data.sources.seed.files.train=" + str(FIXTURES / "tiny_corpus.jsonl"),
                "~data.sources.seed.files.dev",
                "~data.sources.seed.files.test",
            ],
        )
    data = load_data(data_sources(cfg.data))
    repeat = cfg.data.sources.seed.train_repeat
    assert repeat > 1
    epoch = data.training_records()
    seed_rows = [r for r in data.splits["train"] if r["source"] == "seed"]
    assert sum(r["source"] == "seed" for r in epoch) == repeat * len(seed_rows)
    assert sum(r["source"] != "seed" for r in epoch) == sum(r["source"] != "seed" for r in data.splits["train"])


def _by_text(data):
    return {r["text"]: r for r in _all(data)}


def test_ru_ok_2ch_toxic_only_lines_are_insult_positives_with_other_labels_missing():
    recs = _by_text(_load("ru_ok_2ch_toxic_only"))
    assert set(recs) == {"ты придурок конченый", "вот это уроды", "Ты Придурок Конченый!!!", "да пошел ты"}
    for r in recs.values():
        assert r["insult"] == 1.0 and r["shaming"] == r["threat"] == r["doxxing"] == MISSING


def test_ru_paradetox_rows_become_minimal_pairs_in_one_split():
    data = _load("ru_paradetox")
    recs = _by_text(data)
    assert recs["ну ты и дебил, блин"]["insult"] == 1.0
    assert recs["ну ты и неправ"]["insult"] == 0.0 and recs["ну ты и неправ"]["threat"] == MISSING
    assert "этот урод опять\nвсё сломал" in recs, "a quoted multi-line toxic comment stays one text"
    assert len(recs) == 9, "absent rewrites (empty cells) are skipped"
    for pair in {r["pair"] for r in recs.values()}:
        assert len({r["split"] for r in recs.values() if r["pair"] == pair}) == 1, "a pair never spans splits"


def test_ru_abusive_saitov_maps_grades_and_drops_mild_and_reads_semicolon_south_park():
    recs = _by_text(_load("ru_abusive_saitov"))
    assert (
        recs["ну ты и урод"]["insult"] == 1.0
        and recs["тупые люди"]["insult"] == 1.0
        and recs["все плохо"]["insult"] == 0.0
    )
    assert "коллеги шумят" not in recs and "Ну ты и чудак" not in recs, "grade 1 is ambiguous: dropped"
    assert (
        recs["Заткнись, болван!"]["insult"] == 1.0
        and recs["Заткнись, болван!"]["source"] == "ru_abusive_saitov_south_park"
    )
    assert recs["Все они предатели и мрази"]["insult"] == 1.0


def test_ru_uk_surzhyk_maps_abusive_flag_and_never_reads_author_names():
    data = _load("ru_uk_surzhyk_youtube")
    recs = _by_text(data)
    assert recs["вы все бараны тупые"]["insult"] == 1.0 and recs["хорошее видео спасибо"]["insult"] == 0.0
    assert not any("Автор" in str(v) for r in recs.values() for v in r.values())


def test_ru_inappropriate_keeps_only_unanimously_appropriate_rows_as_negatives():
    recs = _by_text(_load("ru_inappropriate_snlp"))
    assert set(recs) == {
        "Женщины имеют право работать где хотят",
        "Врач сказал, что лишний вес лечится",
        "Оружие хранится в сейфе по закону",
    }
    for r in recs.values():
        assert r["insult"] == r["shaming"] == r["threat"] == 0.0 and r["doxxing"] == MISSING


def test_tg_prose_reads_headerless_parstext_and_sentences_of_addresses_as_negatives():
    data = _load("tg_prose")
    recs = _by_text(data)
    assert {"ин ҷумлаи аввал аст", "имрӯз ҳаво хуб буд", "мардум ба бозор рафтанд"} <= set(recs)
    assert not any("فارسی" in t for t in recs), "the Perso-Arabic column is not read"
    assert "Мо ба маориф диққати махсус медиҳем!" in recs, "addresses are cut into sentences"
    assert "1." not in recs, "fragments shorter than min_chars are skipped"
    assert (
        sum(t == "Ҳамватанони азиз!" for t in recs) == 1
        and len([r for r in _all(data) if r["text"] == "Ҳамватанони азиз!"]) == 1
    )
    for r in recs.values():
        assert r["lang"] == "tg" and all(r[lab] == 0.0 for lab in ("insult", "shaming", "threat", "doxxing"))
    augmented = [r for r in data.splits["train"] if r.get("augment")]
    assert all(r["source"] == "tg_addresses" and r["text"] == r["text"].lower() for r in augmented)


def test_default_mix_uses_every_source_and_drops_cross_source_duplicates():
    data = _load("default_mix")
    sources = {r["source"] for r in _all(data)}
    assert {"seed", "ru_2ch_pikabu", "ru_paradetox", "tg_parstext", "tg_addresses", "ru_inappropriate_snlp"} <= sources
    assert data.sources["ru_inappropriate_snlp"]["license"] == "cc-by-nc-sa-4.0"
    # "ты придурок конченый" (ok_2ch) and "Ты Придурок Конченый!!!" are one text up to case and punctuation
    texts = [
        r["text"] for r in data.splits["train"] + data.splits["dev"] + data.splits["test"] if "ридурок" in r["text"]
    ]
    assert len(texts) == 1


def test_default_mix_without_public_datasets_skips_each_with_a_warning(tmp_path, caplog):
    with caplog.at_level("WARNING"):
        data = _load("default_mix", f"paths.shared_datasets={tmp_path}")
    assert {r["source"] for r in _all(data)} == {"seed"}
    assert {s["source"] for s in data.skipped} >= {"ru_2ch_pikabu", "ru_paradetox", "tg_parstext"}
    assert "skipped" in caplog.text


def test_fa_pars_off_maps_targeted_offence_to_insult_and_untargeted_profanity_to_zero():
    data = _load(
        "fa_pars_off",
        "data.sources.fa_pars_off.split.dev_fraction=0.3",
        "data.sources.fa_pars_off.split.test_fraction=0.3",
    )
    recs = {r["text"]: r for r in _all(data)}
    assert len(recs) == 9  # the empty tweet is skipped
    assert recs["@USER تو یک احمق واقعی هستی"]["insult"] == 1.0  # TIN / IND
    assert recs["این گروه همه‌شان دروغگو و کثافت هستند"]["insult"] == 1.0  # TIN / GRP
    assert recs["لعنتی باز هم باران آمد"]["insult"] == 0.0  # UNT: profanity aimed at nobody
    assert recs["کتاب جدید را دیروز خریدم"]["insult"] == 0.0
    assert all(r["lang"] == "fa" and r["shaming"] == r["threat"] == r["doxxing"] == MISSING for r in recs.values())
    assert data.splits["test"] and data.splits["dev"], "seeded dev and test splits are carved from the one file"


def test_fa_phate_maps_hate_speech_to_insult_keeps_threat_missing_and_masks_handles_links_and_ids():
    data = _load("fa_phate")
    assert [len(data.splits[s]) for s in ("train", "dev", "test")] == [4, 2, 2]
    recs = _all(data)
    assert sum(r["insult"] == 1.0 for r in recs) == 4 and sum(r["insult"] == 0.0 for r in recs) == 4
    assert all(r["threat"] == MISSING and r["lang"] == "fa" for r in recs)  # violence is not a threat to a person
    texts = " ".join(r["text"] for r in recs)
    assert "@someone_real" not in texts and "@journalist_x" not in texts and "t.co" not in texts
    assert "<USER>" in texts and "<URL>" in texts
    assert not any("90000000000000000" in r["id"] for r in recs)  # tweet ids are never read
