"""Nested, deterministic training subsets drawn from a curation output or one SFT / preference file.

    pool = load_pool("runs/math", rows="sft")              # rows + difficulty per row
    idx = subset_indices(pool, "hardest", size=4000, seed=0)
    write_subset(pool, "hardest", 4000, 0, Path("runs/sweep/data"), tokens)

Every kind orders the pool once per seed and takes a prefix, so the 1k subset of a kind is inside
its 4k subset, and the same (kind, size, seed) always gives the same rows:

- ``random``: a seeded shuffle of every row.
- ``hardest``: rows by curation difficulty, hardest first; ties in the seeded shuffle's order.
  Difficulty is the row's ``difficulty`` (or ``meta.difficulty``); for a curation output it is
  looked up in samples.jsonl (the ``level`` of the sample whose response is the row's target).
- a named subset ``redstar curate`` wrote (``subsets/<name>.jsonl``): its rows, seeded shuffle.

Each written subset has a manifest beside it: source (and its hash), kind, size, seed, rows,
distinct prompts, target tokens.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from redstar.config import ConfigError
from redstar.dataio import read_rows, write_json, write_jsonl
from redstar.records import PreferenceRow, SFTRow


@dataclass
class Pool:
    """The rows subsets are drawn from, with what the kinds need to order them."""

    source: str  # the file the rows were read from
    kind: str  # "sft" or "preference"
    rows: list[dict]
    difficulty: list[float | None]
    named: dict[str, list[int]] = field(default_factory=dict)  # curate's subsets, as row indices
    source_hash: str = ""


def file_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def target_text(row: dict) -> str:
    """The text a row trains on: the last assistant turn (SFT) or the chosen answer (preference)."""
    msgs = row.get("messages") if "messages" in row else row.get("chosen")
    return str(msgs[-1].get("content") or "") if msgs else ""


def prompt_text(row: dict) -> str:
    msgs = row["messages"][:-1] if "messages" in row else row.get("prompt") or []
    return json.dumps(msgs, sort_keys=True, ensure_ascii=False)


def _row_difficulty(row: dict) -> float | None:
    d = row.get("difficulty")
    if d is None and isinstance(row.get("meta"), dict):
        d = row["meta"].get("difficulty")
    return float(d) if isinstance(d, (int, float)) and not isinstance(d, bool) else None


def _read(path: Path, kind: str) -> list[dict]:
    schema = SFTRow if kind == "sft" else PreferenceRow
    return list(read_rows(path, schema=schema))


def load_pool(source: str, rows: str = "sft") -> Pool:
    """Read ``source`` (a curation output directory or a file) as ``rows`` ("sft" | "preference")."""
    src = Path(source)
    if src.is_dir():
        name = "sft.jsonl" if rows == "sft" else "preferences.jsonl"
        path = src / name
        if not path.is_file():
            raise FileNotFoundError(f"{src}: not a curation output (no {name})")
        data = _read(path, rows)
        difficulty = [_row_difficulty(r) for r in data]
        samples = src / "samples.jsonl"
        if samples.is_file() and any(d is None for d in difficulty):
            # curation rows carry no difficulty; the sample they came from does
            level: dict[str, float] = {}
            for s in read_rows(samples):
                lv = s.get("level")
                if isinstance(lv, (int, float)) and s.get("response") is not None:
                    level[s["response"]] = max(float(lv), level.get(s["response"], float("-inf")))
            difficulty = [d if d is not None else level.get(target_text(r)) for d, r in zip(difficulty, data)]
        named: dict[str, list[int]] = {}
        index = {json.dumps(r, sort_keys=True, ensure_ascii=False): i for i, r in enumerate(data)}
        for f in sorted((src / "subsets").glob("*.jsonl")) if rows == "sft" else []:
            idx = []
            for n, r in enumerate(_read(f, rows), 1):
                i = index.get(json.dumps(r, sort_keys=True, ensure_ascii=False))
                if i is None:
                    raise ConfigError(
                        f"{f}:{n}: row is not in {path}; the subset and sft.jsonl come from different runs"
                    )
                idx.append(i)
            named[f.stem] = idx
        return Pool(str(path), rows, data, difficulty, named, file_hash(path))
    if not src.is_file():
        raise FileNotFoundError(f"{source}: no such file or directory")
    data = _read(src, rows)
    return Pool(str(src), rows, data, [_row_difficulty(r) for r in data], {}, file_hash(src))


def _shuffled(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(f"redstar-sweep-{seed}").shuffle(order)
    return order


def ordering(pool: Pool, kind: str, seed: int) -> list[int]:
    """Row indices in the order ``kind`` takes them; a subset of size k is the first k."""
    order = _shuffled(len(pool.rows), seed)
    if kind == "random":
        return order
    if kind == "hardest":
        known = [d for d in pool.difficulty if d is not None]
        if not known:
            raise ConfigError(
                f"{pool.source}: subset 'hardest' needs a difficulty per row (a 'difficulty' "
                f"field, or a curation output with samples.jsonl); none found"
            )
        rank = {i: r for r, i in enumerate(order)}
        # hardest first; rows without a difficulty last; ties in the seeded order
        return sorted(order, key=lambda i: (pool.difficulty[i] is None, -(pool.difficulty[i] or 0.0), rank[i]))
    if kind in pool.named:
        members = pool.named[kind]
        return [members[j] for j in _shuffled(len(members), seed)]
    have = ["random", "hardest", *sorted(pool.named)]
    raise ConfigError(f"{pool.source}: unknown subset kind {kind!r} (this source has: {', '.join(have)})")


def available(pool: Pool, kind: str) -> int:
    return len(pool.named[kind]) if kind in pool.named else len(pool.rows)


def subset_indices(pool: Pool, kind: str, size: int, seed: int) -> list[int]:
    """The ``size`` rows of ``kind`` for ``seed``, in source order."""
    order = ordering(pool, kind, seed)
    if size > len(order):
        raise ConfigError(f"{pool.source}: subset {kind!r} has {len(order)} rows, fewer than size {size}")
    return sorted(order[:size])


class TokenCounter:
    """Target tokens with a named tokenizer, else about 4 characters per token."""

    def __init__(self, name: str = ""):
        self.tok = None
        if name:
            from redstar.models import load_tokenizer

            self.tok = load_tokenizer(name)
        self.method = f"tokenizer {name}" if name else "estimate: characters / 4"

    def __call__(self, text: str) -> int:
        if self.tok is not None:
            return len(self.tok(text, add_special_tokens=False)["input_ids"])
        return (len(text) + 3) // 4


def subset_name(kind: str, size: int, seed: int) -> str:
    return f"{kind}-n{size}-s{seed}"


def manifest_for(pool: Pool, kind: str, size: int, seed: int, idx: list[int], tokens: TokenCounter) -> dict:
    diffs = [pool.difficulty[i] for i in idx if pool.difficulty[i] is not None]
    return {
        "source": pool.source,
        "source_sha256": pool.source_hash,
        "rows_kind": pool.kind,
        "kind": kind,
        "size": size,
        "seed": seed,
        "rows": len(idx),
        "prompts": len({prompt_text(pool.rows[i]) for i in idx}),
        "tokens": sum(tokens(target_text(pool.rows[i])) for i in idx),
        "tokens_method": tokens.method,
        "difficulty": (
            {"min": min(diffs), "max": max(diffs), "mean": round(sum(diffs) / len(diffs), 4), "known": len(diffs)}
            if diffs
            else None
        ),
    }


def write_subset(
    pool: Pool, kind: str, size: int, seed: int, out_dir: Path, tokens: TokenCounter, name: str | None = None
) -> Path:
    """Write ``out_dir/<kind>-n<size>-s<seed>.jsonl`` (or ``<name>.jsonl``) and its
    ``.manifest.json`` once.

    An existing file with the same manifest is kept; one drawn from other inputs is an error
    (the sweep's cells would silently mix two data sets otherwise)."""
    name = name or subset_name(kind, size, seed)
    path, mpath = out_dir / f"{name}.jsonl", out_dir / f"{name}.manifest.json"
    idx = subset_indices(pool, kind, size, seed)
    manifest = manifest_for(pool, kind, size, seed, idx, tokens)
    if mpath.is_file() and path.is_file():
        old = json.loads(mpath.read_text())
        same = {k: old.get(k) for k in ("source_sha256", "kind", "size", "seed", "rows_kind")}
        want = {k: manifest[k] for k in same}
        if same == want and old.get("sha256") == file_hash(path):
            return path
        raise ConfigError(
            f"{mpath}: this subset was drawn from other inputs ({same} vs {want}); use another --out or delete {path}"
        )
    write_jsonl(path, (pool.rows[i] for i in idx))
    manifest["file"] = path.name
    manifest["sha256"] = file_hash(path)
    write_json(mpath, manifest)
    return path
