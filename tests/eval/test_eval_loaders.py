import json
import pickle

import eval_fixtures as fx
import numpy as np
import pytest
from PIL import Image

from eval.benchmarks import load_benchmark
from eval.items import last_boxed
from redstar.config import ConfigError


def test_math_hard_tree_keeps_level5_and_ids_are_relative_paths(tmp_path):
    res = load_benchmark("math-hard", str(fx.math_tree(tmp_path)))
    assert [it.id for it in res.items] == ["algebra/10.json", "algebra/13.json", "prealgebra/11.json"]
    assert [it.answer for it in res.items] == ["2", "3", "\\frac{5}{6}"]
    assert res.read == 4 and res.filtered == 1 and not res.skipped
    assert res.items[2].category == ["Prealgebra"]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "json"])
def test_math_hard_flat_files(tmp_path, fmt):
    path = tmp_path / f"test.{fmt}"
    if fmt == "jsonl":
        fx.write_jsonl(path, fx.MATH_ROWS)
    elif fmt == "parquet":
        fx.write_parquet(path, fx.MATH_ROWS)
    else:
        path.write_text(json.dumps(fx.MATH_ROWS))
    res = load_benchmark("math-hard", str(path))
    assert [(it.id, it.answer) for it in res.items] == [("0", "2"), ("1", "\\frac{5}{6}"), ("3", "3")]


def test_math_broken_rows_are_skipped_with_reasons(tmp_path):
    rows = fx.MATH_ROWS[:1] + [
        {"problem": "No box.", "level": "Level 5", "type": "Algebra", "solution": "It is 4."},
        {"problem": "", "level": "Level 5", "type": "Algebra", "solution": "\\boxed{1}"},
    ]
    path = fx.write_jsonl(tmp_path / "t.jsonl", rows)
    with open(path, "a") as f:
        f.write("{not json\n")
    res = load_benchmark("math-hard", str(path))
    assert len(res.items) == 1 and res.read == 4
    text = "\n".join(res.skipped)
    assert "t.jsonl:2 (id 1): no \\boxed{} answer in the solution" in text
    assert "empty 'problem'" in text and "t.jsonl:4: malformed JSON" in text
    assert "skipped 3" in res.summary()


def test_last_boxed_nested_braces():
    assert last_boxed("a \\boxed{1} then \\boxed{\\frac{1}{\\sqrt{2}}} end") == "\\frac{1}{\\sqrt{2}}"
    assert last_boxed("\\fbox{x+1}") == "x+1"
    assert last_boxed("\\boxed 5$") == "5"
    assert last_boxed("unbalanced \\boxed{1") is None and last_boxed("none") is None


def test_math500_uses_answer_and_unique_id(tmp_path):
    res = load_benchmark("math500", str(fx.math500(tmp_path / "test.jsonl")))
    assert len(res.items) == 4 and res.items[1].id == "test/prealgebra/1.json"
    assert res.items[1].answer == "\\frac{5}{6}"


@pytest.mark.parametrize(
    "writer, ids, answers",
    [
        (lambda p: fx.aime24_h4(p / "h4.jsonl"), ["60", "61"], ["24", "6"]),
        (lambda p: fx.aime24_maxwell(p / "aime.parquet"), ["2024-I-1", "2024-II-4"], ["21", "99"]),
        (lambda p: fx.aime24_aimo(p / "aimo.jsonl"), ["60"], ["204"]),
    ],
)
def test_aime24_shapes(tmp_path, writer, ids, answers):
    res = load_benchmark("aime24", str(writer(tmp_path)))
    assert [it.id for it in res.items] == ids and [it.answer for it in res.items] == answers


def test_aime25_two_files_in_order(tmp_path):
    res = load_benchmark("aime25", str(fx.aime25(tmp_path)))
    assert [it.id for it in res.items] == ["0", "1", "2"]
    assert [it.answer for it in res.items] == ["70", "588", "243"]
    assert [it.meta["part"] for it in res.items] == ["aime2025-I", "aime2025-I", "aime2025-II"]


