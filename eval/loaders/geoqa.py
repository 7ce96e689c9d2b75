"""GeoQA test set (754 items) as G-LLaVA ships it: ``test_questions.jsonl`` rows
``question_id``, ``image`` ("test/12.png"), ``text`` (instruction, question, then
"Choices:\\nA:40°\\nB:60°...") and ``test_answers.jsonl`` rows ``question_id``, ``text``
(the letter). Images are looked up under ``image_root``, the questions file's folder, and its
``images/`` folder.

The original release is Python pickles; unpickling runs arbitrary code, so it is read only with
``allow_pickle=True`` (``--allow-pickle``). Category (angle / length / other) is inferred from
the choices (all in degrees: angle) and the wording (length, perimeter, radius...: length).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from eval.items import EvalItem, ItemError, LoadResult, check_letter, resolve_image
from eval.loaders.common import build_items, choice_item
from redstar.choices import ChoiceError, parse_choices
from redstar.config import ConfigError

_LENGTH_WORDS = re.compile(r"length|perimeter|radius|diameter|distance|height|width|side|长|周长|半径|距离|高", re.I)


def parse_question_text(text: str) -> tuple[str, list[str]]:
    """(question, choices) from a G-LLaVA prompt: drop the instruction before "Question:",
    split off the "Choices:" block, one "A:..." line per choice (strictly: an unreadable
    block is an error, not a question without choices)."""
    try:
        question, choices = parse_choices(text, strict=True)
    except ChoiceError as e:
        raise ItemError(str(e)) from None
    return question, choices or []


def geoqa_category(question: str, choices: list[str]) -> str:
    if all(c.strip().endswith(("°", "度")) for c in choices):
        return "angle"
    if _LENGTH_WORDS.search(question):
        return "length"
    return "other"


def _read_jsonl(path: Path, res: LoadResult) -> list[tuple[str, dict]]:
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not an object")
        except ValueError as e:
            res.read += 1
            res.skip(f"{path}:{lineno}", f"malformed JSON ({e})")
            continue
        rows.append((f"{path}:{lineno}", row))
    return rows


def _files(source: str) -> tuple[Path, Path]:
    path = Path(source).expanduser()
    if path.is_dir():
        q, a = path / "test_questions.jsonl", path / "test_answers.jsonl"
    elif path.is_file():
        q, a = path, path.with_name(path.name.replace("questions", "answers"))
    else:
        raise FileNotFoundError(f"{source}: no such file or directory (GeoQA is read from local files)")
    for f in (q, a):
        if not f.is_file() or q == a:
            raise FileNotFoundError(f"{f}: GeoQA needs test_questions.jsonl and test_answers.jsonl side by side")
    return q, a


def load_geoqa(
    source: str,
    split: str | None = None,
    subset: str | None = None,
    image_root: str | None = None,
    allow_pickle: bool = False,
    strict: bool = False,
) -> LoadResult:
    path = Path(source).expanduser()
    if path.is_file() and path.suffix in (".pk", ".pkl"):
        pickles = [path]
    elif path.is_dir() and not (path / "test_questions.jsonl").is_file():
        pickles = sorted(p for p in path.iterdir() if p.suffix in (".pk", ".pkl") and "test" in p.name)
    else:
        pickles = []
    if pickles:
        if not allow_pickle:
            raise ConfigError(
                f"{source}: the original GeoQA release is Python pickles, and reading a pickle "
                "runs code from the file; pass --allow-pickle if you trust it, or use the "
                "G-LLaVA test_questions.jsonl / test_answers.jsonl pair"
            )
        from eval.loaders.geoqa_pickle import load_geoqa_pickle

        res = load_geoqa_pickle(pickles[0], strict=strict)
        for it in res.items:  # a problem without a subject: inferred as for the G-LLaVA files
            it.category = it.category or [geoqa_category(it.question, it.choices or [])]
        return res
    res = LoadResult(strict=strict)
    qfile, afile = _files(source)
    answers: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    for where, row in _read_jsonl(afile, res):
        qid = str(row.get("question_id"))
        if qid in first_seen:  # two golds for one question: which is right cannot be guessed
            raise ConfigError(f"{where}: question_id {qid} repeats the answer row at {first_seen[qid]}")
        first_seen[qid] = where
        answers[qid] = row.get("text")
    roots = [Path(image_root)] if image_root else []
    roots += [qfile.parent, qfile.parent / "images"]

    def make(rid: str, row: dict) -> EvalItem:
        if "text" not in row or "image" not in row:
            raise ItemError("question row needs 'question_id', 'image' and 'text'")
        question, choices = parse_question_text(str(row["text"]))
        if rid not in answers:
            raise ItemError(f"no row in {afile.name}")
        letter = check_letter(answers[rid], choices)
        image = resolve_image(str(row["image"]), roots)
        category = [geoqa_category(question, choices)]
        return choice_item(rid, question, choices, letter, [image], category=category, meta={"image": row["image"]})

    rows = ((w, str(r.get("question_id")), r) for w, r in _read_jsonl(qfile, res))
    return build_items(rows, res, make)
