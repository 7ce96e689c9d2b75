"""What a question already says: the expressions an answer must not merely give back.

A weak policy learns to end "Evaluate $\\log_2 64$." with "the final answer is $\\log_2 64$": the
expression is equal to the gold, so a value comparison credits it. ``restated_expressions`` lists,
normalised, every math span of the question and each side of its relations and lists
(``2x + 3 = 15`` gives ``2x+3 = 15``, ``2x+3`` and ``15``), plus the plain numbers of its prose;
``math_equal(..., restated=...)`` treats an answer equal to one of them as no answer, unless it is
the gold's own literal form ("Which is larger, $\\frac34$ or $\\frac23$?" answered ``\\frac34``).
"""

from __future__ import annotations

import re
from functools import lru_cache

_SPAN = re.compile(r"\$\$(.+?)\$\$|\$((?:\\.|[^$\\])+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_PROSE_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_RELATIONS = ("=", "<", ">", "\\le", "\\ge", "\\ne", ",", ";")
MAX_QUESTION = 20_000


@lru_cache(maxsize=4096)
def restated_expressions(question: str | None) -> frozenset[str]:
    """Normalised expressions the question states (empty for no question)."""
    from redstar.verify.math_equiv import split_top
    from redstar.verify.normalize import normalize, squash_spaces

    if not question or not isinstance(question, str):
        return frozenset()
    q = question[:MAX_QUESTION]
    out: set[str] = set()
    for m in _SPAN.finditer(q):
        span = next(g for g in m.groups() if g is not None)
        whole = normalize(span)
        out.add(squash_spaces(whole))
        for piece in split_top(whole, _RELATIONS):
            if piece:
                out.add(squash_spaces(normalize(piece)))
    prose = _SPAN.sub(" ", q)
    out.update(_PROSE_NUMBER.findall(prose))
    out.discard("")
    return frozenset(out)
