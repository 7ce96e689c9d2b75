"""G-LLaVA's GeoQA scorer (``scripts/geo_acc_calculate.py`` in pipilurj/G-LLaVA), re-implemented.

A response's letter is the first of these patterns to match, tried in order, case-sensitive:

1. ``Answer:X``                     (no space after the colon)
2. ``the correct answer is option X``
3. ``option X is selected``
4. ``the answer is option X``
5. ``the answer is (X)``
6. ``is X`` inside the second-to-last '.'-separated piece of the response (the "last sentence"
   of a response that ends with a full stop).

Only A-D are letters. An item is right when the letter equals the gold letter; no letter is
wrong. Known quirks, kept on purpose: ``Answer: A`` (a space) and lower-case ``answer:A`` do not
match rule 1; rule 6 reads any ``is X`` (``... angle ABC is A...``), and a response without a
full stop has no "last sentence", so rule 6 never fires on it.
"""

from __future__ import annotations

import re

NAME = "g-llava"
SOURCE = "G-LLaVA scripts/geo_acc_calculate.py (extract_choice)"

_RULES = [
    re.compile(p)
    for p in (
        r"Answer:([A-D])",
        r"the correct answer is option ([A-D])",
        r"option ([A-D]) is selected",
        r"the answer is option ([A-D])",
        r"the answer is \(([A-D])\)",
    )
]
_LAST_SENTENCE = re.compile(r"is ([A-D])")


def extract_letter(response: str) -> str | None:
    """The letter G-LLaVA's scorer reads from ``response``, or None."""
    for rule in _RULES:
        m = rule.search(response)
        if m:
            return m.group(1)
    pieces = response.split(".")
    if len(pieces) < 2:  # no full stop: no "last sentence" to read
        return None
    m = _LAST_SENTENCE.search(pieces[-2].strip())
    return m.group(1) if m else None


def score(item, response: str, extraction=None) -> tuple[str | None, bool]:
    """``(letter read, correct)`` for one GeoQA response."""
    letter = extract_letter(response)
    return letter, letter is not None and letter == item.answer
