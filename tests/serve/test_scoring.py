"""The micro-batcher (batches, limits, failures, time-outs) and sentence spans, without a model; a slow model gets a
504 within request_timeout_s and a full queue a 429, and the server serves on."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from tfgbv.serve.scoring import MicroBatcher, QueueFull, Scored, sentence_spans
from tfgbv.serve.server import BackgroundServer
from tfgbv.serve.spec import ServeSpec


def test_sentence_spans_trim_and_skip_empty_sentences():
    text = "  Салом!  Ту кистӣ?\n\n... Хайр"
    assert [text[b:e] for b, e in sentence_spans(text)] == ["Салом!", "Ту кистӣ?", "Хайр"]
    assert sentence_spans("без точки") == [(0, 9)] and sentence_spans("?!") == []


def _run(coro):
    return asyncio.run(coro)


def test_concurrent_submits_share_batches_within_the_limits():
    calls: list[list[str]] = []

    def score(texts):
        calls.append(list(texts))
        return [t.upper() for t in texts]

    async def main():
        b = MicroBatcher(score, max_texts=4, max_chars=1000, max_wait_s=0.05)
        b.start()
        results = await asyncio.gather(*(b.submit([f"t{i}"]) for i in range(6)), b.submit(["a", "b", "c", "d", "e"]))
        await b.stop()
        return results

    results = _run(main())
    assert results == [[f"T{i}"] for i in range(6)] + [["A", "B", "C", "D", "E"]]
    assert [len(c) for c in calls] == [4, 2, 5]  # full batches; the 5-text request alone (larger than max_texts)


def test_a_batch_closes_at_a_pause_in_arrivals_not_at_the_maximum_wait():
    calls: list[list[str]] = []

    def score(texts):
        calls.append(list(texts))
        return list(texts)

    async def main():
        # gap 0.3 s, maximum wait 30 s: arrivals 20 ms apart join one batch; a pause of 1.5 s closes it
        b = MicroBatcher(score, max_texts=64, max_chars=10_000, max_wait_s=30, gap_s=0.3)
        b.start()

        async def send(i: int, delay: float):
            await asyncio.sleep(delay)
            return await b.submit([f"t{i}"])

        results = await asyncio.gather(*(send(i, 0.02 * i) for i in range(5)), send(5, 1.5))
        await b.stop()
        return results

    started = time.monotonic()
    results = _run(main())
    assert results == [[f"t{i}"] for i in range(6)]
    assert calls == [["t0", "t1", "t2", "t3", "t4"], ["t5"]]
    assert time.monotonic() - started < 25  # the lone last request did not wait the 30 s maximum


def test_the_arrival_gap_never_exceeds_the_maximum_wait():
    assert MicroBatcher(lambda t: t, max_wait_s=0.01, gap_s=5).gap_s == 0.01
    assert MicroBatcher(lambda t: t, max_wait_s=0.01).gap_s == 0.01


def test_a_failing_batch_fails_its_requests_and_the_batcher_goes_on():
    def score(texts):
        if "boom" in texts:
            raise RuntimeError("model failed")
        return texts

    async def main():
        b = MicroBatcher(score, max_texts=1, max_wait_s=0)
        b.start()
        with pytest.raises(RuntimeError, match="model failed"):
            await b.submit(["boom"])
        ok = await b.submit(["fine"])
        await b.stop()
        return ok

    assert _run(main()) == ["fine"]


def test_a_timed_out_request_is_left_out_and_a_full_queue_refuses():
    seen: list[str] = []
    gate = threading.Event()

    def score(texts):
        gate.wait(5)
        seen.extend(texts)
        return texts

    async def main():
        b = MicroBatcher(score, max_texts=1, max_wait_s=0, max_queue_texts=3)
        b.start()
        first = asyncio.ensure_future(b.submit(["first"]))  # occupies the model
        await asyncio.sleep(0.05)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(b.submit(["late"]), 0.05)
        waiting = asyncio.ensure_future(b.submit(["x", "y"]))  # "late" still counts until the batcher drops it
        await asyncio.sleep(0.01)
        with pytest.raises(QueueFull):
            await b.submit(["z"])
        gate.set()
        assert await first == ["first"] and await waiting == ["x", "y"]
        await b.stop()

    _run(main())
    assert "late" not in seen


class SlowScorer:
    """Stands in for TextScorer: every batch takes `delay` seconds."""

    labels = ["insult", "shaming", "threat", "doxxing"]
    thresholds = dict.fromkeys(labels, 0.5)
    model_id = model_version = "slow-test"

    def __init__(self, delay: float):
        self.delay = delay

    def problem(self, text):
        return None if text.strip() else "empty text"

    def score(self, texts):
        time.sleep(self.delay)
        return [Scored(dict.fromkeys(self.labels, 0.1), [], False) for _ in texts]


def test_slow_scoring_is_a_504_and_the_server_serves_on():
    spec = ServeSpec(port=0, request_timeout_s=0.3, max_wait_ms=0)
    scorer = SlowScorer(delay=1.0)
    with BackgroundServer(spec, scorer) as url:
        r = httpx.post(f"{url}/v1/score", json={"texts": ["a"]}, timeout=10)
        assert r.status_code == 504 and r.json()["error"]["status"] == "DEADLINE_EXCEEDED"
        scorer.delay = 0
        time.sleep(1.0)  # the batch already running finishes
        assert httpx.post(f"{url}/v1/score", json={"texts": ["a"]}, timeout=10).status_code == 200
