"""Image loading and the GeoQA / Geometry3K converters, on files written in the real formats."""

import io
import json
import pickle

import pytest
from PIL import Image

from geo.convert import (
    convert_geometry3k,
    convert_geoqa_jsonl,
    convert_geoqa_pickle,
    convert_llava_sft,
    main,
    parse_geoqa_text,
)
from geo.images import ImageError, bound_pixels, bounded_size, load_image, set_processor_pixels


def _png(path, size=(60, 40), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, 0 if mode != "RGB" else "white").save(path)
    return path


def test_load_from_path_bytes_dict_and_pil(tmp_path):
    p = _png(tmp_path / "img" / "a.png", mode="RGBA")
    a = load_image("img/a.png", base_dir=tmp_path)
    assert a.mode == "RGB" and a.size == (60, 40)
    # a transparent pixel is flattened onto white, not black
    assert a.getpixel((0, 0)) == (255, 255, 255)
    data = p.read_bytes()
    assert load_image(data).size == (60, 40)
    assert load_image({"bytes": data, "path": None}).size == (60, 40)
    assert load_image(Image.new("L", (5, 5))).mode == "RGB"


def test_missing_and_corrupt_images_name_the_row(tmp_path):
    with pytest.raises(ImageError, match=r"rows.jsonl:3: image not found: .*nope.png"):
        load_image("nope.png", base_dir=tmp_path, where="rows.jsonl:3")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with pytest.raises(ImageError, match=r"rows.jsonl:9: corrupt or unreadable image"):
        load_image(bad, where="rows.jsonl:9")
    # a truncated real PNG fails on load too
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, format="PNG")
    with pytest.raises(ImageError):
        load_image(buf.getvalue()[:60], where="x:1")


def test_bound_pixels():
    w, h = bounded_size(4000, 3000, max_pixels=28 * 28 * 100, factor=28)
    assert w * h <= 28 * 28 * 100 and w % 28 == 0 and h % 28 == 0
    assert abs(w / h - 4 / 3) < 0.2
    w, h = bounded_size(10, 10, min_pixels=1000)
    assert w * h >= 990
    img = bound_pixels(Image.new("RGB", (800, 600)), max_pixels=10000)
    assert img.width * img.height <= 10000


def test_processor_pixels_bound_changes_token_count():
    from redstar.models import tiny_vl_model

    _, proc = tiny_vl_model("qwen2_vl")
    img = Image.new("RGB", (560, 560), "white")
    before = proc.image_processor(images=[img], return_tensors="pt")["image_grid_thw"].prod()
    set_processor_pixels(proc, max_pixels=28 * 28 * 16)
    after = proc.image_processor(images=[img], return_tensors="pt")["image_grid_thw"].prod()
    assert after < before and after <= 16 * 4


GEOQA_TEXT = (
    "First perform reasoning, then finally select the question from the choices in the following "
    "format: Answer: xxx.\nQuestion: As shown in the figure, AB ∥ CD, ∠1 = 50°, then ∠2 = ()\n"
    "Choices:\nA:40°\nB:50°\nC:130°\nD:140°"
)


def test_geoqa_gllava_jsonl(tmp_path):
    _png(tmp_path / "geoqa" / "test" / "12.png")
    _png(tmp_path / "geoqa" / "test" / "13.png")
    q = tmp_path / "test_questions.jsonl"
    q.write_text(
        "\n".join(json.dumps({"question_id": i, "image": f"test/{i}.png", "text": GEOQA_TEXT}) for i in (12, 13)) + "\n"
    )
    a = tmp_path / "test_answers.jsonl"
    a.write_text(
        json.dumps({"question_id": 12, "text": "B"}) + "\n" + json.dumps({"question_id": 13, "text": "C"}) + "\n"
    )
    rows = convert_geoqa_jsonl(q, a, tmp_path / "geoqa", tmp_path / "out")
    assert [r["answer"] for r in rows] == ["B", "C"]
    assert rows[0]["choices"] == ["40°", "50°", "130°", "140°"]
    assert rows[0]["question"].startswith("As shown in the figure") and "Choices" not in rows[0]["question"]
    assert (tmp_path / "out" / rows[0]["images"][0]).is_file()
    # the CLI end to end, then a missing image named by its line
    assert (
        main(
            [
                "geoqa",
                "--questions",
                str(q),
                "--answers",
                str(a),
                "--image-root",
                str(tmp_path / "geoqa"),
                "--out",
                str(tmp_path / "cli"),
            ]
        )
        == 0
    )
    assert len((tmp_path / "cli" / "problems.jsonl").read_text().splitlines()) == 2
    (tmp_path / "geoqa" / "test" / "13.png").unlink()
    with pytest.raises(ImageError, match=r"test_questions.jsonl:2: image not found"):
        convert_geoqa_jsonl(q, a, tmp_path / "geoqa", tmp_path / "out2")


