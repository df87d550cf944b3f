"""The service over real HTTP: Perspective's shapes, attributes, thresholds, spans and errors; scores equal the
Classifier's; concurrent requests batched without mixing answers; bad input answered 4xx while the server serves on."""

from __future__ import annotations

import concurrent.futures
import re

import httpx
import numpy as np
import pytest

from tfgbv.predict.files import ScoreSpec, score_chunk
from tfgbv.serve.server import BackgroundServer
from tfgbv.serve.spec import ServeSpec

ANALYZE = "/v1alpha1/comments:analyze"
TEXTS = [
    "Ты дура и никто тебя не уважает.",
    "Салом, ҳамааш хуб аст?",
    "Я знаю твой адрес и телефон, жди гостей",
    "Хорошая погода сегодня",
]


@pytest.fixture(scope="module")
def url(tiny_run):
    # the server loads the run itself (spec.model_dir), as tfgbv-serve does; fp32 so scores equal Classifier's
    spec = ServeSpec(model_dir=str(tiny_run), port=0, bf16=False, max_wait_ms=20)
    with BackgroundServer(spec) as url:
        yield url


@pytest.fixture(scope="module")
def client(url):
    with httpx.Client(base_url=url, timeout=30) as c:
        yield c


def analyze(client, text, attributes=("INSULT",), **extra):
    body = {"comment": {"text": text}, "requestedAttributes": {a: {} for a in attributes}, **extra}
    return client.post(ANALYZE, json=body)


def test_analyze_answers_in_perspectives_shape(client, tiny_classifier):
    r = analyze(client, TEXTS[0], ("INSULT", "THREAT", "SHAMING", "DOXXING", "TOXICITY"), clientToken="t-1")
    assert r.status_code == 200, r.text
    body = r.json()
    scores = {a: s["summaryScore"]["value"] for a, s in body["attributeScores"].items()}
    assert set(scores) == {"INSULT", "THREAT", "SHAMING", "DOXXING", "TOXICITY"}
    assert all(s["summaryScore"]["type"] == "PROBABILITY" for s in body["attributeScores"].values())
    assert "spanScores" not in body["attributeScores"]["INSULT"]
    assert scores["TOXICITY"] == max(scores[a] for a in ("INSULT", "THREAT", "SHAMING", "DOXXING"))
    proba = tiny_classifier.predict_proba([TEXTS[0]])[0]
    for j, label in enumerate(tiny_classifier.labels):
        assert scores[label.upper()] == pytest.approx(float(proba[j]), abs=1e-5)
    assert body["languages"] == ["ru"] and body["detectedLanguages"] == ["ru"] and body["clientToken"] == "t-1"


def test_requested_languages_are_echoed_and_tajik_is_detected(client):
    body = analyze(client, TEXTS[1]).json()
    assert body["detectedLanguages"] == ["tg"] and body["languages"] == ["tg"]
    body = analyze(client, TEXTS[1], languages=["tg-Cyrl"], doNotStore=True).json()
    assert body["languages"] == ["tg-Cyrl"]


def test_native_scores_equal_batch_scoring(client, tiny_classifier):
    r = client.post("/v1/score", json={"texts": TEXTS})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = [{"id": str(i), "text": t} for i, t in enumerate(TEXTS)]
    expected, _ = score_chunk(tiny_classifier, rows, ScoreSpec(), "x")
    assert body["model_id"] == tiny_classifier.model_id and body["model_version"] in tiny_classifier.model_id
    for got, want in zip(body["results"], expected):
        assert got["scores"] == pytest.approx({lab: want[f"p_{lab}"] for lab in tiny_classifier.labels}, abs=1e-5)
        assert ",".join(got["labels"]) == want["labels"] and got["needs_review"] == want["needs_review"]
    assert body["thresholds"] == pytest.approx(dict(zip(tiny_classifier.labels, tiny_classifier.thresholds.tolist())))


def test_score_threshold_leaves_out_attributes_below_it(client):
    full = analyze(client, TEXTS[0], ("INSULT", "THREAT")).json()["attributeScores"]
    insult = full["INSULT"]["summaryScore"]["value"]
    body = {
        "comment": {"text": TEXTS[0]},
        "requestedAttributes": {"INSULT": {"scoreThreshold": insult}, "THREAT": {"scoreThreshold": 1.0}},
    }
    got = client.post(ANALYZE, json=body).json()["attributeScores"]
    assert set(got) == ({"INSULT", "THREAT"} if full["THREAT"]["summaryScore"]["value"] >= 1.0 else {"INSULT"})


