"""Playground page through AppTest with scripted fake models (no network, no real model)."""

from __future__ import annotations

import pytest

from tale_core.providers.scripted import ScriptedModel
from tests.helpers_app import badges, button, captions, errors, new_app, no_exception, texts

QUESTION = "A farmer has 17 sheep and buys 25 more. How many sheep does he have now?"


@pytest.fixture
def gold_registered():
    ScriptedModel.answers[QUESTION] = "42"
    yield "42"
    ScriptedModel.answers.pop(QUESTION, None)


def run_playground(at, question: str, gold: str = "", methods=None):
    at.text_area(key="pg_question").input(question)
    at.text_input(key="pg_gold").input(gold)
    if methods is not None:
        at.session_state["pg_methods"] = methods
    button(at, "Run").click().run()
    return at


def test_page_loads_with_fake_model_selected(fake_env):
    at = new_app("pages/playground.py")
    no_exception(at)
    assert at.title[0].value == "Playground"
    assert at.sidebar.multiselect[0].value == ["fake/elastic"]
    assert "Type a question" not in " ".join(errors(at))  # no nagging before the first click


def test_empty_question_says_so_under_the_field(fake_env):
    at = new_app("pages/playground.py")
    button(at, "Run").click().run()
    no_exception(at)
    assert any("Type a question first" in e for e in errors(at))
    assert badges(at) == []  # nothing ran


def test_too_long_question_is_refused(fake_env):
    at = new_app("pages/playground.py")
    run_playground(at, "x" * 20_001)
    no_exception(at)
    assert any("keep it under 20,000" in e for e in errors(at))


def test_four_methods_side_by_side_with_tokens_and_badges(fake_env, gold_registered):
    at = new_app("pages/playground.py")
    run_playground(at, QUESTION, gold_registered)
    no_exception(at)
    assert badges(at) == ["Correct"] * 4
    caps = " | ".join(captions(at))
    assert "Estimated budget: 60 tokens" in caps  # TALE-EP shows its estimate
    assert "out 15" in caps and "out 258" in caps and "out 86" in caps  # direct, vanilla, budget 50
    assert "Answer: 42" in caps
    assert any(t.endswith("[[42]]") for t in texts(at))
    assert "Saved as experiment" in caps
    assert at.dataframe, "summary table missing"


def test_results_survive_a_rerun_without_new_calls(fake_env, gold_registered):
    at = new_app("pages/playground.py")
    run_playground(at, QUESTION, gold_registered)
    spend_before = at.session_state["_spend_meter"].calls
    at.run()  # any widget interaction reruns the script
    no_exception(at)
    assert badges(at) == ["Correct"] * 4
    assert at.session_state["_spend_meter"].calls == spend_before


def test_wrong_answer_is_marked_wrong(fake_env, gold_registered):
    at = new_app("pages/playground.py")
    run_playground(at, QUESTION, "41")
    assert set(badges(at)) == {"Wrong"}


def test_without_gold_cards_say_not_graded(fake_env):
    at = new_app("pages/playground.py")
    run_playground(at, QUESTION)
    assert set(badges(at)) == {"Not graded"}


def test_provider_error_is_shown_in_the_card_in_words(fake_env):
    at = new_app("pages/playground.py", models=["fake/error"])
    run_playground(at, QUESTION, "42")
    no_exception(at)
    assert set(badges(at)) == {"Error"}
    assert any("rate limit" in e.lower() for e in errors(at))


def test_unparseable_estimate_falls_back_to_vanilla(fake_env, gold_registered):
    at = new_app("pages/playground.py", models=["fake/bad-estimator"])
    run_playground(at, QUESTION, gold_registered, methods=["tale-ep"])
    no_exception(at)
    caps = " | ".join(captions(at))
    assert "Fell back to vanilla CoT" in caps and "I cannot estimate" in caps
    assert badges(at) == ["Correct"]


def test_two_models_get_a_row_each(fake_env, gold_registered):
    at = new_app("pages/playground.py", models=["fake/elastic", "fake/flat"])
    run_playground(at, QUESTION, gold_registered, methods=["vanilla", "budget"])
    no_exception(at)
    assert [s.value for s in at.subheader] == ["fake/elastic", "fake/flat"]
    assert "out 200" in " ".join(captions(at))  # flat ignores the budget


def test_second_identical_run_is_free_from_cache(fake_env, gold_registered):
    at = new_app("pages/playground.py")
    run_playground(at, QUESTION, gold_registered, methods=["vanilla"])
    button(at, "Run").click().run()
    assert "free from cache" in " ".join(captions(at))


def test_model_text_is_never_rendered_as_html(fake_env):
    nasty = "<script>alert(1)</script> What is 2+2?"
    ScriptedModel.answers[nasty] = "<b>4</b>"
    try:
        at = new_app("pages/playground.py")
        run_playground(at, nasty, methods=["direct"])
        no_exception(at)
        assert any("<b>4</b>" in t for t in texts(at))  # shown as literal text
        assert all("<script>" not in str(m.value) for m in at.markdown)
    finally:
        ScriptedModel.answers.pop(nasty, None)


def test_loading_examples_fills_question_gold_and_choices(fake_env):
    at = new_app("pages/playground.py")
    at.selectbox(key="pg_example").set_value("peyton").run()
    button(at, "Load").click().run()
    no_exception(at)
    assert at.text_area(key="pg_question").value.startswith("Peyton scheduled")
    assert at.text_input(key="pg_gold").value == "17"
    at.selectbox(key="pg_example").set_value("mc-percent").run()
    button(at, "Load").click().run()
    assert at.text_area(key="pg_choices").value.splitlines() == ["12", "10", "15", "16"]
    assert at.text_input(key="pg_gold").value == "A"
    button(at, "Run").click().run()
    no_exception(at)
    assert any(t.endswith("]]") for t in texts(at))  # the fake answered in the lettered format


def test_a_single_option_is_refused(fake_env):
    at = new_app("pages/playground.py")
    at.text_area(key="pg_question").input(QUESTION)
    at.text_area(key="pg_choices").input("only one")
    button(at, "Run").click().run()
    no_exception(at)
    assert any("at least two options" in e for e in errors(at))
    assert badges(at) == []
