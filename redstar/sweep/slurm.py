"""Slurm scripts for a sweep: one array task per training cell, an eval array that depends on it,
and a report job after both.

    DIR/train_array.sbatch   task i trains cell i (SFT through launch/slurm_sft.sbatch, then DPO)
    DIR/eval_array.sbatch    task j scores checkpoint j (base models first) on every benchmark
    DIR/submit.sh            sbatch train; sbatch --dependency=afterany:train eval; then the report
    DIR/tasks.tsv            task -> cell / checkpoint, for reading squeue output

Every task skips what is already there, so a resubmitted array redoes nothing finished. Each
script takes ``--dry-run`` to print the commands of task ``$SLURM_ARRAY_TASK_ID`` instead of
running them.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from redstar.dataio import atomic_write_text
from redstar.sweep.config import SweepConfig
from redstar.sweep.plan import Plan

LAUNCH = Path(__file__).resolve().parents[2] / "launch"


def _q(args: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)


def _header(
    name: str, job: str, n: int, logs: Path, sbatch: list[str], cwd: str, setup: list[str], usage: str
) -> list[str]:
    return [
        "#!/usr/bin/env bash",
        f"# Sweep {name}: {usage}",
        f"#   SLURM_ARRAY_TASK_ID=0 bash {job} --dry-run    # print what task 0 runs",
        f"#SBATCH --job-name=redstar-sweep-{name}",
        f"#SBATCH --array=0-{n - 1}",
        f"#SBATCH --output={logs}/%x-%A_%a.out",
        *[f"#SBATCH {s}" for s in sbatch],
        "set -euo pipefail",
        'DRY=0; if [[ "${1:-}" == "--dry-run" ]]; then DRY=1; fi',
        "TASK=${SLURM_ARRAY_TASK_ID:?set SLURM_ARRAY_TASK_ID (sbatch does)}",
        f"cd {shlex.quote(cwd)}",
        *setup,
        "# each command is printed under --dry-run, else run; a finished output skips it",
        'run() { if [[ $DRY == 1 ]]; then printf "%q " "$@"; echo; else "$@"; fi; }',
        'case "$TASK" in',
    ]


def _footer() -> list[str]:
    return ['  *) echo "no task $TASK in this array" >&2; exit 2 ;;', "esac", ""]


def stage_line(stage: str, argv: list[str]) -> str:
    """The launcher for one stage: SFT through launch/slurm_sft.sbatch (multi-node torchrun),
    DPO as one torchrun over the task's GPUs."""
    args = argv[1:]
    if stage == "sft" and (LAUNCH / "slurm_sft.sbatch").is_file():
        return "run bash " + _q([str(LAUNCH / "slurm_sft.sbatch"), *args])
    return 'run torchrun --nproc_per_node="${SLURM_GPUS_ON_NODE:-1}" -m redstar.cli ' + _q([stage, *args])


def write_slurm(cfg: SweepConfig, plan: Plan, sweep_file: str, out: Path, dest: Path) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    logs = (dest / "logs").resolve()
    logs.mkdir(exist_ok=True)
    cwd = os.getcwd()
    train = dest / "train_array.sbatch"
    lines = _header(
        cfg.name,
        str(train),
        len(plan.cells),
        logs,
        cfg.slurm.train_sbatch,
        cwd,
        cfg.slurm.setup,
        f"{len(plan.cells)} training cells, one per array task",
    )
    tasks = ["array\ttask\tunit"]
    for i, c in enumerate(plan.cells):
        lines.append(f"  {i})  # cell {c.id}")
        for stage in cfg.stages:
            done = f"{c.final(stage)}/config.json"
            lines.append(
                f"    if [[ -f {shlex.quote(done)} ]]; then echo {shlex.quote(f'{c.id} {stage}: done')}; "
                f"else {stage_line(stage, c.argv[stage])}; fi"
            )
        lines.append("    ;;")
        tasks.append(f"train\t{i}\t{c.id}")
    atomic_write_text(train, "\n".join(lines + _footer()))
    # eval: one task per checkpoint, its benchmarks one after another
    groups: dict[str, list] = {}
    for e in plan.evals:
        groups.setdefault(e.checkpoint, []).append(e)
    ev = dest / "eval_array.sbatch"
    lines = _header(
        cfg.name,
        str(ev),
        len(groups),
        logs,
        cfg.slurm.eval_sbatch,
        cwd,
        cfg.slurm.setup,
        f"{len(groups)} checkpoints to score, one per array task (after the training array)",
    )
    for j, (ckpt, runs) in enumerate(groups.items()):
        lines.append(f"  {j})  # checkpoint {ckpt}")
        for e in runs:
            body = "run python -m redstar.cli " + _q(e.argv)
            if e.cell is not None:  # a failed cell leaves no model: say so, score the rest
                need = f"{e.model_path}/config.json"
                body = (
                    f"if [[ $DRY == 0 && ! -f {shlex.quote(need)} ]]; then echo {shlex.quote(f'{ckpt}: no model, skipped')} >&2; "
                    f"else {body}; fi"
                )
            lines.append(
                f"    if [[ -f {shlex.quote(e.out + '/metrics.json')} ]]; then echo {shlex.quote(f'{e.id}: done')}; "
                f"else {body}; fi"
            )
        lines.append("    ;;")
        tasks.append(f"eval\t{j}\t{ckpt}")
    atomic_write_text(ev, "\n".join(lines + _footer()))
    report_cmd = _q(["python", "-m", "redstar.cli", "sweep", sweep_file, "--out", str(out), "--report"])
    submit = dest / "submit.sh"
    atomic_write_text(
        submit,
        "\n".join(
            [
                "#!/usr/bin/env bash",
                f"# Submit sweep {cfg.name}: training array, then the eval array once every training task has",
                "# ended (afterany: a failed cell does not hold back the others), then the report.",
                "set -euo pipefail",
                f"cd {shlex.quote(cwd)}",
                f"TRAIN=$(sbatch --parsable {shlex.quote(str(train))})",
                f"EVAL=$(sbatch --parsable --dependency=afterany:$TRAIN {shlex.quote(str(ev))})",
                (
                    f"REPORT=$(sbatch --parsable --dependency=afterany:$EVAL --job-name=redstar-sweep-{cfg.name}-report "
                    f"--output={logs}/report-%j.out --wrap {shlex.quote(' '.join(cfg.slurm.setup + [report_cmd]))})"
                ),
                'echo "train $TRAIN, eval $EVAL, report $REPORT"',
                "",
            ]
        ),
    )
    atomic_write_text(dest / "tasks.tsv", "\n".join(tasks) + "\n")
    for p in (train, ev, submit):
        p.chmod(0o755)
    return [train, ev, submit]
