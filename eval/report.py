"""report.md and plots of one eval run (the table across runs is ``eval.compare``).

    write_report(out_dir, metrics, length_bins, skipped)   # report.md + category / length plots

Numbers are printed as percentages with one decimal, the way leaderboards quote them.
"""

from __future__ import annotations

from pathlib import Path

from redstar.dataio import atomic_open, atomic_write_text


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _accuracy_axes(width: float):
    """A figure and its axes for an accuracy plot (0-100 %), drawn without a display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, 3.5))
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    return fig, ax


def _save(fig, ax, path: Path, title: str) -> bool:
    import matplotlib.pyplot as plt

    ax.set_title(title)
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return True


def _plot_categories(path: Path, by_cat: dict, title: str) -> bool:
    if not by_cat:
        return False
    names = list(by_cat)
    fig, ax = _accuracy_axes(max(5, 0.6 * len(names) + 2))
    ax.bar(range(len(names)), [100 * by_cat[n]["accuracy"] for n in names], color="#4c72b0")
    ax.set_xticks(range(len(names)), [f"{n}\n(n={by_cat[n]['n']})" for n in names], rotation=30, ha="right", fontsize=8)
    return _save(fig, ax, path, title)


def _plot_lengths(path: Path, bins: list[dict], title: str) -> bool:
    if not bins:
        return False
    fig, ax = _accuracy_axes(5.5)
    mids = [(b["min_words"] + b["max_words"]) / 2 for b in bins]
    ax.plot(mids, [100 * b["accuracy"] for b in bins], marker="o")
    ax.set_xlabel("response length (words, equal-count bins)")
    return _save(fig, ax, path, title)


def write_report(out: Path, metrics: dict, length_bins: list[dict], skipped: list[str]) -> None:
    bench = metrics["benchmark"]
    has_cat = _plot_categories(
        out / "accuracy_by_category.png",
        metrics.get("by_category") or {},
        f"{bench}: accuracy by {metrics.get('category_name', 'category')}",
    )
    has_len = _plot_lengths(out / "accuracy_by_length.png", length_bins, f"{bench}: accuracy vs response length")
    lines = [
        f"# {bench}" + (f" ({metrics['subset']})" if metrics.get("subset") else ""),
        "",
        (
            f"- model: `{metrics['model']}` (backend {metrics.get('backend')})"
            if metrics.get("model")
            else f"- responses: `{metrics.get('responses')}` (stored, scored without a model)"
        ),
        f"- data: `{metrics.get('data')}`",
        f"- items scored: {metrics['n_items']} (read {metrics.get('n_read', '-')}, "
        f"left out {metrics.get('n_filtered', 0)}, skipped {metrics.get('n_skipped', 0)})",
        f"- samples per item: {metrics['n_samples']}",
    ]
    gen = metrics.get("generation")
    if gen:
        lines.append(
            f"- generation: temperature {gen['temperature']}, top_p {gen['top_p']}, "
            f"max_new_tokens {gen['max_new_tokens']}, seed {gen['seed']}"
        )
    if metrics.get("system_prompt"):
        lines.append(f"- system prompt: {metrics['system_prompt']!r}")
    lines += [
        "",
        "| metric | value (%) |",
        "|---|---|",
        f"| accuracy (mean pass@1) | {pct(metrics['accuracy'])} "
        f"({metrics.get('n_correct', 0):g} / {metrics['n_items']}) |",
    ]
    for key in sorted(
        (k for k in metrics if k.split("@")[0] in ("pass", "maj", "rm") and "@" in k),
        key=lambda k: (k.split("@")[0], int(k.split("@")[1])),
    ):
        lines.append(f"| {key} | {pct(metrics[key])} |")
    lines += [
        f"| no extracted answer | {pct(metrics.get('no_answer_rate'))} |",
        f"| truncated at the token limit | {_truncation_cell(metrics)} |",
        f"| mean response length (words) | {metrics.get('mean_response_words', 0):.0f} |",
    ]
    lines += _protocol_lines(metrics)
    if metrics.get("by_category"):
        lines += [
            "",
            f"## By {metrics.get('category_name', 'category')}",
            "",
            "| category | n | accuracy (%) |",
            "|---|---|---|",
        ]
        lines += [f"| {c} | {v['n']} | {pct(v['accuracy'])} |" for c, v in metrics["by_category"].items()]
    if has_cat:
        lines += ["", "![accuracy by category](accuracy_by_category.png)"]
    if has_len:
        lines += ["", "## Accuracy vs response length", "", "| words | n | accuracy (%) |", "|---|---|---|"]
        lines += [f"| {b['min_words']}-{b['max_words']} | {b['n']} | {pct(b['accuracy'])} |" for b in length_bins]
        lines += ["", "![accuracy vs length](accuracy_by_length.png)"]
    if skipped:
        lines += ["", f"## Skipped rows ({len(skipped)})", ""] + [f"- {s}" for s in skipped[:50]]
        if len(skipped) > 50:
            lines.append(f"- ... and {len(skipped) - 50} more")
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")


def _truncation_cell(metrics: dict) -> str:
    rate = metrics.get("truncation_rate")
    if rate is None:
        return "- (finish reasons unknown)"
    return f"{pct(rate)} ({metrics.get('n_truncated', 0)} / {metrics.get('n_finish_known', 0)})"


def _protocol_lines(metrics: dict) -> list[str]:
    """Which scorer made the numbers; with ``--protocol both``, both side by side."""
    off = metrics.get("official")
    proto = metrics.get("protocol", "redstar")
    if not off:
        return ["", "Scored by the redstar verifier (`--protocol redstar`)."]
    head = f"{off['protocol']} ({off.get('source', '')})"
    lines = [""]
    if off.get("extraction"):
        head += f"; extraction: {off['extraction']}"
    if proto == "official":
        return lines + [f"Scored by the benchmark's official scorer (`--protocol official`): {head}."]
    lines += [
        "## Protocols side by side",
        "",
        f"Official scorer: {head}.",
        "",
        "| metric | redstar (%) | official (%) |",
        "|---|---|---|",
        f"| accuracy (mean pass@1) | {pct(metrics['accuracy'])} | {pct(off['accuracy'])} |",
    ]
    for key in sorted((k for k in off if k.startswith("pass@")), key=lambda k: int(k.split("@")[1])):
        lines.append(f"| {key} | {pct(metrics.get(key))} | {pct(off[key])} |")
    n = off.get("n_items_differ", 0)
    lines += [
        "",
        f"Items graded differently: {n} (listed in results.jsonl as `protocols_differ`)"
        + (f": {', '.join(map(str, off.get('items_differ', [])[:20]))}" + (" ..." if n > 20 else "") if n else "."),
    ]
    return lines
