"""Is an extracted answer the gold answer? Structure first, numbers exactly, sympy last.

Order of decisions (each is the first that applies):
1. equal normalised strings;
2. both plain numbers: exact rationals (0.5 == 1/2, 10.0001 != 10), with the MATH percent
   convention: gold ``20\\%`` accepts 20, 20% and 0.2; gold 5 accepts neither 0.05 nor 500;
   a percent answer to a gold without one is right when its number is the gold (the MATH
   grader strips ``\\%``, and "what percent" golds are often bare: gold 2 accepts ``2\\%``) or
   when its value is (gold 0.4 accepts ``40\\%``);
3. structure: unions of intervals, ``\\{...\\}`` sets (unordered), bracketed tuples and
   intervals (ordered, endpoint types must match: ``[2,5)`` != ``(2,5)``), matrices (shape and
   entries), bare comma lists and "or"/"and"/``\\pm`` root lists (unordered multisets);
4. equations: ``x=3`` vs ``3``, equal right-hand sides for the same variable, or equivalent
   equations (``y=2x+1`` vs ``2x-y+1=0``) through sympy; a chain of computations with no
   unknown in it (``\\log_5 125 = 3``, ``2^{10} = 1024``) answers with its last plain-number side
   (else its last side in closed form, ``\\sqrt{72} = 6\\sqrt{2}``), and with neither it answers
   nothing (``\\log_2 64 = \\log_2 2^6``); ``100 = 100 * 2 + 1`` answers 100, never the 1;
5. text answers compare case-insensitively;
6. anything else through sympy in a killable helper (``symbolic.py``), bounded by the deadline.

Returns ``(equal, reason)``; the reason names the rule that decided, so a verdict explains
itself.
"""

from __future__ import annotations

import math
import re
import time
from fractions import Fraction

from redstar.verify.normalize import normalize, parse_number, squash_spaces
from redstar.verify.symbolic import symbolic_equal

_OPEN, _CLOSE = "([{", ")]}"
_SIMPLE_VAR = re.compile(r"^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?[\w]+\}?)?(?:\([a-z]\))?$")
_WORDS = re.compile(r"^[A-Za-z][A-Za-z' -]*$")
_MATRIX = re.compile(r"^\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.S)
_LIST_WORDS = re.compile(r"\s*(?:\\text\{\s*(?:or|and)\s*\}|\bor\b|\band\b)\s*")
MAX_ITEMS = 64
# the asked-for combination of answer letters (AIME's m+n, p+q, 100a+b); x, y, z are the
# unknowns themselves, so "x+y=3" is a relation, not a value (gold 3 is not answered by it)
_LETTER_SUM = re.compile(r"^\s*\d*[a-wA-W](?:\s*(?:[-+*]|\\cdot)?\s*\d*[a-wA-W])+\s*$")


class _Deadline(Exception):
    pass


def split_top(s: str, seps: tuple[str, ...] = (",",)) -> list[str]:
    """Split at separators outside all brackets (``\\{`` counts as a bracket)."""
    parts, depth, start, i, n = [], 0, 0, 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in seps:
                if s.startswith(sep, i):
                    parts.append(s[start:i])
                    start = i + len(sep)
                    i = start - 1
                    break
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts]


def _closes_at_end(s: str) -> bool:
    """True when the bracket opening at s[0] is closed by the last character."""
    depth = 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i == len(s) - 1
    return False


def _as_bracketed(s: str) -> tuple[str, list[str], str] | None:
    """``(a, b]`` -> ('(', ['a', 'b'], ']'); ``\\{a, b\\}`` -> ('{', [...], '}')."""
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        return "{", ([] if not inner.strip() else split_top(inner)), "}"
    s = s.replace("\\langle", "(").replace("\\rangle", ")")
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]" and _closes_at_end(s):
        items = split_top(s[1:-1])
        if len(items) >= 2:
            return s[0], items, s[-1]
    return None


def _matrix(s: str) -> list[list[str]] | None:
    m = _MATRIX.match(s.strip())
    if not m:
        return None
    rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
    return [[c.strip() for c in r.split("&")] for r in rows]


