"""API keys: read from a file and/or an environment variable, checked in constant time, never logged."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from tfgbv.serve.spec import ServeError, ServeSpec, is_loopback


def load_keys(spec: ServeSpec) -> tuple[bytes, ...]:
    """The accepted keys (as SHA-256 digests, so every comparison has the same length). Refuses to start without one
    when the service binds beyond loopback."""
    keys: list[str] = []
    if spec.api_keys_file:
        path = Path(spec.api_keys_file).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise ServeError(f"api_keys_file {path}: cannot read it ({err})") from err
        keys += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not keys:
            raise ServeError(f"api_keys_file {path} holds no key (one per line; # starts a comment)")
    if spec.api_keys_env:
        keys += [k.strip() for k in os.environ.get(spec.api_keys_env, "").split(",") if k.strip()]
    if not keys and not is_loopback(spec.host):
        raise ServeError(
            f"host={spec.host} reaches beyond this machine: give API keys (api_keys_file=PATH, one per line, or "
            f"the {spec.api_keys_env} environment variable, comma-separated), or bind 127.0.0.1"
        )
    return tuple(_digest(k) for k in dict.fromkeys(keys))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def key_ok(given: str | None, keys: tuple[bytes, ...]) -> bool:
    """Whether `given` is one of `keys`; every key is compared (constant time), so timing tells nothing."""
    if given is None:
        return False
    digest = _digest(given)
    found = False
    for key in keys:
        found |= hmac.compare_digest(digest, key)
    return found
