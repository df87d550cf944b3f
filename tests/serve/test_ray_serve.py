"""engine=ray: the same app on Ray Serve answers Perspective requests with the Classifier's scores."""

from __future__ import annotations

import socket

import httpx
import pytest

from tfgbv.serve.bench import _wait_ready
from tfgbv.serve.spec import ServeSpec


@pytest.mark.slow
@pytest.mark.e2e
def test_ray_serve_deployment_answers(tiny_run, tiny_classifier):
    pytest.importorskip("ray.serve")
    from tfgbv.serve.ray_serve import start_ray, stop_ray

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = ServeSpec(model_dir=str(tiny_run), port=port, bf16=False, replicas=1, num_cpus_per_replica=1)
    text = "Я знаю твой адрес, жди гостей"
    try:
        url = start_ray(spec)
        _wait_ready(url, timeout_s=180)
        body = {"comment": {"text": text}, "requestedAttributes": {"THREAT": {}, "TOXICITY": {}}, "clientToken": "r"}
        r = httpx.post(f"{url}/v1alpha1/comments:analyze", json=body, timeout=60)
        assert r.status_code == 200, r.text
        j = tiny_classifier.labels.index("threat")
        value = r.json()["attributeScores"]["THREAT"]["summaryScore"]["value"]
        assert value == pytest.approx(float(tiny_classifier.predict_proba([text])[0, j]), abs=1e-5)
        assert r.json()["clientToken"] == "r"
        bad = httpx.post(f"{url}/v1alpha1/comments:analyze", json={**body, "languages": ["fr"]}, timeout=60)
        assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("languages[0]: ")
    finally:
        stop_ray()
