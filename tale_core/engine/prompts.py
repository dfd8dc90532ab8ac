"""Prompt templates of the TALE paper and its baselines, verbatim from the official repo (GeniusHTX/TALE).

Every template is an immutable module constant and every builder returns a *new* tuple of
:class:`~tale_core.types.Message` (system + user). The official code mutated its templates in place, so
later budgets were silently ignored; here ``budget(q, 10)`` and then ``budget(q, 50)`` give two
different prompts, always.

Sources: vanilla/direct/budget/multiple-choice/estimator prompts from TALE (arXiv 2412.18547, official
repo); Concise CoT from Renze & Guven 2024; Constrained CoT from Nayab et al. 2024; Chain of Draft from
Xu et al. 2025. The three baselines keep TALE's ``[[answer]]`` format line so one grader reads them all.
The few-shot versions of Concise CoT and Chain of Draft add worked examples (our own, written for this
app) in the system prompt, as their papers do; their user turn is the zero-shot prompt unchanged.

Prompt styles: ``paper`` (the default) is TALE's templates as published; ``plain`` drops the answer-format
line (``Q: {q}\nLet's think step by step and use less than {b} tokens:\n``), which small local models
follow better (on Qwen2.5-Coder-1.5B the paper's format line makes it skip its reasoning; see DESIGN.md
section 8). The grader reads plain answers by their last number. The estimator keeps its format line in
both styles, since its answer must be parsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tale_core.types import Message

SYSTEM = "You are a helpful assistant."

# --- the paper's templates (verbatim) ---------------------------------------------------------------
FORMAT_ANSWER = "Please Give the response by strictly following this format: [[answer]], for example: Answer: [[50]]."
FORMAT_CHOICE = "Please Give the response by strictly following this format: [[choice]],for example: Choice: [[A]]."
COT_TRIGGER = "Let's think step by step:\n"
BUDGET_TRIGGER = "Let's think step by step and use less than {budget} tokens:\n"

VANILLA_COT = "Q: {question}\n" + FORMAT_ANSWER + COT_TRIGGER
DIRECT = (
    "Please answer the following question and give the answer directly without any reasoning process. "
    + FORMAT_ANSWER
    + "\nQ: {question}"
)
MC_COT = "{question}\n" + FORMAT_CHOICE + "\n" + COT_TRIGGER
#: direct answer for multiple choice: the direct prompt with the choice format line (not in the paper)
MC_DIRECT = (
    "Please answer the following question and give the answer directly without any reasoning process. "
    + FORMAT_CHOICE
    + "\n{question}"
)
ESTIMATOR = (
    "Task: Analyze the given question and estimate the minimum number of tokens required to generate "
    "a complete and accurate response. Please Give the response by strictly following this format: "
    "[[budget]],for example: Budget: [[12]]."
    '\n\nBelow is the question:\n\nQuestion: "{question}"\n'
)

# --- baselines (their instruction replaces the CoT trigger line) -----------------------------------
CONCISE_TRIGGER = "Let's think step by step. Be concise.\n"
CONSTRAINED_TRIGGER = "Let's think a bit step by step and limit the answer length to {words} words.\n"
CHAIN_OF_DRAFT_TRIGGER = (
    "Think step by step, but only keep a minimum draft for each thinking step, with 5 words "
    "at most. Return the answer at the end of the response after a separator ####.\n"
)

# --- prompt styles ---------------------------------------------------------------------------------
PAPER, PLAIN = "paper", "plain"
#: style -> its label in pickers
PROMPT_STYLES: dict[str, str] = {
    PAPER: "Paper (TALE's templates with the [[answer]] format line)",
    PLAIN: "Plain (no answer-format line; for small local models)",
}

_ESTIMATE_RE = re.compile(r"\[\[(\d+)\]\]")


def _pair(user: str) -> tuple[Message, ...]:
    return (Message("system", SYSTEM), Message("user", user))


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        from tale_core.errors import TaleError

        raise TaleError("The question is empty: type a question first.")
    return question


def _check_positive(n: int, what: str) -> int:
    from tale_core.errors import TaleError

    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise TaleError(f"The {what} must be a whole number above 0, not {n!r}.")
    return n


def check_style(style: str) -> str:
    """``style`` if it is a known prompt style, else a :class:`TaleError` naming the known ones."""
    if style not in PROMPT_STYLES:
        from tale_core.errors import TaleError

        raise TaleError(f"Unknown prompt style {style!r}; choose one of: {', '.join(PROMPT_STYLES)}")
    return style


def _cot_with(question: str, trigger: str, multiple_choice: bool, style: str = PAPER) -> str:
    """The CoT prompt (numeric or multiple choice) with its trigger line replaced by ``trigger``.

    The ``plain`` style leaves out the answer-format line: ``Q: {question}\n{trigger}``.
    """
    base = MC_COT if multiple_choice else VANILLA_COT
    head = base[: -len(COT_TRIGGER)]
    if check_style(style) == PLAIN:
        head = "{question}\n" if multiple_choice else "Q: {question}\n"
    # format the question last so braces inside it are never interpreted
    return head.replace("{question}", question) + trigger


def _direct_with(question: str, multiple_choice: bool, style: str) -> str:
    template = MC_DIRECT if multiple_choice else DIRECT
    if check_style(style) == PLAIN:
        template = template.replace(FORMAT_CHOICE if multiple_choice else FORMAT_ANSWER, "").replace(" \n", "\n")
    return template.replace("{question}", question)


def vanilla_cot(question: str, style: str = PAPER) -> tuple[Message, ...]:
    """Vanilla chain-of-thought prompt: ``Q: ...`` + answer format + ``Let's think step by step:``."""
    return _pair(_cot_with(_check_question(question), COT_TRIGGER, False, style))


