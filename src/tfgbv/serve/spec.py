"""The service's options (Hydra config `serve.yaml`), validated on construction."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from tfgbv.predict.files import check_scorer_options
from tfgbv.predict.transformer import DEFAULT_BATCH_TOKENS

# Perspective refuses comments over 20 KB of UTF-8; so does this service.
PERSPECTIVE_MAX_COMMENT_BYTES = 20_480


class ServeError(ValueError):
    """An option the service cannot start with (a bad value, no API key while binding beyond loopback)."""


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the service on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


@dataclass
class ServeSpec:
    """What `tfgbv-serve` loads, where it listens, how it batches and what it refuses."""

    model_dir: str = "runs/latest"  # a run directory, its model/ folder or a Hugging Face Hub id
    host: str = "127.0.0.1"  # beyond loopback only with API keys
    port: int = 8080
    public_url: str | None = None  # rootUrl of the discovery document; default: the address the client called
    engine: str = "local"  # local (uvicorn, one process) | ray (Ray Serve, `replicas` copies)
    replicas: int = 1  # engine=ray
    num_cpus_per_replica: float = 1.0  # engine=ray
    # the model, as in batch scoring (tfgbv.predict.files.load_scorer)
    backend: str = "torch"
    bf16: Any = "auto"
    int8: Any = False
    compile: bool = False
    onnx_variant: str = "fp32"
    num_threads: int | None = None
    batch_tokens: int | None = DEFAULT_BATCH_TOKENS
    review_band: float = 0.1  # needs_review when a score is within this distance of its threshold
    # micro-batching: requests arriving together are scored in one call
    max_batch_texts: int = 64  # texts (comments and their sentences) per model call at most ...
    max_batch_chars: int = 32_768  # ... and characters per call at most (a cheap stand-in for a token budget)
    max_wait_ms: float = 20.0  # how long the first request of a batch waits for others at most ...
    batch_gap_ms: float = 5.0  # ... closing the batch as soon as no request arrived for this long
    max_queue_texts: int = 4096  # texts waiting at most; beyond, requests get 429
    # limits
    max_body_bytes: int = 1_048_576
    max_comment_bytes: int = PERSPECTIVE_MAX_COMMENT_BYTES
    max_request_texts: int = 64  # texts per /v1/score request
    request_timeout_s: float = 30.0
    # API keys: one per line in the file (# comments allowed) and/or comma-separated in the environment variable
    api_keys_file: str | None = None
    api_keys_env: str = "TFGBV_API_KEYS"
    log_level: str = "info"

    def __post_init__(self) -> None:
        problems = []
        for name in ("port", "replicas", "max_batch_texts", "max_batch_chars", "max_queue_texts", "max_body_bytes"):
            problems += _positive_int(self, name, allow_zero=name == "port")
        for name in ("max_comment_bytes", "max_request_texts"):
            problems += _positive_int(self, name)
        for name in ("max_wait_ms", "batch_gap_ms", "request_timeout_s", "num_cpus_per_replica"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                problems.append(f"{name} must be a non-negative number, got {value!r}")
        if self.engine not in ("local", "ray"):
            problems.append(f"engine must be local or ray, got {self.engine!r}")
        if not isinstance(self.host, str) or not self.host:
            problems.append(f"host must be an address, got {self.host!r}")
        band = self.review_band
        if not isinstance(band, (int, float)) or isinstance(band, bool) or not 0 <= band <= 1:
            problems.append(f"review_band must be a number in [0, 1], got {band!r}")
        if problems:
            raise ServeError("invalid serve option(s): " + "; ".join(problems))
        check_scorer_options(
            self.backend, self.bf16, self.num_threads, self.onnx_variant, self.batch_tokens, self.compile, self.int8
        )


def _positive_int(spec: ServeSpec, name: str, allow_zero: bool = False) -> list[str]:
    value = getattr(spec, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < (0 if allow_zero else 1):
        return [f"{name} must be a {'non-negative' if allow_zero else 'positive'} integer, got {value!r}"]
    return []
