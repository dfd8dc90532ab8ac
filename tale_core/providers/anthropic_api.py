"""Anthropic's Messages API through the official ``anthropic`` SDK (2.x, API version 2026-10-21).

What is sent:
  * system messages go to ``system=``; user/assistant turns to ``messages``;
  * ``params.thinking_budget`` turns on extended thinking ``{"type": "enabled", "budget_tokens": N}``
    (checked before the call: N >= 1024 and N < max_tokens);
  * ``params.reasoning_effort`` goes to ``output_config={"effort": ...}`` (low/medium/high/xhigh/max, as
    the installed SDK's types list them); on models that think, without a thinking budget, it also turns
    on adaptive thinking ``{"type": "adaptive"}`` so the model decides how much to think;
  * thinking is requested with ``display: "summarized"`` so its text comes back;
  * no ``temperature`` / ``top_p`` / ``seed``: the 2.x SDK removed the sampling parameters and the API
    version it speaks rejects them (thinking never allowed a temperature anyway). Generation is
    therefore not seedable; the cache key still records the requested parameters.

Token counts, reported vs derived:
  * ``output_tokens`` is always the API's ``usage.output_tokens``, which includes thinking tokens (they
    are billed as output). ``input_tokens`` is every prompt token: the API's ``input_tokens`` plus
    ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` (which the API counts apart), with
    the cached parts in ``cache_read_tokens`` / ``cache_write_tokens`` so that pricing can tell them apart.
  * ``reasoning_tokens`` is ``usage.output_tokens_details.thinking_tokens`` when the API reports it
    (``reasoning_tokens_source == "provider"``). When it does not, it is **derived**: output tokens minus
    the visible answer's tokens (counted with :func:`tale_core.accounting.tokens.estimate_tokens`),
    ``reasoning_tokens_source == "derived"``. It is never counted from the thinking *text*: that text
    is a summary, far shorter than what the model generated and was billed for.

Calls with an output cap above :data:`STREAM_ABOVE_TOKENS` (every thinking call) are streamed even
without ``on_text``, so the client timeout bounds the silence between events rather than the whole
generation, and the SDK never resends a call that timed out after it started. Retries are the SDK's
(429 / 5xx / connection errors, honouring Retry-After); a Retry-After longer than
:data:`MAX_RETRY_AFTER_S` is not waited for. A call still rate-limited or overloaded after them gets up
to ``rate_limit_retries`` more rounds (such a request was not processed). Every HTTP response feeds the
process-wide adaptive limiter (:mod:`tale_core.providers.limiter`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from tale_core.errors import (
    AuthError,
    BadResponse,
    InvalidRequest,
    ProviderError,
    RateLimitError,
    ServerError,
)
from tale_core.providers.base import ChatModel, OnText, Stopwatch
from tale_core.providers.capabilities import Capabilities, UnsupportedMethod, validate_params
from tale_core.providers.catalog import ModelInfo, capabilities_for, lookup
from tale_core.providers.limiter import DEFAULT_API_CONCURRENCY, AdaptiveLimiter, get_limiter
from tale_core.providers.openai_compat import estimate_count, literal_values, usage_dict
from tale_core.providers.registry import ProviderFamily, register_provider
from tale_core.providers.sdk_errors import (
    CallbackError,
    StreamCut,
    Unreadable,
    api_message,
    attempts_text,
    map_http_status,
    map_transport_error,
    parse_retry_after,
)
from tale_core.redact import public_host
from tale_core.settings import ProviderSettings
from tale_core.types import Completion, GenParams, Message, usage_problems

PROVIDER = "anthropic"
DEFAULT_BASE_URL = "https://api.anthropic.com"
MIN_THINKING_BUDGET = 1024
#: longest server-requested wait the SDK may sleep before a retry; longer ones fail fast instead
MAX_RETRY_AFTER_S = 120.0
#: calls whose output cap is above this are streamed even when nobody watches the text
STREAM_ABOVE_TOKENS = 4096
#: error ``type`` of an error event inside a 200 stream -> the HTTP status it stands for
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def effort_values() -> tuple[str, ...]:
    """The ``output_config.effort`` values the installed SDK's types accept."""
    import typing

    from anthropic.types.output_config_param import OutputConfigParam

    hints = typing.get_type_hints(OutputConfigParam)
    return tuple(v for v in literal_values(hints["effort"]) if isinstance(v, str))


def _cap_retry_after(request: Any, call_next: Any) -> Any:
    """SDK middleware: don't sleep through a Retry-After above MAX_RETRY_AFTER_S; fail fast instead."""
    response = call_next(request)
    http = getattr(response, "http_response", None)
    if http is not None and (http.status_code == 429 or http.status_code >= 500):
        ra = parse_retry_after(http.headers)
        if ra is not None and ra > MAX_RETRY_AFTER_S:
            http.headers["x-should-retry"] = "false"
    return response


