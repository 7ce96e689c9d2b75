"""Qwen2.5-Math's evaluator (QwenLM/Qwen2.5-Math ``evaluation/parser.py`` and ``grader.py``),
re-implemented for MATH, AIME and GSM8K.

Extraction (``extract``): the text after the last ``boxed`` (its balanced braces, or up to the
next ``$`` when no brace follows); else what follows the last "he answer is" / "final answer
is"; else the last number in the response with commas removed (the last-number fallback, on
by default in the original). Then leading ':' and trailing '.' / '/' go, and ``strip_string``
runs twice (once in extraction, once after it, as the original pipeline does).

``strip_string`` drops units (a fixed word list, matched between non-word characters, twice),
``\\text{...}`` at the end, degrees, dollars, percent signs, ``x=`` prefixes, ``\\left`` /
``\\right``, spaces; rewrites ``tfrac``/``dfrac``, ``\\sqrt3``, ``\\frac12``, ``a/b``; turns
number words into digits (``"twenty one"`` -> ``21``, and a whole-digit string loses its
leading zeros: ``025`` -> ``25``); drops a zero-only decimal part (``3.00`` -> ``3``; ``2.50``
stays).

``math_equal(pred, gold)``: case-insensitive string equality; a choice letter; numbers equal
within a relative 1e-4, also against gold/100 and gold*100 (percent); brackets stripped;
element-wise tuples and matrices; ``x = 2`` against ``2`` when the left side has at most two
characters; equations as ``lhs - rhs``; then a symbolic check through sympy.

Known quirks, kept: the last-number fallback grades a truncated response on whatever number it
stopped at; the unit list removes single letters such as ``t``, ``a``, ``h``, ``s``, ``m``
between non-word characters; "and" is deleted anywhere; a relative tolerance of 1e-4 accepts
``3.1416`` for ``\\pi`` but also 10000 for 10001; the percent rule accepts 0.5 for gold 50.
Deviation: LaTeX is parsed with ``latex2sympy2_extended`` (the original tries sympy's ANTLR
parser, ``parse_expr``, then ``latex2sympy2``); results differ only on inputs one parser
reads and the other does not.
"""

from __future__ import annotations

import functools
import math
import re

from eval.protocols.hendrycks import fix_fracs, leading_zero_and_short_lhs

NAME = "qwen2.5-math"
SOURCE = "Qwen2.5-Math evaluation/parser.py (extract_answer, strip_string) + grader.py (math_equal)"

# MathQA units (parser.py unit_texts), each also with an 's' appended
_UNITS = """east|degree|mph|kmph|ft|m sqaure| m east|sq m|deg|mile|q .|monkey|prime|ratio|profit of rs|rd|o|gm|
p . m|lb|tile|per|dm|lt|gain|ab|way|west|a .|b .|c .|d .|e .|f .|g .|h .|t|a|h|no change|men|soldier|pie|bc|
excess|st|inches|noon|percent|by|gal|kmh|c|acre|rise|a . m|th|π r 2|sq|mark|l|toy|coin|sq . m|gallon|° f|profit|
minw|yr|women|feet|am|pm|hr|cu cm|square|v â € ™|are|rupee|rounds|cubic|cc|mtr|s|ohm|number|kmph|day|hour|minute|
min|second|man|woman|sec|cube|mt|sq inch|mp|∏ cm ³|hectare|more|sec|unit|cu . m|cm 2|rs .|rs|kg|g|month|km|m|cm|
mm|apple|liter|loss|yard|pure|year|increase|decrease|d|less|Surface|litre|pi sq m|s .|metre|meter|inch"""
UNITS = [u for u in _UNITS.replace("\n", "").split("|")]
UNITS += [u + "s" for u in UNITS]
_UNIT_RES = [re.compile(r"(^|\W)" + u + r"($|\W)") for u in UNITS]  # the units are regex text, as in the original

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SMALL = {w: i for i, w in enumerate(_ONES)}
_SMALL.update({w: 10 * (i + 2) for i, w in enumerate(_TENS)})
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}


def word_number(text: str) -> str:
    """word2number's ``word_to_num`` as the original calls it: a digit string becomes its int
    (leading zeros go), any number words become their value, else the text is unchanged."""
    s = text.replace("-", " ").lower()
    if s.isdigit():
        try:
            return str(int(s))
        except ValueError:  # past Python 3.11's 4,300-digit int() limit, which the original never met
            return s.lstrip("0") or "0"
    words = [w for w in s.strip().split() if w in _SMALL or w in _SCALES or w == "point"]
    if not words or words.count("point") > 1 or words[0] == "point":
        return text
    if "point" in words:
        k = words.index("point")
        whole, frac = words[:k], words[k + 1 :]
        if not frac or any(w not in _SMALL or _SMALL[w] > 9 for w in frac):
            return text
        return str(float(f"{_whole(whole) if whole else 0}." + "".join(str(_SMALL[w]) for w in frac)))
    return str(_whole(words))


