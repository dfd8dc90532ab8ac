"""Statistics of benchmark numbers against values computed by hand or known from the literature."""

from __future__ import annotations

import math

import pytest

from tale_core.analysis.stats import (
    PerQuestion,
    accuracy_interval,
    accuracy_over_questions,
    mcnemar_exact,
    mean_interval,
    paired_comparison,
    per_question,
)


def test_wilson_interval_of_8_of_10() -> None:
    iv = accuracy_interval(8, 10)
    # Wilson score interval, z = 1.959964: centre (8 + z^2/2) / (10 + z^2), half width z/(10+z^2)*sqrt(...)
    z = 1.959963984540054
    centre = (8 + z * z / 2) / (10 + z * z)
    half = z / (10 + z * z) * math.sqrt(8 * 2 / 10 + z * z / 4)
    assert iv.estimate == 0.8 and iv.n == 10 and iv.method == "wilson"
    assert iv.low == pytest.approx(centre - half, abs=1e-9) and iv.low == pytest.approx(0.4902, abs=1e-4)
    assert iv.high == pytest.approx(centre + half, abs=1e-9) and iv.high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_edges() -> None:
    assert accuracy_interval(0, 0).estimate is None
    zero = accuracy_interval(0, 20)
    assert zero.low == 0.0 and 0.1 < zero.high < 0.2  # Wilson never collapses to [0, 0]
    full = accuracy_interval(20, 20)
    assert full.high == pytest.approx(1.0) and 0.8 < full.low < 0.9
    with pytest.raises(ValueError):
        accuracy_interval(11, 10)


def test_mcnemar_exact_known_values() -> None:
    # b = 1, c = 9: two-sided exact p = 2 * P(X <= 1 | n = 10, 1/2) = 2 * 11 / 1024
    m = mcnemar_exact([True] + [False] * 9 + [True] * 5, [False] + [True] * 9 + [True] * 5)
    assert (m.b, m.c) == (1, 9) and m.p_value == pytest.approx(22 / 1024)
    # b = 0, c = 5: p = 2 / 32
    assert mcnemar_exact([False] * 5, [True] * 5).p_value == pytest.approx(2 / 32)
    # concordant only: nothing to test, p = 1
    assert mcnemar_exact([True, False], [True, False]).p_value == 1.0
    # symmetric discordance: p = 1 (capped)
    assert mcnemar_exact([True, False], [False, True]).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact([True], [True, False])


def test_mean_interval_is_reproducible_and_covers_the_mean() -> None:
    values = [120, 80, 95, 300, 210, 40, 150, 99, 101, 180]
    a, b = mean_interval(values), mean_interval(values)
    assert a == b  # fixed seed
    assert a.estimate == pytest.approx(137.5)
    assert a.low is not None and a.high is not None and a.low < 137.5 < a.high
    assert 80 < a.low and a.high < 210
    assert mean_interval([5, 5, 5]).as_pair() == [5.0, 5.0]
    assert mean_interval([7]).as_pair() == [None, None]
    assert mean_interval([]).estimate is None


def _pq(tokens: float, correct: bool, trials: int = 1) -> PerQuestion:
    return PerQuestion(trials, tokens, 1.0 if correct else 0.0, correct, trials)


def test_paired_reduction_and_mcnemar() -> None:
    vanilla = {str(i): _pq(300 + 10 * i, True) for i in range(12)}
    method = {str(i): _pq(100 + 5 * i, i % 4 != 0) for i in range(12)}
    c = paired_comparison(method, vanilla)
    est = 1 - sum(100 + 5 * i for i in range(12)) / sum(300 + 10 * i for i in range(12))
    assert c.n == 12 and c.reduction.estimate == pytest.approx(est)
    assert c.reduction.low is not None and c.reduction.high is not None
    assert c.reduction.low < est < c.reduction.high and c.reduction.high < 1 and c.reduction.low > 0.5
    assert c.accuracy_difference == pytest.approx(-3 / 12)
    assert c.mcnemar is not None and (c.mcnemar.b, c.mcnemar.c) == (0, 3)
    assert c.mcnemar.p_value == pytest.approx(2 / 8)


def test_paired_uses_only_shared_questions() -> None:
    vanilla = {"a": _pq(100, True), "b": _pq(200, True)}
    method = {"a": _pq(50, True), "c": _pq(10, True)}
    c = paired_comparison(method, vanilla)
    assert c.n == 1 and c.reduction.estimate == pytest.approx(0.5) and c.reduction.low is None


def test_per_question_aggregates_repeats() -> None:
    rows = [
        {"item_id": "1", "status": "correct", "answer_output_tokens": 10},
        {"item_id": "1", "status": "wrong", "answer_output_tokens": 20},
        {"item_id": "1", "status": "correct", "answer_output_tokens": 30},
        {"item_id": "2", "status": "hedged", "answer_output_tokens": 40},
        {"item_id": "2", "status": "correct", "answer_output_tokens": 60},
        {"item_id": "2", "status": "error", "answer_output_tokens": None},
        {"item_id": "3", "status": "ungraded", "answer_output_tokens": 5},
    ]
    pq = per_question(rows)
    assert pq["1"] == PerQuestion(3, 20.0, pytest.approx(2 / 3), True, 3)
    # a hedged answer is graded and not correct; a 1-1 tie is not a majority; the error is left out
    assert pq["2"].share_correct == 0.5 and pq["2"].majority_correct is False and pq["2"].graded == 2
    assert pq["2"].tokens == 50.0 and pq["2"].trials == 3
    assert pq["3"].share_correct is None and pq["3"].tokens == 5.0


def test_accuracy_over_questions_switches_to_bootstrap_with_repeats() -> None:
    single = {str(i): _pq(1, i < 8) for i in range(10)}
    assert accuracy_over_questions(single) == accuracy_interval(8, 10)
    repeated = {str(i): PerQuestion(3, 1.0, s, s > 0.5, 3) for i, s in enumerate([1, 2 / 3, 1 / 3, 0, 1, 1])}
    iv = accuracy_over_questions(repeated)
    assert iv.method == "bootstrap over questions" and iv.n == 6
    assert iv.estimate == pytest.approx((1 + 2 / 3 + 1 / 3 + 0 + 1 + 1) / 6)
    assert iv.low is not None and iv.high is not None and iv.low < iv.estimate < iv.high


def test_repeats_that_all_agree_keep_a_wilson_interval() -> None:
    agree = {str(i): PerQuestion(3, 1.0, 1.0 if i < 4 else 0.0, i < 4, 3) for i in range(6)}
    iv = accuracy_over_questions(agree)
    assert iv.method == "wilson over questions (repeats agree)"
    assert (iv.low, iv.high) == (accuracy_interval(4, 6).low, accuracy_interval(4, 6).high)
    none_right = accuracy_over_questions({str(i): PerQuestion(3, 1.0, 0.0, False, 3) for i in range(6)})
    assert none_right.low == 0.0 and none_right.high > 0.3
