"""A synthetic ranking task for reward-model tests, in the real Problem / Sample row formats.

Every problem asks for a sum; half the responses are right, half wrong. What separates them is
a sentence in the *middle* of the response ("Let me check again: it holds." vs "Hmm, that is
not right."), while every response ends the same way ("The final answer is \\boxed{N}."), so
a head that reads only the last token must learn to carry the middle through attention.
"""

import random

FILL = ["so", "then", "we", "add", "the", "two", "numbers", "step", "by", "and", "get"]


def synthetic_task(n_problems: int, per_problem: int = 4, seed: int = 0):
    rng = random.Random(seed)
    problems, samples = [], []
    for p in range(n_problems):
        a, b = rng.randint(1, 50), rng.randint(1, 50)
        pid = f"sum-{seed}-{p}"
        problems.append(
            {
                "id": pid,
                "question": f"What is {a} + {b}?",
                "answer": str(a + b),
                "source": "synthetic",
                "domain": "math",
            }
        )
        for j in range(per_problem):
            ok = j % 2 == 0
            cue = "Let me check again: it holds." if ok else "Hmm, that is not right."
            pre = " ".join(rng.choice(FILL) for _ in range(rng.randint(2, 6)))
            post = " ".join(rng.choice(FILL) for _ in range(rng.randint(2, 6)))
            ans = a + b if ok else a + b + rng.randint(1, 9)
            samples.append(
                {
                    "problem_id": pid,
                    "model": "synthetic",
                    "response": f"{pre}. {cue} {post}. The final answer is \\boxed{{{ans}}}.",
                    "verdict": {"correct": ok, "extracted": str(ans), "reason": "match" if ok else "mismatch"},
                    "filters": {},
                    "scores": {},
                }
            )
    return problems, samples
