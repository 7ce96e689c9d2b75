"""Final-answer isolation: which span of a (possibly 200k-character) response is *the* answer.

Long chain-of-thought responses box intermediate results, change their mind and restate the
question; graders that collect every ``\\boxed{}`` into a set, or read the first one, grade the
wrong thing. The rules here, in order:

1. A response that opens ``<think>`` and never closes it was cut off while thinking: no answer.
2. Text after the last ``</think>`` wins over text inside the thinking.
3. Within a region, the last ``\\boxed{}`` / ``\\fbox{}`` wins (nested braces are matched; an
   unclosed last box means the response was truncated inside its answer: no answer).
4. Without a box, the last "final answer is ...", "the answer is ...", "Answer: ..." phrase
   (also GeoQA's Chinese "故选", "答案是"). A "final answer is" phrase *after* the last box wins
   over it (Minerva's "The final answer is $X$. I hope it is correct." after a boxed partial
   result). Quotes, markdown bold and filler words ("definitely", "approximately") around the
   span are dropped.
5. Without either, an answer stated in prose on the region's last line: "The value of x is 60.",
   "the length of AB is 3.0", "The probability is $\\frac{1}{2}$.", a last line that is one
   math span ("Therefore, $x = 8$."), a response that is only a short answer (``6``,
   ``x = 6``, ``6\\sqrt{2}``, ``(-3, 3)``). This counts as a stated answer (it works with the
   fallback off). A hedged line ("maybe 6?", "it might be 6") states nothing.
6. Fallback (off unless asked for; official protocols reproduce scorers that use it): the last
   number of the final region, and only a number that stands alone: never one inside an
   equation or inequality, an exponent, a subscript, a step label (``Step 6:``), a list still
   being written (``1, 2, 6,``) or a sentence that was cut off.

Every step is a reverse scan or one linear regex pass, so a 200k-character response costs
milliseconds and no input can make it backtrack.
"""

from __future__ import annotations

import re

from redstar.choices import letter_of

