"""Budget lists and grids: parsing, de-duplication, clear errors."""

import pytest

from tale_core.engine.budgets import (
    MAX_BUDGET,
    MAX_POINTS,
    BudgetError,
    check_budget,
    linear_grid,
    log_grid,
    normalize_budgets,
    parse_budget_list,
)
from tale_core.errors import TaleError


def test_parse_budget_list():
    assert parse_budget_list("10, 25,50") == [10, 25, 50]
    assert parse_budget_list(" 50;10  25 10 ") == [10, 25, 50]
    assert parse_budget_list("1_000") == [1000]


@pytest.mark.parametrize(
    "text,msg",
    [
        ("", "No budgets"),
        ("  , ", "No budgets"),
        ("0", "at least 1"),
        ("-5", "at least 1"),
        ("ten", "not a whole number"),
        ("12.5", "not a whole number"),
        (str(MAX_BUDGET + 1), "above the limit"),
        (",".join(str(i) for i in range(1, MAX_POINTS + 2)), "too many"),
    ],
)
def test_parse_errors(text, msg):
    with pytest.raises(BudgetError, match=msg):
        parse_budget_list(text)
    assert issubclass(BudgetError, TaleError)


def test_check_budget_types():
    assert check_budget(5) == 5 and check_budget(5.0) == 5 and check_budget(" 7 ") == 7
    for bad in (True, None, 2.5, [3]):
        with pytest.raises(BudgetError):
            check_budget(bad)
    assert normalize_budgets([50, "10", 10.0]) == [10, 50]


def test_linear_grid():
    assert linear_grid(10, 50, 5) == [10, 20, 30, 40, 50]
    assert linear_grid(1, 3, 10) == [1, 2, 3]
    assert linear_grid(7, 7, 3) == [7] and linear_grid(5, 100, 1) == [5]


def test_log_grid():
    g = log_grid(10, 1000, 3)
    assert g == [10, 100, 1000]
    g = log_grid(1, 512, 10)
    assert g[0] == 1 and g[-1] == 512 and g == sorted(set(g)) and len(g) == 10
    assert log_grid(1, 4, 20) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "args", [(0, 10, 3), (50, 10, 3), (1, 10, 0), (1, 10, MAX_POINTS + 1), (1, 10, "3"), (1, MAX_BUDGET + 1, 3)]
)
def test_grid_errors(args):
    with pytest.raises(BudgetError):
        linear_grid(*args)
    with pytest.raises(BudgetError):
        log_grid(*args)
