"""The model card: its licence keeps the training data's most restrictive term, and the model folder it is published
with holds what it links."""

import json
import shutil

import pytest
from huggingface_hub import ModelCard

from tfgbv import rundir
from tfgbv.report.model_card import licence_terms, weight_sources, write_model_card

# The default mix's sources as their data configs state them (configs/data/*.yaml)
DEFAULT_MIX = {
    "seed": "mit",
    "ru_2ch_pikabu": "unknown",
    "ru_ok_2ch_toxic_only": "cc-by-nc-sa-4.0",
    "ru_inappropriate_snlp": "cc-by-nc-sa-4.0",
    "ru_distorted_toxicity": "mit",
    "ru_abusive_saitov": "cc-by-4.0",
    "ru_paradetox": "unknown",
}


def _sources(licences: dict[str, str]) -> dict[str, dict]:
    return {n: {"license": lic, "dataset": n} for n, lic in licences.items()}


def test_a_non_commercial_source_is_not_hidden_by_sources_without_a_licence():
    terms = licence_terms(_sources(DEFAULT_MIX))
    front = terms["front_matter"]
    assert front == {
        "license": "other",
        "license_name": "cc-by-nc-sa-4.0-plus-source-terms",
        "license_link": rundir.MODEL_LICENSE,
    }
    text = "\n".join(terms["lines"])
    assert "**cc-by-nc-sa-4.0** (non-commercial" in text
    assert "**No licence stated** by `ru_2ch_pikabu`, `ru_paradetox`" in text
    assert "| `ru_paradetox` | ru_paradetox | none stated |" in text


@pytest.mark.parametrize(
    "licences, front",
    [
        ({"a": "mit", "b": "cc-by-nc-sa-4.0"}, {"license": "cc-by-nc-sa-4.0"}),  # a Hub id says it all
        ({"a": "mit"}, {"license": "mit"}),
        ({"a": "unknown", "b": "unknown"}, {"license": "unknown"}),
        ({"a": "mit", "b": "other"}, {"license": "other", "license_name": "mit-plus-source-terms"}),
        ({"a": "gpl-3.0", "b": "cc-by-sa-4.0"}, {"license": "other", "license_name": "tfgbv-source-terms"}),
        # a new source's licence field, whatever it is, takes part (e.g. a Persian set added to the mix)
        ({"a": "mit", "fa_new_source": "CC-BY-NC-4.0"}, {"license": "cc-by-nc-4.0"}),
    ],
)
def test_the_card_licence_keeps_the_most_restrictive_term(licences, front):
    got = licence_terms(_sources(licences))["front_matter"]
    assert {k: v for k, v in got.items() if k != "license_link"} == front
    assert ("license_link" in got) == (got["license"] == "other")


def test_the_published_card_declares_a_non_commercial_licence_and_ships_its_licence_file(tmp_path, tiny_run):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    man = json.loads((run / rundir.MANIFEST).read_text(encoding="utf-8"))
    man["sources"] = {"fixture": {"license": "cc-by-nc-sa-4.0", "dataset": "x/y"}}
    man["splits"]["train"]["by_source"] = {"fixture": 5, "unlicensed": 3}
    (run / rundir.MANIFEST).write_text(json.dumps(man), encoding="utf-8")
    write_model_card(run)
    model = rundir.model_dir(run)
    card = ModelCard.load(model / rundir.HUB_CARD)
    assert card.data.license == "other" and card.data.license_name == "cc-by-nc-sa-4.0-plus-source-terms"
    assert (model / card.data.license_link).is_file()
    licence = (model / rundir.MODEL_LICENSE).read_text(encoding="utf-8")
    assert "non-commercial" in licence and "`unlicensed`" in licence


# The Persian sources as their data configs state them (configs/data/fa_pars_off.yaml, fa_phate.yaml): no licence.
PERSIAN = {
    "fa_pars_off": {
        "license": "unknown",
        "dataset": "https://github.com/KamyarDarvishi/Pars-OFF",
        "labels": ["insult"],
    },
    "fa_phate": {"license": "unknown", "dataset": "https://github.com/Zahra-D/Phate", "labels": ["insult"]},
}


