"""A card file: YAML metadata between ``---`` lines, then markdown with blocks redstar owns.

    meta, body = split_card(text)
    body = set_block(body, "results", "## Evaluation results\\n...")   # replaced on every rewrite
    text = render_card(meta, body)
    summary = read_output_json(out, "funnel.json", "a curation output")   # what a card is written from
    human_size(3_500_000)                                                    # '3.3 MiB', in tables and listings

A block sits between ``<!-- redstar:NAME -->`` and ``<!-- /redstar:NAME -->``: rewriting a card
replaces those blocks and the metadata, and keeps every other line (the trainer's text, or a
person's edits) as it was.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from redstar.config import ConfigError


def read_output_json(out_dir: str | Path, name: str, what: str):
    """``out_dir/name`` parsed: a FileNotFoundError saying ``out_dir`` is not ``what`` when the
    file is missing, a ConfigError naming ``path:line`` when it is malformed."""
    path = Path(out_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"{out_dir}: not {what} (no {name})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ConfigError(f"{path}:{getattr(e, 'lineno', 1)}: malformed {name} ({e.args[0].split(':')[0]})") from None


def split_card(text: str, where: str = "README.md") -> tuple[dict, str]:
    """(metadata, body) of a card; a card without front matter has empty metadata."""
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise ConfigError(f"{where}:1: the metadata block opened with '---' is never closed")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", 0) + 2
        raise ConfigError(f"{where}:{line}: the card's metadata is not valid YAML") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{where}:2: the card's metadata must be a mapping")
    return meta, "\n".join(lines[end + 1 :]).lstrip("\n")


def render_card(meta: dict, body: str) -> str:
    head = yaml.safe_dump(
        {k: v for k, v in meta.items() if v not in (None, [], {}, "")}, sort_keys=False, allow_unicode=True, width=120
    )
    return f"---\n{head}---\n\n{body.strip()}\n"


def _block_re(name: str) -> re.Pattern:
    return re.compile(rf"\n*<!-- redstar:{re.escape(name)} -->.*?<!-- /redstar:{re.escape(name)} -->\n*", re.DOTALL)


def set_block(body: str, name: str, content: str | None) -> str:
    """Replace (or append) block ``name``; ``content`` None or empty removes it."""
    stripped = _block_re(name).sub("\n\n", body).strip()
    if not content:
        return stripped + "\n"
    return f"{stripped}\n\n<!-- redstar:{name} -->\n{content.strip()}\n<!-- /redstar:{name} -->\n"


def human_size(n: float) -> str:
    """A byte count as a card or a push listing shows it: '512 B', '3.3 MiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