def direct(question: str, style: str = PAPER) -> tuple[Message, ...]:
    """Direct answer, no reasoning."""
    return _pair(_direct_with(_check_question(question), False, style))


def budget(question: str, n: int, style: str = PAPER) -> tuple[Message, ...]:
    """Token-budget-aware CoT: ``Let's think step by step and use less than {n} tokens:``."""
    trigger = BUDGET_TRIGGER.replace("{budget}", str(_check_positive(n, "token budget")))
    return _pair(_cot_with(_check_question(question), trigger, False, style))


def mc_cot(question: str, style: str = PAPER) -> tuple[Message, ...]:
    """Multiple-choice CoT (``[[choice]]`` format); ``question`` already lists the options."""
    return _pair(_cot_with(_check_question(question), COT_TRIGGER, True, style))


def mc_budget(question: str, n: int, style: str = PAPER) -> tuple[Message, ...]:
    """Multiple-choice CoT with a token budget."""
    trigger = BUDGET_TRIGGER.replace("{budget}", str(_check_positive(n, "token budget")))
    return _pair(_cot_with(_check_question(question), trigger, True, style))


def mc_direct(question: str, style: str = PAPER) -> tuple[Message, ...]:
    """Multiple-choice direct answer (``[[choice]]`` format)."""
    return _pair(_direct_with(_check_question(question), True, style))


def estimator(question: str) -> tuple[Message, ...]:
    """TALE-EP's zero-shot budget estimator; parse its answer with :func:`parse_budget_estimate`."""
    return _pair(ESTIMATOR.replace("{question}", _check_question(question)))


def concise_cot(question: str, multiple_choice: bool = False, style: str = PAPER) -> tuple[Message, ...]:
    """Concise CoT (Renze & Guven 2024), zero-shot: the CoT prompt plus ``Be concise.``"""
    return _pair(_cot_with(_check_question(question), CONCISE_TRIGGER, multiple_choice, style))


def constrained_cot(
    question: str, words: int, multiple_choice: bool = False, style: str = PAPER
) -> tuple[Message, ...]:
    """Constrained CoT (Nayab et al. 2024): limit the answer length to ``words`` words."""
    trigger = CONSTRAINED_TRIGGER.replace("{words}", str(_check_positive(words, "word limit")))
    return _pair(_cot_with(_check_question(question), trigger, multiple_choice, style))


def chain_of_draft(question: str, multiple_choice: bool = False, style: str = PAPER) -> tuple[Message, ...]:
    """Chain of Draft (Xu et al. 2025), zero-shot: five-word drafts per step, answer after ``####``."""
    return _pair(_cot_with(_check_question(question), CHAIN_OF_DRAFT_TRIGGER, multiple_choice, style))


# --- few-shot versions: worked examples in the system prompt -----------------------------------------
@dataclass(frozen=True)
class WorkedExample:
    """One worked example: the question, the reasoning as the method writes it, and the answer."""

    question: str
    reasoning: str
    answer: str


