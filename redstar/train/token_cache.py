"""Tokenise once, memory-map everywhere: the token cache of the SFT and DPO recipes.

A recipe's rows are tokenised once per *key* (the data files with their sizes and mtimes,
the tokenizer's vocabulary and chat template, the system prompt, max_len, train_on, overflow,
max_rows, skip_bad) into flat arrays on disk, and every rank, re-run and sweep cell that reads
the same rows with the same settings maps those arrays instead of tokenising again:

    cache = open_token_cache("sft", data.train, tok, ChatEncoder("sft", 16384), dist=dist,
                             cache_dir=data.cache_dir, num_proc=data.num_proc, budgets=[16384])
    cache[i]                  # {"input_ids": int32 view, "labels": int64} (DPO: {"chosen", "rejected"})
    cache.pack_plan(16384)    # best-fit packs from the lengths array (memory-mapped too)
    cache.stats               # rows read / used / skipped as malformed / too long / without targets

One directory per key under ``cache_root()`` (``data.cache_dir``, else ``$REDSTAR_CACHE/tokens``,
else ``~/.cache/redstar/tokens``) holds ``input_ids.i32`` (all tokens, int32), ``targets.u8``
(1 where a token is a training target), ``offsets.i64`` (example k is
``[offsets[k], offsets[k + 1])``; a preference pair is examples 2i and 2i+1), ``packs-B.npz``
(the packing plan for budget B) and ``meta.json`` (the key, the counts, the first skipped rows).
A rank's memory is a few arrays of one number per pack, whatever the number of rows; its
packs' tokens are read from the page cache when it trains on them.

Building: one process per node (local rank 0) builds while the other ranks wait; on a
filesystem shared between nodes a lock file makes the first builder do the work and the
others find the result. Rows stream from the files through ``num_proc`` tokenising processes
(the chat template rendered once per row), so the builder's memory does not grow with the rows
either. The directory is written under a temporary name and renamed when complete: a
half-built cache is never used, and any cache directory can be deleted when no run is reading
it (the next run rebuilds it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from redstar.locks import file_lock

FORMAT = 1  # bump when the layout or the tokenisation changes: old caches are then ignored
CHUNK_ROWS = 512  # rows per task handed to a tokenising process
FIRST_BAD = 5  # skipped rows named in the stats

USED, TOO_LONG, NO_TARGETS, BAD = 0, 1, 2, 3


# ----------------------------------------------------------------------------- config keys


def cache_dir_field() -> Any:
    """``data.cache_dir`` of the text recipes."""
    return field(
        default="",
        metadata={
            "help": "token cache directory ('' : $REDSTAR_CACHE/tokens or ~/.cache/redstar/tokens); "
            "on a cluster, a filesystem every node sees"
        },
    )


def num_proc_field() -> Any:
    """``data.num_proc`` of the text recipes."""
    return field(default=0, metadata={"help": "processes that tokenise when the cache is built (0: every core)"})


def cache_root(cache_dir: str = "") -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    base = os.environ.get("REDSTAR_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "redstar") / "tokens"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------- the key


def source_identity(sources: Sequence[str]) -> list:
    """Each data source as (absolute path, bytes, newest mtime in ns): a rewritten file is a
    new key. A hub id is its name (its revision is the datasets cache's business)."""
    out = []
    for src in sources:
        p = Path(src).expanduser()
        if p.is_file():
            st = p.stat()
            out.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
        elif p.is_dir():
            stats = [f.stat() for f in sorted(p.rglob("*")) if f.is_file()]
            out.append(
                [str(p.resolve()), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)]
            )
        else:
            out.append([str(src), None, None])
    return out


def tokenizer_identity(tok) -> str:
    """A hash of what decides the token ids: the vocabulary and merges (the fast tokenizer's
    JSON), the special tokens, the chat template."""
    h = hashlib.sha256()
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    else:
        h.update(json.dumps(sorted(tok.get_vocab().items())).encode())
    h.update(type(tok).__name__.encode())
    h.update(json.dumps(getattr(tok, "special_tokens_map", {}), sort_keys=True, default=str).encode())
    h.update(str(tok.chat_template).encode())
    return h.hexdigest()[:24]


