"""Geometry3K test set (601 items): rows ``images`` (paths, or embedded image cells),
``problem`` (may start with an ``<image>`` tag), ``answer`` (a letter), ``id``, ``choices``
(four values) and ``ground_truth`` (kept in meta)."""

from __future__ import annotations

from pathlib import Path

from eval.items import EvalItem, ItemError, LoadResult, check_letter, decode_image, require_text, resolve_image
from eval.loaders.common import build_items, choice_item, iter_rows, native_or_index


def load_geometry3k(
    source: str,
    split: str | None = None,
    subset: str | None = None,
    image_root: str | None = None,
    strict: bool = False,
) -> LoadResult:
    res = LoadResult(strict=strict)
    path = Path(source).expanduser()
    base = path.parent if path.is_file() else path
    roots = ([Path(image_root)] if image_root else []) + [base]

    def make(rid: str, row: dict) -> EvalItem:
        question = require_text(row, "problem").replace("<image>", "").strip()
        if not question:
            raise ItemError("empty 'problem'")
        choices = [str(c) for c in (row.get("choices") or [])]
        if len(choices) < 2:
            raise ItemError("fewer than two choices")
        letter = check_letter(row.get("answer"), choices)
        cells = row.get("images")
        cells = cells if isinstance(cells, list) else [cells] if cells is not None else []
        if not cells:
            raise ItemError("no image")
        images = [resolve_image(c, roots) if isinstance(c, str) else decode_image(c) for c in cells]
        return choice_item(rid, question, choices, letter, images, meta={"ground_truth": row.get("ground_truth")})

    rows = ((w, native_or_index(r, i, "id"), r) for w, i, r in iter_rows(source, res, split or "test"))
    return build_items(rows, res, make)