#: our own short examples (numeric), in the style each method asks for
DRAFT_EXAMPLES = (
    WorkedExample(
        "A baker makes 24 rolls, sells 15, then bakes 10 more. How many rolls does she have?",
        "24 - 15 = 9; 9 + 10 = 19.",
        "19",
    ),
    WorkedExample(
        "Seven bus tickets cost $3 each, with $5 off the total. What is the total?", "7 * 3 = 21; 21 - 5 = 16.", "16"
    ),
    WorkedExample("Tom reads 12 pages a day. How many days for a 96-page book?", "96 / 12 = 8.", "8"),
)
CONCISE_EXAMPLES = (
    WorkedExample(
        DRAFT_EXAMPLES[0].question, "After selling she has 24 - 15 = 9 rolls, and baking adds 10: 9 + 10 = 19.", "19"
    ),
    WorkedExample(DRAFT_EXAMPLES[1].question, "The tickets cost 7 * 3 = 21 dollars, minus 5 is 16.", "16"),
    WorkedExample(DRAFT_EXAMPLES[2].question, "He needs 96 / 12 = 8 days.", "8"),
)
#: multiple-choice examples (the options are lettered in the question)
MC_DRAFT_EXAMPLES = (
    WorkedExample("Which number is even?\nA. 7\nB. 12\nC. 15", "12 / 2 = 6, whole.", "B"),
    WorkedExample("What is 15% of 80?\nA. 8\nB. 10\nC. 12", "0.15 * 80 = 12.", "C"),
)
MC_CONCISE_EXAMPLES = (
    WorkedExample(MC_DRAFT_EXAMPLES[0].question, "12 divides by 2 with no remainder; 7 and 15 do not.", "B"),
    WorkedExample(MC_DRAFT_EXAMPLES[1].question, "15% of 80 is 0.15 * 80 = 12.", "C"),
)
CHAIN_OF_DRAFT_SYSTEM = (
    "Think step by step, but only keep a minimum draft for each thinking step, with 5 words at most. "
    "Return the answer at the end of the response after a separator ####."
)
CONCISE_SYSTEM = "Solve the problem step by step. Be concise: write only the steps the answer needs."


def _answer_lines(examples: Sequence[WorkedExample], style: str, paper_form: str, plain_form: str) -> list[str]:
    """How each example's answer is written: TALE's ``[[..]]`` format in the paper style, else ``plain_form``."""
    form = paper_form if check_style(style) == PAPER else plain_form
    return [form.format(answer=ex.answer) for ex in examples]


def _few_shot_system(instruction: str, examples: Sequence[WorkedExample], lines: Sequence[str]) -> str:
    shots = "\n\n".join(f"Q: {ex.question}\nSolution: {ex.reasoning}\n{line}" for ex, line in zip(examples, lines))
    return f"{SYSTEM}\n{instruction}\n\nWorked examples:\n\n{shots}"


def chain_of_draft_few_shot(question: str, multiple_choice: bool = False, style: str = PAPER) -> tuple[Message, ...]:
    """Chain of Draft (Xu et al. 2025, arXiv 2502.18600), few-shot: the instruction and worked drafts in the system prompt.

    The user turn is the zero-shot Chain of Draft prompt, so the two differ only by the examples.
    """
    examples = MC_DRAFT_EXAMPLES if multiple_choice else DRAFT_EXAMPLES
    lines = _answer_lines(examples, style, "#### [[{answer}]]", "#### {answer}")
    system = _few_shot_system(CHAIN_OF_DRAFT_SYSTEM, examples, lines)
    user = _cot_with(_check_question(question), CHAIN_OF_DRAFT_TRIGGER, multiple_choice, style)
    return (Message("system", system), Message("user", user))


def concise_cot_few_shot(question: str, multiple_choice: bool = False, style: str = PAPER) -> tuple[Message, ...]:
    """Concise CoT (Renze & Guven 2024), few-shot: "be concise" and concise worked solutions in the system prompt.

    The user turn is the zero-shot Concise CoT prompt, so the two differ only by the examples.
    """
    examples = MC_CONCISE_EXAMPLES if multiple_choice else CONCISE_EXAMPLES
    paper_form = "Choice: [[{answer}]]" if multiple_choice else "Answer: [[{answer}]]"
    lines = _answer_lines(examples, style, paper_form, "The answer is {answer}.")
    system = _few_shot_system(CONCISE_SYSTEM, examples, lines)
    user = _cot_with(_check_question(question), CONCISE_TRIGGER, multiple_choice, style)
    return (Message("system", system), Message("user", user))


