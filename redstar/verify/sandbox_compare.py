"""Output comparison for code grading, as a judge compares (TACO's semantics without its lax fallbacks).

stdin/stdout tests: the outputs are split into whitespace-separated tokens; token lists must have
the same length and each pair must be equal as strings, or be two ASCII decimal numbers that
agree as follows. When the expected token is an integer (digits, optional sign) the program's
token must be the same integer, exactly (``007`` = ``7``, ``-0`` = ``0``; ``1000000001`` !=
``1000000000``; ``1.267651e+30`` != ``2**100``). When the expected token is a non-integer decimal
(a point or an exponent), the two agree within the item's tolerance ``tol``: ``|got - want| <=
tol * max(1, |want|)`` (absolute or relative error, as contest checkers take it); ``tol`` is the
tests' ``tolerance`` field when given, else ``DEFAULT_TOL`` (1e-6). No nan, inf, underscores,
non-ASCII digits or hexadecimal count as numbers; a decimal that overflows a float is compared as
a string only. Every check is linear in the length of the output (no backtracking pattern).

Call (``fn_name``) tests: the runner encodes the return value with ``encode_value`` (tuples,
sets and dict key types kept; numpy values as Python values); it must equal the expected value
the way TACO's ``==`` compares, or equal its single element (TACO often wraps return values in a
list): a returned tuple counts as a list, as does a returned list of tuples; expected dict keys
that all read as integers are integers (TACO undoes JSON's string keys the same way), so ``{1:
2}`` and ``{"1": 2}`` differ; strings equal; integers exact and ``1 == 1.0`` as in Python; floats
exact; nan never equals anything. Stricter than ``==`` in one place: a bool only equals a bool.
"""

from __future__ import annotations

import json
import math

DEFAULT_TOL = 1e-6


def number_kind(tok: str) -> str | None:
    """'int' or 'dec' when ``tok`` is an ASCII decimal number (sign, digits, point, exponent), else
    None. Built from ``str`` methods that each scan once: linear in the token's length."""
    if not tok.isascii():
        return None
    body = tok[1:] if tok[:1] in ("+", "-") else tok
    exp = None
    for sep in ("e", "E"):
        if sep in body:
            body, _, exp = body.partition(sep)
            break
    if exp is not None:
        digits = exp[1:] if exp[:1] in ("+", "-") else exp
        if not digits.isdigit():
            return None
    whole, dot, frac = body.partition(".")
    if (whole and not whole.isdigit()) or (frac and not frac.isdigit()) or not (whole or frac):
        return None
    return "dec" if dot or exp is not None else "int"


def _int_key(tok: str) -> tuple[bool, str]:
    neg = tok.startswith("-")
    digits = tok.lstrip("+-").lstrip("0") or "0"
    return neg and digits != "0", digits


def token_equal(got: str, want: str, tol: float = DEFAULT_TOL) -> bool:
    """Whether the program's token ``got`` matches the expected token ``want``."""
    if got == want:
        return True
    kw = number_kind(want)
    kg = number_kind(got) if kw else None
    if kw is None or kg is None:
        return False
    if kw == "int":
        return kg == "int" and _int_key(got) == _int_key(want)
    try:
        fg, fw = float(got), float(want)
    except (ValueError, OverflowError):
        return False
    if not (math.isfinite(fg) and math.isfinite(fw)):
        return False
    return abs(fg - fw) <= tol * max(1.0, abs(fw))


def output_matches(got: str, want, tol: float | None = None) -> bool:
    """Whether stdout ``got`` matches the expected output (a string or a list of lines)."""
    want = "\n".join(map(str, want)) if isinstance(want, list) else str(want)
    tol = DEFAULT_TOL if tol is None else tol
    g, w = got.split(), want.split()
    return len(g) == len(w) and all(token_equal(a, b, tol) for a, b in zip(g, w))


def decode_value(x, depth: int = 0):
    """The Python value the runner's ``encode_value`` JSON describes (tuples, sets, dicts with
    their key types, non-finite floats); raises ValueError on anything else."""
    if depth > 600:
        raise ValueError("value nested too deeply")
    if isinstance(x, list):
        return [decode_value(v, depth + 1) for v in x]
    if isinstance(x, dict):
        if len(x) != 1:
            raise ValueError("not an encoded value")
        ((tag, body),) = x.items()
        if tag == "f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag in ("t", "s", "d") and isinstance(body, list):
            items = [decode_value(v, depth + 1) for v in body]
            if tag == "t":
                return tuple(items)
            try:
                if tag == "s":
                    return set(items)
                if all(isinstance(p, list) and len(p) == 2 for p in items):
                    return {k: v for k, v in items}
            except TypeError:
                pass
        raise ValueError("not an encoded value")
    return x


def _same(got, want, depth: int = 0) -> bool:
    """``got == want`` as Python compares plain data, except that a bool only equals a bool."""
    if depth > 600:
        return False
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(want, bool) and isinstance(got, bool) and got is want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return got == want
    if isinstance(want, str) or isinstance(got, str):
        return isinstance(want, str) and isinstance(got, str) and got == want
    if want is None or got is None:
        return got is None and want is None
    if type(got) is not type(want) or not isinstance(want, (list, tuple, dict, set)):
        return False
    if isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(_same(g, w, depth + 1) for g, w in zip(got, want))
    if isinstance(want, set):
        return got == want
    return len(got) == len(want) and all(k in got and _same(got[k], w, depth + 1) for k, w in want.items())


def _int_keys(want):
    """TACO's undoing of JSON's string keys: a dict whose keys all read as integers gets int keys."""
    if isinstance(want, dict):
        try:
            return {int(k): v for k, v in want.items()}
        except (ValueError, TypeError):
            return want
    return want


def value_matches(got_json: str, want) -> bool:
    """Whether the child's encoded return value equals ``want`` (or ``want[0]``) as TACO compares."""
    try:
        got = decode_value(json.loads(got_json))
    except (ValueError, RecursionError):
        return False
    if isinstance(got, tuple):
        got = list(got)
    wants = [_int_keys(want)]
    if isinstance(want, list) and want:
        wants.append(_int_keys(want[0]))
    gots = [got]
    if isinstance(got, list) and got and all(isinstance(g, tuple) for g in got):
        gots.append([list(g) for g in got])
    try:
        return any(_same(g, w) for g in gots for w in wants)
    except RecursionError:
        return False
