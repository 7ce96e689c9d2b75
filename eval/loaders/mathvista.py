"""MathVista-GEO from MathVista testmini (1,000 items).

Rows: ``pid, question, image ("images/1.jpg"), choices, unit, precision, answer (the choice
*text* for multiple choice), question_type (multi_choice | free_form), answer_type, metadata
{task, skills, source, ...}, query``; testmini.json maps pid -> row, the HF Parquet adds
``decoded_image`` (PNG/JPEG bytes). Two readings of "geometry" exist and both are supported:
``subset="task"`` keeps metadata.task == "geometry problem solving" (208 items, the default),
``subset="skill"`` keeps items whose skills include "geometry reasoning" (239). Multiple-choice
gold answers become letters; free-form ones are graded as math, and a float answer carries its
``precision``: the extracted number is rounded to that many decimals before grading, as the
official MathVista scorer does (``str(round(float(x), precision))``).
"""

from __future__ import annotations

from pathlib import Path

from eval.items import LETTERS, EvalItem, ItemError, LoadResult, decode_image, require_text, resolve_image
from eval.loaders.common import build_items, iter_rows, native_or_index
from redstar.config import ConfigError

SUBSETS = {"task": "geometry problem solving", "skill": "geometry reasoning"}


def _keep(meta: dict, subset: str) -> bool:
    if subset == "task":
        return str(meta.get("task", "")).strip().lower() == SUBSETS["task"]
    return SUBSETS["skill"] in [str(s).strip().lower() for s in (meta.get("skills") or [])]


def _same(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if a == b:
        return True
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def load_mathvista(
    source: str,
    split: str | None = None,
    subset: str | None = "task",
    image_root: str | None = None,
    strict: bool = False,
) -> LoadResult:
    subset = subset or "task"
    if subset not in SUBSETS:
        raise ConfigError(f"--subset must be one of {sorted(SUBSETS)} for MathVista, got {subset!r}")
    res = LoadResult(subset=f"{subset}: {SUBSETS[subset]}", strict=strict)
    path = Path(source).expanduser()
    base = path.parent if path.is_file() else path
    roots = ([Path(image_root)] if image_root else []) + [base]

    def make(rid: str, row: dict) -> EvalItem | None:
        meta = row.get("metadata") or {}
        if not isinstance(meta, dict):
            raise ItemError("'metadata' must be a mapping")
        if not _keep(meta, subset):
            return None
        question = require_text(row, "question")
        answer = require_text(row, "answer")
        if row.get("decoded_image") is not None:
            images = [decode_image(row["decoded_image"])]
        else:
            images = [str(resolve_image(require_text(row, "image"), roots))]
        qtype = row.get("question_type")
        extra = {k: row.get(k) for k in ("unit", "precision", "answer_type", "question_type") if row.get(k) is not None}
        extra.update(task=meta.get("task"), source=meta.get("source"), skills=list(meta.get("skills") or []))
        # the official scorer compares with the answer text as written and shows the judge the query
        extra.update(answer_text=answer, query=row.get("query"))
        common = dict(id=rid, question=question, images=images, category=list(meta.get("skills") or []), meta=extra)
        if qtype == "multi_choice":
            choices = [str(c) for c in (row.get("choices") or [])]
            if len(choices) < 2:
                raise ItemError("multiple-choice item with fewer than two choices")
            hits = [i for i, c in enumerate(choices) if _same(c, answer)]
            if not hits:
                raise ItemError(f"answer {answer!r} is not one of the choices {choices}")
            return EvalItem(answer=LETTERS[hits[0]], kind="choice", choices=choices, **common)
        if qtype not in (None, "free_form"):
            raise ItemError(f"unknown question_type {qtype!r}")
        precision = None
        if row.get("answer_type") == "float" and row.get("precision") is not None:
            try:
                precision = int(float(row["precision"]))
            except (TypeError, ValueError):
                raise ItemError(f"precision {row['precision']!r} is not a number of decimals") from None
            if precision < 0:
                raise ItemError(f"precision {row['precision']!r} is negative")
        return EvalItem(answer=answer, kind="math", precision=precision, **common)

    rows = ((w, native_or_index(r, i, "pid", "_key"), r) for w, i, r in iter_rows(source, res, split or "testmini"))
    return build_items(rows, res, make)
