"""Perspective's AnalyzeComment: the request and response shapes, their checks, and the discovery document that lets
Google's own client library (`googleapiclient.discovery.build(..., discoveryServiceUrl=...)`) call this service.

Attributes: INSULT, THREAT, SHAMING and DOXXING are tfgbv's labels (calibrated probabilities); TOXICITY is their
maximum (a comment is as toxic as its worst label). Languages: ru and tg (any region or script subtag).
Not supported: SuggestCommentScore, HTML comments, score types other than PROBABILITY. Nothing is stored, whatever
`doNotStore` says (the field is accepted for compatibility).
"""

from __future__ import annotations

from typing import Any, Sequence

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from tfgbv.annotate.selection import guess_lang
from tfgbv.serve.errors import ApiError, field_path
from tfgbv.serve.scoring import Scored

LABEL_ATTRIBUTES = {"INSULT": "insult", "THREAT": "threat", "SHAMING": "shaming", "DOXXING": "doxxing"}
AGGREGATE = "TOXICITY"  # the maximum of the four labels' probabilities
ATTRIBUTES = (*LABEL_ATTRIBUTES, AGGREGATE)
LANGUAGES = ("ru", "tg")
SCORE_TYPE = "PROBABILITY"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TextEntry(_Strict):
    text: str = Field(description="The comment (at most 20 KB of UTF-8).")
    type: str = Field("PLAIN_TEXT", description="PLAIN_TEXT (HTML is not supported).")


class Context(_Strict):
    entries: list[TextEntry] | None = Field(None, description="Accepted and ignored (tfgbv scores the comment alone).")


class AttributeParameters(_Strict):
    scoreType: str | None = Field(None, description="PROBABILITY (the only type).")
    scoreThreshold: float | None = Field(None, description="Leave the attribute out when its score is below this.")


class AnalyzeCommentRequest(_Strict):
    comment: TextEntry
    context: Context | None = None
    requestedAttributes: dict[str, AttributeParameters] = Field(
        description="Any of INSULT, THREAT, SHAMING, DOXXING, TOXICITY (the maximum of the four)."
    )
    spanAnnotations: bool = Field(False, description="Also score each sentence (spanScores).")
    languages: list[str] | None = Field(None, description="ru and/or tg; detected when left out.")
    doNotStore: bool = Field(False, description="Accepted; this service stores nothing anyway.")
    clientToken: str | None = None
    sessionId: str | None = None
    communityId: str | None = None


class Score(BaseModel):
    value: float
    type: str = SCORE_TYPE


class SpanScore(BaseModel):
    begin: int
    end: int
    score: Score


class AttributeScores(BaseModel):
    summaryScore: Score
    spanScores: list[SpanScore] | None = None


class AnalyzeCommentResponse(BaseModel):
    attributeScores: dict[str, AttributeScores]
    languages: list[str]
    detectedLanguages: list[str]
    clientToken: str | None = None


def validated(model: type[BaseModel], body: dict[str, Any]) -> Any:
    """`body` as `model`, or a 400 naming the first offending field (never echoing its value)."""
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as err:
        first = err.errors(include_input=False, include_url=False)[0]
        raise ApiError(400, first["msg"], field=field_path(tuple(first["loc"]))) from None


