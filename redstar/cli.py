"""The ``redstar`` command: one dispatcher, one module per subcommand.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int`` and imports
its heavy dependencies inside ``run`` so ``redstar --help`` stays fast. Commands whose module
is not installed are not listed. ``sft`` and ``dpo`` configs with ``modality: vision`` are
dispatched to the vision-language recipes in ``geo``; this is the only place ``redstar``
reaches into the other packages.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

# name -> (module, vision-language module or None, one-line help), in the order of the flow:
# curate data, train (sft, dpo, rl, rm), evaluate; then the tools around it. The text and the
# vision-language recipe of sft and dpo are both named here.
COMMANDS: dict[str, tuple[str, str | None, str]] = {
    "curate": ("data_recipes.cli", None, "run a curation recipe: problems in, SFT / preference / RL rows out"),
    "sft": (
        "redstar.train.sft_cli",
        "geo.sft_cli",
        "supervised fine-tuning (text, or image+text with modality: vision)",
    ),
    "dpo": ("redstar.train.dpo_cli", "geo.dpo_cli", "direct preference optimisation on preference rows"),
    "rl": ("redstar.rl.cli", None, "export data to OpenRLHF and launch DPO / PPO / REINFORCE++ / GRPO jobs"),
    "rm": ("redstar.rm.cli", None, "train an outcome reward model and score samples"),
    "eval": ("eval.cli", None, "score a model or stored responses on MATH-Hard, AIME, GeoQA, MathVista-GEO, ..."),
    "verify": ("redstar.verify.cli", None, "grade responses against gold answers (math, choice, code)"),
    "ask": ("redstar.ask", None, "ask a model one question (the embedded default by default)"),
    "demo": ("data_recipes.demo", None, "run the whole pipeline on the embedded default model, on CPU"),
    "sweep": ("redstar.sweep.cli", None, "data-scaling study: models x data sizes x subset kinds, trained and scored"),
    "card": ("redstar.release.card_cli", None, "write a model or dataset card; add eval scores to model-index"),
    "push": ("redstar.release.push_cli", None, "publish a trained model or curated data to the Hugging Face Hub"),
    "configs": ("redstar.configs", None, "list the shipped configs and recipes, with the command that runs each"),
}

EPILOG = """examples:
  redstar demo --out runs/demo
  redstar ask "What is 7 * 8? Put the answer in \\boxed{}."
  redstar verify --input bench/data/verify_cases.jsonl --output verdicts.jsonl --workers 2
  redstar curate data_recipes/recipes/redstar_math.yaml --out runs/math
  redstar configs
  redstar sft configs/sft_tiny_cpu.yaml train.lr=3e-6 --print-config
  redstar eval --benchmark aime24 --data path/to/aime24.jsonl --model runs/sft/final --out runs/eval

run 'redstar COMMAND --help' for each command's options and an example (config-driven commands
also list every config key with its help); 'redstar configs' lists the shipped configs."""


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _vision_config(argv: list[str]) -> bool:
    """True when the first positional argument is a YAML config that says ``modality: vision``."""
    import yaml

    for arg in argv:
        if arg.endswith((".yaml", ".yml")) and Path(arg).is_file():
            try:
                data = yaml.safe_load(Path(arg).read_text()) or {}
            except yaml.YAMLError:
                return False
            return isinstance(data, dict) and data.get("modality") == "vision"
    return any(a in ("modality=vision",) for a in argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redstar",
        description="redstar: curate long chain-of-thought data, train (SFT, DPO, RL) and evaluate "
        "math reasoning models, text and vision-language.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, _vision, help_text) in COMMANDS.items():
        if _available(module):
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


# options whose values cannot be right for any command: dest -> (test, what it must be)
VALUE_RULES = {
    "max_new_tokens": (lambda v: v > 0, "must be at least 1"),
    "temperature": (lambda v: v >= 0, "must be >= 0 (0: greedy)"),
    "top_p": (lambda v: 0 < v <= 1, "must be in (0, 1]"),
    "batch_size": (lambda v: v > 0, "must be at least 1"),
    "samples": (lambda v: v > 0, "must be at least 1"),
    "workers": (lambda v: v > 0, "must be at least 1"),
}


def check_values(args) -> None:
    """Refuse impossible numeric options (``--max-new-tokens 0``, ``--temperature -1``) before
    any model loads."""
    from redstar.config import ConfigError

    for dest, (ok, rule) in VALUE_RULES.items():
        v = getattr(args, dest, None)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not ok(v):
            raise ConfigError(f"--{dest.replace('_', '-')} {v}: {rule}")


def describe_error(e: BaseException, args=None) -> tuple[int, str]:
    """(exit code, one line) for an exception that reached the command line: 2 for input the
    user can fix (config, rows, paths, models not available offline), 1 for anything else."""
    from redstar.config import ConfigError
    from redstar.dataio import hub_offline
    from redstar.records import RowError

    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(
        e, (ConfigError, RowError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)
    ):
        return 2, text
    hubby = any(
        w in text
        for w in (
            "huggingface.co",
            "on the Hub",
            "OfflineModeIsEnabled",
            "offline mode",
            "cached files",
            "valid model identifier",
        )
    )
    if isinstance(e, (OSError, ConnectionError)) and hubby:
        model = getattr(args, "model", None)
        what = f"model {model!r}" if isinstance(model, str) else "a hub model or dataset"
        if hub_offline():
            return 2, (
                f"{what}: not a local directory and not in the hub cache (HF_HUB_OFFLINE=1: nothing is "
                "downloaded); give a local directory, or run once online to cache it"
            )
        return 2, f"{what}: could not be loaded from the hub: {text[:200]}"
    return 1, f"{type(e).__name__}: {text[:300]} (run `redstar --debug ...` for the traceback)"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # global: tracebacks instead of one-line errors
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    if argv[0] == "--version":
        from redstar import __version__

        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS or not _available(COMMANDS[name][0]):
        parser.print_usage(sys.stderr)
        print(f"redstar: unknown command {name!r}; run 'redstar --help' for the list", file=sys.stderr)
        return 2
    module_name, vision_module, help_text = COMMANDS[name]
    if vision_module and _vision_config(rest) and _available(vision_module):
        module_name = vision_module
    module = importlib.import_module(module_name)
    sub = argparse.ArgumentParser(
        prog=f"redstar {name}",
        description=(module.__doc__ or help_text).strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(sub)
    try:  # options may stand anywhere among key=value overrides
        args = sub.parse_intermixed_args(rest)
    except TypeError:  # commands with sub-actions cannot be parsed intermixed
        args = sub.parse_args(rest)
    try:
        check_values(args)
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one line for the user; --debug shows the traceback
        if debug:
            raise
        code, line = describe_error(e, args)
        print(f"redstar {name}: error: {line}", file=sys.stderr)
        return code


if __name__ == "__main__":
    raise SystemExit(main())
