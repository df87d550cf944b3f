"""The serving benchmark (`make bench-serve`): single-comment Perspective requests from a bounded asyncio/aiohttp load
generator on 127.0.0.1 at several concurrencies (throughput, p50/p95/p99 latency), against in-process batch scoring of
the same comments with the same model in the same run (the ratio), optionally Ray Serve with 1 vs 2 replicas.
Writes docs/serve_bench.{md,json}; every level stops after `requests` requests or at `time_limit_s`, whichever first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import multiprocessing
import os
import resource
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import aiohttp
import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from tfgbv.env import cpu_model, environment_info
from tfgbv.io import write_json, write_text
from tfgbv.predict.base import probe_texts
from tfgbv.report.bench import BenchSpec, prepare_model
from tfgbv.serve.app import Service
from tfgbv.serve.perspective import ATTRIBUTES
from tfgbv.serve.ray_serve import start_ray, stop_ray
from tfgbv.serve.server import serve_forever
from tfgbv.serve.spec import ServeSpec

log = logging.getLogger(__name__)
ANALYZE = "/v1alpha1/comments:analyze"


@dataclass
class BenchServeSpec:
    """Options of the serving benchmark (Hydra config `bench_serve.yaml`)."""

    model_dir: str | None = "runs/latest"  # null or missing: e5-small with a fresh untrained head (as `make bench`)
    n_texts: int = 512  # distinct comments (the bundled corpus), cycled through by the requests
    requests: int = 512  # requests per concurrency level
    concurrency: list[int] = field(default_factory=lambda: [1, 8, 32])
    warmup_requests: int = 32  # per level, untimed
    inprocess_repeats: int = 2  # in-process passes over the texts; the fastest is reported
    bf16: Any = "auto"
    num_threads: int | None = None
    max_batch_texts: int = 64
    max_wait_ms: float = 20.0
    batch_gap_ms: float = 5.0
    ray_replicas: list[int] = field(default_factory=list)  # e.g. [1, 2]: Ray Serve at the highest concurrency
    ray_cpus_per_replica: float = 1.0
    time_limit_s: float = 120.0  # per measurement at most
    out_md: str = "docs/serve_bench.md"
    out_json: str = "docs/serve_bench.json"

    def __post_init__(self) -> None:
        bad = [c for c in self.concurrency if not isinstance(c, int) or c < 1]
        if bad or not self.concurrency:
            raise ValueError(f"bench_serve: concurrency must be positive integers, got {self.concurrency!r}")
        for name in ("n_texts", "requests", "inprocess_repeats"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"bench_serve: {name} must be a positive integer, got {getattr(self, name)!r}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile_ms(latencies: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(latencies) * 1000, q)), 2) if latencies else float("nan")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _load(url: str, texts: Sequence[str], concurrency: int, n_requests: int, time_limit_s: float) -> dict:
    """`concurrency` clients sending one comment per request until `n_requests` are sent or the time is up.

    aiohttp (its HTTP parser is C): the load generator shares the machine's cores with the server, so its own cost
    per request is taken from the server. An httpx client spent about 4.5 ms of CPU per request here (0.18 of a core
    at 40 requests/s, 9% of a 2-core machine); `client_cpu_cores` reports what this one spent."""
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    deadline = time.monotonic() + time_limit_s
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            nonlocal errors
            while (i := next(counter)) < n_requests and time.monotonic() < deadline:
                body = {"comment": {"text": texts[i % len(texts)]}, "requestedAttributes": {a: {} for a in ATTRIBUTES}}
                t0 = time.perf_counter()
                async with client.post(ANALYZE, json=body) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t0)
                errors += r.status != 200

        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(seconds, 3),
        "throughput_rps": round(len(latencies) / seconds, 1),
        "p50_ms": _percentile_ms(latencies, 50),
        "p95_ms": _percentile_ms(latencies, 95),
        "p99_ms": _percentile_ms(latencies, 99),
        "client_cpu_cores": round(cpu / seconds, 3),
    }


def _wait_ready(url: str, timeout_s: float = 300.0, proc=None) -> None:
    """Until /readyz answers 200; fails at once when the server process `proc` died (e.g. a bad model_dir)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and not proc.is_alive():
            raise RuntimeError(f"the service for {url} exited (code {proc.exitcode}) before it was ready; see above")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the service on {url} did not become ready in {timeout_s:.0f} s")


