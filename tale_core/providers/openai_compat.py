"""OpenAI Chat Completions through the official ``openai`` SDK: OpenAI itself and any compatible server.

One SDK client per model instance, reused across threads (the SDK's HTTP client is thread-safe).
Retries of 429 / 5xx / timeouts / connection errors are the SDK's own (``max_retries``, honouring
Retry-After up to two minutes); nothing here retries on top of that, except resending once without a
sampling parameter the model says it does not support (``temperature`` on o-series models).

Token counts come from the response's ``usage`` block (``prompt_tokens``, ``completion_tokens``, and
``completion_tokens_details.reasoning_tokens`` for hidden reasoning, already included in
``completion_tokens``). A compatible server that sends no usage gets counts estimated with
:func:`tale_core.accounting.tokens.estimate_tokens` and ``usage_source="estimate"``.

The small SDK-neutral module-level helpers (Retry-After parsing, estimates, error text) are shared with
:mod:`tale_core.providers.anthropic_api`; this module imports the ``openai`` SDK only when a model is used.
"""

from __future__ import annotations

import re
import threading
import typing
from collections.abc import Sequence
from typing import Any

from tale_core.errors import (
    AuthError,
    BadResponse,
    ContextTooLong,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    RateLimitError,
    ServerError,
    UnknownModel,
)
from tale_core.providers.base import ChatModel, OnText, Stopwatch
from tale_core.providers.catalog import ModelInfo, lookup
from tale_core.providers.registry import ProviderFamily, register_provider
from tale_core.providers.sdk_errors import (
    CallbackError,
    StreamCut,
    Unreadable,
    api_message,
    attempts_text,
    map_transport_error,
)
from tale_core.redact import public_host, public_url
from tale_core.settings import ProviderSettings
from tale_core.types import Completion, GenParams, Message, messages_to_dicts

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: sampling parameters we may leave out when the model answers that it does not support them
DROPPABLE_PARAMS = ("temperature", "top_p")
_CONTEXT_RE = re.compile(
    r"context.length|context.window|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (model'?s? )?(context|maximum)",
    re.I,
)


def reasoning_effort_values() -> tuple[str, ...]:
    """The ``reasoning_effort`` values the installed SDK's types accept."""
    from openai.types.shared.reasoning_effort import ReasoningEffort

    return tuple(v for v in literal_values(ReasoningEffort) if isinstance(v, str))


def literal_values(tp: Any) -> list[Any]:
    out: list[Any] = []
    for arg in typing.get_args(tp):
        if typing.get_origin(arg) is typing.Literal:
            out.extend(typing.get_args(arg))
        elif arg is not type(None):
            out.extend(literal_values(arg) if typing.get_args(arg) else [arg])
    return out


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


def estimate_count(text: str, model: str) -> int:
    """Estimated tokens of ``text``: the tokens module when present, else about four characters a token."""
    if not text:
        return 0
    try:
        from tale_core.accounting.tokens import estimate_tokens

        return int(estimate_tokens(text, model))
    except Exception:  # the estimate must never break a call that succeeded
        return max(1, round(len(text) / 4))