def parse_budget_estimate(text: str | None) -> int | None:
    """The estimator's budget: the last ``[[N]]`` in ``text`` (N digits only), or None.

    None means "no usable estimate"; callers must never turn it into a number (the official code
    produced "use less than -1 tokens" here).
    """
    if not text:
        return None
    found = _ESTIMATE_RE.findall(text)
    return int(found[-1]) if found else None


def format_choices(question: str, choices: Sequence[str] | None) -> str:
    """``question`` followed by lettered options ``A. ...``; unchanged when there are no choices."""
    if not choices:
        return question
    from tale_core.errors import TaleError

    if len(choices) > 26:
        raise TaleError("At most 26 answer choices (A-Z) are supported.")
    lines = [f"{chr(ord('A') + i)}. {str(c).strip()}" for i, c in enumerate(choices)]
    return question.rstrip() + "\n" + "\n".join(lines)


def user_text(messages: Sequence[Message]) -> str:
    """The last user message's text (what a prompt "says")."""
    for m in reversed(list(messages)):
        if m.role == "user":
            return m.content
    return ""


# --- per-dataset templates of the paper's Table 3 ------------------------------------------------------
# Verbatim from the official TALE repository (GeniusHTX/TALE), its prompt module's ``single_choice_prompts``
# and ``cloze_prompts`` (the MathBench prompts of OpenCompass's MathBench config, with TALE's [[choice]]
# format), and ``gsm8k_prompts`` (= VANILLA_COT / DIRECT above). The budget variants replace the CoT
# trigger exactly as the official ``create_prompt`` / ``create_cloze_prompt`` do, without their in-place
# mutation. The typo "strictLy" is the official text. Cloze prompts carry no answer-format line: the
# grader reads the last number. MathBench single-choice questions are written as the official loader
# writes them: the stripped question, a newline, then one "A. option" line per option, each ending in a
# newline.
MATHBENCH_CHOICE_EN_COT = MC_COT
MATHBENCH_CHOICE_EN_DIRECT = (
    "Please answer the following question directly and give the answer directly without any reasoning "
    "process. Please strictLy follow the format: [[choice]],for example: Choice: [[A]].\n{question}\n"
)
MATHBENCH_CHOICE_CN_COT = "{question}\n请严格按照如下格式回答：[[选项]]，例如：选项: [[A]]。\n让我们一步一步思考：\n"
MATHBENCH_CHOICE_CN_DIRECT = (
    "{question}\n请直接回答下面的问题并直接给出答案的选项序号。请严格按照如下格式回答：[[选项]]，例如：选项: [[A]]。\n"
)
MATHBENCH_CLOZE_EN_COT = "Q: {question}\n" + COT_TRIGGER
MATHBENCH_CLOZE_EN_DIRECT = "Please answer the following question and give the answer directly\nQ: {question}"
MATHBENCH_CLOZE_CN_COT = "Q: {question}\n让我们一步一步思考来回答这个问题：\n"
MATHBENCH_CLOZE_CN_DIRECT = "请直接回答下面的问题并直接给出答案\nQ: {question}"
#: (trigger in the CoT template, its budget version) per language and kind
_MATHBENCH_BUDGET_TRIGGERS = {
    ("choice", "en"): (COT_TRIGGER, BUDGET_TRIGGER),
    ("cloze", "en"): (COT_TRIGGER, BUDGET_TRIGGER),
    ("choice", "cn"): ("让我们一步一步思考：\n", "让我们一步一步思考并使用少于 {budget} tokens:\n"),
    ("cloze", "cn"): (
        "让我们一步一步思考来回答这个问题：\n",
        "让我们一步一步思考并使用少于 {budget} tokens来回答这个问题:\n",
    ),
}
_MATHBENCH_TEMPLATES = {
    ("choice", "en"): (MATHBENCH_CHOICE_EN_COT, MATHBENCH_CHOICE_EN_DIRECT),
    ("choice", "cn"): (MATHBENCH_CHOICE_CN_COT, MATHBENCH_CHOICE_CN_DIRECT),
    ("cloze", "en"): (MATHBENCH_CLOZE_EN_COT, MATHBENCH_CLOZE_EN_DIRECT),
    ("cloze", "cn"): (MATHBENCH_CLOZE_CN_COT, MATHBENCH_CLOZE_CN_DIRECT),
}
#: template names an item can carry (``Item.meta["template"]``) and what they select
OFFICIAL_TEMPLATES = (
    "gsm8k",
    "mathbench-choice-en",
    "mathbench-choice-cn",
    "mathbench-cloze-en",
    "mathbench-cloze-cn",
)


