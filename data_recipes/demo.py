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

Run again with the same --out, a step is skipped only when it finished with the same command
on the same inputs (OUT/steps.json keys each step on its command and the keys of the steps it
reads from); otherwise its directory is cleared and it runs again, so a --quick run followed by
a full one recomputes everything. --overwrite empties OUT first.
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
    parser.add_argument("--overwrite", action="store_true", help="empty OUT first and run every step")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


STATE_FILE = "steps.json"


class Step:
    """One redstar command. ``done`` names the file it writes last; ``outputs`` the directories
    it owns (cleared before it runs again with another command); ``deps`` the steps whose
    results it reads. Its key is its command plus its dependencies' keys, so a step is reused
    only when it would run the same command on the same inputs."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        done: Path,
        module: str = "redstar.cli",
        deps: tuple[Step, ...] = (),
        outputs: tuple[Path, ...] = (),
    ):
        self.name, self.argv, self.done, self.module = name, argv, done, module
        self.deps = deps
        self.outputs = outputs or (done.parent,)

    def command(self) -> str:
        head = "redstar" if self.module == "redstar.cli" else f"python -m {self.module}"
        return head + " " + " ".join(shlex.quote(a) for a in self.argv)

    def key(self) -> str:
        import hashlib

        text = json.dumps([self.command(), [d.key() for d in self.deps]])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def run(self, log_dir: Path, index: int, total: int, state: dict) -> float | None:
        """Run the step unless the state records it finished with the same key; returns its
        seconds, or None when skipped."""
        import shutil

        print(f"\n[{index}/{total}] {self.name}: {self.command()}", flush=True)
        if state.get(self.name) == self.key() and (ROOT / self.done).exists():
            print("    finished earlier with the same command and inputs; skipped", flush=True)
            return None
        for d in self.outputs:  # another command (or inputs) wrote these: start clean
            if state.get(self.name) != self.key() and (ROOT / d).exists():
                print(f"    clearing {d} (written by another command or from other inputs)", flush=True)
                shutil.rmtree(ROOT / d)
        start = time.time()
        log = log_dir / f"{index:02d}_{self.name.replace(' ', '_')}.log"
        env = dict(
            os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg"
        )
        with open(log, "w") as f:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.argv],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            for line in proc.stdout:  # progress bars and summaries, shown and kept
                f.write(line)
                if line.strip() and "Warning" not in line and "warn(" not in line:
                    print("    " + line.rstrip()[-160:], flush=True)
            rc = proc.wait()
        if rc != 0:
            raise RuntimeError(f"step '{self.name}' failed (exit {rc}); see {log}\n  re-run it with: {self.command()}")
        return time.time() - start


def _eval_steps(out: Path, runs: dict, sets: dict, options: list[str]) -> list[Step]:
    """One eval step per run and benchmark, into OUT/eval/<label>/<benchmark>: ``runs`` maps a
    label to (model, the steps that make it), ``sets`` a benchmark to its data; ``options``
    follow the model and output arguments."""
    steps = []
    for label, (model, deps) in runs.items():
        for bench, path in sets.items():
            d = out / "eval" / label / bench
            argv = ["eval", "--benchmark", bench, "--data", str(path), "--model", str(model), "--out", str(d)]
            steps.append(Step(f"eval {label} {bench}", [*argv, *options], d / "metrics.json", deps=deps, outputs=(d,)))
    return steps


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
    curate_over = ["sources.0.limit=6", "sources.1.limit=1", "sampling.teachers.0.max_new_tokens=48"] if quick else []
    s_cur = Step(
        "curate",
        ["curate", "data_recipes/recipes/demo.yaml", "--out", str(cur), *curate_over],
        cur / "funnel.json",
        outputs=(cur,),
    )
    s_sft = Step(
        "sft",
        [
            "sft",
            "configs/sft_demo.yaml",
            f"data.train=[{cur / 'sft.jsonl'}]",
            f"out={sft}",
            *(["train.max_steps=2"] if quick else []),
        ],
        sft / "final" / "config.json",
        deps=(s_cur,),
        outputs=(sft,),
    )
    s_dpo = Step(
        "dpo",
        [
            "dpo",
            "configs/dpo_demo.yaml",
            f"data.train=[{cur / 'preferences.jsonl'}]",
            f"model={sft / 'final'}",
            f"out={dpo}",
            *(["train.max_steps=2"] if quick else []),
        ],
        dpo / "final" / "config.json",
        deps=(s_cur, s_sft),
        outputs=(dpo,),
    )
    steps = [s_cur, s_sft, s_dpo]
    evals = {"base": ("default", ()), "trained": (str(dpo / "final"), (s_dpo,))}
    text_sets = {"math-hard": data / "math_hard.jsonl", "aime24": data / "aime24.jsonl"}
    steps += _eval_steps(out, evals, text_sets, [*gen, *limit])
    if not skip_geo:
        n = ["--train", "8", "--test", "4"] if quick else ["--train", "36", "--test", "12"]
        s_gdata = Step(
            "geo data",
            ["--out", str(geo_data), *n, "--tiny-vl", str(geo_base)],
            geo_data / "mathvista" / "testmini.json",
            module="data_recipes.demo_sets",
            outputs=(geo_data, geo_base),
        )
        s_gsft = Step(
            "geo sft",
            [
                "sft",
                "configs/geo_sft_tiny.yaml",
                f"model={geo_base}",
                f"data.train=[{geo_data / 'train' / 'sft.jsonl'}]",
                f"out={geo_sft}",
                *(["train.epochs=1"] if quick else []),
            ],
            geo_sft / "final" / "config.json",
            deps=(s_gdata,),
            outputs=(geo_sft,),
        )
        steps += [s_gdata, s_gsft]
        steps += _eval_steps(
            out,
            {"base": (geo_base, (s_gdata,)), "trained": (geo_sft / "final", (s_gdata, s_gsft))},
            {"geoqa": geo_data / "geoqa", "mathvista-geo": geo_data / "mathvista" / "testmini.json"},
            ["--max-new-tokens", "24", "--batch-size", "8", *limit],
        )
    where = {
        k: ROOT / v
        for k, v in {"curate": cur, "sft": sft, "dpo": dpo, "geo_sft": geo_sft, "eval": out / "eval"}.items()
    }
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


def _pct_or_dash(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def write_report(out: Path, steps: list[Step], where: dict, seconds: dict[str, float | None]) -> Path:
    from redstar.dataio import atomic_write_text

    def rel(p: Path) -> str:  # links in the report are relative to it
        return os.path.relpath(p, out)

    lines = [
        "# redstar demo",
        "",
        "Everything below ran on CPU with SmolLM2-135M-Instruct (the embedded default model) for the "
        "text legs and a tiny random Qwen2-VL built from config for the geometry leg (the default model "
        "has no vision). The numbers show the pipeline working end to end, not a strong model.",
        "",
    ]
    funnel = where["curate"] / "funnel.json"
    if funnel.exists():
        lines += [
            "## Curation funnel",
            "",
            f"Full report: [{rel(where['curate'] / 'report.md')}]({rel(where['curate'] / 'report.md')})",
            "",
        ]
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
    planned = {s.name for s in steps}  # results of steps outside this plan are not shown
    lines += ["## Training", ""]
    for name in ("sft", "dpo", "geo_sft"):
        d = where[name]
        if name.replace("_", " ") in planned and (d / "loss.png").exists():
            lines += [
                f"### {name}",
                "",
                f"Model: `{rel(d / 'final')}`",
                "",
                f"![{name} loss]({rel(d / 'loss.png')})",
                "",
            ]
    table = []
    for bench in ("math-hard", "aime24", "geoqa", "mathvista-geo"):
        if f"eval base {bench}" not in planned:
            continue
        base, trained = _metrics(where["eval"] / "base" / bench), _metrics(where["eval"] / "trained" / bench)
        if base or trained:
            table.append(
                (
                    bench,
                    base and base.get("accuracy"),
                    trained and trained.get("accuracy"),
                    (base or trained).get("n_items"),
                )
            )
    if table:
        lines += ["## Before / after", "", "| benchmark (demo set) | items | base | trained |", "|---|---:|---:|---:|"]
        for bench, b, t, n in table:
            lines.append(f"| {bench} | {n} | {_pct_or_dash(b)} | {_pct_or_dash(t)} |")
        _plot_before_after([t[:3] for t in table], out / "before_after.png")
        lines += ["", "![before/after](before_after.png)", ""]
    lines += ["## Commands (each step alone)", "", "```bash"]
    lines += [s.command() for s in steps]
    lines += ["```", "", "## Time", ""]
    lines += [
        f"- {name}: "
        + ("finished by an earlier run with the same command and inputs" if sec is None else f"{sec:.0f} s")
        for name, sec in seconds.items()
    ]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _read_state(out: Path) -> dict:
    f = out / STATE_FILE
    try:
        return json.loads(f.read_text()) if f.is_file() else {}
    except json.JSONDecodeError:
        return {}


def run(args: argparse.Namespace) -> int:
    from redstar.dataio import write_json
    from redstar.rundir import clear_dir

    out = Path(args.out).resolve()
    if getattr(args, "overwrite", False) and out.exists():
        clear_dir(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    steps, where = plan(out, args.quick, args.skip_geo)
    start, seconds = time.time(), {}
    state = _read_state(out)
    print(f"redstar demo: {len(steps)} steps, output in {out}")
    for i, step in enumerate(steps, 1):
        seconds[step.name] = step.run(out / "logs", i, len(steps), state)
        state[step.name] = step.key()  # recorded once the step has finished
        write_json(out / STATE_FILE, state)
    seconds["total"] = time.time() - start
    report = write_report(out, steps, where, seconds)
    print(f"\ndemo finished in {seconds['total']:.0f} s; report: {report}")
    return 0
