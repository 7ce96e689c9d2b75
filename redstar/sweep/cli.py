"""redstar sweep: a data-scaling study as one command (base models x data sizes x subset kinds x
seeds, trained by stage, each checkpoint scored on the same benchmarks).

    redstar sweep SWEEP.yaml --out DIR [key=value ...] [--dry-run] [--resume] [--slurm DIR] [--report]

Steps, each cell a plain `redstar sft` (then `redstar dpo`) run and each score a plain
`redstar eval` run, so any of them can be re-run alone (report.md lists every command):
  1. data     nested, seeded subsets of the source (DIR/data/<kind>-n<size>-s<seed>.jsonl, written
              once, with a manifest: source, size, prompts, tokens, seed)
  2. train    the cells, `jobs` at once (--slurm DIR: write an array job instead, one task per cell)
  3. eval     every checkpoint, and each base model as size 0, with the same decoding settings
  4. report   DIR/sweep.jsonl (one row per checkpoint and benchmark: metric, value, n_items, bootstrap
              95% interval), DIR/cells.jsonl, DIR/report.md, DIR/scaling.png, DIR/hard_vs_random.png

A failed cell is reported and the others go on (exit status 1 at the end). --resume continues a
killed sweep: finished cells and eval runs are skipped. The sweep directory follows the run-directory
contract: a finished sweep says so and exits, a changed config or input is refused naming the
changed keys, --overwrite empties the directory and starts over.

examples:
  redstar sweep configs/sweep_demo.yaml --out runs/sweep_demo
  redstar sweep configs/sweep_demo.yaml --out runs/sweep_demo --resume
  redstar sweep configs/sweep_redstar_scaling.yaml --out runs/scaling --dry-run
  redstar sweep configs/sweep_redstar_scaling.yaml --out runs/scaling --slurm runs/scaling/slurm
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def add_arguments(parser) -> None:
    from redstar.config import add_config_arguments

    add_config_arguments(parser, "redstar.sweep.config:SweepConfig", "sizes=[4000,21000] seeds=[0,1]")
    from redstar.cliargs import add_run_dir_arguments

    add_run_dir_arguments(
        parser, out_help="sweep directory", resume_help="continue a sweep in --out, skipping finished cells"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the cells and their commands; run nothing (with --slurm: write the scripts, not the data)",
    )
    parser.add_argument(
        "--slurm", metavar="DIR", help="write the data and Slurm array scripts to DIR instead of training here"
    )
    parser.add_argument(
        "--report", action="store_true", help="only collect results and write the report (after the Slurm jobs)"
    )


def _run(argv: list[str], log: Path, threads: int = 0) -> tuple[int, float]:
    """One redstar command in a child process; its output goes to ``log`` and, shortened, here.
    ``threads`` > 0 sets the child's CPU threads (OMP_NUM_THREADS, which torch reads)."""
    env = dict(
        os.environ,
        HF_HUB_OFFLINE=os.environ.get("HF_HUB_OFFLINE", "1"),
        TOKENIZERS_PARALLELISM="false",
        MPLBACKEND="Agg",
    )
    if threads > 0:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(log, "a") as f:
        f.write(f"$ redstar {' '.join(argv)}\n")
        f.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "redstar.cli", *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        for line in proc.stdout:
            f.write(line)
            if "error" in line.lower() or line.startswith("[") or "accuracy" in line:
                print("    " + line.rstrip()[-160:], flush=True)
        rc = proc.wait()
    return rc, time.time() - start


def _run_all(jobs: list, work, workers: int) -> list[str]:
    """``work(job)`` for every job, ``workers`` at once (each job is a child process, so threads
    suffice); returns the failures the jobs reported, in the jobs' order."""
    if workers <= 1 or len(jobs) <= 1:
        results = [work(j) for j in jobs]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(work, jobs))
    return [f for f in results if f]


