"""Write bench/data/verify_heldout.jsonl: the verifier's held-out case set.

Provenance. These cases were written for this set alone, after the dev set
(``verify_cases.jsonl``) and before any rule was changed for them; they were not drawn from the
dev rows or their templates. Each row pairs a gold answer in the convention of one public
benchmark (MATH, AIME, GSM8K, GeoQA, MathVista, Geometry3K) with a final answer in a form that
real long-CoT models write, wrapped in one of the response styles below (boxed after
``</think>`` with other boxes inside the thinking, several boxes, Minerva's "I hope it is
correct", GSM8K's ``####``, markdown bold, quotes, answers stated in prose). The label says
whether a careful human grader accepts the final answer: it was fixed by hand from the answer's
value, before any grader was run. Adversarial near misses (label false) sit next to the forms
they imitate. Fields: id, split ("heldout"), source (benchmark convention), style (response
wrapper), category, kind, gold, response, choices, label, note.

    python bench/data/make_verify_heldout.py     # rewrites bench/data/verify_heldout.jsonl

The output is deterministic (fixed seed), so the file is reproducible from this script.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "verify_heldout.jsonl"

FILLER = [
    "Let $S$ denote the quantity we want.",
    "I'll try small cases first: $n=1$ gives 3, $n=2$ gives 7.",
    "Hmm, that contradicts the earlier bound, so let me redo the algebra.",
    "Squaring both sides gives $4t^2 = 9$, so $t = 3/2$ (the negative root is rejected).",
    "Wait, I should double check the sign of the discriminant.",
    "By the law of cosines, $c^2 = a^2 + b^2 - 2ab\\cos C$.",
    "The triangle is isosceles, so the base angles are equal.",
    "Counting the complement is easier here.",
    "Plugging in $x = 2$ yields $14$, which matches.",
    ("So the partial result is $\\boxed{17}$ for this subcase, but we still need the other one."),
    "Let me re-read the problem statement.",
    "Okay, so the ratio is $2:5$.",
]


def think(rng, n=6, box_inside=True):
    body = " ".join(rng.choice(FILLER) for _ in range(n))
    if box_inside:
        body += f" Maybe the answer is $\\boxed{{{rng.randint(100, 999)}}}$? Let me verify."
    return body


# response styles: each takes the final-answer span (as the model writes it) and the rng
def s_think_box(a, rng):
    return f"<think>\n{think(rng, 8)}\n</think>\n\nSo the final answer is $\\boxed{{{a}}}$."


def s_multi_box(a, rng):
    return (
        f"First, $\\boxed{{{rng.randint(2, 99)}}}$ is the value of the inner sum. {think(rng, 3, False)} "
        f"Combining, the answer is $\\boxed{{{a}}}$."
    )


def s_final_md(a, rng):
    return f"{think(rng, 4, False)}\n\n**Final Answer**\n\\[\n\\boxed{{{a}}}\n\\]"


def s_minerva(a, rng):
    return f"{think(rng, 3, False)}\nFinal Answer: The final answer is ${a}$. I hope it is correct."


def s_answer_colon(a, rng):
    return f"{think(rng, 3, False)}\n\nAnswer: {a}"


def s_gsm(a, rng):
    return f"{think(rng, 3, False)}\n#### {a}"


def s_dollar_after_think(a, rng):
    return f"<think>\n{think(rng, 5)}\n</think>\nThe answer is ${a}$."


STYLES = {
    "think_box": s_think_box,
    "multi_box": s_multi_box,
    "final_md": s_final_md,
    "minerva": s_minerva,
    "answer_colon": s_answer_colon,
    "think_dollar": s_dollar_after_think,
}
BOXED_STYLES = ("think_box", "multi_box", "final_md")

# The case tables below keep one case a row, however long.
# fmt: off

# (source, category, gold, final answer span, label, note)
MATH_SPANS = [
    ("MATH", "fraction", "\\frac{1}{2}", "\\dfrac12", True, ""),
    ("MATH", "fraction", "\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}", True, "fix_sqrt"),
    ("MATH", "fraction", "\\frac{7}{3}", "2\\frac{1}{3}", True, "mixed number"),
    ("MATH", "fraction", "\\frac{3}{8}", "3/8", True, "a/b"),
    ("MATH", "fraction", "\\frac{1}{3}", "0.3333333333", True, "long decimal of a fraction"),
    ("MATH", "fraction", "\\frac{2}{7}", "0.285714285714", True, "long decimal of a fraction"),
    ("MATH", "fraction", "\\frac{5}{6}", "0.833333", True, "long decimal, 6 places, rounded"),
    ("MATH", "fraction", "\\frac{1}{3}", "0.33", False, "two places is not the fraction"),
    ("MATH", "fraction", "\\frac{1}{3}", "0.333334", False, "wrong last digit"),
    ("MATH", "fraction", "\\frac{2}{3}", "0.6", False, ""),
    ("MATH", "fraction", "-\\frac{4}{9}", "\\frac{-4}{9}", True, ""),
    ("MATH", "fraction", "-\\frac{4}{9}", "\\frac{4}{9}", False, "sign"),
    ("MATH", "radical", "10\\sqrt{2}", "10 \\sqrt 2", True, ""),
    ("MATH", "radical", "2\\sqrt{5}", "\\sqrt{20}", True, ""),
    ("MATH", "radical", "\\sqrt{5}", "√{5}", True, "unicode root"),
    ("MATH", "radical", "3\\sqrt{2}", "3√2", True, "unicode root"),
    ("MATH", "radical", "\\sqrt{5}", "5", False, ""),
    ("MATH", "radical", "\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", True, ""),
    ("MATH", "pi", "2\\pi", "2 \\pi", True, ""),
    ("MATH", "pi", "\\frac{\\pi}{4}", "\\pi/4", True, ""),
    ("MATH", "pi", "4\\pi", "12.566", False, "decimal of pi is not exact"),
    ("MATH", "pi", "36\\pi", "36\\pi \\text{ cm}^2", True, "unit after pi"),
    ("MATH", "units", "12", "12\\text{ cm}^2", True, "text-mode unit with power"),
    ("MATH", "units", "12", "12 \\text{ square centimeters}", True, "unit words"),
    ("MATH", "units", "5", "5\\text{ inches}", True, ""),
    ("MATH", "units", "40", "40 \\mbox{ minutes}", True, "Hendrycks mbox"),
    ("MATH", "units", "18.00", "\\$18", True, "dollars"),
    ("MATH", "units", "7.5", "7.5 \\text{ hours}", True, ""),
    ("MATH", "units", "90", "90^\\circ", True, ""),
    ("MATH", "units", "30", "30^{\\circ}", True, ""),
    ("MATH", "units", "150", "150 \\text{ sq ft}", True, ""),
    ("MATH", "units", "6", "6\\text{ or more}", False, "qualifier, not a unit"),
    ("MATH", "units", "100", "100\\text{ cm}^3", True, ""),
    ("MATH", "thousands", "10000", "10{,}000", True, ""),
    ("MATH", "thousands", "1000000", "1,000,000", True, ""),
    ("MATH", "thousands", "1000000", "1\\,000\\,000", True, "thin-space groups"),
    ("MATH", "thousands", "25000", "25\\,000", True, "thin-space groups"),
    ("MATH", "thousands", "1234", "1, 234", False, "a list, not 1234"),
    ("MATH", "interval", "(-\\infty, 3]", "(-\\infty,3]", True, ""),
    ("MATH", "interval", "(2,5)", "[2,5)", False, "endpoint type (Qwen accepts)"),
    ("MATH", "interval", "[2,5)", "(2,5)", False, "endpoint type"),
    ("MATH", "interval", "(-\\infty,-2)\\cup(3,\\infty)", "(3,\\infty)\\cup(-\\infty,-2)", True, ""),
    ("MATH", "interval", "[1,3]", "1 \\le x \\le 3", True, "inequality"),
    ("MATH", "interval", "(0,\\infty)", "x > 0", True, ""),
    ("MATH", "interval", "(-\\infty, \\infty)", "\\mathbb{R}", True, "all reals"),
    ("MATH", "interval", "[0,1)", "[0,1]", False, ""),
    ("MATH", "set", "\\{1,2,3\\}", "\\{3,2,1\\}", True, ""),
    ("MATH", "set", "1, 2, 3", "\\{1,2,3\\}", True, ""),
    ("MATH", "set", "-2, 5", "5, -2", True, "unordered roots"),
    ("MATH", "set", "-2, 5", "x = -2 \\text{ or } x = 5", True, ""),
    ("MATH", "set", "1, 2", "1, 2, 3", False, ""),
    ("MATH", "tuple", "(3,-1)", "(3, -1)", True, ""),
    ("MATH", "tuple", "(3,-1)", "(-1,3)", False, "ordered pair"),
    ("MATH", "tuple", "(1,2,3)", "\\left( 1, 2, 3 \\right)", True, ""),
    ("MATH", "matrix", "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\-2\\end{pmatrix}", True, "pmatrix with '\\\\ ' row breaks"),
    ("MATH", "matrix", "\\begin{pmatrix} 2 & 0 \\\\ 0 & 3 \\end{pmatrix}", "\\begin{pmatrix}2&0\\\\0&3\\end{pmatrix}", True, ""),
    ("MATH", "matrix", "\\begin{pmatrix} -1 \\\\ 4 \\end{pmatrix}", "\\begin{pmatrix} 4 \\\\ -1 \\end{pmatrix}", False, ""),
    ("MATH", "matrix", "\\begin{pmatrix} \\frac{1}{2} \\\\ 3 \\end{pmatrix}", "\\begin{bmatrix} 0.5 \\\\ 3 \\end{bmatrix}", True, "bmatrix"),
    ("MATH", "equation", "y = 2x + 3", "y=3+2x", True, ""),
    ("MATH", "equation", "60", "x = 60", True, ""),
    ("MATH", "equation", "4", "k = 4", True, ""),
    ("MATH", "equation", "y = 2x + 3", "y = 2x - 3", False, ""),
    ("MATH", "text", "\\text{Monday}", "\\text{Monday}", True, ""),
    ("MATH", "text", "\\text{(C)}", "(C)", True, "MATH multiple-choice gold"),
    ("MATH", "text", "\\text{(C)}", "C", True, "MATH multiple-choice gold"),
    ("MATH", "text", "\\text{(C)}", "(D)", False, ""),
    ("MATH", "text", "\\text{even}", "\\text{odd}", False, ""),
    ("MATH", "percent", "25\\%", "25", True, "percent gold"),
    ("MATH", "percent", "25\\%", "0.25", True, ""),
    ("MATH", "percent", "25", "2500", False, ""),
    ("MATH", "number", "500", "5", False, "Qwen's 100x triple accepts this"),
    ("MATH", "number", "5", "500", False, ""),
    ("MATH", "number", "10", "10.0001", False, ""),
    ("MATH", "number", "-3", "3", False, ""),
    ("MATH", "number", "0.5", ".5", True, "leading zero (Hendrycks)"),
    ("MATH", "number", "3", "3.0", True, ""),
    ("MATH", "expr", "x^2+2x+1", "(x+1)^2", True, ""),
    ("MATH", "expr", "2a", "2", False, "unit list must not eat variables"),
    ("MATH", "expr", "\\frac{x+1}{x-1}", "\\frac{x-1}{x+1}", False, ""),
    ("MATH", "expr", "3^{10}", "59049", True, ""),
    ("MATH", "expr", "\\binom{10}{3}", "120", True, ""),
    ("MATH", "expr", "\\log_2 8", "3", True, ""),
    ("MATH", "expr", "e^{i\\pi}", "-1", True, ""),
    ("MATH", "expr", "2 + 3i", "3i + 2", True, ""),
    ("MATH", "expr", "2 + 3i", "2 - 3i", False, ""),
    ("AIME", "aime", "204", "204", True, ""),
    ("AIME", "aime", "033", "33", True, "AIME zero padding"),
    ("AIME", "aime", "33", "033", True, ""),
    ("AIME", "aime", "204", "m+n = 204", True, "sum named by its letters"),
    ("AIME", "aime", "25", "p + q = 25", True, ""),
    ("AIME", "aime", "116", "m + n = 116", True, ""),
    ("AIME", "aime", "204", "m+n = 240", False, ""),
    ("AIME", "aime", "204", "m+n", False, "no number"),
    ("AIME", "aime", "80", "\\frac{160}{2}", True, ""),
    ("AIME", "aime", "80", "8", False, ""),
    ("AIME", "aime", "902", "902.", True, ""),
    ("AIME", "aime", "15", "a+b+c = 15", True, ""),
    ("GSM8K", "gsm", "1080", "\\$1,080", True, ""),
    ("GSM8K", "gsm", "18", "18 \\text{ dollars}", True, ""),
    ("GSM8K", "gsm", "70000", "70,000", True, ""),
    ("GSM8K", "gsm", "5", "5.00", True, ""),
    ("GSM8K", "gsm", "3", "3 \\text{ hours}", True, ""),
    ("GSM8K", "gsm", "18", "180", False, ""),
    ("GSM8K", "gsm", "42", "42 \\text{ apples}", True, ""),
    ("GSM8K", "gsm", "0.5", "50\\%", True, "percent for a fraction gold"),
]

# answers stated in prose, no box: (source, gold, response, label, note)
PROSE = [
    ("MathVista", "60", "Since the angles of the triangle sum to 180, 180 - 50 - 70 = 60.\nThe value of x is 60.", True, ""),
    ("MathVista", "3", "Using similar triangles, AB/DE = 1/2, so AB = 3.0. Therefore, the length of AB is 3.0", True, ""),
    ("MathVista", "14.144", "The area is approximately 14.1440", True, ""),
    ("MathVista", "0.168", 'The probability is "0.16800"', True, "quoted answer"),
    ("MathVista", "7", "There are 7 objects left.", True, ""),
    ("MathVista", "24", "So the perimeter of the rectangle is 24 units.", True, ""),
    ("MathVista", "60", "The value of x is not 60; it is 30.", False, "negated"),
    ("MathVista", "2", 'The answer is "2".', True, "quoted answer"),
    ("MathVista", "45", "Thus, the measure of angle B is 45 degrees.", True, ""),
    ("MathVista", "45", "Thus, the measure of angle B is 54 degrees.", False, ""),
    ("MathVista", "9", "Final answer: **9**", True, "bold"),
    ("MathVista", "1.5", "the answer is definitely **1.5**.", True, "bold and extra words"),
    ("GSM8K", "72", "Natalia sold 48/2 = 24 clips in May.\nAltogether she sold 48+24 = 72 clips.\n#### 72", True, "GSM8K marker"),
    ("GSM8K", "10", "Weng earns 12/60 = $0.2 per minute.\nSo she earned 0.2 x 50 = $10.\n#### 10", True, ""),
    ("GSM8K", "624", "The total area is 24 * 26 = 624. The answer is 624 square feet.", True, ""),
    ("GSM8K", "35", "He needs 5 more boxes, so he spends 5 * 7 = $35.\nThe answer is $35.", True, ""),
    ("GSM8K", "35", "He needs 5 more boxes, so he spends 5 * 7 = $35, plus $10 shipping.\nThe answer is $45.", False, ""),
    ("MATH", "\\frac{1}{2}", "<think>\nThe probability is 1/2 after symmetry.\n</think>\nThe probability is $\\frac{1}{2}$.", True, ""),
    ("MATH", "8", "Therefore, $x = 8$.", True, ""),
    ("MATH", "-4", "Therefore $k=-4$.", True, ""),
    ("MATH", "12", "So the final result is $12$.", True, ""),
    ("MATH", "5", "So the remainder when $2^{100}$ is divided by 7 is 2.", False, ""),
    ("AIME", "204", "<think>\nSo m = 187, n = 17, m + n = 204.\n</think>\nThus $m+n = \\boxed{204}$.", True, ""),
    ("AIME", "204", "<think>\nm/n = 17/187\n</think>\nTherefore $\\boxed{m+n = 204}$.", True, ""),
]

# choice items: (source, gold, choices, response, label, note)
GEOQA = ["30°", "45°", "60°", "90°"]
G3K = ["4", "4\\sqrt{3}", "8", "8\\sqrt{3}"]
MV_ROOT = ["√{5}", "2√{5}", "3", "5"]
MV_DUP = ["6", "12", "18", "18"]
MV_YN = ["Yes", "No"]
CHOICE = [
    ("GeoQA", "C", GEOQA, "C", True, "bare letter as the whole answer"),
    ("GeoQA", "C", GEOQA, "60°", True, "bare option text as the whole answer"),
    ("GeoQA", "C", GEOQA, 'The answer is "C".', True, "quoted letter"),
    ("GeoQA", "C", GEOQA, "The correct option is **C**.", True, "bold"),
    ("GeoQA", "C", GEOQA, "So the answer is **(C) 60°**.", True, ""),
    ("GeoQA", "C", GEOQA, "<think>\nAngle AOB is twice angle ACB... maybe (A)?\n</think>\nAnswer: C", True, ""),
    ("GeoQA", "C", GEOQA, "The angle is 60°, so choose C.", True, ""),
    ("GeoQA", "C", GEOQA, "故选：C", True, "GeoQA Chinese solution style"),
    ("GeoQA", "C", GEOQA, "The answer is B.", False, ""),
    ("GeoQA", "C", GEOQA, "D", False, "bare wrong letter"),
    ("GeoQA", "C", GEOQA, "45°", False, "bare wrong option text"),
    ("GeoQA", "C", GEOQA, "The answer is (A), not (C).", False, ""),
    ("GeoQA", "C", GEOQA, "<think>\nI think it's C.\n</think>\nAnswer: (B)", False, ""),
    ("GeoQA", "A", GEOQA, "\\boxed{A}", True, ""),
    ("GeoQA", "A", GEOQA, "\\boxed{30^\\circ}", True, ""),
    ("Geometry3K", "B", G3K, "\\boxed{4\\sqrt{3}}", True, ""),
    ("Geometry3K", "B", G3K, "The answer is B.", True, ""),
    ("Geometry3K", "B", G3K, "\\boxed{\\sqrt{48}}", True, "equivalent option text"),
    ("Geometry3K", "B", G3K, "\\boxed{8\\sqrt{3}}", False, ""),
    ("Geometry3K", "D", G3K, "So $x = 8\\sqrt{3}$.\n\nAnswer: D", True, ""),
    ("Geometry3K", "D", G3K, "**Answer:** D", True, ""),
    ("MathVista", "2√{5}", MV_ROOT, "\\boxed{2\\sqrt{5}}", True, "unicode root in choices"),
    ("MathVista", "2√{5}", MV_ROOT, "The answer is (B)", True, ""),
    ("MathVista", "2√{5}", MV_ROOT, "\\boxed{\\sqrt{5}}", False, ""),
    ("MathVista", "√{5}", MV_ROOT, "\\boxed{\\sqrt5}", True, ""),
    ("MathVista", "18", MV_DUP, "The answer is C.", True, "duplicate choice texts"),
    ("MathVista", "18", MV_DUP, "The answer is D.", True, "duplicate choice texts"),
    ("MathVista", "18", MV_DUP, "\\boxed{18}", True, "duplicate choice texts"),
    ("MathVista", "18", MV_DUP, "The answer is B.", False, ""),
    ("MathVista", "Yes", MV_YN, "the answer is definitely **(A) Yes**", True, "bold and extra words"),
    ("MathVista", "Yes", MV_YN, "Yes", True, "bare option text"),
    ("MathVista", "Yes", MV_YN, "No", False, ""),
    ("MathVista", "Yes", MV_YN, 'The answer is "No".', False, ""),
    ("MathVista", "No", MV_YN, "Answer: B", True, ""),
    ("MathVista", "No", MV_YN, "B", True, "bare letter"),
]

# whole responses that test extraction itself: (source, gold, response, label, note)
EXTRACTION = [
    ("long-CoT", "7", "<think>\nTry 5... \\boxed{5} no. Try 7 \\boxed{7}.\n</think>\nThe answer is $\\boxed{7}$.", True, ""),
    ("long-CoT", "7", "<think>\nThe answer is \\boxed{7}.\n</think>\nAfter checking, the answer is $\\boxed{9}$.", False, "answer changed after thinking"),
    ("long-CoT", "7", "<think>\nThe answer is \\boxed{7}. Let me keep checking whether", False, "cut off while thinking"),
    ("long-CoT", "\\frac{1}{2}", "<think>\nok\n</think>\nThus $\\boxed{\\frac{1}{2", False, "truncated inside the box"),
    ("long-CoT", "12", "<think>\nok\n</think>\nWe get $\\boxed{3}$ for the first part and $\\boxed{12}$ overall.", True, "several boxes: last"),
    ("long-CoT", "3", "<think>\nok\n</think>\nWe get $\\boxed{3}$ for the first part and $\\boxed{12}$ overall.", False, "several boxes: not the first"),
    ("long-CoT", "45", "<think>\nhmm\n</think>\n\n## Solution\n...\n\n### Final Answer\nThe answer is $\\boxed{45}$", True, ""),
    ("long-CoT", "45", "<think>\nhmm\n</think>\nThe final answer is \\(\\boxed{45}\\).", True, ""),
    ("long-CoT", "45", "<think>\nhmm\n</think>\n\\[\\boxed{45^\\circ}\\]", True, ""),
    ("long-CoT", "2", "<think>\nhmm\n</think>\nTherefore, the answer is \\(2\\).", True, ""),
    ("long-CoT", "2", "<think>\nhmm\n</think>\nTherefore, the answer is \\(3\\).", False, ""),
    ("long-CoT", "-1", "<think>\nhmm\n</think>\nThe minimum value is $\\boxed{-1}$.\n\nWait, let me double check: yes.", True, ""),
    ("long-CoT", "100", "<think>\nhmm\n</think>\nThe answer is 100 \u2705", True, ""),
]
# fmt: on


def rows():
    rng = random.Random(20261129)
    out = []
    style_names = list(STYLES)

    def add(source, category, kind, gold, response, label, style, note, choices=None):
        out.append(
            {
                "id": f"ho-{len(out):03d}",
                "split": "heldout",
                "source": source,
                "style": style,
                "category": category,
                "kind": kind,
                "gold": gold,
                "response": response,
                "choices": choices,
                "tests": None,
                "label": label,
                "note": note,
            }
        )

    for k, (source, cat, gold, span, label, note) in enumerate(MATH_SPANS):
        # GSM8K answers come after ####; all others rotate through the long-CoT styles
        if source == "GSM8K" and k % 2 == 0:
            style = "gsm"
            response = s_gsm(span, rng)
        else:
            style = style_names[k % len(style_names)]
            response = STYLES[style](span, rng)
        add(source, cat, "math", gold, response, label, style, note)
    # every unit / AIME / matrix span a second time, boxed after </think> (the dominant style)
    for source, cat, gold, span, label, note in MATH_SPANS:
        if cat in ("units", "aime", "matrix", "thousands", "interval"):
            add(source, cat, "math", gold, s_think_box(span, rng), label, "think_box", note)
    for source, gold, response, label, note in PROSE:
        add(source, "prose", "math", gold, response, label, "prose", note)
    for source, gold, choices, response, label, note in CHOICE:
        add(source, "choice", "choice", gold, response, label, "choice", note, list(choices))
    for source, gold, response, label, note in EXTRACTION:
        add(source, "extraction", "math", gold, response, label, "extraction", note)
    return out


def main() -> None:
    data = rows()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), encoding="utf-8")
    print(f"wrote {len(data)} rows ({sum(r['label'] for r in data)} labelled correct) to {OUT}")


if __name__ == "__main__":
    main()
