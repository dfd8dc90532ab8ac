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

import dataclasses
import threading
import typing
from collections.abc import Callable, Sequence
from typing import Any

from tale_core.errors import (
    AuthError,
    BadResponse,
    ContextTooLong,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    RateLimitError,
    ServerError,
    UnknownModel,
)
from tale_core.providers.base import ChatModel, OnText, Stopwatch
from tale_core.providers.capabilities import Capabilities, UnsupportedMethod, validate_params
from tale_core.providers.catalog import ModelInfo, capabilities_for, lookup
from tale_core.providers.forcing import StepResult, force_budget, forcing_request, strip_prefix
from tale_core.providers.limiter import DEFAULT_API_CONCURRENCY, AdaptiveLimiter, get_limiter
from tale_core.providers.registry import ProviderFamily, register_provider
from tale_core.providers.sdk_errors import (
    CONTEXT_TOO_LONG_RE,
    CallbackError,
    StreamCut,
    Unreadable,
    api_message,
    attempts_text,
    map_http_status,
    map_transport_error,
    parse_retry_after,
    unsupported_parameter_message,
)
from tale_core.redact import public_host
from tale_core.settings import ProviderSettings
from tale_core.types import Completion, GenParams, Message, messages_to_dicts, usage_problems

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: calls whose output cap is above this many tokens are streamed even when nobody watches the text, so
#: that the client timeout counts the silence between pieces instead of the whole generation
STREAM_ABOVE_TOKENS = 4096
#: sampling parameters we may leave out when the model answers that it does not support them
DROPPABLE_PARAMS = ("temperature", "top_p", "seed")


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

    What is sent follows the model's :class:`~tale_core.providers.capabilities.Capabilities` (the
    catalogue's, or what a compatible endpoint declares): ``max_completion_tokens`` instead of
    ``max_tokens`` where declared (o-series, gpt-5, reasoning models behind compatible endpoints),
    ``reasoning_effort`` only with a level the model names, ``temperature`` / ``top_p`` / ``seed`` only
    where accepted, ``verbosity`` for gpt-5, a Gemini- or Qwen-style thinking budget in the body where
    an endpoint declares one, and budget forcing (``params.hard_budget``) where the server continues an
    assistant prefix. Anything else is refused before the call. ``Completion.request`` is the exact JSON
    body sent (the key travels in a header, never in it), so what it lacks was not sent.

    Calls go through the process-wide :class:`~tale_core.providers.limiter.AdaptiveLimiter` of this
    provider, endpoint and key (``max_concurrency`` calls at most, fewer while the server says 429).
    """

    max_concurrency = DEFAULT_API_CONCURRENCY

    def __init__(
        self,
        model: str,
        *,
        api_key: str,
        base_url: str | None = None,
        provider: str = "openai",
        timeout_s: float = 120.0,
        max_retries: int = 2,
        capabilities: Capabilities | None = None,
        concurrency: int = DEFAULT_API_CONCURRENCY,
        rate_limit_retries: int = 8,
        api: str = "chat",
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
        self.capabilities = capabilities if capabilities is not None else capabilities_for(provider, self.model)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidRequest(f"concurrency must be 1 or more, got {concurrency!r}", provider=provider)
        self.max_concurrency = int(concurrency)
        self.rate_limit_retries = max(0, int(rate_limit_retries))
        if api not in ("chat", "responses"):
            raise InvalidRequest(f"api must be 'chat' or 'responses', got {api!r}", provider=provider)
        #: "responses": the Responses API (reasoning summaries, max_output_tokens, reasoning.effort)
        self.api = api
        self._dropped: set[str] = set()
        self._lock = threading.Lock()
        if not api_key:
            if provider == "openai":
                raise AuthError(
                    "No OpenAI API key: set OPENAI_API_KEY or enter a key in the sidebar.", provider=provider
                )
            api_key = "not-needed"  # compatible servers often need none, the SDK insists on one
        self.limiter: AdaptiveLimiter = get_limiter(provider, self.base_url, api_key, self.max_concurrency)
        try:
            self._client = openai.OpenAI(
                api_key=api_key,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
                http_client=_observed_client(self.limiter, self.timeout_s),
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

        rt = f"openai-sdk {openai.__version__}" + (" responses" if self.api == "responses" else "")
        return f"{rt} @ {self.host}" if self.custom_base_url else rt

    def is_reasoning(self, params: GenParams) -> bool:
        """Whether the request uses the reasoning-model shape (max_completion_tokens, reasoning_effort)."""
        return bool(
            self.capabilities.max_tokens_param == "max_completion_tokens" or params.reasoning_effort is not None
        )

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

    def build_request(self, messages: Sequence[Message], params: GenParams, stream: bool) -> dict[str, Any]:
        """The Chat Completions JSON body for ``messages`` and ``params``. Raises InvalidRequest."""
        msgs = list(messages)
        if not msgs:
            raise InvalidRequest("No messages to send.", provider=self.provider)
        if not isinstance(params.max_tokens, int) or params.max_tokens < 1:
            raise InvalidRequest(
                f"max_tokens must be a positive whole number, got {params.max_tokens!r}", provider=self.provider
            )
        caps = self.capabilities
        try:
            validate_params(caps, params, name=f"{self.model} on {self.label}")
        except UnsupportedMethod as e:
            raise InvalidRequest(str(e), provider=self.provider) from None
        with self._lock:
            dropped = set(self._dropped)
        body: dict[str, Any] = {"model": self.model, "messages": messages_to_dicts(msgs)}
        if self.is_reasoning(params):
            body["max_completion_tokens"] = params.max_tokens
            if params.reasoning_effort is not None:
                body["reasoning_effort"] = params.reasoning_effort
        else:
            body["max_tokens"] = params.max_tokens
        if caps.temperature and "temperature" not in dropped:
            body["temperature"] = float(params.temperature)
        if caps.top_p and params.top_p is not None and "top_p" not in dropped:
            body["top_p"] = float(params.top_p)
        if caps.seed and params.seed is not None and "seed" not in dropped:
            body["seed"] = int(params.seed)
        if params.verbosity is not None:
            body["verbosity"] = params.verbosity
        if params.thinking_budget is not None:
            if caps.thinking_style == "qwen":
                body["thinking_budget"] = int(params.thinking_budget)
            else:  # Gemini's OpenAI-compatible API: the budget travels in a nested extra_body object
                body["extra_body"] = {
                    "google": {
                        "thinking_config": {"thinking_budget": int(params.thinking_budget), "include_thoughts": True}
                    }
                }
        if params.stop:
            body["stop"] = list(params.stop)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    # -- call --------------------------------------------------------------------------------------------

    def complete(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None = None) -> Completion:
        """Send the chat; stream through ``on_text`` when given. Raises :mod:`tale_core.errors` types.

        Long calls (an output cap above :data:`STREAM_ABOVE_TOKENS`) are streamed even without
        ``on_text``, so the timeout bounds the silence between pieces and a call that times out after it
        started is not resent by the SDK (and billed twice). A call still rate-limited (429) after the
        SDK's retries gets up to ``rate_limit_retries`` more rounds, each after the server's Retry-After
        (bounded): the server did not process it, so nothing is generated or billed twice.
        """
        if params.hard_budget is not None:
            if not self.capabilities.hard_budget:
                raise InvalidRequest(
                    f"{self.model} on {self.label} cannot take a hard budget: budget forcing needs a server "
                    "that continues an assistant prefix (declare hard_budget in the endpoint's capabilities).",
                    provider=self.provider,
                )
            return self._complete_forced(messages, params, on_text)
        return self._call(messages, params, on_text)

    def _call(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None) -> Completion:
        import time

        for round_ in range(self.rate_limit_retries + 1):
            try:
                with self.limiter.slot():
                    return self._call_once(messages, params, on_text)
            except RateLimitError as e:
                started = getattr(e, "started", False)  # a stream that broke off was processed: never resent
                if started or round_ >= self.rate_limit_retries or "quota" in str(e) or (e.retry_after or 0) > 120:
                    raise
                time.sleep(min(60.0, e.retry_after if e.retry_after is not None else 1.0 * 2**round_))
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_once(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None) -> Completion:
        import openai

        if self.api == "responses":
            return self._complete_responses(messages, params, on_text)

        stream = on_text is not None or params.max_tokens > STREAM_ABOVE_TOKENS
        sink: OnText = on_text if on_text is not None else _discard
        for _ in range(len(DROPPABLE_PARAMS) + 2):
            body = self.build_request(messages, params, stream=stream)
            state = {"started": False}
            try:
                if not stream:
                    return self._complete_json(body, messages)
                return self._complete_stream(body, messages, sink, state)
            except CallbackError as e:
                raise e.original from None
            except openai.BadRequestError as e:
                param = self._unsupported_param(e, body)
                if param is None:
                    text = unsupported_parameter_message(e, body, f"{self.model} on {self.label}")
                    if text is not None:
                        raise InvalidRequest(
                            text, provider=self.provider, status=400, detail=api_message(e)[:500]
                        ) from e
                    raise self.map_error(e) from e
                with self._lock:
                    self._dropped.add(param)
            except ProviderError as e:
                e.started = state["started"]  # type: ignore[attr-defined]
                raise
            except Exception as e:  # every SDK / parse failure becomes a typed error
                mapped = self.map_error(e, started=state["started"])
                mapped.started = state["started"]  # type: ignore[attr-defined]
                raise mapped from e
        raise InvalidRequest(f"{self.label} kept rejecting the request's parameters.", provider=self.provider)

    def _complete_forced(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None) -> Completion:
        """Budget forcing through Chat Completions with an assistant prefix (see :mod:`..forcing`)."""
        budget = int(params.hard_budget or 0)
        sw = Stopwatch()
        comps: list[Completion] = []
        base = dataclasses.replace(params, hard_budget=None, budget_waits=0)

        def step(msgs: Sequence[Message], cap: int, cb: OnText | None) -> StepResult:
            prefix = msgs[-1].content if msgs and msgs[-1].role == "assistant" else ""
            c = self._call(msgs, dataclasses.replace(base, max_tokens=cap), cb)
            comps.append(c)
            details = c.cache_read_tokens
            return StepResult(
                text=strip_prefix(c.text, prefix),
                finish_reason=c.finish_reason,
                prompt_tokens=c.input_tokens or 0,
                completion_tokens=c.output_tokens or 0,
                cached_prompt_tokens=details,
                first_token_s=c.first_token_s,
            )

        f = force_budget(step, messages, budget, waits=params.budget_waits, on_text=on_text)
        req = forcing_request(
            self.build_request(messages, base, stream=on_text is not None), budget, params.budget_waits
        )
        return Completion(
            text=f.text,
            provider=self.provider,
            model=self.model,
            input_tokens=f.input_tokens,
            output_tokens=f.output_tokens,
            reasoning_tokens=sum(c.reasoning_tokens for c in comps),
            reasoning_tokens_source=next((c.reasoning_tokens_source for c in comps if c.reasoning_tokens), None),
            cache_read_tokens=sum(c.cache_read_tokens for c in comps),
            finish_reason=f.finish_reason,
            latency_s=sw.elapsed(),
            first_token_s=f.first_token_s,
            runtime=self.runtime(),
            request=req,
            usage_source="estimate" if any(c.usage_source != "provider" for c in comps) else "provider",
            raw_usage=f.usage(),
            usage_warnings=[w for c in comps for w in c.usage_warnings],
        )

    # -- the Responses API ----------------------------------------------------------------------------

    def build_responses_request(self, messages: Sequence[Message], params: GenParams) -> dict[str, Any]:
        """The Responses API body: ``max_output_tokens``, ``reasoning.effort`` with a reasoning summary
        asked for, ``text.verbosity``; temperature only where the model takes it (no seed: the API has none)."""
        self.build_request(messages, params, stream=False)  # the same checks (effort names, caps) first
        caps = self.capabilities
        body: dict[str, Any] = {
            "model": self.model,
            "input": [{"role": m.role, "content": m.content} for m in messages],
            "max_output_tokens": params.max_tokens,
            "store": False,
        }
        if caps.effort_levels or params.reasoning_effort is not None:
            body["reasoning"] = {"summary": "auto"}
            if params.reasoning_effort is not None:
                body["reasoning"]["effort"] = params.reasoning_effort
        if params.verbosity is not None:
            body["text"] = {"verbosity": params.verbosity}
        if caps.temperature:
            body["temperature"] = float(params.temperature)
        return body

    def _complete_responses(self, messages: Sequence[Message], params: GenParams, on_text: OnText | None) -> Completion:
        """One Responses API call (not streamed). The reasoning summary becomes ``Completion.thinking``;
        reasoning tokens come from ``usage.output_tokens_details``; an answer cut by
        ``max_output_tokens`` (status ``incomplete``) has finish reason ``length``."""
        import openai

        body = self.build_responses_request(messages, params)
        sw = Stopwatch()
        try:
            resp = self._client.responses.create(**body)
        except openai.BadRequestError as e:
            text = unsupported_parameter_message(e, body, f"{self.model} on {self.label}")
            if text is not None:
                raise InvalidRequest(text, provider=self.provider, status=400, detail=api_message(e)[:500]) from e
            raise self.map_error(e) from e
        except ProviderError:
            raise
        except Exception as e:
            raise self.map_error(e) from e
        texts: list[str] = []
        summary: list[str] = []
        for item in getattr(resp, "output", None) or ():
            itype = getattr(item, "type", None)
            if itype == "message":
                for part in getattr(item, "content", None) or ():
                    if getattr(part, "type", None) == "output_text":
                        texts.append(getattr(part, "text", "") or "")
            elif itype == "reasoning":
                for part in getattr(item, "summary", None) or ():
                    summary.append(getattr(part, "text", "") or "")
        text = "".join(texts)
        if on_text is not None and text:
            on_text(text)
        usage = getattr(resp, "usage", None)
        status = getattr(resp, "status", None)
        reason = getattr(getattr(resp, "incomplete_details", None), "reason", None)
        finish = "length" if status == "incomplete" and reason == "max_output_tokens" else (status or "completed")
        if finish == "completed":
            finish = "stop"
        inp = getattr(usage, "input_tokens", None)
        out = getattr(usage, "output_tokens", None)
        if not isinstance(inp, int) or not isinstance(out, int):
            raise self.map_error(Unreadable("the response has no usage"))
        rt = getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None)
        cached = getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None)
        reasoning = rt if isinstance(rt, int) else 0
        return Completion(
            text=text,
            provider=self.provider,
            model=self.model,
            input_tokens=inp,
            output_tokens=out,
            reasoning_tokens=reasoning,
            reasoning_tokens_source="provider" if reasoning else None,
            cache_read_tokens=cached if isinstance(cached, int) else 0,
            finish_reason=finish,
            latency_s=sw.elapsed(),
            first_token_s=None,
            runtime=self.runtime(),
            request=body,
            usage_source="provider",
            raw_usage=usage_dict(usage),
            thinking="\n\n".join(t for t in summary if t),
            usage_warnings=usage_problems(out, reasoning),
        )

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
        resp = self._client.chat.completions.create(**_sdk_kwargs(body))
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
        stream = self._client.chat.completions.create(**_sdk_kwargs(body))
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
        cached = 0
        reasoning_source: str | None = None
        if counts is None:
            source: typing.Literal["provider", "estimate"] = "estimate"
            input_tokens = sum(estimate_count(m.content, self.model) + 4 for m in messages) + 3
            reasoning = estimate_count(thinking, self.model) if thinking else 0
            output_tokens = estimate_count(text, self.model) + reasoning
            raw: dict[str, Any] = {"estimated": True, "reason": "the server sent no usage"}
            if usage is not None:
                raw["server_usage"] = usage_dict(usage)
            reasoning_source = "estimate" if reasoning else None
        else:
            source = "provider"
            input_tokens, output_tokens, reasoning, reported, cached = counts
            raw = usage_dict(usage)
            if reported:
                reasoning_source = "provider" if reasoning else None
            elif thinking:
                # a compatible server that shows its reasoning but does not count it: output minus the
                # visible answer's tokens (counted with a tokenizer), labelled as derived
                visible = estimate_count(text, self.model)
                reasoning = max(0, output_tokens - visible)
                reasoning_source = "derived" if reasoning else None
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
            reasoning_tokens_source=reasoning_source,
            cache_read_tokens=cached,
            usage_warnings=usage_problems(output_tokens, reasoning),
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
            if code == "context_length_exceeded" or CONTEXT_TOO_LONG_RE.search(msg):
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
        msg = api_message(e)
        code = str(getattr(e, "code", "") or "")
        kw: dict[str, Any] = {"provider": self.provider, "status": status, "detail": msg[:500]}
        if status == 429 and code == "insufficient_quota":
            return RateLimitError(
                f"{self.label} quota is used up (429 insufficient_quota): check the account's billing.",
                retry_after=parse_retry_after(headers),
                **kw,
            )
        if status in (400, 422) and code == "model_not_found":
            return ModelNotFound(f"{self.label} does not know the model {self.model!r}: {msg}", **kw)
        return map_http_status(
            status,
            msg,
            headers,
            provider=self.provider,
            label=self.label,
            model=self.model,
            base_url=self.base_url,
            key_hint=self.key_hint,
            after=attempts_text(e, self.max_retries + 1),
            context_too_long=code == "context_length_exceeded",
        )


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


def _usage_counts(usage: Any) -> tuple[int, int, int, bool, int] | None:
    """``(input, output, reasoning, reasoning_reported, cached_input)`` from a usage block, or None when
    it lacks the counts. ``prompt_tokens`` includes the cached ones."""
    if usage is None:
        return None
    pt = getattr(usage, "prompt_tokens", None)
    ct = getattr(usage, "completion_tokens", None)
    if not isinstance(pt, int) or not isinstance(ct, int):
        return None
    details = getattr(usage, "completion_tokens_details", None)
    rt = getattr(details, "reasoning_tokens", None) if details is not None else None
    pdetails = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(pdetails, "cached_tokens", None) if pdetails is not None else None
    return pt, ct, rt if isinstance(rt, int) else 0, isinstance(rt, int), cached if isinstance(cached, int) else 0


#: body fields the SDK's ``create`` has no argument for: they travel through its ``extra_body``
_BODY_ONLY = ("extra_body", "thinking_budget")


def _sdk_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """``create`` arguments that put exactly ``body`` on the wire."""
    kw = {k: v for k, v in body.items() if k not in _BODY_ONLY}
    extra = {k: body[k] for k in _BODY_ONLY if k in body}
    if extra:
        kw["extra_body"] = extra
    return kw


def _discard(_: str) -> None:
    """``on_text`` of a call streamed only because it is long."""


def _observed_client(limiter: AdaptiveLimiter, timeout_s: float) -> Any:
    """The SDK's HTTP client with a hook that tells ``limiter`` every response's status (retries included)."""
    from openai._base_client import SyncHttpxClientWrapper
    from openai._constants import DEFAULT_CONNECTION_LIMITS

    def on_response(response: Any) -> None:
        limiter.observe_status(int(response.status_code), parse_retry_after(response.headers))

    hooks: dict[str, list[Callable[..., Any]]] = {"response": [on_response]}
    return SyncHttpxClientWrapper(
        timeout=timeout_s, limits=DEFAULT_CONNECTION_LIMITS, follow_redirects=True, event_hooks=hooks
    )


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
        concurrency=settings.concurrency,
        rate_limit_retries=settings.rate_limit_retries,
        api=settings.openai_api,
    )


def _compat(provider: str, model: str, settings: ProviderSettings) -> ChatModel:
    name = provider.split(":", 1)[1] if ":" in provider else ""
    ep = settings.endpoints.get(name)
    if ep is None:
        known = ", ".join(settings.endpoints) or "none"
        raise UnknownModel(f"No endpoint named {name!r}; add it first (known: {known})")
    cs = settings.call_settings(ep)  # an endpoint's own concurrency/timeout/retries win
    return OpenAIModel(
        model,
        api_key=settings.endpoint_key(ep) or "not-needed",
        base_url=ep.base_url,
        provider=provider,
        timeout_s=cs["timeout_s"],
        max_retries=cs["max_retries"],
        concurrency=cs["concurrency"],
        rate_limit_retries=cs["rate_limit_retries"],
        capabilities=ep.caps() if ep.capabilities else None,
    )


def _endpoint_models(settings: ProviderSettings) -> list[ModelInfo]:
    """The models of every configured endpoint, each with the capabilities its endpoint declares."""
    out = []
    for ep in settings.endpoints.values():
        caps = ep.caps() if ep.capabilities else None
        for m in ep.models:
            info = lookup(f"compat:{ep.name}", m)
            out.append(dataclasses.replace(info, caps=caps) if caps is not None else info)
    return out


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
        extra_models=_endpoint_models,
        describe=lambda provider, model: ModelInfo(provider, model, model, 8192, 4096),
    )
)
