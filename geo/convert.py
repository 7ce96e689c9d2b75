"""Convert geometry benchmarks and training sets into ``Problem`` rows (domain ``geo``).

Sources, in the exact shapes they are published in:

- **GeoQA as G-LLaVA ships it**: ``test_questions.jsonl`` rows ``question_id``, ``image``
  (``"test/12.png"``, relative to an image root), ``text`` (instruction, ``Question: ...``, then
  ``Choices:\\nA:40°\\nB:60°...``) and ``test_answers.jsonl`` rows ``question_id``, ``text``
  (the letter).
- **GeoQA original release**: Python pickles (a list of dicts with ``id``, ``image`` as a
  grayscale array, ``choice_nums`` / ``choices``, ``label`` as the choice index, Chinese
  ``subject`` text or ``English_problem``). Unpickling runs arbitrary code, so it is refused
  unless the caller passes ``allow_pickle=True`` (``--allow-pickle`` on the command line).
- **Geometry3K**: HF-style rows ``images`` (image dicts or paths), ``problem``, ``answer``
  (letter), ``id``, ``choices``, ``ground_truth``; or the original tree
  ``<split>/<n>/data.json`` + ``img_diagram.png``.

- **G-LLaVA's Geo170K training conversations** (LLaVA format: ``id``, ``image``,
  ``conversations`` from human / gpt) become SFT rows rather than Problem rows.

Images are copied or written to ``<out>/images/`` and rows name them relative to the output
JSONL, as the Problem contract asks.

    python -m geo.convert geoqa --questions test_questions.jsonl --answers test_answers.jsonl \\
        --image-root images/ --out data/geoqa_test
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from geo.images import ImageError, load_image
from redstar.choices import LETTERS, parse_choices
from redstar.dataio import atomic_open, read_rows, write_jsonl
from redstar.records import Problem, RowError

# G-LLaVA ``text`` -> (question, choices), the leading instruction dropped (redstar.choices
# reads and writes every Choices: block).
parse_geoqa_text = parse_choices


def _save_image(src: Any, base_dir: Path | None, out: Path, stem: str, where: str) -> str:
    """Copy a file image as is (no re-encoding) or write decoded bytes / arrays as PNG.
    Returns the path relative to ``out``."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    if isinstance(src, (str, Path)):
        path = Path(src) if Path(src).is_absolute() or base_dir is None else base_dir / src
        load_image(path, where=where)  # validate before copying: a corrupt file fails here, named
        rel = f"images/{stem}{path.suffix.lower() or '.png'}"
        shutil.copyfile(path, out / rel)
        return rel
    if hasattr(src, "shape"):  # numpy array from the pickle release
        from PIL import Image

        img = Image.fromarray(src)
    else:
        img = load_image(src, where=where)
    rel = f"images/{stem}.png"
    with atomic_open(out / rel, "wb") as f:
        img.save(f, format="PNG")
    return rel


def _problem(**kw) -> dict:
    return Problem.from_row({"domain": "geo", **kw}).to_row()


def convert_geoqa_jsonl(
    questions: str | Path, answers: str | Path, image_root: str | Path | None, out: str | Path, source: str = "geoqa"
) -> list[dict]:
    """G-LLaVA GeoQA JSONL pair -> Problem rows (answer = letter)."""
    out = Path(out)
    questions = Path(questions)
    root = Path(image_root) if image_root else questions.parent
    gold: dict[str, str] = {}
    for i, row in enumerate(read_rows(answers), 1):
        if "question_id" not in row or "text" not in row:
            raise RowError("answer row needs 'question_id' and 'text'", f"{answers}:{i}")
        gold[str(row["question_id"])] = str(row["text"]).strip()
    rows = []
    for i, row in enumerate(read_rows(questions), 1):
        where = f"{questions}:{i}"
        for key in ("question_id", "image", "text"):
            if key not in row:
                raise RowError(f"GeoQA question row is missing '{key}'", where)
        qid = str(row["question_id"])
        if qid not in gold:
            raise RowError(f"question {qid} has no answer in {answers}", where)
        question, choices = parse_geoqa_text(row["text"])
        letter = gold[qid]
        if choices and (letter not in LETTERS[: len(choices)]):
            raise RowError(f"answer {letter!r} is not one of the {len(choices)} choice letters", where)
        rel = _save_image(row["image"], root, out, f"{source}-{qid}", where)
        rows.append(
            _problem(
                id=f"{source}-{qid}",
                source=source,
                question=question,
                answer=letter,
                choices=choices,
                images=[rel],
                meta={"question_id": row["question_id"], "image": row["image"]},
            )
        )
    return rows


