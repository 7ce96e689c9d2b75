"""The pieces of the Hendrycks MATH answer normaliser (``math_equivalence._strip_string``) that
lighteval's ``math_normalizer`` and Qwen2.5-Math's ``strip_string`` both inherit unchanged."""

from __future__ import annotations


def fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{2}`` -> ``\\frac{1}{2}``; a ``\\frac`` followed
    by fewer than two characters leaves the whole string unchanged (the original's assert)."""
    parts = s.split("\\frac")
    out = parts[0]
    for rest in parts[1:]:
        out += "\\frac"
        if rest[:1] == "{":
            out += rest
        elif len(rest) < 2:
            return s
        elif rest[1] != "{":
            out += "{" + rest[0] + "}{" + rest[1] + "}" + rest[2:]
        else:
            out += "{" + rest[0] + "}" + rest[1:]
    return out


def leading_zero_and_short_lhs(s: str) -> str:
    """``.5`` -> ``0.5``, and ``k = 5`` -> `` 5``: an equation whose left side has at most two
    characters keeps its right side (the original's "get rid of e.g. 'k = '")."""
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    return s
