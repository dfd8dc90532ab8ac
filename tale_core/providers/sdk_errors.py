"""What the OpenAI and Anthropic providers share when an SDK call goes wrong.

Both SDKs are generated from the same template: their timeout, connection and response-validation
errors (and httpx2's underneath) mean the same things, so they are mapped onto
:mod:`tale_core.errors` here, once. Status-code errors stay with each provider: their bodies differ.
"""

from __future__ import annotations

import re
from typing import Any

from tale_core.errors import (
    AuthError,
    BadResponse,
    ContextTooLong,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnreachable,
    RateLimitError,
    ServerError,
)
from tale_core.redact import public_url, redact_urls


class CallbackError(Exception):
    """Wraps an exception raised by the caller's ``on_text`` so it is re-raised untouched."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original


class Unreadable(Exception):
    """The answer arrived but has the wrong shape."""


class StreamCut(Exception):
    """The stream ended cleanly but before its final event."""


def api_message(e: Any) -> str:
    """The server's own error message from an SDK status error, else the exception's text."""
    api = getattr(e, "api_message", None)
    if isinstance(api, str) and api.strip():
        return api.strip()
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"].strip()
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return str(getattr(e, "message", "") or e).strip()


def attempts_text(e: Any, default: int) -> str:
    """ "after N attempts", N read from the SDK's retry-count header on the final request when present."""
    n = default
    try:
        n = int(e.response.request.headers.get("x-stainless-retry-count")) + 1
    except (AttributeError, TypeError, ValueError):
        pass
    return f"after {n} attempt{'s' if n != 1 else ''}"


def describe_cause(e: BaseException) -> str:
    """The underlying transport error in words, with any URL credentials or query keys in it removed."""
    c = e.__cause__ or e.__context__
    text = f"{type(c).__name__}: {c}" if c is not None else str(e)
    return redact_urls(text.strip())[:300] or type(e).__name__


def map_transport_error(
    e: BaseException,
    sdk: Any,
    *,
    label: str,
    provider: str,
    base_url: str,
    timeout_s: float,
    max_retries: int,
    started: bool,
) -> ProviderError | None:
    """Map the errors that are not an HTTP status (our own shape checks, timeouts, broken connections,
    unreadable bodies); None when ``e`` is a status error or unknown, for the provider to map."""
    import httpx2

    if isinstance(e, StreamCut):
        return ServerError(f"The stream from {label} broke off: {e}.", provider=provider)
    if isinstance(e, Unreadable):
        return BadResponse(f"{label} sent an answer we cannot read: {e}.", provider=provider)
    if isinstance(e, (sdk.APITimeoutError, httpx2.TimeoutException)):
        if started:
            return ProviderTimeout(f"{label} stopped sending the stream for {timeout_s:g} s.", provider=provider)
        return ProviderTimeout(
            f"{label} did not answer within {timeout_s:g} s ({attempts_text(None, max_retries + 1)}).",
            provider=provider,
        )
    if isinstance(e, (sdk.APIConnectionError, httpx2.TransportError)):
        cause = describe_cause(e)
        if started:
            return ServerError(f"The stream from {label} broke off midway: {cause}.", provider=provider)
        return ProviderUnreachable(
            f"Cannot connect to {label} at {public_url(base_url)} ({cause}). Is the server running and the URL right?",
            provider=provider,
            detail=cause,
        )
    if isinstance(e, sdk.APIResponseValidationError):
        return BadResponse(
            f"{label} sent an answer we cannot read: {e.message}", provider=provider, status=e.status_code
        )
    return None


#: request fields whose rejection we can name, with what to do about it
_PARAM_ADVICE = {
    "max_tokens": "this model takes max_completion_tokens: declare max_tokens_param 'max_completion_tokens' in "
    "the endpoint's capabilities",
    "max_completion_tokens": "this server takes max_tokens: declare max_tokens_param 'max_tokens' in the endpoint's "
    "capabilities",
    "reasoning_effort": "this model has no reasoning effort (or not this level): choose another method or level",
    "temperature": "this model takes no temperature",
    "top_p": "this model takes no top_p",
    "seed": "this model takes no seed",
    "verbosity": "this model has no verbosity setting",
    "thinking": "this model has no thinking budget (or not this one)",
    "budget_tokens": "the thinking budget is outside what this model takes",
    "extra_body": "this server takes no Gemini-style thinking budget",
    "thinking_budget": "this server takes no thinking budget in the body",
    "output_config": "this model has no effort setting",
    "stop": "this model takes no stop sequences",
}


