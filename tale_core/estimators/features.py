"""Question features for the learned budget estimator, computed offline from the question text alone.

Word and character n-grams (TF-IDF) say what kind of problem it is; a few counts say how much work it
is: how many numbers, how many arithmetic cues (operators and words like "each", "per", "twice",
"percent"), how many sentences and words. Nothing here calls a model or the network.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_OP_RE = re.compile(r"[+\-*/×÷=%]")
_CUE_WORDS = (
    "each",
    "per",
    "every",
    "total",
    "times",
    "twice",
    "half",
    "double",
    "triple",
    "percent",
    "more",
    "less",
    "fewer",
    "left",
    "remaining",
    "average",
    "sum",
    "difference",
    "ratio",
    "profit",
    "cost",
    "rate",
)
_CUE_RE = re.compile(r"\b(?:" + "|".join(_CUE_WORDS) + r")\b", re.IGNORECASE)
_SENTENCE_RE = re.compile(r"[.!?]+(?:\s|$)")

COUNT_NAMES = ("numbers", "distinct_numbers", "operators", "cue_words", "sentences", "words", "characters")


def counts(question: str) -> list[float]:
    """The count features of one question, in :data:`COUNT_NAMES` order."""
    nums = _NUMBER_RE.findall(question)
    return [
        float(len(nums)),
        float(len(set(nums))),
        float(len(_OP_RE.findall(question))),
        float(len(_CUE_RE.findall(question))),
        float(max(1, len(_SENTENCE_RE.findall(question)))),
        float(len(question.split())),
        float(len(question)),
    ]


def _count_matrix(questions: list[str]) -> NDArray[np.float64]:
    return np.log1p(np.array([counts(q) for q in questions], dtype=float))


def feature_union() -> FeatureUnion:
    """Word 1-2-grams, character 2-4-grams and scaled log counts, side by side."""
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=1)),
            ("counts", Pipeline([("count", FunctionTransformer(_count_matrix)), ("scale", StandardScaler())])),
        ]
    )
