"""Write the synthetic world's files: problems, teacher responses, eval sets and the tiny model.

    python -m data_recipes.synthetic.build --out data_recipes/synthetic/data

writes, in the formats real data uses:
  problems.jsonl      the training pool (Problem rows: question, answer, difficulty = steps)
  teacher.jsonl       the programmatic teacher's samples (replay rows: id, responses,
                      finish_reasons), read by data_recipes/recipes/synthetic.yaml
  eval_easy.jsonl     held-out 1-3 step problems, MATH rows (problem, level, solution with \\boxed{})
  eval_hard.jsonl     held-out 6-8 step problems, MATH rows
  model/              the tokenizer built for the world and a random tiny Qwen2 (HF directory)

Eval questions never appear in the pool. The same arguments write the same files (the shipped
``data/`` holds the defaults' output; tests check it is reproduced).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from data_recipes.synthetic.world import TeacherNoise, eval_rows, make_problems, teacher_rows

# the user message's suffix in the recipe, and the eval prompt (prompt.txt) around the question
SUFFIX = "Put the final answer in \\boxed{}."
PROMPT_FILE = Path(__file__).parent / "prompt.txt"
SHIPPED = Path(__file__).parent / "data"
EASY, HARD = (1, 2, 3), (6, 7, 8)


def tokenizer_corpus(problems: list[dict], teacher: list[dict]) -> list[str]:
    """The texts the tokenizer learns its merges from: every chat the model will see."""
    fixed = "system\nYou are a helpful assistant.\nuser\nassistant\n"
    responses = {r["id"]: r["responses"][0] for r in teacher}
    return [f"{fixed}{p['question']}\n\n{SUFFIX}\n{responses.get(p['id'], '')}" for p in problems]


def build(out: str | Path, pool: int = 1800, n_eval: int = 100, seed: int = 0, model: bool = True) -> dict:
    from redstar.dataio import write_jsonl

    out = Path(out)
    easy = make_problems(n_eval, seed=seed + 101, levels=EASY)
    hard = make_problems(n_eval, seed=seed + 102, levels=HARD)
    held_out = {p["question"] for p in easy + hard}
    problems = make_problems(pool, seed=seed, exclude=held_out)
    teacher = teacher_rows(problems, TeacherNoise(), seed=seed)
    write_jsonl(out / "problems.jsonl", problems)
    write_jsonl(out / "teacher.jsonl", teacher)
    write_jsonl(out / "eval_easy.jsonl", eval_rows(easy))
    write_jsonl(out / "eval_hard.jsonl", eval_rows(hard))
    info = {"problems": len(problems), "eval_easy": len(easy), "eval_hard": len(hard)}
    if model:
        from data_recipes.synthetic.tiny import save_tiny_model

        save_tiny_model(out / "model", tokenizer_corpus(problems, teacher), seed=seed)
        info["model"] = str(out / "model")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m data_recipes.synthetic.build",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--out", default=str(SHIPPED), help="output directory (default: the shipped data/)")
    ap.add_argument(
        "--pool",
        type=int,
        default=1800,
        help="training problems (levels 1-8 in turn; the few distinct short ones run out, so long chains are the majority)",
    )
    ap.add_argument("--eval", type=int, default=100, help="items in each eval set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-model", action="store_true", help="write the data only")
    args = ap.parse_args(argv)
    if args.pool < 8 or args.eval < 3:
        ap.error("--pool must be >= 8 and --eval >= 3")
    info = build(args.out, args.pool, args.eval, args.seed, model=not args.no_model)
    for k, v in info.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
