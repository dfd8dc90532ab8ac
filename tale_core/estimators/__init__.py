"""Budget estimators: question in, token budget out, each with its own cost.

- :class:`~tale_core.estimators.llm.ZeroShotEstimator`: TALE-EP's zero-shot estimate (one model call);
- :class:`~tale_core.estimators.simple.FixedEstimator`: the same budget for every question (free);
- :class:`~tale_core.estimators.learned.LearnedEstimator`: a regressor fitted on stored search results
  (free at answer time: no model call);
- :class:`~tale_core.estimators.simple.OracleEstimator`: the searched optimum itself (an upper bound).

:mod:`tale_core.estimators.scoring` scores any of them against the searched optimum.
"""

from tale_core.estimators.base import BudgetEstimate, Estimator

__all__ = ["BudgetEstimate", "Estimator"]
