"""MathVista's official scorer (lupantech/MathVista ``evaluation/extract_answer.py`` and
``evaluation/calculate_score.py``), re-implemented.

Two steps per response:

1. **Extraction** (``extract``). An empty response extracts as ``""``; a multiple-choice
   response that *is* one of the choice texts is taken whole; an integer item's response that
   Python's ``int()`` reads, or a float item's that ``float()`` reads, is taken as that number;
   then the quick rule ``The answer is "X".``; otherwise an LLM judge reads the response with
   MathVista's few-shot extraction prompt (``eval/prompts/mathvista_extract.txt``). Without a
   judge the quick rules are all there is and an unread response extracts as ``""`` (what the
   official script records when its judge call fails). Rows of published outputs carry the
   judge's extraction already (``extracted``), which is used as it stands.
2. **Normalisation** (``normalize``) and exact string comparison with the gold answer text:
   multiple choice: ``(X)`` anywhere -> letter X; a letter within the choices -> that choice's
   text; anything else (the empty string included) -> the choice nearest by edit distance (the
   first of equals); integer: ``str(int(float(x)))`` (truncation: 2.9 -> "2"); float:
   ``str(round(float(x), precision))`` (Python's round, half to even on the binary value); list:
   ``str(x)``. An extraction the conversion rejects is wrong.

Known quirks, kept: an empty or unreadable extraction still *picks a choice* (the shortest, or
nearest, text), so a silent model scores about one item in four on multiple choice; "2.9" is
right for gold "2"; a float answer with a trailing zero in the gold ("1.50") can never match
``round`` output ("1.5").
"""

from __future__ import annotations

import re
from pathlib import Path

NAME = "mathvista"
SOURCE = "MathVista evaluation/extract_answer.py + calculate_score.py"
PROMPT_FILE = Path(__file__).resolve().parent.parent / "prompts" / "mathvista_extract.txt"
_QUICK = re.compile(r'The answer is "(.*)"\.')
_PAREN_LETTER = re.compile(r"\(([a-zA-Z])\)")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def item_fields(item) -> dict:
    """What the scorer needs from an item: question / answer type, choices, precision, the
    gold answer *text* and the query shown to the judge."""
    meta = item.meta or {}
    choices = list(item.choices) if item.choices else None
    qtype = meta.get("question_type") or ("multi_choice" if choices else "free_form")
    answer = meta.get("answer_text")
    if answer is None:
        answer = choices["ABCDEFGHIJKLMNOPQRSTUVWXYZ".index(item.answer)] if choices else item.answer
    return {
        "question_type": qtype,
        "answer_type": meta.get("answer_type") or "text",
        "choices": choices,
        "precision": meta.get("precision"),
        "answer": str(answer),
        "query": meta.get("query") or item.question,
    }


def quick_extract(response: str, f: dict, quoted: bool = True) -> str | None:
    """The rule-based part of MathVista's extraction; None when a judge would be asked.
    ``quoted`` adds the ``The answer is "X".`` rule (the official script's ``--quick_extract``,
    off when it runs its judge by default)."""
    if response == "":
        return ""
    if f["question_type"] == "multi_choice" and response in (f["choices"] or []):
        return response
    if f["answer_type"] == "integer":
        try:
            return str(int(response))
        except ValueError:
            pass
    if f["answer_type"] == "float":
        try:
            return str(float(response))
        except ValueError:
            pass
    m = _QUICK.search(response) if quoted else None
    return m.group(1) if m else None


def judge_prompt(response: str, f: dict) -> str:
    """MathVista's extraction prompt: the few-shot demo, the query, the response."""
    demo = PROMPT_FILE.read_text(encoding="utf-8").strip()
    return f"{demo}\n\n{f['query']}\n\n{response}\n\nExtracted answer: "


def normalize(extraction, f: dict) -> str | None:
    """The prediction MathVista compares with the gold text, or None (always wrong)."""
    if f["question_type"] == "multi_choice":
        choices = f["choices"] or []
        if not choices:
            return None
        text = extraction.strip() if isinstance(extraction, str) else ("" if extraction is None else str(extraction))
        letters = _PAREN_LETTER.findall(text)
        if letters:
            text = letters[0].upper()
        seq = [chr(ord("A") + i) for i in range(len(choices))]
        if text in seq:
            return choices[seq.index(text)]
        dists = [edit_distance(text, c) for c in choices]
        return choices[dists.index(min(dists))]
    try:
        if f["answer_type"] == "integer":
            return str(int(float(extraction)))
        if f["answer_type"] == "float":
            return str(round(float(extraction), int(f["precision"])))
        if f["answer_type"] == "list":
            return str(extraction)
    except (TypeError, ValueError, OverflowError):
        return None
    # free-form 'text' answers do not occur in MathVista; the official script fails on them
    return None


def score(item, response: str, extraction=None) -> tuple[str | None, bool]:
    """``(prediction, correct)`` given the extraction (published, or from a judge); with none,
    the quick rules, and ``""`` when they do not read the response."""
    f = item_fields(item)
    if extraction is None:
        extraction = quick_extract(response, f)
        if extraction is None:
            extraction = ""
    pred = normalize(extraction, f)
    return pred, pred is not None and pred == f["answer"]
