"""Labelled grading cases: (response text, gold, multiple_choice, expected status, expected extracted).

Written by hand for TALE Explorer. ``extracted`` is the answer as ``extract_answer`` reports it:
decoration removed (``$``, thousands commas, ``%``, units, trailing period), numbers as written
(``18.00`` -> ``18``, fractions stay fractions, ``\\frac{a}{b}`` -> ``a/b``).

Decisions documented by these cases:
- Number words count only inside an explicit answer marker (``[[eighteen]]``, "the answer is
  eighteen"); a bare "eighteen" in prose gives ``no_answer``.
- A percentage is compared by its number: "25%" equals gold 25, but "0.25" does not equal gold "25%".
- The prompt's echoed example "for example: Answer: [[50]]" is ignored.
- Multiple choice falls back to the last standalone capital A-E, skipping the article "A ...".
- A lower-case letter counts after a label ("Answer: b") only when nothing but punctuation follows it
  ("the answer is a bit ..." is not A).
- "X is correct/right/the answer" names X, whatever letters follow ("C is correct because A, B and D").
- With the options known (``choices``), an answer given as an option's text ("[[42]]", "the answer is
  Paris") names that option; a text matching two options names none.
- Hedged answers offer two values ("[[5 or 6]]", "between 20 and 25", "20 to 25", "B or C"): status
  ``hedged``, never credited, even when one of the values is the gold. "5 or 5.0" is one value. A range
  "20 to 25" is a hedge only as the whole answer, not inside a sentence ("from 10 to 20 is an increase
  of 10"), and free text without a marker is read by its last number unless that number ends an "or" /
  "between ... and" hedge.
- Units with an exponent ("24 m^2", "5 cm³") are units: the answer is 24, not 2.
- A sentence inside ``[[...]]`` gives the number after its last verb-like marker ("she has 42"),
  else a leading number, else its last number.
- "12 000" (space as thousands separator) and "1.56e3" / "1.56 \\times 10^{3}" are numbers.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    text: str
    gold: str | None
    multiple_choice: bool
    status: str
    extracted: str | None
    choices: tuple[str, ...] | None = None


C = Case

NUMERIC_CASES: list[Case] = [
    # --- [[...]] brackets, the official format
    C("[[18]]", "18", False, "correct", "18"),
    C("Answer: [[18]]", "18", False, "correct", "18"),
    C("[[ 18 ]]", "18", False, "correct", "18"),
    C("[[$18.00]]", "18", False, "correct", "18"),
    C("[[$18]]", "18", False, "correct", "18"),
    C("[[18 dollars]]", "18", False, "correct", "18"),
    C("[[18.]]", "18", False, "correct", "18"),
    C("[[**18**]]", "18", False, "correct", "18"),
    C("Janet keeps 3 and 4, sells 9 at $2: 9*2 = 18.\nAnswer: [[18]]", "18", False, "correct", "18"),
    C("First [[12]] was a mistake, the right total is [[14]]", "14", False, "correct", "14"),
    C("First [[12]] was a mistake, the right total is [[14]]", "12", False, "wrong", "14"),
    C("[[17]] hours", "17", False, "correct", "17"),
    C("[[17 hours]]", "17", False, "correct", "17"),
    C("[[x = 5]]", "5", False, "correct", "5"),
    C("[[3 + 4 = 7]]", "7", False, "correct", "7"),
    C("[[The total is 42]]", "42", False, "correct", "42"),
    C("[[answer]] 42", "42", False, "correct", "42"),
    C("Use the format [[answer]]. 5 + 6 = 11", "11", False, "correct", "11"),
    C("[[]] so 9", "9", False, "correct", "9"),
    C("[[[17]]]", "17", False, "correct", "17"),
    C("The result: [[\\frac{3}{4}]]", "0.75", False, "correct", "3/4"),
    C("[[\\dfrac{5}{2}]]", "2.5", False, "correct", "5/2"),
    C("[[$\\frac{1}{2}$]]", "1/2", False, "correct", "1/2"),
    C("[[\\boxed{64}]]", "64", False, "correct", "64"),
    C("[[\\$25]]", "25", False, "correct", "25"),
    C("[[25\\%]]", "25", False, "correct", "25"),
    C("[[-7]]", "-7", False, "correct", "-7"),
    C("[[ -7 ]]", "7", False, "wrong", "-7"),
    C("[[−3]]", "-3", False, "correct", "-3"),
    C("[[0]]", "0", False, "correct", "0"),
    C("[[-0]]", "0", False, "correct", "0"),
    # --- the prompt's example echoed back
    C(
        "Please give the response, for example: Answer: [[50]]. Let's think step by step: 3 * 6 = 18.",
        "18",
        False,
        "correct",
        "18",
    ),
    C("for example: Answer: [[50]].\nThe cost is 12 + 8 = 20. [[20]]", "20", False, "correct", "20"),
    C("Answer: [[50]]", "50", False, "correct", "50"),
    C("Format: [[answer]], for example: Answer: [[50]]", "50", False, "no_answer", None),
    # --- commas, money, percentages, units
    C("[[2,125]]", "2125", False, "correct", "2125"),
    C("[[2125]]", "2,125", False, "correct", "2125"),
    C("[[1,000,000]]", "1000000", False, "correct", "1000000"),
    C("The prize is $1,000,000.", "1000000", False, "correct", "1000000"),
    C("She makes $18 every day.", "18", False, "correct", "18"),
    C("She makes 18 dollars every day.", "18", False, "correct", "18"),
    C("The side is 5 cm long.", "5", False, "correct", "5"),
    C("[[5 cm]]", "5cm", False, "correct", "5"),
    C("The discount is 25%.", "25", False, "correct", "25"),
    C("[[25%]]", "25%", False, "correct", "25"),
    C("[[0.25]]", "25%", False, "wrong", "0.25"),
    C("[[25 percent]]", "25", False, "correct", "25"),
    C("[[$1,234.50]]", "1234.5", False, "correct", "1234.5"),
    C("Total: 1,234.50 dollars", "1234.5", False, "correct", "1234.5"),
    C("[[€40]]", "40", False, "correct", "40"),
    C("He pays -$5 net.", "-5", False, "correct", "-5"),
    # --- decimals and the official repo's int() truncation bug
    C("[[1]]", "1.5", False, "wrong", "1"),
    C("[[1.5]]", "1.5", False, "correct", "1.5"),
    C("[[1.50]]", "1.5", False, "correct", "1.5"),
    C("[[1.5]]", "1", False, "wrong", "1.5"),
    C("[[2]]", "1.5", False, "wrong", "2"),
    C("[[.5]]", "0.5", False, "correct", "0.5"),
    C("[[0.5]]", "1/2", False, "correct", "0.5"),
    C("[[1/2]]", "0.5", False, "correct", "1/2"),
    C("[[3/4]]", "0.75", False, "correct", "3/4"),
    C("[[0.333333]]", "1/3", False, "correct", "0.333333"),
    C("[[0.33]]", "1/3", False, "wrong", "0.33"),
    C("[[1 1/2]]", "1.5", False, "correct", "1 1/2"),
    C("She needs 1 1/2 cups of flour.", "1.5", False, "correct", "1 1/2"),
    C("[[18.000]]", "18", False, "correct", "18"),
    C("[[17.5]]", "17.5", False, "correct", "17.5"),
    C("[[17.49]]", "17.5", False, "wrong", "17.49"),
    C("[[0.1]]", "0.1", False, "correct", "0.1"),
    C("[[100000000.5]]", "100000000", False, "wrong", "100000000.5"),
    # --- GSM8K-style and other markers
    C("9 * 2 = 18\n#### 18", "18", False, "correct", "18"),
    C("steps ... #### 1,234", "1234", False, "correct", "1234"),
    C("[[18]]", "Janet sells 16 - 3 - 4 = 9 duck eggs.\nShe makes 9 * 2 = $18.\n#### 18", False, "correct", "18"),
    C("[[19]]", "#### 18", False, "wrong", "19"),
    C("16-3-4=9; 9*2=18\n####\n18", "18", False, "correct", "18"),
    C("The answer is 18.", "18", False, "correct", "18"),
    C("The answer is: 18", "18", False, "correct", "18"),
    C("The final answer is $18.", "18", False, "correct", "18"),
    C("So the answer is 18 dollars. This took 5 steps.", "18", False, "correct", "18"),
    C("Answer: 72", "72", False, "correct", "72"),
    C("**Final Answer:** 72", "72", False, "correct", "72"),
    C("Final answer: 3 + 4 = 7", "7", False, "correct", "7"),
    C("We get \\boxed{17}.", "17", False, "correct", "17"),
    C("\\[ \\boxed{\\frac{7}{2}} \\]", "3.5", False, "correct", "7/2"),
    C("Total = 1 + 9 + 0.5 + 4.5 + 2 = \\boxed{17} hours. I double-checked 2 times.", "17", False, "correct", "17"),
    C("The answer is 12. Wait, recheck: the answer is 14.", "14", False, "correct", "14"),
    C("\\boxed{12} hmm, actually the answer is 13", "13", False, "correct", "13"),
    C("The answer is 13, so \\boxed{13}", "13", False, "correct", "13"),
    C("The answer is eighteen.", "18", False, "correct", "18"),
    C("[[eighteen]]", "18", False, "correct", "18"),
    C("[[Eighteen dollars]]", "18", False, "correct", "18"),
    C("[[two hundred and five]]", "205", False, "correct", "205"),
    C("[[forty-two]]", "42", False, "correct", "42"),
    C("[[one thousand two hundred]]", "1200", False, "correct", "1200"),
    C("She makes eighteen dollars.", "18", False, "no_answer", None),
    C("[[nineteen]]", "18", False, "wrong", "19"),
    # --- last number fallback (the official repo's rule)
    C("16 - 3 - 4 = 9 eggs, 9 * 2 = 18", "18", False, "correct", "18"),
    C("She has 16 eggs, eats 3, bakes 4, so she sells 9 for $2 each, making 18.", "18", False, "correct", "18"),
    C(
        "Peyton: 1 hour Monday, 9 hours Tuesday, 0.5 Wednesday, 4.5 Thursday, 2 Friday. Total 17.",
        "17",
        False,
        "correct",
        "17",
    ),
    C("The question says 16 eggs and $2 each. She sells 9, so 18", "18", False, "correct", "18"),
    C("She sells 9 eggs at $2, so she earns 18 dollars over 1 day", "18", False, "wrong", "1"),
    C("10 - 15 = -5", "-5", False, "correct", "-5"),
    C("The temperature dropped to -12 degrees.", "-12", False, "correct", "-12"),
    C("From 7 subtract 10: 7-10", "-3", False, "wrong", "10"),
    C("x = (-4)", "-4", False, "correct", "-4"),
    C("The result is 3.75.", "3.75", False, "correct", "3.75"),
    C("The result is 17.", "17", False, "correct", "17"),
    C("That leaves 3/4 of the pie", "0.75", False, "correct", "3/4"),
    C("That leaves $\\frac{3}{4}$ of the pie", "3/4", False, "correct", "3/4"),
    C("Half of 10 is 5\n\n", "5", False, "correct", "5"),
    C("5 apples + 3 apples = 8apples", "8", False, "correct", "8"),
    # --- nothing to extract
    C("", "18", False, "no_answer", None),
    C("   \n  ", "18", False, "no_answer", None),
    C("I cannot solve this problem.", "18", False, "no_answer", None),
    C("Let's think step by step:", "18", False, "no_answer", None),
    C("[[answer]]", "18", False, "no_answer", None),
    C("[[ ]]", "5", False, "no_answer", None),
    # --- no gold: ungraded, extraction still reported
    C("[[18]]", None, False, "ungraded", "18"),
    C("[[18]]", "", False, "ungraded", "18"),
    C("[[18]]", "   ", False, "ungraded", "18"),
    C("no idea", None, False, "ungraded", None),
    # --- expressions that need math_verify or text comparison
    C("[[2\\sqrt{3}]]", "\\sqrt{12}", False, "correct", "2\\sqrt{3}"),
    C("[[x^2+1]]", "1+x^2", False, "correct", "x^2+1"),
    C("[[5^2]]", "25", False, "correct", "5^2"),
    C("[[2\\pi]]", "2", False, "wrong", "2\\pi"),
    C("The answer is \\boxed{\\sqrt{2}}", "\\sqrt 2", False, "correct", "\\sqrt{2}"),
    C("[[Yes]]", "yes", False, "correct", "Yes"),
    C("[[No]]", "yes", False, "wrong", "No"),
    C("[[Tuesday]]", "tuesday", False, "correct", "Tuesday"),
]

CHOICE_CASES: list[Case] = [
    C("[[B]]", "B", True, "correct", "B"),
    C("Choice: [[B]]", "(B)", True, "correct", "B"),
    C("Choice: [[b]]", "B", True, "correct", "B"),
    C("[[(C)]]", "C", True, "correct", "C"),
    C("[[C. 42]]", "C", True, "correct", "C"),
    C("[[D) 17 hours]]", "D", True, "correct", "D"),
    C("[[Choice: A]]", "A", True, "correct", "A"),
    C("Choice: C", "C", True, "correct", "C"),
    C("The answer is (D).", "D", True, "correct", "D"),
    C("the answer is (d)", "D", True, "correct", "D"),
    C("Answer: E", "E", True, "correct", "E"),
    C("Option B is correct.", "B", True, "correct", "B"),
    C("The correct answer is C", "A", True, "wrong", "C"),
    C("A train leaves at 3 pm and arrives at 5 pm, so B", "B", True, "correct", "B"),
    C("Comparing A and C, I pick D", "D", True, "correct", "D"),
    C("A", "A", True, "correct", "A"),
    C("I think it's B.", "C", True, "wrong", "B"),
    C("for example: Choice: [[A]].\nThe area is 12, option C", "C", True, "correct", "C"),
    C("First [[A]], on reflection [[B]]", "B", True, "correct", "B"),
    C("answer a question like this: C is best", "C", True, "correct", "C"),
    C("None of these fit.", "B", True, "no_answer", None),
    C("", "B", True, "no_answer", None),
    C("[[B]]", None, True, "ungraded", "B"),
    C("[[B]]", "b", True, "correct", "B"),
    C("[[B]]", "B.", True, "correct", "B"),
]

NUM4 = ("40", "42", "44", "46")
CITIES = ("London", "Berlin", "Paris", "Rome")

# Cases for the misreads of issue 9 (each was graded wrongly before).
ISSUE9_NUMERIC_CASES: list[Case] = [
    # --- hedged answers: their own status, no credit
    C("[[5 or 6]]", "5", False, "hedged", "5 or 6"),
    C("[[5 or 6]]", "6", False, "hedged", "5 or 6"),
    C("[[5 or 6]]", "7", False, "hedged", "5 or 6"),
    C("The answer is between 20 and 25.", "25", False, "hedged", "between 20 and 25"),
    C("The answer is between 20 and 25.", "20", False, "hedged", "between 20 and 25"),
    C("It should be between 20 and 25.", "25", False, "hedged", "between 20 and 25"),
    C("[[20 to 25]]", "25", False, "hedged", "20 to 25"),
    C("[[20 or maybe 25]]", "20", False, "hedged", "20 or maybe 25"),
    C("[[from 20 to 25]]", "25", False, "hedged", "from 20 to 25"),
    C("The answer is about 20 to 25 minutes.", "25", False, "hedged", "about 20 to 25 minutes"),
    C("Answer: from 10 to 20 is an increase of 10", "10", False, "correct", "10"),
    C("It takes 20 to 25 minutes.", "25", False, "correct", "25"),
    C("Answer: 18 or 19", "18", False, "hedged", "18 or 19"),
    C("\\boxed{3 \\text{ or } 4}", "3", False, "hedged", "3 or 4"),
    C("#### 7 or 8", "7", False, "hedged", "7 or 8"),
    C("[[between $10 and $12]]", "10", False, "hedged", "between 10 and 12"),
    C("[[5 or 5.0]]", "5", False, "correct", "5"),
    C("[[3 + 4 = 7]] or so I think", "7", False, "correct", "7"),
    C("He walks 3 or 4 km each day, so 18 in total", "18", False, "correct", "18"),
    C("From 3 to 5 stores, she buys 18", "18", False, "correct", "18"),
    C("So she has somewhere between 16 and 18.", "18", False, "hedged", "between 16 and 18"),
    C("Final answer: 40 or 42", "42", False, "hedged", "40 or 42"),
    # --- units with an exponent
    C("The area is 24 m^2.", "24", False, "correct", "24"),
    C("[[24 m^2]]", "24", False, "correct", "24"),
    C("[[24 m²]]", "24", False, "correct", "24"),
    C("[[24 \\text{ m}^2]]", "24", False, "correct", "24"),
    C("The volume is 125 cm^3", "125", False, "correct", "125"),
    C("[[9.8 m/s^2]]", "9.8", False, "correct", "9.8"),
    C("The floor is 36 square feet^2", "36", False, "correct", "36"),
    C("[[16 ft**2]]", "16", False, "correct", "16"),
    C("[[x^2]]", "x^2", False, "correct", "x^2"),
    C("[[2x^2]]", "2x^2", False, "correct", "2x^2"),
    C("[[3^2]]", "9", False, "correct", "3^2"),
    # --- a sentence inside [[...]]
    C("[[After 3 days she has 42 apples]]", "42", False, "correct", "42"),
    C("[[42 apples after 3 days]]", "42", False, "correct", "42"),
    C("[[In 2 weeks, the total is 42]]", "42", False, "correct", "42"),
    C("[[She pays 7 dollars for 2 pens]]", "7", False, "correct", "7"),
    C("[[Over 4 days he earned 120 dollars]]", "120", False, "correct", "120"),
    C("[[The 3 friends share 12 cookies, so each gets 4]]", "4", False, "correct", "4"),
    C("[[John needs 15 more stamps]]", "15", False, "correct", "15"),
    C("[[In 2019 the shop sold 350 bikes]]", "350", False, "correct", "350"),
    C("[[2 hours and then 30 minutes]]", "30", False, "wrong", "2"),
    # --- numbers written with spaces or exponents
    C("[[12 000]]", "12000", False, "correct", "12000"),
    C("The population is 12 000.", "12000", False, "correct", "12000"),
    C("[[1 234 567]]", "1234567", False, "correct", "1234567"),
    C("[[12\u202f000]]", "12000", False, "correct", "12000"),
    C("She saved 12 000 dollars in 3 years, so 4 000 per year", "4000", False, "correct", "4000"),
    C("[[1.56e3]]", "1560", False, "correct", "1560"),
    C("[[1.56E3]]", "1560", False, "correct", "1560"),
    C("[[2e-3]]", "0.002", False, "correct", "0.002"),
    C("The distance is 1.56e3 m", "1560", False, "correct", "1560"),
    C("[[1.56 \\times 10^{3}]]", "1560", False, "correct", "1560"),
    C("[[1.56 × 10^3]]", "1560", False, "correct", "1560"),
    C("[[3 x 10^2]]", "300", False, "correct", "300"),
    C("[[1 1/2]]", "1.5", False, "correct", "1 1/2"),
    C("[[1.56e3]]", "1500", False, "wrong", "1560"),
]

ISSUE9_CHOICE_CASES: list[Case] = [
    # --- lower-case letters after a label
    C("Answer: b", "B", True, "correct", "B"),
    C("The answer is c.", "C", True, "correct", "C"),
    C("The answer is c", "B", True, "wrong", "C"),
    C("answer: (e)", "E", True, "correct", "E"),
    C("Final answer: d", "D", True, "correct", "D"),
    C("The correct option is b.", "B", True, "correct", "B"),
    C("the answer is a bit tricky; I pick B", "B", True, "correct", "B"),
    C("The answer is a number close to 40, so C", "C", True, "correct", "C"),
    # --- "X is correct" against the last-letter fallback
    C("C is correct because A, B and D are composite", "C", True, "correct", "C"),
    C("(B) is the answer, since A and C fail and D is too large.", "B", True, "correct", "B"),
    C("D is right: A, B and C all double count.", "D", True, "correct", "D"),
    C("B would be correct if not for the sign, so A is correct.", "A", True, "correct", "A"),
    # --- the option's text, with the options known
    C("The answer is 42.", "B", True, "correct", "B", NUM4),
    C("[[42]]", "B", True, "correct", "B", NUM4),
    C("[[$44.00]]", "C", True, "correct", "C", NUM4),
    C("[[Paris]]", "C", True, "correct", "C", CITIES),
    C("[[paris]]", "Paris", True, "correct", "C", CITIES),
    C("The capital is Paris.", "C", True, "correct", "C", CITIES),
    C("So it must be Rome", "C", True, "wrong", "D", CITIES),
    C("\\boxed{46}", "D", True, "correct", "D", NUM4),
    C("[[41]]", "B", True, "no_answer", None, NUM4),
    C("[[B]]", "42", True, "correct", "B", NUM4),
    C("I compared London and Paris.", "C", True, "no_answer", None, CITIES),
    # --- hedged choices
    C("[[B or C]]", "B", True, "hedged", "B or C"),
    C("The answer is B or C.", "C", True, "hedged", "B or C"),
    C("[[40 or 42]]", "B", True, "hedged", "40 or 42", NUM4),
    C("It is 42 or maybe 44.", "B", True, "hedged", "42 or maybe 44", NUM4),
    C("[[C. 3 or 4 hours]]", "C", True, "correct", "C"),
]

NUMERIC_CASES += ISSUE9_NUMERIC_CASES
CHOICE_CASES += ISSUE9_CHOICE_CASES
CASES: list[Case] = NUMERIC_CASES + CHOICE_CASES
