"""ONNX export (fp32 + int8 dynamic quantisation) agrees with PyTorch on the tiny model; the ORT classifier has the
same predict API and plugs into batch scoring."""

import json

import pyarrow.parquet as pq
import pytest

from tfgbv.labels import LABELS
from tfgbv.predict.files import ScoreSpec, score_files


@pytest.mark.slow
def test_onnx_export_agrees_with_pytorch(tmp_path, tiny_run, monkeypatch):
    import sys

    from tfgbv.predict.onnx_backend import OnnxClassifier, export_onnx

    monkeypatch.setitem(sys.modules, "onnxscript", None)  # export must not need onnxscript (not a dependency)

    report = export_onnx(tiny_run, tmp_path / "onnx")
    assert report["variants"]["fp32"]["max_abs_prob_diff"] < 1e-4
    assert report["variants"]["fp32"]["label_agreement"] == 1.0
    assert report["variants"]["int8"]["max_abs_prob_diff"] < 0.1
    clf = OnnxClassifier.from_pretrained(tiny_run, variant="fp32", onnx_dir=tmp_path / "onnx")
    assert clf.predict(["салом"])[0]["scores"].keys() == set(LABELS)
    assert json.loads((tmp_path / "onnx" / "agreement.json").read_text())["variants"]["fp32"]["label_agreement"] == 1.0
    src = tmp_path / "in.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": str(i), "text": f"Ту бешарм ҳастӣ {i}"}, ensure_ascii=False) + "\n" for i in range(20)
        ),
        encoding="utf-8",
    )
    summary = score_files(clf, [str(src)], tmp_path / "o.parquet", ScoreSpec(quiet=True))
    assert summary["output_rows"] == 20 and summary["precision"] == "onnx-fp32"
    assert pq.read_schema(tmp_path / "o.parquet").names[:5] == ["id"] + [f"p_{lab}" for lab in LABELS]
