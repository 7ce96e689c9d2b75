"""The funnel report: ``funnel.json`` (machine-readable), ``report.md`` (for people) and
``funnel.png`` (counts kept at each stage).

Every drop has a reason: load (malformed rows, missing images), dedup (exact / near, with the
kept duplicate), decontamination (with the benchmark item matched: examples are listed),
difficulty level, rule filters, cross-check, verification, curators, the per-prompt cap.
Nothing here depends on timing, so a resumed run writes the same files as a clean one.
"""

from __future__ import annotations

import json
from pathlib import Path

from redstar.dataio import atomic_open, write_json


def _examples(out: Path, stage: str, limit: int = 10) -> list[dict]:
    rows = []
    path = out / "prep" / "dropped.jsonl"
    if not path.is_file():
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["stage"] == stage:
                rows.append(row)
                if len(rows) >= limit:
                    break
    return rows


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "-"


def plot_funnel(funnel: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = list(funnel)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(stages) + 1.2))
    ins = [funnel[s]["in"] for s in stages]
    outs = [funnel[s]["out"] for s in stages]
    y = range(len(stages))
    ax.barh(y, ins, color="#d9d9d9", label="in")
    ax.barh(y, outs, color="#c0392b", label="kept")
    for k, (a, b) in enumerate(zip(ins, outs)):
        ax.text(max(a, 1), k, f" {b:,} / {a:,}", va="center", fontsize=8)
    ax.set_yticks(list(y), [f"{s} ({funnel[s]['unit']})" for s in stages])
    ax.invert_yaxis()
    ax.set_xscale("symlog")
    ax.set_xlim(0, max(ins + [1]) * 8)  # room for the labels
    ax.set_xlabel("count (log scale)")
    ax.legend(loc="lower right")
    ax.set_title("curation funnel")
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


def _kept_table(title: str, funnel: dict, key: str, columns: list[str]) -> list[str]:
    """A report section: one row per stage, one 'kept/in' cell per column of the stage's
    ``key`` breakdown (``by_source`` or ``by_level``: column -> [in, kept])."""
    lines = ["", f"## {title}", "", "| stage | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for name, st in funnel.items():
        cells = [f"{st[key][c][1]}/{st[key][c][0]}" if c in st[key] else "-" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def write_report(recipe, out: Path, summary: dict) -> None:
    out = Path(out)
    funnel = summary["funnel"]
    write_json(out / "funnel.json", summary)
    plot_funnel(funnel, out / "funnel.png")
    c = summary["counts"]
    lines = [f"# Curation report: {recipe.name}", ""]
    if recipe.description:
        lines += [recipe.description.strip(), ""]
    lines += [
        f"- SFT rows: **{c['sft']}** ({c['sft_tokens']} {'tokens' if summary['tokens_exact'] else 'tokens, approx. chars/4'})",
        f"- preference pairs: **{c['preferences']}**; RL prompts: **{c['rl_prompts']}**; samples: {c['samples']}",
        "",
        "![funnel](funnel.png)",
        "",
        "## Stages",
        "",
        "| stage | unit | in | out | kept | drops |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, st in funnel.items():
        drops = ", ".join(f"{k}: {v}" for k, v in st["dropped"].items()) or "-"
        lines.append(f"| {name} | {st['unit']} | {st['in']} | {st['out']} | {_pct(st['out'], st['in'])} | {drops} |")
    sources = sorted({s for st in funnel.values() for s in st["by_source"]})
    if sources:
        lines += _kept_table("Kept per source", funnel, "by_source", sources)
    levels = sorted(
        {lv for st in funnel.values() for lv in st["by_level"]},
        key=lambda k: (k == "none", int(k) if k != "none" else 0),
    )
    if levels and levels != ["none"]:
        lines += _kept_table("Kept per difficulty level", funnel, "by_level", levels)
    if summary.get("curators"):
        lines += [
            "",
            f"## Curators (combine: {recipe.curators.combine}; truth: verifier labels)",
            "",
            "| judge | n | precision | recall | FPR | specificity | accuracy |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, m in summary["curators"].items():
            lines.append(
                f"| {name} | {m['n']} | {m['precision']} | {m['recall']} | {m['fpr']} | "
                f"{m['specificity']} | {m['accuracy']} |"
            )
    if summary.get("subsets") or c.get("curated_control") is not None:
        lines += ["", "## Subsets", ""]
        for name, s in summary.get("subsets", {}).items():
            lines.append(
                f"- `subsets/{name}.jsonl`: {s['rows']} rows over {s['prompts']} prompts; "
                f"random control `subsets/{name}_control.jsonl`: {s.get('control_rows', '-')} rows"
            )
        if c.get("curated_control") is not None:
            lines.append(
                f"- `subsets/curated_control.jsonl`: {c['curated_control']} rows drawn at random from "
                f"{c['pool']} uncurated samples (same size as `sft.jsonl`)"
            )
    for stage, title in (
        ("decontam", "Contaminated items (first 10)"),
        ("load", "Dropped rows (first 10)"),
        ("dedup", "Duplicates (first 10)"),
    ):
        ex = _examples(out, stage)
        if not ex:
            continue
        lines += ["", f"## {title}", ""]
        for row in ex:
            if stage == "decontam":
                m = row["match"]
                lines.append(
                    f"- `{row['id']}` matched {m['benchmark']} item `{m['item_id']}` "
                    f"({m['ngram_hits']} shared n-grams, LCS ratio {m['lcs_ratio']})"
                )
            elif stage == "load":
                lines.append(f"- {row['reason']}: {row['where']}")
            else:
                lines.append(f"- `{row['id']}`: {row['reason']} of `{row['duplicate_of']}`")
    lines += [
        "",
        "## Files",
        "",
        "`sft.jsonl`, `preferences.jsonl`, `rl_prompts.jsonl`, `samples.jsonl` (every sample with its "
        "verdict, filters and scores), `funnel.json`, `prep/dropped.jsonl` (every dropped problem and why).",
        "",
    ]
    with atomic_open(out / "report.md") as f:
        f.write("\n".join(lines))
    from redstar.release.dataset_card import refresh_dataset_card

    refresh_dataset_card(out)  # README.md: the dataset card next to the exports
