"""Score (question, response) pairs with a trained reward model.

    scorer = RewardScorer("runs/rm/final", batch_size=8)
    rewards = scorer.score(questions, responses)                 # list[float], input order
    n = score_file("runs/rm/final", "samples.jsonl", "scored.jsonl", problems="problems.jsonl")

``score_file`` copies each Sample row to the output with ``scores[key] = reward`` added (key
``rm`` by default): the field curation's reward-threshold curator reads and ``redstar rm rmk``
ranks by. Response-list rows (``{"id", "responses": [...]}``, what ``redstar eval
--responses`` reads) get ``scores``: one reward per response, which gives eval its rm@k. Pairs are scored
longest-first in batches (less padding, and an out-of-memory error shows up on the first
batch rather than the last), then put back in input order; the output is written atomically.
"""

from __future__ import annotations

import math

import torch

from redstar.rm.data import PairEncoder, pad_batch, question_of


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class RewardScorer:
    """A loaded reward model plus its encoder; ``score`` is batched and keeps input order."""

    def __init__(
        self,
        model,
        tokenizer=None,
        batch_size: int = 8,
        max_len: int = 4096,
        device: str | None = None,
        dtype: str | None = None,
        progress: bool = True,
    ):
        from redstar.rm.model import RewardModel

        self.device = device or default_device()
        if isinstance(model, RewardModel):
            if tokenizer is None:
                raise ValueError("a RewardModel object needs its tokenizer")
            self.model, self.tokenizer = model.to(self.device), tokenizer
        else:
            dtype = dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")
            self.model, self.tokenizer = RewardModel.from_pretrained(model, dtype=dtype, device=self.device)
        self.encoder = PairEncoder(self.tokenizer, max_len=max_len)
        self.batch_size = batch_size
        self.progress = progress

    @torch.no_grad()
    def score(self, questions: list[str], responses: list[str]) -> list[float]:
        from tqdm.auto import tqdm

        if len(questions) != len(responses):
            raise ValueError(f"{len(questions)} questions but {len(responses)} responses")
        was_training = self.model.training
        self.model.eval()
        seqs = [self.encoder(q, r) for q, r in zip(questions, responses)]
        order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
        out = [math.nan] * len(seqs)
        bar = tqdm(total=len(seqs), desc="rm score", unit="resp", disable=not self.progress)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            ids, mask = pad_batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)  # (B, T)
            rewards = self.model(ids.to(self.device), mask.to(self.device)).cpu().tolist()  # (B,)
            for i, r in zip(idx, rewards):
                out[i] = float(r)
            bar.update(len(idx))
        bar.close()
        self.model.train(was_training)
        return out


def score_file(
    model,
    input_path,
    out_path,
    problems=None,
    key: str = "rm",
    batch_size: int = 8,
    max_len: int = 4096,
    device: str | None = None,
    dtype: str | None = None,
    skip_bad: bool = False,
    progress: bool = True,
) -> dict:
    """Score every row of ``input_path`` and write them to ``out_path`` (JSONL, or Parquet by
    extension). Two row formats, told apart by their fields:

    - Sample rows (``problem_id``, ``response``): gain ``scores[key] = reward``;
    - response-list rows (``id``, ``responses: [...]``, as ``redstar eval --responses`` reads
      them): gain ``scores = [reward per response]``, which gives eval its rm@k.

    Returns counts for the caller to report."""
    from redstar.dataio import ReadStats, iter_located, read_rows, write_rows
    from redstar.records import RowError, Sample
    from redstar.rm.data import load_questions

    questions = load_questions(problems) if problems else None
    stats = ReadStats()
    first = next(iter(read_rows(input_path, skip_bad=True)), None)
    listed = first is not None and isinstance(first.get("responses"), list)
    # Sample rows are checked as read, so a bad one is reported as file:line
    located = iter_located(input_path, schema=None if listed else Sample, skip_bad=skip_bad, stats=stats)
    qs, rs, owner = [], [], []  # one entry per response; owner = index of its row
    kept = []
    for where, row in located:
        try:
            if listed:
                if not isinstance(row.get("responses"), list) or not all(isinstance(r, str) for r in row["responses"]):
                    raise RowError("a response-list row needs 'responses': a list of strings")
                responses = row["responses"]
            else:
                responses = [row["response"]]
            q = question_of(row, questions)
        except RowError as e:
            if not skip_bad:
                raise RowError(str(e), where) from None
            stats.skip(where, str(e))
            continue
        kept.append(row)
        for r in responses:
            qs.append(q)
            rs.append(r)
            owner.append(len(kept) - 1)
    scorer = RewardScorer(model, batch_size=batch_size, max_len=max_len, device=device, dtype=dtype, progress=progress)
    rewards = scorer.score(qs, rs)
    if listed:
        per_row: list[list[float]] = [[] for _ in kept]
        for o, r in zip(owner, rewards):
            per_row[o].append(r)
        for row, s in zip(kept, per_row):
            row["scores"] = s
    else:
        for row, r in zip(kept, rewards):
            row["scores"] = dict(row.get("scores") or {}, **{key: r})
    write_rows(out_path, kept)
    return {
        "rows": len(kept),
        "scored": len(rewards),
        "skipped": stats.skipped,
        "truncated": scorer.encoder.truncated,
        "format": "responses" if listed else "samples",
    }
