"""Final-answer isolation: which span of a (possibly 200k-character) response is *the* answer.

Long chain-of-thought responses box intermediate results, change their mind and restate the
question; graders that collect every ``\\boxed{}`` into a set, or read the first one, grade the
wrong thing. The rules here, in order:

1. A response that opens ``<think>`` and never closes it was cut off while thinking: no answer.
2. Text after the last ``</think>`` wins over text inside the thinking.
3. Within a region, the last ``\\boxed{}`` / ``\\fbox{}`` wins (nested braces are matched; an
   unclosed last box means the response was truncated inside its answer: no answer).
4. Without a box, the last "final answer is ...", "the answer is ...", "Answer: ..." phrase.
5. Fallback (switchable): the last number of the final region.

Every step is a reverse scan or one linear regex pass, so a 200k-character response costs
milliseconds and no input can make it backtrack.
"""

from __future__ import annotations

import re

_BOX_CMDS = ("\\boxed", "\\fbox")
_TRUNCATED = object()  # sentinel: the last box never closes
_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|correct\s+answer|answer)\**\s*(?:is|:|：|=)\s*:?\s*\**\s*", re.I)
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d*\.?\d+(?:/\d+)?")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$((?:\\.|[^$\\])+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_CODE_BLOCK = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)```", re.S | re.I)


def matched_braces(text: str, start: int) -> tuple[str, int] | None:
    """``text[start] == '{'``: return (content, index after the closing brace) or None if unclosed."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "{}":
            i += 2  # escaped brace, e.g. \{1, 2\}
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
        i += 1
    return None


def last_boxed(text: str):
    """Content of the last ``\\boxed{...}``/``\\fbox{...}``; None if there is none; the
    ``_TRUNCATED`` sentinel when the last one never closes."""
    pos = max(text.rfind(cmd) for cmd in _BOX_CMDS)
    while pos >= 0:
        cmd = "\\boxed" if text.startswith("\\boxed", pos) else "\\fbox"
        j = pos + len(cmd)
        if j < len(text) and (text[j].isalpha()):  # \boxedsomething: not our command
            pos = max(text.rfind(c, 0, pos) for c in _BOX_CMDS)
            continue
        while j < len(text) and text[j] in " \t":
            j += 1
        if j < len(text) and text[j] == "{":
            got = matched_braces(text, j)
            return _TRUNCATED if got is None else got[0].strip()
        # "\boxed 5" (no braces): the next token
        m = re.match(r"[^\s$]+", text[j:j + 200])
        return m.group(0) if m else _TRUNCATED
    return None


def _phrase_answer(text: str) -> str | None:
    """The span after the last answer phrase, cut at the end of its line or sentence."""
    last = None
    for m in _PHRASE.finditer(text):
        last = m
    if last is None:
        return None
    rest = text[last.end():last.end() + 500]
    line = rest.split("\n", 1)[0].strip()
    if not line:  # "Answer:\n\n42"
        line = rest.strip().split("\n", 1)[0].strip() if rest.strip() else ""
    if not line:
        return None
    span = _MATH_SPAN.match(line)
    if span:
        return next(g for g in span.groups() if g is not None).strip()
    # cut at a sentence end: ". " or a trailing period (not a decimal point)
    line = re.split(r"\.\s|\.$|;\s|,\s(?:so|since|because|which)\b", line, maxsplit=1)[0]
    line = line.strip().strip("*").strip()
    return line or None


def _explicit(region: str):
    boxed = last_boxed(region)
    if boxed is not None:
        return boxed
    return _phrase_answer(region)


def _last_number(region: str) -> str | None:
    tail = region[-4000:]
    last = None
    for m in _NUMBER.finditer(tail):
        last = m
    return last.group(0) if last else None


def extract_answer(response: str, fallback: bool = True, *, kind: str = "math") -> str | None:
    """The isolated final answer of ``response`` (a string span, not yet normalised), or None.

    ``fallback=False`` disables the last-number fallback (strict formats: the answer must be
    boxed or announced). ``kind='code'`` returns the last ```python block; ``kind='choice'``
    returns the option letter when the answer names one, else the answer text.
    """
    if not isinstance(response, str) or not response:
        return None
    if kind == "code":
        blocks = _CODE_BLOCK.findall(response)
        return blocks[-1] if blocks else None
    close = response.rfind("</think>")
    if close < 0 and "<think>" in response:
        return None  # cut off while thinking
    regions = [response[close + len("</think>"):], response[:close]] if close >= 0 else [response]
    answer = None
    for region in regions:
        got = _explicit(region)
        if got is _TRUNCATED:
            return None
        if got:
            answer = got
            break
    if answer is None and fallback:
        answer = _last_number(regions[0]) or (None if len(regions) == 1 else _last_number(regions[1]))
    if answer is None:
        return None
    answer = answer.strip()
    if kind == "choice":
        from redstar.verify.choice import letter_of

        letter = letter_of(answer)
        return letter or answer
    return answer or None
