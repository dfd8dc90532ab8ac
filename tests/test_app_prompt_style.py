"""The Playground's prompt style: sent, recorded with every call and in the experiment, kept by a rerun."""

from __future__ import annotations

from tests.helpers_app import button, new_app, no_exception
from ui import services

QUESTION = "What is 6 times 7?"


def test_plain_style_is_sent_recorded_and_rerun(fake_env):
    at = new_app("pages/playground.py")
    at.text_area(key="pg_question").input(QUESTION)
    at.text_input(key="pg_gold").input("42")
    at.session_state["pg_methods"] = ["vanilla", "budget"]
    at.selectbox(key="pg_prompt_style").set_value("plain")
    button(at, "Run").click().run()
    no_exception(at)
    eid = at.session_state["pg_results"]["experiment"]
    store = services.get_store()
    assert store.get_experiment(eid).config["prompt_style"] == "plain"
    calls = store.calls_for(eid)
    assert len(calls) == 2 and all(c.detail["extra"]["prompt_style"] == "plain" for c in calls)
    sent = {c.method: c.messages[-1]["content"] for c in calls}
    assert sent["budget:50"] == f"Q: {QUESTION}\nLet's think step by step and use less than 50 tokens:\n"
    assert "[[answer]]" not in sent["vanilla"]

    at = new_app("pages/experiments.py", query={"experiment": eid})
    button(at, "Rerun").click().run()
    no_exception(at)
    child = next(e for e in store.list_experiments() if e.parent_id == eid)
    rerun = store.calls_for(child.id)
    assert all(c.cache_hit for c in rerun)  # the same plain prompts, so the cache answers
    assert all(c.detail["extra"]["prompt_style"] == "plain" for c in rerun)
