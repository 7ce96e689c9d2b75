"""Row iteration shared by the loaders: files, directories or hub ids, each row with its
``path:line`` for messages, malformed lines counted as skipped instead of aborting the load
(or, for a ``strict`` result, stopping it with a ``RowError`` naming the line)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from eval.items import EvalItem, ItemError, LoadResult
from redstar.dataio import ReadStats, iter_located


def iter_rows(
    source: str | Path, res: LoadResult, split: str | None = None, name: str | None = None
) -> Iterator[tuple[str, int, dict]]:
    """Yield (where, index, row) for each row of ``source``: ``where`` is ``path:line`` (a
    Parquet or hub row: ``path:row N``), ``index`` is 0-based over rows read."""
    stats = ReadStats()
    located = iter_located(source, split=split, name=name, skip_bad=not res.strict, stats=stats)
    for i, (where, row) in enumerate(located):
        yield where, i, row
    for s in stats.skipped_where:
        res.skipped.append(s)
    res.read += stats.skipped


def build_items(
    rows: Iterator[tuple[str, str, dict]], res: LoadResult, make: Callable[[str, dict], EvalItem | None]
) -> LoadResult:
    """Run ``make(id, row)`` over (where, id, row) triples: an ``EvalItem`` is kept, ``None`` is
    left out on purpose (counted as filtered), an ``ItemError`` is skipped with its reason.
    Duplicate ids are skipped too: results are keyed by id."""
    seen: set[str] = set()
    for where, rid, row in rows:
        res.read += 1
        try:
            item = make(rid, row)
        except ItemError as e:
            res.skip(f"{where} (id {rid})", str(e))
            continue
        if item is None:
            res.filtered += 1
            continue
        if item.id in seen:
            res.skip(f"{where} (id {rid})", "duplicate id")
            continue
        seen.add(item.id)
        res.items.append(item)
    return res


def choice_item(rid: str, question: str, choices: list[str], letter: str, images: list, **extra) -> EvalItem:
    """A multiple-choice item with its figures; ``letter`` is the gold already checked against
    ``choices`` (``check_letter``), image paths are kept as strings, decoded images as they are;
    ``extra``: further ``EvalItem`` fields (category, meta)."""
    images = [str(im) if isinstance(im, Path) else im for im in images]
    return EvalItem(id=rid, question=question, answer=letter, kind="choice", choices=choices, images=images, **extra)


def native_or_index(row: dict, index: int, *keys: str) -> str:
    """The row's own id under one of ``keys``, else its 0-based index, as a string."""
    for k in keys:
        if row.get(k) not in (None, ""):
            return str(row[k])
    return str(index)
