"""Command-line argument handling shared by the subcommands: ``add_run_dir_arguments`` declares
the output-directory options of curate and sweep once, and ``options(args, "private", ...)`` hands
parsed options on as keyword arguments."""

from __future__ import annotations

import argparse


def add_run_dir_arguments(
    parser: argparse.ArgumentParser, *, out_help: str, resume_help: str, overwrite_help: str | None = None
) -> None:
    """``--out DIR`` (required), ``--resume`` and ``--overwrite``: the options of a command whose
    output directory follows the run-directory contract (``redstar/rundir.py``). ``overwrite_help``
    replaces the contract's own wording of ``--overwrite``."""
    from redstar.rundir import add_overwrite_argument

    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--resume", action="store_true", help=resume_help)
    if overwrite_help is None:
        add_overwrite_argument(parser)
    else:
        parser.add_argument("--overwrite", action="store_true", help=overwrite_help)


def options(args: argparse.Namespace, *names: str) -> dict:
    """The parsed options ``names`` (argparse ``dest`` names) as keyword arguments, for a
    function whose parameters are named after them."""
    return {name: getattr(args, name) for name in names}