class OpenAIModel(ChatModel):
    """One Chat Completions model on OpenAI or on an OpenAI-compatible server (``provider="compat:<name>"``).

    Reasoning models (the catalogue says so, or ``params.reasoning_effort`` is set) get
    ``max_completion_tokens`` instead of ``max_tokens`` and ``reasoning_effort``; catalogued reasoning
    models (o-series, gpt-5) also get no ``temperature`` / ``top_p``, which they reject.
    ``Completion.request`` is the exact JSON body sent (the key travels in a header, never in it).
    """

    max_concurrency = 4

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        provider: str = "openai",
        timeout_s: float = 120.0,
        max_retries: int = 2,
    ):
        import openai

        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("The model name is empty.", provider=provider)
        if not timeout_s or float(timeout_s) <= 0:
            raise InvalidRequest(f"timeout_s must be positive, got {timeout_s!r}", provider=provider)
        if int(max_retries) < 0:
            raise InvalidRequest(f"max_retries must be 0 or more, got {max_retries!r}", provider=provider)
        self.model = model.strip()
        self.provider = provider
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.custom_base_url = self.base_url != DEFAULT_BASE_URL
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.info = lookup(provider, self.model)
        self._dropped: set[str] = set()
        self._lock = threading.Lock()
        if not api_key:
            if provider == "openai":
                raise AuthError(
                    "No OpenAI API key: set OPENAI_API_KEY or enter a key in the sidebar.", provider=provider
                )
            api_key = "not-needed"  # compatible servers often need none, the SDK insists on one
        try:
            self._client = openai.OpenAI(
                api_key=api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=self.max_retries
            )
        except openai.OpenAIError as e:
            raise AuthError(f"Cannot set up the {self.label} client: {e}", provider=provider) from None

    # -- descriptions ------------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """How messages name this provider: "OpenAI" or "endpoint 'name'"."""
        if self.provider == "openai":
            return "OpenAI"
        if self.provider.startswith("compat:"):
            return f"endpoint '{self.provider.split(':', 1)[1]}'"
        return self.provider

    @property
    def host(self) -> str:
        return public_host(self.base_url)  # never the URL's user:password

    @property
    def key_hint(self) -> str:
        if self.provider == "openai":
            return "OPENAI_API_KEY"
        return "the endpoint's API key (its api_key_env variable)"

    def runtime(self) -> str:
        import openai

        rt = f"openai-sdk {openai.__version__}"
        return f"{rt} @ {self.host}" if self.custom_base_url else rt

    def is_reasoning(self, params: GenParams) -> bool:
        """Whether the request uses the reasoning-model shape (max_completion_tokens, reasoning_effort)."""
        return bool(self.info.reasoning or params.reasoning_effort is not None)

    # -- request -----------------------------------------------------------------------------------------

    def build_request(self, messages: Sequence[Message], params: GenParams, stream: bool) -> dict[str, Any]:
        """The Chat Completions JSON body for ``messages`` and ``params``. Raises InvalidRequest."""
        msgs = list(messages)
        if not msgs:
            raise InvalidRequest("No messages to send.", provider=self.provider)
        if not isinstance(params.max_tokens, int) or params.max_tokens < 1:
            raise InvalidRequest(
                f"max_tokens must be a positive whole number, got {params.max_tokens!r}", provider=self.provider
            )
        if params.reasoning_effort is not None:
            allowed = reasoning_effort_values()
            if params.reasoning_effort not in allowed:
                raise InvalidRequest(
                    f"reasoning_effort {params.reasoning_effort!r} is not one of {', '.join(allowed)}",
                    provider=self.provider,
                )
        with self._lock:
            dropped = set(self._dropped)
        body: dict[str, Any] = {"model": self.model, "messages": messages_to_dicts(msgs)}
        if self.is_reasoning(params):
            body["max_completion_tokens"] = params.max_tokens
            if params.reasoning_effort is not None:
                body["reasoning_effort"] = params.reasoning_effort
        else:
            body["max_tokens"] = params.max_tokens
        if not self.info.reasoning:  # o-series / gpt-5 reject sampling parameters
            if "temperature" not in dropped:
                body["temperature"] = float(params.temperature)
            if params.top_p is not None and "top_p" not in dropped:
                body["top_p"] = float(params.top_p)
        if params.seed is not None:
            body["seed"] = int(params.seed)
        if params.stop:
            body["stop"] = list(params.stop)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    # -- call --------------------------------------------------------------------------------------------

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        """Send the chat; stream through ``on_text`` when given. Raises :mod:`tale_core.errors` types."""
        import openai

        for _ in range(len(DROPPABLE_PARAMS) + 1):
            body = self.build_request(messages, params, stream=on_text is not None)
            state = {"started": False}
            try:
                if on_text is None:
                    return self._complete_json(body, messages)
                return self._complete_stream(body, messages, on_text, state)
            except CallbackError as e:
                raise e.original from None
            except openai.BadRequestError as e:
                param = self._unsupported_param(e, body)
                if param is None:
                    raise self.map_error(e) from e
                with self._lock:
                    self._dropped.add(param)
            except ProviderError:
                raise
            except Exception as e:  # every SDK / parse failure becomes a typed error
                raise self.map_error(e, started=state["started"]) from e
        raise InvalidRequest(f"{self.label} kept rejecting the request's parameters.", provider=self.provider)

    def _unsupported_param(self, e: Any, body: dict) -> str | None:
        """The sampling parameter a 400 says the model does not support, if we can still leave it out."""
        msg = api_message(e).lower()
        code = str(getattr(e, "code", "") or "").lower()
        if not ("unsupported" in code or "support" in msg or "deprecated" in msg):
            return None
        param = getattr(e, "param", None)
        if param not in DROPPABLE_PARAMS:
            param = next((q for q in DROPPABLE_PARAMS if q in msg), None)
        if param is None or param not in body:
            return None
        with self._lock:
            return None if param in self._dropped else param

    def _complete_json(self, body: dict, messages: Sequence[Message]) -> Completion:
        sw = Stopwatch()
        resp = self._client.chat.completions.create(**body)
        if isinstance(resp, str):
            raise Unreadable(f"the answer is not JSON: {resp[:80]!r}")
        choices = getattr(resp, "choices", None)
        if not choices:
            raise Unreadable("the answer has no choices")
        choice = choices[0]
        message = getattr(choice, "message", None)
        if message is None:
            raise Unreadable("the first choice has no message")
        text = getattr(message, "content", None) or getattr(message, "refusal", None) or ""
        if not isinstance(text, str):
            raise Unreadable(f"message content is {type(text).__name__}, not text")
        thinking = _reasoning_text(message)
        return self._completion(
            body,
            messages,
            text,
            thinking,
            getattr(choice, "finish_reason", None),
            getattr(resp, "usage", None),
            sw,
            first=None,
        )

    def _complete_stream(self, body: dict, messages: Sequence[Message], on_text: OnText, state: dict) -> Completion:
        sw = Stopwatch()
        stream = self._client.chat.completions.create(**body)
        state["started"] = True  # the server accepted the request: a failure now breaks the stream
        pieces: list[str] = []
        thinking: list[str] = []
        usage = None
        finish = None
        chunks = 0
        try:
            for chunk in stream:
                chunks += 1
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                for ch in getattr(chunk, "choices", None) or ():
                    delta = getattr(ch, "delta", None)
                    piece = getattr(delta, "content", None) if delta is not None else None
                    if piece:
                        sw.mark_first()
                        pieces.append(piece)
                        try:
                            on_text(piece)
                        except BaseException as e:
                            raise CallbackError(e) from e
                    rt = _reasoning_text(delta) if delta is not None else ""
                    if rt:
                        thinking.append(rt)
                    if getattr(ch, "finish_reason", None):
                        finish = ch.finish_reason
        finally:
            stream.close()
        if chunks == 0:
            raise Unreadable("the streaming answer carried no events (is this an OpenAI-compatible server?)")
        if finish is None:
            raise StreamCut(
                f"the stream ended before the answer was complete (after {len(''.join(pieces))} characters)"
            )
        return self._completion(body, messages, "".join(pieces), "".join(thinking), finish, usage, sw, first=sw.first)

    def _completion(
        self,
        body: dict,
        messages: Sequence[Message],
        text: str,
        thinking: str,
        finish: Any,
        usage: Any,
        sw: Stopwatch,
        first: float | None,
    ) -> Completion:
        counts = _usage_counts(usage)
        if counts is None:
            source = "estimate"
            input_tokens = sum(estimate_count(m.content, self.model) + 4 for m in messages) + 3
            reasoning = estimate_count(thinking, self.model) if thinking else 0
            output_tokens = estimate_count(text, self.model) + reasoning
            raw = {"estimated": True, "reason": "the server sent no usage"}
            if usage is not None:
                raw["server_usage"] = usage_dict(usage)
        else:
            source = "provider"
            input_tokens, output_tokens, reasoning = counts
            raw = usage_dict(usage)
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            reasoning_tokens=reasoning,
            finish_reason=str(finish) if finish is not None else None,
            latency_s=sw.elapsed(),
            first_token_s=first,
            runtime=self.runtime(),
            request=body,
            usage_source=source,
            raw_usage=raw,
            thinking=thinking,
        )

    # -- errors ------------------------------------------------------------------------------------------

    def map_error(self, e: BaseException, *, started: bool = False) -> ProviderError:
        """Translate an SDK or parsing exception into a :mod:`tale_core.errors` type with a clear message."""
        import openai

        p, label = self.provider, self.label
        mapped = map_transport_error(
            e,
            openai,
            label=label,
            provider=p,
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            started=started,
        )
        if mapped is not None:
            return mapped
        if isinstance(e, openai.APIStatusError):
            return self._map_status(e.status_code, e, e.response.headers)
        if isinstance(e, openai.APIError):  # an error event inside a stream
            code = str(getattr(e, "code", "") or "")
            msg = api_message(e)
            if code == "context_length_exceeded" or _CONTEXT_RE.search(msg):
                return ContextTooLong(f"The prompt is too long for {self.model} on {label}: {msg}", provider=p)
            if "rate" in code or "rate limit" in msg.lower():
                return RateLimitError(f"{label} rate limit hit during the stream: {msg}", provider=p)
            return ServerError(f"{label} reported an error during the stream: {msg}", provider=p)
        if isinstance(e, openai.OpenAIError):
            return ProviderError(f"{label} client error: {e}", provider=p)
        if isinstance(e, (ValueError, TypeError, AttributeError, KeyError, IndexError)):
            return BadResponse(f"{label} sent an answer we cannot read ({type(e).__name__}: {e}).", provider=p)
        return ProviderError(f"{label} call failed: {type(e).__name__}: {e}", provider=p)

    def _map_status(self, status: int, e: Any, headers: Any) -> ProviderError:
        p, label = self.provider, self.label
        msg = api_message(e)
        code = str(getattr(e, "code", "") or "")
        detail = msg[:500]
        after = attempts_text(e, self.max_retries + 1)
        kw = {"provider": p, "status": status, "detail": detail}
        if status == 401:
            return AuthError(f"The {label} API key was rejected (401). Check {self.key_hint}.", **kw)
        if status == 403:
            return AuthError(f"The {label} API key may not use this (403): {msg}", **kw)
        if status == 404:
            return ModelNotFound(
                f"{label} does not know the model {self.model!r} (404): {msg} Check the model "
                f"name and the base URL {public_url(self.base_url)}.",
                **kw,
            )
        if status == 408:
            return ProviderTimeout(f"{label} timed out on its side (408): {msg}", **kw)
        if status == 413:
            return ContextTooLong(f"The request is too large for {label} (413): {msg}", **kw)
        if status == 429:
            ra = parse_retry_after(headers)
            if code == "insufficient_quota":
                return RateLimitError(
                    f"{label} quota is used up (429 insufficient_quota): check the account's billing.",
                    retry_after=ra,
                    **kw,
                )
            wait = f" The server asks to wait {ra:g} s." if ra is not None else ""
            return RateLimitError(f"{label} rate limit hit (429) {after}.{wait}", retry_after=ra, **kw)
        if status in (400, 422):
            if code == "context_length_exceeded" or _CONTEXT_RE.search(msg):
                return ContextTooLong(f"The prompt is too long for {self.model} on {label}: {msg}", **kw)
            if code == "model_not_found":
                return ModelNotFound(f"{label} does not know the model {self.model!r}: {msg}", **kw)
            return InvalidRequest(f"{label} rejected the request ({status}): {msg}", **kw)
        if status >= 500:
            return ServerError(f"{label} had a server error ({status}) {after}: {msg}", **kw)
        return ProviderError(f"{label} answered {status}: {msg}", **kw)


