"""A saved model's text preparation is checked against the model at load (issue 27.20): a `text.max_length` beyond
its position embeddings is refused naming the file and the limit, instead of crashing on the first long text."""

import json
import shutil

import pytest

from tfgbv.models.build import ModelLoadError, position_limit


def _with_max_length(tiny_run, tmp_path, length: int):
    model = tmp_path / "model"
    shutil.copytree(tiny_run / "model", model)
    meta = json.loads((model / "tfgbv_config.json").read_text(encoding="utf-8"))
    meta["text"]["max_length"] = length
    (model / "tfgbv_config.json").write_text(json.dumps(meta), encoding="utf-8")
    return model


def test_max_length_above_the_models_limit_is_refused_at_load(tiny_run, tmp_path):
    from tfgbv.predict.transformer import Classifier

    model = _with_max_length(tiny_run, tmp_path, 100_000)
    with pytest.raises(ModelLoadError, match=r"tfgbv_config.json: text.max_length=100000 is above .* limit of 512"):
        Classifier.from_pretrained(model)


def test_max_length_at_the_limit_loads_and_scores_long_texts(tiny_run, tmp_path):
    from tfgbv.predict.transformer import Classifier

    clf = Classifier.from_pretrained(_with_max_length(tiny_run, tmp_path, 512))
    assert clf.predict_proba(["ты дура " * 2000]).shape == (1, 4)


@pytest.mark.parametrize(
    "config,limit",
    [
        ({"model_type": "bert", "max_position_embeddings": 512}, 512),
        ({"model_type": "xlm-roberta", "max_position_embeddings": 514, "pad_token_id": 1}, 512),
        ({"model_type": "whatever"}, None),
    ],
)
def test_position_limit_counts_roberta_style_offsets(config, limit):
    from types import SimpleNamespace

    assert position_limit(SimpleNamespace(**config)) == limit