def _train_cell(cfg, out: Path, total: int, i: int, c, cmds: list[str]) -> str | None:
    """One cell's stages, in order; returns its failure line, or None."""
    from redstar.sweep import state

    unit = f"cells/{c.id}"
    print(f"\n[{i}/{total}] cell {c.id}", flush=True)
    state.start_unit(out, unit, cmds)
    wall, rc, failure = 0.0, 0, None
    for s in cfg.stages:
        if Path(c.final(s), "config.json").is_file():
            continue  # an earlier stage finished before a kill
        print("    " + c.command(s), flush=True)
        rc, secs = _run(c.argv[s], Path(c.dir) / f"{s}.log", cfg.threads)
        wall += secs
        if rc != 0:
            failure = f"cell {c.id}: exit {rc}; log {Path(c.dir) / (s + '.log')}; re-run: {c.command(s)}"
            print("    FAILED: " + failure, flush=True)
            break
    state.finish_unit(out, unit, cmds, status="failed" if rc else "done", wall_seconds=round(wall, 2))
    if not rc:
        print(f"    cell {c.id}: done in {wall:.0f} s", flush=True)
    return failure


def _eval_one(cfg, out: Path, total: int, i: int, e) -> str | None:
    """One eval run; returns its failure line, or None."""
    from redstar.sweep import state

    unit, cmds = f"evals/{e.id}", [e.command()]
    print(f"\n[eval {i}/{total}] {e.id}", flush=True)
    state.start_unit(out, unit, cmds)
    log = Path(e.out).parent / f"{e.benchmark}.log"
    rc, secs = _run(e.argv, log, cfg.threads)
    failure = None
    if rc != 0:
        failure = f"eval {e.id}: exit {rc}; log {log}; re-run: {e.command()}"
        print("    FAILED: " + failure, flush=True)
    state.finish_unit(out, unit, cmds, status="failed" if rc else "done", wall_seconds=round(secs, 2))
    return failure


def _write_data(cfg, plan, out: Path) -> list[str]:
    """Every cell's subset (once), and the DPO rows; returns the cells it could not fill."""
    from redstar.sweep.subsets import TokenCounter, available, load_pool, write_subset

    first = cfg.stages[0]
    pool = load_pool(cfg.source, rows="sft" if first == "sft" else "preference")
    tokens = TokenCounter(cfg.tokenizer)
    short = []
    for kind, size, seed in plan.subsets:
        have = available(pool, kind)
        if size > have:
            short.append(f"{kind} n={size} seed={seed}: the source has {have} {kind} rows")
            continue
        write_subset(pool, kind, size, seed, out / "data", tokens)
    if plan.preferences:
        pref_src = cfg.preferences or cfg.source
        prefs = load_pool(pref_src, rows="preference")
        n = cfg.preference_rows or len(prefs.rows)
        for seed in plan.preferences:
            write_subset(prefs, "random", n, seed, out / "data", tokens, name=f"preferences-s{seed}")
    print(
        f"data: {len(plan.subsets) - len(short)} subsets in {out / 'data'}"
        + (f"; {len(short)} larger than the source (not run)" if short else ""),
        flush=True,
    )
    return short


def _print_plan(cfg, plan) -> None:
    print(
        f"sweep {cfg.name}: {len(plan.cells)} cells ({len(cfg.models)} models x {len({c.kind for c in plan.cells})} "
        f"kinds x {len(cfg.sizes)} sizes x {len(cfg.seeds)} seeds; stages {' -> '.join(cfg.stages)}), "
        f"{len(plan.evals)} eval runs"
    )
    for c in plan.cells:
        print(f"cell {c.id}")
        for s in cfg.stages:
            print("  " + c.command(s))
    for e in plan.evals:
        print(f"eval {e.id}\n  {e.command()}")


