"""Replay backend: completions read from a file instead of a model.

Rows are ``{"id": ..., "responses": [str, ...]}`` (JSONL, JSON or Parquet), the shape
``redstar eval --responses`` reads, so stored generations can be re-scored, and tests and demos
can run the whole pipeline without a model. Optional, parallel to ``responses``:
``finish_reasons`` ("stop" / "length"; replayed completions carry them), ``scores`` (reward
scores, for rm@k) and ``extracted`` (a published answer extraction, e.g. MathVista's).
"""

from __future__ import annotations

from pathlib import Path

from redstar.generation.base import (
    Backend,
    Completion,
    GenerationConfig,
    Request,
    per_request,
    truncate_at_stop,
)


def read_responses(path: str | Path) -> dict[str, dict]:
    """``{id: {"responses": [...], "scores": [...] | None, "extracted": [...] | None}}`` from a
    responses file; responses with ``finish_reasons`` come back as ``Completion``s. A bad or repeated row raises naming
    the file, row and id."""
    from redstar.dataio import iter_located, where_with_id
    from redstar.records import RowError

    out: dict[str, dict] = {}
    for line, row in iter_located(path):
        if "id" not in row:
            raise RowError("responses row has no 'id'", line)
        where = where_with_id(line, row)
        rs = row.get("responses")
        if not isinstance(rs, list) or not all(isinstance(r, str) for r in rs):
            raise RowError("'responses' must be a list of strings", where)
        if not rs:
            raise RowError("'responses' is empty", where)
        scores = row.get("scores")
        if scores is not None:
            if (
                not isinstance(scores, list)
                or len(scores) != len(rs)
                or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores)
            ):
                raise RowError(f"'scores' must be a list of {len(rs)} numbers, one per response", where)
            scores = [float(s) for s in scores]
        reasons = row.get("finish_reasons")
        if reasons is not None and (
            not isinstance(reasons, list)
            or len(reasons) != len(rs)
            or not all(r is None or isinstance(r, str) for r in reasons)
        ):
            raise RowError(f"'finish_reasons' must be a list of {len(rs)} strings ('stop' / 'length')", where)
        extracted = row.get("extracted")
        if extracted is not None and (not isinstance(extracted, list) or len(extracted) != len(rs)):
            raise RowError(f"'extracted' must be a list of {len(rs)} answers, one per response", where)
        if reasons is not None:
            rs = [Completion(r, why) for r, why in zip(rs, reasons)]
        rid = str(row["id"])
        if rid in out:
            raise RowError(f"id {rid!r} appears twice", where)
        out[rid] = {"responses": rs, "scores": scores, "extracted": extracted}
    return out


def load_responses(path: str | Path) -> dict[str, list[str]]:
    """``{id: responses}`` from a responses file."""
    return {k: v["responses"] for k, v in read_responses(path).items()}


class ReplayBackend(Backend):
    """``ReplayBackend(path="responses.jsonl")``: for each request, the first n stored responses
    of the row with the same id; a missing id or too few responses is an error."""

    name = "replay"

    def __init__(self, path: str | Path, model: str | None = None):
        self.path = str(path)
        self.responses = load_responses(path)

    def generate(self, requests: list[Request], cfg: GenerationConfig | list[GenerationConfig]) -> list[list[str]]:
        from redstar.records import RowError

        out = []
        for r, c in zip(requests, per_request(cfg, len(requests))):
            stored = self.responses.get(str(r.id))
            if stored is None:
                raise RowError(f"no responses for id {r.id!r}", self.path)
            if len(stored) < c.n:
                raise RowError(f"id {r.id!r} has {len(stored)} responses, {c.n} requested", self.path)
            out.append([truncate_at_stop(t, c.stop) for t in stored[: c.n]])
        return out
