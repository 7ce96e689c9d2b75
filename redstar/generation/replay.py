"""Replay backend: completions read from a file instead of a model.

Rows are ``{"id": ..., "responses": [str, ...]}`` (JSONL, JSON or Parquet), the shape
``redstar eval --responses`` reads, so stored generations can be re-scored, and tests and demos
can run the whole pipeline without a model.
"""

from __future__ import annotations

from pathlib import Path

from redstar.generation.base import Backend, GenerationConfig, Request, truncate_at_stop


def load_responses(path: str | Path) -> dict[str, list[str]]:
    """``{id: responses}`` from a responses file; a bad or repeated row raises naming file:line."""
    from redstar.dataio import read_rows
    from redstar.records import RowError

    out: dict[str, list[str]] = {}
    for i, row in enumerate(read_rows(path)):
        where = f"{path}: row {i} (id {row.get('id')!r})"
        if "id" not in row:
            raise RowError("responses row has no 'id'", f"{path}: row {i}")
        rs = row.get("responses")
        if not isinstance(rs, list) or not all(isinstance(r, str) for r in rs):
            raise RowError("'responses' must be a list of strings", where)
        if not rs:
            raise RowError("'responses' is empty", where)
        rid = str(row["id"])
        if rid in out:
            raise RowError(f"id {rid!r} appears twice", where)
        out[rid] = rs
    return out


class ReplayBackend(Backend):
    """``ReplayBackend(path="responses.jsonl")``: for each request, the first n stored responses
    of the row with the same id; a missing id or too few responses is an error."""

    name = "replay"

    def __init__(self, path: str | Path, model: str | None = None):
        self.path = str(path)
        self.responses = load_responses(path)

    def generate(self, requests: list[Request], cfg: GenerationConfig) -> list[list[str]]:
        from redstar.records import RowError

        out = []
        for r in requests:
            stored = self.responses.get(str(r.id))
            if stored is None:
                raise RowError(f"no responses for id {r.id!r}", self.path)
            if len(stored) < cfg.n:
                raise RowError(f"id {r.id!r} has {len(stored)} responses, {cfg.n} requested", self.path)
            out.append([truncate_at_stop(t, cfg.stop) for t in stored[:cfg.n]])
        return out
