"""bf16=auto: measured once per machine, cached, reused; the measurement keeps bf16 only if faster and agreeing."""

import json

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
