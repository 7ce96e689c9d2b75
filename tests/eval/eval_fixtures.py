"""Small benchmark files in the exact real shapes (docs/data_contracts.md), written into a test's
tmp_path. Each writer returns the path to pass as ``--data``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

MATH_ROWS = [
    {"problem": "What is $1+1$?", "level": "Level 5", "type": "Algebra", "solution": "We add: $1+1=\\boxed{2}$."},
    {
        "problem": "Compute $\\frac{1}{2}+\\frac{1}{3}$.",
        "level": "Level 5",
        "type": "Prealgebra",
        "solution": "Common denominator: $\\frac{3}{6}+\\frac{2}{6}=\\boxed{\\frac{5}{6}}$.",
    },
    {"problem": "Easy one: $2 \\cdot 3$?", "level": "Level 2", "type": "Algebra", "solution": "$\\boxed{6}$"},
    {"problem": "Find $x$ if $x^2=9$, $x>0$.", "level": "Level 5", "type": "Algebra", "solution": "So $x=\\boxed{3}$."},
]


def _png(path: Path, color="white", size=(32, 32)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def png_bytes(color="black") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 16), color).save(buf, format="PNG")
    return buf.getvalue()


def write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: Path, rows) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def math_tree(root: Path) -> Path:
    """MATH original layout: test/<type>/<n>.json, one problem per file."""
    for i, row in enumerate(MATH_ROWS):
        d = root / "test" / row["type"].lower()
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{10 + i}.json").write_text(json.dumps(row))
    return root / "test"


def math500(path: Path) -> Path:
    rows = [
        {
            "problem": r["problem"],
            "solution": r["solution"],
            "answer": ans,
            "subject": r["type"],
            "level": int(r["level"].split()[1]),
            "unique_id": f"test/{r['type'].lower()}/{i}.json",
        }
        for i, (r, ans) in enumerate(zip(MATH_ROWS, ["2", "\\frac{5}{6}", "6", "3"]))
    ]
    return write_jsonl(path, rows)


def aime24_h4(path: Path) -> Path:
    return write_jsonl(
        path,
        [
            {
                "id": 60,
                "problem": "Find the remainder when $2^{10}$ is divided by 1000.",
                "solution": "...",
                "answer": "024",
                "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_1",
                "year": "2024",
            },
            {
                "id": 61,
                "problem": "How many positive divisors does 12 have?",
                "solution": "...",
                "answer": "6",
                "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_2",
                "year": "2024",
            },
        ],
    )


def aime24_maxwell(path: Path) -> Path:
    return write_parquet(
        path,
        [
            {"ID": "2024-I-1", "Problem": "Compute $3 \\cdot 7$.", "Solution": "21", "Answer": 21},
            {"ID": "2024-II-4", "Problem": "Compute $100-1$.", "Solution": "99", "Answer": 99},
        ],
    )


def aime24_aimo(path: Path) -> Path:
    url = "https://artofproblemsolving.com/wiki/index.php/{}_AIME_I_Problems/Problem_{}"
    return write_jsonl(
        path,
        [
            {"id": 0, "problem": "A 2022 problem.", "solution": "...", "answer": "5", "url": url.format(2022, 1)},
            {"id": 60, "problem": "A 2024 problem.", "solution": "...", "answer": "204", "url": url.format(2024, 1)},
        ],
    )


def aime25(root: Path) -> Path:
    write_jsonl(
        root / "aime2025-I.jsonl",
        [
            {"question": "Part I, problem 1: 70?", "answer": "70"},
            {"question": "Part I, problem 2: 588?", "answer": "588"},
        ],
    )
    write_jsonl(root / "aime2025-II.jsonl", [{"question": "Part II, problem 1: 243?", "answer": "243"}])
    return root


GEOQA_TEXT = (
    "First perform reasoning, then finally select the question from the choices in the following "
    "format: Answer: xxx.\nQuestion: {q}\nChoices:\n{c}"
)


def geoqa(root: Path) -> Path:
    items = [
        (
            0,
            "As shown in the figure, in triangle ABC, angle A = 80.0, angle B = 60.0, DE parallel BC, "
            "then the size of angle CED is ()",
            ["40°", "60°", "120°", "140°"],
            "D",
        ),
        (
            1,
            "As shown in the figure, AB is the diameter of circle O, AB = 10.0, then the length of OC is ()",
            ["5", "6", "8", "10"],
            "A",
        ),
    ]
    qs, ans = [], []
    for qid, q, choices, letter in items:
        c = "\n".join(f"{'ABCD'[i]}:{t}" for i, t in enumerate(choices))
        qs.append({"question_id": qid, "image": f"test/{qid}.png", "text": GEOQA_TEXT.format(q=q, c=c)})
        ans.append({"question_id": qid, "text": letter})
        _png(root / "images" / "test" / f"{qid}.png")
    write_jsonl(root / "test_questions.jsonl", qs)
    write_jsonl(root / "test_answers.jsonl", ans)
    return root


def _mathvista_rows():
    geo_meta = {
        "category": "math-targeted-vqa",
        "context": "geometry diagram",
        "grade": "high school",
        "img_height": 32,
        "img_width": 32,
        "language": "english",
        "split": "testmini",
        "skills": ["geometry reasoning", "algebraic reasoning"],
        "source": "Geometry3K",
        "task": "geometry problem solving",
    }
    return [
        {
            "pid": "1",
            "question": "Find x.",
            "image": "images/1.jpg",
            "choices": ["2", "3", "4", "5"],
            "unit": None,
            "precision": None,
            "answer": "3",
            "question_type": "multi_choice",
            "answer_type": "text",
            "metadata": geo_meta,
            "query": "Hint: ... Find x.",
        },
        {
            "pid": "2",
            "question": "What is the length of AB?",
            "image": "images/2.jpg",
            "choices": None,
            "unit": None,
            "precision": 1.0,
            "answer": "2.5",
            "question_type": "free_form",
            "answer_type": "float",
            "metadata": geo_meta,
            "query": "Hint: ... What is the length of AB?",
        },
        # geometry reasoning skill, but another task: in --subset skill only
        {
            "pid": "3",
            "question": "How many sides does the shape have?",
            "image": "images/3.jpg",
            "choices": None,
            "unit": None,
            "precision": None,
            "answer": "6",
            "question_type": "free_form",
            "answer_type": "integer",
            "metadata": dict(geo_meta, task="figure question answering", skills=["geometry reasoning"]),
            "query": "...",
        },
        # neither
        {
            "pid": "4",
            "question": "What color is the bar?",
            "image": "images/4.jpg",
            "choices": ["red", "blue"],
            "unit": None,
            "precision": None,
            "answer": "red",
            "question_type": "multi_choice",
            "answer_type": "text",
            "metadata": dict(geo_meta, task="figure question answering", skills=["statistical reasoning"]),
            "query": "...",
        },
    ]


def mathvista_json(root: Path) -> Path:
    rows = _mathvista_rows()
    for r in rows:
        _png(root / r["image"])
    (root / "testmini.json").write_text(json.dumps({r["pid"]: r for r in rows}, ensure_ascii=False))
    return root / "testmini.json"


def mathvista_parquet(path: Path) -> Path:
    rows = [dict(r, decoded_image={"bytes": png_bytes(), "path": r["image"]}) for r in _mathvista_rows()]
    return write_parquet(path, rows)


def geometry3k(root: Path) -> Path:
    rows = [
        {
            "images": ["img/0.png"],
            "problem": "<image>Find x. Round to the nearest tenth.",
            "answer": "B",
            "id": "2401",
            "choices": ["3.5", "7.2", "9.0", "12.1"],
            "ground_truth": "7.2",
        },
        {
            "images": ["img/1.png"],
            "problem": "<image>Find the area of the triangle.",
            "answer": "C",
            "id": "2402",
            "choices": ["12", "24", "30", "48"],
            "ground_truth": "30",
        },
    ]
    for r in rows:
        _png(root / r["images"][0])
    return write_jsonl(root / "test.jsonl", rows)


def gsm8k(path: Path) -> Path:
    return write_jsonl(
        path,
        [
            {
                "question": "Tom has 3 apples and buys 4 more. How many apples does he have?",
                "answer": "He has 3 + 4 = <<3+4=7>>7 apples.\n#### 7",
            },
            {"question": "A book costs $1,200 and a pen $34. Total?", "answer": "1200+34=1234\n#### 1,234"},
        ],
    )


def score_stored(benchmark: str, data, responses, out, *extra: str) -> int:
    """``redstar eval`` scoring stored responses with one worker; ``extra`` flags are appended."""
    from redstar.cli import main

    argv = ["eval", "--benchmark", benchmark, "--data", str(data), "--responses", str(responses)]
    return main([*argv, "--out", str(out), "--workers", "1", *extra])


def read_results(out) -> dict[str, dict]:
    """The rows of ``out/results.jsonl`` by item id."""
    return {r["id"]: r for r in map(json.loads, (Path(out) / "results.jsonl").read_text().splitlines())}