def run(args) -> int:
    from redstar.config import ConfigError, config_from_args
    from redstar.dataio import write_jsonl
    from redstar.sweep import state
    from redstar.sweep.collect import cell_rows, collect
    from redstar.sweep.config import SweepConfig, check
    from redstar.sweep.plan import build_plan
    from redstar.sweep.report import write_report

    cfg = config_from_args(SweepConfig, args)
    if cfg is None:
        return 0
    check(cfg, args.config)
    out = Path(args.out)
    plan = build_plan(cfg, out)
    if args.dry_run:
        _print_plan(cfg, plan)
        if args.slurm:
            from redstar.sweep.slurm import write_slurm

            for p in write_slurm(cfg, plan, args.config, out, Path(args.slurm)):
                print(f"wrote {p}")
        return 0
    failures: list[str] = []
    skipped: list[str] = []
    if not args.report:
        run_dir = state.open_sweep(out, cfg, resume=args.resume, overwrite=args.overwrite)
        if run_dir.complete and not args.slurm:
            print(run_dir.complete_message())
            return 0
        short = _write_data(cfg, plan, out)
        skipped += short
        missing = {str(Path(c.data)) for c in plan.cells if not Path(c.data).is_file()}
        if args.slurm:
            from redstar.sweep.slurm import write_slurm

            for c in plan.cells:
                cmds = [c.command(s) for s in cfg.stages]
                state.check_unit(out, f"cells/{c.id}", cmds, [f"{c.final(s)}/config.json" for s in cfg.stages])
                state.start_unit(out, f"cells/{c.id}", cmds)
            paths = write_slurm(cfg, plan, args.config, out, Path(args.slurm))
            print("\n".join(f"wrote {p}" for p in paths))
            print(f"submit with: bash {paths[-1]}")
            return 0
        # ---- train every cell, then eval every checkpoint that exists (cfg.jobs at once)
        todo = []
        for i, c in enumerate(plan.cells, 1):
            cmds = [c.command(s) for s in cfg.stages]
            if c.data in missing:
                print(
                    f"\n[{i}/{len(plan.cells)}] cell {c.id}: not run (its subset is larger than the source)", flush=True
                )
            elif state.check_unit(out, f"cells/{c.id}", cmds, [f"{c.final(s)}/config.json" for s in cfg.stages]):
                print(f"\n[{i}/{len(plan.cells)}] cell {c.id}: already done; skipped", flush=True)
            else:
                todo.append((i, c, cmds))
        failures += _run_all(todo, lambda job: _train_cell(cfg, out, len(plan.cells), *job), cfg.jobs)
        todo = []
        for i, e in enumerate(plan.evals, 1):
            if e.cell is not None and not Path(e.model_path, "config.json").is_file():
                print(f"\n[eval {i}/{len(plan.evals)}] {e.id}: no model (its cell did not finish); skipped", flush=True)
            elif state.check_unit(out, f"evals/{e.id}", [e.command()], [f"{e.out}/metrics.json"]):
                print(f"\n[eval {i}/{len(plan.evals)}] {e.id}: already done; skipped", flush=True)
            else:
                todo.append((i, e))
        failures += _run_all(todo, lambda job: _eval_one(cfg, out, len(plan.evals), *job), cfg.jobs)
    else:
        from redstar.rundir import read_record

        if (read_record(out) or {}).get("command") != "sweep":
            raise ConfigError(f"{out}: no sweep here to report on (run the sweep, or --slurm, first)")
        state.open_sweep(out, cfg, resume=True, create=False)  # refuses a config other than the sweep's
    # ---- collect and report
    rows = collect(plan, cfg.eval.metric, cfg.eval.bootstrap, seed=cfg.eval.seed)
    cells = cell_rows(plan, out, cfg.stages)
    write_jsonl(out / "sweep.jsonl", rows)
    write_jsonl(out / "cells.jsonl", cells)
    for c in cells:
        if c["status"] == "failed" and not any(f.startswith(f"cell {c['cell']}:") for f in failures):
            failures.append(f"cell {c['cell']}: failed (see {Path(out, 'cells', c['cell'])})")
    report = write_report(
        out, cfg.name, rows, cells, [b.name for b in cfg.eval.benchmarks], cfg.stages, plan.evals, failures, skipped
    )
    print(f"\n{len(rows)} results -> {out / 'sweep.jsonl'}; report {report}")
    if failures:
        print(f"{len(failures)} failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    if not args.report and not skipped:
        run_dir.finish({"cells": len(cells), "results": len(rows)})
    return 0
