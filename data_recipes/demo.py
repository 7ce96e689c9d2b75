"""Run the whole pipeline for real on the embedded default model, on CPU, in minutes.

example:
  redstar demo --out runs/demo            # about 10-15 minutes on 2 cores
  redstar demo --out runs/demo --quick    # a reduced run (fewer items and steps), ~5 minutes

Steps, each a plain redstar command (the report lists them so each can be re-run alone):
  1. curate   the demo recipe: SmolLM2-135M-Instruct samples answers to the shipped math and
              code problems; verification, filters, dedup, decontamination, exports, funnel
  2. sft      a few SFT steps of the default model on the curated rows
  3. dpo      a few native DPO steps on the curated preference pairs, from the SFT model
  4. geo      draw geometry problems (GeoQA and MathVista formats), train a tiny random
              Qwen2-VL built from config on them (the 135M default model has no vision)
  5. eval     base and trained models on MATH-Hard-, AIME-, GeoQA- and MathVista-shaped sets
  6. report   OUT/report.md with the funnel, loss curves, before/after table and plots

A finished step is skipped when the demo is run again with the same --out (its output is
there); delete that step's directory to run it again.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    parser.add_argument("--quick", action="store_true", help="fewer items and steps (used by the tests)")
    parser.add_argument("--skip-geo", action="store_true", help="leave out the vision-language leg")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


class Step:
    """One redstar command; ``done`` names the file whose presence means it finished."""

    def __init__(self, name: str, argv: list[str], done: Path, module: str = "redstar.cli"):
        self.name, self.argv, self.done, self.module = name, argv, done, module

    def command(self) -> str:
        head = "redstar" if self.module == "redstar.cli" else f"python -m {self.module}"
        return head + " " + " ".join(shlex.quote(a) for a in self.argv)

    def run(self, log_dir: Path, index: int, total: int) -> float:
        print(f"\n[{index}/{total}] {self.name}: {self.command()}", flush=True)
        if (ROOT / self.done).exists():
            print(f"    already done ({self.done} exists); skipped", flush=True)
            return 0.0
        start = time.time()
        log = log_dir / f"{index:02d}_{self.name.replace(' ', '_')}.log"
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
                   MPLBACKEND="Agg")
        with open(log, "w") as f:
            proc = subprocess.Popen([sys.executable, "-m", self.module, *self.argv], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
            for line in proc.stdout:  # progress bars and summaries, shown and kept
                f.write(line)
                if line.strip() and "Warning" not in line and "warn(" not in line:
                    print("    " + line.rstrip()[-160:], flush=True)
            rc = proc.wait()
        if rc != 0:
            raise RuntimeError(f"step '{self.name}' failed (exit {rc}); see {log}\n  re-run it with: {self.command()}")
        return time.time() - start


def plan(out: Path, quick: bool, skip_geo: bool) -> tuple[list[Step], dict]:
    """The demo's commands, and where their results land."""
    # Commands run from the repository root; paths inside it are written relative to it so the
    # commands the report prints read well and can be pasted as they are.
    out = Path(_rel(out))
    data = Path("data_recipes") / "demo_data"
    cur, sft, dpo = out / "curate", out / "sft", out / "dpo"
    geo_data, geo_base, geo_sft = out / "geo_data", out / "geo_base", out / "geo_sft"
    limit = ["--limit", "3"] if quick else []
    gen = ["--max-new-tokens", "48" if quick else "160", "--batch-size", "8"]
    curate_over = (["sources.0.limit=6", "sources.1.limit=1", "sampling.teachers.0.max_new_tokens=48"]
                   if quick else [])
    steps = [
        Step("curate", ["curate", "data_recipes/recipes/demo.yaml", "--out", str(cur), *curate_over],
             cur / "funnel.json"),
        Step("sft", ["sft", "configs/sft_demo.yaml", f"data.train=[{cur / 'sft.jsonl'}]", f"out={sft}",
                     *(["train.max_steps=2"] if quick else [])], sft / "final" / "config.json"),
        Step("dpo", ["dpo", "configs/dpo_demo.yaml", f"data.train=[{cur / 'preferences.jsonl'}]",
                     f"model={sft / 'final'}", f"out={dpo}", *(["train.max_steps=2"] if quick else [])],
             dpo / "final" / "config.json"),
    ]
    evals = {"base": "default", "trained": str(dpo / "final")}
    text_sets = {"math-hard": data / "math_hard.jsonl", "aime24": data / "aime24.jsonl"}
    for label, model in evals.items():
        for bench, path in text_sets.items():
            d = out / "eval" / label / bench
            steps.append(Step(f"eval {label} {bench}", ["eval", "--benchmark", bench, "--data", str(path),
                                                       "--model", model, "--out", str(d), *gen, *limit],
                              d / "metrics.json"))
    if not skip_geo:
        n = ["--train", "8", "--test", "4"] if quick else ["--train", "36", "--test", "12"]
        steps += [
            Step("geo data", ["--out", str(geo_data), *n, "--tiny-vl", str(geo_base)],
                 geo_data / "mathvista" / "testmini.json", module="data_recipes.demo_sets"),
            Step("geo sft", ["sft", "configs/geo_sft_tiny.yaml", f"model={geo_base}",
                             f"data.train=[{geo_data / 'train' / 'sft.jsonl'}]", f"out={geo_sft}",
                             *(["train.epochs=1"] if quick else [])], geo_sft / "final" / "config.json"),
        ]
        for label, model in {"base": geo_base, "trained": geo_sft / "final"}.items():
            for bench, path in {"geoqa": geo_data / "geoqa", "mathvista-geo": geo_data / "mathvista" / "testmini.json"}.items():
                d = out / "eval" / label / bench
                steps.append(Step(f"eval {label} {bench}", ["eval", "--benchmark", bench, "--data", str(path),
                                                           "--model", str(model), "--out", str(d),
                                                           "--max-new-tokens", "24", "--batch-size", "8", *limit],
                                  d / "metrics.json"))
    where = {k: ROOT / v for k, v in
             {"curate": cur, "sft": sft, "dpo": dpo, "geo_sft": geo_sft, "eval": out / "eval"}.items()}
    return steps, where