def _observe(limiter: AdaptiveLimiter) -> Any:
    """SDK middleware: tell the limiter every HTTP response's status (retries included)."""

    def middleware(request: Any, call_next: Any) -> Any:
        response = call_next(request)
        http = getattr(response, "http_response", None)
        if http is not None:
            limiter.observe_status(int(http.status_code), parse_retry_after(http.headers))
        return response

    return middleware


def _discard(_: str) -> None:
    """``on_text`` of a call streamed only because it is long."""


class AnthropicModel(ChatModel):
    """One Claude model. See the module docstring for what is sent and how tokens are counted."""

    provider = PROVIDER
    max_concurrency = DEFAULT_API_CONCURRENCY

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 2,
        concurrency: int = DEFAULT_API_CONCURRENCY,
        rate_limit_retries: int = 8,
    ):
        import anthropic

        if not isinstance(model, str) or not model.strip():
            raise InvalidRequest("The model name is empty.", provider=PROVIDER)
        if not api_key:
            raise AuthError(
                "No Anthropic API key: set ANTHROPIC_API_KEY or enter a key in the sidebar.", provider=PROVIDER
            )
        if not timeout_s or float(timeout_s) <= 0:
            raise InvalidRequest(f"timeout_s must be positive, got {timeout_s!r}", provider=PROVIDER)
        if int(max_retries) < 0:
            raise InvalidRequest(f"max_retries must be 0 or more, got {max_retries!r}", provider=PROVIDER)
        self.model = model.strip()
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.custom_base_url = self.base_url != DEFAULT_BASE_URL
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.info = lookup(PROVIDER, self.model)
        self.capabilities: Capabilities = capabilities_for(PROVIDER, self.model)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidRequest(f"concurrency must be 1 or more, got {concurrency!r}", provider=PROVIDER)
        self.max_concurrency = int(concurrency)
        self.rate_limit_retries = max(0, int(rate_limit_retries))
        self.limiter = get_limiter(PROVIDER, self.base_url, api_key, self.max_concurrency)
        try:
            self._client = anthropic.Anthropic(
                api_key=api_key,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
                middleware=[_observe(self.limiter), _cap_retry_after],
            )
        except anthropic.AnthropicError as e:
            raise AuthError(f"Cannot set up the Anthropic client: {e}", provider=PROVIDER) from None

    @property
    def host(self) -> str:
        return public_host(self.base_url)  # never the URL's user:password

    def runtime(self) -> str:
        import anthropic

        try:  # the API version the SDK sends in its anthropic-version header
            from anthropic._constants import ANTHROPIC_API_VERSION as api
        except ImportError:
            api = "?"
        rt = f"anthropic-sdk {anthropic.__version__} (API {api})"
        return f"{rt} @ {self.host}" if self.custom_base_url else rt

    def call_settings(self) -> dict[str, Any]:
        """Concurrency, timeout and retries of this model's calls (recorded with each experiment)."""
        return {
            "concurrency": self.max_concurrency,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "rate_limit_retries": self.rate_limit_retries,
            "stream_above_tokens": STREAM_ABOVE_TOKENS,
        }

    # -- request -----------------------------------------------------------------------------------------

    def build_request(self, messages: Sequence[Message], params: GenParams) -> dict[str, Any]:
        """The Messages JSON body (without ``stream``). Raises InvalidRequest before any call."""
        if not isinstance(params.max_tokens, int) or params.max_tokens < 1:
            raise InvalidRequest(
                f"max_tokens must be a positive whole number, got {params.max_tokens!r}", provider=PROVIDER
            )
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        turns = [{"role": m.role, "content": m.content} for m in messages if m.role != "system"]
        if not turns:
            raise InvalidRequest(
                "Anthropic needs at least one user message besides the system prompt.", provider=PROVIDER
            )
        body: dict[str, Any] = {"model": self.model, "max_tokens": params.max_tokens, "messages": turns}
        if system:
            body["system"] = system
        if params.stop:
            body["stop_sequences"] = list(params.stop)
        budget = params.thinking_budget
        if budget is not None:
            if isinstance(budget, bool) or not isinstance(budget, int):
                raise InvalidRequest(
                    f"The thinking budget must be a whole number of tokens, got {budget!r}.", provider=PROVIDER
                )
            if budget < MIN_THINKING_BUDGET:
                raise InvalidRequest(
                    f"The thinking budget must be at least {MIN_THINKING_BUDGET} tokens "
                    f"(Anthropic's minimum), got {budget}.",
                    provider=PROVIDER,
                )
            if budget >= params.max_tokens:
                raise InvalidRequest(
                    f"The thinking budget ({budget}) must be less than max_tokens "
                    f"({params.max_tokens}): thinking counts toward max_tokens. Raise "
                    "max_tokens or lower the budget.",
                    provider=PROVIDER,
                )
            body["thinking"] = {"type": "enabled", "budget_tokens": budget, "display": "summarized"}
        effort = params.reasoning_effort
        if effort is not None:
            allowed = effort_values()
            if effort not in allowed:
                raise InvalidRequest(
                    f"Anthropic effort {effort!r} is not one of {', '.join(allowed)}.", provider=PROVIDER
                )
            body["output_config"] = {"effort": effort}
            if budget is None and self.capabilities.adaptive_thinking:
                body["thinking"] = {"type": "adaptive", "display": "summarized"}
        if params.hard_budget is not None:
            raise InvalidRequest(
                f"{self.model} cannot take a hard budget here: budget forcing continues the model's own "
                "reasoning, and Claude's thinking cannot be continued from a prefix.",
                provider=PROVIDER,
            )
        try:
            validate_params(self.capabilities, params, name=self.model)
        except UnsupportedMethod as e:
            raise InvalidRequest(str(e), provider=PROVIDER) from None
        return body

    # -- call --------------------------------------------------------------------------------------------

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        """Send the messages; stream through ``on_text`` when given. Raises :mod:`tale_core.errors` types."""
        body = self.build_request(list(messages), params)
        stream = on_text is not None or params.max_tokens > STREAM_ABOVE_TOKENS or "thinking" in body
        for round_ in range(self.rate_limit_retries + 1):
            try:
                with self.limiter.slot():
                    return self._call_once(body, on_text if on_text is not None else _discard, stream)
            except (RateLimitError, ServerError) as e:
                overloaded = isinstance(e, RateLimitError) or e.status == 529
                ra = e.retry_after
                started = getattr(e, "started", False)  # a stream that broke off was processed: never resent
                if started or not overloaded or round_ >= self.rate_limit_retries or (ra or 0) > MAX_RETRY_AFTER_S:
                    raise
                time.sleep(min(60.0, ra if ra is not None else 1.0 * 2**round_))
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, body: dict, on_text: OnText, stream: bool) -> Completion:
        state = {"started": False}
        try:
            if not stream:
                return self._complete_json(body)
            return self._complete_stream(body, on_text, state)
        except CallbackError as e:
            raise e.original from None
        except ProviderError as e:
            e.started = state["started"]  # type: ignore[attr-defined]
            raise
        except Exception as e:  # every SDK / parse failure becomes a typed error
            mapped = self.map_error(e, started=state["started"])
            mapped.started = state["started"]  # type: ignore[attr-defined]
            raise mapped from e

    def _complete_json(self, body: dict) -> Completion:
        sw = Stopwatch()
        msg = self._client.messages.create(**body)
        if isinstance(msg, str):
            raise Unreadable(f"the answer is not JSON: {msg[:80]!r}")
        return self._completion(body, msg, sw, first=None)

    def _complete_stream(self, body: dict, on_text: OnText, state: dict) -> Completion:
        sw = Stopwatch()
        stopped = False
        events = 0
        with self._client.messages.stream(**body) as stream:
            state["started"] = True  # the server accepted the request: a failure now breaks the stream
            for event in stream:
                events += 1
                etype = getattr(event, "type", None)
                if etype == "text":
                    sw.mark_first()
                    try:
                        on_text(getattr(event, "text", ""))
                    except BaseException as e:
                        raise CallbackError(e) from e
                elif etype == "message_stop":
                    stopped = True
            if events == 0:
                raise Unreadable("the streaming answer carried no events (is this the Anthropic API?)")
            if not stopped:
                raise StreamCut(f"the stream ended before message_stop (after {events} events)")
            msg = stream.get_final_message()
        return self._completion({**body, "stream": True}, msg, sw, first=sw.first)

    def _completion(self, request: dict, msg: Any, sw: Stopwatch, first: float | None) -> Completion:
        try:
            blocks = list(msg.content)
            usage = msg.usage
            api_input, output_tokens = usage.input_tokens, usage.output_tokens
        except (AttributeError, TypeError) as e:
            raise Unreadable(f"no content or usage ({e})") from None
        if not isinstance(api_input, int) or not isinstance(output_tokens, int):
            raise Unreadable("usage has no token counts")
        cache_read = getattr(usage, "cache_read_input_tokens", None)
        cache_write = getattr(usage, "cache_creation_input_tokens", None)
        cache_read = cache_read if isinstance(cache_read, int) else 0
        cache_write = cache_write if isinstance(cache_write, int) else 0
        texts: list[str] = []
        thoughts: list[str] = []
        redacted = 0
        for b in blocks:
            btype = getattr(b, "type", None)
            if btype == "text":
                texts.append(getattr(b, "text", "") or "")
            elif btype == "thinking":
                thoughts.append(getattr(b, "thinking", "") or "")
            elif btype == "redacted_thinking":
                redacted += 1
        text = "".join(texts)
        thinking = "\n\n".join(t for t in thoughts if t)
        raw = usage_dict(usage)
        details = getattr(usage, "output_tokens_details", None)
        reported = getattr(details, "thinking_tokens", None) if details is not None else None
        source: str | None
        if isinstance(reported, int):
            reasoning, source = reported, ("provider" if reported else None)
        elif thoughts or redacted:
            # Claude thought (the thinking blocks say so) but the usage has no thinking count: everything
            # it generated beyond the visible answer was thinking. The thinking text is only a summary.
            visible = estimate_count(text, self.model)
            raw["visible_tokens_counted"] = visible
            reasoning, source = max(0, output_tokens - visible), "derived"
        else:
            reasoning, source = 0, None
        if redacted:
            raw["redacted_thinking_blocks"] = redacted
        return Completion(
            text=text,
            provider=PROVIDER,
            model=self.model,
            input_tokens=api_input + cache_read + cache_write,
            output_tokens=output_tokens,
            reasoning_tokens=reasoning,
            finish_reason=getattr(msg, "stop_reason", None),
            latency_s=sw.elapsed(),
            first_token_s=first,
            runtime=self.runtime(),
            request=request,
            usage_source="provider",
            raw_usage=raw,
            thinking=thinking,
            reasoning_tokens_source=source,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            usage_warnings=usage_problems(output_tokens, reasoning),
        )

    # -- errors ------------------------------------------------------------------------------------------

    def map_error(self, e: BaseException, *, started: bool = False) -> ProviderError:
        """Translate an SDK or parsing exception into a :mod:`tale_core.errors` type with a clear message."""
        import anthropic

        p = PROVIDER
        mapped = map_transport_error(
            e,
            anthropic,
            label="Anthropic",
            provider=p,
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            started=started,
        )
        if mapped is not None:
            return mapped
        if isinstance(e, anthropic.APIStatusError):
            status = e.status_code
            if status < 400:  # an error event inside a 200 stream: its type says what it is
                status = _TYPE_STATUS.get(str(getattr(e, "type", "") or ""), 500)
                return self._map_status(status, e, None, during="during the stream")
            return self._map_status(status, e, e.response.headers)
        if isinstance(e, anthropic.AnthropicError):
            return ProviderError(f"Anthropic client error: {e}", provider=p)
        if isinstance(e, (ValueError, TypeError, AttributeError, KeyError, IndexError, AssertionError, RuntimeError)):
            return BadResponse(f"Anthropic sent an answer we cannot read ({type(e).__name__}: {e}).", provider=p)
        return ProviderError(f"Anthropic call failed: {type(e).__name__}: {e}", provider=p)

    def _map_status(self, status: int, e: Any, headers: Any, during: str = "") -> ProviderError:
        msg = api_message(e)
        if status == 402:
            return ProviderError(
                f"Anthropic refused the call for a billing reason (402): {msg}",
                provider=PROVIDER,
                status=status,
                detail=msg[:500],
            )
        return map_http_status(
            status,
            msg,
            headers,
            provider=PROVIDER,
            label="Anthropic",
            model=self.model,
            base_url=self.base_url,
            key_hint="ANTHROPIC_API_KEY",
            after=during or attempts_text(e, self.max_retries + 1),
        )


