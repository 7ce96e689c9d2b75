"""Every shipped prompt, in one folder, with one loader.

- ``redstar_system.txt``: RedStar's released system prompt (SFT / DPO ``system_prompt_file``,
  curation ``sampling.system_prompt_file``, ``redstar eval --system redstar``);
- ``demo_system.txt``: the laptop demo's shorter system prompt;
- ``math.txt``, ``choice.txt``, ``vision_math.txt``: ``redstar eval`` user-message templates
  (Python format strings: ``{question}``, ``{choices}``; a literal brace is ``{{`` / ``}}``);
- ``difficulty.txt``: the difficulty model's rating prompt (curation ``difficulty.prompt_file``);
- ``judge_binary.txt``, ``judge_steps.txt``: LLM-judge prompts of the curators.

    load_prompt("redstar_system.txt")         # a shipped prompt, by file name
    load_prompt("math")                       # ... or by name without .txt
    load_prompt("my/prompt.txt")              # a file of your own: a path wins over a name

Packaged with the wheel (``*.txt`` package data), so shipped configs name prompts by file name.
"""

from __future__ import annotations

from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent


def prompt_names() -> list[str]:
    """The shipped prompts' names (file names without ``.txt``)."""
    return sorted(p.stem for p in PROMPT_DIR.glob("*.txt"))


def find_prompt(spec: str | Path, base: str | Path | None = None) -> Path | None:
    """The file ``spec`` names: an existing path (as given, or relative to ``base``), else a
    shipped prompt by file name or by name (``redstar_system``); None when there is none.
    Older spellings that named a copy in another package (``prompts/difficulty.txt``,
    ``../prompts/redstar_system.txt``, ``system_redstar``) find the shipped file."""
    path = Path(spec).expanduser()
    candidates = [path] + ([Path(base) / path] if base is not None and not path.is_absolute() else [])
    for p in candidates:
        if p.is_file():
            return p
    name = path.name
    for candidate in (name, f"{name}.txt", f"{name.removeprefix('system_')}_system.txt"):
        shipped = PROMPT_DIR / candidate
        if shipped.is_file() and (path.parent.name in ("", "prompts") or str(spec).startswith("pkg:")):
            return shipped
    return None


def load_prompt(spec: str | Path, base: str | Path | None = None, what: str = "prompt") -> str:
    """The text of the prompt ``spec`` names (see :func:`find_prompt`), trailing newlines
    stripped. A name that finds nothing is an error naming ``what`` and the shipped prompts."""
    path = find_prompt(spec, base)
    if path is None:
        from redstar.config import ConfigError

        raise ConfigError(
            f"{what}: {spec}: no such file, and not a shipped prompt (shipped: {', '.join(prompt_names())})"
        )
    return path.read_text(encoding="utf-8").rstrip("\n")
