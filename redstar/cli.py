"""The ``redstar`` command: one registry, read top to bottom as the flow.

``COMMANDS`` names, for each subcommand, its module and entry function: ``run(args) -> int`` for
the tools, which add their own options (``add_arguments(parser)``); ``main(args)`` for the
training recipes, whose ``run(cfg)`` is the recipe itself and whose arguments (config schema,
help example, ``--overwrite``) stand in ``RECIPES``. Modules import their heavy dependencies inside the
entry so ``redstar --help`` stays fast; commands whose module is not installed are not listed.
``sft`` and ``dpo`` have a text and a vision-language recipe: ``RECIPES`` maps the schema a
config names on its first line (``# schema: module:Class``) to the recipe that runs it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    module: str  # holds the entry (and a tool's add_arguments(parser))
    help: str
    entry: str = "run"  # the function taking the parsed arguments, returning the exit code
    vision: str | None = None  # the vision-language recipe of the same command (see RECIPES)


# In the order of the flow: curate data, train (sft, dpo, rl, rm), evaluate; then the tools around it.
COMMANDS: dict[str, Command] = {
    "curate": Command("data_recipes.cli", "run a curation recipe: problems in, SFT / preference / RL rows out"),
    "sft": Command(
        "redstar.train.sft",
        "supervised fine-tuning (text, or image+text with a geo.sft:VLSFTConfig config)",
        entry="main",
        vision="geo.sft",
    ),
    "dpo": Command(
        "redstar.train.dpo",
        "direct preference optimisation on preference rows (text or image+text)",
        entry="main",
        vision="geo.dpo",
    ),
    "rl": Command("redstar.rl.cli", "export data to OpenRLHF and launch DPO / PPO / REINFORCE++ / GRPO jobs"),
    "rm": Command("redstar.rm.cli", "train an outcome reward model and score samples"),
    "eval": Command("eval.cli", "score a model or stored responses on MATH-Hard, AIME, GeoQA, MathVista-GEO, ..."),
    "verify": Command("redstar.verify.cli", "grade responses against gold answers (math, choice, code)"),
    "ask": Command("redstar.ask", "ask a model one question (the embedded default by default)"),
    "demo": Command("redstar_demo.demo", "run the whole pipeline on the embedded default model, on CPU"),
    "sweep": Command("redstar.sweep.cli", "data-scaling study: models x data sizes x subset kinds, trained and scored"),
    "card": Command("redstar.release.card_cli", "write a model or dataset card; add eval scores to model-index"),
    "push": Command("redstar.release.push_cli", "publish a trained model or curated data to the Hugging Face Hub"),
    "configs": Command("redstar.configs", "list the shipped configs and recipes, with the command that runs each"),
}


@dataclass(frozen=True)
class Recipe:
    """A training recipe of sft / dpo: ``module.main(args)`` runs a config of ``schema``; every
    recipe keeps the run-directory contract (redstar/rundir.py) and takes ``--overwrite``."""

    module: str
    schema: str  # 'module:Class', the config dataclass; each shipped config names it on its first line
    example: str  # key=value overrides shown in --help


# schema on a config's first line -> the recipe that trains it
RECIPES: dict[str, Recipe] = {
    r.schema: r
    for r in (
        Recipe("redstar.train.sft", "redstar.train.sft:SFTConfig", "train.lr=3e-6 data.max_len=8192"),
        Recipe("geo.sft", "geo.sft:VLSFTConfig", "train.lr=1e-5 freeze.train_vision=true"),
        Recipe("redstar.train.dpo", "redstar.train.dpo:DPOConfig", "dpo.beta=0.05 train.lr=5e-7"),
        Recipe("geo.dpo", "geo.dpo:VLDPOConfig", "dpo.beta=0.05 train.lr=5e-7"),
    )
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


def recipe_module(name: str, argv: list[str]) -> str:
    """The module that runs ``redstar NAME argv``: the command's own, or for sft / dpo the
    recipe ``RECIPES`` names for the config's schema line (a config without one is text)."""
    command = COMMANDS[name]
    if command.vision:
        from redstar.config import config_schema

        config = next((a for a in argv if a.endswith((".yaml", ".yml")) and Path(a).is_file()), None)
        recipe = RECIPES.get(config_schema(config)) if config else None
        if recipe and recipe.module in (command.module, command.vision) and _available(recipe.module):
            return recipe.module
    return command.module


def add_arguments(parser: argparse.ArgumentParser, module) -> None:
    """A recipe's arguments (CONFIG.yaml, key=value overrides, --print-config, --overwrite) come
    from its RECIPES entry; a tool adds its own."""
    recipe = next((r for r in RECIPES.values() if r.module == module.__name__), None)
    if recipe is None:
        module.add_arguments(parser)
        return
    from redstar.config import add_config_arguments
    from redstar.rundir import add_overwrite_argument

    add_config_arguments(parser, recipe.schema, recipe.example)
    add_overwrite_argument(parser)


def command_parser(name: str, argv: list[str]) -> tuple[argparse.ArgumentParser, object]:
    """The parser of ``redstar NAME`` and the recipe module it runs. ``--help`` of a command
    with a vision-language recipe documents both recipes."""
    command = COMMANDS[name]
    module = importlib.import_module(recipe_module(name, argv))
    parser = argparse.ArgumentParser(
        prog=f"redstar {name}",
        description=(module.__doc__ or command.help).strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser, module)
    if command.vision and module.__name__ == command.module and _available(command.vision):
        if "-h" in argv or "--help" in argv:
            vision = importlib.import_module(command.vision)
            other = argparse.ArgumentParser()
            add_arguments(other, vision)
            parser.epilog = (
                f"{parser.epilog or ''}\n\n"
                f"--- vision-language recipe ({command.vision}; run for a config whose first line names its schema)\n\n"
                f"{(vision.__doc__ or '').strip()}\n\n{other.epilog or ''}"
            )
    return parser, module


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
    for name, command in COMMANDS.items():
        if _available(command.module):
            sub.add_parser(name, help=command.help, add_help=False)
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
    if name not in COMMANDS or not _available(COMMANDS[name].module):
        parser.print_usage(sys.stderr)
        print(f"redstar: unknown command {name!r}; run 'redstar --help' for the list", file=sys.stderr)
        return 2
    sub, module = command_parser(name, rest)
    try:  # options may stand anywhere among key=value overrides
        args = sub.parse_intermixed_args(rest)
    except TypeError:  # commands with sub-actions cannot be parsed intermixed
        args = sub.parse_args(rest)
    try:
        check_values(args)
        return int(getattr(module, COMMANDS[name].entry)(args) or 0)
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