def _root_list(s: str) -> list[str]:
    """``1, 2`` / ``1 or 2`` / ``x=1 \\text{ and } x=2`` / ``2\\pm\\sqrt3`` -> items."""
    s = _LIST_WORDS.sub(",", s) if re.search(r"\bor\b|\band\b", s) else s
    items = [p for p in split_top(s, (",", ";")) if p]
    out = []
    for p in items:
        pm = split_top(p, ("\\pm",))
        if len(pm) == 2 and pm[0]:
            out += [f"{pm[0]}+{pm[1]}", f"{pm[0]}-({pm[1]})"]
        elif len(pm) == 2 and pm[1]:  # "\pm 4"
            out += [pm[1], f"-{pm[1]}" if parse_number(pm[1]) else f"-({pm[1]})"]
        else:
            out.append(p)
    return out


def _set_items(items: list[str]) -> list[str]:
    """A set's distinct elements, ``\\pm`` written out: ``\\{1\\pm\\sqrt5, -2\\}`` has three."""
    out: list[str] = []
    for item in items:
        out += _root_list(item) if "\\pm" in item else [item]
    return list(dict.fromkeys(out))


_LONG_DECIMAL = re.compile(r"^[-+]?\d*\.(\d{6,})$")


def _long_decimal_of(p_text: str, vp: Fraction, vg: Fraction) -> bool:
    """math-verify (float rounding to 6 places) and Qwen2.5-Math (rel_tol 1e-4) accept a long
    decimal for a fraction; redstar accepts it only exactly: the answer has 6+ decimal places and
    is the gold rounded half-up or cut at its last place, and the gold has no such finite
    decimal (so 10.000001 is never 10, and 0.333334 is not 1/3)."""
    m = _LONG_DECIMAL.match(p_text.replace(" ", ""))
    if not m:
        return False
    k = len(m.group(1))
    scale = 10**k
    if (vg * scale).denominator == 1:  # the gold is exact at this many places: no rounding to forgive
        return False
    sign = -1 if vg < 0 else 1
    a = abs(vg) * scale
    cut = Fraction(int(a), scale)
    rounded = Fraction(int(a + Fraction(1, 2)), scale)
    return abs(vp) in (cut, rounded) and (vp < 0) == (sign < 0)


def _numbers_equal(p: tuple[Fraction, bool], g: tuple[Fraction, bool]) -> bool:
    (vp, pp), (vg, pg) = p, g
    if vp == vg:
        return True
    if pg:  # gold "20%": 0.2 is the same answer written as a fraction
        return not pp and vp == vg / 100
    if pp:  # answer "20%" for gold 0.2
        return vp / 100 == vg
    return False


def _multiset_equal(ps: list[str], gs: list[str], deadline: float) -> bool:
    if len(ps) != len(gs) or len(gs) > MAX_ITEMS:
        return False
    left = list(gs)
    for p in ps:
        for k, g in enumerate(left):
            if _compare(p, g, deadline)[0]:
                del left[k]
                break
        else:
            return False
    return True


def _equation(s: str) -> tuple[str, str] | None:
    parts = split_top(s, ("=",))
    return (parts[0], parts[1]) if len(parts) == 2 and parts[0] and parts[1] else None


_COMMAND = re.compile(r"\\[a-zA-Z]+")
# a value in closed form: digits, radicals, fractions and pi (6\sqrt{2}, \frac{\sqrt3}{2}), no powers or functions
_CLOSED_FORM = re.compile(r"(?:[-+\d.\s{}()/*]|\\sqrt|\\frac|\\pi|\\cdot)+")


def _has_unknown(side: str) -> bool:
    """Whether a side of an equation names an unknown (a letter outside LaTeX commands; ``e``
    and ``i`` are constants)."""
    return re.search(r"[a-df-hj-zA-Z]", _COMMAND.sub("", side)) is not None


_TOWER = re.compile(r"\s*(\d+)\s*\^\s*(?:\{(.*)\}|(\d+))\s*", re.S)


