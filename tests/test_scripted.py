"""The scripted fake model: known curves, exact word-token counts, streaming, errors, options."""

import pytest

from tale_core.engine import prompts
from tale_core.errors import RateLimitError, ServerError, UnknownModel
from tale_core.providers import resolve
from tale_core.providers.scripted import SCRIPTED_CURVES, ScriptedModel, scripted_model
from tale_core.types import GenParams

Q = "How many legs do 3 spiders have?"
P = GenParams(max_tokens=1024)


def _answer(text):
    return text.rsplit("[[", 1)[1].rstrip("]")


def test_required_curves_exist():
    for name in ("elastic", "compliant", "flat", "slow", "flaky", "error", "bad-estimator"):
        assert name in SCRIPTED_CURVES


def test_elastic_curve_is_paper_like():
    m = scripted_model("elastic")
    out = {b: m.complete(prompts.budget(Q, b), P) for b in (10, 50)}
    van = m.complete(prompts.vanilla_cot(Q), P)
    d = m.complete(prompts.direct(Q), P)
    assert van.output_tokens == 258 and d.output_tokens == 15
    assert out[50].output_tokens == 86 and out[10].output_tokens == 157
    for c in (*out.values(), van, d):
        assert c.output_tokens == len(c.text.split())
        assert _answer(c.text) == "42"
    assert _answer(m.complete(prompts.budget(Q, 4), P).text) == "43"


def test_compliant_and_flat():
    c = scripted_model("compliant")
    assert c.complete(prompts.budget(Q, 30), P).output_tokens == 30
    assert _answer(c.complete(prompts.budget(Q, 19), P).text) == "43"
    f = scripted_model("flat")
    assert {f.complete(prompts.budget(Q, b), P).output_tokens for b in (5, 50, 500)} == {200}


def test_answers_registry_and_per_model_answers():
    ScriptedModel.answers["How many legs do 3 spiders have?"] = "24"
    try:
        assert _answer(scripted_model("elastic").complete(prompts.vanilla_cot(Q), P).text) == "24"
    finally:
        del ScriptedModel.answers["How many legs do 3 spiders have?"]
    m = scripted_model("elastic", answers={"spiders": "1,000"})
    assert _answer(m.complete(prompts.budget(Q, 2), P).text) == "1001"


def test_streams_word_by_word():
    pieces = []
    c = scripted_model("elastic").complete(prompts.budget(Q, 50), P, on_text=pieces.append)
    assert len(pieces) == 86 and "".join(pieces) == c.text


def test_estimator_answers():
    assert scripted_model("elastic").complete(prompts.estimator(Q), P).text == "Budget: [[60]]"
    assert prompts.parse_budget_estimate(scripted_model("bad-estimator").complete(prompts.estimator(Q), P).text) is None
    assert scripted_model("elastic?estimate=[[0]]").complete(prompts.estimator(Q), P).text == "[[0]]"


def test_max_tokens_truncates():
    c = scripted_model("elastic").complete(prompts.vanilla_cot(Q), GenParams(max_tokens=20))
    assert c.output_tokens == 20 and c.finish_reason == "length" and "[[" not in c.text


def test_errors_and_flaky():
    with pytest.raises(RateLimitError):
        scripted_model("error").complete(prompts.vanilla_cot(Q), P)
    m = scripted_model("flaky")
    results = []
    for _ in range(6):
        try:
            m.complete(prompts.vanilla_cot(Q), P)
            results.append("ok")
        except ServerError:
            results.append("err")
    assert results == ["ok", "ok", "err", "ok", "ok", "err"]


def test_options_and_resolve():
    m = resolve("fake/slow?latency=0.01&concurrency=2")
    assert m.spec == "fake/slow?latency=0.01&concurrency=2"
    assert m.curve.latency == 0.01 and m.max_concurrency == 2
    with pytest.raises(UnknownModel):
        scripted_model("nope")
    with pytest.raises(UnknownModel):
        scripted_model("elastic?latency=abc")
    with pytest.raises(UnknownModel):
        scripted_model("elastic?colour=red")


def test_thinking_and_effort_report_reasoning_tokens():
    m = scripted_model("elastic")
    c = m.complete(prompts.vanilla_cot(Q), GenParams(thinking_budget=100))
    assert c.reasoning_tokens == 100 and c.output_tokens == 100 + len(c.text.split())
    e = m.complete(prompts.vanilla_cot(Q), GenParams(reasoning_effort="high"))
    assert e.reasoning_tokens == 258
