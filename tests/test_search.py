"""Budget search on scripted curves with known shapes: exact probe paths, and ours against the paper's."""

from __future__ import annotations

import pytest

from tale_core.errors import TaleError
from tale_core.experiments.search import ALGORITHMS, bracket_search, paper_search
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import SCRIPTED_CURVES, Curve, ScriptedModel, scripted_model

Q = "A farmer has 6 rows of 7 apple trees. How many trees are there?"
GOLD = "42"


class ListSink:
    def __init__(self):
        self.records = []

    def on_call(self, record):
        self.records.append(record)


def model(name: str) -> ScriptedModel:
    return scripted_model(name, answers={Q: GOLD})


def path(result):
    return [(p.budget, p.output_tokens, p.correct, p.accepted) for p in result.probes]


# ---------------------------------------------------------------- the paper's search, exact paths


def test_paper_search_elastic_stops_when_tokens_rise():
    r = paper_search(model("elastic"), Q, GOLD)
    # 258 -> 129 (143 tokens) -> 64 (94) -> 32 (98: more tokens, stop)
    assert path(r) == [(None, 258, True, True), (129, 143, True, True), (64, 94, True, True), (32, 98, True, False)]
    assert r.chosen_budget == 64 and r.chosen_tokens == 94 and r.calls == 4
    assert r.algorithm == "paper" and r.spec == "fake/elastic"
    assert r.total_output_tokens == 258 + 143 + 94 + 98
    assert "budget 32" in r.reason


def test_paper_search_compliant_stops_at_first_wrong_answer():
    r = paper_search(model("compliant"), Q, GOLD)
    assert path(r) == [
        (None, 240, True, True),
        (120, 120, True, True),
        (60, 60, True, True),
        (30, 30, True, True),
        (15, 15, False, False),
    ]
    assert r.chosen_budget == 30 and r.chosen_tokens == 30 and r.calls == 5
    assert "wrong answer" in r.reason


def test_paper_search_flat_returns_the_vanilla_token_count():
    r = paper_search(model("flat"), Q, GOLD)
    assert path(r) == [(None, 200, True, True), (100, 200, True, False)]
    # the official code returns the starting budget (vanilla's token count) when no halving is accepted
    assert r.chosen_budget == 200 and r.chosen_tokens == 200 and r.calls == 2
    assert "vanilla token count" in r.reason


@pytest.mark.parametrize("search", [paper_search, bracket_search])
def test_wrong_vanilla_is_not_searched(search):
    r = search(model("elastic"), Q, "41")  # the fake answers 42
    assert r.calls == 1 and r.chosen_budget is None
    assert r.probes[0].correct is False and r.reference_correct is False
    assert "only searches questions vanilla CoT answers correctly" in r.reason


@pytest.mark.parametrize("search", [paper_search, bracket_search])
def test_missing_gold_needs_no_calls(search):
    m = model("elastic")
    r = search(m, Q, None)
    assert r.calls == 0 and m.calls == 0 and r.chosen_budget is None
    assert "gold answer is needed" in r.reason


@pytest.mark.parametrize("search", [paper_search, bracket_search])
def test_failed_reference_call_is_reported_not_raised(search):
    r = search(model("error"), Q, GOLD)
    assert r.calls == 1 and r.chosen_budget is None
    assert r.probes[0].status == "error" and "rate limit" in r.reason.lower()


def test_failed_probe_stops_the_paper_search_with_the_last_good_budget():
    r = paper_search(model("flaky"), Q, GOLD)  # the 3rd call fails
    assert [p.status for p in r.probes] == ["correct", "correct", "error"]
    assert r.chosen_budget == 129 and "failed" in r.reason


# ---------------------------------------------------------------- our bracketing search, exact paths


def test_bracket_search_elastic_replays_the_chain_then_steps_to_the_parabola_minimum():
    r = bracket_search(model("elastic"), Q, GOLD)
    assert path(r) == [
        (None, 258, True, True),
        (129, 143, True, True),
        (64, 94, True, True),
        (32, 98, True, False),
        (48, 86, True, True),
    ]
    assert [p.phase for p in r.probes] == ["reference", "halve", "halve", "halve", "parabola"]
    assert r.chosen_budget == 48 and r.chosen_tokens == 86 and r.calls == 5


def test_bracket_search_compliant_bisects_toward_the_cliff():
    r = bracket_search(model("compliant"), Q, GOLD)
    assert path(r) == [
        (None, 240, True, True),
        (120, 120, True, True),
        (60, 60, True, True),
        (30, 30, True, True),
        (15, 15, False, False),
        (21, 21, True, True),
    ]
    assert r.chosen_budget == 21 and r.calls == 6 and r.probes[-1].phase == "bisect"


def test_bracket_search_flat_says_use_no_budget():
    r = bracket_search(model("flat"), Q, GOLD)
    # the paper's first halving saves nothing; one look below it (25) saves nothing either
    assert path(r) == [(None, 200, True, True), (100, 200, True, False), (25, 200, True, False)]
    assert r.chosen_budget is None and r.chosen_tokens == 200 and "use no budget" in r.reason


