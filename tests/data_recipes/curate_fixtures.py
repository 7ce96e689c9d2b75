"""Small real-shaped curation fixtures written into tmp_path: Problem rows, the published
shapes of NuminaMath / MetaMathQA / TACO / GeoQA / Collinear rows, a MATH-shaped benchmark,
replay responses, and a recipe tying them together. Planted on purpose: a contaminated item,
a near-duplicate, a malformed line, a row without a question and a missing image."""

import json
from pathlib import Path

TOPICS = [
    "apples",
    "marbles",
    "pencils",
    "stamps",
    "coins",
    "books",
    "cards",
    "shells",
    "beads",
    "tickets",
    "stickers",
    "buttons",
]


def math_problems() -> list[dict]:
    rows = []
    for i, topic in enumerate(TOPICS):
        a, b = 3 + i, 7 + 2 * i
        rows.append(
            {
                "id": f"m{i}",
                "source": "pool",
                "domain": "math",
                "answer": str(a * b),
                "question": f"A shop packs {topic} into {a} boxes with {b} {topic} in each box. "
                f"The clerk counts all the {topic} on the shelf at the end of day {i + 1}. "
                f"How many {topic} are there in total?",
                "difficulty": 1 + (i % 9),
            }
        )
    return rows


BENCH = [
    {
        "problem": "Let $f(x) = 3x^2 - 5$. What is the value of $f(f(1))$ when every step of the substitution "
        "is carried out carefully by hand?",
        "level": "Level 5",
        "type": "Algebra",
        "solution": "$f(1) = -2$, so $f(-2) = 12 - 5 = \\boxed{7}$.",
    },
    {
        "problem": "How many vertical asymptotes does the graph of $y=\\frac{2}{x^2+x-6}$ have?",
        "level": "Level 3",
        "type": "Algebra",
        "solution": "Two: $\\boxed{2}$.",
    },
]


def write_jsonl(path: Path, rows: list, raw_lines: tuple = ()) -> Path:
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        for line in raw_lines:
            f.write(line + "\n")
    return path


def responses_for(problem: dict, k: int) -> list[str]:
    """Four answers per prompt: right, wrong, looping, no final answer (rotating with k)."""
    gold = problem["answer"]
    right = f"Let me think. Multiply the boxes by the count per box.\nSo the total is \\boxed{{{gold}}}."
    wrong = "Adding instead of multiplying gives the total. \\boxed{1}"
    loop = "Let me check again. " + "Wait, recount the boxes and the items. " * 60
    none = "The answer is the product of the two numbers given in the problem."
    return (
        [right, wrong, loop, none]
        if k % 2 == 0
        else [right, right.replace("Let me think.", "Step by step:"), wrong, none]
    )


def make_world(tmp_path: Path):
    """A recipe over math Problem rows (with planted bad rows) and a benchmark, with replay
    responses. Returns (recipe path, dict of paths)."""
    probs = math_problems()
    near = dict(probs[0], id="m0-near")
    near["question"] = near["question"].replace("The clerk counts", "The clerk then counts")
    leak = {
        "id": "leak",
        "source": "pool",
        "domain": "math",
        "answer": "7",
        "difficulty": 5,
        "question": "Please solve: " + BENCH[0]["problem"],
    }
    no_question = {"id": "broken", "source": "pool", "answer": "3"}
    data = write_jsonl(
        tmp_path / "math.jsonl",
        probs[:6] + [near] + probs[6:] + [leak, no_question],
        raw_lines=('{"id": "cut", "question": "What is 1 +',),
    )
    bench = write_jsonl(tmp_path / "bench.jsonl", BENCH)
    resp = write_jsonl(
        tmp_path / "responses.jsonl",
        [{"id": p["id"], "responses": responses_for(p, k)} for k, p in enumerate(probs + [near, leak])],
    )
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""# schema: data_recipes.recipe:Recipe
name: test_math
sources:
  - {{path: {data.name}, preset: problem, name: pool}}
decontam:
  benchmarks: [{{name: math_hard, path: {bench.name}, field: problem}}]
sampling:
  teachers: [{{name: teacher, backend: {{backend: replay, path: {resp.name}}}, n: 4}}]
  system_prompt: "You should think step-by-step."
  prompt_suffix: "Put the final answer in \\\\boxed{{}}."
export:
  sft_per_prompt: 2
  pairs_per_prompt: 1
  subsets: [{{name: hard, min_level: 5, max_rows: 6}}]
run: {{chunk_size: 3, progress: false}}
""")
    return recipe, {"data": data, "bench": bench, "responses": resp, "dir": tmp_path}