def cache_key(kind: str, sources: Sequence[str], tok, settings: dict) -> dict:
    return {
        "format": FORMAT,
        "kind": kind,
        "sources": source_identity(sources),
        "tokenizer": tokenizer_identity(tok),
        "settings": settings,
    }


def key_name(kind: str, key: dict) -> str:
    return f"{kind}-" + hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------- encoding


@dataclass
class ChatEncoder:
    """How a row becomes examples: ``sft`` one (``messages``), ``dpo`` two (``prompt`` +
    ``chosen``, ``prompt`` + ``rejected``). Picklable, so tokenising processes get a copy."""

    kind: str
    max_len: int | None
    train_on: str = "last"
    system_prompt: str | None = None
    overflow: str = "drop"

    def settings(self) -> dict:
        return {
            "max_len": self.max_len,
            "train_on": self.train_on,
            "system_prompt": self.system_prompt,
            "overflow": self.overflow,
        }

    @property
    def per_row(self) -> int:
        return 2 if self.kind == "dpo" else 1

    def __call__(self, row: dict, tok) -> list[tuple]:
        """The row's examples as (ids, target flags) arrays (``tokenize.chat_arrays``)."""
        from redstar.train.tokenize import chat_arrays

        if self.kind == "dpo":
            return [
                chat_arrays(list(row["prompt"]) + list(row[side]), tok, self.max_len, "last", self.system_prompt)
                for side in ("chosen", "rejected")
            ]
        return [chat_arrays(row["messages"], tok, self.max_len, self.train_on, self.system_prompt, self.overflow)]


def encode_chunk(rows: list[dict], tok, encoder: ChatEncoder) -> dict:
    """Tokenise a chunk of rows: flat ids and target flags of the kept rows' examples, each
    example's length, each row's status (USED / TOO_LONG / NO_TARGETS / BAD) and the messages
    of BAD rows. An encoder whose examples are (ids, flags, tag) also gives each example a small
    integer tag, and one with ``per_row == 0`` (a varying number of examples per row) each kept
    row's number of examples (``sizes``)."""
    from redstar.train.tokenize import TooLong

    ids, flags_out, lengths, status, errors, targets = [], [], [], [], {}, 0
    sizes, tags = [], []
    for i, row in enumerate(rows):
        try:
            exs = encoder(row, tok)
        except TooLong:
            status.append(TOO_LONG)
            continue
        except ValueError as e:
            status.append(BAD)
            errors[i] = str(e)
            continue
        counts = [int(ex[1][1:].sum()) for ex in exs]  # after the shift
        if 0 in counts:
            status.append(NO_TARGETS)
            continue
        status.append(USED)
        targets += sum(counts)
        sizes.append(len(exs))
        for x, flags, *tag in exs:
            ids.append(np.asarray(x).astype(np.int32))
            flags_out.append(np.asarray(flags).astype(np.uint8))
            lengths.append(len(x))
            tags.extend(tag[:1])
    return {
        "ids": np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32),
        "flags": np.concatenate(flags_out) if flags_out else np.zeros(0, dtype=np.uint8),
        "lengths": np.asarray(lengths, dtype=np.int64),
        "sizes": np.asarray(sizes, dtype=np.int64),
        "tags": np.asarray(tags, dtype=np.int8),
        "status": status,
        "errors": errors,
        "targets": targets,
    }


_WORKER: dict = {}


def _init_worker(tok, encoder) -> None:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _WORKER["tok"], _WORKER["encoder"] = tok, encoder


def _work(rows: list[dict]) -> dict:
    return encode_chunk(rows, _WORKER["tok"], _WORKER["encoder"])


# ----------------------------------------------------------------------------- building


def _chunks(located: Iterator[tuple[str, dict]], size: int) -> Iterator[tuple[list[str], list[dict]]]:
    wheres, rows = [], []
    for where, row in located:
        wheres.append(where)
        rows.append(row)
        if len(rows) == size:
            yield wheres, rows
            wheres, rows = [], []
    if rows:
        yield wheres, rows


def iter_rows(sources: Sequence[str], schema, skip_bad: bool, stats, max_rows: int = 0) -> Iterator[tuple[str, dict]]:
    """(where, row) over every source in order, at most ``max_rows`` rows (0: all), streamed."""
    from redstar.dataio import iter_located, where_with_id

    n = 0
    for src in sources:
        for where, row in iter_located(src, schema=schema, skip_bad=skip_bad, stats=stats):
            if max_rows and n >= max_rows:
                return
            n += 1
            yield where_with_id(where, row), row


