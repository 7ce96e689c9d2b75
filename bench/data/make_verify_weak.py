"""Build ``verify_weak.jsonl``: wrong answers in a weak model's style, and the honest short answers
that must stay correct. Every row carries its ``question``; 0 false positives are required.

Where the rows come from:

- ``demo``: the default model's own failure modes as read from the demo's eval results
  (issue 26): the question's expression given back ("So, the final answer is $\\log_2 64$."),
  a whole response that is one equation (``100 = 100 * 2 + 1``, ``1001 = 10^3 * 10^1``), written
  again for the problems below so the question is known.
- ``weak-style``: the same habits written the way early RL policies and small models write them:
  the last number of an equation, an exponent, a subscript, a step label (``Step 6:``), a response
  cut off mid-sentence, a list still being written, several candidates ("5 or 6"), negations
  ("6 is not the answer"), hedges ("maybe 6?").
- ``honest``: short answers a careful grader accepts (``6``, ``x = 6``, ``6\\sqrt{2}`` without
  ``$``, ``$\\log_5 125 = 3$``, "so the interval is (-3, 3)", the question's own expression when it
  is the gold's literal form).
- ``qwen-small``: published wrong responses of Qwen2.5-Math (QwenLM/Qwen2.5-Math
  ``evaluation/data/eval_rm_maj_example/math_cot_100.jsonl``, commit a45202b) cut where a small
  model's budget ends, so the last number in sight is an intermediate result (0 credit expected
  without a stated answer); read from ``verify_heldout2.jsonl``'s published rows.

    python bench/data/make_verify_weak.py          # writes bench/data/verify_weak.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "verify_weak.jsonl"

# (question, gold, the question's own expression for the gold, or None)
PROBLEMS = [
    ("Evaluate $\\log_2 64$.", "6", "\\log_2 64"),
    ("Compute $2^{10}$.", "1024", "2^{10}"),
    ("Compute $\\binom{8}{3}$.", "56", "\\binom{8}{3}"),
    ("Find $\\frac34+\\frac56$. Express your answer as a common fraction.", "\\frac{19}{12}", "\\frac34+\\frac56"),
    ("Simplify $\\sqrt{72}$.", "6\\sqrt{2}", "\\sqrt{72}"),
    ("Evaluate $\\log_5 125$.", "3", "\\log_5 125"),
    ("Compute $\\dbinom{10}{2}$.", "45", "\\dbinom{10}{2}"),
    ("Evaluate $\\left(\\frac{1}{2}\\right)^{-3}$.", "8", "\\left(\\frac{1}{2}\\right)^{-3}"),
    ("What is $\\frac{1}{2} + \\frac{1}{3}$?", "\\frac{5}{6}", "\\frac{1}{2} + \\frac{1}{3}"),
    ("Compute $7 \\times 8$.", "56", "7 \\times 8"),
    ("Find $\\gcd(12, 18)$.", "6", "\\gcd(12, 18)"),
    ("Compute $\\sqrt{16} + \\sqrt{9}$.", "7", "\\sqrt{16} + \\sqrt{9}"),
    ("Solve for $x$: $2x + 3 = 15$.", "6", None),
    ("How many positive divisors does $36$ have?", "9", None),
    ("Find the remainder when $2^{100}$ is divided by $7$.", "2", None),
    ("Let $m$ and $n$ be the answer's parts; find $m+n$.", "1", None),
    ("Find the number of ordered pairs $(a, b)$ of positive integers with $a + b = 6$.", "5", None),
    ("Find the interval of all $x$ with $x^2 < 9$.", "(-3,3)", "x^2 < 9"),
]

# wrong responses: (style, template); {g} is the gold, {e} the question's expression
ECHOES = [
    ("demo", "So, the final answer is ${e}$."),
    ("demo", "So, the final answer is $\\boxed{{{e}}}$."),
    ("weak-style", "The answer is {e}."),
]


def _int(g: str) -> int | None:
    try:
        return int(g)
    except ValueError:
        return None


def stray_numbers(g: int) -> list[tuple[str, str, str]]:
    """Responses with no stated answer whose last number is the gold: (style, response, note)."""
    out = [("demo", f"{g * 100} = {g * 100 - g} + {g}", "whole response is one equation")]
    if g <= 20:
        out.append(("demo", f"{10 ** (3 + g)} = 10^3 * 10^{g}", "exponent"))
    return out + [
        ("weak-style", f"We have $x^{g}$ on the left side.", "exponent in a math span"),
        ("weak-style", f"So the next term to find is $a_{{{g}}}$", "subscript"),
        ("weak-style", f"Step 1: Read the problem.\nStep 2: Set up the equation.\nStep {g}:", "step label, cut off"),
        ("weak-style", f"First we add the two parts, which gives {g}, and then we need to multiply by", "cut off"),
        ("weak-style", f"The values to check are 1, 2, {g},", "list still being written"),
        ("weak-style", f"Let me compute 2 * {g} = {2 * g} and then divide by 2 to get {g}, then", "cut off"),
    ]


def stated_wrong(g: int) -> list[tuple[str, str, str]]:
    return [
        ("weak-style", f"The answer is {g - 1} or {g}.", "two candidates"),
        ("weak-style", f"The answer could be {g + 1} or {g}.", "two candidates"),
        ("weak-style", f"{g} is not the answer.", "negation"),
        ("weak-style", f"The answer is not {g}.", "negation"),
        ("weak-style", f"Maybe {g}?", "hedge"),
        ("weak-style", f"I think it might be {g}, but I'm not sure.", "hedge"),
    ]


def honest(g: str, e: str | None, question: str) -> list[tuple[str, str, str]]:
    out = [
        ("honest", g, "bare answer"),
        ("honest", f"x = {g}", "bare equation"),
        ("honest", f"The answer is {g}.", ""),
        ("honest", f"$\\boxed{{{g}}}$", ""),
    ]
    if e is not None and "<" not in e:
        out.append(("honest", f"${e} = {g}$", "the question's expression equated to the answer"))
    return out


EXTRA = [
    # (question, gold, response, label, style, note)
    ("Simplify $\\sqrt{72}$.", "6\\sqrt{2}", "6\\sqrt{2}", True, "honest", "no $ around the answer"),
    ("Simplify $\\sqrt{72}$.", "6\\sqrt{2}", "So $\\sqrt{72} = 6\\sqrt{2}$.", True, "honest", ""),
    ("Find the interval of all $x$ with $x^2 < 9$.", "(-3,3)", "so the interval is (-3, 3)", True, "honest", ""),
    ("Find the interval of all $x$ with $x^2 < 9$.", "(-3,3)", "So the answer is $-3 < x < 3$.", True, "honest", ""),
    ("Find the interval of all $x$ with $x^2 < 9$.", "(-3,3)", "So the answer is $x^2 < 9$.", False, "demo", "echo"),
    (
        "Which is larger, $\\frac{3}{4}$ or $\\frac{2}{3}$?",
        "\\frac{3}{4}",
        "The larger one is $\\frac{3}{4}$.",
        True,
        "honest",
        "the question's expression is the gold's own literal form",
    ),
    (
        "Which is larger, $\\frac{3}{4}$ or $\\frac{2}{3}$?",
        "\\frac{3}{4}",
        "So the answer is $\\boxed{0.75}$.",
        True,
        "honest",
        "the gold's value in another form",
    ),
    ("Express $0.5$ as a common fraction.", "\\frac{1}{2}", "The answer is $0.5$.", False, "demo", "echo of a number"),
    ("Express $0.5$ as a common fraction.", "\\frac{1}{2}", "The answer is $\\frac{1}{2}$.", True, "honest", ""),
    ("Simplify $\\frac{6}{8}$.", "\\frac{3}{4}", "So, the final answer is $\\frac{6}{8}$.", False, "demo", "echo"),
    ("Simplify $\\frac{6}{8}$.", "\\frac{3}{4}", "$\\frac{6}{8} = \\frac{3}{4}$", True, "honest", ""),
    ("Compute $2^{10}$.", "1024", "The final answer is $2^{10} = 1024$.", True, "honest", ""),
    ("Compute $2^{10}$.", "1024", "The final answer is $1024 = 2^{10}$.", True, "honest", "the value is stated"),
    ("Evaluate $\\log_2 64$.", "6", "The answer is six.", True, "honest", "number word"),
    ("Evaluate $\\log_2 64$.", "6", "The answer is $\\log_2 64 = \\log_2 2^6$.", False, "weak-style", "echo rewritten"),
    ("What is $6$ times $1$?", "6", "The answer is 6.", True, "honest", "the question's number is the gold"),
    ("How many sides does a hexagon have?", "6", "6", True, "honest", ""),
    ("How many sides does a hexagon have?", "6", "Maybe 6 or 8.", False, "weak-style", "hedge"),
    ("How many sides does a hexagon have?", "6", "A hexagon has 6 sides", True, "honest", "prose, no period"),
]


def build() -> list[dict]:
    rows = []

    def add(question, gold, response, label, style, note):
        rows.append(
            {
                "id": f"weak-{len(rows):03d}",
                "category": style,
                "kind": "math",
                "gold": gold,
                "question": question,
                "response": response,
                "label": label,
                "note": note,
            }
        )

    for q, g, e in PROBLEMS:
        if e is not None:
            for style, t in ECHOES:
                add(q, g, t.format(g=g, e=e), False, style, "echo of the question's expression")
        n = _int(g)
        if n is not None and n > 0:
            for style, resp, note in stray_numbers(n) + stated_wrong(n):
                add(q, g, resp, False, style, note)
        for style, resp, note in honest(g, e, q):
            if "<" in (e or "") and resp.startswith("x = "):
                continue
            add(q, g, resp, True, style, note)
    for q, g, resp, label, style, note in EXTRA:
        add(q, g, resp, label, style, note)
    # published Qwen2.5-Math wrong responses, cut where a small budget ends
    pub = [json.loads(line) for line in (HERE / "verify_heldout2.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in pub:
        if r["category"] == "qwen-real" and not r["label"]:
            text = r["response"]
            cut = text.rfind("\\boxed")
            text = text[: cut if cut > 0 else len(text)]
            text = text[: max(len(text) * 2 // 3, 1)]
            add(r["question"], r["gold"], text, False, "qwen-small", f"published response cut off ({r['id']})")
    return rows


def main() -> int:
    rows = build()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} rows ({sum(r['label'] for r in rows)} labelled correct) -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
