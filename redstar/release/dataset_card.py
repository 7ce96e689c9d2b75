"""The dataset card of a curation output: ``README.md`` next to the exports.

    refresh_dataset_card("runs/math")      # after redstar curate; redstar push rewrites it too

It reads only what curation wrote (``funnel.json``, ``recipe.yaml``, ``prep/dropped.jsonl`` and
the export files) and says: the size, columns and column types of each export; the recipe; the
funnel (how many were dropped at each stage and why, with ``funnel.png``); the teachers; and the
benchmarks the data was decontaminated against with the number of items each one matched. Its
metadata lists every export under ``configs:``, so that ``datasets.load_dataset(folder, "sft")``
(or ``load_dataset("owner/name", "sft")`` once pushed) reads exactly that file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import yaml

from redstar.config import ConfigError
from redstar.release.cardfile import human_size, read_output_json, render_card, set_block, split_card

# export file -> (config name, what a row is)
EXPORTS = {
    "sft.jsonl": ("sft", "SFT rows: chat `messages` whose last assistant turn is a verified solution"),
    "preferences.jsonl": ("preferences", "preference pairs: `prompt`, a verified `chosen` and a wrong `rejected`"),
    "rl_prompts.jsonl": (
        "rl_prompts",
        "RL prompts: `prompt` and a `label` (answer, kind, choices, tests) for a rule reward",
    ),
    "samples.jsonl": ("samples", "every teacher sample with its verdict, filter results and scores"),
}


def _json_type(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        inner = sorted({_json_type(x) for x in v} - {"null"})
        return f"list[{'|'.join(inner)}]" if inner else "list"
    if isinstance(v, dict):
        return "dict"
    return type(v).__name__


def describe_export(path: Path) -> dict:
    """rows, bytes and {column: type} of a JSONL export (every row is read; a bad line is a
    RowError naming path:line)."""
    from redstar.dataio import iter_jsonl_located

    types: dict[str, Counter] = {}
    rows = 0
    for _, row in iter_jsonl_located(path):
        rows += 1
        for k, v in row.items():
            types.setdefault(k, Counter())[_json_type(v)] += 1
    columns = {}
    for k, c in types.items():
        kinds = [t for t, _ in c.most_common() if t != "null"] or ["null"]
        if "list" in kinds and len(kinds) > 1 and all(t.startswith("list") for t in kinds):
            kinds.remove("list")  # empty lists agree with any element type
        optional = "null" in c or sum(c.values()) < rows
        columns[k] = (" | ".join(kinds) if kinds != ["list"] else "list (empty in every row)") + (
            " (optional)" if optional and kinds != ["null"] else ""
        )
    return {"rows": rows, "bytes": path.stat().st_size, "columns": columns}


def _exports(out: Path) -> list[tuple[str, str, str]]:
    """(config name, relative path, description) for every export present."""
    found = [(cfg, name, desc) for name, (cfg, desc) in EXPORTS.items() if (out / name).is_file()]
    for p in sorted((out / "subsets").glob("*.jsonl")) if (out / "subsets").is_dir() else []:
        what = "random control of the same size" if p.stem.endswith("_control") else "difficulty subset of the SFT rows"
        found.append((f"subset_{p.stem}", f"subsets/{p.name}", f"SFT rows: {what}"))
    return found


def _decontam_matches(out: Path) -> Counter:
    counts: Counter = Counter()
    path = out / "prep" / "dropped.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and row.get("stage") == "decontam":
                counts[str((row.get("match") or {}).get("benchmark", "?"))] += 1
    return counts


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    return data if isinstance(data, dict) else {}


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def refresh_dataset_card(out: str | Path, license: str | None = None) -> Path:
    """(Re)write ``out/README.md``; returns its path. Text outside redstar's blocks is kept."""
    from redstar.dataio import atomic_write_text

    out = Path(out)
    summary = read_output_json(out, "funnel.json", "a curation output")
    recipe = _read_yaml(out / "recipe.yaml")
    exports = _exports(out)
    described = {rel: describe_export(out / rel) for _, rel, _ in exports}

    card_path = out / "README.md"
    meta, body = split_card(card_path.read_text(encoding="utf-8"), str(card_path)) if card_path.is_file() else ({}, "")
    name = summary.get("recipe") or recipe.get("name") or out.name
    meta["license"] = license or meta.get("license") or "other"
    meta["pretty_name"] = meta.get("pretty_name") or f"redstar curation: {name}"
    tags = list(meta.get("tags") or [])
    for t in ("redstar", "math", "long-cot", "synthetic"):
        if t not in tags:
            tags.append(t)
    meta["tags"] = tags
    meta["task_categories"] = meta.get("task_categories") or ["text-generation"]
    meta["language"] = meta.get("language") or ["en"]
    meta["size_categories"] = [_size_category(max((d["rows"] for d in described.values()), default=0))]
    # an empty file is no config: datasets cannot load a split without rows
    meta["configs"] = [
        {
            "config_name": cfg,
            "data_files": [{"split": "train", "path": rel}],
            **({"default": True} if cfg == "sft" else {}),
        }
        for cfg, rel, _ in exports
        if described[rel]["rows"]
    ]
    if not body.strip():
        body = f"# {name}\n\n{(recipe.get('description') or '').strip() or 'Long chain-of-thought data curated with redstar.'}"
    body = set_block(body, "dataset", _body(out, summary, recipe, exports, described))
    atomic_write_text(card_path, render_card(meta, body))
    return card_path