def test_aime_bad_answers(tmp_path):
    p = fx.write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"id": 1, "problem": "p", "answer": ""},
            {"id": 2, "problem": "p", "answer": "12.5"},
            {"id": 3, "problem": "p", "answer": "1000"},
        ],
    )
    res = load_benchmark("aime24", str(p))
    assert not res.items
    assert "empty answer" in res.skipped[0] and "'12.5' is not an integer 0..999" in res.skipped[1]
    assert "'1000'" in res.skipped[2]


def test_geoqa_pair(tmp_path):
    res = load_benchmark("geoqa", str(fx.geoqa(tmp_path)))
    a, b = res.items
    assert a.id == "0" and a.kind == "choice" and a.answer == "D"
    assert a.choices == ["40°", "60°", "120°", "140°"]
    assert a.question.startswith("As shown in the figure, in triangle ABC") and "Choices" not in a.question
    assert a.images[0].endswith("images/test/0.png")
    assert (a.category, b.category) == (["angle"], ["length"])
    # the questions file itself works as --data too
    assert len(load_benchmark("geoqa", str(tmp_path / "test_questions.jsonl")).items) == 2


def test_geoqa_broken(tmp_path):
    root = fx.geoqa(tmp_path)
    (root / "images" / "test" / "1.png").unlink()
    fx.write_jsonl(root / "test_answers.jsonl", [{"question_id": 0, "text": "E"}, {"question_id": 1, "text": "A"}])
    res = load_benchmark("geoqa", str(root))
    assert not res.items
    assert "answer 'E' is not one of the choice letters ABCD" in res.skipped[0]
    assert "image test/1.png not found under" in res.skipped[1]
    with pytest.raises(FileNotFoundError, match="test_answers.jsonl"):
        (root / "test_answers.jsonl").unlink()
        load_benchmark("geoqa", str(root))


def test_geoqa_repeated_answer_row_is_an_error_naming_file_and_line(tmp_path):
    root = fx.geoqa(tmp_path)
    fx.write_jsonl(
        root / "test_answers.jsonl",
        [{"question_id": 0, "text": "D"}, {"question_id": 1, "text": "A"}, {"question_id": 0, "text": "B"}],
    )
    with pytest.raises(ConfigError, match=r"test_answers\.jsonl:3: question_id 0 repeats .*test_answers\.jsonl:1"):
        load_benchmark("geoqa", str(root))


def test_geoqa_pickles_need_opt_in(tmp_path):
    rows = [
        {
            "id": 7,
            "subject": "angle",
            "English problem": "Find angle 1.",
            "choices": ["30°", "45°", "60°", "90°"],
            "label": 2,
            "image": np.zeros((20, 20), dtype=np.uint8),
        }
    ]
    with open(tmp_path / "test.pk", "wb") as f:
        pickle.dump(rows, f)
    with pytest.raises(ConfigError, match="--allow-pickle"):
        load_benchmark("geoqa", str(tmp_path))
    res = load_benchmark("geoqa", str(tmp_path), allow_pickle=True)
    (it,) = res.items
    assert (it.id, it.answer, it.category) == ("7", "C", ["angle"]) and isinstance(it.images[0], Image.Image)


def test_geoqa_pickle_without_subject_infers_the_category(tmp_path):
    base = {"choices": ["3", "4", "5", "6"], "label": 1, "image": np.zeros((20, 20), dtype=np.uint8)}
    rows = [
        dict(base, id=1, problem="Find the length of AB."),
        dict(base, id=2, problem="Find x.", choices=["30°", "45°", "60°", "90°"]),
        dict(base, id=3, problem="Find the area.", subject="其他"),
    ]
    with open(tmp_path / "test.pkl", "wb") as f:
        pickle.dump(rows, f)
    res = load_benchmark("geoqa", str(tmp_path / "test.pkl"), allow_pickle=True)
    assert [(it.id, it.category) for it in res.items] == [("1", ["length"]), ("2", ["angle"]), ("3", ["other"])]


