"""Token budgets a user asks for: parse a typed list, or build a linear or logarithmic grid.

All functions return sorted, de-duplicated positive ints and raise :class:`BudgetError` with a message
a user can act on (zero, negative, not a whole number, too large, empty, too many points).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from tale_core.errors import TaleError

MAX_BUDGET = 100_000
MAX_POINTS = 200

_SPLIT = re.compile(r"[\s,;]+")


class BudgetError(TaleError):
    """A budget or budget list we cannot use."""


def check_budget(value: object) -> int:
    """One budget as an int in ``1..MAX_BUDGET``; raises :class:`BudgetError` otherwise."""
    if isinstance(value, bool):
        raise BudgetError(f"Budget {value!r} is not a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise BudgetError(f"Budget {value:g} is not a whole number of tokens")
        value = int(value)
    if isinstance(value, str):
        s = value.strip().replace("_", "")
        if not re.fullmatch(r"[+-]?\d+", s):
            raise BudgetError(f"Budget {value.strip()!r} is not a whole number of tokens")
        value = int(s)
    if not isinstance(value, int):
        raise BudgetError(f"Budget {value!r} is not a whole number of tokens")
    if value <= 0:
        raise BudgetError(f"Budget {value} must be at least 1 token")
    if value > MAX_BUDGET:
        raise BudgetError(f"Budget {value:,} is above the limit of {MAX_BUDGET:,} tokens")
    return value


def normalize_budgets(values: Iterable[object]) -> list[int]:
    """Check every budget, then sort and de-duplicate; raises on an empty or too long list."""
    out = sorted({check_budget(v) for v in values})
    if not out:
        raise BudgetError("No budgets given: enter at least one, e.g. 10, 25, 50")
    if len(out) > MAX_POINTS:
        raise BudgetError(f"{len(out)} budgets is too many; use at most {MAX_POINTS}")
    return out


def parse_budget_list(text: str) -> list[int]:
    """``"10, 25,50"`` -> ``[10, 25, 50]`` (commas, semicolons or spaces; sorted, de-duplicated)."""
    if text is None or not str(text).strip():
        raise BudgetError("No budgets given: enter at least one, e.g. 10, 25, 50")
    parts = [p for p in _SPLIT.split(str(text).strip()) if p]
    return normalize_budgets(parts)


def _check_grid(lo: object, hi: object, n: object) -> tuple[int, int, int]:
    lo_i, hi_i = check_budget(lo), check_budget(hi)
    if lo_i > hi_i:
        raise BudgetError(f"The lowest budget ({lo_i}) is above the highest ({hi_i})")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise BudgetError(f"The number of grid points must be a whole number of at least 1, not {n!r}")
    if n > MAX_POINTS:
        raise BudgetError(f"{n} grid points is too many; use at most {MAX_POINTS}")
    return lo_i, hi_i, n


def linear_grid(lo: int, hi: int, n: int) -> list[int]:
    """``n`` evenly spaced budgets from ``lo`` to ``hi`` inclusive (fewer if rounding merges some)."""
    lo, hi, n = _check_grid(lo, hi, n)
    if n == 1 or lo == hi:
        return [lo]
    step = (hi - lo) / (n - 1)
    return sorted({int(round(lo + i * step)) for i in range(n)})


def log_grid(lo: int, hi: int, n: int) -> list[int]:
    """``n`` geometrically spaced budgets from ``lo`` to ``hi`` inclusive (fewer if rounding merges some)."""
    lo, hi, n = _check_grid(lo, hi, n)
    if n == 1 or lo == hi:
        return [lo]
    ratio = math.log(hi / lo) / (n - 1)
    vals = {int(round(lo * math.exp(i * ratio))) for i in range(n)}
    vals.update((lo, hi))
    return sorted(v for v in vals if lo <= v <= hi)
