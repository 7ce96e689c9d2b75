"""Reading and writing row files: JSONL, JSON, Parquet, HF datasets (hub id or local path).

    for row in read_rows("data/train.jsonl"): ...          # a bad line raises, naming file:line
    for where, row in iter_located("data/train.json"): ... # where = "data/train.json:12"
    stats = ReadStats(); rows = list(read_rows(p, skip_bad=True, stats=stats))  # skip and count
    write_jsonl("out/sft.jsonl", rows)                     # atomic: temp file + rename

Rows are plain dicts. ``read_rows(..., schema=SFTRow)`` also checks each row against a
record type from ``redstar.records`` and reports the failing line. Rows are checked, skipped
and counted in one place (``_checked``); ``ReadStats`` holds the counts and the first
locations, which commands show on the terminal, in their metrics and in model cards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redstar.records import RowError


@dataclass
class ReadStats:
    """What a read kept and skipped, and why (``skipped_where`` lists 'file:line: reason')."""

    read: int = 0
    skipped: int = 0
    skipped_where: list[str] = field(default_factory=list)

    def skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_where) < 1000:
            self.skipped_where.append(f"{where}: {reason}")

    def summary(self) -> str:
        text = f"read {self.read} rows, skipped {self.skipped}"
        if self.skipped_where:
            text += " (first: " + self.skipped_where[0] + ")"
        return text

    def to_dict(self) -> dict:
        return {
            "rows_read": self.read + self.skipped,
            "rows_kept": self.read,
            "rows_skipped": self.skipped,
            "first_skipped": self.skipped_where[:5],
        }


# ----------------------------------------------------------------------------- writing


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux
    /proc/self/status); elsewhere set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temp file beside ``path``; on success fsync and rename it over ``path``.

    A crash mid-write leaves the previous file (or none) in place, never half a file. The
    file gets the mode a plain ``open`` would give it (0666 less the umask), not the 0600 of
    a temp file, so colleagues can read the outputs on a shared machine.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def plain_modes(directory: str | os.PathLike) -> None:
    """Give every file under ``directory`` the mode a plain ``open`` would (0666 less the
    umask): for files written by libraries that create them through private temp files."""
    mode = 0o666 & ~current_umask()
    for root, _dirs, files in os.walk(directory):
        for name in files:
            p = os.path.join(root, name)
            if not os.path.islink(p):
                os.chmod(p, mode)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def _to_jsonable(row: Any) -> Any:
    return row.to_row() if hasattr(row, "to_row") else row


def write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Write rows (dicts or records) to ``path`` atomically; returns the row count."""
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            f.write(json.dumps(_to_jsonable(row), ensure_ascii=False) + "\n")
            n += 1
    return n


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_parquet(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([_to_jsonable(r) for r in rows])
    with atomic_open(path, "wb") as f:
        pq.write_table(table, f)
    return table.num_rows


def write_rows(path: str | os.PathLike, rows: Iterable[Any]) -> int:
    """Write by extension: ``.parquet`` or JSONL (anything else)."""
    return write_parquet(path, rows) if str(path).endswith(".parquet") else write_jsonl(path, rows)


# ----------------------------------------------------------------------------- reading
#
# Every row is read with its location, one format everywhere: ``path:line`` (the 1-based
# physical line where the row starts; for Parquet and HF datasets, which have no lines,
# ``path:row N``, 1-based), followed by `` (id X)`` in messages when the row has an id.


def where_with_id(where: str, row: Any) -> str:
    """``'path:line'`` plus the row's id when it has one: ``'path:line (id 7)'``."""
    if isinstance(row, dict):
        for key in ("id", "problem_id", "question_id", "pid"):
            if row.get(key) not in (None, ""):
                return f"{where} (id {row[key]})"
    return where


def _check(row: Any, where: str, schema: type | None) -> dict:
    if not isinstance(row, dict):
        raise RowError(f"expected a JSON object, got {type(row).__name__}", where)
    if schema is not None:
        try:
            schema.from_row(row)
        except RowError as e:
            raise RowError(str(e), where_with_id(where, row)) from None
    return row


def _checked(
    located: Iterable[tuple[str, Any]], schema, skip_bad: bool, stats: ReadStats
) -> Iterator[tuple[str, dict]]:
    """The one place rows are checked, skipped and counted: ``located`` yields (where, row),
    or (where, RowError) for a row that could not even be parsed."""
    for where, row in located:
        try:
            if isinstance(row, RowError):
                raise row
            row = _check(row, where, schema)
        except RowError as e:
            if not skip_bad:
                raise
            stats.skip(e.where or where, str(e).removeprefix((e.where or where) + ": "))
            continue
        stats.read += 1
        yield where, row


def _jsonl_located(path: Path) -> Iterator[tuple[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, json.loads(line.strip())
            except json.JSONDecodeError as e:
                yield where, RowError(f"malformed JSON ({e.msg.removesuffix(' at')} at column {e.colno})", where)


def iter_jsonl_located(
    path: str | os.PathLike, schema: type | None = None, skip_bad: bool = False, stats: ReadStats | None = None
) -> Iterator[tuple[str, dict]]:
    """(``'file:line'``, row) for each row of a JSONL file, so errors found later (a broken
    image, a chat template that cannot split a row) can still name the line."""
    stats = stats if stats is not None else ReadStats()
    return _checked(_jsonl_located(Path(path)), schema, skip_bad, stats)


def _records_located(records: Iterable[Any], label: str) -> Iterator[tuple[str, Any]]:
    for i, row in enumerate(records, 1):
        yield f"{label}:row {i}", row


def _parquet_located(path: Path) -> Iterator[tuple[str, Any]]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    n = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            n += 1
            yield f"{path}:row {n}", row


_WS = re.compile(r"[ \t\n\r]*")


def _value_offsets(text: str, start: int) -> tuple[list[int], list[str]]:
    """Offsets of the values of the JSON array or object that opens at ``text[start]`` (and
    the object's keys), found with the standard decoder, so each row can name its line."""
    dec = json.JSONDecoder()
    opener, i = text[start], start + 1
    offsets: list[int] = []
    keys: list[str] = []
    while True:
        i = _WS.match(text, i).end()
        if text[i] in "]}":
            return offsets, keys
        if opener == "{":
            key, i = dec.raw_decode(text, i)
            i = _WS.match(text, i).end() + 1  # past ':'
            i = _WS.match(text, i).end()
            keys.append(key)
        offsets.append(i)
        _, i = dec.raw_decode(text, i)
        i = _WS.match(text, i).end()
        if text[i] == ",":
            i += 1


def _json_lines(text: str, data: Any) -> list[int] | None:
    """The 1-based line where each row of a JSON file starts (a list, ``{"data": [...]}`` or a
    mapping of objects), or None when the layout is not one of those."""
    import bisect

    try:
        top = _WS.match(text).end()
        offsets, keys = _value_offsets(text, top)
        if isinstance(data, dict) and "data" in data and isinstance(data["data"], list):
            offsets, _ = _value_offsets(text, offsets[keys.index("data")])
    except (ValueError, IndexError):
        return None
    newlines = [m.start() for m in re.finditer("\n", text)]
    return [bisect.bisect_left(newlines, off) + 1 for off in offsets]


def _json_located(path: Path) -> Iterator[tuple[str, Any]]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        # A .json file may hold JSON lines; fall back to reading it that way.
        if e.msg == "Extra data":
            yield from _jsonl_located(path)
            return
        raise RowError(
            f"malformed JSON ({e.msg.removesuffix(' at')} at column {e.colno})", f"{path}:{e.lineno}"
        ) from None
    lines = _json_lines(text, data) if isinstance(data, (list, dict)) else None
    if isinstance(data, dict):
        # {"id": {...}, ...} (MathVista style) or {"data": [...]} wrappers.
        if "data" in data and isinstance(data["data"], list):
            data = data["data"]
        elif all(isinstance(v, dict) for v in data.values()):
            data = [dict(v, **({"_key": k} if "_key" not in v else {})) for k, v in data.items()]
        else:
            data, lines = [data], [1]
    if not isinstance(data, list):
        raise RowError("a JSON file must hold a list of objects or a mapping of objects", str(path))
    if lines is None or len(lines) != len(data):
        yield from _records_located(data, str(path))
        return
    for line, row in zip(lines, data):
        yield f"{path}:{line}", row


def _is_hf_saved_dataset(path: Path) -> bool:
    return (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()


def _dir_located(path: Path, split: str | None) -> Iterator[tuple[str, Any]]:
    if _is_hf_saved_dataset(path):
        import datasets

        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[split or ("train" if "train" in ds else next(iter(ds)))]
        yield from _records_located(ds, str(path))
        return
    files = sorted(p for p in path.rglob("*") if p.suffix in (".jsonl", ".parquet", ".json") and p.is_file())
    if split:
        files = [p for p in files if split in p.name or split in p.parent.name] or files
    if not files:
        raise FileNotFoundError(f"{path}: no .jsonl, .json or .parquet files in this directory")
    for p in files:
        yield from _file_located(p)


def _file_located(path: Path) -> Iterator[tuple[str, Any]]:
    if path.suffix == ".parquet":
        return _parquet_located(path)
    if path.suffix == ".json":
        return _json_located(path)
    return _jsonl_located(path)


DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".txt", ".arrow", ".pkl", ".yaml", ".yml", ".gz")


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set to a true value."""
    return any(
        os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
        for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def looks_like_hub_id(name: str) -> bool:
    """'owner/name' and nothing else: a missing local file such as 'data/test.jsonl' is a
    missing file, never a dataset to fetch from a hub."""
    parts = name.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not name.startswith((".", "/", "~"))
        and not name.lower().endswith(DATA_SUFFIXES)
    )


def iter_located(
    source: str | os.PathLike,
    *,
    split: str | None = None,
    schema: type | None = None,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
    name: str | None = None,
    streaming: bool = False,
) -> Iterator[tuple[str, dict]]:
    """(where, row) for every row of a JSONL/JSON/Parquet file, a directory of them, a saved
    HF dataset, or a hub dataset id (``owner/name``, optionally with ``split`` and config
    ``name``; ``streaming``: rows arrive as they download, nothing is cached whole). ``where``
    is ``path:line`` (see above).

    A malformed row raises ``RowError`` naming ``path:line``; with ``skip_bad=True`` it is
    skipped and counted in ``stats`` instead.
    """
    stats = stats if stats is not None else ReadStats()
    path = Path(source).expanduser()
    if path.is_file():
        return _checked(_file_located(path), schema, skip_bad, stats)
    if path.is_dir():
        return _checked(_dir_located(path, split), schema, skip_bad, stats)
    if looks_like_hub_id(str(source)):
        import datasets

        try:
            ds = datasets.load_dataset(str(source), name, split=split or "train", streaming=streaming)
        except Exception as e:  # noqa: BLE001 - any failure to fetch means: no such data here
            if hub_offline():
                raise FileNotFoundError(
                    f"{source}: no such file or directory, and not a hub dataset in the local "
                    "cache (HF_HUB_OFFLINE=1: nothing is downloaded)"
                ) from None
            first = (str(e).strip().splitlines() or [""])[0][:200]
            raise FileNotFoundError(
                f"{source}: no such file or directory, and the hub dataset of that name "
                f"could not be loaded ({type(e).__name__}: {first})"
            ) from None
        return _checked(_records_located(ds, str(source)), schema, skip_bad, stats)
    raise FileNotFoundError(f"{source}: no such file or directory (and not a hub dataset id 'owner/name')")


def read_rows(source: str | os.PathLike, **kwargs) -> Iterator[dict]:
    """The rows of ``source`` (see ``iter_located``, which also gives each row's location)."""
    return (row for _, row in iter_located(source, **kwargs))


def read_jsonl(path: str | os.PathLike, **kwargs) -> list[dict]:
    return list(read_rows(path, **kwargs))


def read_located(
    sources: Iterable[str],
    *,
    schema: type | None = None,
    skip_bad: bool = False,
    stats: ReadStats | None = None,
    max_rows: int = 0,
) -> tuple[list[dict], list[str]]:
    """The rows of several sources in order (at most ``max_rows`` in all when > 0) and, for
    each, where it lies (``path:line``, with its id when it has one), so a problem found
    later, when a row is tokenised or rendered, can still be reported there."""
    rows: list[dict] = []
    wheres: list[str] = []
    for src in sources:
        for where, row in iter_located(src, schema=schema, skip_bad=skip_bad, stats=stats):
            if max_rows and len(rows) >= max_rows:
                return rows, wheres
            rows.append(row)
            wheres.append(where_with_id(where, row))
    return rows, wheres