def mathbench_question(question: str, options: Sequence[str] | None) -> str:
    """A MathBench question as the official loader writes it: options as ``A. ...`` lines, each ending
    in a newline (so the choice templates show a blank line before their format line)."""
    if not options:
        return question.strip()
    lines = "".join(f"{chr(ord('A') + i)}. {o}\n" for i, o in enumerate(options))
    return question.strip() + "\n" + lines


def _mathbench(kind: str, lang: str, question: str, style: str, budget_n: int | None = None) -> tuple[Message, ...]:
    cot, direct_t = _MATHBENCH_TEMPLATES[(kind, lang)]
    q = _check_question(question)
    if style == "direct":
        return _pair(direct_t.replace("{question}", q))
    if style == "cot":
        return _pair(cot.replace("{question}", q))
    old, new = _MATHBENCH_BUDGET_TRIGGERS[(kind, lang)]
    trigger = new.replace("{budget}", str(_check_positive(budget_n or 0, "token budget")))
    return _pair(cot[: -len(old)].replace("{question}", q) + trigger)


def mathbench_cloze_cot(question: str, lang: str = "en") -> tuple[Message, ...]:
    """MathBench cloze item, chain of thought (``cloze_en_with_reasoning`` / ``cloze_cn_with_reasoning``)."""
    return _mathbench("cloze", lang, question, "cot")


def mathbench_cloze_budget(question: str, n: int, lang: str = "en") -> tuple[Message, ...]:
    """MathBench cloze item with a token budget (the official ``create_cloze_prompt``)."""
    return _mathbench("cloze", lang, question, "budget", n)


def mathbench_cloze_direct(question: str, lang: str = "en") -> tuple[Message, ...]:
    """MathBench cloze item, direct answer (``cloze_en`` / ``cloze_cn``)."""
    return _mathbench("cloze", lang, question, "direct")


def mathbench_choice_cot(question: str, lang: str = "en") -> tuple[Message, ...]:
    """MathBench single-choice item (options already in ``question``), chain of thought."""
    return _mathbench("choice", lang, question, "cot")


def mathbench_choice_budget(question: str, n: int, lang: str = "en") -> tuple[Message, ...]:
    """MathBench single-choice item with a token budget (the official ``create_prompt``)."""
    return _mathbench("choice", lang, question, "budget", n)


def mathbench_choice_direct(question: str, lang: str = "en") -> tuple[Message, ...]:
    """MathBench single-choice item, the official direct prompt (``single_choice_en`` / ``single_choice_cn``)."""
    return _mathbench("choice", lang, question, "direct")


def official_messages(template: str, style: str, question: str, budget_n: int | None = None) -> tuple[Message, ...]:
    """The official per-dataset prompt: ``template`` one of :data:`OFFICIAL_TEMPLATES`, ``style`` one of
    ``direct``, ``cot`` or ``budget`` (with ``budget_n``). ``gsm8k`` is the paper's GSM8K prompts."""
    from tale_core.errors import TaleError

    if style not in ("direct", "cot", "budget"):
        raise TaleError(f"Unknown prompt style {style!r}: use direct, cot or budget.")
    if template == "gsm8k":
        if style == "direct":
            return direct(question)
        return vanilla_cot(question) if style == "cot" else budget(question, budget_n or 0)
    parts = template.split("-")
    if len(parts) != 3 or parts[0] != "mathbench" or (parts[1], parts[2]) not in _MATHBENCH_TEMPLATES:
        raise TaleError(f"Unknown prompt template {template!r}; known: {', '.join(OFFICIAL_TEMPLATES)}")
    return _mathbench(parts[1], parts[2], question, style, budget_n)
