"""Sources: problem pools in their published shapes, mapped onto Problem rows.

    for problem, drop in iter_source(spec, recipe): ...   # drop = (reason, where) or None

A preset is a field mapping (Problem field -> source column) plus a small converter for what a
mapping cannot say: TACO's JSON-encoded ``input_output``, GeoQA's choices inside the question
text and its separate answers file, MetaMathQA's "The answer is: X" suffix, Collinear's
``correctness`` JSON. Gold answers missing from a row are extracted from its reference
solution (the last ``\\boxed{}``) with the shared verifier's extractor. A row that cannot be
mapped, or whose image file is missing, is dropped with a reason naming ``file[row i]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from redstar.choices import parse_choices
from redstar.dataio import ReadStats, iter_located, read_rows, where_with_id
from redstar.records import Problem, RowError

# Problem field -> source column (None: the converter fills it)
PRESETS: dict[str, dict[str, str]] = {
    "problem": {
        "id": "id",
        "question": "question",
        "answer": "answer",
        "solution": "solution",
        "source": "source",
        "domain": "domain",
        "choices": "choices",
        "images": "images",
        "tests": "tests",
        "difficulty": "difficulty",
        "meta": "meta",
    },
    # AI-MO/NuminaMath-CoT: source, problem, solution, messages
    "numina": {"question": "problem", "solution": "solution", "pool": "source"},
    # meta-math/MetaMathQA: type, query, original_question, response
    "metamath": {"question": "query", "solution": "response", "pool": "type"},
    # BAAI/TACO: question, solutions, starter_code, input_output, difficulty, source, ...
    "taco": {
        "question": "question",
        "tests": "input_output",
        "difficulty": "difficulty",
        "pool": "source",
        "starter_code": "starter_code",
    },
    # G-LLaVA GeoQA: question_id, image, text (question + "Choices:\nA:..."), answer letter
    "geoqa": {"id": "question_id", "question": "text", "images": "image", "answer": "answer"},
    # MATH: problem, level ("Level 5"), type, solution
    "math": {"question": "problem", "solution": "solution", "difficulty": "level", "pool": "type"},
    # Collinear curation set: problem, solution, source, R1-Distill-Qwen-32B, correctness
    "collinear": {
        "question": "problem",
        "solution": "solution",
        "pool": "source",
        "response": "R1-Distill-Qwen-32B",
        "correctness": "correctness",
    },
}

PRESET_DOMAIN = {"taco": "code", "geoqa": "geo"}
TACO_LEVELS = {"EASY": 3, "MEDIUM": 5, "MEDIUM_HARD": 6, "HARD": 7, "VERY_HARD": 9}
_METAMATH_ANSWER = re.compile(r"The answer is:?\s*(.+?)\s*$", re.S)


def _extract_gold(solution: str | None) -> str | None:
    if not solution:
        return None
    from redstar.verify import extract_answer

    return extract_answer(solution, kind="math")


def _level(value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if text.upper() in TACO_LEVELS:
        return float(TACO_LEVELS[text.upper()])
    m = re.search(r"-?\d+(\.\d+)?", text)  # "Level 5"
    return float(m.group()) if m else None


def _geoqa_answers(path: Path) -> dict[str, str]:
    """G-LLaVA ships the letters in a sibling test_answers.jsonl (question_id, text)."""
    sibling = path.with_name(path.name.replace("questions", "answers"))
    if sibling == path or not sibling.is_file():
        return {}
    return {str(r["question_id"]): str(r["text"]).strip() for r in read_rows(sibling)}


def map_row(
    row: dict,
    preset: str,
    mapping: dict,
    name: str,
    index: int,
    base: Path,
    answers: dict | None = None,
    require_answer: bool = True,
) -> dict:
    """One source row -> a checked Problem row (raises RowError with the reason)."""
    get = lambda key: row.get(mapping[key]) if key in mapping else None  # noqa: E731
    out: dict = {"meta": dict(get("meta") or {})}
    pid = get("id")
    out["id"] = (
        f"{name}:{pid}"
        if pid is not None and preset != "problem"
        else (str(pid) if pid is not None else f"{name}:{index}")
    )
    out["question"] = get("question")
    if not isinstance(out["question"], str) or not out["question"].strip():
        raise RowError(f"no question (column {mapping.get('question')!r})")
    out["solution"] = get("solution")
    out["answer"] = get("answer")
    out["source"] = name if preset != "problem" else (get("source") or name)
    out["domain"] = get("domain") or PRESET_DOMAIN.get(preset, "math")
    out["choices"] = get("choices")
    out["difficulty"] = _level(get("difficulty"))
    if get("pool") is not None:
        out["meta"]["pool"] = get("pool")
    images = get("images")
    images = [images] if isinstance(images, str) else list(images or [])
    out["images"] = [str((base / p).resolve()) if not Path(p).is_absolute() else p for p in images]
    tests = get("tests")
    if preset == "taco":
        try:
            tests = json.loads(tests) if isinstance(tests, str) else tests
        except json.JSONDecodeError as e:
            raise RowError(f"input_output is not valid JSON ({e.msg})") from None
        if get("starter_code"):
            out["meta"]["starter_code"] = get("starter_code")
    if tests is not None:
        if not isinstance(tests, dict):
            raise RowError("tests must be a mapping with 'inputs' and 'outputs'")
        tests = {k: v for k, v in tests.items() if k in ("inputs", "outputs", "fn_name") and v is not None}
    out["tests"] = tests
    if preset == "metamath" and not out["answer"] and isinstance(out["solution"], str):
        m = _METAMATH_ANSWER.search(out["solution"].rsplit("\n", 1)[-1])
        out["answer"] = m.group(1) if m else None
    if preset == "geoqa":
        out["choices"] = out["choices"] or parse_choices(out["question"])[1]
        if not out["answer"] and answers is not None:
            out["answer"] = answers.get(str(pid))
    if preset == "collinear":
        corr = get("correctness")
        if isinstance(corr, str):
            try:
                corr = json.loads(corr)
            except json.JSONDecodeError:
                raise RowError("correctness is not valid JSON") from None
        if corr is not None:
            out["meta"]["correctness"] = corr
        if isinstance(get("response"), str):
            out["meta"]["responses"] = [get("response")]
    if out["domain"] != "code" and not out["answer"]:
        out["answer"] = _extract_gold(out["solution"] if isinstance(out["solution"], str) else None)
    if not require_answer and out["domain"] != "code" and not out["answer"]:
        checked = Problem.from_row(dict(out, answer="?")).to_row()  # every other field checked
        return dict(checked, answer=None)
    return Problem.from_row(out).to_row()


def iter_source(spec, recipe) -> Iterator[tuple[dict | None, tuple[str, str] | None]]:
    """Yield ``(problem, None)`` for good rows and ``(None, (reason, where))`` for dropped ones."""
    if spec.preset not in PRESETS:
        from redstar.config import ConfigError

        raise ConfigError(f"source {spec.path!r}: unknown preset {spec.preset!r} (known: {', '.join(PRESETS)})")
    mapping = dict(PRESETS[spec.preset], **spec.fields)
    path = spec.path  # absolute once the recipe is loaded, or a hub id
    p = Path(path)
    local = p.exists()
    name = spec.name or (p.stem if local else spec.path)
    base = p.parent if p.is_file() else p
    answers = _geoqa_answers(p) if spec.preset == "geoqa" and p.is_file() else None
    stats = ReadStats()
    rows = iter_located(
        path if local else spec.path,
        split=spec.split,
        name=spec.config_name,
        skip_bad=recipe.run.skip_bad,
        stats=stats,
        streaming=spec.streaming and not local,
    )
    n_skipped = 0
    kept = 0
    for i, (loc, row) in enumerate(rows):
        while n_skipped < stats.skipped:  # malformed lines the reader skipped, in order
            yield None, ("malformed row", stats.skipped_where[min(n_skipped, len(stats.skipped_where) - 1)])
            n_skipped += 1
        if spec.limit is not None and kept >= spec.limit:
            break
        where = where_with_id(loc, row)  # path:line (id X), as every command writes it
        try:
            problem = map_row(row, spec.preset, mapping, name, i, base, answers, spec.require_answer)
            if spec.domain:
                problem["domain"] = spec.domain
        except RowError as e:
            if not recipe.run.skip_bad:
                raise RowError(str(e), where) from None
            yield None, ("malformed row", f"{where}: {e}")
            continue
        missing = [img for img in problem["images"] if not Path(img).is_file()]
        if missing:
            yield None, ("missing image", f"{loc} (id {problem['id']}): {missing[0]}")
            continue
        kept += 1
        yield problem, None
    while n_skipped < stats.skipped:
        yield None, ("malformed row", stats.skipped_where[min(n_skipped, len(stats.skipped_where) - 1)])
        n_skipped += 1