def test_parse_geoqa_text_without_choices():
    assert parse_geoqa_text("Question: find x") == ("find x", None)


def test_geoqa_pickle_needs_opt_in(tmp_path):
    import numpy as np

    items = [
        {
            "id": 7,
            "image": np.full((30, 40), 255, dtype=np.uint8),
            "subject": "如图，AB∥CD，∠1=50°，则∠2=()",
            "choices": ["40°", "50°", "130°", "140°"],
            "label": 2,
            "manual_program": ["g_minus", "C_3", "N_0"],
        }
    ]
    path = tmp_path / "test.pk"
    path.write_bytes(pickle.dumps(items))
    with pytest.raises(Exception, match="allow-pickle"):
        convert_geoqa_pickle(path, tmp_path / "out")
    rows = convert_geoqa_pickle(path, tmp_path / "out", allow_pickle=True)
    assert rows[0]["answer"] == "C" and rows[0]["meta"]["manual_program"][0] == "g_minus"
    assert Image.open(tmp_path / "out" / rows[0]["images"][0]).size == (40, 30)


def test_geometry3k_hf_rows_and_tree(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buf, format="PNG")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "images": [[{"bytes": buf.getvalue(), "path": None}]],
            "problem": ["<image>Find x. Round to the nearest tenth."],
            "answer": ["B"],
            "id": ["2401"],
            "choices": [["3", "4.5", "6", "9"]],
            "ground_truth": ["4.5"],
        }
    )
    pq.write_table(table, tmp_path / "test.parquet")
    rows = convert_geometry3k(tmp_path / "test.parquet", tmp_path / "out")
    assert rows[0]["question"] == "Find x. Round to the nearest tenth." and rows[0]["answer"] == "B"
    assert rows[0]["meta"]["ground_truth"] == "4.5"
    d = tmp_path / "g3k" / "2401"
    _png(d / "img_diagram.png")
    (d / "data.json").write_text(
        json.dumps({"id": 2401, "problem_text": "Find x.", "choices": ["1", "2", "3", "4"], "answer": "D"})
    )
    rows = convert_geometry3k(tmp_path / "g3k", tmp_path / "out_tree")
    assert rows[0]["answer"] == "D" and (tmp_path / "out_tree" / rows[0]["images"][0]).is_file()


def test_llava_conversations_to_sft_rows(tmp_path):
    from redstar.dataio import read_rows
    from redstar.records import SFTRow

    _png(tmp_path / "imgs" / "geo3k" / "train" / "1" / "img_diagram.png")
    data = [
        {
            "id": "a1",
            "image": "geo3k/train/1/img_diagram.png",
            "conversations": [
                {"from": "human", "value": "<image>\nFind the angle."},
                {"from": "gpt", "value": "It is 40 degrees."},
            ],
        }
    ]
    (tmp_path / "qa.json").write_text(json.dumps(data))
    assert (
        main(
            [
                "llava-sft",
                "--input",
                str(tmp_path / "qa.json"),
                "--image-root",
                str(tmp_path / "imgs"),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    rows = list(read_rows(tmp_path / "out" / "sft.jsonl", schema=SFTRow))
    assert rows[0]["messages"][1] == {"role": "assistant", "content": "It is 40 degrees."}
    assert (tmp_path / "out" / rows[0]["images"][0]).is_file()
    data[0]["conversations"][1]["from"] = "robot"
    (tmp_path / "qa.json").write_text(json.dumps(data))
    with pytest.raises(Exception, match="qa.json#1"):
        convert_llava_sft(tmp_path / "qa.json", tmp_path / "imgs", tmp_path / "out2")
