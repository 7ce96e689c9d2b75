"""Multiple-choice grading (GeoQA, MathVista, Geometry3K).

The gold is a letter (GeoQA, Geometry3K) or the text of an option (MathVista stores the
choice text); both are turned into a letter using ``choices`` (letters A, B, C... in order).
The response's answer is a letter in any common form (``(C)``, ``\\boxed{C}``, ``Answer: C``,
``Answer:C``, ``option C``, ``C. 60°``) or the text of an option (``60°``), matched to its
letter with the math equivalence (so ``\\frac{1}{2}`` picks the option ``0.5``). An answer
text that matches no option, or several, is wrong, unless the gold is a text that those several
options share (MathVista items where C and D both read ``18``: either letter is right). A response
that is only a letter (``C``) or only an option's text (``60°``) is that answer; quotes, bold,
"choose C" and GeoQA's "故选C" are read too, and the forms Qwen2.5-Math writes on AQuA, SAT and
MMLU-STEM: ``\\mathrm{C}``, ``(c)``, a stated lowercase ``c``, ``**C**`` after a colon, "..., which
is choice C" (the option the last line names wins over a value in its prose, unless after "not"),
and a letter with its option text (``\\text{(C) } 60°``). ``letter_of`` lives in ``redstar.choices``.
"""

from __future__ import annotations

import re

from redstar.choices import LETTERS, letter_of
from redstar.records import Verdict

_OPTION_WORD = re.compile(
    r"(?:\b(?i:option|choice|choose|select|pick)\s*(?:is\s*)?:?\s*|故选\s*[:：]?\s*)[\(\[\"“]?([A-J])\b[\)\]\"”]?"
)
_PAREN_LETTER = re.compile(r"\(([A-J])\)")


def _gold_letters(gold: str, choices: list[str] | None) -> frozenset[str]:
    """The letters a gold names: one for a letter gold; every option whose text is the gold's
    for a MathVista text gold (choices C and D both reading ``18``: either letter is right)."""
    n = len(choices) if choices else None
    letter = letter_of(gold, n)
    if letter and (len(gold.strip().strip("()")) == 1 or not choices):
        return frozenset(letter)
    if choices:
        return frozenset(_text_to_letters(gold, choices))
    return frozenset(letter or "")


def _gold_letter(gold: str, choices: list[str] | None) -> str | None:
    """The first letter the gold names (one letter for callers that need one)."""
    letters = _gold_letters(gold, choices)
    return min(letters) if letters else None


def _text_to_letters(text: str, choices: list[str], timeout: float = 2.0) -> list[str]:
    """Every option whose text is ``text``: equal normalised strings first, else the math
    equivalence (so ``\\frac{1}{2}`` picks the option ``0.5``)."""
    from redstar.verify.math_equiv import math_equal
    from redstar.verify.normalize import normalize

    t = normalize(text).casefold()
    texts = [normalize(str(c)).casefold() for c in choices]
    exact = [LETTERS[i] for i, c in enumerate(texts) if c == t]
    if exact:
        return exact
    return [LETTERS[i] for i, c in enumerate(choices) if math_equal(text, str(c), timeout=timeout)[0]]


def grade_choice(
    response: str, gold: str, choices: list[str] | None, fallback: bool = True, timeout: float = 5.0
) -> Verdict:
    from redstar.verify.extract import extract_answer

    golds = _gold_letters(str(gold), choices)
    if not golds:
        return Verdict(False, None, f"gold {gold!r} is neither a letter nor one of the choices")
    gold_letter = "/".join(sorted(golds))
    n = len(choices) if choices else None
    answer = extract_answer(response, fallback=False)
    tail = response[-2000:] if isinstance(response, str) else ""
    if "</think>" in (response or ""):
        tail = response.rsplit("</think>", 1)[1][-2000:]
    tail = tail.replace("**", "")
    whole = tail.strip()
    last_line = whole.rsplit("\n", 1)[-1]
    named = [m for m in _OPTION_WORD.finditer(last_line) if not re.search(r"\bnot\s+$|n't\s+$", last_line[: m.start()])]
    if named and "\\boxed" not in tail and not letter_of(answer or "", n):
        # "..., which is choice A": the option the last line names, not a value read from its prose
        answer = named[-1].group(1)
    if answer is None and whole and len(whole) <= 80 and "\n" not in whole:
        # the whole answer is a bare option letter ("C", "(C)") or an option's text ("60°")
        if letter_of(whole, n) or (choices and _text_to_letters(whole, choices, timeout=min(timeout, 2.0))):
            answer = whole
    if answer is None:
        words = list(_OPTION_WORD.finditer(tail))
        if words:
            answer = words[-1].group(1)
        elif fallback:
            parens = list(_PAREN_LETTER.finditer(tail))
            answer = parens[-1].group(1) if parens else None
    if answer is None:
        return Verdict(False, None, "no answer extracted")
    # in a choice item a lone lowercase letter after "the answer is" is the option (MMLU's "c")
    letter = letter_of(answer, n, lowercase=True)
    how = "letter"
    if letter is None and choices:
        hits = _text_to_letters(answer, choices, timeout=min(timeout, 2.0))
        # one option, or several with one text that the gold names all of (duplicate choices)
        letter = hits[0] if len(hits) == 1 or (hits and set(hits) <= golds) else None
        how = "option text"
    if letter is None:
        return Verdict(False, answer, "answer matches no option")
    if letter in golds:
        return Verdict(True, letter, f"choice match ({how})")
    return Verdict(False, letter, f"chose {letter}, gold {gold_letter}")
