"""Source presets on rows in their published shapes, including broken ones."""

import json

import pytest

from data_recipes.recipe import Recipe, SourceSpec, resolve_recipe
from data_recipes.sources import iter_source
from redstar.records import RowError


def _load(tmp_path, spec, **run):
    recipe = resolve_recipe(Recipe(base_dir=str(tmp_path), sources=[spec]))  # spec.path made absolute
    for k, v in run.items():
        setattr(recipe.run, k, v)
    kept, dropped = [], []
    for problem, drop in iter_source(spec, recipe):
        (kept.append(problem) if drop is None else dropped.append(drop))
    return kept, dropped


def _jsonl(path, rows, extra=()):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(e + "\n" for e in extra))
    return path


def test_numina_gold_from_last_boxed(tmp_path):
    _jsonl(
        tmp_path / "numina.jsonl",
        [
            {
                "source": "amc_aime",
                "problem": "Find $x$ if $2x = 10$.",
                "solution": "First $\\boxed{3}$ is wrong; dividing gives $x = \\boxed{5}$.",
                "messages": [{"role": "user", "content": "Find x"}, {"role": "assistant", "content": "5"}],
            },
            {"source": "cn_k12", "problem": "No answer here.", "solution": "We cannot tell.", "messages": []},
        ],
    )
    kept, dropped = _load(tmp_path, SourceSpec(path="numina.jsonl", preset="numina", name="numina"))
    assert len(kept) == 1 and kept[0]["answer"] == "5" and kept[0]["meta"]["pool"] == "amc_aime"
    assert kept[0]["id"] == "numina:0" and kept[0]["source"] == "numina"
    assert dropped[0][0] == "malformed row" and "numina.jsonl:2:" in dropped[0][1] and "empty answer" in dropped[0][1]


def test_metamath_answer_suffix(tmp_path):
    _jsonl(
        tmp_path / "mm.json",
        [
            {
                "type": "GSM_Rephrased",
                "query": "Tom has 3 bags of 4 apples. How many apples?",
                "original_question": "...",
                "response": "3 * 4 = 12\nThe answer is: 12",
            }
        ],
    )
    kept, _ = _load(tmp_path, SourceSpec(path="mm.json", preset="metamath"))
    assert kept[0]["answer"] == "12" and kept[0]["question"].startswith("Tom has")


def test_taco_json_encoded_tests_and_levels(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    io_ok = json.dumps({"inputs": ["1 2\n"], "outputs": ["3\n"]})
    io_fn = json.dumps({"fn_name": "add", "inputs": [[1, 2]], "outputs": [3]})
    rows = [
        {
            "question": "Print a+b.",
            "solutions": json.dumps(["print(sum(map(int, input().split())))"]),
            "starter_code": "",
            "input_output": io_ok,
            "difficulty": "MEDIUM_HARD",
            "source": "codeforces",
        },
        {
            "question": "Write add(a, b).",
            "solutions": "[]",
            "starter_code": "def add(a, b):\n    pass",
            "input_output": io_fn,
            "difficulty": "VERY_HARD",
            "source": "leetcode",
        },
        {
            "question": "Broken tests.",
            "solutions": "[]",
            "starter_code": "",
            "input_output": "{not json",
            "difficulty": "EASY",
            "source": "x",
        },
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "taco.parquet")
    kept, dropped = _load(tmp_path, SourceSpec(path="taco.parquet", preset="taco", name="taco"))
    assert [p["domain"] for p in kept] == ["code", "code"]
    assert kept[0]["tests"] == {"inputs": ["1 2\n"], "outputs": ["3\n"]} and kept[0]["difficulty"] == 6.0
    assert kept[1]["tests"]["fn_name"] == "add" and kept[1]["difficulty"] == 9.0
    assert kept[1]["meta"]["starter_code"].startswith("def add")
    assert "input_output is not valid JSON" in dropped[0][1] and "taco.parquet:row 3:" in dropped[0][1]


def test_geoqa_pair_with_images_and_a_missing_one(tmp_path):
    from PIL import Image

    (tmp_path / "test").mkdir()
    Image.new("RGB", (8, 8), "white").save(tmp_path / "test" / "0.png")
    text = (
        "First perform reasoning, then finally select the question from the choices.\n"
        "Question: As shown in the figure, AB is parallel to CD, angle 1 = 50°, then angle 2 is ()\n"
        "Choices:\nA:40°\nB:50°\nC:130°\nD:140°"
    )
    _jsonl(
        tmp_path / "test_questions.jsonl",
        [
            {"question_id": 0, "image": "test/0.png", "text": text},
            {"question_id": 1, "image": "test/1.png", "text": text},
        ],
    )
    _jsonl(tmp_path / "test_answers.jsonl", [{"question_id": 0, "text": "C"}, {"question_id": 1, "text": "A"}])
    kept, dropped = _load(tmp_path, SourceSpec(path="test_questions.jsonl", preset="geoqa", name="geoqa"))
    assert len(kept) == 1
    p = kept[0]
    assert p["domain"] == "geo" and p["answer"] == "C" and p["choices"] == ["40°", "50°", "130°", "140°"]
    assert p["images"] == [str((tmp_path / "test" / "0.png").resolve())]
    assert dropped[0][0] == "missing image" and "test/1.png" in dropped[0][1] and "geoqa:1" in dropped[0][1]


def test_collinear_correctness_and_stored_response(tmp_path):
    _jsonl(
        tmp_path / "col.jsonl",
        [
            {
                "problem": "What is $3 \\cdot 4$?",
                "solution": "$\\boxed{12}$",
                "source": "synthetic_math",
                "R1-Distill-Qwen-32B": "<think>3*4</think> \\boxed{12}",
                "R1-Distill-Qwen-32B-messages": [],
                "correctness": json.dumps({"C1": 1, "C2": 0}),
            },
        ],
    )
    kept, _ = _load(tmp_path, SourceSpec(path="col.jsonl", preset="collinear", name="col"))
    assert kept[0]["answer"] == "12" and kept[0]["meta"]["correctness"] == {"C1": 1, "C2": 0}
    assert kept[0]["meta"]["responses"] == ["<think>3*4</think> \\boxed{12}"]


def test_malformed_line_skipped_or_fatal(tmp_path):
    _jsonl(
        tmp_path / "p.jsonl",
        [{"id": "a", "question": "1+1?", "answer": "2"}],
        extra=['{"id": "b", "question": "cut off'],
    )
    kept, dropped = _load(tmp_path, SourceSpec(path="p.jsonl"))
    assert [p["id"] for p in kept] == ["a"]
    assert dropped[0][0] == "malformed row" and "p.jsonl:2" in dropped[0][1]
    with pytest.raises(RowError, match=r"p\.jsonl:2"):
        _load(tmp_path, SourceSpec(path="p.jsonl"), skip_bad=False)


def test_field_mapping_override_and_limit(tmp_path):
    _jsonl(
        tmp_path / "custom.jsonl", [{"uid": i, "prompt": f"What is {i}+{i}?", "target": str(2 * i)} for i in range(5)]
    )
    spec = SourceSpec(
        path="custom.jsonl",
        preset="problem",
        name="custom",
        limit=3,
        fields={"id": "uid", "question": "prompt", "answer": "target"},
    )
    kept, _ = _load(tmp_path, spec)
    assert [(p["id"], p["answer"]) for p in kept] == [("0", "0"), ("1", "2"), ("2", "4")]
