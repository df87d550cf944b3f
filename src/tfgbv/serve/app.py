"""The ASGI app: Perspective's `comments:analyze` and its discovery document, the native `/v1/score`, health,
readiness, Prometheus metrics, OpenAPI docs (/docs) and a page for moderators (/).

Every request body is read here (size-limited, UTF-8 and JSON checked) and validated into typed models, so malformed
input is a 4xx naming the field, never a 500. Texts and keys are never logged: the access log line holds the method,
the route, the status and the time (uvicorn's own access log, which prints query strings with `key=`, is off).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from tfgbv.predict.files import load_scorer
from tfgbv.serve import perspective
from tfgbv.serve.errors import ApiError, field_path
from tfgbv.serve.keys import key_ok, load_keys
from tfgbv.serve.scoring import MicroBatcher, QueueFull, Scored, TextScorer, sentence_spans
from tfgbv.serve.spec import ServeSpec

log = logging.getLogger("tfgbv.serve")

# Swagger UI's script and style are served from the swagger-ui-bundle package, not FastAPI's default CDN: /docs must
# work where the service runs (often with no internet), and the page must not load code from elsewhere.
DOCS_ASSETS = "/docs-assets"


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[str] = Field(description="Comments to score (at most max_request_texts).")
    spans: bool = Field(False, description="Also score each sentence.")


class Metrics:
    """Prometheus metrics of one app (its own registry, so several apps live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("tfgbv_requests", "HTTP requests by route and status", ["route", "code"], registry=r)
        self.latency = Histogram("tfgbv_request_seconds", "Request latency by route", ["route"], registry=r)
        self.batch_texts = Histogram(
            "tfgbv_batch_texts", "Texts per model call", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r
        )
        self.batch_seconds = Histogram("tfgbv_batch_seconds", "Seconds per model call", registry=r)
        self.texts = Counter("tfgbv_texts_scored", "Texts scored (comments and sentences)", registry=r)
        self.queued = Gauge("tfgbv_queued_texts", "Texts waiting for the model", registry=r)
        self.ready = Gauge("tfgbv_ready", "1 when the model is loaded and scoring", registry=r)

    def batch(self, n_texts: int, seconds: float) -> None:
        self.batch_texts.observe(n_texts)
        self.batch_seconds.observe(seconds)
        self.texts.inc(n_texts)


class Service:
    """What the routes share: the options, keys, scorer, batcher and metrics."""

    def __init__(self, spec: ServeSpec, scorer: TextScorer | None = None):
        self.spec, self.scorer = spec, scorer
        self.keys = load_keys(spec)
        self.metrics = Metrics()
        self.batcher: MicroBatcher | None = None

    @property
    def ready(self) -> bool:
        return self.scorer is not None and self.batcher is not None

    def load(self) -> TextScorer:
        spec = self.spec
        clf = load_scorer(
            spec.model_dir,
            spec.backend,
            spec.bf16,
            spec.num_threads,
            spec.max_batch_texts,
            spec.onnx_variant,
            spec.batch_tokens,
            spec.compile,
            spec.int8,
        )
        return TextScorer(clf, spec.review_band, spec.max_comment_bytes)

    async def start(self) -> None:
        if self.scorer is None:
            self.scorer = await asyncio.get_running_loop().run_in_executor(None, self.load)
        spec = self.spec
        self.batcher = MicroBatcher(
            self.scorer.score,
            spec.max_batch_texts,
            spec.max_batch_chars,
            spec.max_wait_ms / 1000,
            spec.max_queue_texts,
            on_batch=self.metrics.batch,
            gap_s=spec.batch_gap_ms / 1000,
        )
        self.batcher.start()
        self.metrics.ready.set(1)
        log.info("ready: model %s (%s)", self.scorer.model_id, self.spec.model_dir)

    async def stop(self) -> None:
        self.metrics.ready.set(0)
        if self.batcher is not None:
            await self.batcher.stop()
            self.batcher = None

    # -- request helpers

    def check_key(self, request: Request) -> None:
        """Perspective's `key=` query parameter, `Authorization: Bearer KEY` or `x-goog-api-key`, when keys are set."""
        if not self.keys:
            return
        given = request.query_params.get("key") or request.headers.get("x-goog-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if given is None:
            raise ApiError(401, "The request is missing a valid API key (key= or Authorization: Bearer).")
        if not key_ok(given, self.keys):
            raise ApiError(403, "API key not valid. Please pass a valid API key.")

    async def read_json(self, request: Request) -> dict[str, Any]:
        limit = self.spec.max_body_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise ApiError(413, f"request body of {int(length)} bytes is over the limit of {limit} bytes", "body")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise ApiError(413, f"request body is over the limit of {limit} bytes", "body")
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ApiError(400, f"not valid UTF-8 (byte {err.start})", "body") from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise ApiError(400, f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}", "body") from None
        except RecursionError:
            raise ApiError(400, "JSON nested too deeply", "body") from None
        if not isinstance(obj, dict):
            raise ApiError(400, f"expected a JSON object, got {type(obj).__name__}", "body")
        return obj

    def check_text(self, text: str, where: str) -> None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > self.spec.max_comment_bytes:
            raise ApiError(
                400,
                f"comment is {size} bytes of UTF-8, over the limit of {self.spec.max_comment_bytes}",
                where,
                "COMMENT_TOO_LONG",
            )
        problem = self.scorer.problem(text)
        if problem:
            raise ApiError(400, problem, where, "COMMENT_EMPTY" if problem == "empty text" else None)

    async def score(self, texts: list[str]) -> list[Scored]:
        if not self.ready:
            raise ApiError(503, "the model is still loading; retry shortly")
        self.metrics.queued.set(self.batcher.queued_texts + len(texts))
        try:
            return await asyncio.wait_for(self.batcher.submit(texts), self.spec.request_timeout_s)
        except QueueFull as err:
            raise ApiError(429, f"the service is busy ({err}); retry shortly") from None
        except asyncio.TimeoutError:
            raise ApiError(504, f"scoring took longer than request_timeout_s={self.spec.request_timeout_s}") from None

    async def score_with_spans(self, text: str, spans: bool) -> tuple[Scored, list[tuple[int, int, Scored]]]:
        """The text's scores and, when asked and there are several sentences, each sentence's (one batch)."""
        cuts = sentence_spans(text) if spans else []
        cuts = cuts if len(cuts) > 1 else []
        results = await self.score([text, *(text[b:e] for b, e in cuts)])
        whole = results[0]
        if spans and not cuts:  # one sentence: its span is the whole comment
            return whole, [(0, len(text), whole)]
        return whole, [(b, e, s) for (b, e), s in zip(cuts, results[1:])]


def create_app(spec: ServeSpec | None = None, scorer: TextScorer | None = None) -> FastAPI:
    """The service for `spec`; `scorer` (already loaded) skips loading `spec.model_dir`."""
    spec = spec or ServeSpec()
    service = Service(spec, scorer)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="tfgbv scoring service",
        version="v1",
        description="Scores Tajik and Russian comments for insult, shaming, threat and doxxing; Perspective API "
        "compatible (`/v1alpha1/comments:analyze`).",
        lifespan=lifespan,
        docs_url=None,  # /docs is served below with local assets; ReDoc (CDN only) is off
        redoc_url=None,
    )
    app.state.service = service
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    _install_handlers(app, service)
    _install_routes(app, service)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the request bodies the routes read themselves (they parse JSON to name bad fields)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for path, model in (
            ("/v1alpha1/comments:analyze", perspective.AnalyzeCommentRequest),
            ("/v1/score", ScoreRequest),
        ):
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
            schema["paths"][path]["post"]["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        app.openapi_schema = schema
    return app.openapi_schema


def _install_handlers(app: FastAPI, service: Service) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]  # a query parameter FastAPI checked (bodies are read and checked by the routes)
        loc = tuple(first.get("loc", ()))[1:] or ("request",)
        return JSONResponse(ApiError(400, first.get("msg", "invalid"), field_path(loc)).body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(ApiError(err.status_code, str(err.detail)).body(), status_code=err.status_code)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        log.error("internal error on %s: %s", request.url.path, type(err).__name__)  # no request content
        return JSONResponse(ApiError(500, "internal error").body(), status_code=500)

    app.add_middleware(AccessLog, metrics=service.metrics)


class AccessLog:
    """One INFO line and the metrics per request: method, route template, status, time (never the query string,
    which may hold key=, nor the body). Plain ASGI: Starlette's BaseHTTPMiddleware costs every request a task."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0, status = time.perf_counter(), 500

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", "other")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            log.info("%s %s %d %.1f ms", scope["method"], route, status, seconds * 1000)


def _install_routes(app: FastAPI, service: Service) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        html = resources.files("tfgbv.serve").joinpath("page.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'self' 'unsafe-inline'"})

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )

    @app.get("/healthz", summary="The process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The model is loaded and scoring")
    async def readyz() -> JSONResponse:
        if not service.ready:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready", "model_id": service.scorer.model_id})

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        service.check_key(request)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/$discovery/rest", summary="Discovery document for Google's client libraries")
    async def discovery(request: Request, version: str = perspective.DISCOVERY_VERSION) -> dict[str, Any]:
        if version != perspective.DISCOVERY_VERSION:
            raise ApiError(404, f"no discovery document for version {version!r}; use {perspective.DISCOVERY_VERSION}")
        root = service.spec.public_url or str(request.base_url)
        return perspective.discovery_document(root if root.endswith("/") else root + "/")

    @app.post(
        "/v1alpha1/comments:analyze",
        response_model=perspective.AnalyzeCommentResponse,
        response_model_exclude_none=True,
        summary="Perspective AnalyzeComment",
    )
    async def analyze(request: Request) -> JSONResponse:
        service.check_key(request)
        req = perspective.validated(perspective.AnalyzeCommentRequest, await service.read_json(request))
        perspective.check_request(req)
        service.check_text(req.comment.text, "comment.text")
        whole, spans = await service.score_with_spans(req.comment.text, req.spanAnnotations)
        return JSONResponse(perspective.analyze_response(req, whole, spans))  # built to the schema: not re-validated

    @app.post("/v1/score", summary="Score a batch of comments (labels, scores, needs_review)")
    async def score(request: Request) -> dict[str, Any]:
        service.check_key(request)
        req = perspective.validated(ScoreRequest, await service.read_json(request))
        if not 1 <= len(req.texts) <= service.spec.max_request_texts:
            raise ApiError(400, f"send 1 to {service.spec.max_request_texts} texts, got {len(req.texts)}", "texts")
        for i, text in enumerate(req.texts):
            service.check_text(text, f"texts[{i}]")
        if req.spans:
            results = await asyncio.gather(*(service.score_with_spans(t, True) for t in req.texts))
        else:
            results = [(s, None) for s in await service.score(req.texts)]
        return _score_response(service.scorer, results)


def _score_response(scorer: TextScorer, results: list[tuple[Scored, Any]]) -> dict[str, Any]:
    out = []
    for whole, spans in results:
        rec: dict[str, Any] = {"scores": whole.scores, "labels": whole.labels, "needs_review": whole.needs_review}
        if spans is not None:
            rec["spans"] = [{"begin": b, "end": e, "scores": s.scores} for b, e, s in spans]
        out.append(rec)
    return {
        "model_id": scorer.model_id,
        "model_version": scorer.model_version,
        "thresholds": scorer.thresholds,
        "results": out,
    }
