"""Generations that survive an interruption: ``responses.jsonl`` is appended one row per item
as items finish, and a re-run into the same directory generates only the items it lacks.

    done = load_done(out, settings, ids, n)        # {id: [Completion, ...]} already generated
    with ResponseLog(out) as log:
        log.append(id, completions)                 # one row, flushed and synced to disk

``generation.json`` beside it records the settings that shape a response (model, data,
prompts, sampling); a re-run with other settings is refused with the changed keys as
``key: old -> new`` unless ``--overwrite``. A last line torn by a kill is dropped on reading.
Rows carry ``finish_reasons`` ("stop" / "length") parallel to ``responses``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from redstar.config import ConfigError
from redstar.generation import Completion, finish_reason

RESPONSES = "responses.jsonl"
SETTINGS = "generation.json"


def response_row(item_id: str, texts: list) -> dict:
    return {"id": item_id, "responses": [str(t) for t in texts], "finish_reasons": [finish_reason(t) for t in texts]}


def _changed(old: dict, new: dict) -> list[str]:
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def load_done(out: Path, settings: dict, ids: list[str], n: int, overwrite: bool = False) -> dict[str, list]:
    """Responses already in ``out/responses.jsonl`` for ``ids`` (with at least ``n`` each),
    after checking they were made with ``settings``. Writes ``generation.json`` for a new run."""
    out.mkdir(parents=True, exist_ok=True)
    log, rec = out / RESPONSES, out / SETTINGS
    if overwrite:
        for p in (log, rec):
            if p.exists():
                p.unlink()
    if rec.is_file():
        old = json.loads(rec.read_text(encoding="utf-8"))
        diff = _changed(old, settings)
        if diff:
            raise ConfigError(
                f"{out}: holds responses generated with other settings ({'; '.join(diff)}); "
                "use another --out, or --overwrite to start again"
            )
    elif log.is_file():
        raise ConfigError(
            f"{log}: responses of an unknown run (no {SETTINGS}); use another --out, or --overwrite to start again"
        )
    else:
        from redstar.dataio import write_json

        write_json(rec, settings)
    done: dict[str, list] = {}
    if not log.is_file():
        return done
    wanted = set(ids)
    lines = log.read_text(encoding="utf-8").split("\n")
    good = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if lineno >= len(lines) - 1:  # the last line, cut short by a kill: generate it again
                break
            raise ConfigError(f"{log}:{lineno}: malformed row in the middle of the file") from None
        good.append(line)
        rs, why = row.get("responses") or [], row.get("finish_reasons") or [None] * len(row.get("responses") or [])
        if str(row.get("id")) in wanted and len(rs) >= n:
            done[str(row["id"])] = [Completion(t, w) for t, w in zip(rs[:n], why[:n])]
    if len(good) != sum(1 for ln in lines if ln.strip()):
        _rewrite(log, good)  # drop the torn line so appends start on a fresh line
    return done


def _rewrite(path: Path, lines: list[str]) -> None:
    from redstar.dataio import atomic_write_text

    atomic_write_text(path, "".join(ln + "\n" for ln in lines))


class ResponseLog:
    """Appends response rows to ``out/responses.jsonl``, each flushed and fsynced."""

    def __init__(self, out: Path):
        self.path = out / RESPONSES
        self.f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held across appends; close() closes it

    def append(self, item_id: str, texts: list) -> None:
        self.f.write(json.dumps(response_row(item_id, texts), ensure_ascii=False) + "\n")

    def sync(self) -> None:
        self.f.flush()
        os.fsync(self.f.fileno())

    def close(self) -> None:
        if not self.f.closed:
            self.sync()
            self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