# ----------------------------------------------------------------------------- report

def _metrics(path: Path) -> dict | None:
    f = path / "metrics.json"
    return json.loads(f.read_text()) if f.exists() else None


def _plot_before_after(table: list[tuple[str, float | None, float | None]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [t[0] for t in table]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([i - 0.2 for i in x], [100 * (t[1] or 0) for t in table], width=0.4, label="base")
    ax.bar([i + 0.2 for i in x], [100 * (t[2] or 0) for t in table], width=0.4, label="trained")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("demo: base vs trained")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: Path, steps: list[Step], where: dict, seconds: dict[str, float]) -> Path:
    from redstar.dataio import atomic_write_text

    def rel(p: Path) -> str:  # links in the report are relative to it
        return os.path.relpath(p, out)

    lines = ["# redstar demo", "",
             "Everything below ran on CPU with SmolLM2-135M-Instruct (the embedded default model) for the "
             "text legs and a tiny random Qwen2-VL built from config for the geometry leg (the default model "
             "has no vision). The numbers show the pipeline working end to end, not a strong model.", ""]
    funnel = where["curate"] / "funnel.json"
    if funnel.exists():
        lines += ["## Curation funnel", "", f"Full report: [{rel(where['curate'] / 'report.md')}]"
                  f"({rel(where['curate'] / 'report.md')})", ""]
        data = json.loads(funnel.read_text())
        stages = data.get("funnel") or {}
        if stages:
            lines += ["| stage | unit | in | out | dropped (why) |", "|---|---|---:|---:|---|"]
            for name, st in stages.items():
                why = ", ".join(f"{k}: {v}" for k, v in (st.get("dropped") or {}).items()) or "-"
                lines.append(f"| {name} | {st.get('unit', '')} | {st.get('in', '')} | {st.get('out', '')} | {why} |")
            lines.append("")
        counts = data.get("counts") or {}
        if counts:
            lines += ["Exported: " + ", ".join(f"{k} {v}" for k, v in counts.items()), ""]
        if (where["curate"] / "funnel.png").exists():
            lines += [f"![funnel]({rel(where['curate'] / 'funnel.png')})", ""]
    lines += ["## Training", ""]
    for name in ("sft", "dpo", "geo_sft"):
        d = where[name]
        if (d / "loss.png").exists():
            lines += [f"### {name}", "", f"Model: `{rel(d / 'final')}`", "", f"![{name} loss]({rel(d / 'loss.png')})", ""]
    table = []
    for bench in ("math-hard", "aime24", "geoqa", "mathvista-geo"):
        base, trained = _metrics(where["eval"] / "base" / bench), _metrics(where["eval"] / "trained" / bench)
        if base or trained:
            table.append((bench, base and base.get("accuracy"), trained and trained.get("accuracy"),
                          (base or trained).get("n_items")))
    if table:
        lines += ["## Before / after", "", "| benchmark (demo set) | items | base | trained |", "|---|---:|---:|---:|"]
        for bench, b, t, n in table:
            fmt = (lambda v: "-" if v is None else f"{100 * v:.1f}%")
            lines.append(f"| {bench} | {n} | {fmt(b)} | {fmt(t)} |")
        _plot_before_after([t[:3] for t in table], out / "before_after.png")
        lines += ["", "![before/after](before_after.png)", ""]
    lines += ["## Commands (each step alone)", "", "```bash"]
    lines += [s.command() for s in steps]
    lines += ["```", "", "## Time", ""]
    lines += [f"- {name}: {sec:.0f} s" for name, sec in seconds.items()]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    steps, where = plan(out, args.quick, args.skip_geo)
    start, seconds = time.time(), {}
    print(f"redstar demo: {len(steps)} steps, output in {out}")
    for i, step in enumerate(steps, 1):
        seconds[step.name] = step.run(out / "logs", i, len(steps))
    seconds["total"] = time.time() - start
    report = write_report(out, steps, where, seconds)
    print(f"\ndemo finished in {seconds['total']:.0f} s; report: {report}")
    return 0
