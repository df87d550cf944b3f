"""docs/persian_view: the report renders measurements with and without the keyboard-restoration arm, and the
restoration speed is measured on the same text preparation the models use."""

from __future__ import annotations

import json

from tests.helpers import REPO
from tfgbv.keyboard_restore import KeyboardRestorer
from tfgbv.models.build import TextPrep
from tfgbv.persian_view import WordLanguage
from tfgbv.report.persian_view import render, restoration_speed

TAJIK = ["ту", "бешарм", "ҳастӣ", "ҳама", "медонанд", "модарат"] * 3
RUSSIAN = ["это", "просто", "ужас", "ты", "что", "она"] * 3


def test_restoration_speed_is_measured_fresh_then_warm_on_a_restoring_preparation():
    made = []

    def fresh():
        made.append(KeyboardRestorer(WordLanguage.fit(TAJIK, RUSSIAN, min_count=1), {"хама": "ҳама"}))
        return made[-1]

    out = restoration_speed(TextPrep(), fresh, ["ту бешарм хасти, хама медонанд"] * 20)
    assert len(made) == 1 and out["cold"] > 0 and out["warm"] > 0


def test_report_renders_measurements_from_before_the_restoration_arm_and_with_it():
    result = json.loads((REPO / "docs" / "persian_view.json").read_text(encoding="utf-8"))
    result["speed"].pop("restoration", None)
    result["speed"].get("scoring", {}).pop("with_restoration", None)
    assert "keyboard restoration instead" not in render(result)
    result["speed"]["restoration"] = {"cold": 1234.4, "warm": 5678.9}
    result["speed"]["scoring"] = {**result["speed"]["scoring"], "with_restoration": 40.0, "restoration_ratio": 0.95}
    md = render(result)
    assert "With keyboard restoration instead of the view: 1234 on a fresh restorer, 5679 warm." in md
    assert "40.0 texts/s, **0.950** of the throughput without either." in md
