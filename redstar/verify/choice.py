"""Multiple-choice grading (GeoQA, MathVista, Geometry3K).

The gold is a letter (GeoQA, Geometry3K) or the text of an option (MathVista stores the
choice text); both are turned into a letter using ``choices`` (letters A, B, C... in order).
The response's answer is a letter in any common form (``(C)``, ``\\boxed{C}``, ``Answer: C``,
``Answer:C``, ``option C``, ``C. 60°``) or the text of an option (``60°``), matched to its
letter with the math equivalence (so ``\\frac{1}{2}`` picks the option ``0.5``). An answer
text that matches no option, or several, is wrong.
"""

from __future__ import annotations

import re

from redstar.choices import LETTERS
from redstar.records import Verdict

_LETTER = re.compile(
    r"^(?:\\text\{)?\s*(?:option|choice)?\s*[\(\[]?\s*([A-J])\s*[\)\]]?\s*\}?\s*(?:[.:：)]\s*.*)?$",
    re.I | re.S)
_OPTION_WORD = re.compile(r"\b(?i:option|choice)\s*(?:is\s*)?:?\s*[\(\[]?([A-J])\b[\)\]]?")
_PAREN_LETTER = re.compile(r"\(([A-J])\)")


def letter_of(answer: str | None, n: int | None = None) -> str | None:
    """'(C)', 'C', 'C.', 'option C', '\\text{(C)}', 'C: 60°' -> 'C' (within the first n letters)."""
    if not answer:
        return None
    a = answer.strip().strip("*").strip()
    if a.startswith("\\text{") and a.endswith("}") and a.count("{") == 1:
        a = a[6:-1].strip()
    m = _LETTER.match(a)
    if not m:
        return None
    letter = m.group(1).upper()
    # a lowercase bare letter ("a") is a variable, not an option; accept it only in a frame
    if m.group(1).islower() and a.strip("()[]. ").lower() == m.group(1):
        return None
    if n is not None and LETTERS.index(letter) >= n:
        return None
    return letter


def _gold_letter(gold: str, choices: list[str] | None) -> str | None:
    n = len(choices) if choices else None
    letter = letter_of(gold, n)
    if letter and (len(gold.strip().strip("()")) == 1 or not choices):
        return letter
    if choices:
        return _text_to_letter(gold, choices)
    return letter


def _text_to_letter(text: str, choices: list[str], timeout: float = 2.0) -> str | None:
    from redstar.verify.math_equiv import math_equal
    from redstar.verify.normalize import normalize

    t = normalize(text).casefold()
    exact = [LETTERS[i] for i, c in enumerate(choices) if normalize(str(c)).casefold() == t]
    if len(exact) == 1:
        return exact[0]
    if exact:
        return None
    hits = [LETTERS[i] for i, c in enumerate(choices) if math_equal(text, str(c), timeout=timeout)[0]]
    return hits[0] if len(hits) == 1 else None


def grade_choice(response: str, gold: str, choices: list[str] | None, fallback: bool = True,
                 timeout: float = 5.0) -> Verdict:
    from redstar.verify.extract import extract_answer

    gold_letter = _gold_letter(str(gold), choices)
    if gold_letter is None:
        return Verdict(False, None, f"gold {gold!r} is neither a letter nor one of the choices")
    n = len(choices) if choices else None
    answer = extract_answer(response, fallback=False)
    tail = response[-2000:] if isinstance(response, str) else ""
    if "</think>" in (response or ""):
        tail = response.rsplit("</think>", 1)[1][-2000:]
    if answer is None:
        words = list(_OPTION_WORD.finditer(tail))
        if words:
            answer = words[-1].group(1)
        elif fallback:
            parens = list(_PAREN_LETTER.finditer(tail))
            answer = parens[-1].group(1) if parens else None
    if answer is None:
        return Verdict(False, None, "no answer extracted")
    letter = letter_of(answer, n)
    how = "letter"
    if letter is None and choices:
        letter = _text_to_letter(answer, choices, timeout=min(timeout, 2.0))
        how = "option text"
    if letter is None:
        return Verdict(False, answer, "answer matches no option")
    if letter == gold_letter:
        return Verdict(True, letter, f"choice match ({how})")
    return Verdict(False, letter, f"chose {letter}, gold {gold_letter}")
