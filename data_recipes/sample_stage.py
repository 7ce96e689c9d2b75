"""The sampling job: one model at a time over every pending chunk of a curation run.

    sample_chunks(pending, recipe, backends, path)   # difficulty scorer, then each teacher

It sits above ``difficulty`` (levels and the level filter) and ``sampling`` (prompts, backends,
teacher samples), which import neither this module nor each other's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from data_recipes import sampling


def sample_chunks(
    chunks: Callable[[], Iterable[tuple[int, list[dict]]]],
    recipe,
    backends: sampling.Backends,
    path: Callable[[int, str], Path],
) -> None:
    """Difficulty levels and teacher samples for every chunk ``chunks()`` yields (``(k,
    problems)``; called once per stage), one model at a time: the difficulty scorer over every
    pending chunk, then each teacher in turn over every pending chunk. Each model's engine is
    built once per stage (``Backends`` shuts a vLLM engine down when the next one starts), not
    once per chunk.

    Each stage's result is kept per chunk (``path(k, "scored.jsonl")`` with the difficulty
    funnel, ``path(k, "teacher-J.jsonl")``), so a killed run redoes only the stages of the
    chunks it had not finished. When every stage is done a chunk gets ``sampled.jsonl`` (its
    problems, then its samples grouped by problem, teachers in order: what one chunk sampled
    alone gives) and ``sampled.funnel.json``, and its per-stage files are removed. A chunk
    that already has ``sampled.jsonl`` is skipped. Seeds stay per chunk (the scorer's: the
    chunk index; a teacher's: ``seed * 1_000_003 + k``)."""
    from tqdm.auto import tqdm

    from data_recipes.difficulty import level_drop, score_levels
    from data_recipes.funnel import Funnel
    from redstar.dataio import read_rows, write_json, write_jsonl

    teachers = recipe.sampling.teachers
    stage_files = ["scored.jsonl", "scored.funnel.json"] + [f"teacher-{j}.jsonl" for j in range(len(teachers))]

    def todo(desc: str):
        pending = ((k, problems) for k, problems in chunks() if not path(k, "sampled.jsonl").is_file())
        return tqdm(pending, desc=desc, unit=" chunk", disable=not recipe.run.progress)

    # the difficulty scorer over every pending chunk; the level filter marks each problem
    for k, problems in todo("difficulty"):
        if path(k, "scored.jsonl").is_file():
            continue
        funnel = Funnel()
        score_levels(problems, recipe, backends, k)
        for p in problems:
            reason = level_drop(p, recipe.difficulty)
            funnel.add("difficulty", reason is None, reason, p["source"], p.get("difficulty"))
            p["status"] = reason or "sampled"
        write_json(path(k, "scored.funnel.json"), funnel.to_dict())
        write_jsonl(path(k, "scored.jsonl"), problems)  # last: marks the stage done

    # each teacher over every pending chunk's kept problems
    for j, t in enumerate(teachers):
        for k, _ in todo(f"teacher {t.name}"):
            if path(k, f"teacher-{j}.jsonl").is_file():
                continue
            kept = [p for p in read_rows(path(k, "scored.jsonl")) if p["status"] == "sampled"]
            write_jsonl(path(k, f"teacher-{j}.jsonl"), sampling.sample_chunk(kept, recipe, backends, k, teachers=[t]))

    # every stage done: one sampled file per chunk
    for k, _ in todo("collect"):
        problems = list(read_rows(path(k, "scored.jsonl")))
        funnel = Funnel(json.loads(path(k, "scored.funnel.json").read_text()))
        kept = [p for p in problems if p["status"] == "sampled"]
        samples = [s for j in range(len(teachers)) for s in read_rows(path(k, f"teacher-{j}.jsonl"))]
        order = {p["id"]: i for i, p in enumerate(kept)}
        samples.sort(key=lambda s: order[s["problem_id"]])  # stable: grouped by problem, teachers in order
        n_by: dict[str, int] = {}
        for s in samples:
            n_by[s["problem_id"]] = n_by.get(s["problem_id"], 0) + 1
        for p in kept:
            ok = n_by.get(p["id"], 0) > 0
            funnel.add("sampling", ok, None if ok else "no samples", p["source"], p.get("difficulty"))
            if not ok:
                p["status"] = "no samples"
        write_json(path(k, "sampled.funnel.json"), funnel.to_dict())
        write_jsonl(
            path(k, "sampled.jsonl"),
            [{"kind": "problem", "row": p} for p in problems] + [{"kind": "sample", "row": s} for s in samples],
        )
        for name in stage_files:
            path(k, name).unlink(missing_ok=True)
