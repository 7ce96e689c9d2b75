"""The sweep's report: report.md, scaling.png and hard_vs_random.png from sweep.jsonl rows.

- score vs data size on a log x axis, one line per base model, one panel per benchmark (the base
  model, size 0, is a dashed level line: a log axis has no 0);
- every non-random kind against its random control at equal size;
- a table like RedStar's data-scaling table: rows model x size (x kind, stage, seed), columns
  the benchmarks and their average, in percent, each number the eval run's own metrics.json;
- per cell: data rows / prompts / tokens, tokens seen in training, time, and its commands.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from redstar.dataio import atomic_write_text


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def table_rows(rows: list[dict], benchmarks: list[str]) -> list[dict]:
    """One entry per checkpoint: its labels, value per benchmark and their average."""
    by: dict[tuple, dict] = {}
    for r in rows:
        key = (r["model"], r["size"], r["kind"], r["stage"], -1 if r["seed"] is None else r["seed"])
        by.setdefault(
            key,
            {
                "model": r["model"],
                "size": r["size"],
                "kind": r["kind"],
                "stage": r["stage"],
                "seed": r["seed"],
                "values": {},
            },
        )["values"][r["benchmark"]] = r["value"]
    out = []
    for key in sorted(by):
        e = by[key]
        have = [e["values"][b] for b in benchmarks if b in e["values"]]
        e["average"] = sum(have) / len(have) if len(have) == len(benchmarks) else None
        out.append(e)
    return out


def scaling_table(rows: list[dict], benchmarks: list[str]) -> str:
    lines = [
        "| model | size | kind | stage | seed | " + " | ".join(benchmarks) + " | average |",
        "|---|---:|---|---|---:|" + "---:|" * (len(benchmarks) + 1),
    ]
    for e in table_rows(rows, benchmarks):
        cells = [pct(e["values"].get(b)) for b in benchmarks] + [pct(e["average"])]
        seed = "" if e["seed"] is None else str(e["seed"])
        lines.append(
            f"| {e['model']} | {e['size']} | {e['kind']} | {e['stage']} | {seed} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def _ci(r: dict) -> str:
    return "-" if r.get("ci_low") is None else f"[{pct(r['ci_low'])}, {pct(r['ci_high'])}]"


def hard_vs_random(rows: list[dict]) -> list[dict]:
    """(kind row, its random control at the same model, size, seed and stage) pairs."""
    random_rows = {
        (r["model"], r["size"], r["seed"], r["stage"], r["benchmark"]): r for r in rows if r["kind"] == "random"
    }
    pairs = []
    for r in rows:
        if r["kind"] in ("random", "base"):
            continue
        c = random_rows.get((r["model"], r["size"], r["seed"], r["stage"], r["benchmark"]))
        if c is not None:
            pairs.append({"kind": r, "random": c})
    return pairs


def _plots(rows: list[dict], benchmarks: list[str], out: Path, last_stage: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    models = sorted({r["model"] for r in rows})
    colors = {m: f"C{i % 10}" for i, m in enumerate(models)}
    n = len(benchmarks)
    kinds = sorted({r["kind"] for r in rows if r["kind"] != "base"}, key=lambda k: (k != "random", k))
    main_kind = kinds[0] if kinds else "random"
    for name, title, select in (
        ("scaling.png", f"score vs data size ({main_kind} subsets, {last_stage})", lambda k: k == main_kind),
        ("hard_vs_random.png", f"each subset kind vs its random control ({last_stage})", lambda k: True),
    ):
        if name == "hard_vs_random.png" and len(kinds) < 2:
            continue
        fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
        for ax, bench in zip(axes[0], benchmarks):
            for m in models:
                base = [r["value"] for r in rows if r["model"] == m and r["kind"] == "base" and r["benchmark"] == bench]
                if base and name == "scaling.png":
                    ax.axhline(100 * base[0], color=colors[m], ls=":", lw=1, label=f"{m} base")
                for kind in kinds:
                    if not select(kind):
                        continue
                    pts = defaultdict(list)
                    cis = {}
                    for r in rows:
                        if (
                            r["model"] == m
                            and r["kind"] == kind
                            and r["benchmark"] == bench
                            and r["stage"] == last_stage
                        ):
                            pts[r["size"]].append(r["value"])
                            cis[r["size"]] = (r["ci_low"], r["ci_high"])
                    if not pts:
                        continue
                    xs = sorted(pts)
                    ys = [100 * sum(pts[x]) / len(pts[x]) for x in xs]
                    ls = "-" if kind == main_kind else "--"
                    label = m if name == "scaling.png" else f"{m} {kind}"
                    single = all(len(pts[x]) == 1 and cis[x][0] is not None for x in xs)
                    if single:  # one seed: the bootstrap interval of each point
                        err = [
                            [y - 100 * cis[x][0] for x, y in zip(xs, ys)],
                            [100 * cis[x][1] - y for x, y in zip(xs, ys)],
                        ]
                        ax.errorbar(xs, ys, yerr=err, color=colors[m], ls=ls, marker="o", ms=4, capsize=3, label=label)
                    else:
                        ax.plot(xs, ys, color=colors[m], ls=ls, marker="o", ms=4, label=label)
            ax.set_xscale("log")
            sizes = sorted({r["size"] for r in rows if r["size"] > 0})
            ax.set_xticks(sizes, [f"{x:,}" for x in sizes])
            ax.minorticks_off()
            top = max(
                [
                    100 * (r["ci_high"] if r.get("ci_high") is not None else r["value"])
                    for r in rows
                    if r["benchmark"] == bench
                ]
                + [5.0]
            )
            ax.set_ylim(-0.02 * top, min(100.0, 1.1 * top) + 0.02 * top)
            ax.set_xlabel("training rows (log scale)")
            ax.set_ylabel("accuracy (%)")
            ax.set_title(bench)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        made.append(name)
    return made


def write_report(
    out: Path,
    name: str,
    rows: list[dict],
    cells: list[dict],
    benchmarks: list[str],
    stages: list[str],
    evals: list,
    failures: list[str],
    skipped: list[str],
) -> Path:
    last = stages[-1]
    try:
        plots = _plots(rows, benchmarks, out, last) if rows else []
    except ImportError:
        plots = []
    md = [
        f"# Sweep: {name}",
        "",
        (
            f"{len(cells)} training cells, {len(rows)} (checkpoint, benchmark) results in sweep.jsonl. "
            "Values are accuracy in percent (mean pass@1 over items), each the eval run's own metrics.json; "
            "intervals are 95% percentile-bootstrap intervals over items."
        ),
        "",
    ]
    if failures:
        md += ["## Failed", "", *[f"- {f}" for f in failures], ""]
    if skipped:
        md += ["## Not run", "", *[f"- {s}" for s in skipped], ""]
    md += ["## Score by model and data size", "", scaling_table(rows, benchmarks), ""]
    md += [f"![score vs size]({p})" for p in plots] + [""]
    pairs = hard_vs_random(rows)
    if pairs:
        md += [
            "## Subset kinds vs random at equal size",
            "",
            "| model | size | seed | stage | benchmark | kind | kind score [95% CI] | random score [95% CI] | difference |",
            "|---|---:|---:|---|---|---|---:|---:|---:|",
        ]
        for p in pairs:
            k, r = p["kind"], p["random"]
            md.append(
                f"| {k['model']} | {k['size']} | {k['seed']} | {k['stage']} | {k['benchmark']} | {k['kind']} | "
                f"{pct(k['value'])} {_ci(k)} | {pct(r['value'])} {_ci(r)} | {100 * (k['value'] - r['value']):+.1f} |"
            )
        md.append("")
    md += [
        "## Results with intervals",
        "",
        "| checkpoint | benchmark | accuracy | 95% CI | items |",
        "|---|---|---:|---:|---:|",
    ]
    md += [f"| {r['checkpoint']} | {r['benchmark']} | {pct(r['value'])} | {_ci(r)} | {r['n_items']} |" for r in rows]
    md += [
        "",
        "## Cells: data, tokens seen, time",
        "",
        "| cell | status | rows | prompts | data tokens | tokens seen | train s | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cells:
        secs = [c[s]["train_seconds"] for s in stages]
        train_s = "-" if None in secs else f"{sum(secs):.1f}"
        seen = "-" if c["tokens_seen"] is None else str(c["tokens_seen"])
        wall = "-" if c["wall_seconds"] is None else f"{c['wall_seconds']:.1f}"
        md.append(
            f"| {c['cell']} | {c['status']} | {c['data_rows']} | {c['data_prompts']} | {c['data_tokens']} | "
            f"{seen} | {train_s} | {wall} |"
        )
    md += ["", "## Commands", "", "Each cell and eval run is a plain redstar command; run any one alone:", "", "```"]
    for c in cells:
        md += c["commands"]
    md += [e.command() for e in evals]
    md += ["```", ""]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(md))
    return path
