"""Prompt templates: verbatim from the paper's official repo, and never mutated in place."""

import pytest

from tale_core.engine import prompts
from tale_core.errors import TaleError
from tale_core.types import Message

Q = "Peyton has 3 apples and buys 5 more. How many apples?"


def _user(msgs):
    assert isinstance(msgs, tuple) and len(msgs) == 2
    assert msgs[0] == Message("system", "You are a helpful assistant.")
    assert msgs[1].role == "user"
    return msgs[1].content


def test_vanilla_cot_is_verbatim():
    assert _user(prompts.vanilla_cot(Q)) == (
        f"Q: {Q}\nPlease Give the response by strictly following this format: [[answer]], for example: "
        "Answer: [[50]].Let's think step by step:\n"
    )


def test_direct_is_verbatim():
    assert _user(prompts.direct(Q)) == (
        "Please answer the following question and give the answer directly without any reasoning process. "
        "Please Give the response by strictly following this format: [[answer]], for example: Answer: [[50]]."
        f"\nQ: {Q}"
    )


def test_budget_replaces_only_the_trigger():
    vanilla = _user(prompts.vanilla_cot(Q))
    got = _user(prompts.budget(Q, 50))
    assert got == vanilla.replace(
        "Let's think step by step:\n", "Let's think step by step and use less than 50 tokens:\n"
    )


def test_templates_never_mutated():
    first = _user(prompts.budget(Q, 10))
    second = _user(prompts.budget(Q, 50))
    assert "use less than 10 tokens" in first
    assert "use less than 50 tokens" in second and "10 tokens" not in second
    assert "{budget}" in prompts.BUDGET_TRIGGER and "{question}" in prompts.VANILLA_COT
    assert _user(prompts.vanilla_cot(Q)).endswith("Let's think step by step:\n")
    third = _user(prompts.mc_budget("Pick one\nA. x\nB. y", 7))
    assert "use less than 7 tokens" in third and "[[choice]]" in third


def test_multiple_choice_and_estimator_verbatim():
    assert _user(prompts.mc_cot("Q?\nA. 1\nB. 2")) == (
        "Q?\nA. 1\nB. 2\nPlease Give the response by strictly following this format: [[choice]],for example: "
        "Choice: [[A]].\nLet's think step by step:\n"
    )
    assert _user(prompts.estimator(Q)) == (
        "Task: Analyze the given question and estimate the minimum number of tokens required to generate a "
        "complete and accurate response. Please Give the response by strictly following this format: "
        f'[[budget]],for example: Budget: [[12]].\n\nBelow is the question:\n\nQuestion: "{Q}"\n'
    )


def test_baselines():
    assert "Be concise." in _user(prompts.concise_cot(Q))
    assert "limit the answer length to 30 words." in _user(prompts.constrained_cot(Q, 30))
    cod = _user(prompts.chain_of_draft(Q))
    assert "with 5 words at most" in cod and "separator ####" in cod and "[[answer]]" in cod


def test_braces_in_question_are_kept_literally():
    q = "What is {budget} in {x}?"
    assert f"Q: {q}\n" in _user(prompts.budget(q, 5))


def test_parse_budget_estimate():
    assert prompts.parse_budget_estimate("Budget: [[60]]") == 60
    assert prompts.parse_budget_estimate("e.g. [[12]] ... so Budget: [[85]]") == 85
    for bad in (None, "", "I cannot estimate", "[[-5]]", "[[ten]]", "[[1.5]]"):
        assert prompts.parse_budget_estimate(bad) is None


@pytest.mark.parametrize("bad", [0, -3, "10", 2.5, True])
def test_bad_budget_is_a_clear_error(bad):
    with pytest.raises(TaleError, match="whole number above 0"):
        prompts.budget(Q, bad)


def test_empty_question_is_a_clear_error():
    with pytest.raises(TaleError, match="empty"):
        prompts.vanilla_cot("   ")


def test_format_choices():
    assert prompts.format_choices("Q?", ("one", "two")) == "Q?\nA. one\nB. two"
    assert prompts.format_choices("Q?", None) == "Q?"
    with pytest.raises(TaleError):
        prompts.format_choices("Q?", tuple(str(i) for i in range(27)))
