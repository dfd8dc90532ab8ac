"""Methods: specs, prompts sent, grading, TALE-EP estimates and their fallback policy."""

import pytest

from tale_core.engine.methods import METHOD_KEYS, MethodError, MethodSpec, classify_estimate, run_method
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import scripted_model
from tale_core.types import GenParams

Q = "A farmer has 40 sheep and buys 2 more. How many sheep?"


@pytest.mark.parametrize(
    "text,label",
    [
        ("direct", "Direct answer"),
        ("vanilla", "Vanilla CoT"),
        ("budget:50", "Budget 50"),
        ("tale-ep", "TALE-EP"),
        ("concise", "Concise CoT (zero-shot)"),
        ("concise-fewshot", "Concise CoT (few-shot)"),
        ("constrained:50", "Constrained CoT (50 words)"),
        ("cod", "Chain of Draft (zero-shot)"),
        ("cod-fewshot", "Chain of Draft (few-shot)"),
        ("thinking:2048", "Thinking budget 2048"),
        ("effort:low", "Reasoning effort low"),
    ],
)
def test_spec_parse_label_roundtrip(text, label):
    s = MethodSpec.parse(text)
    assert s.label == label and s.to_str() == text and MethodSpec.parse(s.to_str()) == s
    assert s.key in METHOD_KEYS


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "magic",
        "budget",
        "budget:0",
        "budget:-5",
        "budget:ten",
        "effort:extreme",
        "vanilla:3",
        "tale-ep:budget",
        "cod-fewshot:2",
        "thinking",
        "effort",
    ],
)
def test_bad_specs_are_clear_errors(bad):
    with pytest.raises(MethodError):
        MethodSpec.parse(bad)


def test_run_budget_method_graded():
    r = run_method(scripted_model("elastic"), MethodSpec("budget", 50), Q, gold="42")
    assert (r.status, r.correct, r.extracted, r.budget_used) == ("correct", True, "42", 50)
    assert r.output_tokens == r.answer_output_tokens == 86 and r.estimate_output_tokens == 0
    assert "use less than 50 tokens" in r.records[0].messages[1].content
    assert r.records[0].correct is True and r.records[0].extracted_answer == "42"
    assert r.cost_usd == 0.0 and r.to_row()["label"] == "Budget 50"


def test_wrong_ungraded_and_no_answer():
    m = scripted_model("elastic")
    assert run_method(m, MethodSpec("budget", 2), Q, gold="42").status == "wrong"
    u = run_method(m, MethodSpec("vanilla"), Q)
    assert u.status == "ungraded" and u.correct is None and u.extracted == "42"
    t = run_method(m, MethodSpec("vanilla"), Q, gold="42", params=GenParams(max_tokens=5))
    assert t.finish_reason == "length" and t.correct is not True


def test_tale_ep_uses_estimate():
    r = run_method(scripted_model("elastic"), MethodSpec("tale-ep"), Q, gold="42")
    assert [x.role for x in r.records] == ["estimate", "answer"]
    assert r.estimate["status"] == "ok" and r.estimate["parsed"] == 60 and r.budget_used == 60
    assert "use less than 60 tokens" in r.records[1].messages[1].content
    assert r.output_tokens == r.answer_output_tokens + r.estimate_output_tokens
    assert r.estimate_output_tokens == 2 and r.status == "correct"


@pytest.mark.parametrize(
    "estimate,status",
    [("I cannot estimate", "unparseable"), ("[[0]]", "absurd"), ("[[-5]]", "absurd"), ("[[999999]]", "absurd")],
)
def test_tale_ep_falls_back_to_vanilla(estimate, status):
    m = scripted_model("elastic?estimate=" + estimate)
    r = run_method(m, MethodSpec("tale-ep"), Q, gold="42")
    assert r.estimate["status"] == status and r.estimate["fallback"] == "vanilla"
    ans = r.records[1].messages[1].content
    assert ans.endswith("Let's think step by step:\n") and "less than" not in ans
    assert r.budget_used is None and r.answer_output_tokens == 258 and r.status == "correct"


def test_bad_estimator_curve_and_direct_fallback():
    r = run_method(scripted_model("bad-estimator"), MethodSpec("tale-ep", fallback="direct"), Q, gold="42")
    assert r.estimate["status"] == "unparseable" and r.answer_output_tokens == 15


def test_classify_estimate_bounds():
    assert classify_estimate("[[4096]]", 4096) == (4096, "ok")
    assert classify_estimate("[[4097]]", 4096) == (4097, "absurd")


def test_provider_errors_give_error_status():
    r = run_method(scripted_model("error"), MethodSpec("tale-ep"), Q, gold="42")
    assert r.status == "error" and r.error["kind"] == "rate_limit" and len(r.records) == 1
    assert r.cost_usd is None and r.to_row()["error"]


def test_thinking_and_effort_params():
    r = run_method(scripted_model("elastic"), MethodSpec("thinking", 500), Q, gold="42")
    assert r.records[0].params.thinking_budget == 500 and r.reasoning_tokens == 258
    e = run_method(scripted_model("elastic"), MethodSpec("effort", effort="low"), Q, gold="42")
    assert e.records[0].params.reasoning_effort == "low"


def test_multiple_choice():
    r = run_method(
        scripted_model("elastic", answers={"Which": "B"}),
        MethodSpec("budget", 50),
        "Which is red?",
        gold="B",
        choices=("grass", "blood"),
    )
    sent = r.records[0].messages[1].content
    assert "A. grass\nB. blood" in sent and "[[choice]]" in sent and r.status == "correct"


def test_cache_hit_flag_and_streaming():
    cache, pieces = MemoryCache(), []
    m = scripted_model("elastic")
    run_method(m, MethodSpec("tale-ep"), Q, gold="42", cache=cache)
    r = run_method(m, MethodSpec("tale-ep"), Q, gold="42", cache=cache, on_text=pieces.append)
    assert r.cache_hit and m.calls == 2 and "".join(pieces) == r.text


def test_methods_accept_string_spec_and_reject_empty_question():
    from tale_core.errors import TaleError

    assert run_method(scripted_model("flat"), "cod", Q).method.key == "cod"
    with pytest.raises(TaleError):
        run_method(scripted_model("flat"), "vanilla", "  ")