def _batch_counts(url: str) -> tuple[float, float]:
    """(texts scored, model calls) so far, from the server's /metrics (tfgbv_batch_texts)."""
    counts = {"sum": 0.0, "count": 0.0}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            if sample.name in ("tfgbv_batch_texts_sum", "tfgbv_batch_texts_count"):
                counts[sample.name.rsplit("_", 1)[1]] = sample.value
    return counts["sum"], counts["count"]


def _measure(
    url: str, texts: list[str], spec: BenchServeSpec, levels: Sequence[int], batches: bool = True
) -> list[dict]:
    """Each level, warmed up first; `batches`: also the mean texts per model call, read from /metrics (one process:
    behind Ray, /metrics answers for whichever replica gets the request)."""
    out = []
    for c in levels:
        asyncio.run(_load(url, texts, c, spec.warmup_requests, spec.time_limit_s))
        before = _batch_counts(url) if batches else None
        out.append(asyncio.run(_load(url, texts, c, spec.requests, spec.time_limit_s)))
        if before is not None:
            after = _batch_counts(url)
            out[-1]["texts_per_model_call"] = round((after[0] - before[0]) / max(1.0, after[1] - before[1]), 1)
        log.info("concurrency %d: %.1f requests/s, p99 %.0f ms", c, out[-1]["throughput_rps"], out[-1]["p99_ms"])
    return out


def _in_process(scorer, texts: list[str], repeats: int) -> dict:
    """Batch scoring of all texts in one call (tfgbv.predict.files.score_chunk, as tfgbv-predict scores)."""
    scorer.score(texts[:64])  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scorer.score(texts)
        times.append(time.perf_counter() - t0)
    best = min(times)
    log.info("in-process batch scoring: %.1f texts/s", len(texts) / best)
    return {"texts": len(texts), "seconds": round(best, 3), "throughput_tps": round(len(texts) / best, 1)}


def _served(serve_spec: ServeSpec, texts: list[str], spec: BenchServeSpec) -> list[dict]:
    """The local engine in a child process (its own interpreter: the load generator does not share its GIL)."""
    serve_spec = dataclasses.replace(serve_spec, port=_free_port(), log_level="warning")
    proc = multiprocessing.get_context("spawn").Process(target=serve_forever, args=(serve_spec,), daemon=True)
    proc.start()
    try:
        url = f"http://127.0.0.1:{serve_spec.port}"
        _wait_ready(url, proc=proc)
        return _measure(url, texts, spec, spec.concurrency)
    finally:
        proc.terminate()
        proc.join(timeout=30)


def _ray(serve_spec: ServeSpec, texts: list[str], spec: BenchServeSpec) -> list[dict]:
    out = []
    for replicas in spec.ray_replicas:
        rs = dataclasses.replace(
            serve_spec,
            engine="ray",
            replicas=replicas,
            num_cpus_per_replica=spec.ray_cpus_per_replica,
            port=_free_port(),
        )
        try:
            url = start_ray(rs)
            _wait_ready(url)
            res = _measure(url, texts, spec, [max(spec.concurrency)], batches=False)[0]
        finally:
            stop_ray()
        out.append({"replicas": replicas, "cpus_per_replica": spec.ray_cpus_per_replica, **res})
    return out