# --- registration (tale_core.providers.registry) -----------------------------------------------------
_CLAUDE_VERSION = re.compile(r"claude-(?:(?:haiku|sonnet|opus)-(\d+)|(\d+)-(\d+))")


def _describe_claude(provider: str, model: str) -> ModelInfo:
    """Every Claude from 3.7 on supports extended thinking (claude-sonnet-4-6, claude-3-7-sonnet, ...)."""
    m = _CLAUDE_VERSION.match(model)
    thinking = m is not None and (int(m.group(1) or m.group(2)) >= 4 or (m.group(2) == "3" and m.group(3) == "7"))
    return ModelInfo(provider, model, model, 128_000, 4096, thinking=thinking)


def _anthropic(provider: str, model: str, settings: ProviderSettings) -> ChatModel:
    return AnthropicModel(
        model,
        api_key=FAMILY.key(settings),
        base_url=settings.anthropic_base_url,
        timeout_s=settings.timeout_s,
        max_retries=settings.max_retries,
        concurrency=settings.concurrency,
        rate_limit_retries=settings.rate_limit_retries,
    )


FAMILY = register_provider(
    ProviderFamily(
        PROVIDER,
        "Anthropic",
        _anthropic,
        key_env="ANTHROPIC_API_KEY",
        api_key=lambda s: s.anthropic_api_key,
        describe=_describe_claude,
    )
)
