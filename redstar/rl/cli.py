"""Export data to OpenRLHF 0.11.2 and launch DPO / PPO / REINFORCE++ / GRPO / RLOO jobs on it.

examples:
  redstar rl export --input runs/math/rl_prompts.jsonl --output runs/openrlhf/rl.jsonl
  redstar rl export --kind preference --input runs/math/preferences.jsonl --output runs/openrlhf/dpo.jsonl --config launch/openrlhf/redstar_dpo.yaml
      # (with --config: pairs longer than the launch config's max_len are dropped and counted)
  redstar rl launch --algo ppo launch/openrlhf/redstar_ppo.yaml --dry-run
  redstar rl launch --algo grpo launch/openrlhf/grpo.yaml cluster.nodes=4 --slurm runs/grpo/job.sbatch
  redstar rl reward --input rollouts.jsonl            # score {query, prompt, label} rows offline

`export` writes SFT rows (messages), preference rows (prompt/chosen/rejected) or RL prompt
rows (prompt, label as JSON, images, datasource) in the shape OpenRLHF's SFTDataset,
RewardDataset and PromptDataset read. `launch` builds the OpenRLHF command from a YAML
(schema redstar.rl.launch:RLLaunchConfig), checks every flag with the installed OpenRLHF's own
parser and validation, then runs it (deepspeed for DPO, `ray job submit` for the PPO family),
prints it (--dry-run) or writes a SLURM script that starts a Ray head and workers (--slurm).
The reward for the PPO family is redstar/rl/reward.py (1 if the answer verifies, else 0).
"""

from __future__ import annotations