# -- small readers -------------------------------------------------------------------------------------


def _reasoning_text(obj: Any) -> str:
    """Visible reasoning some compatible servers return (``reasoning_content`` or ``reasoning``)."""
    for name in ("reasoning_content", "reasoning"):
        v = getattr(obj, name, None)
        if isinstance(v, str) and v:
            return v
    return ""


def usage_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        try:
            return dict(obj.to_dict())
        except Exception:
            pass
    if isinstance(obj, dict):
        return dict(obj)
    return {"value": repr(obj)}


def _usage_counts(usage: Any) -> tuple[int, int, int] | None:
    """(input, output, reasoning) from a usage block, or None when it lacks the counts."""
    if usage is None:
        return None
    pt = getattr(usage, "prompt_tokens", None)
    ct = getattr(usage, "completion_tokens", None)
    if not isinstance(pt, int) or not isinstance(ct, int):
        return None
    details = getattr(usage, "completion_tokens_details", None)
    rt = getattr(details, "reasoning_tokens", None) if details is not None else None
    return pt, ct, rt if isinstance(rt, int) else 0


# --- registration (tale_core.providers.registry) -----------------------------------------------------
def _openai(provider: str, model: str, settings: ProviderSettings) -> ChatModel:
    key = FAMILY_OPENAI.key(settings)
    return OpenAIModel(
        model,
        api_key=key,
        base_url=settings.openai_base_url,
        provider=provider,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
    )


