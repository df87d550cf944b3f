"""Training data, model configs, the predict API and text normalisation refuse or neutralise bad input (issue 16):
stray quotes in training files, type guessing, strict labels, tfgbv_config.json validation, PII masking of
obfuscated phone numbers, predict guards, debug=fast, invisible characters and stray combining marks."""

import json
import shutil

import pytest

from tfgbv.data.sources import DataValidationError, SourceSpec, load_data
from tfgbv.io import write_text


def _rows(n=4, **over):
    return [
        {
            "id": f"r{i}",
            "text": f"комментарий {i}",
            "lang": "ru",
            "insult": i % 2,
            "shaming": 0,
            "threat": 0,
            "doxxing": 0,
            **over,
        }
        for i in range(n)
    ]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _load(path, **kw):
    return load_data([SourceSpec(name="t", files={"test": [str(path)]}, **kw)])


def _problems(path, **kw) -> str:
    with pytest.raises(DataValidationError) as exc:
        _load(path, **kw)
    return str(exc.value)


# ----------------------------------------------------------------------------- 1. stray quotes in training data


def test_stray_quote_never_merges_training_rows(tmp_path):
    p = tmp_path / "q.tsv"
    p.write_text(
        'id\ttext\tlang\tinsult\nt1\tfirst\tru\t0\nt2\t"quoted start\tru\t0\nt3\tthird\tru\t0\n'
        't4\tfourth "q\tru\t1\nt5\tfifth\tru\t0\n',
        encoding="utf-8",
    )
    msg = _problems(p, label_columns={"insult": "insult"})
    assert f"{p}:3:" in msg and "unbalanced quote" in msg and "1 data problem" in msg
    p.write_text(p.read_text().replace('"quoted start', "quoted start"), encoding="utf-8")
    recs = _load(p, label_columns={"insult": "insult"}).splits["test"]
    assert [(r["id"], r["insult"]) for r in recs] == [("t1", 0), ("t2", 0), ("t3", 0), ("t4", 1), ("t5", 0)]


def test_csv_record_with_extra_fields_names_its_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,text,lang,insult\na,hello,ru,0\nb,hi, there,ru,1\n", encoding="utf-8")
    msg = _problems(p, label_columns={"insult": "insult"})
    assert f"{p}:3: expected 4 fields" in msg


# ----------------------------------------------------------------------------- 9. values as written, strict labels


def test_json_strings_are_read_as_written(tmp_path):
    texts = ['"в кавычках"', "true", "42", "обычный"]
    rows = [{"id": f"r{i}", "text": t, "lang": "ru", "insult": 0} for i, t in enumerate(texts)]
    rows.append({"id": "r9", "text": 7, "lang": "ru", "insult": 1})  # a text column of mixed types
    p = _jsonl(tmp_path / "d.jsonl", rows)
    recs = _load(p, label_columns={"insult": "insult"}, on_empty_text="skip").splits["test"]
    assert [r["text"] for r in recs] == texts  # not decoded as JSON, not dropped; only the number is skipped
    assert f"{p}:5: field 'text' must be a string, got int" in _problems(p, label_columns={"insult": "insult"})


def test_string_true_label_is_refused(tmp_path):
    rows = _rows(3)
    rows[1]["insult"] = "true"
    msg = _problems(_jsonl(tmp_path / "d.jsonl", rows))
    assert f"{tmp_path / 'd.jsonl'}:2: field 'insult'" in msg and "'true'" in msg


def test_half_label_is_refused_in_gold_mode(tmp_path):
    rows = _rows(3)
    rows[2]["shaming"] = 0.5
    p = _jsonl(tmp_path / "d.jsonl", rows)
    msg = _problems(p)
    assert f"{p}:3: field 'shaming' must be 1, 0 or empty" in msg and "0.5" in msg
    assert _load(p, label_mode="soft").splits["test"][2]["shaming"] == 0.5


