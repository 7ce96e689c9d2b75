"""The synthetic world: chains of digit steps whose difficulty is the number of steps.

A problem starts from a digit and applies one operation (``+d``, ``-d`` or ``*d``) ``n``
times, keeping the last digit after each step; the gold answer is the final digit::

    Start with x=7. Repeat n=3 times: x+5. Keep only the last digit after each step.
    What is x at the end?

The teacher writes the long-CoT format, one labelled line per step, then the boxed answer::

    <think>
    x=7
    a: 7+5=2
    b: 2+5=7
    c: 7+5=2
    The final number is 2.
    </think>

    The answer is \\boxed{2}.

Harder problems have more steps, so they need what easy ones never show: the later labels
(f, g, h), stopping after six to eight lines, and carrying a value through a long chain. The
world's tokenizer reads ``x=7``, ``n=3`` and ``x+5`` as one token each (``tiny.world_words``),
so a tiny model reads the problem with one lookup and the chain itself is the work.

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
OPS = "+-*"


def apply(value: int, op: str, d: int) -> int:
    """One step: the last digit of ``value op d``."""
    if op == "+":
        return (value + d) % 10
    if op == "-":
        return (value - d) % 10
    if op == "*":
        return (value * d) % 10
    raise ValueError(f"unknown operation {op!r}")


def op_word(op: str, d: int) -> str:
    """The operation as the problem writes it (``x+5``): one token of the world's tokenizer."""
    return f"x{op}{d}"


def question_text(start: int, op: str, d: int, n: int) -> str:
    return (
        f"Start with x={start}. Repeat n={n} times: {op_word(op, d)}. "
        "Keep only the last digit after each step. What is x at the end?"
    )


def solve(start: int, op: str, d: int, n: int) -> list[int]:
    """The value after each step (the last one is the answer)."""
    values, v = [], start
    for _ in range(n):
        v = apply(v, op, d)
        values.append(v)
    return values


def make_problems(
    n: int, seed: int, levels: tuple[int, ...] = tuple(range(1, MAX_STEPS + 1)), exclude: set[str] | None = None
) -> list[dict]:
    """``n`` distinct problems (Problem rows), levels cycling through ``levels``; questions in
    ``exclude`` (another split's) are never drawn."""
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
        n_steps = levels[len(out) % len(levels)]
        start, op, d = rng.randrange(10), rng.choice(OPS), rng.randrange(1, 10)
        q = question_text(start, op, d, n_steps)
        if q in seen:
            continue
        seen.add(q)
        out.append(
            {
                "id": f"chain-s{seed}-{len(out):05d}",
                "source": "synthetic_chains",
                "domain": "math",
                "question": q,
                "answer": str(solve(start, op, d, n_steps)[-1]),
                "solution": None,
                "choices": None,
                "images": [],
                "tests": None,
                "difficulty": n_steps,
                "meta": {"start": start, "op": f"{op}{d}", "steps": n_steps},
            }
        )
    return out


def parse(problem: dict) -> tuple[int, str, int, int]:
    """(start, op, digit, steps) of a Problem row this module wrote."""
    m = problem["meta"]
    return int(m["start"]), m["op"][0], int(m["op"][1:]), int(m["steps"])


def chain_of_thought(start: int, op: str, d: int, n: int, slip_at: int | None = None, slip_by: int = 1) -> str:
    """The teacher's full response; ``slip_at`` writes a wrong digit at that step (0-based)
    and carries it on, as a model's arithmetic slip would."""
    lines = ["<think>", f"x={start}"]
    v = start
    for i in range(n):
        r = apply(v, op, d)
        if i == slip_at:
            r = (r + slip_by) % 10
        lines.append(f"{LABELS[i]}: {v}{op}{d}={r}")
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
    start, op, d, n = parse(problem)
    slip = next((i for i in range(n) if rng.random() < noise.step_error), None)
    text = chain_of_thought(start, op, d, n, slip, slip_by=rng.randrange(1, 10))
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
        start, op, d, n = parse(p)
        rows.append(
            {
                "problem": p["question"],
                "level": f"Level {p['difficulty']}",
                "type": "Digit chains",
                "solution": chain_of_thought(start, op, d, n).split("</think>")[0].replace("<think>\n", "").strip()
                + f"\nThe answer is $\\boxed{{{p['answer']}}}$.",
                "answer": p["answer"],
                "unique_id": p["id"],
            }
        )
    return rows
