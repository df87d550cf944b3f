"""One real uvicorn server per test module, on a free 127.0.0.1 port, scoring with the session's tiny trained run."""

from __future__ import annotations

import pytest

from tfgbv.predict.transformer import Classifier
from tfgbv.serve.scoring import TextScorer


@pytest.fixture(scope="session")
def tiny_classifier(tiny_run) -> Classifier:
    return Classifier.from_pretrained(tiny_run)  # fp32, as the servers in these tests score


@pytest.fixture(scope="session")
def tiny_scorer(tiny_classifier) -> TextScorer:
    return TextScorer(tiny_classifier)
