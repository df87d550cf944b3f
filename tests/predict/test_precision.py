"""bf16=auto: measured once per machine, cached, reused; the measurement keeps bf16 only if faster and agreeing."""

import json

import numpy as np
import pytest

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
    # The agreement itself is the next test's business: a tiny random model sits near its thresholds, so bf16 flips
    # a varying share of its labels (0.75 to 1.0 seen, depending on the CPU's bf16 support and thread count).
    assert entry["bf16"] == first and 0 <= entry["label_agreement"] <= 1 and entry["fp32_texts_per_s"] > 0


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


# ----------------------------------------------------------------------------- issue 26.4 / 27.20: cost and cache


def _fake_entry(bf16: bool = True) -> dict:
    return {"bf16": bf16, "fp32_texts_per_s": 10.0, "bf16_texts_per_s": 20.0, "label_agreement": 1.0}


def test_small_inputs_never_pay_for_the_bf16_measurement(tiny_run, tmp_path, monkeypatch):
    def never(*_a, **_k):
        raise AssertionError("8 rows must not trigger a timing of fp32 against bf16")

    monkeypatch.setattr(precision, "measure_precision", never)
    assert precision.choose_bf16(tiny_run, cache=tmp_path, rows=8) is False
    assert not (tmp_path / precision.CHOICE_FILE).exists()  # nothing cached: a large run still measures later


def test_predict_cli_on_a_few_rows_scores_without_measuring(tiny_run, tmp_path, monkeypatch, capsys):
    """`tfgbv-predict` with the default bf16=auto on an 8-row file once took 45 s measuring (issue 26.4)."""
    from tests.cli.test_errors import run_cli
    from tfgbv.cli.scoring import predict

    def never(*_a, **_k):
        raise AssertionError("8 rows must not trigger a timing of fp32 against bf16")

    monkeypatch.setattr(precision, "measure_precision", never)
    monkeypatch.setenv("TFGBV_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "a.csv"
    src.write_text("id,text\n" + "".join(f"{i},ты дура {i}\n" for i in range(8)), encoding="utf-8")
    argv = ["tfgbv-predict", f"model_dir={tiny_run}", f"input={src}", f"output={tmp_path / 'o.jsonl'}", "quiet=true"]
    code, err = run_cli(predict, argv, monkeypatch, capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "o.jsonl.summary.json").read_text())
    assert summary["scored_rows"] == 8 and summary["precision"] == "fp32"


def test_measurement_is_the_best_of_several_passes_and_logs_its_duration(tiny_run, tmp_path, monkeypatch, caplog):
    import logging

    calls = []

    class Counting:
        def predict_proba(self, texts):
            calls.append(len(texts))
            return np.zeros((len(texts), 4))

    speed, _ = precision._texts_per_s(Counting(), ["x"] * 100)
    assert calls == [64] + [100] * precision.TIMING_REPEATS and speed > 0  # a warm-up, then the timed passes
    monkeypatch.setattr(precision, "measure_precision", lambda *a, **k: _fake_entry())
    with caplog.at_level(logging.INFO, logger="tfgbv.predict.precision"):
        precision.choose_bf16(tiny_run, cache=tmp_path, rows=10**6)
    assert "measured in" in caplog.text
    assert "seconds" in json.loads((tmp_path / precision.CHOICE_FILE).read_text())[machine_key()]


def test_remeasure_replaces_the_cached_choice(tiny_run, tmp_path, monkeypatch):
    precision.record_choice(_fake_entry(bf16=True), cache=tmp_path)
    monkeypatch.setattr(precision, "measure_precision", lambda *a, **k: _fake_entry(bf16=False))
    assert precision.choose_bf16(tiny_run, cache=tmp_path) is True  # cached
    assert precision.choose_bf16(tiny_run, cache=tmp_path, refresh=True) is False  # measured again
    assert precision.choose_bf16(tiny_run, cache=tmp_path) is False  # and that is the cached choice now


@pytest.mark.parametrize("content", ["[]", "{not json", json.dumps({"@key": []}), json.dumps({"@key": {"bf16": 1}})])
def test_corrupt_choice_cache_is_ignored_with_a_warning_and_rebuilt(content, tiny_run, tmp_path, monkeypatch, caplog):
    import logging

    (tmp_path / precision.CHOICE_FILE).write_text(content.replace("@key", machine_key()), encoding="utf-8")
    monkeypatch.setattr(precision, "measure_precision", lambda *a, **k: _fake_entry())
    with caplog.at_level(logging.WARNING, logger="tfgbv.predict.precision"):
        assert precision.choose_bf16(tiny_run, cache=tmp_path) is True
    assert "measured again" in caplog.text
    saved = json.loads((tmp_path / precision.CHOICE_FILE).read_text(encoding="utf-8"))
    assert saved[machine_key()]["bf16"] is True
