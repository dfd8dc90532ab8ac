"""Answer extraction and grading for math and multiple-choice responses.

Extraction follows the official TALE repository (GeniusHTX/TALE): the last ``[[...]]`` wins, and the
last number in the text is the final fallback. In between we also read the markers other prompts
produce, in this order:

1. the last non-placeholder ``[[...]]``;
2. the text after the last ``####`` (GSM8K solutions, Chain of Draft);
3. whichever comes last of "the answer is ...", "Answer: ..." and ``\\boxed{...}``;
4. the last number anywhere in the text.

The prompt's own example ("for example: Answer: [[50]]") is removed first, so a model that echoes the
prompt is not graded on the example's 50.

Numbers are compared exactly as fractions with a small relative tolerance (never truncated: 1.5 is not
1, a bug of the official repo), after removing ``$``, thousands commas, ``%`` and trailing units.
Only when one side is not a plain number do we fall back to normalized string equality and then to
``math_verify``, called without its ``signal.alarm`` timeout (that only works on the main thread) and
only on short inputs, so grading is safe from worker threads.

Number words ("eighteen") are accepted only inside an explicit answer marker (``[[eighteen]]``,
"the answer is eighteen"); in free text they are ignored, since words like "one" occur everywhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

Status = Literal["correct", "wrong", "no_answer", "hedged", "ungraded"]

__all__ = ["Grade", "extract_answer", "normalize_gold", "grade", "numeric_value"]


@dataclass(frozen=True)
class Grade:
    """The verdict on one response.

    ``extracted`` is the answer read from the response (decoration such as ``$``, commas and units
    removed), ``gold`` the normalized reference, ``method`` says how the answer was found and how it was
    compared, e.g. ``"brackets/numeric"`` or ``"last_number/math_verify"``.
    """

    status: Status
    extracted: str | None
    gold: str | None
    method: str

    @property
    def correct(self) -> bool | None:
        """True or False when graded (a hedged answer is not correct), None when there was no gold answer."""
        if self.status == "ungraded":
            return None
        return self.status == "correct"


# ---------------------------------------------------------------------------------------------------
# Numbers

_LATEX_FRAC = r"\\[dt]?frac\s*\{\s*-?\d+(?:\.\d+)?\s*\}\s*\{\s*-?\d+(?:\.\d+)?\s*\}"
_NUMBER_BODY = (
    rf"(?:{_LATEX_FRAC}"
    r"|\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])"  # scientific 1.56e3
    r"|\d+[ \t]+\d+/\d+(?![\d/])"  # mixed number 1 1/2
    r"|\d{1,3}(?:[ \u2009\u202f]\d{3})+(?![\d/]|[.,]\d)"  # 12 000 (space as thousands separator)
    r"|\d+(?:\.\d+)?/\d+(?:\.\d+)?(?![\d/])"  # fraction 3/4
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)"  # 1,000,000.5
    r"|\d+(?:\.\d+)?"  # 42, 0.5
    r"|\.\d+)"  # .5
)
# A minus sign counts only when it is not a subtraction (not right after a digit, letter or bracket).
_NUMBER = re.compile(rf"(?:(?<![\w)\]}}])-)?{_NUMBER_BODY}")
_NUMBER_AT_START = re.compile(rf"^\s*(-?)\s*({_NUMBER_BODY})")
_FRAC_PARTS = re.compile(r"\\[dt]?frac\s*\{\s*(-?[\d.]+)\s*\}\s*\{\s*(-?[\d.]+)\s*\}")

# Equal when within 1e-6 absolute (rounded decimals such as 0.333333 for 1/3) or 1e-9 relative.
_ABS_TOLERANCE = Fraction(1, 10**6)
_REL_TOLERANCE = Fraction(1, 10**9)


def _token_value(token: str) -> Fraction | None:
    """Exact value of one number token as matched by ``_NUMBER`` (commas allowed)."""
    token = token.strip()
    if len(token) > 200:  # not an answer anyone gives; keeps comparisons cheap
        return None
    sign = 1
    if token.startswith("-"):
        sign, token = -1, token[1:].strip()
    try:
        m = _FRAC_PARTS.fullmatch(token)
        if m:
            frac_den = Fraction(Decimal(m.group(2)))
            return None if frac_den == 0 else sign * Fraction(Decimal(m.group(1))) / frac_den
        if "/" in token:
            whole = Fraction(0)
            if re.search(r"\s", token):
                head, token = token.split(None, 1)
                whole = Fraction(int(head))
            num, den = token.split("/")
            den_v = Fraction(Decimal(den))
            if den_v == 0:
                return None
            return sign * (whole + Fraction(Decimal(num)) / den_v)
        return sign * Fraction(Decimal(re.sub(r"[,\s\u2009\u202f]", "", token)))
    except (InvalidOperation, ValueError, ZeroDivisionError):
        return None


def _canonical_token(token: str) -> str:
    """The number as it was written, minus decoration: commas dropped, ``18.00`` -> ``18``,
    ``\\frac{3}{4}`` -> ``3/4``, ``.5`` -> ``0.5``; fractions stay fractions."""
    token = re.sub(r"[\s\u2009\u202f]+", " ", token.strip())
    sign = ""
    if token.startswith("-"):
        sign, token = "-", token[1:].strip()
    m = _FRAC_PARTS.fullmatch(token)
    if m:
        num, den = m.group(1), m.group(2)
        if num.startswith("-"):
            sign, num = ("" if sign else "-"), num[1:]
        token = f"{num}/{den}"
    elif "/" not in token:
        d = Decimal(re.sub(r"[,\s\u2009\u202f]", "", token))
        token = _decimal_text(d)
    if token in ("0", "0/1"):
        sign = ""
    return sign + token


def _decimal_text(d: Decimal) -> str:
    """Plain (never scientific) text of a decimal without trailing zeros."""
    if d == d.to_integral_value():
        return format(d.to_integral_value(), "f")
    return format(d.normalize(), "f")


def numeric_value(text: str | None) -> Fraction | None:
    """The exact value of a cleaned answer such as ``"2125"``, ``"-1.5"``, ``"3/4"`` or ``"1 1/2"``;
    None when the text is not one plain number."""
    if text is None:
        return None
    text = text.strip()
    m = _NUMBER_AT_START.match(text)
    if not m or m.end() != len(text):
        return None
    value = _token_value(m.group(2))
    if value is None:
        return None
    return -value if m.group(1) else value


# ---------------------------------------------------------------------------------------------------
# Number words (only for explicitly marked answers)

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}


def _words_to_number(text: str) -> str | None:
    """``"eighteen"`` -> ``"18"``, ``"two hundred and five dollars"`` -> ``"205"``; None otherwise.
    Trailing non-number words (units) are allowed; the phrase must start with a number word."""
    words = re.findall(r"[a-z]+", text.lower().replace("-", " "))
    if not words:
        return None
    negative = words[0] in ("minus", "negative")
    if negative:
        words = words[1:]
    total, current, used = 0, 0, 0
    for w in words:
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current = 0
        elif w == "and" and used:
            continue
        else:
            break
        used += 1
    if not used:
        return None
    value = total + current
    return str(-value if negative and value else value)


# ---------------------------------------------------------------------------------------------------
# Cleaning an answer span

_PLACEHOLDERS = {"answer", "choice", "budget", "your answer", "final answer", "answer here", "number", "x", "..."}
_ECHOED_EXAMPLES = re.compile(
    r"for\s+example\s*[:,]?\s*(?:answer|choice|budget)\s*:\s*\[\[\s*(?:50|a|12)\s*\]\]\s*\.?", re.I
)
_UNIT_TAIL = re.compile(r"^\s*(?:%|percent\b|[^\W\d_][^\d=]*)?$")


def _preprocess(text: str) -> str:
    """Normalize symbols that change how numbers read: LaTeX escapes, currency, unicode minus."""
    text = text.replace("\u2212", "-").replace("\u2013", "-").replace("\u00a0", " ")
    text = text.replace("\\$", "$").replace("\\%", "%").replace("\\!", "")
    text = re.sub(r"(?<=\d)\\,(?=\d{3})", ",", text)  # 1\,000 -> 1,000
    text = re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", text)  # \text{ dollars} -> dollars
    text = re.sub(r"\\(?:mathrm|textbf|mathbf)\s*\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"[$€£¥]\s*(?=-?\.?\d)", "", text)  # $18 -> 18
    text = re.sub(r"(?<![\w$])-\s*[$€£¥]\s*(?=\d)", "-", text)  # -$5 -> -5
    # 24 m^2, 5 cm³, 9.8 m/s^2: the exponent belongs to the unit, not to the answer
    text = _UNIT_POWER.sub(r"\1", text)
    # 1.56 x 10^3, 1.56 \times 10^{3} -> 1.56e3
    text = _TIMES_TEN.sub(r"\1e\2", text)
    return text


_UNITS_WITH_POWERS = (
    r"(?:mm|cm|dm|km|m|ft|in|inch(?:es)?|yd|yards?|mi|miles?|meters?|metres?|feet|foot|units?|"
    r"sq\.?\s*(?:ft|in|m|cm|km)|square\s+(?:feet|foot|meters?|metres?|inch(?:es)?|units?|cm|m|km))"
)
_UNIT_POWER = re.compile(
    rf"(\d\s*{_UNITS_WITH_POWERS}(?:\s*/\s*(?:s|sec|h|hr|min))?)"
    r"(?:\s*(?:\^|\*\*)\s*(?:\{\s*-?\d\s*\}|-?\d)|[²³])(?![\w^])"
)
_TIMES_TEN = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×|x|\*)\s*10\s*(?:\^|\*\*)\s*\{?\s*(-?\d+)\s*\}?"
)


def _strip_wrappers(span: str) -> str:
    """Remove markdown, quotes, LaTeX delimiters and trailing punctuation around an answer span."""
    s = span.strip()
    for _ in range(4):
        before = s
        s = s.strip().strip("*`\"'“”‘’").strip()
        if s.startswith("\\(") and s.endswith("\\)") or s.startswith("\\[") and s.endswith("\\]"):
            s = s[2:-2].strip()
        s = s.strip("$").strip()  # LaTeX math delimiters, or one left by a removed currency sign
        inner = _boxed_contents(s)
        if inner and s.startswith("\\boxed"):
            s = inner[-1]
        if s[:1] in "[(" and s[-1:] in "])" and len(s) >= 2 and not re.search(r"[,;]", s):
            s = s[1:-1].strip()
        elif s.startswith("[") and "]" not in s:  # "[[[17]]]" leaves "[17"
            s = s[1:].strip()
        s = re.sub(r"[.,;:!]+$", "", s).strip()
        if s == before:
            break
    return s


_MATH_WORDS = {
    "pi",
    "sqrt",
    "ln",
    "log",
    "sin",
    "cos",
    "tan",
    "exp",
    "frac",
    "mod",
    "inf",
    "infty",
    "cdot",
    "times",
    "div",
}


def _is_prose(s: str) -> bool:
    """True when a span has ordinary words (not LaTeX commands or math names) around its numbers."""
    words = re.findall(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}", s)
    return any(w.lower() not in _MATH_WORDS for w in words)


_SPAN_MARKER = re.compile(
    r"\b(?:is|are|was|were|be|equals?|has|have|had|gets?|got|makes?|made|earns?|earned|costs?|"
    r"pays?|paid|needs?|sells?|sold|totals?|of)\b|:",
    re.I,
)


def _prose_number(s: str, nums: list[re.Match[str]], starts_with_number: bool) -> str:
    """The answer number of a sentence: the first number after the last verb-like marker that has a
    number after it ("After 3 days she has 42 apples" -> 42), else a leading number ("42 apples after
    3 days" -> 42), else the last number."""
    for mk in reversed(list(_SPAN_MARKER.finditer(s))):
        after = [n for n in nums if n.start() >= mk.end()]
        if after:
            return after[0].group(0)
    if starts_with_number:
        return nums[0].group(0)
    return nums[-1].group(0)


def _clean_span(span: str, *, words: bool) -> str | None:
    """Turn a marked answer span into the answer text.

    A leading number followed only by a unit or ``%`` gives that number; in a sentence the first
    number; spelled-out numbers when ``words``; anything else (an expression such as ``2\\sqrt{3}``)
    is returned as text for ``math_verify`` to compare.
    """
    s = _strip_wrappers(span)
    if not s or s.lower() in _PLACEHOLDERS:
        return None
    if "=" in s:
        right = _strip_wrappers(s.rsplit("=", 1)[1])
        if right:
            s = right
    m = _NUMBER_AT_START.match(s)
    if m and _UNIT_TAIL.match(s[m.end() :]):
        return _canonical_token(m.group(1) + m.group(2))
    if _is_prose(s):
        nums = list(_NUMBER.finditer(s))
        if nums:
            return _canonical_token(_prose_number(s, nums, m is not None))
        if words:
            spelled = _words_to_number(s)
            if spelled is not None:
                return spelled
    if not re.search(r"\w", s):
        return None
    return re.sub(r"\s+", " ", s)


# Hedged answers: two candidate values offered instead of one ("5 or 6", "between 20 and 25",
# "20 to 25", "B or C"). They get their own status and no credit.
_HEDGE_NUM = rf"-?(?:{_NUMBER_BODY})"
_HEDGE_OR = (
    rf"\bbetween\s+(?:about\s+|roughly\s+)?{_HEDGE_NUM}\s*(?:[^\W\d_]+\s+)?(?:and|&)\s+{_HEDGE_NUM}"
    rf"|(?<![\w.]){_HEDGE_NUM}\s*(?:%|[^\W\d_]+)?\s*(?:,\s*)?(?:or|and/or)\s+(?:maybe\s+|perhaps\s+|possibly\s+)?"
    rf"{_HEDGE_NUM}(?![\d/])"
)
_HEDGE = re.compile(_HEDGE_OR, re.I)
# "20 to 25" is a hedge only when it is the whole answer ("[[20 to 25]]", "the answer is about 20 to 25
# minutes"), not inside a sentence ("from 10 to 20 is an increase of 10")
_HEDGE_RANGE = re.compile(
    rf"^\s*(?:(?:about|approximately|roughly|around|from)\s+)?({_HEDGE_NUM}\s*(?:%|[^\W\d_]+)?\s*to\s+{_HEDGE_NUM})"
    r"\s*(?:%|[^\W\d_]+(?:\s+[^\W\d_]+)?)?\s*$",
    re.I,
)
_HEDGE_LETTERS = re.compile(
    r"(?<![A-Za-z'])\(?([A-J])\)?\s*(?:,\s*)?(?:or|and/or)\s+(?:maybe\s+|perhaps\s+)?\(?([A-J])\)?(?![A-Za-z'])"
)


def _hedge_in(span: str, *, letters: bool = False) -> str | None:
    """The hedged part of an answer span ("5 or 6"), or None when it commits to one value."""
    m = (_HEDGE_LETTERS if letters else _HEDGE).search(span)
    if not m and not letters:
        m = _HEDGE_RANGE.search(_strip_wrappers(span))
    if not m:
        return None
    if letters and m.group(1) == m.group(2):
        return None
    if not letters:
        values = [_token_value(n.group(0)) for n in _NUMBER.finditer(m.group(0))]
        if len(set(v for v in values if v is not None)) < 2:
            return None  # "5 or 5.0" commits to one value
    return re.sub(r"\s+", " ", m.group(0).strip())


def _hedge_ending_at(text: str, end: int) -> str | None:
    """A hedge whose second value is the number ending at ``end`` (free text: "between 20 and 25.")."""
    start = max(0, end - 200)
    for m in _HEDGE.finditer(text, start, end):
        if m.end() == end:
            return _hedge_in(m.group(0))
    return None


_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_MAX_BOXED = 500
_MAX_MARKERS = 50  # only the last markers matter; bounding them keeps hostile inputs cheap


def _boxed_spans(text: str, last: int = _MAX_MARKERS) -> list[tuple[int, str]]:
    """``(position, contents)`` of the last ``last`` ``\\boxed{...}`` / ``\\fbox{...}`` with balanced
    braces (contents up to 500 characters, so the work stays bounded on any input)."""
    spans = []
    for m in list(_BOXED.finditer(text))[-last:]:
        depth, i, end = 1, m.end(), min(len(text), m.end() + _MAX_BOXED)
        while i < end and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            spans.append((m.start(), text[m.end() : i - 1]))
    return spans


def _boxed_contents(text: str) -> list[str]:
    return [inner for _, inner in _boxed_spans(text)]


# Content without brackets and bounded, so scanning stays linear; "[[[17]]]" still reads 17.
_BRACKETS = re.compile(r"\[\[\[?([^\[\]]{0,300})\]?\]\]")
_ANSWER_IS = re.compile(
    r"\banswer(?:\s+(?:is|would\s+be|will\s+be)\s*:?|\s*[*_]*\s*[:=])\s*[*_]*\s*(?=(?P<tail>[^\n]{0,300}))", re.I
)


def _cut_sentence(tail: str) -> str:
    """The first sentence of a tail: stop at '. ' followed by more text (not inside 17.5)."""
    return re.split(r"(?<!\d)\.\s+(?=\S)|\.\s+(?=[A-Z])", tail, maxsplit=1)[0]


# ---------------------------------------------------------------------------------------------------
# Multiple choice

_LETTER_SPAN = re.compile(r"^\s*\(?\s*([A-Ja-j])\s*\)?(?:[.):\s]|$)")
# "Answer: B", "the answer is (c)", "Answer: b" (a lower-case letter only when nothing but punctuation
# follows it, so "the answer is a bit more" is not read as A)
_CHOICE_LABEL = re.compile(
    r"(?i:\b(?:choice|option|answer(?:\s+is)?|correct\s+(?:answer|option|choice)\s+is))"
    r"\s*:?\s*\**\s*(?:\(\s*([A-Ja-j])\s*\)|([A-J])(?![A-Za-z'])|([a-j])(?=\s*\**\s*(?:[.,;:!)]|$)))",
    re.M,
)
# "C is correct because A, B and D are composite": the letter the sentence commits to
_LETTER_IS_CORRECT = re.compile(
    r"(?<![A-Za-z'])\(?([A-J])\)?\s+(?:is|would\s+be|must\s+be)\s+(?:the\s+)?(?:correct|right|best|answer)\b"
)
_STANDALONE_LETTER = re.compile(r"(?<![A-Za-z'])([A-E])(?![A-Za-z'])")


def _letter_from_span(span: str) -> str | None:
    s = _strip_wrappers(span)
    s = re.sub(r"^(?:choice|option|answer)\s*:?\s*", "", s, flags=re.I)
    m = _LETTER_SPAN.match(s)
    return m.group(1).upper() if m else None


def _option_key(text: str) -> str:
    return re.sub(r"\s+", " ", _strip_wrappers(_preprocess(text)).lower())


def _option_letter(span: str, options: Sequence[str]) -> str | None:
    """The letter of the one option whose text the span gives ("42", "$42", "Paris"), else None."""
    if not options:
        return None
    key = _option_key(span)
    if not key:
        return None
    hits = {i for i, o in enumerate(options) if _option_key(str(o)) == key}
    if not hits:
        if _hedge_in(span):
            return None
        value = numeric_value(_clean_span(span, words=True))
        if value is not None:
            hits = {i for i, o in enumerate(options) if numeric_value(normalize_gold(str(o))) == value}
    if len(hits) != 1:
        return None
    return "ABCDEFGHIJ"[hits.pop()] if len(options) <= 10 else None


def _option_in_last_sentence(text: str, options: Sequence[str]) -> str | None:
    """The letter of the one option named in the response's last sentence ("So the capital is Paris.")."""
    sentences = [x for x in re.split(r"(?<!\d)[.!?\n]+(?!\d)", text[-2000:]) if x.strip()]
    if not sentences or len(options) > 10:
        return None
    last = sentences[-1]
    hits = set()
    for i, o in enumerate(options):
        key = _strip_wrappers(str(o))
        if key and re.search(rf"(?<![\w.]){re.escape(key)}(?![\w]|\.\d)", last, re.I):
            hits.add(i)
    # an option that contains another ("12" in "12 apples") names only the longer one
    hits = {i for i in hits if not any(j != i and str(options[i]) in str(options[j]) for j in hits)}
    if len(hits) == 1 and _hedge_in(last):
        return None  # "40 or maybe 42" names one option and hedges
    return "ABCDEFGHIJ"[hits.pop()] if len(hits) == 1 else None


def _extract_choice(text: str, options: Sequence[str] = ()) -> tuple[str | None, str, str | None]:
    """``(letter, how, hedge)`` of a multiple-choice response (``hedge``: the hedged span, if any)."""
    for m in reversed(list(_BRACKETS.finditer(text))):
        span = m.group(1)
        hedge = _hedge_in(span, letters=True)
        if hedge:
            return hedge, "brackets", hedge
        letter = _letter_from_span(span)
        if not letter and options:
            hedge = _hedge_in(_strip_wrappers(span))
            if hedge:
                return hedge, "brackets", hedge
            letter = _option_letter(span, options)
        if letter:
            return letter, "brackets", None
    candidates: list[tuple[int, str, str, str | None]] = []
    labels = list(_CHOICE_LABEL.finditer(text))[-_MAX_MARKERS:]
    if labels:
        last = labels[-1]
        tail = text[last.start() : last.start() + 200].split("\n")[0]
        hedge = _hedge_in(tail, letters=True)
        letter = (last.group(1) or last.group(2) or last.group(3)).upper()
        candidates.append((last.start(), hedge or letter, "choice_label", hedge))
    said = list(_LETTER_IS_CORRECT.finditer(text))[-_MAX_MARKERS:]
    if said:
        candidates.append((said[-1].start(), said[-1].group(1), "choice_label", None))
    if options:
        for m in reversed(list(_ANSWER_IS.finditer(text))[-_MAX_MARKERS:]):
            letter = _option_letter(_cut_sentence(m.group("tail")), options)
            if letter:
                candidates.append((m.start(), letter, "option_text", None))
                break
        for pos, inner in reversed(_boxed_spans(text)):
            letter = _letter_from_span(inner) or _option_letter(inner, options)
            if letter:
                candidates.append((pos, letter, "boxed", None))
                break
    if candidates:
        _, answer, how, hedge = max(candidates, key=lambda c: c[0])
        return answer, how, hedge
    if options:
        letter = _option_letter(text, options) or _option_in_last_sentence(text, options)
        if letter:
            return letter, "option_text", None
        ends = [x for x in re.split(r"(?<!\d)[.!?\n]+(?!\d)", text[-2000:]) if x.strip()][-1:]
        hedge = _hedge_in(ends[0]) if ends else None
        if hedge:
            return hedge, "option_text", hedge
    for m in reversed(list(_STANDALONE_LETTER.finditer(text))[-_MAX_MARKERS * 20 :]):
        letter = m.group(1)
        following = text[m.end() : m.end() + 2]
        if letter == "A" and re.match(r" [a-z]", following):
            continue  # the article "A train ..."
        return letter, "last_letter", None
    return None, "none", None


# ---------------------------------------------------------------------------------------------------
# Public API


def _extract(text: str, options: Sequence[str] | None) -> tuple[str | None, str, str | None]:
    """``(answer, how, hedge)``; ``options`` None for a numeric question, a (possibly empty) list of
    option texts for multiple choice."""
    if not text or not text.strip():
        return None, "none", None
    text = _ECHOED_EXAMPLES.sub(" ", _preprocess(text))
    if options is not None:
        return _extract_choice(text, options)

    for m in reversed(list(_BRACKETS.finditer(text))):
        hedge = _hedge_in(_strip_wrappers(m.group(1)))
        if hedge:
            return hedge, "brackets", hedge
        answer = _clean_span(m.group(1), words=True)
        if answer is not None:
            return answer, "brackets", None

    if "####" in text:
        tail = _cut_sentence(text.rsplit("####", 1)[1].strip().split("\n")[0])
        hedge = _hedge_in(tail)
        if hedge:
            return hedge, "hashes", hedge
        answer = _clean_span(tail, words=True)
        if answer is not None:
            return answer, "hashes", None

    candidates: list[tuple[int, str, str, str | None]] = []
    for m in reversed(list(_ANSWER_IS.finditer(text))[-_MAX_MARKERS:]):
        tail = m.group("tail")
        boxed = _boxed_contents(tail)
        span = boxed[0] if boxed else _cut_sentence(tail)
        hedge = _hedge_in(span)
        answer = hedge or _clean_span(span, words=True)
        if answer is not None:
            candidates.append((m.start(), answer, "answer_is", hedge))
            break
    for pos, inner in reversed(_boxed_spans(text)):
        hedge = _hedge_in(inner)
        answer = hedge or _clean_span(inner, words=True)
        if answer is not None:
            candidates.append((pos, answer, "boxed", hedge))
            break
    if candidates:
        _, answer, how, hedge = max(candidates, key=lambda c: c[0])
        return answer, how, hedge

    numbers = list(_NUMBER.finditer(text))
    if numbers:
        last = numbers[-1]
        hedge = _hedge_ending_at(text, last.end())
        if hedge:
            return hedge, "last_number", hedge
        return _canonical_token(last.group(0)), "last_number", None
    return None, "none", None


def extract_answer(text: str, *, choices: bool | Sequence[str] | None = False) -> tuple[str | None, str]:
    """Read the final answer from a model response.

    Returns ``(answer, how)`` where ``how`` is one of ``brackets``, ``hashes``, ``answer_is``,
    ``boxed``, ``last_number`` (numeric), ``choice_label``, ``option_text``, ``last_letter`` (multiple
    choice) or ``none`` with answer None. ``choices`` True (or the list of option texts, which also
    lets an answer given as an option's text count) makes it multiple choice: the answer is an
    upper-case letter. A hedged answer ("5 or 6") comes back as its hedged text; :func:`grade` marks it.
    """
    answer, how, _ = _extract(text, _options(choices))
    return answer, how


def _options(choices: bool | Sequence[str] | None) -> list[str] | None:
    if choices is None or choices is False:
        return None
    if choices is True:
        return []
    return [str(c) for c in choices]


def normalize_gold(gold: object) -> str:
    """Normalize a reference answer to the form ``extract_answer`` produces.

    ``"Natalia sold ... #### 1,234"`` -> ``"1234"``; ``"$18.00"`` -> ``"18"``; ``"25%"`` -> ``"25"``;
    ``"5 cm"`` -> ``"5"``; ``1.5`` -> ``"1.5"``; ``18.0`` -> ``"18"``; ``None`` -> ``""``.
    Text that is not a number comes back stripped and with single spaces.
    """
    if gold is None:
        return ""
    if isinstance(gold, bool):
        return str(gold).lower()
    if isinstance(gold, int):
        return format(Decimal(gold), "f")
    if isinstance(gold, float):
        if gold != gold or gold in (float("inf"), float("-inf")):
            return str(gold)
        return _decimal_text(Decimal(repr(gold)))
    text = _preprocess(str(gold)).strip()
    if "####" in text:
        text = text.rsplit("####", 1)[1].strip()
    elif "\\boxed" in text:
        boxed = _boxed_contents(text)
        if boxed:
            text = boxed[-1]
    if not text:
        return ""
    cleaned = _clean_span(text, words=False)
    if cleaned is not None and numeric_value(cleaned) is not None:
        return cleaned
    return re.sub(r"\s+", " ", _strip_wrappers(text) or text.strip())


def _normalize_choice_gold(gold: object, options: Sequence[str] = ()) -> str:
    """A letter (``"(b)"`` -> ``"B"``), or the letter of the option the gold text names."""
    text = str(gold) if gold is not None else ""
    if options and re.fullmatch(r"\s*\(?[A-Ja-j]\)?[.)]?\s*", text) is None:
        letter = _option_letter(text, options)
        if letter:
            return letter
    letter = _letter_from_span(text) if gold is not None else None
    return letter if letter else re.sub(r"\s+", " ", text.strip())


# math_verify runs without its signal-based timeout (main-thread only) and is kept to short inputs;
# the lock keeps its parser caches single-threaded.
_MV_LOCK = threading.Lock()
_MV_MAX_LEN = 120


class _DropTimeoutNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in record.getMessage()


def _safe_for_math_verify(s: str) -> bool:
    if len(s) > _MV_MAX_LEN or "!" in s:
        return False
    if s.count("^") + s.count("**") > 2 or re.search(r"\d{16,}", s):
        return False
    return bool(re.search(r"[\d\\]", s))


def _math_verify_equal(gold: str, answer: str) -> bool:
    if not (_safe_for_math_verify(gold) and _safe_for_math_verify(answer)):
        return False
    try:
        from math_verify import parse, verify
    except Exception:  # optional at run time
        return False
    try:
        with _MV_LOCK:
            for name in ("math_verify.parser", "math_verify.grader"):
                log = logging.getLogger(name)
                if not any(isinstance(f, _DropTimeoutNotice) for f in log.filters):
                    log.addFilter(_DropTimeoutNotice())
            g = parse(f"${gold}$", parsing_timeout=None)
            a = parse(f"${answer}$", parsing_timeout=None)
            if not g or not a:
                return False
            return bool(verify(g, a, timeout_seconds=None))
    except Exception:  # math_verify can throw on odd input; that is "not equal"
        return False


def _simple_text(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower().rstrip("."))


def _compare(answer: str, gold: str) -> tuple[bool, str]:
    a_val, g_val = numeric_value(answer), numeric_value(gold)
    if a_val is not None and g_val is not None:
        diff = abs(a_val - g_val)
        return diff <= max(_ABS_TOLERANCE, _REL_TOLERANCE * abs(g_val)), "numeric"
    if _simple_text(answer) == _simple_text(gold):
        return True, "string"
    if _math_verify_equal(gold, answer):
        return True, "math_verify"
    return False, "string"


def grade(
    text: str,
    gold: str | None,
    *,
    multiple_choice: bool = False,
    choices: Sequence[str] | None = None,
) -> Grade:
    """Grade one response against a gold answer.

    ``status`` is ``correct``/``wrong``; ``hedged`` when the response offers two values instead of one
    ("[[5 or 6]]", "between 20 and 25", "B or C"): never credited, even when one of them is right;
    ``no_answer`` when nothing could be extracted; ``ungraded`` when ``gold`` is empty or None (the
    extracted answer is still reported). ``choices`` (the option texts, in letter order) makes the
    question multiple choice and lets an answer or a gold given as an option's text count.
    """
    options = [str(c) for c in choices] if choices else ([] if multiple_choice else None)
    extracted, how, hedge = _extract(text or "", options)
    gold_text = None
    if gold is not None and str(gold).strip():
        gold_text = _normalize_choice_gold(gold, options or ()) if options is not None else normalize_gold(gold)
        gold_text = gold_text or None
    if gold_text is None:
        return Grade("ungraded", extracted, None, how)
    if extracted is None:
        return Grade("no_answer", None, gold_text, how)
    if hedge is not None:
        return Grade("hedged", extracted, gold_text, f"{how}/hedged")
    if options is not None:
        ok = extracted.upper() == gold_text.upper()
        return Grade("correct" if ok else "wrong", extracted, gold_text, f"{how}/letter")
    ok, compared = _compare(extracted, gold_text)
    return Grade("correct" if ok else "wrong", extracted, gold_text, f"{how}/{compared}")
