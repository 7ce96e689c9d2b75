"""Publish a trained model or a curation output to the Hugging Face Hub.

examples:
  redstar push runs/sft --repo me/redstar-sft --dry-run          # card written, every file listed, nothing sent
  redstar push runs/sft --repo me/redstar-sft --private          # final/ with its card, loss plot and eval reports
  redstar push runs/sft --repo me/redstar-sft --revision step-500 --include checkpoints tensorboard
  redstar push runs/math --repo me/redstar-math-data             # a dataset repo: load_dataset("me/redstar-math-data", "sft")

DIR is a training run (with final/), a model directory (config.json), or a curation output
(funnel.json). The card (README.md) is rewritten first: metadata, model-index from the eval runs
recorded with 'redstar card' or 'redstar eval --card', loss plot and resolved config. Checkpoints,
optimizer/scheduler/RNG states and tensorboard/ stay home unless --include names them; curation
work files (work/, chunks/, prep/) always do. With HF_HUB_OFFLINE=1 only --dry-run works.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="training run, model directory or curation output")
    p.add_argument("--repo", required=True, help="owner/name on the Hub")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--revision", default=None, help="branch to push to (created if missing)")
    p.add_argument("--dry-run", action="store_true", help="write the card and list files and sizes; send nothing")
    p.add_argument(
        "--include",
        nargs="+",
        default=[],
        choices=("checkpoints", "tensorboard", "optimizer"),
        help="also send the run's checkpoints/ or tensorboard/, or optimizer states",
    )
    p.add_argument(
        "--license", default=None, help="card licence (default: inherited from the base model, else 'other')"
    )
    p.add_argument("--datasets", nargs="+", default=None, metavar="REPO", help="hub datasets the model was trained on")
    p.add_argument("--message", default=None, help="commit message")


def run(args: argparse.Namespace) -> int:
    from redstar.cliargs import options
    from redstar.release.push import push

    push(
        args.dir,
        args.repo,
        **options(args, "private", "revision", "dry_run", "include", "license", "datasets", "message"),
    )
    return 0
