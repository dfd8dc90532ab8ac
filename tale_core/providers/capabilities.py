"""What each model can be asked to do: its budget controls and the parameters it accepts.

A :class:`Capabilities` says which budgets a model takes (TALE's prompt budget always; a thinking budget
and its range; effort levels by the provider's own names; gpt-5 verbosity; a hard budget by budget
forcing where the runtime continues an assistant prefix) and which request parameters it accepts
(temperature, seed, ``max_tokens`` or ``max_completion_tokens``). The catalogue
(:mod:`tale_core.providers.catalog`) fills one per model; a compatible endpoint declares its own in its
settings (``"capabilities": {...}``, see :meth:`Capabilities.from_dict`).

Sweeps, the benchmark, the pages and the CLI offer only what a model has, and refuse the rest before
any call with :func:`check_method_supported` (an :class:`UnsupportedMethod` with a message that names
the model and what it does take). A request that reaches the model is built from the same data, so a
thinking budget is never silently dropped and a temperature is never claimed as sent when it is not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tale_core.errors import TaleError

ThinkingStyle = Literal["anthropic", "gemini", "qwen"]
MaxTokensParam = Literal["max_tokens", "max_completion_tokens"]

#: every effort name some provider uses, weakest first (which ones a model takes: ``effort_levels``)
ALL_EFFORT_LEVELS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
VERBOSITY_LEVELS = ("low", "medium", "high")


class UnsupportedMethod(TaleError):
    """A method or parameter the chosen model does not take (refused before any call)."""


@dataclass(frozen=True)
class Capabilities:
    """The budget controls and request parameters of one model.

    ``thinking_budget`` is the (min, max) range of a provider thinking budget in tokens, or None when
    the model has none; ``thinking_style`` says how it is sent (Anthropic ``thinking.budget_tokens``,
    Gemini-style ``thinking_config.thinking_budget`` or Qwen-style ``thinking_budget`` in the body of a
    compatible endpoint). ``thinking_below_max_tokens``: the budget counts toward ``max_tokens`` and
    must stay below it (Anthropic). ``effort_levels`` are the names the provider takes, in order;
    ``effort_default`` the level the model uses when none is sent. ``hidden_reasoning``: the model
    reasons in tokens it does not show (billed as output), so output caps must leave room for them.
    ``hard_budget``: budget forcing works (the runtime continues an assistant prefix).
    ``default_max_tokens`` is the output cap a call gets when the user sets none, sized so that a
    reasoning model is not starved.
    """

    prompt_budget: bool = True
    thinking_budget: tuple[int, int] | None = None
    thinking_style: ThinkingStyle | None = None
    thinking_below_max_tokens: bool = False
    adaptive_thinking: bool = False
    effort_levels: tuple[str, ...] = ()
    effort_default: str | None = None
    verbosity_levels: tuple[str, ...] = ()
    hard_budget: bool = False
    hidden_reasoning: bool = False
    temperature: bool = True
    top_p: bool = True
    seed: bool = True
    max_tokens_param: MaxTokensParam = "max_tokens"
    responses_api: bool = False
    default_max_tokens: int = 1024

    # -- what the model takes ----------------------------------------------------------------------------

    @property
    def thinking(self) -> bool:
        return self.thinking_budget is not None

    @property
    def effort(self) -> bool:
        return bool(self.effort_levels)

    @property
    def deterministic_possible(self) -> bool:
        """Whether temperature 0 and a seed are actually sent (else a call is not reproducible)."""
        return self.temperature and self.seed

    def sweep_methods(self) -> tuple[str, ...]:
        """The sweep axes this model offers: prompt budgets always, then its own controls."""
        out = ["budget", "constrained"]
        if self.thinking:
            out.append("thinking")
        if self.effort:
            out.append("effort")
        if self.hard_budget:
            out.append("forced")
        return tuple(out)

    def describe(self) -> str:
        """One line for pages and errors, e.g. "thinking budget 1024-63999; effort low/medium/high"."""
        parts = ["prompt budgets"]
        if self.thinking_budget:
            lo, hi = self.thinking_budget
            parts.append(f"thinking budget {lo}-{hi} tokens")
        if self.effort_levels:
            parts.append("effort " + "/".join(self.effort_levels))
        if self.verbosity_levels:
            parts.append("verbosity " + "/".join(self.verbosity_levels))
        if self.hard_budget:
            parts.append("hard budgets (budget forcing)")
        return "; ".join(parts)

    # -- settings files ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["thinking_budget"] = list(self.thinking_budget) if self.thinking_budget else None
        d["effort_levels"], d["verbosity_levels"] = list(self.effort_levels), list(self.verbosity_levels)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: Capabilities | None = None) -> Capabilities:
        """Capabilities an endpoint declares, over ``base`` (the defaults of a plain chat model).

        Raises :class:`TaleError` naming the bad key, so a typo in a settings file is a clear message.
        """
        if not isinstance(d, Mapping):
            raise TaleError("An endpoint's 'capabilities' must be an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise TaleError(f"Unknown capability {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k == "thinking_budget":
                if v is None:
                    kw[k] = None
                    continue
                if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(_posint(x) for x in v) and v[0] <= v[1]):
                    raise TaleError("capabilities.thinking_budget must be [min, max] tokens, e.g. [128, 32768]")
                kw[k] = (int(v[0]), int(v[1]))
            elif k in ("effort_levels", "verbosity_levels"):
                if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) and x for x in v):
                    raise TaleError(f"capabilities.{k} must be a list of names")
                kw[k] = tuple(v)
            elif k == "max_tokens_param":
                if v not in ("max_tokens", "max_completion_tokens"):
                    raise TaleError("capabilities.max_tokens_param must be 'max_tokens' or 'max_completion_tokens'")
                kw[k] = v
            elif k == "thinking_style":
                if v not in (None, "anthropic", "gemini", "qwen"):
                    raise TaleError("capabilities.thinking_style must be 'gemini', 'qwen' or 'anthropic'")
                kw[k] = v
            elif k == "default_max_tokens":
                if not _posint(v):
                    raise TaleError("capabilities.default_max_tokens must be a whole number above 0")
                kw[k] = int(v)
            elif k == "effort_default":
                kw[k] = None if v is None else str(v)
            else:
                if not isinstance(v, bool):
                    raise TaleError(f"capabilities.{k} must be true or false")
                kw[k] = v
        caps = dataclasses.replace(base or Capabilities(), **kw)
        if caps.thinking_budget and caps.thinking_style is None:
            caps = dataclasses.replace(caps, thinking_style="gemini")
        return caps


def _posint(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


class _HasCaps(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def spec(self) -> str: ...


def _caps_and_name(model_or_caps: Any) -> tuple[Capabilities, str]:
    if isinstance(model_or_caps, Capabilities):
        return model_or_caps, "this model"
    caps = getattr(model_or_caps, "capabilities", None)
    if not isinstance(caps, Capabilities):
        from tale_core.providers.catalog import capabilities_for

        caps = capabilities_for(getattr(model_or_caps, "provider", ""), getattr(model_or_caps, "model", ""))
    return caps, str(getattr(model_or_caps, "spec", "this model"))


def check_method_supported(model_or_caps: Any, method: Any, *, max_tokens: int | None = None) -> None:
    """Raise :class:`UnsupportedMethod` when ``method`` cannot run on the model; return None when it can.

    ``model_or_caps``: a :class:`Capabilities`, a model (anything with ``.capabilities`` or
    ``.provider``/``.model``). ``method``: a method string (``"thinking:2048"``, ``"effort:low"``,
    ``"thinking"`` for a whole sweep axis) or anything with ``key``/``budget``/``effort`` attributes.
    ``max_tokens``: the output cap the calls will get (a thinking budget must stay below it where the
    provider counts thinking toward it).
    """
    caps, name = _caps_and_name(model_or_caps)
    key, budget, effort = _split(method)
    if key == "thinking":
        if not caps.thinking_budget:
            raise UnsupportedMethod(
                f"{name} has no thinking budget, so a thinking sweep would send the same request at every "
                f"budget. It takes: {caps.describe()}."
            )
        lo, hi = caps.thinking_budget
        if budget is not None and not lo <= budget <= hi:
            raise UnsupportedMethod(f"{name} takes thinking budgets from {lo} to {hi} tokens, not {budget}.")
        if budget is not None and max_tokens is not None and caps.thinking_below_max_tokens and budget >= max_tokens:
            raise UnsupportedMethod(
                f"The thinking budget ({budget}) must be below max tokens ({max_tokens}) on {name}: thinking "
                "counts toward it. Raise max tokens."
            )
    elif key == "effort":
        if not caps.effort_levels:
            raise UnsupportedMethod(f"{name} has no reasoning effort setting. It takes: {caps.describe()}.")
        if effort is not None and effort not in caps.effort_levels:
            raise UnsupportedMethod(
                f"{name} takes effort {', '.join(caps.effort_levels)}; not {effort!r}.",
            )
    elif key == "forced":
        if not caps.hard_budget:
            raise UnsupportedMethod(
                f"{name} cannot take a hard budget (budget forcing needs a runtime that continues an assistant "
                "prefix: the embedded models, or an endpoint that declares assistant_prefix/hard_budget)."
            )
    elif key in ("budget", "tale-ep", "constrained", "vanilla", "direct", "concise", "cod"):
        if not caps.prompt_budget and key in ("budget", "tale-ep", "constrained"):
            raise UnsupportedMethod(f"{name} does not follow prompt budgets.")


def _split(method: Any) -> tuple[str, int | None, str | None]:
    if isinstance(method, str):
        key, _, arg = method.strip().lower().partition(":")
        budget = int(arg) if arg.isdigit() else None
        effort = arg if key == "effort" and arg else None
        return key, budget, effort
    return str(getattr(method, "key", "")), getattr(method, "budget", None), getattr(method, "effort", None)


def validate_params(caps: Capabilities, params: Any, name: str = "this model") -> None:
    """Refuse generation parameters the model cannot take (an effort it does not name, a verbosity it
    has not), before any call."""
    effort = getattr(params, "reasoning_effort", None)
    if effort is not None and effort not in caps.effort_levels:
        if caps.effort_levels:
            raise UnsupportedMethod(f"{name} takes effort {', '.join(caps.effort_levels)}; not {effort!r}.")
        raise UnsupportedMethod(f"{name} has no reasoning effort setting; leave effort empty.")
    verbosity = getattr(params, "verbosity", None)
    if verbosity is not None and verbosity not in caps.verbosity_levels:
        raise UnsupportedMethod(
            f"{name} has no verbosity {verbosity!r} (takes: {', '.join(caps.verbosity_levels) or 'none'})."
        )
    tb = getattr(params, "thinking_budget", None)
    if tb is not None:
        check_method_supported(caps, f"thinking:{tb}", max_tokens=getattr(params, "max_tokens", None))
    hb = getattr(params, "hard_budget", None)
    if hb is not None and not caps.hard_budget:
        check_method_supported(caps, "forced")


def is_deterministic(caps: Capabilities, params: Any) -> bool:
    """Whether a call may be cached and replayed by default: temperature 0 and a seed, both actually sent."""
    return bool(getattr(params, "deterministic", False)) and caps.deterministic_possible