def test_a_card_trained_on_the_persian_sources_names_them_as_stating_no_licence(tmp_path, tiny_run):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    man = json.loads((run / rundir.MANIFEST).read_text(encoding="utf-8"))
    man["sources"] = {"fixture": {"license": "cc-by-nc-sa-4.0", "dataset": "x/y"}, **PERSIAN}
    man["splits"]["train"]["by_source"] = {"fixture": 5, "fa_pars_off": 4, "fa_phate": 3}
    man["splits"]["train"]["by_lang"] = {"tg": 3, "ru": 2, "fa": 7}
    man["files"] += [
        {"source": name, "split": "train", "path": f"/data/{name}.csv", "sha256": "0" * 64, "rows": 9, "kept": 7}
        for name in PERSIAN
    ]
    (run / rundir.MANIFEST).write_text(json.dumps(man), encoding="utf-8")
    write_model_card(run)
    model = rundir.model_dir(run)
    card = ModelCard.load(model / rundir.HUB_CARD)
    assert card.data.license == "other" and card.data.license_name == "cc-by-nc-sa-4.0-plus-source-terms"
    assert card.data.language == ["tg", "ru", "fa"]
    assert {"https://github.com/KamyarDarvishi/Pars-OFF", "https://github.com/Zahra-D/Phate"} <= set(card.data.datasets)
    text = card.text
    assert "| `fa_pars_off` | 4 | 0 | 0 | n/a | shaming, threat, doxxing | none stated |" in text
    licence = (model / rundir.MODEL_LICENSE).read_text(encoding="utf-8")
    assert "| `fa_phate` | https://github.com/Zahra-D/Phate | none stated |" in licence
    assert "**No licence stated** by `fa_pars_off`, `fa_phate`" in licence and "non-commercial" in licence


def test_a_model_with_the_persian_view_carries_its_transliterators_terms():
    art = {"manifest": {"sources": {"seed": {"license": "mit"}}, "splits": {"train": {"by_source": {"seed": 9}}}}}
    assert licence_terms(weight_sources(art))["front_matter"] == {"license": "mit"}
    art["meta"] = {"text": {"persian_view": True}}
    terms = licence_terms(weight_sources(art))
    assert terms["front_matter"]["license_name"] == "mit-plus-source-terms"
    text = "\n".join(terms["lines"])
    assert "**No licence stated** by `ru_2ch_pikabu_toxic`, `tg2fa-translit`, `tg_parstext`," in text
    assert "PyPI tg2fa-translit" in text


def test_the_published_card_stands_alone_with_console_scripts_and_inline_tables(tmp_path, tiny_run, tiny_data):
    """model/README.md is what `hf upload` publishes: it may link only files of model/, and shows how to install and
    run tfgbv with its console scripts, not a checkout's scripts/."""
    import re

    from tfgbv.report.evaluation import EvalSpec, evaluate_run

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    evaluate_run(run, tiny_data, run / rundir.EVAL_DIR, EvalSpec(bootstrap_resamples=20, plots=False))
    write_model_card(run)
    model = rundir.model_dir(run)
    text = (model / rundir.HUB_CARD).read_text(encoding="utf-8")
    links = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not t.startswith(("http://", "https://", "#"))]
    assert links and all((model / t.split("#")[0]).is_file() for t in links), links
    for elsewhere in ("scripts/", rundir.REPORT, "data/DATA_STATEMENT.md", "runs/latest", f"`{rundir.METRICS}`"):
        assert elsewhere not in text, elsewhere
    assert "pip install tfgbv-" in text and "tfgbv-predict model_dir=path/to/this/folder" in text
    assert f"generated from the files of its training run (`{tmp_path.name}/run`)" in text  # the run of every figure
    assert "| label | positives | precision | recall | F1 (CI) |" in text  # the results, inline


def test_the_per_language_table_shows_abusive_cases_flagged_with_any_label_beside_exact_match():
    from tfgbv.report.model_card import functional_language_lines

    failures = [
        {"lang": "tg", "expected": ["insult"], "predicted": []},
        {"lang": "tg", "expected": ["threat"], "predicted": ["insult"]},
    ]
    older = {  # an evaluation from before the flagged count: read from its failures
        "by_language": {"tg": {"abusive": {"cases": 4, "passed": 2, "accuracy": 0.5}}},
        "failures": failures,
    }
    typed = {
        "by_language": {"tg": {"abusive": {"cases": 4, "passed": 1, "accuracy": 0.25, "flagged": 4}}},
        "labels_changed": 2,
        "cases": 4,
    }
    lines = functional_language_lines(older, typed)
    tg = next(line for line in lines if line.startswith("| tg |"))
    assert "| 0.500 of 4 | 0.750 [" in tg  # 2 exact, 3 flagged (one with the wrong label)
    typed_row = next(line for line in lines if line.startswith("| tg, typed lower-case"))
    assert "| 0.250 of 4 | 1.000 [" in typed_row
    assert functional_language_lines({"by_language": {}}, None) == []
