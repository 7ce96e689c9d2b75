"""Run the whole pipeline for real on CPU: the embedded default model, and a toy world where
a tiny model trained from scratch shows learning.

example:
  redstar demo --out runs/demo            # the full demo (EXPECTED says how long)
  redstar demo --out runs/demo --quick    # the fast path: fewer items and steps

Steps, each a plain redstar command (the report lists them so each can be re-run alone):
  1. curate     the demo recipe: SmolLM2-135M-Instruct samples answers to the shipped math and
                code problems; verification, filters, dedup, decontamination, exports, funnel
  2. sft        a few SFT steps of the default model on the curated rows
  3. dpo        a few native DPO steps on the curated preference pairs, from the SFT model
  4. synthetic  the laptop sweep's experiment in its smallest useful form: curate the synthetic
                digit-chain world (data_recipes/synthetic), train its tiny Qwen2 from scratch on
                SYNTHETIC_ROWS random curated rows with the sweep's settings; the leg whose
                before/after gain is learning rather than noise (a toy world, not a real model)
  5. geo        draw geometry problems (GeoQA and MathVista formats), train a tiny random
                Qwen2-VL built from config on them (the 135M default model has no vision)
  6. eval       base and trained models on MATH-Hard-, AIME-, GeoQA- and MathVista-shaped sets,
                and the synthetic world's random start and trained model on its held-out easy
                (1-3 steps) and hard (6-8 steps) chains
  7. report     OUT/report.md with the funnel, loss curves, before/after table (each gain with a
                95% paired bootstrap interval; the same rows in OUT/before_after.json) and plots

Run again with the same --out, a step is skipped only when it finished with the same command
on the same inputs (OUT/steps.json keys each step on its command and the keys of the steps it
reads from); otherwise its directory is cleared and it runs again, so a --quick run followed by
a full one recomputes every step whose command differs (the synthetic curation and the random
start's scores are the same in both and are reused). --overwrite empties OUT first.

The demo prints its expected duration when it starts and each step's elapsed time when the
step ends. OUT/step_seconds.json keeps what each step took, keyed like steps.json, so a re-run
that skips a step reports the time of the run that did the work rather than 0 s.
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
TIMES_FILE = "step_seconds.json"
# What a run is expected to take, shown when it starts; the README quotes the measured figures.
EXPECTED = {
    False: "about 8-9 minutes on an idle 2-core machine, longer when the cores are shared",
    True: "about 3-4 minutes on an idle 2-core machine, longer when the cores are shared",
}


class Step:
    """One redstar command. ``done`` names the file it writes last; ``outputs`` the directories
    it owns (cleared before it runs again with another command); ``deps`` the steps whose
    results it reads; ``env`` variables set for it (shown before the command, so the printed
    command runs the same way). Its key is its command plus its dependencies' keys, so a step is
    reused only when it would run the same command on the same inputs."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        done: Path,
        module: str = "redstar.cli",
        deps: tuple[Step, ...] = (),
        outputs: tuple[Path, ...] = (),
        env: dict[str, str] | None = None,
    ):
        self.name, self.argv, self.done, self.module = name, argv, done, module
        self.deps = deps
        self.outputs = outputs or (done.parent,)
        self.env = dict(env or {})

    def command(self) -> str:
        head = "redstar" if self.module == "redstar.cli" else f"python -m {self.module}"
        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in self.env.items())
        return prefix + head + " " + " ".join(shlex.quote(a) for a in self.argv)

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
        env.update(self.env)
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
        seconds = time.time() - start
        print(f"    {self.name}: done in {seconds:.0f} s", flush=True)
        return seconds


def _eval_steps(out: Path, runs: dict, sets: dict, options: list[str], env: dict | None = None) -> list[Step]:
    """One eval step per run and benchmark, into OUT/eval/<label>/<benchmark>: ``runs`` maps a
    label to (model, the steps that make it), ``sets`` a benchmark to its data, or to (the eval
    --benchmark format, data) when the name is the demo's own; ``options`` follow the model and
    output arguments; ``env`` as in Step."""
    steps = []
    for label, (model, deps) in runs.items():
        for bench, path in sets.items():
            fmt, path = path if isinstance(path, tuple) else (bench, path)
            d = out / "eval" / label / bench
            argv = ["eval", "--benchmark", fmt, "--data", str(path), "--model", str(model), "--out", str(d)]
            step = Step(
                f"eval {label} {bench}", [*argv, *options], d / "metrics.json", deps=deps, outputs=(d,), env=env
            )
            steps.append(step)
    return steps


