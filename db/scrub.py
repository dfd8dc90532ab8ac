"""Keep secrets and unstorable characters out of the database and out of bundles.

Defence in depth: providers never put keys in ``Completion.request``, but whatever reaches a row or a bundle
passes through :func:`scrub` first. It removes

* the values of fields named like secrets (``api_key``, ``authorization``, ``x-api-key``, ``password``, ...),
* strings that look like provider keys (``sk-...``, ``sk-ant-...``, ``Bearer ...``, ``AIza...``, ...),
* the exact values of keys this process knows: ``*_API_KEY`` / ``*_TOKEN`` / ``*_SECRET`` environment
  variables and anything passed to :func:`register_secret` (keys typed into the sidebar),

and makes every string storable everywhere (PostgreSQL rejects NUL characters; lone surrogates cannot be
encoded as UTF-8).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import threading
from typing import Any

REDACTED = "[redacted]"
MIN_SECRET_LEN = 8

_SECRET_FIELD = re.compile(
    r"(^|[_\-.])(api[_\-]?key|apikey|authorization|auth[_\-]?token|access[_\-]?token|bearer|password|passwd|"
    r"secret|client[_\-]?secret|private[_\-]?key)$",
    re.IGNORECASE,
)
_KEY_PATTERNS = re.compile(
    r"(sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}"  # OpenAI / Anthropic
    r"|Bearer\s+[A-Za-z0-9_\-.=:/+]{8,}"  # Authorization header values
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google
    r"|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,})"
)
_ENV_SECRET_NAME = re.compile(r"(API_KEY|APIKEY|_TOKEN|_SECRET|PASSWORD)$", re.IGNORECASE)

_registered: set[str] = set()
_reg_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a key entered at run time so it is scrubbed wherever it shows up."""
    if value and len(value) >= MIN_SECRET_LEN:
        with _reg_lock:
            _registered.add(value)


def known_secrets() -> list[str]:
    """Exact secret values to remove: registered keys plus key-like environment variables (longest first)."""
    vals = {v for k, v in os.environ.items() if _ENV_SECRET_NAME.search(k) and v and len(v) >= MIN_SECRET_LEN}
    with _reg_lock:
        vals |= _registered
    return sorted(vals, key=len, reverse=True)


def is_secret_field(name: str) -> bool:
    return bool(_SECRET_FIELD.search(name))


def clean_text(s: str, secrets: list[str] | None = None) -> str:
    """``s`` with keys redacted, NUL replaced and lone surrogates made encodable."""
    if "\x00" in s:
        s = s.replace("\x00", "\ufffd")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "replace").decode("utf-8")
    if secrets is None:
        secrets = known_secrets()
    for v in secrets:
        if v in s:
            s = s.replace(v, REDACTED)
    if "sk-" in s or "Bearer" in s or "AIza" in s or "xai-" in s or "gsk_" in s or "hf_" in s:
        s = _KEY_PATTERNS.sub(REDACTED, s)
    return s


def scrub(obj: Any, secrets: list[str] | None = None, _depth: int = 0) -> Any:
    """A JSON-safe copy of ``obj`` with secrets removed (see the module docstring).

    Dataclasses become dicts, tuples and sets lists, NaN and infinities None (PostgreSQL's JSON rejects
    them), anything else unknown its ``str``. Nesting deeper than 64 levels is cut off.
    """
    if secrets is None:
        secrets = known_secrets()
    if _depth > 64:
        return None
    if obj is None or isinstance(obj, (bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str):
        return clean_text(obj, secrets)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = clean_text(str(k), secrets)
            out[key] = REDACTED if (is_secret_field(key) and v not in (None, "")) else scrub(v, secrets, _depth + 1)
        return out
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [scrub(v, secrets, _depth + 1) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return scrub(dataclasses.asdict(obj), secrets, _depth + 1)
    if hasattr(obj, "to_dict"):
        try:
            return scrub(obj.to_dict(), secrets, _depth + 1)
        except Exception:  # fall back to its text
            pass
    return clean_text(str(obj), secrets)
