"""TALE Explorer's pure library: providers, prompts, grading, budget search, sweeps, benchmarks.

Nothing in this package imports Streamlit or SQLAlchemy; persistence plugs in through the small
protocols in :mod:`tale_core.protocols`.
"""

__version__ = "0.1.0"
