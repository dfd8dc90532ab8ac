"""The method registry: one :class:`Method` object per way of asking a question.

A method says everything the rest of the product needs to know about it: its key (``budget``), its
label, what its argument is (none, a token budget, a word limit, a thinking budget, an effort level),
how it builds the prompt (numeric and multiple-choice, in every prompt style), how it changes the
generation parameters, how many calls it makes and which model capability it needs. The pages, the
benchmark, sweeps and the CLI read this registry; none of them lists methods of its own.

The built-in methods are registered by :mod:`tale_core.engine.method_defs`, loaded on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tale_core.errors import TaleError
from tale_core.providers.registry import EFFORT, HARD_BUDGET, THINKING_BUDGET
from tale_core.types import GenParams, Message

ArgKind = Literal["tokens", "words", "thinking", "effort"]

#: (question, argument, multiple_choice, prompt style) -> the messages of the method's answer call
PromptBuilder = Callable[[str, "int | str | None", bool, str], tuple[Message, ...]]
#: (params, argument) -> the params of the method's answer call
ParamTweak = Callable[[GenParams, "int | str | None"], GenParams]

#: (model, question) -> (budget or None, what the estimate was) for methods that get their budget without a call
BudgetSource = Callable[[Any, str], "tuple[int | None, dict[str, Any]]"]
# capability names a method can require are the provider registry's (it says which models have them)

_BUILTINS = "tale_core.engine.method_defs"
__all__ = [
    "EFFORT",
    "HARD_BUDGET",
    "THINKING_BUDGET",
    "ArgKind",
    "Argument",
    "Method",
    "MethodError",
    "ParamTweak",
    "PromptBuilder",
    "all_methods",
    "find_method",
    "get_method",
    "method_keys",
    "register_method",
    "supported",
    "sweepable_methods",
]


class MethodError(TaleError):
    """A method spec a user typed that we cannot run (unknown name, missing or bad argument)."""


@dataclass(frozen=True)
class Argument:
    """What a method's argument is and how a page asks for it.

    Numeric kinds (``tokens``, ``words``, ``thinking``) are whole numbers from ``minimum`` to
    ``maximum``; ``effort`` is one of ``choices``.
    """

    kind: ArgKind
    #: the input's label, e.g. "Budget N (tokens)"
    label: str
    #: what error messages call it, e.g. "token budget"
    noun: str
    default: int | str
    minimum: int = 1
    maximum: int = 100_000
    step: int = 1
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind != "effort"

    def check(self, key: str, value: int | str | None) -> None:
        """Raise :class:`MethodError` unless ``value`` is a valid argument for method ``key``."""
        if self.numeric:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise MethodError(f"Method {key!r} needs a {self.noun} above 0, e.g. {key}:50 (got {value!r})")
        elif value not in self.choices:
            raise MethodError(f"The {self.noun} must be one of {', '.join(self.choices)} (got {value!r})")


@dataclass(frozen=True)
class Method:
    """One method. ``build`` makes the answer call's prompt; ``tweak`` (optional) changes its params."""

    key: str
    #: the label without argument ("Vanilla CoT"), or the generic one of a method with an argument ("Budget N")
    label: str
    build: PromptBuilder
    #: the label with its argument, e.g. "Budget {arg}"; None for methods without argument
    label_with_arg: str | None = None
    arg: Argument | None = None
    tweak: ParamTweak | None = None
    #: the model capability this method needs (None: every model can run it)
    requires: str | None = None
    #: model calls per question (TALE-EP: estimate, then answer)
    calls: int = 1
    #: first ask the model for a token budget (TALE-EP), then build the prompt with it as the argument
    estimates_budget: bool = False
    #: a budget from elsewhere, with no model call: (model, question) -> (budget or None, estimate info);
    #: None as budget falls back to vanilla CoT, like an unusable TALE-EP estimate
    budget_from: BudgetSource | None = None
    #: where it comes from, one line (shown as help in pickers and in ``python -m tale_core methods``)
    source: str = ""
    #: other names accepted by :meth:`MethodSpec.parse` (``chain-of-draft`` for ``cod``)
    aliases: tuple[str, ...] = field(default=())

    def label_for(self, arg: int | str | None) -> str:
        if self.label_with_arg is None or arg is None:
            return self.label
        return self.label_with_arg.format(arg=arg)

    def params(self, params: GenParams, arg: int | str | None) -> GenParams:
        return self.tweak(params, arg) if self.tweak is not None else params


_METHODS: dict[str, Method] = {}
_ALIASES: dict[str, str] = {}


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry (its key and aliases must be new); returns it."""
    names = (method.key, *method.aliases)
    taken = [n for n in names if n in _METHODS or n in _ALIASES]
    if taken:
        raise ValueError(f"Method name(s) already registered: {', '.join(taken)}")
    if ":" in method.key or method.key != method.key.lower():
        raise ValueError(f"Method key {method.key!r} must be lower case without ':'")
    _METHODS[method.key] = method
    for a in method.aliases:
        _ALIASES[a] = method.key
    return method


def _load() -> None:
    importlib.import_module(_BUILTINS)  # registers the built-ins on its first import


def all_methods() -> tuple[Method, ...]:
    """Every registered method, in registration order (the order pickers show)."""
    _load()
    return tuple(_METHODS.values())


def method_keys() -> tuple[str, ...]:
    return tuple(m.key for m in all_methods())


def find_method(name: str) -> Method | None:
    """The method called ``name`` (a key or an alias), or None."""
    _load()
    return _METHODS.get(_ALIASES.get(name, name))


def get_method(name: str) -> Method:
    """The method called ``name``; raises :class:`MethodError` naming the known ones."""
    m = find_method(name)
    if m is None:
        raise MethodError(f"Unknown method {name!r}; choose one of: {', '.join(method_keys())}")
    return m


def supported(method: Method, capabilities: frozenset[str] | set[str]) -> bool:
    """Whether a model with ``capabilities`` can run ``method``."""
    return method.requires is None or method.requires in capabilities


def sweepable_methods() -> tuple[Method, ...]:
    """Methods whose argument is a number, so a sweep can vary it (``budget``, ``constrained``, ``thinking``)."""
    return tuple(m for m in all_methods() if m.arg is not None and m.arg.numeric)
