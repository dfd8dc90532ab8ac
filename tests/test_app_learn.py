"""Learn page: the paper's numbers, the four calls with the chosen model, the comparison chart."""

from __future__ import annotations

import pytest

from tale_core.providers.scripted import ScriptedModel
from tests.helpers_app import badges, button, chart_specs, new_app, no_exception
from ui import services

PAGE = "pages/learn.py"


@pytest.fixture
def peyton(fake_env):
    ex = services.sample("peyton")
    assert ex is not None, "bundled sample 'peyton' missing"
    ScriptedModel.answers[ex["question"]] = ex["answer"]
    yield ex
    ScriptedModel.answers.pop(ex["question"], None)


def test_learn_shows_the_paper_numbers_before_any_call(peyton):
    at = new_app(PAGE)
    no_exception(at)
    assert at.title[0].value == "Learn: token elasticity"
    paper = [m.value for m in at.metric if m.label == "Paper: output tokens"]
    assert paper == ["15", "258", "86", "157"]
    spec = chart_specs(at)[0]
    assert [t["name"] for t in spec["data"]] == ["Paper (GPT-4o-mini)"]
    assert any(peyton["question"] in t.value for t in at.text)


def test_running_the_four_calls_compares_with_the_paper(peyton):
    at = new_app(PAGE)
    button(at, "Run the 4 calls with fake/elastic").click().run()
    no_exception(at)
    assert badges(at) == ["Correct"] * 4
    spec = chart_specs(at)[0]
    now = next(t for t in spec["data"] if t["name"] == "Now (fake/elastic)")
    assert now["y"] == [15, 258, 86, 157]  # the scripted curve mirrors the paper's Figure 1
    at.run()  # a rerun keeps the results without calling again
    assert badges(at) == ["Correct"] * 4


def test_learn_without_a_model_says_what_to_do(peyton):
    at = new_app(PAGE, models=[])
    no_exception(at)
    assert any("Pick a model" in i.value for i in at.info)
