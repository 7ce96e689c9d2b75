"""Slurm scripts for a sharded curation run: prep once, then the array, then the merge.

    write_scripts("recipes/big.yaml", ["run.chunk_size=512"], "runs/big", "runs/big/slurm", shards=64)

writes into the Slurm directory:

    prep.sbatch    redstar curate RECIPE --out OUT --prep-only    (CPU: load, dedup, decontaminate)
    array.sbatch   --array=0-(N-1): redstar curate RECIPE --out OUT --shard $SLURM_ARRAY_TASK_ID/N
    merge.sbatch   redstar curate RECIPE --out OUT --merge
    submit.sh      sbatch prep; the array with --dependency=afterok:PREP; the merge with
                   --dependency=afterok:ARRAY (every task of the array must succeed)

The array tasks find prep done and read it; were one started by hand before prep finished, it
would wait on prep's lock rather than compute it again (``pipeline.prep_once``).
"""

from __future__ import annotations

import shlex
from pathlib import Path


def _script(name: str, options: list[str], command: str, extra: list[str]) -> str:
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}"]
    lines += [f"#SBATCH {o}" for o in options + extra]
    lines += ["", "set -euo pipefail", command, ""]
    return "\n".join(lines)


def write_scripts(
    recipe: str,
    overrides: list[str],
    out: str,
    dest: str,
    shards: int,
    sbatch: list[str] | None = None,
    gpus_per_task: int = 8,
) -> list[Path]:
    """The four files above in ``dest``; ``sbatch``: extra ``#SBATCH`` options for every job
    (``--partition=gpu``, ``--account=x``, ``--time=48:00:00``)."""
    from redstar.config import ConfigError
    from redstar.dataio import atomic_write_text

    if shards < 1:
        raise ConfigError(f"--shards must be >= 1, got {shards}")
    extra = []
    for opt in sbatch or []:
        if not opt.startswith("--") or "\n" in opt:
            raise ConfigError(f"--sbatch {opt!r}: give one sbatch option such as --partition=gpu")
        extra.append(opt)
    recipe_abs, out_abs = str(Path(recipe).resolve()), str(Path(out).resolve())
    base = ["redstar", "curate", recipe_abs, *overrides, "--out", out_abs, "--no-progress"]
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    logs = f"--output={d.resolve()}/%x-%A_%a.log"  # beside the scripts: OUT stays the run's alone
    # every job runs where the scripts were written: a relative path in an override is relative
    # to the current directory (``recipe.load_recipe``) and names the same file in each job
    cwd = f"--chdir={Path.cwd()}"
    files = {
        "prep.sbatch": _script("curate-prep", ["--ntasks=1", logs, cwd], shlex.join(base + ["--prep-only"]), extra),
        "array.sbatch": _script(
            "curate-shard",
            [f"--array=0-{shards - 1}", "--ntasks=1", f"--gres=gpu:{gpus_per_task}", logs, cwd],
            shlex.join(base) + f' --shard "${{SLURM_ARRAY_TASK_ID}}/{shards}"',  # expanded by bash
            extra,
        ),
        "merge.sbatch": _script("curate-merge", ["--ntasks=1", logs, cwd], shlex.join(base + ["--merge"]), extra),
    }
    here = shlex.quote(str(d.resolve()))
    files["submit.sh"] = "\n".join(
        [
            "#!/bin/bash",
            f"# Curation of {recipe_abs} into {out_abs}: prep once, {shards} shards, then the merge.",
            "set -euo pipefail",
            f"cd {here}",
            "prep=$(sbatch --parsable prep.sbatch)",
            'array=$(sbatch --parsable --dependency=afterok:"$prep" array.sbatch)',
            'merge=$(sbatch --parsable --dependency=afterok:"$array" merge.sbatch)',
            'echo "prep $prep -> array $array -> merge $merge"',
            "",
        ]
    )
    written = []
    for name, text in files.items():
        atomic_write_text(d / name, text)
        (d / name).chmod(0o755)
        written.append(d / name)
    return written