def unsupported_parameter_message(e: Any, body: dict, who: str) -> str | None:
    """A clear message for a 400 that says a request parameter is unsupported, naming the parameter;
    None when the error is about something else."""
    msg = api_message(e)
    low = msg.lower()
    code = str(getattr(e, "code", "") or "").lower()
    if not (
        "unsupported" in code
        or "unsupported" in low
        or "not supported" in low
        or "unrecognized" in low
        or "unknown parameter" in low
        or "extra inputs are not permitted" in low
        or "does not support" in low
    ):
        return None
    param = getattr(e, "param", None)
    if not isinstance(param, str) or not param:
        param = None
        for name in sorted(_PARAM_ADVICE, key=len, reverse=True):  # longest first: max_completion_tokens
            if name in low or name in code:
                param = name
                break
    if param is None:
        return None
    leaf = param.split(".")[-1]
    advice = _PARAM_ADVICE.get(leaf) or _PARAM_ADVICE.get(param.split(".")[0], "leave it out")
    value = body.get(param.split(".")[0])
    sent = f" (sent {value!r})" if value is not None and not isinstance(value, (dict, list)) else ""
    return f"{who} does not accept the parameter {param!r}{sent}: {advice}. Server said: {msg[:300]}"


#: what a 400/422 says when the prompt does not fit the model's context window
CONTEXT_TOO_LONG_RE = re.compile(
    r"context.length|context.window|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (model'?s? )?(context|maximum)",
    re.I,
)


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date), or None."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        import email.utils
        import time

        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, IndexError):
            return None
    return None


def map_http_status(
    status: int,
    msg: str,
    headers: Any,
    *,
    provider: str,
    label: str,
    model: str,
    base_url: str,
    key_hint: str,
    after: str,
    context_too_long: bool = False,
) -> ProviderError:
    """The typed error for an HTTP error status from an OpenAI-style or Anthropic API (one mapping for both;
    each provider handles its own special cases, e.g. OpenAI's ``insufficient_quota``, before calling this).

    ``after`` says what was tried ("after 3 attempts"); ``context_too_long`` is the provider's reading of a
    400 that means the prompt does not fit.
    """
    kw: dict[str, Any] = {"provider": provider, "status": status, "detail": msg[:500]}
    if status == 401:
        return AuthError(f"The {label} API key was rejected (401). Check {key_hint}.", **kw)
    if status == 403:
        return AuthError(f"The {label} API key may not use this (403): {msg}", **kw)
    if status == 404:
        return ModelNotFound(
            f"{label} does not know the model {model!r} (404): {msg} Check the model name and the base URL "
            f"{public_url(base_url)}.",
            **kw,
        )
    if status == 408:
        return ProviderTimeout(f"{label} timed out on its side (408): {msg}", **kw)
    if status == 413:
        return ContextTooLong(f"The request is too large for {label} (413): {msg}", **kw)
    if status == 429:
        ra = parse_retry_after(headers)
        wait = f" The server asks to wait {ra:g} s." if ra is not None else ""
        return RateLimitError(f"{label} rate limit hit (429) {after}.{wait}", retry_after=ra, **kw)
    if status in (400, 422):
        if context_too_long or CONTEXT_TOO_LONG_RE.search(msg):
            return ContextTooLong(f"The prompt is too long for {model} on {label}: {msg}", **kw)
        return InvalidRequest(f"{label} rejected the request ({status}): {msg}", **kw)
    if status >= 500:
        what = "is overloaded" if status == 529 else f"had a server error ({status})"
        return ServerError(f"{label} {what} {after}: {msg}", **kw)
    return ProviderError(f"{label} answered {status}: {msg}", **kw)