def convert_geoqa_pickle(
    path: str | Path, out: str | Path, allow_pickle: bool = False, source: str = "geoqa"
) -> list[dict]:
    """The original GeoQA ``*.pk`` release -> Problem rows. Refused unless ``allow_pickle``."""
    if not allow_pickle:
        raise RowError(
            f"{path}: GeoQA pickles run code when loaded; pass --allow-pickle only for a "
            "file from a source you trust (or use the G-LLaVA JSONL release)"
        )
    import pickle

    with open(path, "rb") as f:
        data = pickle.load(f)  # noqa: S301 - explicit opt-in above
    out = Path(out)
    rows = []
    for i, item in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or "image" not in item or "label" not in item:
            raise RowError("GeoQA pickle item needs 'image' and 'label'", where)
        qid = str(item.get("id", i))
        question = item.get("English_problem") or item.get("problem") or item.get("subject")
        if not question:
            raise RowError("GeoQA pickle item has no problem text", where)
        choices = [str(c) for c in (item.get("choices") or item.get("choice_nums") or [])] or None
        label = int(item["label"])
        if choices and not 0 <= label < len(choices):
            raise RowError(f"label {label} out of range for {len(choices)} choices", where)
        rel = _save_image(item["image"], None, out, f"{source}-{qid}", where)
        meta = {k: item[k] for k in ("manual_program", "formal_point", "numbers") if k in item}
        rows.append(
            _problem(
                id=f"{source}-{qid}",
                source=source,
                question=str(question).strip(),
                answer=LETTERS[label],
                choices=choices,
                images=[rel],
                meta=meta,
            )
        )
    return rows


def _g3k_row(row: dict, base_dir: Path | None, out: Path, where: str, source: str) -> dict:
    for key in ("problem", "answer", "choices"):
        if key not in row:
            raise RowError(f"Geometry3K row is missing '{key}'", where)
    pid = str(row.get("id", where.rsplit(":", 1)[-1]))
    images = row.get("images") or ([row["image"]] if row.get("image") else [])
    if not images:
        raise ImageError("Geometry3K row has no image", where)
    rels = [
        _save_image(img, base_dir, out, f"{source}-{pid}" + (f"-{k}" if k else ""), where)
        for k, img in enumerate(images)
    ]
    question = re.sub(r"\s*<image>\s*", " ", str(row["problem"])).strip()
    meta = {"ground_truth": row["ground_truth"]} if "ground_truth" in row else {}
    return _problem(
        id=f"{source}-{pid}",
        source=source,
        question=question,
        answer=str(row["answer"]).strip(),
        choices=[str(c) for c in row["choices"]],
        images=rels,
        meta=meta,
    )


def convert_geometry3k(path: str | Path, out: str | Path, source: str = "geometry3k") -> list[dict]:
    """Geometry3K rows (JSONL / Parquet / HF dir) or the original ``<split>/<n>/data.json`` tree."""
    path, out = Path(path), Path(out)
    tree = sorted(path.glob("*/data.json"), key=lambda p: (len(p.parent.name), p.parent.name)) if path.is_dir() else []
    if tree:
        rows = []
        for data_json in tree:
            d = json.loads(data_json.read_text())
            letter = d.get("answer")
            row = {
                "id": d.get("id", data_json.parent.name),
                "problem": d.get("problem_text", ""),
                "choices": d.get("choices", []),
                "answer": letter,
                "images": [str(data_json.parent / "img_diagram.png")],
            }
            rows.append(_g3k_row(row, None, out, str(data_json), source))
        return rows
    return [_g3k_row(row, path.parent, out, f"{path}:{i}", source) for i, row in enumerate(read_rows(path), 1)]


