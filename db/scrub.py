"""Keep secrets and unstorable characters out of the database and out of bundles.

Defence in depth: providers never put keys in ``Completion.request``, but whatever reaches a row or a bundle
passes through :func:`scrub` first. It removes

* the values of fields named like secrets (``api_key``, ``authorization``, ``x-api-key``, ``password``, ...),
* strings that look like provider keys or auth headers (``sk-...``, ``sk-ant-...``, ``Bearer ...`` in any case,
  ``Basic <base64 user:password>``, ``AIza...``, ...), also when URL-encoded,
* credentials inside URLs (``scheme://user:pass@``) and secret-looking query values (``?api_key=...``),
* the exact values of every key in use, whatever its variable is called, in plain, URL-encoded and
  base64 form: ``*_API_KEY`` / ``*_KEY`` / ``*_TOKEN`` / ``*_SECRET`` / ``*_PASSWORD`` environment variables,
  the keys the provider settings from the environment use (an endpoint's ``api_key_env`` may name
  any variable, e.g. ``OLLAMA_KEY``), credentials in configured base URLs, and anything passed to
  :func:`register_secret` (keys typed into the sidebar, keys from app secrets),

and makes every string storable everywhere (PostgreSQL rejects NUL characters; lone surrogates cannot be
encoded as UTF-8).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import math
import os
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

from tale_core.redact import redact_urls

REDACTED = "[redacted]"
MIN_SECRET_LEN = 8

_SECRET_FIELD = re.compile(
    r"(^|[_\-.])(api[_\-]?key|apikey|authorization|auth[_\-]?token|access[_\-]?token|bearer|password|passwd|"
    r"secret|client[_\-]?secret|private[_\-]?key)$",
    re.IGNORECASE,
)
#: one key character, plain or URL-encoded (``%2D`` for ``-``)
_KC = r"(?:[A-Za-z0-9_\-]|%[0-9A-Fa-f]{2})"
_KEY_PATTERNS = re.compile(
    rf"(sk(?:-|%2[dD])(?:(?:ant|proj|svcacct|admin)(?:-|%2[dD]))?{_KC}{{16,}}"  # OpenAI / Anthropic
    r"|Bearer\s+[A-Za-z0-9_\-.=:/+~%]{8,}"  # Authorization header values
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google
    r"|xai-[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{20,})"
)
#: "bearer <token>" in any case: only tokens that look like keys (a digit or a symbol in them), not prose
_BEARER_ANY_CASE = re.compile(
    r"(?i)\bbearer(\s+|%20|\+)(?=[A-Za-z0-9_\-.=:/+~%]*[0-9_\-.=/+~%])[A-Za-z0-9_\-.=:/+~%]{8,}"
)
#: "Basic <base64>" (HTTP basic auth): redacted when the token decodes to "user:password"
_BASIC = re.compile(r"(?i)\bbasic(\s+|%20|\+)([A-Za-z0-9+/]{6,}={0,2})")
_HINTS = ("sk-", "sk%2", "bearer", "aiza", "xai-", "gsk_", "hf_", "basic", "://", "=")
_ENV_SECRET_NAME = re.compile(r"(API_KEY|APIKEY|_KEY|_TOKEN|_SECRET|PASSWORD|_PASS|_PASSWD|_PWD)$", re.IGNORECASE)

_registered: set[str] = set()
_reg_lock = threading.Lock()
_settings_cache: dict[str, Any] = {"env": None, "values": []}


def register_secret(value: str | None) -> None:
    """Remember a key entered at run time so it is scrubbed wherever it shows up."""
    if value and len(value) >= MIN_SECRET_LEN:
        with _reg_lock:
            _registered.add(value)


def _settings_secrets() -> list[str]:
    """The key values the provider settings built from this environment use (cached per environment)."""
    env = tuple(sorted(os.environ.items()))
    with _reg_lock:
        if _settings_cache["env"] == env:
            return list(_settings_cache["values"])
    try:
        from tale_core.settings import ProviderSettings

        values = ProviderSettings.from_env(dict(env)).secret_values()
    except Exception:
        values = []
    with _reg_lock:
        _settings_cache.update(env=env, values=list(values))
    return values


def _variants(value: str) -> set[str]:
    """A key as it may appear: plain, URL-encoded (both styles, both hex cases) and in a basic-auth header."""
    out = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    out |= {v.replace("%2D", "%2d").replace("%2B", "%2b").replace("%2F", "%2f") for v in list(out)}
    out.add(base64.b64encode(value.encode("utf-8", "replace")).decode("ascii").rstrip("="))
    return {v for v in out if len(v) >= MIN_SECRET_LEN}


def known_secrets() -> list[str]:
    """Exact secret values to remove (every form of every key in use), longest first."""
    vals = {v for k, v in os.environ.items() if _ENV_SECRET_NAME.search(k) and v and len(v) >= MIN_SECRET_LEN}
    vals |= {v for v in _settings_secrets() if v and len(v) >= MIN_SECRET_LEN}
    with _reg_lock:
        vals |= _registered
    out: set[str] = set()
    for v in vals:
        out |= _variants(v)
    return sorted(out, key=len, reverse=True)


def _basic_sub(m: re.Match[str]) -> str:
    token = m.group(2)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return m.group(0)
    if ":" in decoded and decoded.isprintable():
        return m.group(0)[: m.start(2) - m.start(0)] + REDACTED
    return m.group(0)


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
    low = s.lower()
    if any(h in low for h in _HINTS):
        s = _KEY_PATTERNS.sub(REDACTED, s)
        s = _BEARER_ANY_CASE.sub(lambda m: m.group(0)[: 6 + len(m.group(1))] + REDACTED, s)
        s = _BASIC.sub(_basic_sub, s)
        s = redact_urls(s)
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


_log_factory_lock = threading.Lock()
_log_factory_installed = False


def install_log_scrubber() -> None:
    """Scrub every log record made in this process (any logger: the SDKs and httpx log request URLs, which
    may carry ``user:password@``), once. Records are only made for enabled levels, so this costs nothing for
    the DEBUG chatter nobody listens to."""
    global _log_factory_installed
    with _log_factory_lock:
        if _log_factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                text = record.getMessage()
            except Exception:
                return record
            record.msg, record.args = clean_text(text), None
            return record

        logging.setLogRecordFactory(factory)
        _log_factory_installed = True


install_log_scrubber()
