"""Collinear-style curators: several judges of a sample's correctness, combined by a rule, and
measured against the verifier's labels.

    judges = build_judges(recipe, backends)
    run_judges(samples, problems_by_id, judges, recipe)   # sample["scores"]["curator:<name>"] = 0/1
    accept = combine([1, 0, 1], "majority")               # True
    binary_metrics(pred, labels)                          # precision, recall, FPR, specificity, ...

Judges: an LLM with a prompt file that must answer JSON ``{"output": 0|1}`` (anything
unparseable counts as a reject: a curator's job is a low false-positive rate, dropping a good
sample is acceptable, passing a bad one is not); a reward-model score over a threshold (scores
from ``redstar rm score`` output, or a reward model run here); a stored column (the Collinear
set's ``correctness`` C1 / C2); the verifier itself. ``all`` gives the lowest FPR, ``majority``
trades some of it for recall, ``any`` maximises recall.
"""

from __future__ import annotations

import json
import re

from redstar.config import ConfigError
from redstar.dataio import read_rows

_JSON_OBJ = re.compile(r"\{[^{}]*\}")


def parse_verdict(text: str) -> int:
    """1 or 0 from a judge's reply: the last JSON object with an ``output`` key; else 0."""
    for raw in reversed(_JSON_OBJ.findall(text or "")):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and "output" in obj:
            v = obj["output"]
            if v in (1, True, "1"):
                return 1
            return 0
    return 0


def _truthy(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value > 0)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "correct", "c"):
        return 1
    if text in ("0", "false", "no", "incorrect", "wrong"):
        return 0
    return None


def _dig(obj, dotted: str):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def combine(votes: list[int], rule: str) -> bool:
    if not votes:
        return True
    if rule == "all":
        return all(votes)
    if rule == "any":
        return any(votes)
    return sum(votes) * 2 > len(votes)  # majority: strictly more than half


def binary_metrics(pred: list[int], labels: list[int]) -> dict:
    """Confusion counts and rates with the verifier label as truth (1 = correct sample).
    FPR = FP / (FP + TN): the share of wrong samples a curator lets through."""
    tp = sum(1 for p, y in zip(pred, labels) if p and y)
    fp = sum(1 for p, y in zip(pred, labels) if p and not y)
    tn = sum(1 for p, y in zip(pred, labels) if not p and not y)
    fn = sum(1 for p, y in zip(pred, labels) if not p and y)
    div = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    precision, recall = div(tp, tp + fp), div(tp, tp + fn)
    fpr = div(fp, fp + tn)
    return {
        "n": len(labels),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "accuracy": div(tp + tn, len(labels)),
        "precision": precision,
        "recall": recall,
        "f1": div(2 * tp, 2 * tp + fp + fn),
        "fpr": fpr,
        "specificity": None if fpr is None else round(1 - fpr, 4),
    }


class Judge:
    def __init__(self, spec, recipe, backends):
        self.spec, self.recipe, self.backends = spec, recipe, backends
        self.template = None
        self.scores: dict[str, float] | None = None
        if spec.kind == "llm":
            self.template = spec.prompt  # the text of prompt_file, read when the recipe loaded
            if self.template is None:
                raise ConfigError(
                    f"curator {spec.name!r}: prompt_file was not read: load the recipe with load_recipe or resolve_recipe"
                )
        if spec.kind == "rm" and spec.scores_file:
            path = spec.scores_file  # absolute once the recipe is loaded
            key = spec.column or "rm"
            self.scores = {}
            for i, row in enumerate(read_rows(path)):
                value = _dig(row, f"scores.{key}") if isinstance(row.get("scores"), dict) else None
                value = row.get("score") if value is None else value
                if "id" not in row or not isinstance(value, (int, float)):
                    raise ConfigError(
                        f"curator {spec.name!r}: {path}[row {i}] needs 'id' and a 'scores.{key}' (or 'score') number"
                    )
                self.scores[str(row["id"])] = float(value)

    def votes(self, samples: list[dict], problems: dict[str, dict], chunk_index: int) -> list[int | None]:
        spec = self.spec
        if spec.kind == "verifier":
            return [_truthy((s.get("verdict") or {}).get("correct")) for s in samples]
        if spec.kind == "column":
            if not spec.column:
                raise ConfigError(f"curator {spec.name!r}: kind 'column' needs 'column' (e.g. correctness.C1)")
            return [_truthy(_dig(problems[s["problem_id"]].get("meta") or {}, spec.column)) for s in samples]
        if spec.kind == "rm":
            key = spec.column or "rm"
            if self.scores is not None:
                vals = [self.scores.get(s["id"]) for s in samples]
            elif spec.backend.backend == "rm":
                from redstar.rm.score import RewardScorer

                scorer = RewardScorer(spec.backend.model, progress=False)
                vals = scorer.score(
                    [problems[s["problem_id"]]["question"] for s in samples], [s["response"] for s in samples]
                )
            else:
                vals = [(s.get("scores") or {}).get(key) for s in samples]
            for s, v in zip(samples, vals):
                if v is not None:
                    s["scores"][f"rm:{spec.name}"] = v
            return [None if v is None else int(v >= spec.threshold) for v in vals]
        # llm judge: one greedy reply per sample
        from data_recipes.sampling import generate

        msgs = []
        for s in samples:
            p = problems[s["problem_id"]]
            text = (
                self.template.replace("{problem}", p["question"])
                .replace("{ground_truth}", str(p.get("answer") or ""))
                .replace("{solution}", s["response"])
            )
            msgs.append([{"role": "user", "content": text}])
        # a judge's request id is the sample id, so replay files are keyed per sample
        fake = [{"id": s["id"], "images": []} for s in samples]
        outs = generate(
            self.backends.get(spec.backend),
            spec.backend,
            fake,
            msgs,
            [1] * len(samples),
            0.0,
            1.0,
            spec.max_new_tokens,
            seed=chunk_index,
        )
        return [parse_verdict(o[0] if o else "") for o in outs]


def run_judges(
    samples: list[dict], problems: dict[str, dict], judges: list[Judge], recipe, chunk_index: int = 0
) -> None:
    """Record each judge's vote and the combined decision in ``sample["scores"]``; a judge with
    no opinion on a sample (missing score) counts as a reject."""
    if not judges or not samples:
        return
    all_votes = [j.votes(samples, problems, chunk_index) for j in judges]
    for i, s in enumerate(samples):
        votes = [0 if v[i] is None else v[i] for v in all_votes]
        for j, v in zip(judges, votes):
            s["scores"][f"curator:{j.spec.name}"] = v
        s["scores"]["curator"] = int(combine(votes, recipe.curators.combine))


def curator_metrics(samples, judge_names: list[str]) -> dict:
    """Per judge and for the ensemble, against the verifier's labels (samples whose verdict is
    unknown are left out)."""
    labelled = [
        s
        for s in samples
        if (s.get("verdict") or {}).get("correct") is not None and "curator" in (s.get("scores") or {})
    ]
    labels = [int(bool(s["verdict"]["correct"])) for s in labelled]
    out = {name: binary_metrics([s["scores"][f"curator:{name}"] for s in labelled], labels) for name in judge_names}
    out["ensemble"] = binary_metrics([s["scores"]["curator"] for s in labelled], labels)
    return out