_BOX_CMDS = ("\\boxed", "\\fbox")
_TRUNCATED = object()  # sentinel: the last box never closes
# GSM8K's "#### 72": a line holding only the marker and a number-like answer (not a heading)
_GSM8K = r"^####[ \t]*(?=[-+$\\\d.][^\n]{0,40}$)"
_PHRASE = re.compile(
    r"(?:(?:final\s+answer|the\s+answer|correct\s+answer|answer)\**\s*(?:is|:|：|=)\s*:?\s*\**\s*"
    r"|故选\s*[:：]?\s*|答案(?:是|为)?\s*[:：]?\s*|" + _GSM8K + ")",
    re.I | re.M,
)
# strong markers that override an earlier box: "final answer is", or a line opening "Answer:"
_FINAL_PHRASE = re.compile(r"final\s+answer\**\s*(?:is|:|：)|^[ \t#*]*answer\**\s*[:：]|" + _GSM8K, re.I | re.M)
_FILLER = re.compile(
    r"^(?:(?:definitely|clearly|certainly|probably|approximately|about|roughly|exactly|simply|"
    r"indeed|therefore|thus|option|choice)\b[\s:]*)+",
    re.I,
)
# prose: "... is 60.", "... is approximately 14.1440", "... equals $\\frac12$." on the last line;
# "is therefore 2271380.", 'is "0.16800"', "is (-3, 3)", "There are 7 objects left.", "has 6 sides"
_NOT_UNIT = r"(?!(?:or|and|to|of|if|but|so|not|than|more|less|times)\b)"
_PROSE = re.compile(
    r"\b(?:is|are|equals|=|be|has|have)\s+(?:(?:approximately|about|roughly|exactly|therefore|thus|then|"
    r"equal\s+to)\s+)?[\"\u201c]?(\$[^$]+\$|\\\(.+?\\\)|[\(\[]\s*-?[\w.\\]+\s*,\s*-?[\w.\\]+\s*[\)\]]|"
    r"all\s+real\s+numbers|-?\d[\d,]*(?:\.\d+)?(?:\s*" + _NOT_UNIT + r"[a-zA-Z°%]+){0,2})[\"\u201d]?"
    r"(?=\s*(?:[.!;]|,(?!\s*[-\d$(\\])|$))"
)  # the sentence ends there: never "is 12 or 13", nor "are 1, 2, 6" (a list)
_HEDGE = re.compile(
    r"\b(?:maybe|might|perhaps|possibly|probably|not\s+sure|unsure|could\s+be|guess|or\s+maybe)\b|\?\s*$", re.I
)
# a whole response that is only a short answer: "6", "x = 6", "6\\sqrt{2}", "(-3, 3)", "$\\frac12$"
_BARE = re.compile(r"^[$]?[^\sA-Za-z$][^$\n]{0,58}[$]?$|^[$]?[A-Za-z]\s*=\s*[^$\n]{1,50}[$]?$")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_LAST_LINE_SPAN = re.compile(r"^[^$]{0,40}?(\$[^$]+\$|\\\(.+?\\\))[\s.]*$")
_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d*\.?\d+(?:/\d+)?")
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|\$((?:\\.|[^$\\])+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
# a ```python / ```py / ``` fence line, then the body up to the next ```. The header has one way to
# match (spaces, then optionally a name and spaces): the old [ \t]*(name)?[ \t]* split a run of tabs
# between its two classes in every way and took quadratic time on a fence followed by many tabs.
_CODE_BLOCK = re.compile(r"```[ \t]*(?:(?:python3?|py)[ \t]*)?\n(.*?)```", re.S | re.I)


def code_blocks(text: str) -> list[str]:
    """The bodies of the ```python / ```py / ``` blocks in ``text``, in order; linear in its length
    (at most one fence is left unclosed, so the lazy body scans each character once or twice)."""
    return _CODE_BLOCK.findall(text)


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
                return text[start + 1 : i], i + 1
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
        m = re.match(r"[^\s$]+", text[j : j + 200])
        return m.group(0) if m else _TRUNCATED
    return None


def _phrase_answer(text: str, after: int = 0, pattern=_PHRASE) -> str | None:
    """The span after the last answer phrase (starting at or after ``after``), cut at the end of
    its line or sentence."""
    last = None
    for m in pattern.finditer(text, after):
        last = m
    if last is None:
        return None
    if pattern is not _PHRASE:  # a "final answer is" after a box: read it as a full phrase
        return _phrase_answer(text, last.start())
    rest = text[last.end() : last.end() + 500]
    line = rest.split("\n", 1)[0].strip()
    if not line:  # "Answer:\n\n42"
        line = rest.strip().split("\n", 1)[0].strip() if rest.strip() else ""
    if not line:
        return None
    line = _FILLER.sub("", line.replace("**", "").strip())
    span = _MATH_SPAN.match(line)
    if span:
        return next(g for g in span.groups() if g is not None).strip()
    # cut at a sentence end: ". " or a trailing period (not a decimal point)
    line = re.split(r"\.\s|\.$|;\s|,\s(?:so|since|because|which)\b", line, maxsplit=1)[0]
    return _unquote(line) or None


_QUOTES = (('"', '"'), ("\u201c", "\u201d"), ("'", "'"), ("\u300c", "\u300d"))
_MARKS = re.compile("[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f" r"\s]+$")


def _unquote(span: str) -> str:
    """Drop bold marks, quotes (Minerva removes '"') and trailing check marks around a span."""
    span = _MARKS.sub("", span.strip().strip("*").strip())
    for a, b in _QUOTES:
        if len(span) > 2 and span.startswith(a) and span.endswith(b):
            span = span[1:-1].strip()
    return span


def _prose_answer(region: str) -> str | None:
    """An answer stated in prose on the last non-empty line (see rule 5)."""
    tail = region[-1500:].rstrip()
    line = tail.rsplit("\n", 1)[-1].strip().replace("**", "")[-300:]  # the stated answer ends the line
    if not line or _HEDGE.search(line):
        return None
    if "\n" not in region.strip() and _BARE.match(line) and not _WORD.search(re.sub(r"\\[a-zA-Z]+", "", line)):
        return line.strip("$").strip()  # the whole response is the answer
    m = _LAST_LINE_SPAN.match(line)
    if m:
        return m.group(1)[1:-1].strip() if m.group(1).startswith("$") else m.group(1)[2:-2].strip()
    last = None
    for match in _PROSE.finditer(line):
        last = match
    if last is None:
        return None
    span = last.group(1)
    if span.startswith("$"):
        return span[1:-1].strip()
    if span.startswith("\\("):
        return span[2:-2].strip()
    return span.rstrip(".,;").strip()


def _explicit(region: str):
    boxed = last_boxed(region)
    if boxed is not None:
        if boxed is not _TRUNCATED:
            # Minerva style: "The final answer is $X$." after a boxed partial result
            box_at = max(region.rfind(cmd) for cmd in _BOX_CMDS)
            later = _phrase_answer(region, box_at, _FINAL_PHRASE)
            if later and "\\boxed" not in later and (re.search(r"[\d\\]", later) or len(later) <= 3):
                return later
        return boxed
    return _phrase_answer(region) or _prose_answer(region)


# what makes the last number no answer: inside an exponent, subscript or step label, or part of an
# equation / inequality on its line
_BEFORE_NO = re.compile(r"(?:[\^_]\{?|\bstep\s*|[=<>]\s*[^\n]*|\\(?:le|ge|leq|geq|ne|neq)\b[^\n]*)$", re.I)
_AFTER_NO = re.compile(r"^(?:\}|\s*[=<>:^_]|[^\n]*[=<>])")
_ENDS_SENTENCE = re.compile(r"(?:[.!)\]}$]|\d|\\\]|\\\))\s*$")


def _last_number(region: str) -> str | None:
    """The last number of the region when it stands alone as the region's last statement (rule 6):
    not in an equation, an inequality, an exponent, a subscript or a step label; not followed by a
    comma (a list still being written); not negated or hedged on its line; and the region ends a
    sentence (not cut off)."""
    tail = region[-4000:].rstrip()
    if not tail or not _ENDS_SENTENCE.search(tail):
        return None  # cut off mid-sentence or mid-list
    last = None
    for m in _NUMBER.finditer(tail):
        last = m
    if last is None:
        return None
    line_start = tail.rfind("\n", 0, last.start()) + 1
    before, after = tail[line_start : last.start()], tail[last.end() :]
    if _BEFORE_NO.search(before) or _AFTER_NO.match(after) or after.lstrip().startswith(","):
        return None
    rest = after.split("\n", 1)[0]
    if len(re.findall(r"[A-Za-z]+", rest)) > 4:  # the sentence goes on past it
        return None
    if _HEDGE.search(before + rest) or re.search(r"\bnot\b|n't\b|\bnever\b", before + rest, re.I):
        return None  # "6 is not the answer", "maybe 6?"
    return last.group(0)


def extract_answer(response: str, fallback: bool = False, *, kind: str = "math") -> str | None:
    """The isolated final answer of ``response`` (a string span, not yet normalised), or None.

    The answer must be stated (boxed, announced, in prose, or the whole response); ``fallback=True``
    adds the guarded last-number fallback of rule 6 (official protocols only).
    ``kind='code'`` returns the last ```python block; ``kind='choice'``
    returns the option letter when the answer names one, else the answer text.
    """
    if not isinstance(response, str) or not response:
        return None
    if kind == "code":
        blocks = code_blocks(response)
        return blocks[-1] if blocks else None
    close = response.rfind("</think>")
    if close < 0 and "<think>" in response:
        return None  # cut off while thinking
    regions = [response[close + len("</think>") :], response[:close]] if close >= 0 else [response]
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
        letter = letter_of(answer)
        return letter or answer
    return answer or None