def _whole(words: list[str]) -> int:
    total, group = 0, 0
    for w in words:
        if w in _SMALL:
            group += _SMALL[w]
        elif w == "hundred":
            group = max(group, 1) * 100
        else:
            total += max(group, 1) * _SCALES[w]
            group = 0
    return total + group


def _fix_a_slash_b(s: str) -> str:
    parts = s.split("/")
    if len(parts) != 2:
        return s
    a, b = parts
    try:
        a = a if "sqrt" in a else int(a)
        b = b if "sqrt" in b else int(b)
    except ValueError:
        return s
    return f"\\frac{{{a}}}{{{b}}}" if s == f"{a}/{b}" else s


def strip_string(s, skip_unit: bool = False) -> str:
    s = str(s).strip().replace("\n", "").rstrip(".").replace("\\!", "")
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", s).replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "").replace("\\{", "{").replace("\\}", "}")
    t = re.sub(r"\\text{.*?}$", "", s).strip()
    if t != "" and t != s:
        s = t
    if not skip_unit:
        for _ in range(2):
            for rx in _UNIT_RES:
                t = rx.sub(r"\1\2", s)
                if t != "":
                    s = t
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "").replace("\\(", "").replace("\\)", "")
    s = word_number(s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    for key in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        s = s.replace(key, "")
    s = s.replace("\\emptyset", "{}").replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if s.isalnum() and ((s[:1], s[-1:]) in (("{", "}"), ("(", ")"), ("[", "]"))):
        s = s[1:-1]  # never true for an alphanumeric string; the original has the same test
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty").replace("and", "").replace("\\mathbf", "")
    s = re.sub(r"\\mbox{.*?}", "", s)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    s = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", s)
    s = re.sub(r"(\d+)\.0*$", r"\1", s)
    s = leading_zero_and_short_lhs(s)
    s = re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", s).replace(" ", "")
    return _fix_a_slash_b(fix_fracs(s))


def _after_box(text: str) -> str:
    tail = text.split("boxed")[-1]
    if not tail:
        return ""
    if tail[0] != "{":
        return tail.split("$")[0].strip()
    depth, out = 1, []
    for c in tail[1:]:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        out.append(c)
    return "".join(out)


def extract(response: str, use_last_number: bool = True) -> str:
    """The prediction Qwen2.5-Math's pipeline grades (after both strip_string passes)."""
    text = response.replace("\u043a\u0438", "")
    if "final answer is $" in text and "$. I hope" in text:
        pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "boxed" in text:
        pred = _after_box(text)
        if not text.split("boxed")[-1]:
            return ""
    elif "he answer is" in text:
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:
        pred = text.split("final answer is")[-1].strip()
    elif "答案是" in text:
        pred = text.split("答案是")[1].strip().split("\n\n")[0].strip()
    elif use_last_number:
        nums = re.findall(r"-?\d*\.?\d+", text.replace(",", ""))
        pred = nums[-1] if nums else ""
    else:
        pred = ""
    pred = re.sub(r"\n\s*", "", pred)
    if pred[:1] == ":":
        pred = pred[1:]
    if pred[-1:] == ".":
        pred = pred[:-1]
    if pred[-1:] == "/":
        pred = pred[:-1]
    return strip_string(strip_string(pred))


def gold_answer(item, benchmark: str) -> str:
    """The gold as the original reads it: MATH from the solution's last box, others through
    strip_string."""
    if benchmark in ("math-hard", "math500"):
        return extract(f"\\boxed{{{item.answer}}}")
    return strip_string(item.answer)


# ------------------------------------------------------------------------------ math_equal


def _choice_clean(pred: str) -> str:
    pred = pred.strip("\n").rstrip(".").rstrip("/").strip(" ").lstrip(":")
    found = re.findall(r"\b(A|B|C|D|E)\b", pred.upper())
    pred = found[-1] if found else pred.strip().strip(".")
    return pred.rstrip(".").rstrip("/")


def _digits(s) -> float | None:
    s = str(s).replace(",", "")
    try:
        return float(s)
    except ValueError:
        if s.endswith("%"):
            s = s[:-1].removesuffix("\\")
            try:
                return float(s) / 100
            except ValueError:
                pass
    return None


def _close(a: float, b: float) -> bool:
    return math.isclose(b, a, rel_tol=1e-4)


def _str_to_pmatrix(s: str) -> str:
    rows = re.findall(r"\{.*,.*\}", s.strip())
    return ", ".join("\\begin{pmatrix}" + m.strip("{}").replace(",", "\\") + "\\end{pmatrix}" for m in rows)


def _parse(s: str):
    from sympy.parsing.sympy_parser import parse_expr

    for f in (_latex, parse_expr):
        for text in (s.replace("\\\\", "\\"), s):
            try:
                return f(text)
            except Exception:  # noqa: BLE001, S110 - any parser error: try the next reading
                pass
    return s


def _latex(s: str):
    from latex2sympy2_extended import latex2sympy

    return latex2sympy(s)


def symbolic_equal(a: str, b: str) -> bool:
    from sympy import N, simplify

    x, y = _parse(a), _parse(b)
    checks = (
        lambda: str(x) == str(y) or x == y,
        lambda: x.equals(y) or simplify(x - y) == 0,
        lambda: (abs(x.lhs - x.rhs)).equals(abs(y.lhs - y.rhs)),
        lambda: _close(float(N(x)), float(N(y))),
        lambda: x.shape == y.shape and x.applyfunc(lambda v: round(v, 3)).equals(y.applyfunc(lambda v: round(v, 3))),
    )
    for check in checks:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001, S110 - sympy raises many types on what it cannot compare
            pass
    return False


_MATRIX_HEADS = ("\\begin{pmatrix}", "\\begin{bmatrix}")
_MATRIX_TAILS = ("\\end{pmatrix}", "\\end{bmatrix}")


def math_equal(pred, ref, include_percentage: bool = True) -> bool:
    if pred is None or ref is None:
        return False
    if str(pred.strip().lower()) == str(ref.strip().lower()):
        return True
    if ref in ("A", "B", "C", "D", "E") and _choice_clean(pred) == ref:
        return True
    p, r = _digits(pred), _digits(ref)
    if p is not None and r is not None:
        golds = [r / 100, r, r * 100] if include_percentage else [r]
        return any(_close(p, g) for g in golds)
    if not pred:
        return False
    ref, pred = str(ref).strip(), str(pred).strip()
    if "pmatrix" in pred and "pmatrix" not in ref:
        ref = _str_to_pmatrix(ref)
    ps, rs = pred, ref
    if (pred.startswith("[") and pred.endswith("]") and not ref.startswith("(")) or (
        pred.startswith("(") and pred.endswith(")") and not ref.startswith("[")
    ):
        ps, rs = ps.strip("[]()"), rs.strip("[]()")
    for ch in "{}()":
        ps, rs = ps.replace(ch, ""), rs.replace(ch, "")
    if ps.lower() == rs.lower():
        return True
    if re.match(r"(\(|\[).+(\)|\])", pred) and re.match(r"(\(|\[).+(\)|\])", ref):
        pp, rp = pred[1:-1].split(","), ref[1:-1].split(",")
        if len(pp) == len(rp) and all(math_equal(a, b, include_percentage) for a, b in zip(pp, rp)):
            return True
    if (
        pred.startswith(_MATRIX_HEADS)
        and pred.endswith(_MATRIX_TAILS)
        and ref.startswith(_MATRIX_HEADS)
        and ref.endswith(_MATRIX_TAILS)
    ):

        def rows(m):
            return [
                ln.strip() for ln in m[len("\\begin{pmatrix}") : -len("\\end{pmatrix}")].split("\\\\") if ln.strip()
            ]

        pr, rr = rows(pred), rows(ref)
        if len(pr) == len(rr) and all(
            len(a.split("&")) == len(b.split("&"))
            and all(math_equal(x, y, include_percentage) for x, y in zip(a.split("&"), b.split("&")))
            for a, b in zip(pr, rr)
        ):
            return True
    if pred.count("=") == 1 and ref.count("=") == 1:
        pl, pr_ = pred.split("=")
        rl, rr_ = ref.split("=")
        pe, re_ = f"{pl.strip()} - ({pr_.strip()})", f"{rl.strip()} - ({rr_.strip()})"
        if symbolic_equal(pe, re_) or symbolic_equal(f"-({pe})", re_):
            return True
    elif pred.count("=") == 1 and len(pred.split("=")[0].strip()) <= 2 and "=" not in ref:
        if math_equal(pred.split("=")[1], ref, include_percentage):
            return True
    elif ref.count("=") == 1 and len(ref.split("=")[0].strip()) <= 2 and "=" not in pred:  # noqa: SIM102
        if math_equal(pred, ref.split("=")[1], include_percentage):
            return True
    return symbolic_equal(pred, ref)


TIMEOUT_S = 3.0  # the original grades each (prediction, gold) pair with a 3 s limit; past it: wrong


@functools.lru_cache(maxsize=65536)
def math_equal_timed(pred: str, gold: str, seconds: float = TIMEOUT_S) -> bool:
    """``math_equal`` cut off after ``seconds``, a timeout counting as wrong (and in
    ``math_equal_timed.timeouts``), as in the original's process pool. It runs in a helper
    process that is killed at the deadline (``redstar.verify.symbolic.bounded_call``): a tower
    of powers keeps sympy / mpmath busy inside C code that no signal interrupts, and a timer
    would only work in the main thread. Cached: samples of one problem repeat their answers."""
    from redstar.verify.symbolic import bounded_call

    same = bounded_call("eval.protocols.qwen_math:math_equal", pred, gold, timeout=seconds)
    if same is None:
        math_equal_timed.timeouts += 1
        return False
    return same


math_equal_timed.timeouts = 0


def score(item, response: str, extraction=None, benchmark: str = "math500") -> tuple[str | None, bool]:
    """``(prediction, correct)``: Qwen2.5-Math's extraction (or ``extraction`` when given)
    graded by ``math_equal`` against the gold, within the original's 3 s per pair."""
    pred = extract(response) if extraction is None else strip_string(extraction)
    return (pred or None), math_equal_timed(pred, gold_answer(item, benchmark))
