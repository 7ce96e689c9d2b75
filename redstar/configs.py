"""redstar configs: list the shipped configs, each with the command that runs it and what it is.

Every shipped YAML starts with ``# schema: module:Class`` and a comment saying what it is for;
this lists ``configs/`` (training), ``data_recipes/recipes/`` (curation) and
``launch/openrlhf/`` (OpenRLHF jobs) from that header, without loading any of them.

examples:
  redstar configs
  redstar configs --schema redstar.train.sft:SFTConfig
  redstar sft configs/sft_tiny_cpu.yaml --print-config     # one config, every key annotated
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("configs", "data_recipes/recipes", "launch/openrlhf")
# schema class -> the command that takes it
COMMAND = {
    "SFTConfig": "redstar sft",
    "VLSFTConfig": "redstar sft",
    "DPOConfig": "redstar dpo",
    "VLDPOConfig": "redstar dpo",
    "RMTrainConfig": "redstar rm train",
    "Recipe": "redstar curate",
    "RLLaunchConfig": "redstar rl launch",
    "SweepConfig": "redstar sweep",
}


def read_header(path: Path, width: int = 100) -> tuple[str, str]:
    """(schema, summary) from a config's leading comments: the ``# schema:`` line and the first
    sentence of the comment after it, cut to ``width`` characters at a word."""
    schema, words = "", []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        text = line.lstrip("#").strip()
        if text.startswith("schema:") and not schema:
            schema = text.split(":", 1)[1].strip()
        elif text:
            words.append(text)
    summary = " ".join(words).split(". ", 1)[0]
    if len(summary) > width:
        summary = summary[: width - 3].rsplit(" ", 1)[0].rstrip(",;:(") + "..."
    return schema, summary


def shipped_configs(root: Path = ROOT) -> list[dict]:
    """``{"path", "schema", "command", "summary"}`` for every shipped YAML, by folder and name."""
    out = []
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.yaml")):
            schema, summary = read_header(path)
            out.append(
                {
                    "path": f"{folder}/{path.name}",
                    "schema": schema,
                    "summary": summary,
                    "command": COMMAND.get(schema.rpartition(":")[2], ""),
                }
            )
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", default="", help="only configs of this schema (module:Class or Class)")


def run(args: argparse.Namespace) -> int:
    rows = shipped_configs()
    if args.schema:
        rows = [r for r in rows if args.schema in (r["schema"], r["schema"].rpartition(":")[2])]
    if not rows:
        print(
            "no shipped configs found"
            + (f" for schema {args.schema}" if args.schema else "")
            + f" under {', '.join(FOLDERS)} (a source checkout has them)"
        )
        return 1
    width = max(len(r["path"]) for r in rows)
    cwidth = max(len(r["command"]) for r in rows)
    for r in rows:
        print(f"{r['path']:<{width}}  {r['command']:<{cwidth}}  {r['summary']}")
    return 0
