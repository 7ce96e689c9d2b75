"""AIME 2024 and 2025. Answers are integers 0..999 (stored as "025", 25 or "25"; gold is "25").

2024 shapes: ``id, problem, solution, answer, url, year`` (HuggingFaceH4/aime_2024),
``ID, Problem, Solution, Answer`` (Maxwell-Jia/AIME_2024, ids like "2024-II-4"), and
AI-MO/aimo-validation-aime (``id, problem, solution, answer, url``; 2022-2024, so rows whose
url or year names another year are left out). 2025: opencompass/AIME2025 ships two files,
AIME2025-I and AIME2025-II, rows ``question, answer``; they are read in that order and, having
no ids, numbered 0..29 across both.
"""

from __future__ import annotations

import re
from pathlib import Path

from eval.items import EvalItem, ItemError, LoadResult, require_text
from eval.loaders.common import build_items, iter_rows, native_or_index
from redstar.dataio import looks_like_hub_id

_YEAR_IN_URL = re.compile(r"(20\d\d)_AIME")


def aime_answer(value) -> str:
    s = str(value).strip() if value is not None else ""
    if not s:
        raise ItemError("empty answer")
    if not re.fullmatch(r"\d{1,3}", s):
        raise ItemError(f"answer {value!r} is not an integer 0..999")
    return str(int(s))


def _year(row: dict) -> int | None:
    if row.get("year") not in (None, ""):
        return int(str(row["year"])[:4])
    m = _YEAR_IN_URL.search(str(row.get("url") or ""))
    if m:
        return int(m.group(1))
    m = re.match(r"(20\d\d)-", str(row.get("ID") or row.get("id") or ""))
    return int(m.group(1)) if m else None


def _aime_item(rid: str, row: dict, year: int) -> EvalItem | None:
    y = _year(row)
    if y is not None and y != year:
        return None
    question = require_text(row, "problem", "Problem", "question")
    answer = aime_answer(row.get("answer", row.get("Answer")))
    return EvalItem(
        id=rid,
        question=question,
        answer=answer,
        meta={"year": y or year, "url": row.get("url"), "part": row.get("_part")},
    )


def load_aime24(source: str, split: str | None = None, subset: str | None = None, strict: bool = False) -> LoadResult:
    res = LoadResult(subset="2024", strict=strict)
    rows = ((w, native_or_index(r, i, "id", "ID"), r) for w, i, r in iter_rows(source, res, split))
    return build_items(rows, res, lambda rid, row: _aime_item(rid, row, 2024))


def _aime25_sources(source: str) -> list[tuple[str, dict]]:
    """(source, read_rows kwargs) per part: a directory's files sorted by name (I before II),
    one file, or the hub dataset's two configs."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".json", ".parquet"))
        if not files:
            raise FileNotFoundError(f"{path}: no AIME 2025 .jsonl/.json/.parquet files")
        return [(str(p), {}) for p in files]
    if path.exists() or not looks_like_hub_id(source):
        return [(source, {})]
    return [(source, {"name": "AIME2025-I", "split": "test"}), (source, {"name": "AIME2025-II", "split": "test"})]


def load_aime25(source: str, split: str | None = None, subset: str | None = None, strict: bool = False) -> LoadResult:
    res = LoadResult(subset="2025", strict=strict)

    def rows():
        n = 0
        for src, kw in _aime25_sources(source):
            part = kw.get("name") or Path(src).stem
            for w, _, r in iter_rows(src, res, split or kw.get("split"), name=kw.get("name")):
                yield w, str(n), dict(r, _part=part, year=2025)
                n += 1

    return build_items(rows(), res, lambda rid, row: _aime_item(rid, row, 2025))
