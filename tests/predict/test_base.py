"""The model id: a function of the files that make the scores, the same in the card, the scorers and score files; the
precision is a field of its own."""

import shutil

from tfgbv import rundir
from tfgbv.predict.base import base_model_id, model_identifier


def test_model_id_is_the_same_before_and_after_the_card_is_written(tmp_path, tiny_run):
    """The card is written after the id and quotes it: it must not change the id that scorers report."""
    from tfgbv.predict.transformer import Classifier
    from tfgbv.report.model_card import write_model_card

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    (rundir.model_dir(run) / rundir.HUB_CARD).unlink(missing_ok=True)
    before = Classifier.from_pretrained(run).model_id
    card = write_model_card(run).read_text(encoding="utf-8")
    after = Classifier.from_pretrained(run).model_id
    assert before == after == model_identifier(rundir.model_dir(run))
    assert f"`{after}`" in card and f"`{after}`" in (rundir.model_dir(run) / rundir.HUB_CARD).read_text("utf-8")


def test_bf16_and_fp32_scorers_of_one_run_share_the_id(tiny_run):
    from tfgbv.predict.files import load_scorer

    fp32, bf16 = load_scorer(tiny_run, bf16=False), load_scorer(tiny_run, bf16=True)
    assert fp32.model_id == bf16.model_id and (fp32.precision, bf16.precision) == ("fp32", "bf16")


def test_an_id_with_an_old_precision_suffix_maps_to_the_base_id():
    assert base_model_id("e5-small-8622c883673c-bf16") == "e5-small-8622c883673c"
    assert base_model_id("e5-small-8622c883673c-int8") == "e5-small-8622c883673c"
    assert base_model_id("tiny-0123456789ab-onnx-int8") == "tiny-0123456789ab"
    for unchanged in ("e5-small-8622c883673c", "my-bf16", None, ""):
        assert base_model_id(unchanged) == unchanged


def test_model_id_covers_files_in_sub_folders_but_not_onnx_exports(tmp_path, tiny_run):
    model = tmp_path / "model"
    shutil.copytree(rundir.model_dir(tiny_run), model)
    first = model_identifier(model)
    (model / rundir.ONNX_DIR).mkdir()
    (model / rundir.ONNX_DIR / rundir.ONNX_FP32).write_bytes(b"an export: the same model computed another way")
    assert model_identifier(model) == first
    (model / "text_weights").mkdir()
    (model / "text_weights" / "w.safetensors").write_bytes(b"weights that change the scores")
    assert model_identifier(model) != first
