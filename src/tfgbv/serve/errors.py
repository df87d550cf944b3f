"""Errors in the shape Google APIs (and so Perspective clients) expect: {"error": {code, message, status, details}},
the offending field named in the message and in a google.rpc.BadRequest field violation."""

from __future__ import annotations

from typing import Any

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An answer other than 200: `field` is the request field at fault (e.g. "comment.text"), `error_type` the
    Perspective error type (e.g. COMMENT_EMPTY, LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE) where one applies."""

    def __init__(self, code: int, message: str, field: str | None = None, error_type: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field, self.error_type = code, message, field, error_type

    def body(self) -> dict[str, Any]:
        details: list[dict[str, Any]] = []
        if self.field:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": self.field, "description": self.message}],
                }
            )
        if self.error_type:
            details.append(
                {"@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error", "errorType": self.error_type}
            )
        message = f"{self.field}: {self.message}" if self.field else self.message
        return {
            "error": {
                "code": self.code,
                "message": message,
                "status": STATUS.get(self.code, "UNKNOWN"),
                "details": details,
            }
        }


def field_path(loc: tuple) -> str:
    """A pydantic error location as a request field: ("languages", 0) -> "languages[0]"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"
