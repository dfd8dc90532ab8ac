"""Method pickers for the pages, read from the method registry: which methods the picked models can run,
one input per method argument, and why a method cannot run on a model.

A method added to the registry (:mod:`tale_core.engine.method_defs`) appears here with no other change.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from tale_core.engine.method_registry import Method, all_methods, get_method, supported
from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.providers import capabilities, parse_spec
from tale_core.providers.capabilities import ALL_EFFORT_LEVELS, UnsupportedMethod, check_method_supported
from tale_core.providers.catalog import capabilities_for
from tale_core.providers.registry import CAPABILITY_TEXT

ARG_COLUMNS = 4


def _capabilities(models: Sequence[str]) -> list[frozenset[str]]:
    out = []
    for spec in models:
        try:
            out.append(capabilities(spec))
        except TaleError:  # a malformed spec is reported where the model is resolved
            continue
    return out


def offered(models: Sequence[str], *, every: bool = False) -> list[Method]:
    """Registered methods that one of ``models`` can run (``every``: that all of them can)."""
    caps = _capabilities(models)
    test = all if every else any
    return [m for m in all_methods() if m.requires is None or (caps and test(supported(m, c) for c in caps))]


def pick(models: Sequence[str], *, key: str, default: Sequence[str], every: bool = False) -> list[str]:
    """Multi-select pills of the offered methods' keys (labels from the registry)."""
    options = [m.key for m in offered(models, every=every)]
    chosen = st.pills(
        "Methods",
        options,
        selection_mode="multi",
        default=[k for k in default if k in options],
        key=key,
        format_func=lambda k: get_method(k).label,
    )
    return list(chosen or [])


def effort_choices(models: Sequence[str], choices: Sequence[str]) -> tuple[str, ...]:
    """The effort levels some picked model names (each model by its own names), weakest first; all
    ``choices`` when no picked model names any."""
    levels: set[str] = set()
    for spec in models:
        try:
            levels.update(capabilities_for(*parse_spec(spec)).effort_levels)
        except TaleError:
            continue
    return tuple(lv for lv in ALL_EFFORT_LEVELS if lv in levels and lv in choices) or tuple(choices)


def arguments(keys: Sequence[str], *, prefix: str, models: Sequence[str] = ()) -> dict[str, int | str]:
    """One input per picked method that takes an argument (key ``<prefix>_<method key>``), in a row.

    With ``models``, an effort choice offers only the levels those models name."""
    methods = [m for m in (get_method(k) for k in keys) if m.arg is not None]
    values: dict[str, int | str] = {}
    if not methods:
        return values
    cols = st.columns(ARG_COLUMNS)
    for i, m in enumerate(methods):
        arg = m.arg
        assert arg is not None
        col, wkey, help_ = cols[i % ARG_COLUMNS], f"{prefix}_{m.key}", arg.help or None
        if arg.numeric:
            values[m.key] = int(
                col.number_input(
                    arg.label,
                    min_value=arg.minimum,
                    max_value=arg.maximum,
                    value=int(arg.default),
                    step=arg.step,
                    key=wkey,
                    help=help_,
                )
            )
        else:
            choices = effort_choices(models, arg.choices) if arg.kind == "effort" and models else arg.choices
            index = choices.index(str(arg.default)) if str(arg.default) in choices else 0
            values[m.key] = str(col.selectbox(arg.label, choices, index=index, key=wkey, help=help_))
    return values


def specs(keys: Sequence[str], args: dict[str, int | str]) -> list[MethodSpec]:
    """The picked methods as specs, each with its argument."""
    return [MethodSpec.of(k, args.get(k)) for k in keys]


def calls_per_question(methods: Sequence[MethodSpec]) -> int:
    """Model calls one question costs with these methods (TALE-EP makes two)."""
    return sum(m.method.calls for m in methods)


def unsupported(method: MethodSpec, model: str) -> str | None:
    """Why ``method`` cannot run on ``model`` (None when it can)."""
    need = method.method.requires
    if need is not None and need not in capabilities(model):
        return f"{method.method.label} needs a model with {CAPABILITY_TEXT.get(need, need)}."
    try:  # the model's own limits: its effort level names, its thinking budget range, ...
        check_method_supported(capabilities_for(*parse_spec(model)), method)
    except UnsupportedMethod as e:
        return str(e).replace("this model", model)
    return None
