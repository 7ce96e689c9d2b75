"""Multiple choice: option letters, reading a ``Choices:`` block, writing one.

GeoQA (as G-LLaVA ships it), the synthetic geometry set and the curated geometry rows write a
multiple-choice question as the question text followed by a block

    Choices:
    A:40°
    B:60°

This module is the one place that knows that shape: curation (``data_recipes.sources``), the
geometry converters (``geo.convert``) and the evaluation loaders (``eval.loaders.geoqa``) read
it with :func:`parse_choices`; prompts write it with :func:`format_question`.

    question, choices = parse_choices(text)               # lenient: (text, None) without a block
    question, choices = parse_choices(text, strict=True)  # ChoiceError on anything unexpected
    format_question("Find x.", ["40°", "60°"])           # 'Find x.\\nChoices:\\nA:40°\\nB:60°'
    letter_of("\\mathrm{(C)}")                             # 'C': the option letter an answer names
"""

from __future__ import annotations

import re
import string

LETTERS = string.ascii_uppercase
"""Option letters, in order: the i-th choice is ``LETTERS[i]``."""

# "A:40°", "B. 60", "C) 3", "D：5" (full-width colon), "E．x", "F、y"
_CHOICE_LINE = re.compile(r"^\s*([A-Z])\s*[:：.．、)]\s*(.*?)\s*$")
_BLOCK = re.compile(r"Choices\s*[:：]")


class ChoiceError(ValueError):
    """A ``Choices:`` block that cannot be read (strict mode only)."""


def letter(index: int) -> str:
    """0 -> 'A', 1 -> 'B', ..."""
    if not 0 <= index < len(LETTERS):
        raise ChoiceError(f"choice index {index} is outside 0..{len(LETTERS) - 1}")
    return LETTERS[index]


def index_of(value: str, n: int | None = None) -> int:
    """'C' -> 2; with ``n`` choices the letter must be one of the first ``n``."""
    s = str(value).strip().upper()
    allowed = LETTERS[:n] if n is not None else LETTERS
    if len(s) != 1 or s not in allowed:
        raise ChoiceError(f"{value!r} is not one of the choice letters {allowed}")
    return LETTERS.index(s)


def parse_choices(text: str, strict: bool = False) -> tuple[str, list[str] | None]:
    """``text`` -> (question, choices).

    The question is what stands before the last ``Choices:`` block, without an instruction that
    ends in ``Question:`` (G-LLaVA puts one before every question). Each ``A:...`` line of the
    block is one choice, in letter order.

    Lenient (the default): no block gives ``(question, None)``; lines that are not the next
    letter in order are skipped, and a block with no readable line gives ``None`` choices.
    Strict: a missing block, an unreadable line, letters out of order or fewer than two choices
    raise :class:`ChoiceError`.
    """
    matches = list(_BLOCK.finditer(text))
    if not matches:
        if strict:
            raise ChoiceError("question text has no 'Choices:' block")
        return _question(text), None
    head, tail = text[: matches[-1].start()], text[matches[-1].end() :]
    choices: list[str] = []
    for line in tail.strip().splitlines():
        m = _CHOICE_LINE.match(line)
        expected = LETTERS[len(choices)] if len(choices) < len(LETTERS) else None
        if m and m.group(1) == expected:
            choices.append(m.group(2))
        elif strict and line.strip():
            if m:
                raise ChoiceError(
                    f"choice letter {m.group(1)} stands where {expected} should: letters must be A, B, C, ... in order"
                )
            raise ChoiceError(f"cannot read choice line {line.strip()!r}")
    if strict and len(choices) < 2:
        raise ChoiceError(f"fewer than two choices ({len(choices)})")
    return _question(head), choices or None


def _question(text: str) -> str:
    return (text.split("Question:", 1)[1] if "Question:" in text else text).strip()


def format_choices(choices: list[str], sep: str = ":") -> str:
    """``["40°", "60°"]`` -> ``"A:40°\\nB:60°"`` (``sep=": "`` for ``"A: 40°"``)."""
    if len(choices) > len(LETTERS):
        raise ChoiceError(f"{len(choices)} choices: at most {len(LETTERS)} have a letter")
    return "\n".join(f"{LETTERS[i]}{sep}{c}" for i, c in enumerate(choices))


def format_question(question: str, choices: list[str] | None, sep: str = ":") -> str:
    """The question, then a ``Choices:`` block with one ``A:...`` line per choice (the GeoQA
    prompt shape); the question alone when there are no choices."""
    if not choices:
        return question
    return question + "\nChoices:\n" + format_choices(choices, sep)


# "(C)", "C", "C.", "option C", "C: 60°", "\\text{(C)}", "\\mathrm{C}" (a model's answer naming a letter)
_LETTER = re.compile(r"^\s*(?:option|choice)?\s*[\(\[]?\s*([A-J])\s*[\)\]]?\s*(?:[.:：)]\s*.*)?$", re.I | re.S)
_LETTER_AND_TEXT = re.compile(r"^[\(\[]([A-J])[\)\]]\s+(.+)$", re.S)  # "(A) Yes", "(E) Hyperbola"
_WRAPPER = re.compile(r"^\\(?:text|mathrm|textbf|mathbf|rm|bf)\s*\{([^{}]*)\}$")


def letter_of(answer: str | None, n: int | None = None, *, lowercase: bool = False) -> str | None:
    """The option letter an answer names: '(C)', 'C', 'C.', 'option C', '\\text{(C)}',
    '\\mathrm{C}', '**C**', '(c)', 'C: 60°' -> 'C' (within the first n letters), else None.

    A bare lowercase letter ('a') is a variable, not an option: it counts only in parentheses
    ('(d)'), after 'option', or with ``lowercase=True`` (a choice item's stated answer)."""
    if not answer:
        return None
    a = answer.strip().strip("*").strip()
    for q1, q2 in (('"', '"'), ("\u201c", "\u201d"), ("'", "'")):  # quoted: "C"
        if len(a) > 2 and a.startswith(q1) and a.endswith(q2):
            a = a[1:-1].strip()
    m = _WRAPPER.match(a)
    if m:
        a = m.group(1).strip()
    elif a.startswith("\\"):  # "\\text{(A) } f(-6)=0": the letter in a wrapper, its text after it
        a = re.sub(r"^\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", a).strip()
    m = _LETTER.match(a) or _LETTER_AND_TEXT.match(a)
    if not m:
        return None
    letter = m.group(1).upper()
    if m.group(1).islower() and not lowercase:
        framed = re.fullmatch(r"[\(\[]\s*[a-j]\s*[\)\]]\.?|(?i:option|choice)\s*[a-j]\.?", a.strip())
        if framed is None:
            return None
    if n is not None and LETTERS.index(letter) >= n:
        return None
    return letter
