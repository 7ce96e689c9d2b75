"""(Re)write the card of a trained model or a curation output, and add eval scores to it.

examples:
  redstar card runs/sft --eval runs/eval/aime24 runs/eval/math-hard   # scores into model-index
  redstar card runs/demo/dpo --eval runs/demo/eval/trained/*
  redstar card runs/math                                              # dataset card of a curation output

For a model, each --eval directory (a 'redstar eval' output) adds one model-index result per
benchmark: the task, the dataset (type, name, config, split), pass@1, pass@k, maj@k and rm@k
as percentages, and a source naming the command. A later run of the same benchmark replaces
the earlier one. An eval run that generated with another model (the embedded default, or
another local model directory) is skipped with one line; when every --eval run is another
model's, the command stops with an error.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="training run (with final/), model directory, or curation output")
    p.add_argument("--eval", nargs="+", default=[], metavar="EVAL_DIR", help="redstar eval output directories")
    p.add_argument("--license", default=None, help="card licence")
    p.add_argument("--datasets", nargs="+", default=None, metavar="REPO", help="hub datasets the model was trained on")
    p.add_argument("--repo", default=None, help="owner/name the card is for (links point at it)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from redstar.config import ConfigError
    from redstar.release.push import detect_kind

    kind = detect_kind(Path(args.dir))
    if kind == "dataset":
        if args.eval:
            raise ConfigError(f"{args.dir}: a curation output has no eval scores; --eval applies to models")
        from redstar.release.dataset_card import refresh_dataset_card

        print(f"dataset card: {refresh_dataset_card(args.dir, license=args.license)}")
        return 0
    from redstar.release.eval_results import add_eval_results, other_model
    from redstar.release.model_card import refresh_model_card, resolve_model_dir
    from redstar.release.model_index import read_eval_metrics

    if args.eval:
        model_dir, _ = resolve_model_dir(args.dir)
        dirs, metrics = [], []
        for d in args.eval:
            m = read_eval_metrics(d)
            other = other_model(m, model_dir)
            if other:  # e.g. the demo's geometry runs, next to the text model's, under one glob
                print(f"skipped {d}: its scores are for model {other}, not {model_dir}", file=sys.stderr)
                continue
            dirs.append(d)
            metrics.append(m)
        if not dirs:
            raise ConfigError(f"none of the {len(args.eval)} --eval runs scored {model_dir} (each was skipped)")
        entries = add_eval_results(model_dir, dirs, metrics)
        for e in entries:
            print(f"{e['key']}: " + ", ".join(f"{m['type']} {m['value']:.2f}" for m in e["metrics"]))
    card = refresh_model_card(args.dir, repo=args.repo, license=args.license, datasets=args.datasets)
    print(f"model card: {card}")
    return 0
