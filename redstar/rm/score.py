"""Score (question, response) pairs with a trained reward model.

    scorer = RewardScorer("runs/rm/final", batch_size=8)
    rewards = scorer.score(questions, responses)                 # list[float], input order
    n = score_file("runs/rm/final", "samples.jsonl", "scored.jsonl", problems="problems.jsonl")

``score_file`` copies each Sample row to the output with ``scores[key] = reward`` added (key
``rm`` by default): the field curation's reward-threshold curator reads and the field
``redstar rm rmk`` and ``redstar eval``'s rm@k pick the best candidate by. Pairs are scored
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

    def __init__(self, model, tokenizer=None, batch_size: int = 8, max_len: int = 4096,
                 device: str | None = None, dtype: str | None = None, progress: bool = True):
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
            idx = order[start:start + self.batch_size]
            ids, mask = pad_batch([seqs[i] for i in idx], self.tokenizer.pad_token_id)  # (B, T)
            rewards = self.model(ids.to(self.device), mask.to(self.device)).cpu().tolist()  # (B,)
            for i, r in zip(idx, rewards):
                out[i] = float(r)
            bar.update(len(idx))
        bar.close()
        self.model.train(was_training)
        return out


def score_file(model, input_path, out_path, problems=None, key: str = "rm", batch_size: int = 8,
               max_len: int = 4096, device: str | None = None, dtype: str | None = None,
               skip_bad: bool = False, progress: bool = True) -> dict:
    """Score every Sample row of ``input_path`` and write them, with ``scores[key]``, to
    ``out_path`` (JSONL, or Parquet by extension). Returns counts for the caller to report."""
    from redstar.dataio import ReadStats, read_rows, write_rows
    from redstar.records import RowError, Sample
    from redstar.rm.data import load_questions

    questions = load_questions(problems) if problems else None
    stats = ReadStats()
    rows = list(read_rows(input_path, schema=Sample, skip_bad=skip_bad, stats=stats))
    qs = []
    for i, row in enumerate(rows):
        try:
            qs.append(question_of(row, questions))
        except RowError as e:
            raise RowError(f"{input_path}: row {i + 1}: {e}") from None
    scorer = RewardScorer(model, batch_size=batch_size, max_len=max_len, device=device, dtype=dtype,
                          progress=progress)
    rewards = scorer.score(qs, [r["response"] for r in rows])
    for row, r in zip(rows, rewards):
        row["scores"] = dict(row.get("scores") or {}, **{key: r})
    write_rows(out_path, rows)
    return {"scored": len(rows), "skipped": stats.skipped, "truncated": scorer.encoder.truncated}
