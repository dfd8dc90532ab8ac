"""A method registered once appears in the Playground and Benchmark pickers and in the CLI, with no
other change (the proof that pages and CLI read the method registry)."""

from __future__ import annotations

import json

import pytest

from tale_core import cli
from tests.helpers_app import button, new_app, no_exception
from tests.helpers_methods import SHOUT_LABEL


def _method_labels(at) -> list[str]:
    """The labels of the first pills widget (the method picker)."""
    return [o.content for o in at.get("button_group")[0].proto.options]


def test_registered_method_is_offered_and_runs_in_the_playground(fake_env, extra_method):
    at = new_app("pages/playground.py")
    no_exception(at)
    labels = _method_labels(at)
    assert SHOUT_LABEL in labels and "Chain of Draft (few-shot)" in labels and "Concise CoT (few-shot)" in labels
    at.session_state["pg_methods"] = ["shout"]
    at.run()
    assert at.number_input(key="pg_shout").value == 3  # the entry's argument input, from its Argument
    at.number_input(key="pg_shout").set_value(2).run()
    at.text_area(key="pg_question").input("How many legs do 2 cats have?")
    button(at, "Run").click().run()
    no_exception(at)
    assert "Shouted CoT x2" in " ".join(m.value for m in at.markdown)


def test_registered_method_is_offered_in_the_benchmark(fake_env, extra_method):
    at = new_app("pages/benchmark.py")
    no_exception(at)
    labels = _method_labels(at)
    assert SHOUT_LABEL in labels and "Chain of Draft (few-shot)" in labels
    at.session_state["bm_methods"] = ["vanilla", "shout"]
    at.run()
    assert at.number_input(key="bm_shout").value == 3
    assert any("x 2 method(s)" in c.value for c in at.caption)


def test_registered_method_is_listed_and_runs_in_the_cli(extra_method, capsys, monkeypatch):
    assert cli.main(["methods", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["shout"]["label"] == SHOUT_LABEL and rows["shout"]["argument"] == "shout level"
    assert rows["thinking"]["requires"] == "thinking_budget" and rows["cod"]["aliases"] == ["chain-of-draft"]
    assert {"cod-fewshot", "concise-fewshot"} <= rows.keys()
    assert cli.main(["methods"]) == 0
    assert "shout:3" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["ask", "--help"])
    help_text = capsys.readouterr().out
    assert "shout:3" in help_text and "--prompt-style" in help_text
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    assert (
        cli.main(["ask", "What is 2+3?", "--model", "fake/elastic", "--method", "shout", "--budget", "2", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "shout" and out["provider"] == "fake" and out["prompt_style"] == "paper"