def build(
    path: Path,
    key: dict,
    located: Iterator[tuple[str, dict]],
    tok,
    encoder: ChatEncoder,
    *,
    skip_bad: bool,
    read_stats,
    num_proc: int = 1,
    progress: bool = True,
    extra: dict | None = None,
) -> None:
    """Tokenise ``located`` rows into the cache directory ``path`` (written under a temporary
    name beside it, renamed when complete). A row the chat template cannot split raises a
    ``RowError`` naming its location, or with ``skip_bad`` is counted as malformed. An encoder
    with ``per_row == 0`` also writes ``rows.i64`` (row i is examples ``[rows[i], rows[i + 1])``)
    and ``tags.i8`` (one tag per example). ``extra``, read once every row is through (the row
    source may fill it as it goes), is stored as ``meta["extra"]``."""
    from tqdm import tqdm

    from redstar.records import RowError

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    counts = {"rows": 0, "used": 0, "too_long": 0, "no_targets": 0, "bad_rows": 0, "tokens": 0, "targets": 0}
    first_bad: list[str] = []
    longest, n_examples = 0, 0
    started = time.time()
    num_proc = max(1, int(num_proc))
    try:
        with contextlib.ExitStack() as stack:
            f_ids = stack.enter_context(open(tmp / "input_ids.i32", "wb"))
            f_flags = stack.enter_context(open(tmp / "targets.u8", "wb"))
            f_off = stack.enter_context(open(tmp / "offsets.i64", "wb"))
            f_off.write(np.zeros(1, dtype=np.int64).tobytes())
            variable = encoder.per_row == 0
            if variable:
                f_rows = stack.enter_context(open(tmp / "rows.i64", "wb"))
                f_tags = stack.enter_context(open(tmp / "tags.i8", "wb"))
                f_rows.write(np.zeros(1, dtype=np.int64).tobytes())
            total = 0
            chunks = _chunks(located, CHUNK_ROWS)
            if num_proc > 1:
                import multiprocessing

                pool = stack.enter_context(
                    multiprocessing.get_context("spawn").Pool(num_proc, _init_worker, (tok, encoder))
                )
                results = _windowed(pool, chunks, 2 * num_proc)
            else:
                results = ((encode_chunk(rows, tok, encoder), wheres) for wheres, rows in chunks)
            # closed by the stack on an error too, so the error starts on its own line
            bar = stack.enter_context(
                tqdm(
                    desc=f"tokenize ({num_proc} process{'es' if num_proc > 1 else ''})",
                    unit="row",
                    disable=not progress,
                )
            )
            for out, wheres in results:
                for i, msg in out["errors"].items():
                    if not skip_bad:
                        raise RowError(msg, wheres[i])
                    if len(first_bad) < FIRST_BAD:
                        first_bad.append(f"{wheres[i]}: {msg}")
                st = np.asarray(out["status"])
                counts["rows"] += len(st)
                counts["used"] += int((st == USED).sum())
                counts["too_long"] += int((st == TOO_LONG).sum())
                counts["no_targets"] += int((st == NO_TARGETS).sum())
                counts["bad_rows"] += int((st == BAD).sum())
                counts["tokens"] += int(out["ids"].size)
                counts["targets"] += out["targets"]
                f_ids.write(out["ids"].tobytes())
                f_flags.write(out["flags"].tobytes())
                if out["lengths"].size:
                    f_off.write((total + np.cumsum(out["lengths"])).tobytes())
                    total += int(out["lengths"].sum())
                    longest = max(longest, int(out["lengths"].max()))
                if variable:
                    if out["sizes"].size:
                        f_rows.write((n_examples + np.cumsum(out["sizes"])).tobytes())
                    f_tags.write(out["tags"].tobytes())
                n_examples += int(out["lengths"].size)
                bar.update(len(st))
        read = read_stats.to_dict()
        stats = {
            **counts,
            "rows_read": counts["rows"] + read_stats.skipped,
            "bad_rows": counts["bad_rows"] + read_stats.skipped,
            "first_bad": (read["first_skipped"] + first_bad)[:FIRST_BAD],
        }
        meta = {
            "key": key,
            "per_row": encoder.per_row,
            "examples": n_examples,
            "longest_example": longest,
            "stats": stats,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "build_seconds": round(time.time() - started, 3),
            "num_proc": num_proc,
        }
        if extra is not None:
            meta["extra"] = extra
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, path)
        except OSError:
            if not (path / "meta.json").is_file():  # not a finished twin from another node: a real error
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _windowed(pool, chunks, window: int, work=_work):
    """(``work(rows)`` run in ``pool``, the rows' locations) in order, with at most ``window``
    chunks in flight: the reader stays a few chunks ahead of the workers, never the whole
    file. A worker's error is raised here, at its chunk's turn."""
    from collections import deque

    inflight: deque = deque()
    for wheres, rows in chunks:
        inflight.append((pool.apply_async(work, (rows,)), wheres))
        if len(inflight) >= window:
            res, w = inflight.popleft()
            yield res.get(), w
    while inflight:
        res, w = inflight.popleft()
        yield res.get(), w


