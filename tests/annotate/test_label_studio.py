"""The labelling config parses and has the four labels, unsure, a note and the guidelines link; tasks carry our id,
masked text and the model's pre-annotation."""

import xml.etree.ElementTree as ET

from tfgbv.annotate.label_studio import labeling_config, make_task
from tfgbv.labels import LABELS


def test_config_is_valid_xml_with_labels_unsure_note_and_guidelines():
    xml = labeling_config("https://example.org/guidelines?a=1&b=2")
    root = ET.fromstring(xml)
    choices = {c.get("name"): c for c in root.iter("Choices")}
    assert [c.get("value") for c in choices["labels"].iter("Choice")] == list(LABELS)
    assert choices["labels"].get("choice") == "multiple" and choices["labels"].get("toName") == "text"
    assert [c.get("value") for c in choices["unsure"].iter("Choice")] == ["unsure"]
    assert root.find("TextArea").get("name") == "note"
    link = root.find("HyperText").get("value")
    assert 'href="https://example.org/guidelines?a=1&amp;b=2"' in link


def test_task_masks_pii_and_carries_predictions():
    item = {
        "id": "c9",
        "text": "Её адрес: ул. Рудаки, д. 5, кв. 12, звоните +992 93 555 12 34",
        "lang": "ru",
        "stratum": "ru/doxxing",
        "rank": 0,
        "scores": {"insult": 0.1, "shaming": 0.2, "threat": 0.1, "doxxing": 0.9},
    }
    thr = dict.fromkeys(LABELS, 0.5)
    task = make_task(item, thr, "tiny-abc")
    assert task["data"]["id"] == "c9" and "<PHONE>" in task["data"]["text"] and "555" not in task["data"]["text"]
    assert "<ADDRESS>" in task["data"]["text"]
    pred = task["predictions"][0]
    assert pred == {
        "model_version": "tiny-abc",
        "score": 0.9,
        "result": [{"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": ["doxxing"]}}],
    }
    assert "predictions" not in make_task(item, thr, "tiny-abc", predictions=False)
    assert make_task(item, thr, None, mask=False)["data"]["text"] == item["text"]
