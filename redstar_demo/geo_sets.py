"""Geometry sets for the demo, drawn procedurally and written in the real benchmark formats.

The demo cannot ship GeoQA or MathVista, so it draws its own problems with ``geo.generator``
and writes them exactly as those benchmarks are distributed, so ``redstar eval`` reads them
with the same loaders it uses for the real files:

- GeoQA as G-LLaVA ships it: ``test_questions.jsonl`` (``question_id``, ``image``
  "test/N.png", ``text`` = instruction, question, "Choices:\\nA:..") and ``test_answers.jsonl``
  (``question_id``, ``text`` = the letter), images under ``test/``;
- MathVista testmini: ``testmini.json`` (a mapping pid -> item with ``question``, ``image``
  "images/N.png", ``choices``, ``answer`` = the choice text, ``question_type`` multi_choice,
  ``metadata.task`` "geometry problem solving", ``metadata.skills``, ``query``);
- training rows for the vision-language SFT leg (``sft.jsonl``, images relative to it).

    python -m redstar_demo.geo_sets --out runs/demo/geo_data --train 24 --test 12
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

GEOQA_INSTRUCTION = (
    "First perform reasoning, then finally select the question from the choices in the following format: Answer: xxx."
)


def _choices_text(choices: list[str]) -> str:
    from redstar.choices import format_choices

    return "Choices:\n" + format_choices(choices)


def write_geoqa(problems: list[dict], src_dir: Path, out: Path) -> None:
    """G-LLaVA's GeoQA test layout from generated Problem rows."""
    from redstar.dataio import write_jsonl

    (out / "test").mkdir(parents=True, exist_ok=True)
    questions, answers = [], []
    for i, p in enumerate(problems):
        shutil.copyfile(src_dir / p["images"][0], out / "test" / f"{i}.png")
        questions.append(
            {
                "question_id": i,
                "image": f"test/{i}.png",
                "text": f"{GEOQA_INSTRUCTION}\nQuestion: {p['question']}\n{_choices_text(p['choices'])}",
            }
        )
        answers.append({"question_id": i, "text": p["answer"]})
    write_jsonl(out / "test_questions.jsonl", questions)
    write_jsonl(out / "test_answers.jsonl", answers)


def write_mathvista(problems: list[dict], src_dir: Path, out: Path) -> None:
    """MathVista testmini layout (multiple choice, answer = the choice text)."""
    from PIL import Image

    from redstar.dataio import write_json

    (out / "images").mkdir(parents=True, exist_ok=True)
    items = {}
    for i, p in enumerate(problems, 1):
        pid = str(i)
        shutil.copyfile(src_dir / p["images"][0], out / "images" / f"{pid}.png")
        w, h = Image.open(out / "images" / f"{pid}.png").size
        letter_index = ord(p["answer"]) - 65
        choices = p["choices"]
        query = (
            "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, "
            "at the end.\nQuestion: "
            + p["question"]
            + "\nChoices:\n"
            + "\n".join(f"({chr(65 + j)}) {c}" for j, c in enumerate(choices))
        )
        items[pid] = {
            "question": p["question"],
            "image": f"images/{pid}.png",
            "decoded_image": None,
            "choices": choices,
            "unit": None,
            "precision": None,
            "answer": choices[letter_index],
            "question_type": "multi_choice",
            "answer_type": "text",
            "pid": pid,
            "metadata": {
                "category": "math-targeted-vqa",
                "context": "geometry diagram",
                "grade": "high school",
                "img_height": h,
                "img_width": w,
                "language": "english",
                "skills": ["geometry reasoning", "algebraic reasoning"],
                "source": "geo_synth",
                "split": "testmini",
                "task": "geometry problem solving",
            },
            "query": query,
        }
    write_json(out / "testmini.json", items)


def build(out: str | Path, n_train: int = 24, n_test: int = 12, seed: int = 0) -> dict:
    """Draw train and test problems (different seeds) and write every demo geometry file."""
    from geo.generator import write_problems
    from geo.sft import sft_rows_from_problems
    from redstar.dataio import read_jsonl, write_jsonl

    out = Path(out)
    train_file = write_problems(out / "train", n=n_train, seed=seed + 1, progress=False)
    test_file = write_problems(out / "test_problems", n=n_test, seed=seed + 2, progress=False)
    train, test = read_jsonl(train_file), read_jsonl(test_file)
    write_jsonl(out / "train" / "sft.jsonl", sft_rows_from_problems(train))
    write_geoqa(test, test_file.parent, out / "geoqa")
    write_mathvista(test, test_file.parent, out / "mathvista")
    return {
        "sft": str(out / "train" / "sft.jsonl"),
        "geoqa": str(out / "geoqa"),
        "mathvista": str(out / "mathvista" / "testmini.json"),
        "n_train": len(train),
        "n_test": len(test),
    }


def save_tiny_vl(out: str | Path, kind: str = "qwen2_vl", seed: int = 0) -> str:
    """Save the untrained tiny vision-language model (the geometry leg's 'before')."""
    from geo.sft import load_vl_model

    model, processor = load_vl_model(f"tiny:{kind}", seed=seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return str(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m redstar_demo.geo_sets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=24)
    ap.add_argument("--test", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiny-vl", default=None, help="also save an untrained tiny Qwen2-VL model to this directory")
    args = ap.parse_args(argv)
    info = build(args.out, args.train, args.test, args.seed)
    if args.tiny_vl:
        info["tiny_vl"] = save_tiny_vl(args.tiny_vl)
    for k, v in info.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
