"""Grade responses and compute the numbers a report publishes.

    verdicts = grade_responses(items, responses, workers=4)        # {id: [Verdict, ...]}
    metrics = compute_metrics(items, responses, verdicts, scores)  # accuracy, pass@k, maj@k, rm@k, ...

Grading goes through ``redstar.verify`` (the same verifier curation and RL rewards use); each
distinct (extracted answer, gold) pair is graded once, and majority voting asks the verifier
only about answers it has not already graded apart. Every formula lives in ``redstar.metrics``.
"""

from __future__ import annotations

from collections import defaultdict

from eval.items import EvalItem
from redstar import metrics as M
from redstar.records import RowError

MIN_TASKS_PER_WORKER = 500


def round_to_precision(extracted: str | None, precision: int | None) -> str | None:
    """MathVista's float rule: ``str(round(float(prediction), precision))`` when the extracted
    answer is a plain number (no percent); anything else is returned unchanged."""
    if extracted is None or precision is None:
        return extracted
    from redstar.verify.normalize import normalize, parse_number

    num = parse_number(normalize(extracted))
    if num is None or num[1]:
        return extracted
    return str(round(float(num[0]), precision))


def _verify():
    try:
        from redstar import verify
    except ImportError as e:  # the verifier is part of the core; say so plainly if it is missing
        raise ImportError("scoring needs redstar.verify (grade, grade_batch, answers_equivalent)") from e
    return verify