# ----------------------------------------------------------------------------- reading


def _map(path: Path, dtype) -> np.ndarray:
    if path.stat().st_size == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


class TokenCache:
    """A finished cache directory, memory-mapped. ``cache[i]`` is row ``i``'s example (SFT)
    or its ``{"chosen", "rejected"}`` pair (DPO); ``len(cache)`` the rows used."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())
        self.per_row = int(self.meta["per_row"])
        self.ids = _map(self.path / "input_ids.i32", np.int32)
        self.flags = _map(self.path / "targets.u8", np.uint8)
        self.offsets = _map(self.path / "offsets.i64", np.int64)
        if self.per_row == 0:  # a varying number of examples per row, each with a tag
            self.rows = _map(self.path / "rows.i64", np.int64)
            self.tags = _map(self.path / "tags.i8", np.int8)
        self._plans: dict[int, tuple] = {}

    @property
    def stats(self) -> dict:
        return dict(self.meta["stats"])

    def __len__(self) -> int:
        if self.per_row == 0:
            return len(self.rows) - 1
        return (len(self.offsets) - 1) // self.per_row

    def examples_of(self, i: int) -> range:
        """The examples of row ``i`` (``per_row == 0``)."""
        return range(int(self.rows[i]), int(self.rows[i + 1]))

    def example(self, k: int) -> dict:
        a, b = int(self.offsets[k]), int(self.offsets[k + 1])
        ids = self.ids[a:b]
        labels = np.where(self.flags[a:b] != 0, ids, -100).astype(np.int64)
        return {"input_ids": ids, "labels": labels}

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        if self.per_row == 0:
            ks = self.examples_of(i)
            return {"examples": [self.example(k) for k in ks], "tags": np.asarray(self.tags[ks.start : ks.stop])}
        if self.per_row == 2:
            return {"chosen": self.example(2 * i), "rejected": self.example(2 * i + 1)}
        return self.example(i)

    def lengths(self) -> np.ndarray:
        """Tokens per row (a pair: both sides), for packing."""
        if self.per_row == 0:
            bounds = np.asarray(self.offsets)[np.asarray(self.rows)]
            return np.diff(bounds)
        per_example = np.diff(np.asarray(self.offsets))
        return per_example.reshape(-1, self.per_row).sum(axis=1)

    def plan_file(self, budget: int) -> Path:
        return self.path / f"packs-{int(budget)}.npz"

    def write_pack_plan(self, budget: int) -> None:
        """Pack the rows for ``budget`` tokens once and store the plan beside the tokens."""
        from redstar.train.packing import pack_arrays

        target = self.plan_file(budget)
        if target.is_file():
            return
        members, offsets = pack_arrays(self.lengths(), budget)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=self.path)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, members=members, offsets=offsets)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)

    def pack_plan(self, budget: int, seed: int | None = None):
        """The stored best-fit plan for ``budget`` (see ``packing.PackPlan``), pack order
        shuffled by ``seed``."""
        from redstar.train.packing import PackPlan

        if budget not in self._plans:
            if not self.plan_file(budget).is_file():
                self.write_pack_plan(budget)
            with np.load(self.plan_file(budget)) as z:
                self._plans[budget] = (z["members"], z["offsets"])
        return PackPlan(*self._plans[budget], seed=seed)


# ----------------------------------------------------------------------------- opening


def open_data_cache(kind: str, data, tok, encoder, *, schema, dist, budget: int, progress: bool = True):
    """``open_token_cache`` for a recipe's ``data`` section (its train files, ``cache_dir``,
    ``num_proc``, ``skip_bad`` and ``max_rows``), packed to one token ``budget``: what SFT and DPO
    both read."""
    return open_token_cache(
        kind,
        data.train,
        tok,
        encoder,
        schema=schema,
        dist=dist,
        cache_dir=data.cache_dir,
        num_proc=data.num_proc,
        skip_bad=data.skip_bad,
        max_rows=data.max_rows,
        budgets=[budget],
        progress=progress,
    )


def open_token_cache(
    kind: str,
    sources: Sequence[str],
    tok,
    encoder: ChatEncoder,
    *,
    schema,
    dist=None,
    cache_dir: str = "",
    num_proc: int = 0,
    skip_bad: bool = False,
    max_rows: int = 0,
    budgets: Sequence[int] = (),
    progress: bool = True,
    rows: Callable[[Any, dict], Iterator[tuple[str, dict]]] | None = None,
) -> TokenCache:
    """The cache of these rows and settings, built first when missing (by local rank 0 of
    each node, under a lock, while the other ranks wait), with the packing plans for
    ``budgets`` stored beside it. Every rank returns the same cache or raises the same error
    (a bad row's ``RowError`` names its file and line).

    ``rows(read_stats, extra)``, where given, yields the (where, row) pairs the encoder takes in
    place of the files' own rows (the reward model's groups of samples); ``sources`` then only
    name the files in the key, and what ``rows`` puts in ``extra`` is stored as
    ``meta["extra"]``. Every setting that changes its rows must be in ``encoder.settings()``."""
    from redstar.dataio import ReadStats

    key = cache_key(kind, sources, tok, {**encoder.settings(), "max_rows": max_rows, "skip_bad": skip_bad})
    root = cache_root(cache_dir)
    path = root / key_name(kind, key)
    local_rank = getattr(dist, "local_rank", 0)
    group = _waiting_group(dist)  # made by every rank now, before some of them build for hours
    error: BaseException | None = None
    if local_rank == 0:
        try:
            with file_lock(root / f".{path.name}.lock"):
                if not (path / "meta.json").is_file():
                    read_stats, extra = ReadStats(), {}
                    located = (
                        rows(read_stats, extra)
                        if rows is not None
                        else iter_rows(sources, schema, skip_bad, read_stats, max_rows)
                    )
                    build(
                        path,
                        key,
                        located,
                        tok,
                        encoder,
                        skip_bad=skip_bad,
                        read_stats=read_stats,
                        num_proc=num_proc or available_cores(),
                        progress=progress,
                        extra=extra if rows is not None else None,
                    )
                cache = TokenCache(path)
                for b in budgets:
                    if cache.meta["longest_example"] <= b:  # else the recipe says which setting to change
                        cache.write_pack_plan(b)
        except Exception as e:  # noqa: BLE001 - shared with the waiting ranks, then raised
            error = e
    _share_outcome(error, dist, group)
    return TokenCache(path)


WAIT_HOURS = 48  # how long ranks wait for a build (the process group's own limit is 30 minutes)


def _waiting_group(dist):
    """A gloo group with a long timeout for the ranks that wait while their node's local rank 0
    tokenises (the default group, NCCL or gloo, would time out after 30 minutes)."""
    import datetime

    import torch

    if getattr(dist, "world_size", 1) > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.new_group(backend="gloo", timeout=datetime.timedelta(hours=WAIT_HOURS))
    return None


def _share_outcome(error: BaseException | None, dist, group=None) -> None:
    """Every rank learns whether the builders succeeded (this is the barrier the other ranks
    wait at); a builder's error is raised on every rank, as itself where it happened."""
    import torch

    if getattr(dist, "world_size", 1) > 1 and torch.distributed.is_available() and torch.distributed.is_initialized():
        mine = None if error is None else (type(error).__name__, str(error))
        outcomes: list = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(outcomes, mine, group=group)
        if error is None:
            failed = next((o for o in outcomes if o is not None), None)
            if failed is not None:
                from redstar.config import ConfigError

                raise ConfigError(f"the token cache could not be built on another rank: {failed[0]}: {failed[1]}")
    if error is not None:
        raise error
