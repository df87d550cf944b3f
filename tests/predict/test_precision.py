"""bf16=auto: measured once per machine, cached, reused; the measurement keeps bf16 only if faster and agreeing."""

import json

import numpy as np

import tfgbv.predict.precision as precision
from tfgbv.env import machine_key


def test_choice_is_measured_once_then_read_from_the_cache(tiny_run, tmp_path, monkeypatch):
    calls = []
    real = precision.measure_precision

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(precision, "measure_precision", counting)
    monkeypatch.setattr(precision, "probe_texts", lambda n=64: ["ты дура", "салом", "где она живёт?"] * 30)
    first = precision.choose_bf16(tiny_run, cache=tmp_path)
    second = precision.choose_bf16(tiny_run, cache=tmp_path)
    assert first == second and calls == [1]
    entry = json.loads((tmp_path / precision.CHOICE_FILE).read_text(encoding="utf-8"))[machine_key()]
    assert entry["bf16"] == first and entry["label_agreement"] > 0.9 and entry["fp32_texts_per_s"] > 0


def test_bf16_is_kept_only_when_faster_and_in_agreement(tiny_run, monkeypatch):
    texts = ["ты дура", "салом", "где она живёт?"] * 20
    speeds = iter([(100.0, None), (300.0, None)])
    real = precision._texts_per_s

    def fake(clf, t):
        _, prob = real(clf, t)
        return next(speeds)[0], prob

    monkeypatch.setattr(precision, "_texts_per_s", fake)
    entry = precision.measure_precision(tiny_run, texts, min_agreement=0.0)
    assert entry["bf16"] and entry["bf16_texts_per_s"] == 300.0
    speeds = iter([(300.0, None), (100.0, None)])
    assert not precision.measure_precision(tiny_run, texts, min_agreement=0.0)["bf16"]  # slower: fp32
    speeds = iter([(100.0, None), (300.0, None)])
    assert not precision.measure_precision(tiny_run, texts, min_agreement=1.01)["bf16"]  # disagrees: fp32


def test_other_machines_entries_are_kept(tmp_path):
    (tmp_path / precision.CHOICE_FILE).write_text(json.dumps({"other": {"bf16": False}}), encoding="utf-8")
    precision.record_choice({"bf16": True}, cache=tmp_path)
    saved = json.loads((tmp_path / precision.CHOICE_FILE).read_text(encoding="utf-8"))
    assert saved == {"other": {"bf16": False}, machine_key(): {"bf16": True}}


class _FakeClassifier:
    """Stands in for Classifier in measure_int8: scores a fixed answer per precision, records how it was loaded."""

    loaded: list = []
    probs: dict = {}

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.thresholds = np.array([0.5])

    @classmethod
    def from_pretrained(cls, model_dir, **kwargs):
        cls.loaded.append(kwargs)
        return cls(**kwargs)

    def predict_proba(self, texts):
        kind = "int8" if self.kwargs.get("int8") else "bf16" if self.kwargs.get("bf16") else "fp32"
        return self.probs[kind][: len(texts)]


def test_int8_is_kept_only_when_faster_than_compiled_bf16_and_in_agreement(monkeypatch):
    texts, calibration = ["a"] * 10, ["b"] * 4
    _FakeClassifier.loaded = []
    _FakeClassifier.probs = {
        "fp32": np.full((10, 1), 0.9),
        "bf16": np.full((10, 1), 0.9),
        "int8": np.full((10, 1), 0.9),
    }
    monkeypatch.setattr(precision, "Classifier", _FakeClassifier)
    speeds = iter([100.0, 300.0])
    monkeypatch.setattr(precision, "_texts_per_s", lambda clf, t: (next(speeds), clf.predict_proba(t)))
    entry = precision.measure_int8("run", texts, calibration)
    assert entry["int8"] and entry["int8_texts_per_s"] == 300.0 and entry["label_agreement"] == 1.0
    bf16_load, int8_load = _FakeClassifier.loaded[1], _FakeClassifier.loaded[2]
    assert bf16_load["compile"] and bf16_load["bf16"]  # int8 is compared with compiled bf16, what it replaces
    assert int8_load["int8"] and int8_load["calibration_texts"] == calibration
    speeds = iter([300.0, 100.0])
    assert not precision.measure_int8("run", texts, calibration)["int8"]  # slower
    _FakeClassifier.probs["int8"] = np.array([[0.1]] * 2 + [[0.9]] * 8)
    speeds = iter([100.0, 300.0])
    entry = precision.measure_int8("run", texts, calibration)
    assert not entry["int8"] and entry["label_agreement"] == 0.8  # faster but disagrees


def test_int8_choice_is_cached_per_machine_and_model(tiny_run, tmp_path, monkeypatch):
    calls = []

    def fake_measure(model_dir, texts, calibration, **kwargs):
        calls.append((len(texts), len(calibration)))
        return {"int8": True, "bf16_compiled_texts_per_s": 1.0, "int8_texts_per_s": 2.0, "label_agreement": 1.0}

    monkeypatch.setattr(precision, "measure_int8", fake_measure)
    assert precision.choose_int8(tiny_run, cache=tmp_path) and precision.choose_int8(tiny_run, cache=tmp_path)
    assert len(calls) == 1 and calls[0][1] == precision.PROBE_TEXTS  # calibrated on one set, checked on another
    saved = json.loads((tmp_path / precision.CHOICE_FILE).read_text(encoding="utf-8"))
    (key,) = saved
    assert key.startswith(machine_key()) and key == precision.int8_choice_key(tiny_run)
