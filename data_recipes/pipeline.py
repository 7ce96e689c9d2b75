"""The curation job: streaming, sharded, resumable.

    run(recipe, "runs/math")                          # one process: prep, all chunks, merge
    run(recipe, "runs/math", shard=(3, 16))           # SLURM array task 3 of 16 (no merge)
    run(recipe, "runs/math", merge_only=True)         # join the shards' outputs
    run(recipe, "runs/math")                          # again, after a kill: finish what is missing

Layout of the output directory:

    prep/problems.jsonl, prep/dropped.jsonl, prep/funnel.json   problems after load, dedup and
        decontamination, computed exactly once per directory: under an flock on
        ``.prep.lock`` that the other array tasks wait on (``prep_once``), or by a
        ``--prep-only`` job that the array depends on (``data_recipes.slurm``)
    chunks/NNNNN.scored.jsonl, NNNNN.teacher-J.jsonl   a chunk's problems with their difficulty
        levels, and teacher J's samples: sampling runs one model at a time over every pending
        chunk (so each engine is built once), and these keep each finished stage; removed once
        the chunk's sampled.jsonl is written
    chunks/NNNNN.sampled.jsonl   a chunk's problems and raw teacher samples (sampling is the
        expensive step, so a kill during grading or judging does not redo it)
    chunks/NNNNN.samples.jsonl, NNNNN.problems.jsonl, NNNNN.done.json   the chunk's final
        rows and funnel; ``done.json`` is written last and marks the chunk complete
    manifests/shard-I-of-N.json   which chunks a shard has finished, and the recipe hash

Chunk k (``run.chunk_size`` prepped problems) belongs to shard k mod N. Every file is written
through a temp file and a rename, so a killed run leaves whole files or none, and ``--resume``
redoes exactly the missing chunk stages with the same per-chunk seeds. With backends that honour
those seeds (replay, inline, transformers) the final outputs are byte-identical to an
uninterrupted run's; a vLLM engine is seeded once when it starts, so the chunks a resumed vLLM
run samples again get other draws from the same distribution (see ``sampling``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

from tqdm.auto import tqdm

from data_recipes.funnel import Funnel
from redstar.config import ConfigError, to_dict
from redstar.dataio import atomic_open, read_rows, write_json, write_jsonl
from redstar.locks import file_lock


def recipe_hash(recipe) -> str:
    """What makes chunk outputs reusable: everything but export settings and progress bars."""
    d = to_dict(recipe)
    d.pop("export", None)
    d["run"] = {k: v for k, v in d["run"].items() if k not in ("progress",)}
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- prep


def prep(recipe, out: Path, progress: bool = True) -> dict:
    """Load every source, dedup and decontaminate; write prep/ atomically. Returns the funnel."""
    from data_recipes.decontam import Decontaminator
    from data_recipes.dedup import Deduper
    from data_recipes.sources import iter_source

    funnel = Funnel()
    deduper = Deduper(recipe.dedup) if recipe.dedup.enabled else None
    decontam = Decontaminator.from_config(recipe.decontam, recipe) if recipe.decontam.enabled else None
    if not recipe.sources:
        raise ConfigError(f"recipe {recipe.name!r} has no sources")
    n_kept = 0
    with atomic_open(out / "prep" / "problems.jsonl") as fk, atomic_open(out / "prep" / "dropped.jsonl") as fd:
        bar = tqdm(desc="prep: load, dedup, decontaminate", unit=" problems", disable=not progress)
        for spec in recipe.sources:
            label = spec.name or Path(spec.path).stem
            n_rows, n_loaded, first_drop = 0, 0, None
            for problem, drop in iter_source(spec, recipe):
                bar.update(1)
                n_rows += 1
                if drop is not None:
                    reason, where = drop
                    first_drop = first_drop or drop
                    funnel.add("load", False, reason, label)
                    fd.write(json.dumps({"stage": "load", "reason": reason, "where": where}) + "\n")
                    continue
                n_loaded += 1
                src, lvl = problem["source"], problem.get("difficulty")
                funnel.add("load", True, source=src, level=lvl)
                if deduper is not None:
                    dup = deduper.check(problem)
                    funnel.add("dedup", dup is None, dup and dup[0], src, lvl)
                    if dup is not None:
                        fd.write(
                            json.dumps(
                                {"stage": "dedup", "reason": dup[0], "id": problem["id"], "duplicate_of": dup[1]}
                            )
                            + "\n"
                        )
                        continue
                if decontam is not None:
                    hit = decontam.check(problem)
                    funnel.add("decontam", hit is None, hit and f"contaminated: {hit['benchmark']}", src, lvl)
                    if hit is not None:
                        fd.write(
                            json.dumps(
                                {
                                    "stage": "decontam",
                                    "reason": "contaminated",
                                    "id": problem["id"],
                                    "question": problem["question"][:200],
                                    "match": hit,
                                },
                                ensure_ascii=False,
                            )
                            + "\n"
                        )
                        continue
                fk.write(json.dumps(problem, ensure_ascii=False) + "\n")
                n_kept += 1
            check_source_loaded(spec, label, n_rows, n_loaded, first_drop)
        bar.close()
    stats = {"recipe_hash": recipe_hash(recipe), "n_problems": n_kept, "funnel": funnel.to_dict()}
    write_json(out / "prep" / "funnel.json", stats)
    return stats


PREP_LOCK = ".prep.lock"


def prep_once(recipe, out: Path, progress: bool = True) -> dict:
    """``prep`` exactly once per run directory: array tasks that start together wait on an
    flock while the first computes it, then read its result. Returns prep's stats."""
    done = out / "prep" / "funnel.json"
    if not done.is_file():
        with file_lock(out / PREP_LOCK, remove=True):
            if not done.is_file():  # nobody finished it while this task waited
                return prep(recipe, out, progress)
    return json.loads(done.read_text())


