"""Outcome reward models: train one, score samples with it, report rm@k.

  redstar rm train CONFIG.yaml [key=value ...]
      train on verified curation samples (balanced groups, listwise Bradley-Terry); writes
      OUT/final (a Hugging Face directory), OUT/rm_eval.json, OUT/metrics.jsonl
  redstar rm score --model DIR --input samples.jsonl [--problems problems.jsonl] --out scored.jsonl
      add scores.rm to every Sample row (batched, progress bar, atomic output): what the
      reward-threshold curator and rm@k read. Rows {"id", "responses": [...]} (redstar eval
      --responses) get "scores": one reward per response, which gives eval its rm@k
  redstar rm rmk --input scored.jsonl --out DIR [--k 1 2 4 8] [--seeds 100]
      rm@k next to maj@k and the pass@k oracle: DIR/rmk.json, rmk.md, rmk.png

examples:
  redstar rm train configs/rm_tiny.yaml data.samples=[runs/math/samples.jsonl] out=runs/rm
  redstar rm score --model runs/rm/final --input runs/math/samples.jsonl \\
      --problems runs/math/prep/problems.jsonl --out runs/math/samples.rm.jsonl
  redstar rm rmk --input runs/math/samples.rm.jsonl --out runs/rmk --k 1 2 4 8
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from redstar.config import add_config_arguments

    sub = parser.add_subparsers(dest="rm_command", metavar="{train,score,rmk}", required=True)

    t = sub.add_parser("train", help="train a reward model from a YAML config")
    add_config_arguments(t, "redstar.rm.train:RMTrainConfig", "train.lr=2e-6 data.n=8")
    from redstar.rundir import add_overwrite_argument

    add_overwrite_argument(t)

    s = sub.add_parser("score", help="score Sample rows with a reward model")
    s.add_argument("--model", required=True, help="reward-model directory (redstar rm train output)")
    s.add_argument("--input", required=True, help="Sample rows, or {id, responses} rows: JSONL / JSON / Parquet / dir")
    s.add_argument("--problems", help="Problem rows with the questions (else each row needs 'question' or 'prompt')")
    s.add_argument("--out", required=True, help="output file (.jsonl or .parquet)")
    s.add_argument("--key", default="rm", help="name of the score written into scores[...] (default rm)")
    s.add_argument("--batch-size", type=int, default=8)
    s.add_argument("--max-len", type=int, default=4096, help="tokens per (question, response) pair")
    s.add_argument("--device", default=None, help="cuda / cpu (default: cuda when available)")
    s.add_argument("--dtype", default=None, help="float32 / bfloat16 (default: bfloat16 on cuda)")
    s.add_argument("--skip-bad", action="store_true", help="skip malformed rows instead of failing")

    r = sub.add_parser("rmk", help="rm@k vs maj@k vs pass@k from scored, graded samples")
    r.add_argument("--input", required=True, help="scored Sample rows with verdicts")
    r.add_argument("--out", required=True, help="output directory for rmk.json, rmk.md, rmk.png")
    r.add_argument("--key", default="rm", help="which scores[...] to rank by (default rm)")
    r.add_argument("--k", type=int, nargs="+", default=None, help="k values (default 1, 2, 4, ..., n)")
    r.add_argument("--seeds", type=int, default=100, help="random k-subsets per problem (AceMath: 100)")
    r.add_argument(
        "--equivalence",
        choices=["math", "exact"],
        default="math",
        help="how maj@k merges answers: math equivalence as in redstar eval (default), or exact strings",
    )
    r.add_argument("--title", default="rm@k")


def _train(args) -> int:
    from redstar.config import config_from_args
    from redstar.rm.train import RMTrainConfig, train
    from redstar.rundir import local_model, run_training

    cfg = config_from_args(RMTrainConfig, args)
    if cfg is None:
        return 0
    inputs = list(cfg.data.samples) + ([cfg.data.problems] if cfg.data.problems else []) + local_model(cfg.model)
    run_training("rm train", cfg, train, inputs, overwrite=getattr(args, "overwrite", False))
    return 0


def _score(args) -> int:
    from pathlib import Path

    from redstar.cliargs import options
    from redstar.rm.score import score_file

    if not Path(args.model).is_dir():
        raise FileNotFoundError(f"{args.model}: no such reward-model directory")
    counts = score_file(
        args.model,
        args.input,
        args.out,
        **options(args, "problems", "key", "batch_size", "max_len", "device", "dtype", "skip_bad"),
    )
    print(
        f"rm score: scored {counts['scored']} responses in {counts['rows']} {counts['format']} rows "
        f"(skipped {counts['skipped']}, truncated {counts['truncated']}) -> {args.out}"
    )
    return 0


def _rmk(args) -> int:
    from redstar.rm.rmk import markdown, math_equivalent, rmk_report, write_report

    equivalent = math_equivalent() if args.equivalence == "math" else None
    report = rmk_report(args.input, key=args.key, ks=args.k, seeds=args.seeds, equivalent=equivalent)
    report["equivalence"] = args.equivalence
    write_report(report, args.out, args.title)
    print(markdown(report, args.title))
    print(f"rm rmk: wrote {args.out}/rmk.json, rmk.md, rmk.png")
    return 0


def run(args) -> int:
    return {"train": _train, "score": _score, "rmk": _rmk}[args.rm_command](args)
