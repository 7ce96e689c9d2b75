"""Strict output comparison for code grading (TACO semantics, without its lax fallbacks).

stdin/stdout tests: the outputs are split into whitespace-separated tokens; token lists must have
the same length and each pair must be equal as strings, or be two ASCII decimal numbers of which
at least one is not an integer and which agree within ``REL_TOL``/``ABS_TOL``. Two integers
must be exactly equal (``007`` = ``7``, ``-0`` = ``0``; ``1000000001`` != ``1000000000``). No
nan, inf, underscores, non-ASCII digits or hexadecimal count as numbers; a number that
overflows a float is compared as a string only.

Call (``fn_name``) tests: the value the child serialised as JSON must equal the expected value
(or its single element, as TACO often wraps return values in a list): same structure, strings
equal, bools only equal bools, integers exact, floats exact (TACO compares return values with
``==``); nan never equals anything.
"""

from __future__ import annotations

import json
import math
import re

REL_TOL = 1e-6
ABS_TOL = 1e-6
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _int_key(tok: str) -> tuple[bool, str]:
    neg = tok.startswith("-")
    digits = tok.lstrip("+-").lstrip("0") or "0"
    return neg and digits != "0", digits


def token_equal(a: str, b: str) -> bool:
    if a == b:
        return True
    if not (_NUMBER.fullmatch(a) and _NUMBER.fullmatch(b)):
        return False
    if _INTEGER.fullmatch(a) and _INTEGER.fullmatch(b):
        return _int_key(a) == _int_key(b)
    fa, fb = float(a), float(b)
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return False
    return math.isclose(fa, fb, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def output_matches(got: str, want) -> bool:
    """Whether stdout ``got`` matches the expected output (a string or a list of lines)."""
    want = "\n".join(map(str, want)) if isinstance(want, list) else str(want)
    g, w = got.split(), want.split()
    return len(g) == len(w) and all(token_equal(a, b) for a, b in zip(g, w))


def _same(got, want) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(want, bool) and isinstance(got, bool) and got is want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        if isinstance(want, float) and math.isnan(want) or isinstance(got, float) and math.isnan(got):
            return False
        return got == want
    if isinstance(want, str) or isinstance(got, str):
        return isinstance(want, str) and isinstance(got, str) and got == want
    if want is None or got is None:
        return got is None and want is None
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want))
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k]) for k in want)
    return False


def value_matches(got_json: str, want) -> bool:
    """Whether the child's JSON-serialised return value equals ``want`` (or ``want[0]``)."""
    try:
        got = json.loads(got_json)
    except (ValueError, RecursionError):
        return False
    try:
        return _same(got, want) or (isinstance(want, list) and len(want) == 1 and _same(got, want[0]))
    except RecursionError:
        return False
