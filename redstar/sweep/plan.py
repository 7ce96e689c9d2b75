"""The sweep's units of work: training cells (one per model x subset kind x size x seed) and eval
runs (one per checkpoint x benchmark, base models as size 0), each a plain redstar command.

    plan = build_plan(cfg, Path("runs/sweep"))
    plan.cells[0].stage_argv("sft")   # ["sft", "configs/sft_demo.yaml", ..., "out=runs/sweep/cells/<id>/sft"]

Paths in the commands are written as the sweep was given them (relative to where it runs), so
the report's commands can be pasted in the same directory.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from redstar.sweep.config import SweepConfig
from redstar.sweep.subsets import subset_name


@dataclass
class Cell:
    id: str  # <model>_<kind>-n<size>-s<seed>
    model: str  # model label
    model_path: str
    kind: str
    size: int
    seed: int
    data: str  # the cell's training rows (shared by every model)
    dir: str  # cells/<id>
    control_of: list[str] = field(default_factory=list)  # kinds this random cell is the control of
    argv: dict[str, list[str]] = field(default_factory=dict)  # stage -> redstar argv

    def final(self, stage: str) -> str:
        return f"{self.dir}/{stage}/final"

    def command(self, stage: str) -> str:
        return "redstar " + " ".join(shlex.quote(a) for a in self.argv[stage])


@dataclass
class EvalRun:
    id: str  # <checkpoint label>/<benchmark>
    checkpoint: str  # <model>_base or <cell id>/<stage>
    cell: str | None  # None for a base model
    stage: str  # "base", "sft" or "dpo"
    model: str  # model label
    benchmark: str
    model_path: str
    out: str
    argv: list[str]

    def command(self) -> str:
        return "redstar " + " ".join(shlex.quote(a) for a in self.argv)


@dataclass
class Plan:
    cells: list[Cell]
    evals: list[EvalRun]
    subsets: list[tuple[str, int, int]]  # (kind, size, seed) to write
    preferences: list[int] = field(default_factory=list)  # seeds whose DPO rows to write


def decoding_args(cfg: SweepConfig) -> list[str]:
    """The eval flags every checkpoint is scored with."""
    e = cfg.eval
    args = [
        "--max-new-tokens",
        str(e.max_new_tokens),
        "--samples",
        str(e.samples),
        "--seed",
        str(e.seed),
        "--batch-size",
        str(e.batch_size),
    ]
    if e.temperature is not None:
        args += ["--temperature", str(e.temperature)]
    if e.top_p is not None:
        args += ["--top-p", str(e.top_p)]
    if e.backend:
        args += ["--backend", e.backend]
    if e.system:
        args += ["--system", e.system]
    if e.limit > 0:
        args += ["--limit", str(e.limit)]
    return args + list(e.args)


def preference_file(out: Path, seed: int) -> str:
    return str(out / "data" / f"preferences-s{seed}.jsonl")


def build_plan(cfg: SweepConfig, out: Path) -> Plan:
    kinds = list(cfg.subsets)
    if any(k != "random" for k in kinds) and "random" not in kinds:
        kinds.append("random")  # the control of every other kind
    controls = [k for k in cfg.subsets if k != "random"]
    sizes = sorted(cfg.sizes)
    cells: list[Cell] = []
    subsets: list[tuple[str, int, int]] = []
    for seed in cfg.seeds:
        for kind in kinds:
            for size in sizes:
                subsets.append((kind, size, seed))
    for m in cfg.models:
        for seed in cfg.seeds:
            for kind in kinds:
                for size in sizes:
                    sub = subset_name(kind, size, seed)
                    cid = f"{m.name}_{sub}"
                    cell = Cell(
                        cid,
                        m.name,
                        m.path,
                        kind,
                        size,
                        seed,
                        str(out / "data" / f"{sub}.jsonl"),
                        str(out / "cells" / cid),
                        control_of=controls if kind == "random" else [],
                    )
                    start = m.path
                    for stage in cfg.stages:
                        spec = getattr(cfg, stage)
                        if stage == "dpo" and "sft" in cfg.stages:
                            data = preference_file(out, seed)
                        else:
                            data = cell.data
                        # the cell's keys come last so they win over the stage's overrides
                        cell.argv[stage] = [
                            stage,
                            spec.config,
                            *spec.overrides,
                            f"model={start}",
                            f"data.train=[{data}]",
                            f"out={cell.dir}/{stage}",
                            f"train.seed={seed}",
                        ]
                        start = cell.final(stage)
                    cells.append(cell)
    evals: list[EvalRun] = []
    dec = decoding_args(cfg)

    def add(checkpoint: str, cell: str | None, stage: str, model: str, path: str) -> None:
        for b in cfg.eval.benchmarks:
            d = str(out / "evals" / checkpoint / b.name)
            argv = [
                "eval",
                "--benchmark",
                b.format or b.name,
                "--data",
                b.data,
                "--model",
                path,
                "--out",
                d,
                *dec,
                *b.args,
            ]
            evals.append(EvalRun(f"{checkpoint}/{b.name}", checkpoint, cell, stage, model, b.name, path, d, argv))

    if cfg.eval.include_base:
        for m in cfg.models:
            add(f"{m.name}_base", None, "base", m.name, m.path)
    for c in cells:
        for stage in cfg.stages:
            add(f"{c.id}/{stage}", c.id, stage, c.model, c.final(stage))
    prefs = list(cfg.seeds) if ("dpo" in cfg.stages and "sft" in cfg.stages) else []
    return Plan(cells, evals, subsets, prefs)
