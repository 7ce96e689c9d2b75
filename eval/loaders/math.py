"""MATH-Hard, MATH500 and GSM8K.

MATH rows: ``problem``, ``level`` ("Level 5"), ``type``, ``solution``; the gold answer is the
last ``\\boxed{}`` of the solution (MATH500 also carries ``answer`` and ``unique_id``). Shipped
as JSON / JSONL / Parquet (lighteval/MATH-Hard: the 1,324 Level 5 test problems) or as the
original tree ``test/<type>/<n>.json``, whose items are named by their relative path.
GSM8K rows: ``question``, ``answer`` ending in ``#### 42``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from eval.items import EvalItem, ItemError, LoadResult, last_boxed, require_text
from eval.loaders.common import build_items, iter_rows, native_or_index


def _is_math_tree(path: Path) -> bool:
    """A directory of one-problem JSON files (``<type>/<n>.json``), not a directory of row files."""
    if not path.is_dir():
        return False
    first = next(iter(sorted(path.rglob("*.json"))), None)
    if first is None or any(path.rglob("*.jsonl")) or any(path.rglob("*.parquet")):
        return False
    try:
        data = json.loads(first.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "problem" in data


def _tree_rows(path: Path, res: LoadResult):
    def order(p: Path):
        rel = p.relative_to(path)
        return (str(rel.parent), int(p.stem) if p.stem.isdigit() else 0, p.stem)

    for p in sorted(path.rglob("*.json"), key=order):
        rel = p.relative_to(path).as_posix()
        try:
            row = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as e:
            res.read += 1
            res.skip(f"{p}:{getattr(e, 'lineno', 1)}", f"malformed JSON ({e})")
            continue
        if not isinstance(row, dict):
            res.read += 1
            res.skip(f"{p}:1", "expected one JSON object")
            continue
        yield str(p), rel, row


def _math_item(rid: str, row: dict, level: str | None) -> EvalItem | None:
    lvl = row.get("level")
    if level is not None and str(lvl).strip() != level:
        return None
    question = require_text(row, "problem")
    gold = str(row["answer"]).strip() if row.get("answer") not in (None, "") else None
    if gold is None:
        solution = require_text(row, "solution")
        gold = last_boxed(solution)
        if gold is None or not gold.strip():
            raise ItemError("no \\boxed{} answer in the solution")
    kind = row.get("type") or row.get("subject")
    return EvalItem(
        id=rid,
        question=question,
        answer=gold.strip(),
        category=[str(kind)] if kind else [],
        meta={"level": lvl, "type": kind},
    )


def load_math(
    source: str,
    split: str | None = None,
    level: str | None = "Level 5",
    subset: str | None = None,
    strict: bool = False,
) -> LoadResult:
    """MATH problems, keeping only ``level`` ("Level 5" for MATH-Hard; None keeps all)."""
    res = LoadResult(subset=level, strict=strict)
    path = Path(source).expanduser()
    if _is_math_tree(path):
        rows = _tree_rows(path, res)
    else:
        rows = ((w, native_or_index(r, i, "unique_id", "id"), r) for w, i, r in iter_rows(source, res, split))
    return build_items(rows, res, lambda rid, row: _math_item(rid, row, level))


def load_math500(source: str, split: str | None = None, subset: str | None = None, strict: bool = False) -> LoadResult:
    return load_math(source, split=split, level=None, strict=strict)


_GSM_ANSWER = re.compile(r"####\s*(.+?)\s*$", re.S)


def _gsm_item(rid: str, row: dict) -> EvalItem:
    question = require_text(row, "question")
    answer = require_text(row, "answer")
    m = _GSM_ANSWER.search(answer)
    if not m:
        raise ItemError("answer has no '#### <number>' line")
    gold = m.group(1).replace(",", "").strip()
    if not gold:
        raise ItemError("empty answer after '####'")
    return EvalItem(id=rid, question=question, answer=gold, meta={"solution": answer[: m.start()].strip()})


def load_gsm8k(source: str, split: str | None = None, subset: str | None = None, strict: bool = False) -> LoadResult:
    res = LoadResult(strict=strict)
    name = "main" if "/" in str(source) and not Path(source).exists() else None
    rows = ((w, native_or_index(r, i, "id"), r) for w, i, r in iter_rows(source, res, split, name=name))
    return build_items(rows, res, _gsm_item)
