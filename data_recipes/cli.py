"""Run a curation recipe: raw problems in; verified long-CoT SFT rows, preference pairs and RL
prompts out, with a funnel report that explains every drop.

examples:
  redstar curate data_recipes/recipes/demo.yaml --out runs/demo_curate
  redstar curate data_recipes/recipes/redstar_math.yaml --out runs/math sampling.teachers.0.n=16
  redstar curate data_recipes/recipes/redstar_math.yaml --out runs/math    # again after a kill: resumes
  redstar curate RECIPE.yaml --out runs/big --shard $SLURM_ARRAY_TASK_ID/64   # one array task
  redstar curate RECIPE.yaml --out runs/big --merge                           # after all tasks
  redstar curate RECIPE.yaml --out runs/big --prep-only                       # load, dedup, decontaminate only
  redstar curate RECIPE.yaml --out runs/big --slurm runs/big/jobs --shards 64 # prep, array, merge scripts

DIR receives sft.jsonl, preferences.jsonl, rl_prompts.jsonl, samples.jsonl (every sample with
its verdict and filter results), funnel.json, report.md and funnel.png. Run again, the same
recipe continues a killed run (finished chunks are kept, nothing is lost or duplicated) or says
"already complete"; another recipe into DIR is refused naming the changed keys, unless --overwrite. A recipe whose teachers
use the replay backend re-runs a curation from stored responses without a model.
"""

from __future__ import annotations

import argparse
import re

from redstar.cliargs import add_run_dir_arguments
from redstar.config import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", help="recipe YAML (data_recipes/recipes/*.yaml)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. run.chunk_size=16")
    add_run_dir_arguments(
        parser,
        out_help="output directory",
        resume_help="continue a killed run in DIR (the default: the same recipe always continues)",
        overwrite_help="empty DIR first (it holds another recipe's run)",
    )
    parser.add_argument("--shard", default="0/1", help="i/n: run chunks k with k mod n == i (no merge when n > 1)")
    parser.add_argument("--merge", action="store_true", help="join finished shards into the final outputs")
    parser.add_argument(
        "--prep-only",
        action="store_true",
        help="load, dedup and decontaminate, then stop (the job a --shard array depends on)",
    )
    parser.add_argument(
        "--slurm",
        metavar="DIR",
        default=None,
        help="write prep.sbatch, array.sbatch, merge.sbatch and submit.sh (afterok dependencies) to DIR; run nothing",
    )
    parser.add_argument("--shards", type=int, default=8, help="array tasks in the --slurm scripts")
    parser.add_argument("--gpus-per-task", type=int, default=8, help="GPUs per array task in the --slurm scripts")
    parser.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="OPTION",
        help="an extra #SBATCH line for every --slurm script, e.g. --sbatch=--partition=gpu (repeatable)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved recipe, each key with its help, and exit"
    )
    from data_recipes.recipe import Recipe
    from redstar.config import describe_config

    parser.epilog = (parser.epilog + "\n\n" if parser.epilog else "") + describe_config(Recipe)
    # key=value overrides may follow the options (RECIPE --out DIR k=v): plain parse_args would
    # reject them as unrecognised, intermixed parsing assigns them to the positionals
    parser.parse_args = parser.parse_intermixed_args  # type: ignore[method-assign]


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise ConfigError(f"--shard {text!r} must look like i/n with 0 <= i < n (e.g. 3/16)")
    return int(m.group(1)), int(m.group(2))


def funnel_drops(funnel: dict) -> str:
    """Every stage's drops on one line: 'load 2 (malformed row 1, missing image 1); ...'."""
    parts = []
    for stage, st in funnel.items():
        dropped = st.get("dropped") or {}
        if dropped:
            why = ", ".join(f"{k} {v}" for k, v in dropped.items())
            parts.append(f"{stage} {sum(dropped.values())} ({why})")
    return "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    from data_recipes.pipeline import run as run_pipeline
    from data_recipes.recipe import load_recipe

    shard = parse_shard(args.shard)
    overrides = list(args.overrides) + (["run.progress=false"] if args.no_progress else [])
    recipe = load_recipe(args.recipe, overrides)
    if getattr(args, "print_config", False):
        from redstar.config import annotated_yaml

        print(f"# schema: data_recipes.recipe:Recipe\n{annotated_yaml(recipe)}")
        return 0
    if getattr(args, "slurm", None):
        from data_recipes.slurm import write_scripts

        files = write_scripts(
            args.recipe, list(args.overrides), args.out, args.slurm, args.shards, args.sbatch, args.gpus_per_task
        )
        print(f"wrote {', '.join(f.name for f in files)} to {args.slurm}; submit with: bash {files[-1]}")
        return 0
    result = run_pipeline(
        recipe,
        args.out,
        shard=shard,
        merge_only=args.merge,
        overwrite=args.overwrite,
        prep_only=getattr(args, "prep_only", False),
    )
    if "complete" in result:
        print(result["complete"])
    elif "prep" in result:
        print(
            f"prep: {result['prep']['n_problems']} problems after load, dedup and decontamination -> "
            f"{args.out}/prep; now run the --shard i/n tasks"
        )
    elif "counts" in result:
        c = result["counts"]
        print(
            f"{recipe.name}: {c['sft']} SFT rows, {c['preferences']} preference pairs, "
            f"{c['rl_prompts']} RL prompts from {c['samples']} samples -> {args.out}/report.md"
        )
        drops = funnel_drops(result.get("funnel") or {})
        if drops:
            print("dropped: " + drops)
    else:
        print(
            f"shard {result['shard']}/{result['of']}: {result['chunks_done']} chunks done; "
            f"run with --merge when every shard has finished"
        )
    return 0
