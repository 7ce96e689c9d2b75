"""Grade many items across processes, in order, with a progress bar.

Items are dicts with ``response``, ``gold``, optional ``kind`` (default math), ``choices``,
``tests``, ``timeout`` (overrides the batch timeout for that item), ``fallback`` (the
last-number fallback of ``extract_answer``; default off), ``question`` (the problem text: an
answer that only restates it scores 0) and ``sandbox`` (where code runs:
bwrap, none or a SandboxFusion address; default bwrap). Work is sent in chunks
to a ``forkserver`` process pool (no fork of a threaded parent, so it is safe to call from a
threaded server); each worker keeps its own sympy helper. Every item gets a Verdict with a
reason, including a malformed item ("bad item: ...").
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from redstar.records import Verdict

CHUNK = 16


def grade_item(item, timeout: float = 5.0) -> Verdict:
    """Grade one item dict; a malformed item is a failed Verdict, not an exception."""
    from redstar.verify.grading import grade

    if not isinstance(item, dict):
        return Verdict(False, None, f"bad item: expected a mapping, got {type(item).__name__}")
    response = item.get("response")
    if not isinstance(response, str):
        return Verdict(False, None, "bad item: 'response' must be a string")
    gold = item.get("gold")
    return grade(
        response,
        "" if gold is None else str(gold),
        kind=item.get("kind") or "math",
        choices=item.get("choices"),
        tests=item.get("tests"),
        timeout=float(item.get("timeout") or timeout),
        fallback=bool(item.get("fallback", False)),
        sandbox=item.get("sandbox") or "bwrap",
        question=item.get("question") if isinstance(item.get("question"), str) else None,
    )


def _grade_chunk(start: int, items: list, timeout: float) -> tuple[int, list[tuple]]:
    out = []
    for item in items:
        v = grade_item(item, timeout)
        out.append((v.correct, v.extracted, v.reason))
    return start, out


def grade_batch(items: list[dict], workers: int = 1, progress: bool = True, timeout: float = 5.0) -> list[Verdict]:
    from tqdm import tqdm

    items = list(items)
    results: list[Verdict | None] = [None] * len(items)
    bar = tqdm(total=len(items), desc="verify", unit="item", disable=not progress, mininterval=0.5)
    if workers <= 1 or len(items) <= CHUNK:
        for i, item in enumerate(items):
            results[i] = grade_item(item, timeout)
            bar.update(1)
        bar.close()
        return results  # type: ignore[return-value]
    ctx = mp.get_context("forkserver")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_grade_chunk, s, items[s : s + CHUNK], timeout) for s in range(0, len(items), CHUNK)]
            for fut in as_completed(futures):
                start, verdicts = fut.result()
                for k, v in enumerate(verdicts):
                    results[start + k] = Verdict(*v)
                bar.update(len(verdicts))
    except BrokenProcessPool:
        pass  # a worker died (killed from outside): grade what is left here
    for i, v in enumerate(results):
        if v is None:
            results[i] = grade_item(items[i], timeout)
            bar.update(1)
    bar.close()
    return results  # type: ignore[return-value]