SYNTHETIC = Path("data_recipes") / "synthetic"
# Curated rows the synthetic leg trains on (the curation's order is a seeded shuffle of the
# world's problems, so the first rows are a random subset): the laptop sweep's largest random
# cell, where the model is far above chance on easy and hard chains (the README's demo section
# quotes a run); the fast path's 256 rows, a quarter of the training time, still beat the
# random start on easy chains (the tests check the interval). The sweep's 64 rows stay at chance.
SYNTHETIC_ROWS = {False: 1024, True: 256}
# A 0.22M-parameter model: one CPU thread per command is faster than two that synchronise.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def synthetic_steps(out: Path, quick: bool) -> list[Step]:
    """The laptop sweep's experiment (configs/sweep_laptop.yaml) in its smallest useful form:
    curate the synthetic world's replayed teacher samples, train its tiny Qwen2 from scratch on
    SYNTHETIC_ROWS curated rows with the sweep's training config, and score the random start and
    the trained model on all 100 held-out easy and 100 hard chains (greedy, the world's prompt)."""
    cur, sft = out / "synthetic" / "curate", out / "synthetic" / "sft"
    s_cur = Step(
        "synthetic curate",
        ["curate", "data_recipes/recipes/synthetic.yaml", "--out", str(cur), "--no-progress"],
        cur / "funnel.json",
        outputs=(cur,),
    )
    s_sft = Step(
        "synthetic sft",
        [
            "sft",
            "configs/sft_synthetic_tiny.yaml",
            f"data.train=[{cur / 'sft.jsonl'}]",
            f"data.max_rows={SYNTHETIC_ROWS[quick]}",
            f"out={sft}",
        ],
        sft / "final" / "config.json",
        deps=(s_cur,),
        outputs=(sft,),
        env=ONE_THREAD,
    )
    data = SYNTHETIC / "data"
    sets = {
        "synthetic-easy": ("math500", data / "eval_easy.jsonl"),
        "synthetic-hard": ("math500", data / "eval_hard.jsonl"),
    }
    options = ["--prompt", str(SYNTHETIC / "prompt.txt"), "--max-new-tokens", "128", "--batch-size", "100"]
    runs = {"base": (data / "model", ()), "trained": (sft / "final", (s_cur, s_sft))}
    evals = _eval_steps(out, runs, sets, [*options, "--workers", "1"], env=ONE_THREAD)
    return [s_cur, s_sft, *evals]


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
    steps += synthetic_steps(out, quick)
    if not skip_geo:
        n = ["--train", "8", "--test", "4"] if quick else ["--train", "36", "--test", "12"]
        s_gdata = Step(
            "geo data",
            ["--out", str(geo_data), *n, "--tiny-vl", str(geo_base)],
            geo_data / "mathvista" / "testmini.json",
            module="redstar_demo.geo_sets",
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
        for k, v in {
            "curate": cur,
            "sft": sft,
            "dpo": dpo,
            "geo_sft": geo_sft,
            "synthetic_sft": out / "synthetic" / "sft",
            "eval": out / "eval",
        }.items()
    }
    return steps, where


def _read_state(out: Path, name: str = STATE_FILE) -> dict:
    f = out / name
    try:
        data = json.loads(f.read_text()) if f.is_file() else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def earlier_seconds(times: dict, steps: list[Step]) -> dict[str, float]:
    """What each step took in the run that did its work, for the steps whose key it still has."""
    out = {}
    for s in steps:
        rec = times.get(s.name)
        if isinstance(rec, dict) and rec.get("key") == s.key() and isinstance(rec.get("seconds"), (int, float)):
            out[s.name] = float(rec["seconds"])
    return out


def run(args: argparse.Namespace) -> int:
    from redstar.dataio import write_json
    from redstar.rundir import clear_dir
    from redstar_demo.report import write_report

    out = Path(args.out).resolve()
    if getattr(args, "overwrite", False) and out.exists():
        clear_dir(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    steps, where = plan(out, args.quick, args.skip_geo)
    start, seconds = time.time(), {}
    state, times = _read_state(out), _read_state(out, TIMES_FILE)
    print(f"redstar demo: {len(steps)} steps, output in {out}")
    print(
        f"expected: {EXPECTED[bool(args.quick)]}" + ("" if args.quick else "; --quick is the fast path"),
        flush=True,
    )
    for i, step in enumerate(steps, 1):
        seconds[step.name] = step.run(out / "logs", i, len(steps), state)
        state[step.name] = step.key()  # recorded once the step has finished
        write_json(out / STATE_FILE, state)
        if seconds[step.name] is not None:
            times[step.name] = {"key": step.key(), "seconds": round(seconds[step.name], 2)}
            write_json(out / TIMES_FILE, times)
        elif step.name in earlier_seconds(times, [step]):
            print(f"    (it took {times[step.name]['seconds']:.0f} s in the run that did it)", flush=True)
    seconds["total"] = time.time() - start
    earlier = earlier_seconds(times, steps)
    report = write_report(out, steps, where, seconds, earlier)
    print("\nstep times:")
    for s in steps:
        sec = seconds[s.name]
        if sec is not None:
            print(f"  {s.name}: {sec:.0f} s")
        else:
            was = earlier.get(s.name)
            print(f"  {s.name}: skipped" + ("" if was is None else f" (took {was:.0f} s when it ran)"))
    work = sum(seconds[s.name] if seconds[s.name] is not None else earlier.get(s.name, 0.0) for s in steps)
    print(f"\ndemo finished in {seconds['total']:.0f} s (the steps' work: {work:.0f} s); report: {report}")
    return 0