def check_source_loaded(spec, label: str, n_rows: int, n_loaded: int, first_drop) -> None:
    """A source that yields nothing usable is a broken input, not a smaller dataset: fail
    with the reason and the first offending row instead of exporting 0 rows."""
    if spec.limit == 0 or n_loaded > 0:
        return
    if n_rows == 0:
        raise ConfigError(
            f"source '{label}' ({spec.path}): no rows (an empty file or split); fix the path "
            "or remove the source from the recipe"
        )
    reason, where = first_drop
    raise ConfigError(
        f"source '{label}' ({spec.path}): all {n_rows} rows were dropped at load; first: {reason} at {where}"
    )


def iter_chunks(out: Path, chunk_size: int):
    rows = read_rows(out / "prep" / "problems.jsonl")
    for k in itertools.count():
        chunk = list(itertools.islice(rows, chunk_size))
        if not chunk:
            return
        yield k, chunk


# ----------------------------------------------------------------------------- one chunk


def _chunk_path(out: Path, k: int, what: str) -> Path:
    return out / "chunks" / f"{k:05d}.{what}"


def judge_stage(problems: list[dict], samples: list[dict], recipe, judges, k: int, funnel: Funnel) -> None:
    """Verification, rule filters, cross-check and curators on one chunk's samples (in place)."""
    from data_recipes.crosscheck import apply_crosscheck
    from data_recipes.curators import run_judges
    from data_recipes.filters import apply_filters, first_failure
    from data_recipes.verification import grade_samples

    by_id = {p["id"]: p for p in problems}
    if recipe.verify.enabled:
        for s, v in zip(samples, grade_samples(samples, by_id, recipe)):
            s["verdict"] = v
    seen: dict[str, set] = {}
    for s in samples:
        cut = recipe.sampling.drop_truncated and s.get("finish_reason") == "length"
        funnel.add("truncation", not cut, "truncated" if cut else None, s["source"], s["level"])
        if cut:  # cut off at max_new_tokens: its "final answer" is wherever the cut fell
            s["drop"] = "truncated"
    for s in samples:
        p = by_id[s["problem_id"]]
        if s["drop"] == "truncated":
            continue
        if recipe.filters.enabled:
            s["filters"] = apply_filters(s, p, recipe.filters, seen.setdefault(s["problem_id"], set()))
            fail = first_failure(s["filters"])
            s["drop"] = f"filter:{fail}" if fail else None
        funnel.add("filters", s["drop"] is None, s["drop"], s["source"], s["level"])
    if recipe.crosscheck.enabled:
        for pid, group in itertools.groupby(samples, key=lambda s: s["problem_id"]):
            group = list(group)
            reason = apply_crosscheck(by_id[pid], group, recipe.crosscheck)
            for s in group:
                if s["drop"] is None:
                    funnel.add("crosscheck", reason is None, reason, s["source"], s["level"])
                    s["drop"] = reason
    for s in samples:
        if s["drop"] is None:
            ok = (s.get("verdict") or {}).get("correct")
            funnel.add(
                "verify", bool(ok), None if ok else ("no gold" if ok is None else "incorrect"), s["source"], s["level"]
            )
    if judges:
        pool = [s for s in samples if s["drop"] is None]
        run_judges(pool, by_id, judges, recipe, k)
        for s in pool:
            if (s.get("verdict") or {}).get("correct"):
                ok = bool(s["scores"]["curator"]) or not recipe.curators.apply
                funnel.add("curators", ok, None if ok else "rejected by curators", s["source"], s["level"])


def process_chunk(k: int, recipe, out: Path, judges) -> dict:
    """Judge one sampled chunk (``sampled.jsonl``, written by ``sample_stage.sample_chunks``) and
    write its final rows and funnel; ``done.json`` last."""
    rows = list(read_rows(_chunk_path(out, k, "sampled.jsonl")))
    problems = [r["row"] for r in rows if r["kind"] == "problem"]
    samples = [r["row"] for r in rows if r["kind"] == "sample"]
    funnel = Funnel(json.loads(_chunk_path(out, k, "sampled.funnel.json").read_text()))
    judge_stage([p for p in problems if p["status"] == "sampled"], samples, recipe, judges, k, funnel)
    write_jsonl(_chunk_path(out, k, "samples.jsonl"), samples)
    write_jsonl(_chunk_path(out, k, "problems.jsonl"), problems)
    stats = {"chunk": k, "n_problems": len(problems), "n_samples": len(samples), "funnel": funnel.to_dict()}
    write_json(_chunk_path(out, k, "done.json"), stats)
    return stats