def test_bracket_search_looks_past_a_bump_and_stops_on_a_plateau():
    # measured shape of Qwen2.5-Coder-1.5B on one question: tiny budgets all give ~85 tokens
    qwen_like = Curve(
        "qwen-like", "plateau", vanilla_tokens=219, points=((5, 85), (20, 85), (40, 180), (80, 234), (400, 234))
    )
    r = bracket_search(ScriptedModel(qwen_like, answers={Q: GOLD}), Q, GOLD)
    assert path(r) == [
        (None, 219, True, True),
        (109, 234, True, False),
        (27, 118, True, True),
        (6, 85, True, True),
        (4, 85, True, False),
    ]
    assert r.chosen_budget == 6 and "Plateau" in r.reason and "Past the bump" in r.reason
    # the paper's halving stops at once: budget 109 costs more than vanilla CoT
    p = paper_search(ScriptedModel(qwen_like, answers={Q: GOLD}), Q, GOLD)
    assert path(p) == [(None, 219, True, True), (109, 234, True, False)]
    assert r.chosen_tokens < p.chosen_tokens


def test_bracket_search_call_limit_never_cuts_the_paper_chain():
    r = bracket_search(model("compliant"), Q, GOLD, max_calls=3)
    # the chain alone is 5 calls: it runs to its end, nothing runs after it
    assert r.calls == 5 and "call limit" in r.reason
    assert r.chosen_budget == 30


def test_failed_probe_stops_the_bracket_search_with_the_last_good_budget():
    r = bracket_search(model("flaky"), Q, GOLD)  # the 3rd call fails
    assert [p.status for p in r.probes] == ["correct", "correct", "error"]
    assert r.chosen_budget == 129 and "failed" in r.reason


def test_bracket_search_rejects_bad_settings():
    with pytest.raises(TaleError, match="factor"):
        bracket_search(model("elastic"), Q, GOLD, factor=1)


# ---------------------------------------------------------------- ours against the paper's
# (the general proof over generated curves is tests/test_search_properties.py)

DEEP = Curve("deep", "compliant with a long vanilla answer", vanilla_tokens=1000, fail_below=20)


@pytest.mark.parametrize("curve", ["elastic", "compliant", "flat", "slow?latency=0", "bad-estimator", "flaky"])
def test_bracket_never_dearer_on_the_catalogue(curve):
    p = paper_search(model(curve), Q, GOLD)
    b = bracket_search(model(curve), Q, GOLD)
    assert b.chosen_tokens <= p.chosen_tokens
    # the paper's probes come first, the same ones
    assert [x.budget for x in b.probes[: p.calls]] == [x.budget for x in p.probes]
    # and at any call limit, even one below the paper's own count
    for cap in (2, p.calls, p.calls + 1):
        assert bracket_search(model(curve), Q, GOLD, max_calls=cap).chosen_tokens <= p.chosen_tokens


def test_bracket_strictly_better_on_the_known_elastic_and_compliant_curves():
    for name in ("elastic", "compliant"):
        p = paper_search(model(name), Q, GOLD)
        b = bracket_search(model(name), Q, GOLD)
        assert b.chosen_tokens < p.chosen_tokens, name


def test_bracket_on_a_long_vanilla_answer_pays_the_chain_then_one_bisection():
    p = paper_search(ScriptedModel(DEEP, answers={Q: GOLD}), Q, GOLD)
    b = bracket_search(ScriptedModel(DEEP, answers={Q: GOLD}), Q, GOLD)
    assert [x.budget for x in p.probes] == [None, 500, 250, 125, 62, 31, 15]
    assert p.chosen_budget == 31
    assert [x.budget for x in b.probes] == [None, 500, 250, 125, 62, 31, 15, 22]
    assert b.chosen_budget == 22 and b.calls == p.calls + 1 and b.chosen_tokens < p.chosen_tokens


def test_every_curve_in_the_catalogue_is_searchable():
    for name in SCRIPTED_CURVES:
        for search in ALGORITHMS.values():
            r = search(model(name), Q, GOLD)
            assert r.calls >= 1 and isinstance(r.reason, str) and r.reason
            d = r.to_dict()
            assert d["algorithm"] == r.algorithm and len(d["probes"]) == r.calls


# ---------------------------------------------------------------- records, cache and live probes


def test_probe_records_are_tagged_and_streamed_live():
    sink, seen = ListSink(), []
    r = bracket_search(model("elastic"), Q, GOLD, sink=sink, on_probe=seen.append)
    assert [p.step for p in seen] == [0, 1, 2, 3, 4] and seen == r.probes
    assert [rec.role for rec in sink.records] == ["reference", "probe", "probe", "probe", "probe"]
    assert [rec.budget for rec in sink.records] == [None, 129, 64, 32, 48]
    assert all(rec.extra["search"] == "bracket" for rec in sink.records)
    assert [rec.extra["step"] for rec in sink.records] == [0, 1, 2, 3, 4]


def test_cache_shares_the_reference_between_searches():
    cache, m = MemoryCache(), model("elastic")
    paper_search(m, Q, GOLD, cache=cache)
    first = m.calls
    r = bracket_search(m, Q, GOLD, cache=cache)
    # the reference and the whole halving chain were cached by the paper's search
    assert m.calls == first + 1
    assert [p.cache_hit for p in r.probes] == [True, True, True, True, False]


def test_a_given_reference_is_reused_and_still_counted():
    from tale_core.engine.methods import MethodSpec, run_method

    m = model("compliant")
    ref = run_method(m, MethodSpec("vanilla"), Q, gold=GOLD)
    before = m.calls
    r = paper_search(m, Q, GOLD, reference=ref)
    assert m.calls == before + 4 and r.calls == 5 and r.chosen_budget == 30


def test_savings_against_vanilla():
    r = bracket_search(model("compliant"), Q, GOLD)
    assert r.reference_tokens == 240
    assert r.savings == pytest.approx(1 - 21 / 240)
