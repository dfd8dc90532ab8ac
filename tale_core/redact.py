"""URLs made safe to show and store: no ``user:password@``, no secret-looking query values.

A base URL may carry credentials (``http://user:pass@host/v1``) or a key in its query string
(``...?api_key=...``). The providers still call the URL as given; everything they put in a record, a runtime
label or an error message goes through :func:`public_url` / :func:`redact_urls` first.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[redacted]"

#: ``scheme://user[:password]@`` inside any text
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]*@")
#: ``key=value`` pairs in a query string whose value is likely a secret (``?api_key=``, ``&token=``, ...)
_QUERY_SECRET = re.compile(
    r"(?i)([?&;](?:[a-z0-9_\-.]*?(?:key|token|secret|password|passwd|pwd|auth|sig|signature|credential)s?)=)"
    r"[^&;#\s\"'<>]+"
)


def redact_urls(text: str) -> str:
    """``text`` with URL credentials and secret-looking query values replaced by ``[redacted]``."""
    if "://" in text:
        text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def public_url(url: str) -> str:
    """``url`` without its user info, query string and fragment (what is shown, stored or logged)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_urls(url)
    if not parts.scheme or not parts.netloc:
        return redact_urls(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def public_host(url: str) -> str:
    """``host[:port]`` of ``url`` without user info (for runtime labels)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else (host or redact_urls(url))


def url_secrets(url: str | None) -> list[str]:
    """The secret parts of ``url`` (password, user name, secret-looking query values), for exact scrubbing."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    out = [v for v in (parts.password, parts.username) if v]
    for pair in re.split(r"[&;]", parts.query or ""):
        name, _, value = pair.partition("=")
        if value and _QUERY_SECRET.match("?" + name + "=" + value):
            out.append(value)
    return out
