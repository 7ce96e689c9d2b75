"""lighteval's MATH-Hard metric ``quasi_exact_match_math``, re-implemented.

Both the response and the gold solution go through lighteval's ``math_normalizer`` (the
Hendrycks MATH normaliser) and must then be equal as strings:

- only the last ``\\boxed{...}`` (or ``\\fbox{...}``) of the text counts; an unclosed box, or
  none, reads as the empty string, and an empty prediction is always wrong;
- ``\\boxed x`` (a space, no braces) keeps the rest of the text;
- removed: line breaks, ``\\!``, ``\\left`` / ``\\right``, ``^{\\circ}`` / ``^\\circ``, ``\\$``,
  ``\\%``, and everything from the first ``\\text{ `` (a *space* after the brace: a unit) on;
- ``\\\\`` becomes ``\\`` (so matrix row breaks collapse into ``\\``), ``tfrac`` / ``dfrac``
  become ``frac``, `` .`` / ``{.`` gain a leading 0, a leading ``.`` gains a 0;
- ``k = 5`` (a left side of at most two characters) keeps ``5``;
- ``\\sqrt3`` -> ``\\sqrt{3}``, ``\\frac12`` -> ``\\frac{1}{2}``, ``a/b`` of two integers ->
  ``\\frac{a}{b}``, and exactly ``0.5`` -> ``\\frac{1}{2}``; then all spaces go.

Known quirks, kept: no numeric or symbolic comparison (``0.25`` against ``\\frac14`` is wrong,
``\\frac{5}{10}`` against ``\\frac12`` is wrong), ``\\text{cm}`` without a space is not a unit,
and a `\\dfrac` / `\\frac` mix is equal only after the rename.
"""

from __future__ import annotations

from eval.protocols.hendrycks import fix_fracs, leading_zero_and_short_lhs

NAME = "lighteval"
SOURCE = "lighteval Metrics.quasi_exact_match_math (ExactMatches + math_normalizer)"


def _last_box(text: str) -> str | None:
    """From the last ``\\boxed`` (else ``\\fbox``) to its matching brace, inclusive; None when
    there is none or it never closes."""
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _unbox(box: str | None) -> str:
    if box is None:
        return ""
    if "\\boxed " in box:
        return box[len("\\boxed ") :] if box.startswith("\\boxed ") else ""
    if box.startswith("\\boxed{") and box.endswith("}"):
        return box[len("\\boxed{") : -1]
    return ""  # \fbox{...} is found but not unwrapped: it reads as empty, as in lighteval


def _fix_sqrt(text: str) -> str:
    if "\\sqrt" not in text:
        return text
    parts = text.split("\\sqrt")
    out = parts[0]
    for rest in parts[1:]:
        # an empty tail after \sqrt raises in the original (IndexError); it has no brace to add
        out += "\\sqrt" + (rest if rest[:1] == "{" or not rest else "{" + rest[0] + "}" + rest[1:])
    return out


def _a_slash_b(text: str) -> str:
    parts = text.split("/")
    if len(parts) != 2:
        return text
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return text
    return f"\\frac{{{a}}}{{{b}}}" if text == f"{a}/{b}" else text


def normalize(text: str) -> str:
    """lighteval's ``math_normalizer``: the last box of ``text``, normalised."""
    s = _unbox(_last_box(text))
    for old, new in (
        ("\n", ""),
        ("\\!", ""),
        ("\\\\", "\\"),
        ("tfrac", "frac"),
        ("dfrac", "frac"),
        ("\\left", ""),
        ("\\right", ""),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("\\$", ""),
    ):
        s = s.replace(old, new)
    if "\\text{ " in s:
        s = s.split("\\text{ ")[0].rstrip()
    for old, new in (("\\%", ""), (" .", " 0."), ("{.", "{0.")):
        s = s.replace(old, new)
    s = leading_zero_and_short_lhs(s)
    s = _fix_sqrt(s).replace(" ", "")
    s = fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _a_slash_b(s)


def score(item, response: str, extraction=None) -> tuple[str | None, bool]:
    """``(normalised prediction, correct)``; the gold is the item's answer as the solution's
    last box."""
    if not response or not response.strip():
        return None, False
    pred = normalize(response.strip())
    gold = normalize(f"\\boxed{{{item.answer.strip()}}}")
    return (pred or None), pred == gold