def test_span_annotations_score_each_sentence(client, tiny_classifier):
    text = "Первое предложение.  Второе?! Третье\nчетвёртое"
    body = analyze(client, text, ("INSULT", "TOXICITY"), spanAnnotations=True).json()
    spans = body["attributeScores"]["INSULT"]["spanScores"]
    assert [text[s["begin"] : s["end"]] for s in spans] == ["Первое предложение.", "Второе?!", "Третье", "четвёртое"]
    sentences = [text[s["begin"] : s["end"]] for s in spans]
    proba = tiny_classifier.predict_proba(sentences)
    j = tiny_classifier.labels.index("insult")
    assert [s["score"]["value"] for s in spans] == pytest.approx(proba[:, j].tolist(), abs=1e-5)
    toxicity = [s["score"]["value"] for s in body["attributeScores"]["TOXICITY"]["spanScores"]]
    assert toxicity == pytest.approx(proba.max(axis=1).tolist(), abs=1e-5)
    one = analyze(client, "Одно предложение", spanAnnotations=True).json()["attributeScores"]["INSULT"]
    assert one["spanScores"] == [{"begin": 0, "end": 16, "score": one["summaryScore"]}]


def _error(r, code: int, field: str) -> dict:
    assert r.status_code == code, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"].startswith(f"{field}: ")
    assert {"field": field, "description": err["message"][len(field) + 2 :]} in err["details"][0]["fieldViolations"]
    return err


def test_unknown_attribute_and_unsupported_language_are_perspective_400s(client):
    err = _error(analyze(client, TEXTS[0], ("INSULT", "PROFANITY")), 400, "requestedAttributes.PROFANITY")
    assert err["status"] == "INVALID_ARGUMENT" and "TOXICITY" in err["message"]
    err = _error(analyze(client, TEXTS[0], languages=["ru", "de"]), 400, "languages[1]")
    assert "does not support request languages: de" in err["message"]
    assert err["details"][1]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"