def tower_log10(s: str, depth: int = 0) -> float | None:
    """log10 of a pure integer power tower like ``9^{9^{9^9}}`` (inf when astronomically large),
    computed from logarithms so it costs nothing; None for anything else."""
    m = _TOWER.fullmatch(s)
    if m is None or depth > 20:
        return None
    base = int(m.group(1)[:50])
    if base < 2:
        return None
    inner = m.group(2) if m.group(2) is not None else m.group(3)
    if inner.strip().isdigit():
        exp_log = math.log10(max(int(inner.strip()[:400]), 1))
    else:
        exp_log = tower_log10(inner, depth + 1)
        if exp_log is None:
            return None
    if exp_log > 300:
        return math.inf
    return 10**exp_log * math.log10(base)


def _compare(p: str, g: str, deadline: float) -> tuple[bool, str]:
    if time.monotonic() > deadline:
        raise _Deadline
    if p == g:
        return True, "exact match"
    if squash_spaces(p) == squash_spaces(g):  # "2 x" is "2x", but "2 1" is not "21"
        return True, "exact match"
    np_, ng = parse_number(p), parse_number(g)
    if np_ is not None and ng is not None:
        if _numbers_equal(np_, ng):
            return True, "numeric match"
        if not np_[1] and not ng[1] and _long_decimal_of(p, np_[0], ng[0]):
            return True, "numeric match (long decimal of the fraction)"
        return False, "numbers differ"
    if ng is not None and np_ is None:
        # Minerva's normalize_final_answer keeps the text after the last '=': AIME's
        # "m+n = 204" for gold 204. Only for a plain-number gold, a plain-number right side and a
        # left side of two or more letters other than x, y, z combined by + - * (never
        # x^2 = 4, which answers x = 2, nor x+y=3); one letter is the equation rule below
        sides = split_top(p, ("=",))
        if len(sides) == 2 and _LETTER_SUM.match(sides[0]) and parse_number(sides[1]) is not None:
            ok, _ = _compare(sides[1], g, deadline)
            return ok, "equation's value match" if ok else "numbers differ"

    # structure: unions, sets, tuples / intervals, matrices, root lists
    gu, pu = split_top(g, ("\\cup",)), split_top(p, ("\\cup",))
    if len(gu) > 1 or len(pu) > 1:
        ok = _multiset_equal(pu, gu, deadline)
        return ok, "union match" if ok else "unions differ"
    gm, pm = _matrix(g), _matrix(p)
    if gm is not None or pm is not None:
        if gm is None or pm is None or [len(r) for r in gm] != [len(r) for r in pm]:
            return False, "matrix shapes differ"
        ok = all(_compare(a, b, deadline)[0] for ra, rb in zip(pm, gm) for a, b in zip(ra, rb))
        return ok, "matrix match" if ok else "matrix entries differ"
    gb, pb = _as_bracketed(g), _as_bracketed(p)
    if gb is not None and gb[0] == "{":
        if pb is None or pb[0] != "{":
            pl = _root_list(p)
            ok = _multiset_equal(sorted(set(pl)), sorted(set(gb[1])), deadline)
            return ok, "set match" if ok else "sets differ"
        ok = _multiset_equal(_set_items(pb[1]), _set_items(gb[1]), deadline)
        return ok, "set match" if ok else "sets differ"
    if pb is not None and pb[0] == "{" and gb is None:  # a set for a bare list of answers
        ok = _multiset_equal(_set_items(pb[1]), list(dict.fromkeys(_root_list(g))), deadline)
        return ok, "set match" if ok else "sets differ"
    if gb is not None or pb is not None:
        if gb is None or pb is None or pb[0] != gb[0] or pb[2] != gb[2] or len(pb[1]) != len(gb[1]):
            return False, "tuple / interval form differs"
        ok = all(_compare(a, b, deadline)[0] for a, b in zip(pb[1], gb[1]))
        return ok, "ordered match" if ok else "ordered items differ"
    gl, pl = _root_list(g), _root_list(p)
    if len(gl) > 1 or len(pl) > 1:
        if len(gl) == 1 and _equation(gl[0]) is None and len(pl) > 1 and all(_equation(x) for x in pl):
            pass  # "x=1, y=2" style answers are handled as equations below
        else:
            ok = _multiset_equal(pl, gl, deadline)
            return ok, "list match" if ok else "lists differ"

    # equations
    ge, pe = _equation(g), _equation(p)
    if pe and not ge and _SIMPLE_VAR.match(pe[0]):
        ok, why = _compare(pe[1], g, deadline)
        return ok, why
    if ge and not pe and _SIMPLE_VAR.match(ge[0]):
        return _compare(p, ge[1], deadline)
    if ge and pe and _SIMPLE_VAR.match(ge[0]) and pe[0] == ge[0] and _SIMPLE_VAR.match(pe[0]):
        return _compare(pe[1], ge[1], deadline)
    if bool(ge) != bool(pe):
        return False, "equation vs expression"

    # text answers
    gt, pt = _WORDS.match(g), _WORDS.match(p)
    if gt and pt and (" " in g or len(g) > 3 or " " in p or len(p) > 3):
        ok = g.casefold().strip() == p.casefold().strip()
        return ok, "text match" if ok else "text differs"

    # a power tower against a plain number: compare sizes instead of asking sympy to expand it
    for a, b in ((p, g), (g, p)):
        size = tower_log10(a)
        nb = parse_number(b)
        if size is not None and size > 1000 and nb is not None:
            return False, "numbers differ (magnitude)"
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline
    res = symbolic_equal(p, g, timeout=left)
    if res is None:
        raise _Deadline
    return (True, "symbolic match") if res else (False, "symbolically different")


