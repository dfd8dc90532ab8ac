"""A method registered for one test only: proves that a registry entry reaches every surface."""

from __future__ import annotations

import dataclasses

import pytest

from tale_core.engine import method_registry, prompts
from tale_core.engine.method_registry import Argument, Method, register_method

SHOUT_LABEL = "Shouted CoT"


@pytest.fixture
def extra_method(monkeypatch):
    """A method registered for one test (removed afterwards)."""
    method_registry.all_methods()  # the built-ins first, so the copy holds them
    monkeypatch.setattr(method_registry, "_METHODS", dict(method_registry._METHODS))
    monkeypatch.setattr(method_registry, "_ALIASES", dict(method_registry._ALIASES))
    return register_method(
        Method(
            "shout",
            SHOUT_LABEL,
            lambda q, arg, mc, style: prompts.vanilla_cot(q.upper(), style),
            label_with_arg="Shouted CoT x{arg}",
            arg=Argument("words", "Shout level", "shout level", 3, maximum=9),
            tweak=lambda p, arg: dataclasses.replace(p, max_tokens=p.max_tokens + int(arg or 0)),
            source="a test method",
        )
    )