def test_csv_ids_keep_leading_zeros(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("id,text,lang,insult\n007,a,ru,1\n7,b,ru,0\n", encoding="utf-8")
    assert [r["id"] for r in _load(p, label_columns={"insult": "insult"}).splits["test"]] == ["007", "7"]


def test_label_values_match_csv_cells_by_text(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,y\na,0\nb,2\nc,2.0\nd,1\ne,9\n", encoding="utf-8")
    recs = _load(
        p, id_column=None, lang="ru", label_columns={"insult": "y"}, label_values={0: 0, 1: None, 2: 1}, drop_values=[9]
    ).splits["test"]
    assert [r["insult"] for r in recs] == [0.0, 1.0, 1.0, -1.0]


def test_lone_surrogate_in_training_data_is_reported(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(_rows(1)[0]) + '\n{"id": "x", "text": "bad \\ud800", "lang": "ru"}\n', encoding="utf-8")
    msg = _problems(p)
    assert f"{p}:2: field 'text' is not valid Unicode" in msg


# ----------------------------------------------------------------------------- 11. the one atomic writer


def test_atomic_writer_never_follows_a_precreated_temp_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (tmp_path / "out.json.tmp").symlink_to(victim)
    write_text(tmp_path / "out.json", "new")
    assert victim.read_text() == "keep me" and (tmp_path / "out.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.json.tmp", "victim"]


# ----------------------------------------------------------------------------- 12. tfgbv_config.json validation


@pytest.mark.parametrize(
    "change, message",
    [
        ({"labels": ["shaming", "insult", "threat", "doxxing"]}, "labels"),
        ({"temperatures": {"insult": 0.0}}, "temperatures.insult must be a finite number > 0"),
        ({"temperatures": {"threat": float("nan")}}, "temperatures.threat"),
        ({"thresholds": {"insult": "0.5", "shaming": 0.5, "threat": 0.5, "doxxing": 0.5}}, "thresholds.insult"),
        ({"thresholds": {"insult": 1.5, "shaming": 0.5, "threat": 0.5, "doxxing": 0.5}}, "thresholds.insult"),
        ({"thresholds": {"insult": 0.5}}, "thresholds must give a number for each"),
        ({"text": {"prefix": "", "max_length": 0}}, "text.max_length"),
    ],
)
def test_model_config_is_validated_on_load(tmp_path, tiny_run, change, message):
    from tfgbv.models.build import ModelLoadError
    from tfgbv.predict.transformer import Classifier

    model = tmp_path / "model"
    shutil.copytree(tiny_run / "model", model)
    meta = json.loads((model / "tfgbv_config.json").read_text())
    meta.update(change)
    (model / "tfgbv_config.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match=message):
        Classifier.from_pretrained(model)


# ----------------------------------------------------------------------------- 13. PII masking


@pytest.mark.parametrize(
    "phone",
    [
        "93.555.12.34",
        "93\u200b555\u200b12\u200b34",
        "9 3 5 5 5 1 2 3 4",
        "+9 9 2 9 3 5 5 5 1 2 3 4",
        "9-3-5-5-5-1-2-3-4",
        "+992\u200b93\u200b555\u200b1234",
        "93\x00555\x0012\x0034",
    ],
)
def test_pii_masking_catches_dotted_split_and_spaced_phones(phone):
    from tfgbv.text import mask_pii

    masked = mask_pii(f"рақамаш {phone}, занг зан")
    assert masked == "рақамаш <PHONE>, занг зан", masked


def test_pii_masking_keeps_dates_and_amounts():
    from tfgbv.text import mask_pii

    for text in ("12.05.2024", "1 500 000 сомонӣ", "соат 9 ва 10", "1 2 3 4 5"):
        assert mask_pii(text) == text


# ----------------------------------------------------------------------------- 14. predict guards, debug=fast


def test_predict_none_is_a_clear_type_error(tiny_run):
    from tfgbv.predict.transformer import Classifier

    clf = Classifier.from_pretrained(tiny_run)
    with pytest.raises(TypeError, match="expected a sequence of strings, got NoneType"):
        clf.predict(None)
    with pytest.raises(TypeError, match="text 1 is int, not a string"):
        clf.predict_proba(["ok", 5])
    with pytest.raises(TypeError, match="use predict"):
        clf.predict_proba("one text")


def test_predict_refuses_texts_over_the_length_cap(tiny_run):
    from tfgbv.predict.base import MAX_TEXT_CHARS
    from tfgbv.predict.transformer import Classifier

    clf = Classifier.from_pretrained(tiny_run)
    with pytest.raises(ValueError, match="more than max_chars=100,000"):
        clf.predict(["short", "x" * (MAX_TEXT_CHARS + 1)])
    clf.max_chars = 50
    with pytest.raises(ValueError, match="text 0 has 51 characters"):
        clf.predict_logits(["y" * 51])
    assert len(clf.predict(["z" * 50])) == 1


def test_debug_fast_caps_samples():
    from hydra import compose, initialize_config_dir

    from tfgbv.cli.run import CONFIG_DIR

    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=["model=tiny", "debug=fast"])
        assert (cfg.max_train_samples, cfg.max_eval_samples) == (64, 32)
        assert compose(config_name="train", overrides=["debug=fast", "max_train_samples=10"]).max_train_samples == 10
        assert compose(config_name="train").max_train_samples is None


# ----------------------------------------------------------------------------- 15. invisible characters, marks


@pytest.mark.parametrize(
    "raw",
    [
        "ту бе\x00шарм ҳастӣ",
        "ту\x00 бешарм\x00 ҳастӣ",
        "ту беш\x07арм ҳа\x7fстӣ\x9f",  # NUL and other controls
        "ту бешарм\U000e0041\U000e0042 ҳастӣ",
        "\U000e0001ту бе\U000e0073шарм ҳастӣ\U000e007f",  # TAG characters
        "ту бе\u0301шарм ҳастӣ",
        "т\u0336у\u0335 б\u0338е\u0322\u0489шарм ҳастӣ",
        "ту \u0300бешарм ҳастӣ\u0301",  # marks
    ],
)
def test_nul_tag_and_stray_marks_are_stripped(raw):
    from tfgbv.text import normalize_text

    for deobfuscate in (False, True):
        out = normalize_text(raw, deobfuscate=deobfuscate)
        assert out == "ту бешарм ҳастӣ", (raw, out)
        assert normalize_text(out, deobfuscate=deobfuscate) == out


def test_marks_that_make_letters_are_kept():
    from tfgbv.text import normalize_text

    assert normalize_text("е\u0308лка и\u0306од х\u0327амин и\u0304", deobfuscate=False) == "ёлка йод ҳамин ӣ"
    assert normalize_text("caf\u00e9 cafe\u0301") == "café café"
    assert normalize_text("Тоҷикистон") == "Тоҷикистон"