def _shown(path, recipe: dict):
    """A recipe path as its author wrote it: ``load_recipe`` made it absolute, the card shows it
    relative to the recipe's directory (``base_dir``); a hub id stays as it is."""
    base = recipe.get("base_dir")
    if not (isinstance(path, str) and base and os.path.isabs(path)):
        return path
    return os.path.relpath(path, base)


def _body(out: Path, summary: dict, recipe: dict, exports, described: dict) -> str:
    lines = [
        "## Exports",
        "",
        'Each file is a configuration: `datasets.load_dataset("<this repo or folder>", "sft")`.',
        "",
        "| config | file | rows | size | what a row is |",
        "|---|---|---:|---:|---|",
    ]
    for cfg, rel, desc in exports:
        d = described[rel]
        name = f"`{cfg}`" if d["rows"] else "(empty: no config)"
        lines.append(f"| {name} | `{rel}` | {d['rows']} | {human_size(d['bytes'])} | {desc} |")
    lines += ["", "### Columns", ""]
    for cfg, rel, _ in exports:
        if not described[rel]["rows"]:
            continue
        cols = ", ".join(f"`{k}` ({t})" for k, t in described[rel]["columns"].items()) or "(empty)"
        lines.append(f"- `{cfg}`: {cols}")

    funnel = summary.get("funnel") or {}
    if funnel:
        lines += [
            "",
            "## Funnel",
            "",
            "What each stage kept and why the rest was dropped.",
            "",
            "| stage | unit | in | out | dropped (why) |",
            "|---|---|---:|---:|---|",
        ]
        for stage, st in funnel.items():
            why = ", ".join(f"{k}: {v}" for k, v in (st.get("dropped") or {}).items()) or "-"
            lines.append(f"| {stage} | {st.get('unit', '')} | {st.get('in', '')} | {st.get('out', '')} | {why} |")
        if (out / "funnel.png").is_file():
            lines += ["", "![funnel](funnel.png)"]

    sampling = recipe.get("sampling") or {}
    teachers = sampling.get("teachers") or []
    if teachers:
        lines += [
            "",
            "## Teachers",
            "",
            "| teacher | backend | model | samples per prompt | temperature | top_p | max new tokens |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for t in teachers:
            b = t.get("backend") or {}
            model = (
                b.get("model")
                if b.get("backend") != "replay"
                else f"stored responses `{_shown(b.get('path'), recipe)}`"
            )
            lines.append(
                f"| {t.get('name')} | {b.get('backend')} | {model} | {t.get('n')} | {t.get('temperature')} | "
                f"{t.get('top_p')} | {t.get('max_new_tokens')} |"
            )

    decon = recipe.get("decontam") or {}
    matches = _decontam_matches(out)
    benches = [b.get("name") for b in decon.get("benchmarks") or [] if isinstance(b, dict)]
    lines += ["", "## Decontamination", ""]
    if decon.get("enabled", True) and benches:
        lines += [
            f"Against {len(benches)} benchmark(s): {decon.get('ngram', 13)}-gram overlap"
            + (
                f", math prompts also by LCS ratio > {decon.get('lcs_ratio')} ({decon.get('math_rule')})"
                if decon.get("lcs_ratio")
                else ""
            )
            + ". Every removed problem is in `prep/dropped.jsonl` "
            "with the benchmark item it matched (not uploaded).",
            "",
            "| benchmark | source | problems removed |",
            "|---|---|---:|",
        ]
        for b in decon["benchmarks"]:
            lines.append(
                f"| {b.get('name')} | `{_shown(b.get('path'), recipe)}` | {matches.get(str(b.get('name')), 0)} |"
            )
    else:
        lines.append("None: this recipe does not decontaminate against any benchmark.")

    sources = recipe.get("sources") or []
    if sources:
        lines += ["", "## Sources", ""]
        lines += [
            f"- {s.get('name') or _shown(s.get('path'), recipe)}: `{_shown(s.get('path'), recipe)}` (preset {s.get('preset')}"
            + (f", first {s['limit']}" if s.get("limit") else "")
            + ")"
            for s in sources
            if isinstance(s, dict)
        ]
    if recipe:
        lines += [
            "",
            "## Recipe",
            "",
            ("The resolved recipe (`recipe.yaml`); `redstar curate recipe.yaml --out DIR` re-runs it."),
            "",
            "<details><summary>recipe.yaml</summary>",
            "",
            "```yaml",
            yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).strip(),
            "```",
            "",
            "</details>",
        ]
    return "\n".join(lines)
