"""Budget search page: both searches as a background job, their paths, reopening, refusals."""

from __future__ import annotations

import pytest

from tale_core.providers.scripted import ScriptedModel
from tests.helpers_app import button, captions, chart_specs, new_app, no_exception
from ui.jobs import registry

PAGE = "pages/search.py"
QUESTION = "A baker makes 6 trays of 7 rolls. How many rolls?"


@pytest.fixture
def gold():
    ScriptedModel.answers[QUESTION] = "42"
    yield "42"
    ScriptedModel.answers.pop(QUESTION, None)


def run_search(at, gold_answer="42"):
    at.text_area(key="se_question").input(QUESTION)
    at.text_input(key="se_gold").input(gold_answer)
    at.run()
    button(at, "Start search").click().run()
    no_exception(at)
    job_id = at.query_params["experiment"]
    job_id = job_id[0] if isinstance(job_id, list) else job_id
    job = registry().wait(job_id, timeout_s=60)
    assert job is not None and not job.running
    at.run()
    no_exception(at)
    return job


def metrics(at):
    return [(m.label, m.value) for m in at.metric if m.label != "Spent this session"]


def test_gold_answer_is_required(fake_env):
    at = new_app(PAGE)
    at.text_area(key="se_question").input(QUESTION).run()
    assert any("gold answer is needed" in i.value for i in at.info)
    assert button(at, "Start search").disabled


def test_both_searches_run_and_ours_finds_a_cheaper_budget(fake_env, gold):
    at = new_app(PAGE)
    job = run_search(at)
    assert job.status == "done"
    assert metrics(at) == [
        ("Chosen budget", "64"),
        ("Tokens spent", "94"),
        ("Saved vs vanilla", "64%"),
        ("Chosen budget", "48"),
        ("Tokens spent", "86"),
        ("Saved vs vanilla", "67%"),
    ]
    spec = chart_specs(at)[0]
    names = [t.get("name") for t in spec["data"]]
    assert "The paper's search (halving)" in names and "Bracketing search (ours)" in names
    assert any("chosen budget 48" in (n or "") for n in names)


def test_stored_search_reopens_from_its_link(fake_env, gold):
    at = new_app(PAGE)
    job = run_search(at)
    registry()._jobs.pop(job.id)
    other = new_app(PAGE, query={"experiment": job.id})
    no_exception(other)
    assert metrics(other)[0] == ("Chosen budget", "64")


def test_wrong_vanilla_answer_means_no_search(fake_env, gold):
    at = new_app(PAGE)
    run_search(at, gold_answer="41")
    text = " ".join(captions(at))
    assert "only searches questions vanilla CoT answers correctly" in text
    assert ("Chosen budget", "none") in metrics(at)