def _stated_value(p: str, g: str, restated: frozenset[str]) -> tuple[str | None, str]:
    """The answer a response states, with the question's own expressions taken out.

    An answer that is an expression of the question (``\\log_2 64`` for "Evaluate $\\log_2 64$")
    answers nothing unless it is the gold's own literal form. A chain with no unknown
    (``\\log_5 125 = 3``) answers with its last plain-number side, else its last side in closed
    form; with neither it answers nothing."""
    g_key = squash_spaces(g)

    g_num = parse_number(g)

    def echo(x: str) -> bool:
        k = squash_spaces(x)
        if k not in restated or k == g_key:
            return False
        # "27" for AMC's gold "27.0" is the gold, not a number taken from the question
        x_num = parse_number(k)
        return not (x_num and g_num and x_num == g_num and re.fullmatch(r"-?\d+", k))

    if echo(p):
        return None, "restates the question"
    chain = split_top(p, ("=",))
    if len(chain) == 2 and all(chain) and _equation(g) is None and any(map(_has_unknown, chain)):
        # "f(4) = 14" for "find $f(4)$": the side the question asked about, then its value
        asked = [k for k, side in enumerate(chain) if squash_spaces(side) in restated]
        if len(asked) == 1 and not echo(chain[1 - asked[0]]):
            return chain[1 - asked[0]], ""
    if len(chain) > 2 or (len(chain) == 2 and _equation(g) is None and not _SIMPLE_VAR.match(chain[0])):
        if all(chain) and not any(_has_unknown(side) for side in chain):
            sides = [side for side in chain if not echo(side)]
            values = [x for x in sides if parse_number(x) is not None] or [
                x for x in sides if _CLOSED_FORM.fullmatch(x)
            ]
            if not values:
                return None, "an unevaluated computation, no value stated"
            return values[-1], ""
    return p, ""


def math_equal(
    pred: str | None, gold: str | None, timeout: float = 5.0, *, restated: frozenset[str] = frozenset()
) -> tuple[bool, str]:
    """(equal, reason) for an extracted answer against a gold answer; never raises.

    ``restated``: the question's own expressions, normalised (``redstar.verify.question``); an
    answer that only gives one back is not an answer."""
    if pred is None or not str(pred).strip():
        return False, "no answer extracted"
    if gold is None or not str(gold).strip():
        return False, "empty gold answer"
    try:
        p, g = normalize(pred), normalize(gold)
    except Exception as e:  # noqa: BLE001 - model output can be anything
        return False, f"normalisation failed: {type(e).__name__}"
    if not p:
        return False, "empty answer after normalisation"
    p, why = _stated_value(p, g, restated)
    if p is None:
        return False, why
    # keep a small margin so normalising, IPC and the caller's bookkeeping stay inside the bound
    deadline = time.monotonic() + timeout - min(0.1, 0.05 * timeout)
    try:
        return _compare(p, g, deadline)
    except _Deadline:
        return False, f"timeout after {timeout:g}s"
    except RecursionError:
        return False, "answer too deeply nested"
