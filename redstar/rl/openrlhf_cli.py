"""The pinned OpenRLHF's own command-line definitions and checks, without its GPU stack.

OpenRLHF's entry modules (``openrlhf.cli.train_dpo``, ``openrlhf.cli.train_ppo_ray``) import
ray, deepspeed and flash-attn at the top, so they cannot be imported where those are missing.
Their ``if __name__ == "__main__":`` block, though, is plain argparse: it builds the parser,
parses, then validates (``assert``s and warnings) before calling ``train(args)``. We read the
installed source, execute that block with ``train`` left out, and so check a command line
against exactly the flags, types, choices and validation of the installed version, rather
than against a copy of its README, which is out of date.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import importlib.util
import io
from functools import cache
from pathlib import Path

from redstar.config import ConfigError

PINNED_VERSION = "0.11.2"
ENTRY_MODULES = {
    "dpo": "openrlhf.cli.train_dpo",
    "ppo_ray": "openrlhf.cli.train_ppo_ray",
    "sft": "openrlhf.cli.train_sft",
}
_STDLIB_IMPORTS = {"argparse", "math", "os", "datetime"}


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openrlhf")
    except PackageNotFoundError:
        raise ConfigError(
            f"openrlhf is not installed; install the pinned version with "
            f"'pip install --no-deps openrlhf=={PINNED_VERSION}' (its CLI definitions are "
            f"needed to check the command)"
        ) from None


def check_version() -> str:
    found = installed_version()
    if found != PINNED_VERSION:
        raise ConfigError(
            f"redstar rl is pinned to openrlhf {PINNED_VERSION} (flag names changed between "
            f"releases), found {found}; run 'pip install --no-deps openrlhf=={PINNED_VERSION}'"
        )
    return found


def _source(module: str) -> tuple[str, str]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ConfigError(f"cannot find {module} in the installed openrlhf")
    return Path(spec.origin).read_text(encoding="utf-8"), spec.origin


@cache
def _main_block(module: str) -> tuple[list, list, list]:
    """(light imports, parser-building statements, validation statements) of the main block."""
    text, origin = _source(module)
    tree = ast.parse(text, origin)
    imports = [
        n
        for n in tree.body
        if isinstance(n, (ast.Import, ast.ImportFrom))
        and all(a.name.split(".")[0] in _STDLIB_IMPORTS for a in n.names)
        and (not isinstance(n, ast.ImportFrom) or (n.module or "").split(".")[0] in _STDLIB_IMPORTS)
    ]
    main = next((n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)), None)
    if main is None:
        raise ConfigError(f"{origin}: no __main__ block to read the flags from")
    cut = next((i for i, s in enumerate(main.body) if "parse_args" in ast.unparse(s)), None)
    if cut is None:
        raise ConfigError(f"{origin}: the __main__ block never calls parse_args")

    def keep(stmt) -> bool:
        code = ast.unparse(stmt)
        # train(args) starts the job; use_ms patches the model hub: neither is a check.
        return not (code.startswith("train(") or "use_ms" in code.split("\n", 1)[0])

    return imports, main.body[:cut], [s for s in main.body[cut + 1 :] if keep(s)]


def _exec(stmts: list, namespace: dict, name: str) -> None:
    code = compile(ast.Module(body=stmts, type_ignores=[]), f"<{name}>", "exec")
    exec(code, namespace)  # noqa: S102 - the installed package's own argparse block


def build_parser(entry: str):
    """The ``argparse.ArgumentParser`` of the pinned OpenRLHF entry ('dpo' or 'ppo_ray')."""
    module = ENTRY_MODULES[entry]
    imports, build, _ = _main_block(module)
    ns: dict = {"__name__": module}
    _exec(imports + build, ns, module)
    return ns["parser"]


def known_flags(entry: str) -> dict[str, object]:
    """Every option string of the entry -> its argparse action."""
    parser = build_parser(entry)
    return {opt: action for action in parser._actions for opt in action.option_strings}


def check_command(entry: str, argv: list[str]) -> list[str]:
    """Check ``argv`` (the flags after the entry module) as the pinned OpenRLHF would.

    Raises ConfigError naming unknown flags (with the closest real ones), values argparse
    rejects, and OpenRLHF's own validation failures; returns its printed warnings.
    """
    check_version()
    flags = known_flags(entry)
    unknown = [a.split("=", 1)[0] for a in argv if a.startswith("--") and a.split("=", 1)[0] not in flags]
    if unknown:
        hints = []
        for flag in unknown:
            close = difflib.get_close_matches(flag, list(flags), n=2, cutoff=0.6)
            hints.append(flag + (f" (did you mean {' or '.join(close)}?)" if close else ""))
        raise ConfigError(f"openrlhf {PINNED_VERSION} {ENTRY_MODULES[entry]} has no flag " + ", ".join(hints))
    module = ENTRY_MODULES[entry]
    imports, build, validate = _main_block(module)
    ns: dict = {"__name__": module}
    _exec(imports + build, ns, module)
    err, out = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            ns["args"] = ns["parser"].parse_args(argv)
    except SystemExit:
        lines = err.getvalue().strip().splitlines()
        message = lines[-1].split("error: ", 1)[-1] if lines else "invalid arguments"
        raise ConfigError(f"openrlhf {PINNED_VERSION} {module} rejects the command: {message}") from None
    try:
        with contextlib.redirect_stdout(out):
            _exec(validate, ns, module)
    except AssertionError as e:
        raise ConfigError(f"openrlhf {PINNED_VERSION} {module} validation failed: {e}") from None
    return [line for line in out.getvalue().splitlines() if line.strip()]