def check_request(req: AnalyzeCommentRequest) -> None:
    """Perspective's 400s for what the types allow but the service does not (text checks are the scorer's)."""
    if req.comment.type != "PLAIN_TEXT":
        raise ApiError(400, f"comment type {req.comment.type!r} is not supported; send PLAIN_TEXT", "comment.type")
    if not req.requestedAttributes:
        raise ApiError(400, f"request at least one attribute of {list(ATTRIBUTES)}", "requestedAttributes")
    for name, params in req.requestedAttributes.items():
        where = f"requestedAttributes.{name}"
        if name not in ATTRIBUTES:
            raise ApiError(
                400, f"unknown attribute {name!r}; this service scores {list(ATTRIBUTES)}", where, "UNKNOWN_ATTRIBUTE"
            )
        if params.scoreType not in (None, SCORE_TYPE):
            raise ApiError(400, f"scoreType must be {SCORE_TYPE}, got {params.scoreType!r}", f"{where}.scoreType")
        if params.scoreThreshold is not None and not 0 <= params.scoreThreshold <= 1:
            raise ApiError(400, "scoreThreshold must be between 0 and 1", f"{where}.scoreThreshold")
    for i, lang in enumerate(req.languages or []):
        if lang.split("-")[0].lower() not in LANGUAGES:
            attr = next(iter(req.requestedAttributes))
            raise ApiError(
                400,
                f"Attribute {attr} does not support request languages: {lang} (supported: {', '.join(LANGUAGES)})",
                f"languages[{i}]",
                "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            )


def attribute_value(name: str, scored: Scored) -> float:
    if name == AGGREGATE:
        return max(scored.scores[label] for label in LABEL_ATTRIBUTES.values())
    return scored.scores[LABEL_ATTRIBUTES[name]]


def detected_languages(text: str) -> list[str]:
    """tg or ru (from the script and Tajik letters; Latin chat text keeps its guess, e.g. tg-Latn)."""
    return [guess_lang(text)]


def analyze_response(
    req: AnalyzeCommentRequest, whole: Scored, spans: Sequence[tuple[int, int, Scored]]
) -> dict[str, Any]:
    """The AnalyzeComment response: summary scores (attributes under their scoreThreshold left out, as Perspective
    does) and, with spanAnnotations, one span score per sentence."""
    detected = detected_languages(req.comment.text)
    out: dict[str, Any] = {"attributeScores": {}}
    for name, params in req.requestedAttributes.items():
        value = attribute_value(name, whole)
        if params.scoreThreshold is not None and value < params.scoreThreshold:
            continue
        entry: dict[str, Any] = {"summaryScore": {"value": value, "type": SCORE_TYPE}}
        if req.spanAnnotations:
            entry["spanScores"] = [
                {"begin": b, "end": e, "score": {"value": attribute_value(name, s), "type": SCORE_TYPE}}
                for b, e, s in spans
            ]
        out["attributeScores"][name] = entry
    out["languages"] = list(req.languages) if req.languages else [detected[0].split("-")[0]]
    out["detectedLanguages"] = detected
    if req.clientToken is not None:
        out["clientToken"] = req.clientToken
    return out


# ----------------------------------------------------------------------------- discovery


def _schema(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties}


_STR = {"type": "string"}
_BOOL = {"type": "boolean"}
_NUM = {"type": "number", "format": "float"}
_INT = {"type": "integer", "format": "int32"}

SCHEMAS = {
    "TextEntry": _schema({"text": _STR, "type": _STR}),
    "Context": _schema({"entries": {"type": "array", "items": {"$ref": "TextEntry"}}}),
    "AttributeParameters": _schema({"scoreType": _STR, "scoreThreshold": _NUM}),
    "AnalyzeCommentRequest": _schema(
        {
            "comment": {"$ref": "TextEntry"},
            "context": {"$ref": "Context"},
            "requestedAttributes": {"type": "object", "additionalProperties": {"$ref": "AttributeParameters"}},
            "spanAnnotations": _BOOL,
            "languages": {"type": "array", "items": _STR},
            "doNotStore": _BOOL,
            "clientToken": _STR,
            "sessionId": _STR,
            "communityId": _STR,
        }
    ),
    "Score": _schema({"value": _NUM, "type": _STR}),
    "SpanScore": _schema({"begin": _INT, "end": _INT, "score": {"$ref": "Score"}}),
    "AttributeScores": _schema(
        {"summaryScore": {"$ref": "Score"}, "spanScores": {"type": "array", "items": {"$ref": "SpanScore"}}}
    ),
    "AnalyzeCommentResponse": _schema(
        {
            "attributeScores": {"type": "object", "additionalProperties": {"$ref": "AttributeScores"}},
            "languages": {"type": "array", "items": _STR},
            "detectedLanguages": {"type": "array", "items": _STR},
            "clientToken": _STR,
        }
    ),
}
for _name, _s in SCHEMAS.items():
    _s["id"] = _name

DISCOVERY_VERSION = "v1alpha1"


def discovery_document(root_url: str) -> dict[str, Any]:
    """The commentanalyzer v1alpha1 discovery document, pointing clients at `root_url` (ending in "/")."""
    query = lambda description: {"type": "string", "location": "query", "description": description}  # noqa: E731
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"commentanalyzer:{DISCOVERY_VERSION}",
        "name": "commentanalyzer",
        "version": DISCOVERY_VERSION,
        "title": "tfgbv scoring service (Perspective Comment Analyzer API compatible)",
        "description": "Scores Tajik and Russian comments for insult, shaming, threat and doxxing.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": {
            "key": query("API key (or an Authorization: Bearer header)."),
            "alt": {**query("Response format (json only)."), "default": "json", "enum": ["json"]},
            "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
            "fields": query("Accepted and ignored."),
        },
        "schemas": SCHEMAS,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": {
                        "id": "commentanalyzer.comments.analyze",
                        "path": f"{DISCOVERY_VERSION}/comments:analyze",
                        "flatPath": f"{DISCOVERY_VERSION}/comments:analyze",
                        "httpMethod": "POST",
                        "parameters": {},
                        "parameterOrder": [],
                        "request": {"$ref": "AnalyzeCommentRequest"},
                        "response": {"$ref": "AnalyzeCommentResponse"},
                        "description": "Scores a comment (see the README's Migrating from Perspective API).",
                    }
                }
            }
        },
    }
