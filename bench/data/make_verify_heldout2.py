"""Build the second held-out set, ``verify_heldout2.jsonl``, from published benchmark files.

Every row names where its gold (and, for the Qwen rows, its response) was published:
``provenance = {repo, path, commit, row}``. Sources, all in QwenLM/Qwen2.5-Math at commit
``a45202bd16f1ec06f433442dc1152d0074773465`` under ``evaluation/data/``:

- ``eval_rm_maj_example/math_cot_100.jsonl``: 100 MATH test problems with 8 published
  Qwen2.5-Math responses each. Rows ``h2-qwen-*`` are those real responses, unchanged: for each
  problem one response whose boxed answer a careful grader accepts, and every distinct wrong
  answer. The gold is the record's ``answer`` field as MATH publishes it (``\\text{4:30 p.m.}``,
  ``50,\\!625``, ``10{,}000``). Labels are by the value of the boxed answer, read by hand (the
  file's own ``score`` field was not used).
- ``olympiadbench/test.jsonl``, ``gaokao2023en/test.jsonl``, ``college_math/test.jsonl``,
  ``amc23/test.jsonl``, ``minerva_math/test.jsonl``, ``aqua/test.jsonl``, ``sat_math/test.jsonl``,
  ``mmlu_stem/test.jsonl``, ``cn_middle_school/test.jsonl``: published golds, each with a response
  written in a long-CoT model's style (R1's ``<think>`` then a box, Qwen's "the final answer is
  $\\boxed{}$", Minerva's "I hope it is correct", bold ``**Answer:**``, prose): one restating the
  gold's value in another form a careful grader accepts, and one near miss (a changed digit, a
  sign, an endpoint type, a missing root, a wrong option). Forms and near misses are listed per
  row in ``FORMS`` below; labels are by value, decided when the row was written.

Written before any verifier rule was changed for it; scored once (its first score is in
``bench/results/verify_heldout2_first_score.md``).

    python bench/data/make_verify_heldout2.py SOURCE_DIR   # a checkout of QwenLM/Qwen2.5-Math
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = "QwenLM/Qwen2.5-Math"
COMMIT = "a45202bd16f1ec06f433442dc1152d0074773465"
OUT = Path(__file__).resolve().parent / "verify_heldout2.jsonl"

# math_cot_100: Qwen2.5-Math's boxed answers that its own scorer rejected but whose value is the
# gold (read by hand): problem index -> the accepted prediction strings
ACCEPTED_WRONG = {
    3: {"4:30"},  # boxed 4:30 \text{ p.m.}; the gold is \text{4:30 p.m.}
    72: {"10000"},  # the gold is 10{,}000
}

# labels corrected after the first score, with why (the first-score file says what it was)
RELABELLED = {
    "h2-college-0200-ok": (False, "relabelled: the question is 'Simplify: $\\sqrt{245}$'; the answer gives it back"),
}

# response styles the written rows rotate through (a row's answer string is wrapped by one)
STYLES = (
    lambda a: f"Therefore, the final answer is $\\boxed{{{a}}}$.",  # Qwen2.5-Math CoT
    lambda a: (
        f"<think>\nLet me work through this carefully.\nHmm, checking the case again: it holds.\n</think>\n\nSo the answer is $\\boxed{{{a}}}$."
    ),  # R1
    lambda a: f"Final Answer: The final answer is ${a}$. I hope it is correct.",  # Minerva
    lambda a: f"Putting the steps together.\n\n**Answer:** ${a}$",  # bold marker
    lambda a: f"<think>\nSo we get {a} after simplifying.\n</think>\n\nThe final answer is \\boxed{{{a}}}.",
)

# (source file, row, good answer, near miss, category, note). An answer that starts with "|" is
# the whole response (written as is); otherwise a style above wraps it. Golds come from the row.
FORMS = [
    # AMC 2023: golds published as floats (27.0, 3159.0)
    ("amc23", 0, "27", "28", "amc", "AMC float gold"),
    ("amc23", 3, "3159", "3195", "amc", "AMC float gold 3159.0"),
    ("amc23", 15, "-1", "1", "amc", "sign"),
    ("amc23", 34, "1625", "1652", "amc", ""),
    ("amc23", 37, "901", "910", "amc", ""),
    ("amc23", 12, "96.0", "69", "amc", "float answer"),
    # Minerva: golds as the solutions box them (-1./3, 4.5e33)
    ("minerva_math", 38, "-\\frac{1}{3}", "\\frac{1}{3}", "minerva", "Minerva gold -1./3"),
    ("minerva_math", 49, "-\\frac{3}{2}", "-\\frac{2}{3}", "minerva", "Minerva gold -3./2"),
    (
        "minerva_math",
        1,
        "4.5 \\times 10^{33} \\text{ ergs/s}",
        "4.5 \\times 10^{32}",
        "minerva",
        "sci notation with unit",
    ),
    (
        "minerva_math",
        10,
        "3.83 \\times 10^{35} \\text{ ergs/s}",
        "3.83 \\times 10^{33} \\text{ ergs/s}",
        "minerva",
        "sci notation with unit",
    ),
    ("minerva_math", 15, "4 \\times 10^{33}", "4 \\times 10^{34}", "minerva", ""),
    ("minerva_math", 18, "3.3 \\times 10^{12}", "3.3 \\times 10^{11}", "minerva", ""),
    ("minerva_math", 0, "1.60", "1.06", "minerva", ""),
    ("minerva_math", 3, "20.39", "20.93", "minerva", ""),
    ("minerva_math", 45, "-10", "10", "minerva", ""),
    (
        "minerva_math",
        63,
        "\\frac{c}{x^2}-\\frac{\\cos 2x}{2x^2}",
        "c x^{-2}+\\frac{\\cos (2 x)}{2 x^{2}}",
        "minerva",
        "",
    ),
    ("minerva_math", 90, "-t^{2}-t-3", "-t^2 - t + 3", "minerva", ""),
    ("minerva_math", 93, "-2+2\\sqrt{3}i", "-2-2 \\sqrt{3} i", "minerva", ""),
    ("minerva_math", 102, "\\pi/2", "\\pi", "minerva", ""),
    ("minerva_math", 111, "(s+a)^{-1}", "\\frac{1}{s-a}", "minerva", ""),
    ("minerva_math", 129, "10^{-8}", "10^{-9}", "minerva", ""),
    ("minerva_math", 135, "3 \\times 10^{8}", "3 \\times 10^{6}", "minerva", ""),
    ("minerva_math", 177, "56", "65", "minerva", "gold 56.0"),
    ("minerva_math", 180, "7.353 \\times 10^{14}", "7.353 \\times 10^{13}", "minerva", ""),
    ("minerva_math", 240, "0.7773", "0.7737", "minerva", ""),
    ("minerva_math", 243, "-\\frac{1}{2\\sqrt{X}}", "\\frac{1}{2} X^{-\\frac{1}{2}}", "minerva", ""),
    ("minerva_math", 252, "100\\sqrt{p}", "100p^2", "minerva", ""),
    ("minerva_math", 255, "\\frac{1}{4}p^{-2}", "\\frac{1}{2p^2}", "minerva", ""),
    # GSM8K: golds with thousands commas
    ("gsm8k", 146, "2125", "2152", "gsm", "GSM8K gold 2,125"),
    ("gsm8k", 201, "114200", "114,000", "gsm", "GSM8K gold 114,200"),
    ("gsm8k", 611, "1,450,000", "1,540,000", "gsm", ""),
    # OlympiadBench: final_answer as published
    ("olympiadbench", 0, "2", "3", "olympiad", ""),
    ("olympiadbench", 4, "2(n-1)", "2n-1", "olympiad", ""),
    ("olympiadbench", 8, "\\dbinom{2n}{n}", "\\binom{2n}{n-1}", "olympiad", ""),
    ("olympiadbench", 12, "3n", "3n+1", "olympiad", ""),
    ("olympiadbench", 16, "f(n) = n", "f(n)=n+1", "olympiad", ""),
    ("olympiadbench", 20, "3,986,729", "3986792", "olympiad", ""),
    ("olympiadbench", 24, "M = 2^{N-2} + 1", "M=2^{N-2}", "olympiad", ""),
    (
        "olympiadbench",
        32,
        "(4,23),(4,-23),(0,2),(0,-2)",
        "(0,2),(0,-2),(4,23)",
        "olympiad",
        "solutions in another order",
    ),
    ("olympiadbench", 40, "\\frac{2n^3+3n^2+n}{6}", "\\frac{n(n+1)}{2}", "olympiad", ""),
    ("olympiadbench", 44, "(3, 2)", "(2,3)", "olympiad", ""),
    ("olympiadbench", 48, "4/9", "5/9", "olympiad", ""),
    ("olympiadbench", 56, "f(x) = 1 + x", "f(x)=x-1", "olympiad", ""),
    ("olympiadbench", 60, "\\frac{n(n+1)}{4}", "\\frac{n(n+1)}{2}", "olympiad", ""),
    ("olympiadbench", 64, "(3,2),(1,1)", "(1,1)", "olympiad", ""),
    ("olympiadbench", 72, "k \\ge 2", "k \\geq 3", "olympiad", ""),
    ("olympiadbench", 76, "(-\\infty,0)\\cup\\{1\\}", "(-\\infty,0]\\cup\\{1\\}", "olympiad", ""),
    ("olympiadbench", 80, "n = k + 4", "n=k+3", "olympiad", ""),
    ("olympiadbench", 84, "|The count is therefore 2271380.", "|The count is therefore 2271308.", "olympiad", "prose"),
    ("olympiadbench", 92, "\\frac{2016}{4068289}", "\\frac{2017}{2016^2}", "olympiad", "2017^2 multiplied out"),
    ("olympiadbench", 108, "2^{k-n}", "2^{n-k}", "olympiad", ""),
    ("olympiadbench", 124, "2^{k - 1}", "2^k", "olympiad", ""),
    ("olympiadbench", 128, "0, 1, -1", "0,1", "olympiad", ""),
    ("olympiadbench", 132, "x < -5", "x \\le -5", "olympiad", "interval as an inequality"),
    ("olympiadbench", 160, "(-3,-2),(3,-2),(-3,2),(3,2)", "(3,2),(-3,-2)", "olympiad", ""),
    ("olympiadbench", 168, "x=-3 \\text{ or } x=0", "-3", "olympiad", ""),
    ("olympiadbench", 180, "4\\pi^2 - 1", "4\\pi^2+1", "olympiad", ""),
    ("olympiadbench", 184, "(3,5,101,107),(1,7,103,105)", "(1,7,103,105)", "olympiad", ""),
    ("olympiadbench", 188, "17.5\\%", "1.75\\%", "olympiad", ""),
    ("olympiadbench", 200, "\\frac{17}{4}", "4.52", "olympiad", ""),
    ("olympiadbench", 204, "g(x)=(x-1)^2+1", "g(x)=x^2-2x+1", "olympiad", ""),
    ("olympiadbench", 216, "\\frac{1}{100}, 100", "100", "olympiad", ""),
    ("olympiadbench", 224, "166 \\text{ cm}^2", "616", "olympiad", "unit"),
    ("olympiadbench", 228, "11, 9, 3, 1", "1,3,9", "olympiad", ""),
    ("olympiadbench", 244, "8, 32, 44, 68, 80", "8,32,44,68", "olympiad", ""),
    ("olympiadbench", 260, "-\\frac32, -1, 0", "0, -1, \\frac{3}{2}", "olympiad", ""),
    ("olympiadbench", 268, "-1.5", "\\frac{3}{2}", "olympiad", ""),
    ("olympiadbench", 288, "\\frac14, 64", "64", "olympiad", ""),
    ("olympiadbench", 292, "1\\pm\\sqrt{2}, 3, 1, -1", "3,1,-1,1+\\sqrt{2}", "olympiad", "roots with \\pm"),
    ("olympiadbench", 300, "\\frac{1}{2}ab", "ab", "olympiad", ""),
    ("olympiadbench", 316, "4.2\\%", "42\\%", "olympiad", "gold 4.2 with unit %"),
    ("olympiadbench", 328, "\\sqrt{2800}", "20\\sqrt{5}", "olympiad", ""),
    ("olympiadbench", 336, "\\frac{d!}{2k\\,(d-k)!}", "\\frac{d!}{k(d-k)!}", "olympiad", ""),
    ("olympiadbench", 388, "\\frac{9}{20}\\sqrt{3}", "\\frac{9\\sqrt{3}}{10}", "olympiad", ""),
    ("olympiadbench", 424, "-2+6\\sqrt{2}", "6\\sqrt{2}+2", "olympiad", ""),
    ("olympiadbench", 428, "2, 1", "1", "olympiad", ""),
    ("olympiadbench", 504, "\\frac{15}{33}-\\frac{8\\sqrt{3}}{33}", "\\frac{15+8\\sqrt{3}}{33}", "olympiad", ""),
    ("olympiadbench", 512, "51342, 41352, 42351", "41352, 42351", "olympiad", ""),
    ("olympiadbench", 540, "-\\sqrt{3}+2", "\\sqrt{3}-2", "olympiad", ""),
    ("olympiadbench", 556, "(2,6),(-6,6)", "(-6,6)", "olympiad", ""),
    ("olympiadbench", 564, "5 \\cdot 4^{1/3}", "5\\sqrt{4}", "olympiad", ""),
    ("olympiadbench", 612, "\\dfrac{505}{8076}", "\\frac{505}{8067}", "olympiad", ""),
    ("olympiadbench", 616, "266\\frac{2}{3}", "266", "olympiad", "mixed number"),
    ("olympiadbench", 632, "6,455", "6545", "olympiad", ""),
    # GaoKao 2023 (English): answers as published
    ("gaokao2023en", 0, "[-2, 1)", "(-2,1)", "gaokao", "set-builder gold"),
    ("gaokao2023en", 9, "\\{5,3,2\\}", "\\{2,3\\}", "gaokao", ""),
    ("gaokao2023en", 15, "y=\\frac{e}{4}(x+1)", "y=\\frac{e}{4}x-\\frac{e}{4}", "gaokao", ""),
    ("gaokao2023en", 33, "\\{0, 2, 4, 6, 8\\}", "\\{2,4,6,8\\}", "gaokao", ""),
    ("gaokao2023en", 45, "2i+1", "1-2i", "gaokao", ""),
    ("gaokao2023en", 51, "-i", "i", "gaokao", ""),
    ("gaokao2023en", 57, "2 \\le x < 3", "2 < x < 3", "gaokao", "interval as an inequality"),
    ("gaokao2023en", 69, "\\pm 2, \\pm\\frac{1}{2}", "2, \\frac{1}{2}", "gaokao", "\\pm list"),
    ("gaokao2023en", 126, "1:58 \\text{ a.m.}", "1:58 \\text{ p.m.}", "gaokao", "clock time"),
    ("gaokao2023en", 141, "1.5", "15", "gaokao", ""),
    ("gaokao2023en", 144, "22.1 \\text{ cm}^2", "21.1", "gaokao", ""),
    ("gaokao2023en", 147, "576\\pi \\text{ m}^2", "576 \\text{ m}^2", "gaokao", ""),
    ("gaokao2023en", 189, "1.1\\%", "11\\%", "gaokao", ""),
    ("gaokao2023en", 225, "C = \\frac{def}{de+ef+df}", "C=\\frac{de+df+ef}{def}", "gaokao", ""),
    ("gaokao2023en", 237, "f(x)=13-\\frac{2}{5}x", "f(x)=-\\frac{5}{2}x+13", "gaokao", ""),
    ("gaokao2023en", 240, "5.3\\%", "53\\%", "gaokao", ""),
    ("gaokao2023en", 258, "0.625", "0.58", "gaokao", ""),
    ("gaokao2023en", 282, "35000", "3500", "gaokao", "gold 35,000"),
    ("gaokao2023en", 297, "\\frac{9}{5}", "1\\frac{5}{4}", "gaokao", "gold 1\\frac45"),
    ("gaokao2023en", 366, "a^6", "a^5", "gaokao", ""),
    # College Math
    ("college_math", 0, "-4n+10", "10+4n", "college", ""),
    ("college_math", 50, "1,-1,i,-i,2,-2,2i,-2i", "\\pm 1, \\pm 2", "college", "\\pm list"),
    ("college_math", 175, "\\frac{-9}{5-b}", "\\frac{9}{b+5}", "college", ""),
    ("college_math", 200, "\\sqrt{245}", "5\\sqrt{7}", "college", ""),
    ("college_math", 275, "(-\\infty, \\infty)", "(0,\\infty)", "college", "gold in words"),
    ("college_math", 375, "\\frac{2}{3}, -\\frac{1}{2}", "\\frac12, -\\frac23", "college", ""),
    ("college_math", 450, "-3, -1, -\\frac{1}{2}, \\frac{3}{2}", "-3,-1,\\frac32", "college", ""),
    ("college_math", 525, "350000", "35000", "college", "gold 350,000 pages"),
    ("college_math", 600, "(xy)^3", "x^3y^2", "college", ""),
    ("college_math", 675, "f^{-1}(x) = -\\frac{2x+2}{x+2}", "f^{-1}(x)=\\frac{2x-2}{x+2}", "college", ""),
    ("college_math", 725, "(8n-7)(8n+7)", "64n^2+49", "college", ""),
    ("college_math", 950, "-3, 2, -2, 1", "-3, 2, 1", "college", "\\pm in gold"),
    ("college_math", 1025, "x \\le 1", "x < 1", "college", "interval as an inequality"),
    ("college_math", 1050, "-0.25", "x=\\frac{1}{4}", "college", ""),
    ("college_math", 1100, "(0,\\infty)\\cup(-\\infty,-3]", "(-\\infty,-3)\\cup(0,\\infty)", "college", ""),
    ("college_math", 1125, "x=\\pm 1", "x=1", "college", ""),
    ("college_math", 1225, "x = e^2 \\text{ or } x = 1", "x=1, x=e", "college", ""),
    ("college_math", 1275, "x=\\frac{53}{8}, x=-\\frac{13}{8}", "x=\\frac{13}{8}, x=\\frac{53}{8}", "college", ""),
    ("college_math", 1300, "(125,\\infty)\\cup(0,125)", "(0,\\infty)", "college", ""),
    ("college_math", 1450, "\\left(-1,0\\right)\\cup\\left(1,\\infty\\right)", "(-1,0]\\cup(1,\\infty)", "college", ""),
    ("college_math", 1500, "\\text{diverges}", "\\text{converges}", "college", ""),
    ("college_math", 1525, "\\frac{3}{4x^{1/4}}", "\\frac{3}{4}x^{1/4}", "college", ""),
    ("college_math", 1650, "x^2e^x(x+3)", "3x^2e^x", "college", ""),
    ("college_math", 1675, "\\frac{e^{x}}{e^{2x}+1}", "\\frac{e^x}{1-e^{2x}}", "college", ""),
    ("college_math", 1900, "\\frac{8\\pi}{3}", "\\frac{8\\pi}{9}", "college", ""),
    (
        "college_math",
        2025,
        "\\left(\\frac{7}{12},\\frac{7}{12},\\frac{7}{12}\\right)",
        "(\\frac{7}{12},\\frac{7}{12})",
        "college",
        "",
    ),
    ("college_math", 2125, "649,741", "649714", "college", ""),
]

# choice rows: (source, row, good response, bad response, note); letters from the source row
CHOICE_FORMS = [
    (
        "aqua",
        0,
        "|So the time is $5(\\sqrt3+1)$ minutes, which is choice A.",
        "|So the time is $7(\\sqrt3-1)$ minutes, which is choice C.",
        "which is choice X",
    ),
    ("aqua", 1, "|The answer is: **{L}**", "|The answer is: **{W}**", "bold letter after a colon"),
    (
        "aqua",
        2,
        "|Therefore the final answer is $\\boxed{{\\mathrm{{{L}}}}}$.",
        "|Therefore the final answer is $\\boxed{{\\mathrm{{{W}}}}}$.",
        "\\mathrm letter",
    ),
    ("aqua", 3, "|So the answer is ({l}).", "|So the answer is ({w}).", "lowercase letter in parentheses"),
    ("aqua", 4, "|The correct option is {L}.", "|The correct option is {W}.", ""),
    ("aqua", 5, "|Answer: ({L})", "|Answer: ({W})", ""),
    (
        "sat_math",
        0,
        "|Therefore, the answer is $\\boxed{{\\text{{({L}) }} f(-6)=0}}$.",
        "|Therefore, the answer is $\\boxed{{\\text{{({W})}}}}$.",
        "letter with its option text",
    ),
    (
        "sat_math",
        1,
        "|The solution is $(-3,-6)$, which is choice {L}.",
        "|The solution is $(3,18)$, which is choice {W}.",
        "which is choice X",
    ),
    ("sat_math", 2, "|**Answer:** {L}", "|**Answer:** {W}", ""),
    ("sat_math", 3, "|The final answer is $\\boxed{{{L}}}$.", "|The final answer is $\\boxed{{{W}}}$.", ""),
    ("sat_math", 4, "|So the answer is: **{L}**", "|So the answer is: **{W}**", "bold letter after a colon"),
    ("sat_math", 5, "|Thus the answer is $\\mathrm{{({L})}}$.", "|Thus the answer is $\\mathrm{{({W})}}$.", ""),
    ("mmlu_stem", 963, "|The answer is ({L}).", "|The answer is ({W}).", ""),
    ("mmlu_stem", 964, "|Answer: {L}", "|Answer: {W}", ""),
    ("mmlu_stem", 965, "|Hence the correct choice is **{L}**.", "|Hence the correct choice is **{W}**.", ""),
    ("mmlu_stem", 966, "|Final answer: $\\boxed{{{L}}}$", "|Final answer: $\\boxed{{{W}}}$", ""),
    ("mmlu_stem", 967, "|The answer is {l}.", "|The answer is {w}.", "lowercase letter"),
]


def _gold(name: str, row: dict) -> str:
    """The gold as the benchmark file publishes it (the first of OlympiadBench's final answers)."""
    if name == "olympiadbench":
        return row["final_answer"][0].strip().rstrip(".").strip()
    if name == "minerva_math":
        from redstar.verify.extract import last_boxed

        return last_boxed(row["solution"])
    if name == "gsm8k":
        return row["answer"].split("####")[-1].strip()
    if name == "amc23":
        return str(row["answer"])
    return str(row["answer"]).strip()


def _question(row: dict) -> str:
    return str(row.get("question") or row.get("problem") or row.get("content") or "")


def _choices(name: str, row: dict) -> tuple[list[str], str]:
    import re

    if name == "aqua":
        return [re.sub(r"^[A-E]\)\s*", "", o) for o in row["options"]], row["correct"]
    if name == "sat_math":
        parts = re.split(r"\s*\b([A-D])\)\s*", " " + row["options"])
        return [parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)], row["Answer"]
    return list(row["choices"]), "ABCDEFGHIJ"[int(row["answer"])]


