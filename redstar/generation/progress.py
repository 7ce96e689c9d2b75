"""Token-level progress for batched generation: a bar that moves while a batch decodes.

    progress = TokenProgress(rows_total=16 * 4, max_new_tokens=512, desc="generate (hf)")
    progress.start_batch(rows=8, pad_id=tok.pad_token_id, end_ids={tok.eos_token_id})
    model.generate(..., streamer=progress)     # put() is called once per decoding step
    progress.end_batch()
    progress.close()

The bar counts tokens against a budget of ``rows x max_new_tokens``: each decoding step
advances it by the tokens generated, and a sequence that ends early gives its unused budget
back at once, so the bar reaches its total exactly when the last sequence ends and its ETA is
an upper bound. The postfix shows finished sequences and the real decoding rate (tokens/s,
counting only generated tokens). ``transformers`` calls ``put`` with the prompt first (ignored)
and then each step's new token per row; a finished row receives the pad token.
"""

from __future__ import annotations

import time

from tqdm.auto import tqdm


class TokenProgress:
    """A ``transformers`` streamer (``put``/``end``) that drives one tqdm bar over many batches."""

    def __init__(self, rows_total: int, max_new_tokens: int, desc: str = "generate", disable: bool = False):
        self.max_new_tokens = max_new_tokens
        self.rows_total = rows_total
        self.bar = tqdm(total=rows_total * max_new_tokens, desc=desc, unit="tok", disable=disable, unit_scale=True)
        self.total = rows_total * max_new_tokens
        self.position = 0  # the bar's position (tracked here too: a disabled tqdm keeps none)
        self.tokens = 0  # real generated tokens, all batches
        self.rows_done = 0
        self.t0 = time.perf_counter()
        self._rows = 0
        self._active: list[bool] = []
        self._made: list[int] = []
        self._seen_prompt = False

    # ---------------------------------------------------------------- per batch

    def start_batch(self, rows: int, pad_id: int | None, end_ids: set[int], max_new_tokens: int | None = None):
        """Before ``generate``: ``rows`` sequences (batch x n), ``end_ids`` their end tokens."""
        self._rows = rows
        self._active = [True] * rows
        self._made = [0] * rows
        self._pad = pad_id
        self._ends = {t for t in end_ids if t is not None}
        self._limit = max_new_tokens or self.max_new_tokens
        self._seen_prompt = False

    def put(self, value) -> None:
        """One call with the prompt ids ([rows, prompt_len], skipped), then one per step with
        each row's new token ([rows] or [rows, 1])."""
        if not self._seen_prompt:
            self._seen_prompt = True
            return
        ids = value.reshape(-1).tolist()
        if len(ids) != self._rows:  # a shape this class does not know: count steps only
            ids = ids[: self._rows] + [None] * max(0, self._rows - len(ids))
        step_tokens, released, finished = 0, 0, 0
        for r, t in enumerate(ids):
            if not self._active[r]:
                continue
            if t is not None and t == self._pad and t not in self._ends and self._made[r] > 0:
                # a pad after real tokens: the row ended (its end token was pad-identical)
                self._active[r] = False
                released += self._limit - self._made[r]
                finished += 1
                continue
            self._made[r] += 1
            step_tokens += 1
            if (t is not None and t in self._ends) or self._made[r] >= self._limit:
                self._active[r] = False
                released += self._limit - self._made[r]
                finished += 1
        self.tokens += step_tokens
        self.rows_done += finished
        self._advance(step_tokens + released)

    def end(self) -> None:
        """``generate`` finished this batch (a stopping criterion may end rows early)."""

    def end_batch(self) -> None:
        """After ``generate``: rows still counted as running end here (their budget released)."""
        released = sum(self._limit - m for m, a in zip(self._made, self._active) if a)
        self.rows_done += sum(self._active)
        self._active = [False] * self._rows
        self._advance(released)

    # ---------------------------------------------------------------- display

    def _advance(self, k: int) -> None:
        self.position += k
        self.bar.update(k)
        self._postfix()

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / max(1e-9, time.perf_counter() - self.t0)

    def _postfix(self) -> None:
        self.bar.set_postfix_str(f"seq {self.rows_done}/{self.rows_total}, {self.tokens_per_second:.1f} tok/s")

    def close(self) -> None:
        self.bar.close()