@pytest.mark.parametrize("subset, ids", [("task", ["1", "2"]), ("skill", ["1", "2", "3"])])
def test_mathvista_json_subsets(tmp_path, subset, ids):
    res = load_benchmark("mathvista-geo", str(fx.mathvista_json(tmp_path)), subset=subset)
    assert [it.id for it in res.items] == ids and res.filtered == 4 - len(ids)
    mc, ff = res.items[:2]
    assert (mc.kind, mc.answer, mc.choices) == ("choice", "B", ["2", "3", "4", "5"])
    assert (ff.kind, ff.answer, ff.meta["precision"]) == ("math", "2.5", 1.0)
    assert mc.images[0].endswith("images/1.jpg") and "geometry reasoning" in mc.category
    assert subset in res.subset


def test_mathvista_parquet_decoded_image(tmp_path):
    res = load_benchmark("mathvista-geo", str(fx.mathvista_parquet(tmp_path / "testmini.parquet")))
    assert [it.id for it in res.items] == ["1", "2"]
    assert isinstance(res.items[0].images[0], Image.Image) and res.items[0].image_refs() == ["<embedded 20x16>"]


def test_mathvista_broken(tmp_path):
    path = fx.mathvista_json(tmp_path)
    data = json.loads(path.read_text())
    data["1"]["answer"] = "7"  # not among the choices
    (tmp_path / "images" / "2.jpg").unlink()  # missing image
    path.write_text(json.dumps(data))
    res = load_benchmark("mathvista-geo", str(path))
    assert not res.items
    assert "answer '7' is not one of the choices" in res.skipped[0]
    assert "image images/2.jpg not found" in res.skipped[1]
    with pytest.raises(ConfigError, match="--subset must be one of"):
        load_benchmark("mathvista-geo", str(path), subset="geometry")


def test_geometry3k(tmp_path):
    res = load_benchmark("geometry3k", str(fx.geometry3k(tmp_path)))
    assert [(it.id, it.answer) for it in res.items] == [("2401", "B"), ("2402", "C")]
    assert res.items[0].question == "Find x. Round to the nearest tenth." and res.items[0].meta["ground_truth"] == "7.2"
    rows = [
        {
            "images": [{"bytes": fx.png_bytes(), "path": None}],
            "problem": "<image>Find y.",
            "answer": "Z",
            "id": "9",
            "choices": ["1", "2", "3", "4"],
            "ground_truth": "2",
        }
    ]
    res = load_benchmark("geometry3k", str(fx.write_parquet(tmp_path / "g.parquet", rows)))
    assert "answer 'Z' is not one of the choice letters ABCD" in res.skipped[0]


def test_gsm8k(tmp_path):
    res = load_benchmark("gsm8k", str(fx.gsm8k(tmp_path / "test.jsonl")))
    assert [it.answer for it in res.items] == ["7", "1234"]
    bad = fx.write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "answer": "no marker"}])
    assert "no '#### <number>' line" in load_benchmark("gsm8k", str(bad)).skipped[0]


def test_unknown_benchmark_and_subset_misuse(tmp_path):
    with pytest.raises(ConfigError, match="unknown benchmark 'mmlu'"):
        load_benchmark("mmlu", "x")
    with pytest.raises(ConfigError, match="--subset applies to mathvista-geo only"):
        load_benchmark("gsm8k", str(fx.gsm8k(tmp_path / "t.jsonl")), subset="task")
    with pytest.raises(FileNotFoundError):
        load_benchmark("gsm8k", str(tmp_path / "nope.jsonl"))


def test_saved_hf_dataset_reads_the_benchmark_split(tmp_path):
    """A dataset saved with datasets.save_to_disk (what a hub download becomes) is read from the
    benchmark's split: MATH-Hard's test split, not train."""
    import datasets

    test = datasets.Dataset.from_list(fx.MATH_ROWS)
    train = datasets.Dataset.from_list([dict(fx.MATH_ROWS[0], problem="A training problem.")])
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "mh"))
    res = load_benchmark("math-hard", str(tmp_path / "mh"))
    assert [it.question for it in res.items][:1] == ["What is $1+1$?"] and len(res.items) == 3
    assert load_benchmark("math-hard", str(tmp_path / "mh"), split="train").items[0].question == "A training problem."