def _prov(name: str, k: int) -> dict:
    ext = "json" if name.endswith(".json") else "jsonl"
    return {"repo": REPO, "path": f"evaluation/data/{name}/test.{ext}", "commit": COMMIT, "row": k}


def build(src: Path) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    rows: list[dict] = []
    # 1. Qwen2.5-Math's published responses on MATH
    qwen = _load(src, "eval_rm_maj_example/math_cot_100.jsonl")
    for p in qwen:
        i = p["idx"]
        picked, seen = [], set()
        good = [k for k, s in enumerate(p["score"]) if s]
        if good:
            picked.append((good[i % len(good)], True))
        for k, (pred, s) in enumerate(zip(p["pred"], p["score"])):
            if not s and pred not in seen:
                seen.add(pred)
                picked.append((k, pred in ACCEPTED_WRONG.get(i, set())))
        for k, label in picked:
            rows.append(
                {
                    "id": f"h2-qwen-{i:03d}-{k}",
                    "category": "qwen-real",
                    "kind": "math",
                    "source": "MATH (Qwen2.5-Math response)",
                    "gold": p["answer"],
                    "question": p["question"],
                    "response": p["code"][k],
                    "label": label,
                    "note": "published response" + ("; value is the gold" if label and not p["score"][k] else ""),
                    "provenance": {
                        "repo": REPO,
                        "path": "evaluation/data/eval_rm_maj_example/math_cot_100.jsonl",
                        "commit": COMMIT,
                        "row": i,
                        "response": k,
                    },
                }
            )
    # 2. published golds with written responses
    cache: dict[str, list[dict]] = {}
    for n, (name, k, good, bad, cat, note) in enumerate(FORMS):
        data = cache.setdefault(name, _load(src, f"{name}/test.jsonl"))
        row = data[k]
        for j, (ans, label) in enumerate(((good, True), (bad, False))):
            response = ans[1:] if ans.startswith("|") else STYLES[(n + j) % len(STYLES)](ans)
            rows.append(
                {
                    "id": f"h2-{cat}-{k:04d}-{'ok' if label else 'miss'}",
                    "category": cat,
                    "kind": "math",
                    "source": name,
                    "gold": _gold(name, row),
                    "question": _question(row),
                    "response": response,
                    "label": label,
                    "note": note if label else ("near miss" + (f"; {note}" if note else "")),
                    "provenance": _prov(name, k),
                }
            )
    for name, k, good, bad, note in CHOICE_FORMS:
        data = cache.setdefault(name, _load(src, f"{name}/test.jsonl"))
        row = data[k]
        choices, letter = _choices(name, row)
        wrong = next(c for c in "ABCDE"[: len(choices)] if c != letter)
        fill = {"L": letter, "W": wrong, "l": letter.lower(), "w": wrong.lower()}
        for ans, label in ((good, True), (bad, False)):
            rows.append(
                {
                    "id": f"h2-choice-{name}-{k:04d}-{'ok' if label else 'miss'}",
                    "category": "choice",
                    "kind": "choice",
                    "source": name,
                    "gold": letter,
                    "choices": choices,
                    "question": _question(row),
                    "response": ans[1:].format(**fill),
                    "label": label,
                    "note": note if label else "another option",
                    "provenance": _prov(name, k),
                }
            )
    for r in rows:
        if r["id"] in RELABELLED:
            r["label"], r["note"] = RELABELLED[r["id"]]
    return rows


def _load(src: Path, name: str) -> list[dict]:
    path = src / "evaluation" / "data" / name
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__)
        return 2
    rows = build(Path(args[0]))
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} rows ({sum(r['label'] for r in rows)} labelled correct) -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
