"""Turn an ``EvalItem`` into a chat ``Request`` from the prompt files in ``redstar/prompts``.

The model's own chat template is applied by the generation backend; here we only choose the
user message (boxed-answer CoT for math, choice letters for multiple choice) and the system
prompt: none (the template's default), ``redstar`` (RedStar's "think step-by-step" prompt),
another ``system_<name>.txt`` file, a path to a file, or literal text.
"""

from __future__ import annotations

from pathlib import Path

from eval.items import EvalItem
from redstar.choices import format_choices as _format_choices
from redstar.config import ConfigError
from redstar.generation import Request


def load_prompt(name_or_path: str) -> str:
    """A prompt template by name (``math`` -> redstar/prompts/math.txt) or by file path."""
    from redstar.prompts import load_prompt as _load

    return _load(name_or_path, what="prompt")


def system_prompt(spec: str | None) -> str | None:
    """None (the chat template's default), a shipped system prompt by name (``redstar`` ->
    redstar/prompts/redstar_system.txt), a file, or the literal text."""
    from redstar.prompts import find_prompt

    if spec is None or spec.strip().lower() in ("", "none", "default"):
        return None
    path = find_prompt(f"{spec}_system.txt") or (Path(spec) if Path(spec).is_file() else None)
    return path.read_text(encoding="utf-8").strip() if path else spec


def format_choices(choices: list[str]) -> str:
    """One ``A: text`` line per choice (the eval prompt's spacing)."""
    return _format_choices(choices, sep=": ")


def user_message(item: EvalItem, template: str) -> str:
    question = item.question
    precision = item.meta.get("precision")
    if item.kind == "math" and precision not in (None, "") and item.meta.get("answer_type") == "float":
        question += f"\n(Give the answer as a number with {int(float(precision))} decimal places.)"
    try:
        return template.format(question=question, choices=format_choices(item.choices) if item.choices else "")
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(
            f"prompt template has an unknown or malformed field ({e}); "
            "use {question} and {choices}, and write literal braces as {{ }}"
        ) from None


def build_requests(
    items: list[EvalItem], family: str, system: str | None = None, prompt_file: str | None = None
) -> list[Request]:
    """One request per item. Multiple-choice items always use the choice prompt (MathVista mixes
    both kinds); ``prompt_file`` overrides the template for every item."""
    templates = {"math": load_prompt(prompt_file or family), "choice": load_prompt(prompt_file or "choice")}
    sys_text = system_prompt(system)
    out = []
    for it in items:
        messages = [{"role": "system", "content": sys_text}] if sys_text else []
        messages.append({"role": "user", "content": user_message(it, templates[it.kind])})
        out.append(Request(id=it.id, messages=messages, images=list(it.images)))
    return out
