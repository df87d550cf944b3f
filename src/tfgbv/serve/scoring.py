"""Scoring for the service: the batch-scoring path (`tfgbv.predict.files.score_chunk`: same checks, windows,
thresholds and `needs_review`) behind an asyncio micro-batcher, so requests arriving together are scored in one call
on a worker thread and the event loop never waits on the model."""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from tfgbv.predict.base import model_identifier
from tfgbv.predict.files import ScoreSpec, check_row, score_chunk

log = logging.getLogger(__name__)

# A sentence ends at . ! ? … (any run of them) or a line break; the span excludes surrounding white space.
_SENTENCE = re.compile(r"[^.!?…\n]*(?:[.!?…]+|\n|$)")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(begin, end) character offsets of the sentences of `text`, white space trimmed, empty ones left out."""
    spans = []
    for m in _SENTENCE.finditer(text):
        begin, end = m.start(), m.end()
        while begin < end and text[begin].isspace():
            begin += 1
        while end > begin and text[end - 1].isspace():
            end -= 1
        if end > begin and any(ch.isalnum() for ch in text[begin:end]):
            spans.append((begin, end))
    return spans


@dataclass
class Scored:
    """One text's calibrated scores, the labels at or above their thresholds, and whether a person should look."""

    scores: dict[str, float]
    labels: list[str]
    needs_review: bool


class TextScorer:
    """A loaded classifier scoring lists of texts exactly as batch scoring does (tfgbv.predict.files.score_chunk)."""

    def __init__(self, clf, review_band: float = 0.1, max_chars: int = 20_480):
        self.clf = clf
        self.spec = ScoreSpec(review_band=review_band, max_chars=max_chars, quiet=True)
        self.labels: list[str] = list(clf.labels)
        self.thresholds = {lab: float(t) for lab, t in zip(self.labels, clf.thresholds)}
        self.model_id: str = clf.model_id
        meta, model_dir = getattr(clf, "meta", None), getattr(clf, "model_dir", None)
        # the model card's "Identifier" (weights, thresholds, temperatures); model_id adds the precision (-bf16, -int8)
        self.model_version = model_identifier(model_dir, meta) if meta is not None and model_dir else self.model_id

    def problem(self, text: str) -> str | None:
        """Why `text` cannot be scored (batch scoring's reject reasons: empty, not UTF-8, lone surrogate, too long)."""
        return check_row({"text": text}, self.spec)

    def score(self, texts: Sequence[str]) -> list[Scored]:
        rows = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
        good, bad = score_chunk(self.clf, rows, self.spec, "request")
        if bad:  # texts are checked before they are queued; this is a bug, not bad input
            raise RuntimeError(f"{len(bad)} text(s) were not scored: {bad[0]['reason']}")
        return [
            Scored(
                scores={lab: rec[f"p_{lab}"] for lab in self.labels},
                labels=[lab for lab in rec["labels"].split(",") if lab],
                needs_review=rec["needs_review"],
            )
            for rec in good
        ]


class QueueFull(RuntimeError):
    """More texts are waiting than the service takes (max_queue_texts)."""


@dataclass
class _Item:
    texts: list[str]
    future: asyncio.Future
    chars: int = field(init=False)

    def __post_init__(self) -> None:
        self.chars = sum(len(t) for t in self.texts)


class MicroBatcher:
    """Collects the texts of concurrent requests into batches of at most `max_texts` texts and `max_chars` characters
    (a request larger than that is a batch of its own) and scores each batch with `score` on one worker thread.
    A batch closes when it is full, when no request arrived for `gap_s`, or `max_wait_s` after it opened: clients that
    just got their answers send their next requests within a millisecond or two of each other, so waiting for a pause
    in arrivals (not a fixed time) merges them into one batch under load and costs a lone client only `gap_s`.
    `on_batch(n_texts, seconds)` is told about every batch."""

    def __init__(
        self,
        score: Callable[[list[str]], list[Any]],
        max_texts: int = 64,
        max_chars: int = 32_768,
        max_wait_s: float = 0.005,
        max_queue_texts: int = 4096,
        on_batch: Callable[[int, float], None] | None = None,
        gap_s: float | None = None,
    ):
        self._score, self.max_texts, self.max_chars = score, max_texts, max_chars
        self.max_wait_s, self.max_queue_texts, self._on_batch = max_wait_s, max_queue_texts, on_batch
        self.gap_s = max_wait_s if gap_s is None else min(gap_s, max_wait_s)
        self._items: collections.deque[_Item] = collections.deque()
        self.queued_texts = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tfgbv-score")  # one model call at a time
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        for item in self._items:
            if not item.future.done():
                item.future.set_exception(RuntimeError("the service is shutting down"))

    async def submit(self, texts: list[str]) -> list[Any]:
        """The scores of `texts`, in order, once their batch has been scored."""
        if self._wake is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        if self.queued_texts + len(texts) > self.max_queue_texts:
            raise QueueFull(f"{self.queued_texts} texts are waiting already (max_queue_texts={self.max_queue_texts})")
        item = _Item(list(texts), asyncio.get_running_loop().create_future())
        self._items.append(item)
        self.queued_texts += len(item.texts)
        self._wake.set()
        return await item.future  # cancelled with the request (time-out, client gone): the batch leaves it out

    async def _run(self) -> None:
        while True:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._fill()
            batch = self._take()
            live = [item for item in batch if not item.future.done()]
            if live:
                await self._score_batch(live)

    async def _fill(self) -> None:
        """Wait for more texts until a full batch is waiting, none arrived for gap_s, or max_wait_s has passed."""
        deadline = time.monotonic() + self.max_wait_s
        while self.queued_texts < self.max_texts and (left := deadline - time.monotonic()) > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), min(left, self.gap_s))
            except asyncio.TimeoutError:
                return

    def _take(self) -> list[_Item]:
        batch = [self._items.popleft()]  # at least one item, however large
        n, chars = len(batch[0].texts), batch[0].chars
        while self._items:
            nxt = self._items[0]
            if n + len(nxt.texts) > self.max_texts or chars + nxt.chars > self.max_chars:
                break
            batch.append(self._items.popleft())
            n, chars = n + len(nxt.texts), chars + nxt.chars
        self.queued_texts -= n
        return batch

    async def _score_batch(self, items: list[_Item]) -> None:
        texts = [t for item in items for t in item.texts]
        t0 = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._executor, self._score, texts)
        except Exception as err:  # the model failed: every waiting request hears it, the loop goes on
            log.exception("scoring a batch of %d texts failed", len(texts))
            for item in items:
                if not item.future.done():
                    item.future.set_exception(err)
            return
        if self._on_batch is not None:
            self._on_batch(len(texts), time.perf_counter() - t0)
        start = 0
        for item in items:
            part, start = results[start : start + len(item.texts)], start + len(item.texts)
            if not item.future.done():
                item.future.set_result(part)
