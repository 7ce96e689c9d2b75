"""Text normalisation shared by dedup and decontamination (written once so both agree).

AceMath normalises before matching: lower case, punctuation stripped, whitespace collapsed.
LaTeX commands keep their letters (``\\frac`` -> ``frac``) so formulas still count as words.
"""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, NFKC, punctuation to spaces, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def words(text: str) -> list[str]:
    return normalize(text).split()


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """Word n-grams; a text shorter than n contributes itself whole (so short items still match)."""
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def lcs_len(a: list[str], b: list[str]) -> int:
    """Longest common subsequence of two word lists (O(len(a) * len(b)) dynamic programme,
    one row kept)."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else (prev[j] if prev[j] > cur[j - 1] else cur[j - 1]))
        prev = cur
    return prev[-1]