GOOD = b'{"comment": {"text": "x"}, "requestedAttributes": {"INSULT": {}}}'
BAD_BODIES = {
    "malformed JSON": (b'{"comment": ', 400, "body"),
    "not an object": (b"[1, 2]", 400, "body"),
    "invalid UTF-8": (GOOD.replace(b'"x"', b'"\xff\xfe"'), 400, "body"),
    "lone surrogate": (GOOD.replace(b'"x"', b'"\\ud800"'), 400, "comment.text"),
    "empty text": (GOOD.replace(b'"x"', b'"  "'), 400, "comment.text"),
    "text not a string": (GOOD.replace(b'"x"', b"42"), 400, "comment.text"),
    "no comment": (b'{"requestedAttributes": {"INSULT": {}}}', 400, "comment"),
    "no attributes": (b'{"comment": {"text": "x"}, "requestedAttributes": {}}', 400, "requestedAttributes"),
    "threshold a string": (
        GOOD.replace(b"{}}", b'{"scoreThreshold": "high"}}'),
        400,
        "requestedAttributes.INSULT.scoreThreshold",
    ),
    "threshold above 1": (
        GOOD.replace(b"{}}", b'{"scoreThreshold": 1.5}}'),
        400,
        "requestedAttributes.INSULT.scoreThreshold",
    ),
    "threshold NaN": (
        GOOD.replace(b"{}}", b'{"scoreThreshold": NaN}}'),
        400,
        "requestedAttributes.INSULT.scoreThreshold",
    ),
    "score type": (
        GOOD.replace(b"{}}", b'{"scoreType": "STD_DEV_SCORE"}}'),
        400,
        "requestedAttributes.INSULT.scoreType",
    ),
    "HTML comment": (GOOD.replace(b'"x"}', b'"x", "type": "HTML"}'), 400, "comment.type"),
    "unknown field": (GOOD[:-1] + b', "colour": 1}', 400, "colour"),
    "languages not a list": (GOOD[:-1] + b', "languages": "ru"}', 400, "languages"),
    "doNotStore not a bool": (GOOD[:-1] + b', "doNotStore": "yes"}', 400, "doNotStore"),
    "over 20 KB": (GOOD.replace(b'"x"', b'"' + "ж".encode() * 10_241 + b'"'), 400, "comment.text"),
    "deeply nested": (b'{"context": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "body"),
    "over the body limit": (b'{"comment": {"text": "' + b"a" * 1_100_000 + b'"}}', 413, "body"),
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_input_is_a_4xx_naming_the_field_and_the_server_serves_on(client, name):
    body, code, field = BAD_BODIES[name]
    _error(client.post(ANALYZE, content=body, headers={"Content-Type": "application/json"}), code, field)
    assert analyze(client, TEXTS[0]).status_code == 200


@pytest.mark.parametrize(
    "body,field",
    [
        ({"texts": []}, "texts"),
        ({"texts": ["ok"] * 65}, "texts"),
        ({"texts": ["ok", ""]}, "texts[1]"),
        ({"texts": ["ok", None]}, "texts[1]"),
        ({"texts": "one text"}, "texts"),
        ({"text": ["x"]}, "texts"),
    ],
)
def test_native_bad_input_names_the_field(client, body, field):
    _error(client.post("/v1/score", json=body), 400, field)


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(url, client, tiny_classifier):
    texts = [f"{TEXTS[i % len(TEXTS)]} №{i}" for i in range(24)]
    expected = tiny_classifier.predict_proba(texts)
    before = _metric(client, "tfgbv_batch_texts_count")

    def one(i: int) -> list[float]:
        with httpx.Client(base_url=url, timeout=30) as c:
            r = analyze(c, texts[i], ("INSULT", "SHAMING", "THREAT", "DOXXING"), clientToken=str(i))
        assert r.status_code == 200 and r.json()["clientToken"] == str(i)
        scores = r.json()["attributeScores"]
        return [scores[lab.upper()]["summaryScore"]["value"] for lab in tiny_classifier.labels]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        got = list(pool.map(one, range(len(texts))))
    np.testing.assert_allclose(np.array(got), expected, atol=1e-5)
    batches = _metric(client, "tfgbv_batch_texts_count") - before
    assert batches < len(texts), f"{len(texts)} concurrent requests took {batches} model calls: nothing was batched"


def _metric(client, name: str) -> float:
    text = client.get("/metrics").text
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def test_health_readiness_metrics_and_docs(client, tiny_classifier):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "model_id": tiny_classifier.model_id}
    metrics = client.get("/metrics")
    assert 'tfgbv_requests_total{code="200",route="/v1alpha1/comments:analyze"}' in metrics.text
    schema = client.get("/openapi.json").json()
    assert "AnalyzeCommentRequest" in schema["components"]["schemas"]
    assert "requestBody" in schema["paths"]["/v1/score"]["post"]
    assert client.get("/nowhere").json()["error"]["status"] == "NOT_FOUND"


def test_docs_page_loads_swagger_ui_from_the_service_itself_not_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources  # nothing from another host
    for asset in sources:
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
    assert "swagger-ui-bundle.js" in page.text and client.get("/redoc").status_code == 404


def test_discovery_document_points_at_this_server(url, client):
    doc = client.get("/$discovery/rest", params={"version": "v1alpha1"}).json()
    assert doc["rootUrl"] == url + "/" and doc["name"] == "commentanalyzer"
    assert doc["resources"]["comments"]["methods"]["analyze"]["path"] == "v1alpha1/comments:analyze"
    assert client.get("/$discovery/rest", params={"version": "v2"}).status_code == 404


def test_googles_own_client_library_works_unchanged(url, tiny_classifier):
    discovery = pytest.importorskip("googleapiclient.discovery")
    service = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey="any-key",  # no keys configured on loopback: accepted and ignored
        discoveryServiceUrl=f"{url}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
    )
    body = {"comment": {"text": TEXTS[2]}, "requestedAttributes": {"THREAT": {}, "TOXICITY": {}}}
    response = service.comments().analyze(body=body).execute()
    j = tiny_classifier.labels.index("threat")
    value = response["attributeScores"]["THREAT"]["summaryScore"]["value"]
    assert value == pytest.approx(float(tiny_classifier.predict_proba([TEXTS[2]])[0, j]), abs=1e-5)
    errors = pytest.importorskip("googleapiclient.errors")
    with pytest.raises(errors.HttpError) as err:
        service.comments().analyze(body={**body, "requestedAttributes": {"SPAM": {}}}).execute()
    assert err.value.resp.status == 400 and "requestedAttributes.SPAM" in str(err.value)
