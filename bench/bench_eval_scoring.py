"""How long `redstar eval --responses` takes to score 10,000 stored responses.

1,000 MATH-style items x 10 long responses each (about 3,000 characters of reasoning ending in
a boxed answer; gold answers mix integers, fractions, radicals, intervals and expressions;
responses are right, wrong, written differently, or unanswered). Times the whole CLI run and its
phases (grading with 1 and 2 workers, metrics incl. maj@k over equivalent answers) and writes
bench/results/bench_eval_scoring.md.

    python bench/bench_eval_scoring.py [--items 1000] [--samples 10]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

GOLDS = [("42", ["42", "42.0", "41", "\\text{42}"]),
         ("\\frac{5}{6}", ["\\frac{5}{6}", "5/6", "\\dfrac{5}{6}", "\\frac{6}{5}"]),
         ("2\\sqrt{3}", ["2\\sqrt{3}", "\\sqrt{12}", "2\\sqrt3", "3\\sqrt{2}"]),
         ("(-\\infty, 3]", ["(-\\infty, 3]", "(-\\infty,3]", "(-\\infty, 3)", "[3, \\infty)"]),
         ("x^2+2x+1", ["x^2+2x+1", "(x+1)^2", "x^2+2x", "1+2x+x^2"]),
         ("0.25", ["0.25", "\\frac14", "1/4", "0.2"]),
         ("12\\pi", ["12\\pi", "12 \\pi", "\\pi \\cdot 12", "6\\pi"]),
         ("\\{1, 2\\}", ["\\{1,2\\}", "\\{2, 1\\}", "1, 2", "\\{1\\}"])]
FILLER = ("Let me think about this step by step. First we set up the equation and simplify both sides. "
          "Wait, let me check that again: the term on the left should be squared. ")


def make_data(root: Path, n_items: int, n_samples: int, seed: int = 0) -> tuple[Path, Path]:
    rng = random.Random(seed)
    items, resp = [], []
    for i in range(n_items):
        gold, forms = GOLDS[i % len(GOLDS)]
        items.append({"problem": f"Problem {i}: compute the value.", "level": "Level 5", "type": "Algebra",
                      "solution": f"Work. The answer is $\\boxed{{{gold}}}$."})
        rs = []
        for s in range(n_samples):
            body = FILLER * rng.randint(10, 30) + f" Intermediate value \\boxed{{{rng.randint(1, 99)}}}. "
            r = rng.random()
            if r < 0.1:
                rs.append(body + " I am not sure.")                       # no final answer
            else:
                rs.append(body + f"Therefore the final answer is $\\boxed{{{rng.choice(forms)}}}$.")
        resp.append({"id": str(i), "responses": rs, "scores": [rng.random() for _ in rs]})
    data = root / "math_hard.jsonl"
    data.write_text("".join(json.dumps(x) + "\n" for x in items))
    rpath = root / "responses.jsonl"
    rpath.write_text("".join(json.dumps(x) + "\n" for x in resp))
    return data, rpath


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=10)
    args = ap.parse_args()
    from eval.benchmarks import load_benchmark
    from eval.scoring import compute_metrics, grade_responses
    from redstar.cli import main as cli
    from redstar.generation.replay import read_responses

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, rpath = make_data(root, args.items, args.samples)
        n = args.items * args.samples
        items = load_benchmark("math-hard", str(data)).items
        stored = read_responses(rpath)
        responses = {k: v["responses"] for k, v in stored.items()}
        for workers in (1, 2):
            t = time.perf_counter()
            verdicts = grade_responses(items, responses, workers=workers, progress=False)
            dt = time.perf_counter() - t
            rows.append((f"grade {n} responses ({grade_responses.last_graded} distinct answer/gold pairs), "
                         f"--workers {workers} (used {grade_responses.last_workers})"
                         + (", cold start" if workers == 1 else ""), dt, n / dt))
        t = time.perf_counter()
        m = compute_metrics(items, responses, verdicts, {k: v["scores"] for k, v in stored.items()})
        dt = time.perf_counter() - t
        rows.append(("metrics: pass@k, maj@k (equivalence), rm@k (100 seeds)", dt, n / dt))
        t = time.perf_counter()
        rc = cli(["eval", "--benchmark", "math-hard", "--data", str(data), "--responses", str(rpath),
                  "--out", str(root / "out"), "--workers", "2"])
        dt = time.perf_counter() - t
        assert rc == 0
        rows.append(("whole `redstar eval --responses` run, 2 workers", dt, n / dt))
    lines = ["# bench_eval_scoring", "",
             f"{args.items} MATH-style items x {args.samples} responses (~3k characters each) = "
             f"{args.items * args.samples} responses; 2 shared CPU cores.", "",
             "| phase | seconds | responses/s |", "|---|---|---|"]
    lines += [f"| {name} | {dt:.2f} | {rate:,.0f} |" for name, dt, rate in rows]
    lines += ["", f"accuracy {100 * m['accuracy']:.1f}%, pass@10 {100 * m['pass@10']:.1f}%, "
                  f"maj@10 {100 * m['maj@10']:.1f}%, rm@8 {100 * m['rm@8']:.1f}%, "
                  f"no answer {100 * m['no_answer_rate']:.1f}%", "",
              "Command: `python bench/bench_eval_scoring.py`"]
    text = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "results" / "bench_eval_scoring.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
