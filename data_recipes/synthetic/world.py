"""The synthetic world: chains of small additions whose difficulty is the number of steps.

A problem starts from a digit and lists ``n`` labelled steps, each adding 1, 2 or 3 and keeping
the last digit; the gold answer is the final digit::

    Start at 7. Steps: a+2 b+3 c+1. Keep the last digit. Final value?

The teacher writes the long-CoT format, one line per step that copies the running value and
the step's addend next to each other, then the boxed answer::

    <think>
    a: 7+2=9
    b: 9+3=2
    c: 2+1=3
    The final number is 3.
    </think>

    The answer is \\boxed{3}.

Each line is one of 30 small facts (a digit plus 1, 2 or 3, last digit kept) once the model has
copied the previous line's result and found the step's addend in the question by its label, so
a tiny model trained from scratch can learn the world on a laptop. Harder problems have more
steps: they need what short ones never show (the labels f, g and h, stopping after six to eight
lines) and a value carried through the whole chain, so the final answer is right only if every
line is. Every step list is its own problem (10 starts x 3**n step lists), so the pool holds
thousands of distinct problems; 1- and 2-step problems are few (30 and 90 in all), so the
default pool of 1,800 is mostly 4-8 step chains (8, 53, 159, 269, 321, 327, 332 and 331 of
1 to 8 steps).

The teacher slips at each step with probability ``step_error`` (a wrong digit that
propagates), stops early with probability ``truncate`` (finish reason ``length``, no answer)
and sometimes ends without ``\\boxed{}`` (``no_box``), so curation's verifier and filters
have real work.

    problems = make_problems(1800, seed=0)                       # Problem rows (question, answer, difficulty)
    responses = teacher_rows(problems, TeacherNoise(), seed=0)   # replay rows (id, responses, finish_reasons)
    items = eval_rows(make_problems(100, seed=1, levels=(6, 7, 8)))  # MATH-shaped eval rows
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LABELS = "abcdefgh"
MAX_STEPS = len(LABELS)
ADDENDS = (1, 2, 3)


def apply(value: int, d: int) -> int:
    """One step: the last digit of ``value + d``."""
    return (value + d) % 10


def question_text(start: int, addends: list[int]) -> str:
    steps = " ".join(f"{LABELS[i]}+{d}" for i, d in enumerate(addends))
    return f"Start at {start}. Steps: {steps}. Keep the last digit. Final value?"


def solve(start: int, addends: list[int]) -> list[int]:
    """The value after each step (the last one is the answer)."""
    values, v = [], start
    for d in addends:
        v = apply(v, d)
        values.append(v)
    return values


def make_problems(
    n: int, seed: int, levels: tuple[int, ...] = tuple(range(1, MAX_STEPS + 1)), exclude: set[str] | None = None
) -> list[dict]:
    """``n`` distinct problems (Problem rows) whose step counts take turns through ``levels``;
    a level that has run out of fresh problems is skipped, so short levels, which hold few
    distinct problems, end up rarer than long ones. Questions in ``exclude`` (another
    split's) are never drawn."""
    if not levels or any(not 1 <= k <= MAX_STEPS for k in levels):
        raise ValueError(f"levels must be step counts in 1..{MAX_STEPS}, got {levels}")
    rng = random.Random(f"synthetic-{seed}")
    seen = set(exclude or ())
    out: list[dict] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise ValueError(f"could not draw {n} distinct problems at levels {levels}")
        n_steps = levels[tries % len(levels)]
        start = rng.randrange(10)
        addends = [rng.choice(ADDENDS) for _ in range(n_steps)]
        q = question_text(start, addends)
        if q in seen:
            continue
        seen.add(q)
        out.append(
            {
                "id": f"chain-s{seed}-{len(out):05d}",
                "source": "synthetic_chains",
                "domain": "math",
                "question": q,
                "answer": str(solve(start, addends)[-1]),
                "solution": None,
                "choices": None,
                "images": [],
                "tests": None,
                "difficulty": n_steps,
                "meta": {"start": start, "addends": "".join(map(str, addends)), "steps": n_steps},
            }
        )
    return out


def parse(problem: dict) -> tuple[int, list[int]]:
    """(start, addends) of a Problem row this module wrote."""
    m = problem["meta"]
    return int(m["start"]), [int(c) for c in m["addends"]]


def chain_of_thought(start: int, addends: list[int], slip_at: int | None = None, slip_by: int = 1) -> str:
    """The teacher's full response; ``slip_at`` writes a wrong digit at that step (0-based)
    and carries it on, as a model's arithmetic slip would."""
    lines = ["<think>"]
    v = start
    for i, d in enumerate(addends):
        r = apply(v, d)
        if i == slip_at:
            r = (r + slip_by) % 10
        lines.append(f"{LABELS[i]}: {v}+{d}={r}")
        v = r
    lines += [f"The final number is {v}.", "</think>", "", f"The answer is \\boxed{{{v}}}."]
    return "\n".join(lines)


@dataclass
class TeacherNoise:
    """How often the teacher goes wrong."""

    step_error: float = 0.03  # per step: a wrong digit, carried on (longer chains fail more)
    truncate: float = 0.05  # the response stops early (finish reason "length")
    no_box: float = 0.03  # the answer is stated without \boxed{}


def teacher_response(problem: dict, noise: TeacherNoise, rng: random.Random) -> tuple[str, str]:
    """(response, finish_reason) for one sample."""
    start, addends = parse(problem)
    n = len(addends)
    slip = next((i for i in range(n) if rng.random() < noise.step_error), None)
    text = chain_of_thought(start, addends, slip, slip_by=rng.randrange(1, 10))
    if rng.random() < noise.truncate:
        cut = rng.randrange(len("<think>") + 1, text.index("\\boxed"))
        return text[:cut], "length"
    if rng.random() < noise.no_box:
        text = text[: text.index("The answer is")] + f"So the answer is {text[text.index('{') + 1]}."
    return text, "stop"


def teacher_rows(problems: list[dict], noise: TeacherNoise, seed: int, n: int = 1) -> list[dict]:
    """Replay rows (``id``, ``responses``, ``finish_reasons``): ``n`` samples per problem."""
    rows = []
    for p in problems:
        rng = random.Random(f"teacher-{seed}-{p['id']}")
        pairs = [teacher_response(p, noise, rng) for _ in range(n)]
        rows.append({"id": p["id"], "responses": [r for r, _ in pairs], "finish_reasons": [f for _, f in pairs]})
    return rows


def eval_rows(problems: list[dict]) -> list[dict]:
    """MATH-shaped benchmark rows (``problem``, ``level``, ``type``, ``solution`` ending in
    ``\\boxed{}``, ``unique_id``), read by ``redstar eval --benchmark math500``."""
    rows = []
    for p in problems:
        start, addends = parse(p)
        rows.append(
            {
                "problem": p["question"],
                "level": f"Level {p['difficulty']}",
                "type": "Digit chains",
                "solution": chain_of_thought(start, addends).split("</think>")[0].replace("<think>\n", "").strip()
                + f"\nThe answer is $\\boxed{{{p['answer']}}}$.",
                "answer": p["answer"],
                "unique_id": p["id"],
            }
        )
    return rows
