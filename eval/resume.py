"""Generations that survive an interruption: ``responses.jsonl`` is appended one row per item
as items finish, and a re-run into the same directory generates only the items it lacks.

    done = load_done(out, ids, n)                   # {id: [Completion, ...]} already generated
    with ResponseLog(out) as log:
        log.append(id, completions)                 # one row, flushed and synced to disk

That the stored responses were made with this run's settings (model, data, prompts, sampling)
is the run directory's check (``run.json``, redstar/rundir.py), done before. A last line torn
by a kill is dropped on reading. The log file is created with its first row, so a run that
stopped before generating anything leaves no file behind. Rows carry ``finish_reasons``
("stop" / "length") parallel to ``responses``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from redstar.config import ConfigError
from redstar.generation import Completion, finish_reason

RESPONSES = "responses.jsonl"


def response_row(item_id: str, texts: list) -> dict:
    return {"id": item_id, "responses": [str(t) for t in texts], "finish_reasons": [finish_reason(t) for t in texts]}


def load_done(out: Path, ids: list[str], n: int) -> dict[str, list]:
    """Responses already in ``out/responses.jsonl`` for ``ids`` (with at least ``n`` each)."""
    log = out / RESPONSES
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
    """Appends response rows to ``out/responses.jsonl``, each flushed and fsynced; the file is
    opened (and ``out`` made) at the first row."""

    def __init__(self, out: Path):
        self.path = out / RESPONSES
        self.f = None

    def append(self, item_id: str, texts: list) -> None:
        if self.f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held across appends; close() closes it
        self.f.write(json.dumps(response_row(item_id, texts), ensure_ascii=False) + "\n")

    def sync(self) -> None:
        if self.f is not None:
            self.f.flush()
            os.fsync(self.f.fileno())

    def close(self) -> None:
        if self.f is not None and not self.f.closed:
            self.sync()
            self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