def _compat(provider: str, model: str, settings: ProviderSettings) -> ChatModel:
    name = provider.split(":", 1)[1] if ":" in provider else ""
    ep = settings.endpoints.get(name)
    if ep is None:
        known = ", ".join(settings.endpoints) or "none"
        raise UnknownModel(f"No endpoint named {name!r}; add it first (known: {known})")
    return OpenAIModel(
        model,
        api_key=settings.endpoint_key(ep) or "not-needed",
        base_url=ep.base_url,
        provider=provider,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
    )


def _describe_openai(provider: str, model: str) -> ModelInfo:
    """o-series and gpt-5 models reason (reasoning_effort); other names are taken as chat models."""
    return ModelInfo(provider, model, model, 128_000, 4096, reasoning=model.startswith(("o1", "o3", "o4", "gpt-5")))


FAMILY_OPENAI = register_provider(
    ProviderFamily(
        "openai",
        "OpenAI",
        _openai,
        key_env="OPENAI_API_KEY",
        api_key=lambda s: s.openai_api_key,
        describe=_describe_openai,
    )
)
register_provider(
    ProviderFamily(
        "compat",
        "OpenAI-compatible endpoint",
        _compat,
        pattern="compat:<endpoint>",
        extra_models=lambda s: [lookup(f"compat:{ep.name}", m) for ep in s.endpoints.values() for m in ep.models],
        describe=lambda provider, model: ModelInfo(provider, model, model, 8192, 4096),
    )
)