# ----------------------------------------------------------------------------- the job


def _inputs(recipe) -> list[str]:
    """The files whose contents shape the result: sources, benchmarks, replayed responses
    (absolute paths, or hub ids, since ``load_recipe`` resolved them)."""
    paths = [spec.path for spec in recipe.sources] + [b.path for b in recipe.decontam.benchmarks]
    return paths + [t.backend.path for t in recipe.sampling.teachers if t.backend.path]


def open_run(recipe, out: Path, overwrite: bool = False, sharded: bool = False):
    """The curation run directory (redstar.rundir): the key is the recipe without progress
    bars, plus the sizes of its input files. Array tasks of one run start together: each opens
    DIR under the run directory's lock, so none sees another's half-written record."""
    from redstar.rundir import open_run_dir_locked, result_key

    if overwrite and sharded:
        raise ConfigError(
            "--overwrite cannot be combined with --shard i/n or --merge (each array task "
            "would clear the others' work); clear the directory once before submitting"
        )
    return open_run_dir_locked(
        out,
        "curate",
        result_key(to_dict(recipe), ignore=("run.progress",)),
        config=to_dict(recipe),
        inputs=_inputs(recipe),
        overwrite=overwrite,
    )


def run(
    recipe,
    out_dir: str,
    resume: bool = True,
    shard: tuple[int, int] = (0, 1),
    merge_only: bool = False,
    overwrite: bool = False,
    prep_only: bool = False,
) -> dict:
    """Run this shard's part of the job; merge when unsharded (or ``merge_only``); with
    ``prep_only``, load, dedup and decontaminate only (the job an array depends on).

    The directory follows the run-directory contract: the same recipe continues where a killed
    run stopped (``resume`` is accepted for old scripts; it is always on), a finished run
    returns ``{"complete": message}``, another recipe is refused unless ``overwrite``."""
    from data_recipes.curators import Judge
    from data_recipes.exports import merge
    from data_recipes.sample_stage import sample_chunks
    from data_recipes.sampling import Backends
    from redstar.config import save_config

    out = Path(out_dir)
    i, n = shard
    if not 0 <= i < n:
        raise ConfigError(f"--shard {i}/{n}: the index must be in 0..{n - 1}")
    h = recipe_hash(recipe)
    progress = recipe.run.progress
    if prep_only and (merge_only or n > 1):
        raise ConfigError("--prep-only runs alone: without --shard or --merge")
    run_dir = open_run(recipe, out, overwrite=overwrite, sharded=n > 1 or merge_only)
    if run_dir.complete:
        return {"complete": run_dir.complete_message(), **(run_dir.record.get("summary") or {})}
    if merge_only:
        result = merge(recipe, out)
        run_dir.finish({"counts": result.get("counts", {})})
        return result
    save_config(recipe, out / "recipe.yaml")
    stats = prep_once(recipe, out, progress)
    if prep_only:
        return {"prep": stats}
    backends = Backends(recipe)
    judges = [Judge(j, recipe, backends) for j in recipe.curators.judges] if recipe.curators.enabled else []
    manifest_path = out / "manifests" / f"shard-{i}-of-{n}.json"
    done = []
    n_problems = json.loads((out / "prep" / "funnel.json").read_text())["n_problems"]
    n_chunks = -(-n_problems // recipe.run.chunk_size)
    mine = [k for k in range(n_chunks) if k % n == i]

    def pending():
        return (
            (k, problems)
            for k, problems in iter_chunks(out, recipe.run.chunk_size)
            if k % n == i and not _chunk_path(out, k, "done.json").is_file()
        )

    bar = None
    try:
        # sampling stage by stage over every pending chunk (each model's engine built once), then judging
        sample_chunks(pending, recipe, backends, lambda k, what: _chunk_path(out, k, what))
        bar = tqdm(total=len(mine), desc=f"chunks (shard {i}/{n})", unit=" chunk", disable=not progress)
        for k in mine:
            if not _chunk_path(out, k, "done.json").is_file():
                process_chunk(k, recipe, out, judges)
            done.append(k)
            write_json(
                manifest_path,
                {"recipe_hash": h, "shard": i, "of": n, "chunks_total": n_chunks, "chunks": mine, "chunks_done": done},
            )
            bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        backends.close()
    if n == 1:
        result = merge(recipe, out)
        run_dir.finish({"counts": result.get("counts", {})})
        return result
    return {"shard": i, "of": n, "chunks_done": len(done)}