def grade_responses(
    items: list[EvalItem],
    responses: dict[str, list[str]],
    workers: int = 1,
    progress: bool = True,
    fallback: bool = False,
) -> dict[str, list]:
    """``{item id: [Verdict per response]}``.

    A math verdict is a function of (extracted answer, gold): ``verify.grade`` extracts with
    ``extract_answer`` and compares with the gold. So responses are extracted here (cheap, linear)
    and one representative response per distinct (extracted answer, gold) is graded; its verdict
    is shared. Ten samples of one problem usually hold two or three distinct answers, which is
    what makes 10,000 long responses score in seconds. Choice items are graded one by one.
    A stated answer is required; ``fallback=True`` adds the verifier's guarded last-number
    fallback, never for a truncated response (``finish_reason`` "length"), since the last number
    of a cut-off chain of thought is wherever the cut fell. Each math item's question reaches the
    grader, so an answer that only restates the question's expression scores 0. An item with
    ``precision`` has its extracted number rounded first (MathVista).
    """
    from redstar.generation import is_truncated

    verify = _verify()
    tasks: list[dict] = []
    index: dict[tuple, int] = {}
    slots: dict[str, list[tuple[int, str | None]]] = {}
    for it in items:
        ids = []
        for r in responses[it.id]:
            graded = r
            use_fallback = fallback and not is_truncated(r)
            if it.kind == "math":
                extracted = verify.extract_answer(r, fallback=use_fallback)
                if it.precision is not None and extracted is not None:
                    rounded = round_to_precision(extracted, it.precision)
                    if rounded != extracted:  # grade the rounded number, not the raw response
                        extracted, graded = rounded, f"\\boxed{{{rounded}}}"
                key = ("math", extracted, it.answer, it.question) if extracted is not None else ("none",)
            else:
                extracted, key = None, (it.kind, str(r), it.answer, tuple(it.choices or ()), use_fallback)
            if key not in index:
                index[key] = len(tasks)
                tasks.append(
                    {
                        "response": str(graded),
                        "gold": it.answer,
                        "kind": it.kind,
                        "choices": it.choices,
                        "fallback": use_fallback,
                        "question": it.question if it.kind == "math" else None,
                    }
                )
            ids.append((index[key], extracted))
        slots[it.id] = ids
    # a process pool (forkserver, sympy imported per worker) costs seconds to start: worth it only
    # for many distinct pairs (on 2 shared cores, 587 pairs graded faster in one process)
    workers = max(1, min(workers, len(tasks) // MIN_TASKS_PER_WORKER))
    verdicts = verify.grade_batch(tasks, workers=workers, progress=progress)
    # for benchmarks and logs: distinct pairs graded, processes used
    grade_responses.last_graded, grade_responses.last_workers = len(tasks), workers
    out = {}
    for iid, js in slots.items():
        row = []
        for j, extracted in js:
            v = verdicts[j]
            # shared verdict, this response's own extracted span (identical by construction)
            row.append(v if extracted is None or v.extracted == extracted else type(v)(v.correct, extracted, v.reason))
        out[iid] = row
    return out


def _vote_equivalence(answers: list[list[str | None]], correct: list[list[bool]]):
    """One equivalence function per problem for maj@k. Two answers graded differently against
    the same gold cannot be equal; two answers both graded correct are both the gold answer.
    Only wrong-vs-wrong pairs need the verifier, and those are memoised across problems."""
    from redstar.metrics import answer_key

    verify = _verify()
    memo: dict[tuple[str, str], bool] = {}

    def make(ans: list[str | None], cor: list[bool]):
        graded = {answer_key(a): c for a, c in zip(ans, cor) if a is not None}

        def eq(a: str, b: str) -> bool:
            ca, cb = graded.get(a), graded.get(b)
            if ca is not None and cb is not None:
                if ca != cb:
                    return False
                if ca:
                    return True
            key = (a, b) if a <= b else (b, a)
            if key not in memo:
                memo[key] = verify.answers_equivalent(a, b)
            return memo[key]

        return eq

    return [make(a, c) for a, c in zip(answers, correct)]


def match_responses(items: list[EvalItem], responses: dict[str, list[str]], source: str) -> list[str]:
    """Check every item has responses; returns the response ids that match no item (ignored)."""
    missing = [it.id for it in items if it.id not in responses]
    if missing:
        raise RowError(
            f"no responses for {len(missing)} of {len(items)} items "
            f"(first ids: {', '.join(missing[:5])}); ids must match the benchmark's item ids",
            source,
        )
    known = {it.id for it in items}
    return [k for k in responses if k not in known]


def _words(text: str) -> int:
    return len(text.split())


def compute_metrics(
    items: list[EvalItem],
    responses: dict[str, list[str]],
    verdicts: dict[str, list],
    scores: dict[str, list[float] | None] | None = None,
    rm_seeds: int = 100,
    seed: int = 0,
) -> dict:
    """The metrics block of metrics.json (fractions in [0, 1])."""
    correct = [[bool(v.correct) for v in verdicts[it.id]] for it in items]
    answers = [[v.extracted for v in verdicts[it.id]] for it in items]
    n_per = [len(c) for c in correct]
    n = min(n_per) if n_per else 0
    out: dict = {"n_items": len(items), "n_samples": n, "accuracy": M.mean_pass1(correct)}
    # AIME / AMC are quoted as counts (e.g. 14/30): the expected number of items solved
    out["n_correct"] = round(out["accuracy"] * len(items), 3)
    if n_per and max(n_per) != n:
        out["n_samples_max"] = max(n_per)
    if n > 1:
        for k in M.report_ks(n):
            out[f"pass@{k}"] = M.mean_pass_at_k(correct, k)
        equivalence = _vote_equivalence(answers, correct)
        for k in M.report_ks(n)[1:]:
            out[f"maj@{k}"] = M.maj_at_k(answers, correct, k, equivalence)
    if scores and items and all(scores.get(it.id) is not None for it in items) and n > 1:
        s = [scores[it.id] for it in items]
        for k in M.report_ks(n)[1:]:
            out[f"rm@{k}"] = M.rm_at_k(s, correct, k, seeds=rm_seeds, seed=seed)
        out["rm_seeds"] = rm_seeds
    out.update(truncation(items, responses))
    all_answers = [a for row in answers for a in row]
    out["no_answer_rate"] = sum(a is None for a in all_answers) / len(all_answers) if all_answers else 0.0
    lengths = [_words(r) for it in items for r in responses[it.id]]
    out["mean_response_words"] = sum(lengths) / len(lengths) if lengths else 0.0
    out["by_category"] = by_category(items, correct)
    return out


def truncation(items: list[EvalItem], responses: dict[str, list[str]]) -> dict:
    """How many responses hit the token limit: ``truncation_rate`` over responses whose finish
    reason is known (None when no backend said), and how many were known."""
    from redstar.generation import finish_reason

    reasons = [finish_reason(r) for it in items for r in responses[it.id]]
    known = [r for r in reasons if r is not None]
    return {
        "truncation_rate": (sum(r == "length" for r in known) / len(known)) if known else None,
        "n_truncated": sum(r == "length" for r in known),
        "n_finish_known": len(known),
    }


def official_metrics(items: list[EvalItem], verdicts: dict[str, list]) -> dict:
    """Accuracy (mean pass@1), expected count and pass@k under another scorer's verdicts."""
    correct = [[bool(v.correct) for v in verdicts[it.id]] for it in items]
    n = min((len(c) for c in correct), default=0)
    out = {"accuracy": M.mean_pass1(correct)}
    out["n_correct"] = round(out["accuracy"] * len(items), 3)
    if n > 1:
        for k in M.report_ks(n):
            out[f"pass@{k}"] = M.mean_pass_at_k(correct, k)
    out["by_category"] = by_category(items, correct)
    return out


def differing_items(items: list[EvalItem], a: dict[str, list], b: dict[str, list]) -> list[str]:
    """Ids of items where two scorers disagree on at least one response."""
    return [it.id for it in items if [bool(v.correct) for v in a[it.id]] != [bool(v.correct) for v in b[it.id]]]


def by_category(items: list[EvalItem], correct: list[list[bool]]) -> dict[str, dict]:
    """Mean pass@1 per category label (an item with several labels, e.g. MathVista skills,
    counts in each)."""
    groups: dict[str, list[list[bool]]] = defaultdict(list)
    for it, c in zip(items, correct):
        for cat in it.category:
            groups[cat].append(c)
    return {cat: {"n": len(cs), "accuracy": M.mean_pass1(cs)} for cat, cs in sorted(groups.items())}


def length_accuracy(
    items: list[EvalItem], responses: dict[str, list[str]], verdicts: dict[str, list], bins: int = 8
) -> list[dict]:
    """Accuracy of responses grouped into equal-count bins by length in words (a plot of how
    accuracy falls, or not, as responses get longer)."""
    pairs = sorted((_words(r), bool(v.correct)) for it in items for r, v in zip(responses[it.id], verdicts[it.id]))
    if not pairs:
        return []
    bins = max(1, min(bins, len(pairs)))
    out = []
    for b in range(bins):
        chunk = pairs[b * len(pairs) // bins : (b + 1) * len(pairs) // bins]
        if chunk:
            out.append(
                {
                    "min_words": chunk[0][0],
                    "max_words": chunk[-1][0],
                    "n": len(chunk),
                    "accuracy": sum(c for _, c in chunk) / len(chunk),
                }
            )
    return out


def result_rows(
    items: list[EvalItem],
    prompts: dict[str, list[dict]] | None,
    responses: dict[str, list[str]],
    verdicts: dict[str, list],
    scores: dict[str, list[float] | None] | None = None,
) -> list[dict]:
    """One results.jsonl row per item: what was asked, answered, extracted and decided."""
    from redstar.generation import finish_reason

    rows = []
    for it in items:
        vs = verdicts[it.id]
        row = {
            "id": it.id,
            "prompt": (prompts or {}).get(it.id),
            "images": it.image_refs(),
            "gold": it.answer,
            "kind": it.kind,
            "choices": it.choices,
            "category": it.category,
            "responses": [str(r) for r in responses[it.id]],
            "finish_reasons": [finish_reason(r) for r in responses[it.id]],
            "extracted": [v.extracted for v in vs],
            "correct": [bool(v.correct) for v in vs],
            "reasons": [v.reason for v in vs],
        }
        if scores and scores.get(it.id) is not None:
            row["scores"] = scores[it.id]
        rows.append(row)
    return rows
