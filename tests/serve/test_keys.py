"""API keys: required when configured (key= query or Bearer header), compared in constant time, refused-to-start
without them beyond loopback; texts and keys never reach the INFO log."""

from __future__ import annotations

import logging
import sys

import httpx
import pytest

from tfgbv.serve.keys import key_ok, load_keys
from tfgbv.serve.server import BackgroundServer
from tfgbv.serve.spec import ServeError, ServeSpec, is_loopback

KEY = "k-3f9a-secret"
BODY = {"comment": {"text": "Секретный текст комментария"}, "requestedAttributes": {"INSULT": {}}}


@pytest.fixture(scope="module")
def url(tmp_path_factory, tiny_scorer):
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text(f"# serving keys\n{KEY}\nother-key\n", encoding="utf-8")
    spec = ServeSpec(port=0, api_keys_file=str(keys), api_keys_env="TFGBV_TEST_NO_SUCH_VARIABLE")
    with BackgroundServer(spec, tiny_scorer) as url:
        yield url


def test_scoring_needs_a_key_by_query_or_bearer_header(url):
    analyze = f"{url}/v1alpha1/comments:analyze"
    missing = httpx.post(analyze, json=BODY)
    assert missing.status_code == 401 and missing.json()["error"]["status"] == "UNAUTHENTICATED"
    assert httpx.post(analyze, json=BODY, params={"key": "wrong"}).status_code == 403
    assert httpx.post(analyze, json=BODY, params={"key": KEY}).status_code == 200
    assert httpx.post(analyze, json=BODY, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert (
        httpx.post(f"{url}/v1/score", json={"texts": ["x"]}, headers={"Authorization": "Bearer x"}).status_code == 403
    )
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/healthz").status_code == 200 and httpx.get(f"{url}/readyz").status_code == 200


def test_texts_and_keys_stay_out_of_the_info_log(url, caplog):
    with caplog.at_level(logging.INFO):
        r = httpx.post(f"{url}/v1alpha1/comments:analyze", json=BODY, params={"key": KEY})
        httpx.post(f"{url}/v1alpha1/comments:analyze", json={**BODY, "languages": ["xx"]}, params={"key": KEY})
    assert r.status_code == 200
    server_log = "\n".join(rec.getMessage() for rec in caplog.records if not rec.name.startswith("httpx"))  # not ours
    assert "POST /v1alpha1/comments:analyze 200" in server_log  # the access line is there ...
    assert KEY not in server_log and "Секретный" not in server_log  # ... without the key or the text


def test_binding_beyond_loopback_needs_keys(monkeypatch):
    with pytest.raises(ServeError, match="host=0.0.0.0 reaches beyond this machine"):
        load_keys(ServeSpec(host="0.0.0.0", api_keys_env="TFGBV_TEST_NO_SUCH_VARIABLE"))
    monkeypatch.setenv("TFGBV_TEST_KEYS", f" {KEY} , second ")
    keys = load_keys(ServeSpec(host="0.0.0.0", api_keys_env="TFGBV_TEST_KEYS"))
    assert len(keys) == 2 and key_ok(KEY, keys) and key_ok("second", keys) and not key_ok("secon", keys)
    assert not key_ok(None, keys)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.org")


def test_an_empty_key_file_is_an_error(tmp_path):
    empty = tmp_path / "keys.txt"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")
    with pytest.raises(ServeError, match="holds no key"):
        load_keys(ServeSpec(api_keys_file=str(empty)))
    with pytest.raises(ServeError, match="cannot read"):
        load_keys(ServeSpec(api_keys_file=str(tmp_path / "missing.txt")))


def test_tfgbv_serve_refuses_a_public_bind_without_keys(monkeypatch, capsys):
    from tfgbv.cli.serve import serve

    argv = ["tfgbv-serve", "host=0.0.0.0", "model_dir=nowhere", "api_keys_env=TFGBV_TEST_NO_SUCH_VARIABLE"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_:
        serve()
    assert exit_.value.code == 2 and "give API keys" in capsys.readouterr().err


def test_bad_serve_options_are_named():
    with pytest.raises(ServeError, match="max_wait_ms must be a non-negative number.*engine must be local or ray"):
        ServeSpec(max_wait_ms=-1, engine="spark")
