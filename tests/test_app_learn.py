"""Learn page: the paper's numbers, the four calls with the chosen model, the comparison chart."""

from __future__ import annotations

import pytest

from tale_core.providers.scripted import ScriptedModel
from tests.helpers_app import badges, button, chart_specs, new_app, no_exception
from ui import services

PAGE = "pages/learn.py"


def paper_chart(at):
    return next(c for c in chart_specs(at) if c["layout"]["title"]["text"].startswith("Output tokens per prompt"))


def walk(node):
    """Every element under ``node`` in page order."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


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
    spec = paper_chart(at)
    assert [t["name"] for t in spec["data"]] == ["Paper (GPT-4o-mini)"]
    assert any(peyton["question"] in t.value for t in at.text)


def test_running_the_four_calls_compares_with_the_paper(peyton):
    at = new_app(PAGE)
    button(at, "Run the 4 calls with fake/elastic").click().run()
    no_exception(at)
    assert badges(at) == ["Correct"] * 4
    spec = paper_chart(at)
    now = next(t for t in spec["data"] if t["name"] == "Now (fake/elastic)")
    assert now["y"] == [15, 258, 86, 157]  # the scripted curve mirrors the paper's Figure 1
    at.run()  # a rerun keeps the results without calling again
    assert badges(at) == ["Correct"] * 4


def test_learn_without_a_model_says_what_to_do(peyton):
    at = new_app(PAGE, models=[])
    no_exception(at)
    assert any("Pick a model" in i.value for i in at.info)


def test_learn_is_readable_when_projected(peyton):
    """Key explanations are body text (not small grey captions); "run the four calls below" comes before
    the calls; the curve is drawn; the TALE-EP step is shown."""
    from ui import learn_content as content

    at = new_app(PAGE)
    no_exception(at)
    main_captions = " ".join(str(c.value) for c in at.main.caption)
    md = " ".join(str(m.value) for m in at.main.markdown)
    for step in content.STEPS:
        assert step.what in md and step.what not in main_captions
    assert content.CAVEATS in md and content.CAVEATS not in main_captions
    order = [
        getattr(el, "value", None) if el.type == "markdown" else getattr(el, "label", el.type) for el in walk(at.main)
    ]
    told = next(i for i, v in enumerate(order) if v == content.CLASSROOM)
    run = next(i for i, v in enumerate(order) if v == "Run the 4 calls with fake/elastic")
    assert told < run
    curve = next(c for c in chart_specs(at) if "Token elasticity" in c["layout"]["title"]["text"])
    assert "SIMULATED" in curve["layout"]["title"]["text"]
    line = next(t for t in curve["data"] if t.get("name") == "fake/simulated")
    ys = dict(zip(line["x"], line["y"]))
    assert ys[10] > ys[50] < ys[400]
    assert "Step 1 · Estimate a budget" in md and "so the budget is **62 tokens**" in md
    assert "Step 2 · Ask with that budget" in md


def test_classroom_mode_reveals_the_lesson_step_by_step(peyton):
    from ui import classroom
    from ui.jobs import registry

    at = new_app(PAGE, query={"classroom": "1"})
    no_exception(at)
    md = " ".join(str(m.value) for m in at.main.markdown)
    assert '[data-testid="stSidebar"]' in md and "font-size: 1.5rem" in md  # sidebar hidden, large type
    assert "1 / 8 · The question" in md
    assert any(peyton["question"] in t.value for t in at.text)
    assert any("Discuss:" in i.value for i in at.info)
    assert not list(at.main.metric)  # nothing revealed yet
    for _ in range(4):
        button(at, "Next ▶").click().run()
    no_exception(at)
    assert [m.value for m in at.main.metric] == ["15 tokens", "258 tokens", "86 tokens", "157 tokens"]
    button(at, "Next ▶").click().run()  # the curve, drawn live
    no_exception(at)
    job = registry().get(at.session_state["_start_demo_job"])
    assert job is not None and job.config.get("use_cache") is False  # every point drawn as it arrives
    registry().wait(job.id, 60)
    at.run()
    curve = chart_specs(at)[0]
    assert len(next(t for t in curve["data"] if t.get("name") == "fake/simulated")["x"]) == 9
    button(at, "Next ▶").click().run()
    md = " ".join(str(m.value) for m in at.main.markdown)
    assert "7 / 8 · TALE-EP" in md and "Step 1 · Estimate a budget" in md
    button(at, "Next ▶").click().run()
    assert button(at, "Next ▶").proto.disabled is not False
    assert at.session_state[classroom.STEP_KEY] == len(classroom.SLIDES) - 1
    button(at, "Exit").click().run()
    assert at.title[0].value == "Learn: token elasticity"
