"""What the Learn page says: the paper's Figure 1 numbers and plain explanations for a classroom.

Numbers are from "Token-Budget-Aware LLM Reasoning" (TALE, arXiv 2412.18547), Figure 1, GPT-4o-mini,
on the Peyton question (bundled as sample "peyton").
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER_MODEL = "GPT-4o-mini"
PAPER_REF = "TALE paper (arXiv 2412.18547), Figure 1"


@dataclass(frozen=True)
class Step:
    method: str  # MethodSpec string: direct, vanilla, budget:50, budget:10
    title: str
    paper_tokens: int
    what: str


STEPS = (
    Step(
        "direct",
        "Direct answer",
        15,
        "No reasoning at all: the model is told to give the answer directly. Very cheap, often wrong on "
        "multi-step questions.",
    ),
    Step(
        "vanilla",
        "Vanilla chain of thought",
        258,
        '"Let\'s think step by step": the model writes out its reasoning. Usually right, but long.',
    ),
    Step(
        "budget:50",
        "Budget 50 tokens",
        86,
        'Same prompt, plus "use less than 50 tokens". The model really does shorten its reasoning '
        "(not to 50, but far below 258).",
    ),
    Step(
        "budget:10",
        "Budget 10 tokens",
        157,
        "A budget that is too small backfires: the model cannot fit its reasoning, gives up on the budget, "
        "and spends MORE than with 50. This overshoot is token elasticity.",
    ),
)

INTRO = (
    "Chain-of-thought prompting makes language models reason step by step. It improves answers, but every "
    "reasoning token costs time and money. The TALE paper asks: can we simply *tell* the model how many "
    "tokens to use?"
)

ELASTICITY = (
    "**Token elasticity.** Asking for fewer tokens works, up to a point. Below a certain budget the model "
    "stops following it and its output grows again, like a stretched elastic band snapping back. So for "
    "every question there is a *sweet spot*: the budget that gives a correct answer with the fewest tokens. "
    "In the paper's example it is near 50 tokens, not 10."
)

TALE = (
    "**TALE (Token-Budget-Aware LLM rEasoning).** TALE-EP first asks the model to *estimate* a reasonable "
    'budget for the question (zero-shot), then asks the question again with "use less than N tokens". '
    "On GSM8K-style math with GPT-4o-mini this cut output tokens by about two thirds on average for a "
    "few points of accuracy. TALE-PT goes further and fine-tunes the model to reason within budget by itself."
)

CLASSROOM = (
    "**Try it in class.** Run the four calls below with the model in the sidebar and compare with the "
    "paper's numbers. Does your model shorten its answer when given a budget? Does budget 10 overshoot? "
    "Then open *Elasticity sweep* to draw the whole curve, budget by budget."
)

CAVEATS = (
    "Token counts depend on the model and its tokenizer, so your numbers will differ from the paper's. "
    "The tiny bundled model (SmolLM2-135M) ignores budgets and is usually wrong: it is there to show the "
    "mechanics, not the effect. The optional Qwen2.5-Coder-1.5B model or any API model shows it better."
)