def convert_llava_sft(
    path: str | Path, image_root: str | Path | None, out: str | Path, source: str = "geo170k"
) -> list[dict]:
    """LLaVA-format conversations (G-LLaVA's Geo170K alignment / QA tuning JSON: ``id``,
    ``image``, ``conversations`` of ``{"from": "human" | "gpt", "value"}``) -> SFT rows
    (``messages`` with the ``<image>`` marker kept, ``images`` relative to ``out``)."""
    path, out = Path(path), Path(out)
    root = Path(image_root) if image_root else path.parent
    roles = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
    rows = []
    for i, row in enumerate(read_rows(path), 1):
        where = f"{path}:{i}" if path.suffix == ".jsonl" else f"{path}#{i}"
        conv = row.get("conversations")
        if not isinstance(conv, list) or not conv:
            raise RowError("LLaVA row needs a non-empty 'conversations' list", where)
        msgs = []
        for turn in conv:
            role = roles.get(str(turn.get("from", "")).lower())
            if role is None or not isinstance(turn.get("value"), str):
                raise RowError(f"conversation turn {turn!r:.80} needs 'from' (human/gpt) and a 'value' string", where)
            msgs.append({"role": role, "content": turn["value"]})
        if msgs[-1]["role"] != "assistant":
            raise RowError("the last conversation turn must be the assistant's ('gpt')", where)
        images = row.get("image") or []
        images = [images] if isinstance(images, str) else list(images)
        rels = [
            _save_image(img, root, out, f"{source}-{row.get('id', i)}" + (f"-{k}" if k else ""), where)
            for k, img in enumerate(images)
        ]
        rows.append({"messages": msgs, "images": rels})
    return rows


def write_problems(rows: Iterable[dict], out: str | Path) -> Path:
    target = Path(out) / "problems.jsonl"
    write_jsonl(target, rows)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m geo.convert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="source", required=True)
    g = sub.add_parser("geoqa", help="G-LLaVA GeoQA JSONL + PNG, or the pickle release with --allow-pickle")
    g.add_argument("--questions")
    g.add_argument("--answers")
    g.add_argument("--image-root", default=None)
    g.add_argument("--pickle", default=None, help="original GeoQA .pk file")
    g.add_argument("--allow-pickle", action="store_true", help="allow unpickling (runs code from the file)")
    g.add_argument("--out", required=True)
    t = sub.add_parser("geometry3k", help="Geometry3K rows or the original data.json tree")
    t.add_argument("--input", required=True)
    t.add_argument("--out", required=True)
    lv = sub.add_parser("llava-sft", help="LLaVA-format conversations (G-LLaVA Geo170K) -> SFT rows (sft.jsonl)")
    lv.add_argument("--input", required=True)
    lv.add_argument("--image-root", default=None)
    lv.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    if args.source == "llava-sft":
        try:
            rows = convert_llava_sft(args.input, args.image_root, args.out)
        except (RowError, FileNotFoundError) as e:
            print(f"geo.convert: error: {e}")
            return 2
        write_jsonl(Path(args.out) / "sft.jsonl", rows)
        print(f"wrote {len(rows)} SFT rows to {Path(args.out) / 'sft.jsonl'}")
        return 0
    try:
        if args.source == "geoqa" and args.pickle:
            rows = convert_geoqa_pickle(args.pickle, args.out, args.allow_pickle)
        elif args.source == "geoqa":
            if not (args.questions and args.answers):
                ap.error("geoqa needs --questions and --answers (or --pickle)")
            rows = convert_geoqa_jsonl(args.questions, args.answers, args.image_root, args.out)
        else:
            rows = convert_geometry3k(args.input, args.out)
    except (RowError, FileNotFoundError) as e:
        print(f"geo.convert: error: {e}")
        return 2
    print(f"wrote {len(rows)} problems to {write_problems(rows, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
