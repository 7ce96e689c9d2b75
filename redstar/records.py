"""The rows every stage exchanges (docs/data_contracts.md describes every field).

Rows travel as plain dicts (JSONL / Parquet / HF datasets carry the same columns); these
dataclasses are the schema: ``Problem.from_row(d)`` checks a dict and fills defaults,
``.to_row()`` gives the dict back. A wrong row raises ``RowError`` naming the field.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DOMAINS = ("math", "code", "geo")


class RowError(ValueError):
    """A row does not match its schema; ``where`` is 'file:line' when known."""

    def __init__(self, message: str, where: str | None = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


def _require(row: dict, name: str, kind: str, types: tuple) -> Any:
    if name not in row:
        raise RowError(f"{kind} row is missing field '{name}'")
    value = row[name]
    if not isinstance(value, types):
        raise RowError(
            f"{kind} field '{name}' must be {'/'.join(t.__name__ for t in types)}, got {type(value).__name__}"
        )
    return value


def _messages(value: Any, kind: str, name: str) -> list[dict]:
    if not isinstance(value, list) or not value:
        raise RowError(f"{kind} field '{name}' must be a non-empty list of chat messages")
    for i, m in enumerate(value):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise RowError(f"{kind} field '{name}[{i}]' must be a message with 'role' and 'content'")
        if m["role"] not in ("system", "user", "assistant", "tool"):
            raise RowError(f"{kind} field '{name}[{i}]' has unknown role {m['role']!r}")
    return value


def check_code_tests(tests: Any, who: str) -> dict:
    """``tests`` of a code row: ``{'inputs': [...], 'outputs': [...]}`` of equal length, else a
    RowError that starts with ``who`` (the row's kind and id)."""
    if (
        not isinstance(tests, dict)
        or not isinstance(tests.get("inputs"), list)
        or not isinstance(tests.get("outputs"), list)
    ):
        raise RowError(f"{who} needs tests {{'inputs': [...], 'outputs': [...]}}")
    if len(tests["inputs"]) != len(tests["outputs"]):
        raise RowError(f"{who}: tests have {len(tests['inputs'])} inputs but {len(tests['outputs'])} outputs")
    return tests


class _Row:
    def to_row(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Problem(_Row):
    id: str
    question: str
    answer: str | None = None
    source: str = ""
    domain: str = "math"
    solution: str | None = None
    choices: list[str] | None = None
    images: list[str] = field(default_factory=list)
    tests: dict | None = None
    difficulty: float | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> Problem:
        pid = _require(row, "id", "Problem", (str, int))
        question = _require(row, "question", "Problem", (str,))
        domain = row.get("domain") or "math"
        if domain not in DOMAINS:
            raise RowError(f"Problem field 'domain' must be one of {DOMAINS}, got {domain!r}")
        answer = row.get("answer")
        if domain != "code" and (answer is None or str(answer).strip() == ""):
            raise RowError(f"Problem {pid!r} has an empty answer")
        tests = row.get("tests")
        if domain == "code":
            check_code_tests(tests, f"code Problem {pid!r}")
        choices = row.get("choices")
        if choices is not None and not isinstance(choices, list):
            raise RowError(f"Problem {pid!r}: 'choices' must be a list or null")
        difficulty = row.get("difficulty")
        if difficulty is not None and not isinstance(difficulty, (int, float)):
            raise RowError(f"Problem {pid!r}: 'difficulty' must be a number or null")
        return cls(
            id=str(pid),
            question=question,
            answer=None if answer is None else str(answer),
            source=str(row.get("source") or ""),
            domain=domain,
            solution=row.get("solution"),
            choices=[str(c) for c in choices] if choices is not None else None,
            images=list(row.get("images") or []),
            tests=tests,
            difficulty=difficulty,
            meta=dict(row.get("meta") or {}),
        )


@dataclass
class Verdict(_Row):
    correct: bool
    extracted: str | None
    reason: str


@dataclass
class Sample(_Row):
    problem_id: str
    response: str
    model: str = ""
    verdict: dict | None = None
    filters: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> Sample:
        pid = _require(row, "problem_id", "Sample", (str, int))
        response = _require(row, "response", "Sample", (str,))
        verdict = row.get("verdict")
        if verdict is not None and (not isinstance(verdict, dict) or "correct" not in verdict):
            raise RowError("Sample field 'verdict' must be a mapping with 'correct'")
        return cls(
            problem_id=str(pid),
            response=response,
            model=str(row.get("model") or ""),
            verdict=verdict,
            filters=dict(row.get("filters") or {}),
            scores=dict(row.get("scores") or {}),
        )


@dataclass
class SFTRow(_Row):
    messages: list[dict]
    images: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict) -> SFTRow:
        messages = _messages(row.get("messages"), "SFT", "messages")
        if messages[-1]["role"] != "assistant":
            raise RowError("SFT row: the last message must be the assistant's (the target)")
        return cls(messages=messages, images=list(row.get("images") or []))


@dataclass
class PreferenceRow(_Row):
    prompt: list[dict]
    chosen: list[dict]
    rejected: list[dict]
    images: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict) -> PreferenceRow:
        prompt = _messages(row.get("prompt"), "Preference", "prompt")
        chosen = _messages(row.get("chosen"), "Preference", "chosen")
        rejected = _messages(row.get("rejected"), "Preference", "rejected")
        for name, turn in (("chosen", chosen), ("rejected", rejected)):
            if turn[-1]["role"] != "assistant":
                raise RowError(f"Preference row: '{name}' must end with an assistant message")
        return cls(prompt=prompt, chosen=chosen, rejected=rejected, images=list(row.get("images") or []))


@dataclass
class RLPromptRow(_Row):
    prompt: list[dict]
    label: str
    images: list[str] = field(default_factory=list)
    datasource: str = ""

    @classmethod
    def from_row(cls, row: dict) -> RLPromptRow:
        prompt = _messages(row.get("prompt"), "RL prompt", "prompt")
        label = _require(row, "label", "RL prompt", (str, dict))
        return cls(
            prompt=prompt,
            label=label,
            images=list(row.get("images") or []),
            datasource=str(row.get("datasource") or ""),
        )