def run_serve_bench(spec: BenchServeSpec, root: str | Path = ".", model_spec=None) -> dict[str, Any]:
    """`model_spec`: the architecture benchmarked (fresh head) when `spec.model_dir` is null or does not exist."""
    model_dir, described = prepare_model(BenchSpec(model_dir=spec.model_dir), model_spec, Path(root))
    serve_spec = ServeSpec(
        model_dir=str(model_dir),
        bf16=spec.bf16,
        num_threads=spec.num_threads,
        max_batch_texts=spec.max_batch_texts,
        max_wait_ms=spec.max_wait_ms,
        batch_gap_ms=spec.batch_gap_ms,
        max_queue_texts=max(4096, 4 * max(spec.concurrency)),
    )
    texts = probe_texts(spec.n_texts)
    load_at_start = round(os.getloadavg()[0], 2)
    scorer = Service(serve_spec).load()
    # the precision bf16=auto chose here, given explicitly to every server (a Ray replica with fewer threads would
    # otherwise time both precisions again before it answers)
    serve_spec = dataclasses.replace(serve_spec, bf16=bool(getattr(scorer.clf, "bf16", False)))
    meta = getattr(scorer.clf, "meta", {}) or {}
    model = {"model_id": scorer.model_id, "short_name": meta.get("short_name"), "described": described}
    before = _in_process(scorer, texts, spec.inprocess_repeats)
    served = _served(serve_spec, texts, spec)
    ray = _ray(serve_spec, texts, spec) if spec.ray_replicas else []
    after = _in_process(scorer, texts, spec.inprocess_repeats)
    # the faster of the two in-process measurements (before and after serving) is the reference: other work on the
    # machine can only slow a measurement down, so this keeps the ratio from flattering the service
    in_process = {**max(before, after, key=lambda r: r["throughput_tps"]), "before": before, "after": after}
    for row in served:
        row["ratio_to_in_process"] = round(row["throughput_rps"] / in_process["throughput_tps"], 3)
    for row in ray:
        row["ratio_to_in_process"] = round(row["throughput_rps"] / in_process["throughput_tps"], 3)
    top = max(served, key=lambda r: r["concurrency"])
    summary = {
        "model": model,
        "in_process_texts_per_s": in_process["throughput_tps"],
        f"served_rps_at_{top['concurrency']}": top["throughput_rps"],
        f"ratio_at_{top['concurrency']}": top["ratio_to_in_process"],
        "target_ratio": 0.7,
        "meets_target": top["ratio_to_in_process"] >= 0.7,
    }
    result = {
        "spec": dataclasses.asdict(spec),
        "machine": {
            "cpu": cpu_model(),
            **{k: environment_info()[k] for k in ("cpu_count", "bf16_supported")},
            # other work on the machine skews every figure
            "load_average_1m": {"start": load_at_start, "end": round(os.getloadavg()[0], 2)},
        },
        "model": model,
        "in_process": in_process,
        "served": served,
        "ray": ray,
        "summary": summary,
    }
    root = Path(root)
    write_json(root / spec.out_json, result)
    write_text(root / spec.out_md, render_markdown(result))
    return result


def render_markdown(res: dict[str, Any]) -> str:
    m, ip, load = res["model"], res["in_process"], res["machine"]["load_average_1m"]
    lines = [
        "# Serving benchmark",
        "",
        "Written by `make bench-serve` (scripts/bench_serve.py, tfgbv.serve.bench); do not edit by hand.",
        "",
        f"- Machine: {res['machine']['cpu']}, {res['machine']['cpu_count']} torch threads; 1-minute load average "
        f"{load['start']} at the start, {load['end']} at the end (other work on the machine skews every figure).",
        f"- Model: `{m['short_name']}` (`{m['model_id']}`): {m['described']}.",
        f"- In-process batch scoring (one call over {ip['texts']} comments, the path `tfgbv-predict` takes), the "
        f"faster of before ({ip['before']['throughput_tps']}) and after ({ip['after']['throughput_tps']}) serving: "
        f"**{ip['throughput_tps']} comments/s**.",
        "- Served: single-comment `comments:analyze` requests (all five attributes) from an asyncio/aiohttp client on "
        "127.0.0.1; the server (local engine) runs in its own process. Micro-batching: at most "
        f"{res['spec']['max_batch_texts']} texts per model call; a batch closes once no request arrived for "
        f"{res['spec']['batch_gap_ms']} ms, or {res['spec']['max_wait_ms']} ms after it opened.",
        "",
        "| engine | concurrency | requests | errors | throughput (req/s) | vs in-process | p50 ms | p95 ms | p99 ms "
        "| texts per model call | load generator CPU (cores) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["served"]:
        lines.append(_row("local", r))
    for r in res["ray"]:
        lines.append(_row(f"ray, {r['replicas']} replica(s) x {r['cpus_per_replica']} CPU", r))
    s = res["summary"]
    lines += [
        "",
        f"Target: served throughput at the highest concurrency >= 70% of in-process: "
        f"{'met' if s['meets_target'] else 'not met'} ({res['served'][-1]['ratio_to_in_process']:.0%}).",
        "",
    ]
    return "\n".join(lines)


def _row(engine: str, r: dict) -> str:
    return (
        f"| {engine} | {r['concurrency']} | {r['requests']} | {r['errors']} | {r['throughput_rps']} | "
        f"{r['ratio_to_in_process']:.0%} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
        f"{r.get('texts_per_model_call', 'n/a')} | {r['client_cpu_cores']} |"
    )