import argparse
import shlex
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ex = sub.add_parser(
        "export",
        help="write SFT / preference / RL-prompt rows for OpenRLHF",
        description="Write rows in the shape OpenRLHF 0.11.2's datasets read, e.g.\n"
        "  redstar rl export --input runs/math/rl_prompts.jsonl "
        "--output runs/openrlhf/rl.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.add_argument("--input", nargs="+", required=True, help="row files (JSONL/JSON/Parquet) or directories")
    ex.add_argument("--output", required=True, help="output .jsonl")
    ex.add_argument(
        "--kind",
        choices=["auto", "sft", "preference", "rl"],
        default="auto",
        help="row type (default: from the first row's columns)",
    )
    ex.add_argument(
        "--images",
        choices=["absolute", "embed"],
        default="absolute",
        help="image paths made absolute, or embedded as base64 data URIs (portable)",
    )
    ex.add_argument("--limit", type=int, default=None, help="stop after this many rows")
    ex.add_argument(
        "--config",
        default=None,
        metavar="LAUNCH.yaml",
        help="the launch config the rows are for: rows longer than its max_len in its model's tokens "
        "(RL prompts: leaving less than max_new_tokens) are dropped and counted, not cut by OpenRLHF",
    )
    ex.add_argument("--max-len", type=int, default=None, help="the same limit given directly (overrides --config)")
    ex.add_argument("--max-new-tokens", type=int, default=None, help="RL prompts: tokens kept free for the rollout")
    ex.add_argument(
        "--tokenizer", default=None, help="the policy's tokenizer for --max-len (default: the config's model)"
    )

    la = sub.add_parser(
        "launch",
        help="build, check and run an OpenRLHF job from a YAML",
        description="Build the OpenRLHF command, check it with the pinned version, run it, e.g.\n"
        "  redstar rl launch --algo reinforce++ launch/openrlhf/redstar_reinforce_pp.yaml "
        "--dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    la.add_argument("--algo", required=True, choices=["dpo", "ppo", "reinforce++", "grpo", "rloo"])
    from redstar.config import add_config_arguments

    add_config_arguments(la, "redstar.rl.launch:RLLaunchConfig", "cluster.nodes=4 lr=1e-6")
    la.add_argument("--dry-run", action="store_true", help="check and print the command; run nothing")
    la.add_argument("--slurm", default=None, metavar="PATH", help="write a SLURM batch script here instead of running")

    rw = sub.add_parser(
        "reward",
        help="score rows with the rule reward, as OpenRLHF would call it",
        description="Score {query, prompt, label} rows with redstar/rl/reward.py, e.g.\n"
        "  redstar rl reward --input rollouts.jsonl --output scored.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rw.add_argument("--input", required=True, help="rows with 'query', 'prompt' (optional) and 'label'")
    rw.add_argument("--output", default=None, help="write rows with reward/score added (JSONL)")


def _export(args) -> int:
    from redstar.rl.export import DATA_FLAGS, export_rows
    from redstar.rl.launch import load_length_limit, render_flags

    lengths = load_length_limit(args.config, args.max_len, args.tokenizer, args.max_new_tokens)
    stats = export_rows(
        args.input, args.output, kind=args.kind, image_mode=args.images, limit=args.limit, lengths=lengths
    )
    print(stats.summary(stats.kind, args.output))
    if lengths is None:
        print(
            "warning: lengths not checked; OpenRLHF truncates rows longer than its --data.max_len silently: "
            "pass --config LAUNCH.yaml (or --max-len N --tokenizer DIR) to drop and count them here",
            file=sys.stderr,
        )
    print("read it in OpenRLHF with: " + " ".join(render_flags(DATA_FLAGS[stats.kind])))
    if stats.text_only_images:
        print(
            f"warning: {stats.text_only_images} {stats.kind} rows have images; OpenRLHF's {stats.kind} "
            f"trainer is text-only and ignores them",
            file=sys.stderr,
        )
    return 0


def _launch(args) -> int:
    from redstar.config import load_config
    from redstar.rl.launch import RLLaunchConfig, build_job, check_job, run_local, write_slurm
    from redstar.rl.openrlhf_cli import PINNED_VERSION

    cfg = load_config(RLLaunchConfig, args.config, args.overrides)
    if args.print_config:
        from redstar.config import annotated_yaml

        print(f"# schema: redstar.rl.launch:RLLaunchConfig\n{annotated_yaml(cfg)}")
        return 0
    job = build_job(cfg, args.algo)
    for line in check_job(job):
        print(f"openrlhf: {line}", file=sys.stderr)
    info = job.data_info
    if info.get("checked"):
        print(
            f"data: {info['rows']} rows, datasources {', '.join(info['datasources'])}, "
            f"up to {info['max_images']} images per row",
            file=sys.stderr,
        )
    else:
        print(f"warning: {cfg.data} is not here; its columns were not checked", file=sys.stderr)
    n_flags = sum(f.startswith("--") for f in job.flags)
    print(f"checked {n_flags} flags against openrlhf {PINNED_VERSION} {job.module}", file=sys.stderr)
    if args.slurm:
        write_slurm(job, cfg, args.slurm)
        print(f"wrote {args.slurm}; submit with: sbatch {args.slurm}")
        return 0
    c = cfg.cluster
    command = job.command(1, c.gpus_per_node, dashboard_port=c.dashboard_port, working_dir=cfg.working_dir)
    if args.dry_run:
        print(shlex.join(command))
        return 0
    if c.nodes > 1:
        print(
            f"error: cluster.nodes={c.nodes}: write a SLURM script with --slurm PATH to start the nodes",
            file=sys.stderr,
        )
        return 2
    return run_local(job, cfg)


def _reward(args) -> int:
    import os

    from redstar.dataio import iter_located, write_jsonl
    from redstar.records import RowError
    from redstar.rl.reward import ENV, accuracy_by_datasource, decode_label, reward_func

    located = list(iter_located(args.input))
    for where, row in located:
        if "query" not in row or "label" not in row:
            raise RowError("reward rows need 'query' and 'label'", where)
    rows = [row for _, row in located]
    var = ENV["datasources"][0]
    if not os.environ.get(var):
        os.environ[var] = ",".join(sorted({decode_label(r["label"])["datasource"] for r in rows}))
    out = reward_func([r["query"] for r in rows], [r.get("prompt", "") for r in rows], [r["label"] for r in rows])
    for row, rew, score in zip(rows, out["rewards"].tolist(), out["scores"].tolist()):
        row["reward"], row["score"] = rew, score
    if args.output:
        write_jsonl(args.output, rows)
    logs = out["extra_logs"]
    print(
        f"{len(rows)} rows: mean reward {out['rewards'].mean().item():.4f}, accuracy "
        f"{logs['acc'].mean().item():.4f}, format ok {logs['format_ok'].mean().item():.4f}, "
        f"timed out {int(logs['timed_out'].sum().item())}"
    )
    for name, acc in sorted(accuracy_by_datasource(logs).items()):
        print(f"  {name}: accuracy {acc:.4f}")
    return 0


def run(args) -> int:
    return {"export": _export, "launch": _launch, "reward": _reward}[args.action](args)
