"""Reward-model training data from curation samples, and the encoding every RM call shares.

    questions = load_questions("runs/math/problems.jsonl")
    stats = GroupStats()
    groups = build_groups(read_rows("runs/math/samples.jsonl", schema=Sample), questions,
                          n=6, sort_by=None, seed=0, stats=stats)
    batch = GroupCollator(PairEncoder(tok, max_len=4096))(groups[:4])

AceMath trains its reward model on 6 responses per problem, as balanced as the verifier labels
allow between correct and incorrect ones, and drops problems whose responses are all correct or
all wrong: they hold no (positive, negative) pair, so the Bradley-Terry loss learns nothing
from them. The optional score-sorted selection takes the top-k positives and the bottom-k
negatives by a reference score already on the samples (``scores[KEY]``, e.g. an earlier reward
model): AceMath draws from the top-14 positives and bottom-14 negatives of Qwen2.5-Math-RM.

A (question, response) pair is encoded with the tokenizer's chat template (user turn, assistant
turn), exactly as the policy saw it. Too long a pair keeps the start of the prompt (at most half
the budget) and the *end* of the response: the reward is read at the last token, and the final
answer lives there.

Training reads the groups from the token cache (``open_rm_cache``, ``redstar.train.token_cache``):
one process per node groups the samples and tokenises every picked pair once (``data.num_proc``
processes), the other ranks wait, and every rank, re-run and sweep cell with the same samples,
problems, tokenizer and grouping settings maps the flat arrays. ``RMGroups.accounting`` places
every sample read: malformed, without a verdict, duplicate, in an all-correct or all-wrong
problem, not picked, or used (``truncated`` of them cut to max_len).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from redstar.records import RowError


@dataclass
class Group:
    """The responses to one problem picked for training; ``labels[j]`` is True if correct."""

    problem_id: str
    question: str
    responses: list[str]
    labels: list[bool]


@dataclass
class GroupStats:
    problems: int = 0
    groups: int = 0
    responses: int = 0
    positives: int = 0
    dropped_all_correct: int = 0
    dropped_all_wrong: int = 0
    skipped_no_verdict: int = 0
    duplicates: int = 0
    # samples, where the fields above count problems: every read sample is in exactly one of
    # skipped_no_verdict, duplicates, these three, or a group's responses
    samples_all_correct: int = 0
    samples_all_wrong: int = 0
    not_picked: int = 0

    def summary(self) -> str:
        return (
            f"{self.problems} problems -> {self.groups} groups, {self.responses} responses "
            f"({self.positives} correct); dropped {self.dropped_all_correct} all-correct and "
            f"{self.dropped_all_wrong} all-wrong problems; skipped {self.skipped_no_verdict} samples "
            f"without a verdict and {self.duplicates} duplicate responses"
        )


# ----------------------------------------------------------------------------- questions


def load_questions(problems_path) -> dict[str, str]:
    """problem id -> question text, from a Problem file (JSONL / JSON / Parquet / dir)."""
    from redstar.dataio import read_rows
    from redstar.records import Problem

    return {str(r["id"]): r["question"] for r in read_rows(problems_path, schema=Problem)}


def _prompt_text(prompt) -> str | None:
    """A stored prompt as text: a string as is; chat messages -> the last user turn's text."""
    if isinstance(prompt, str):
        return prompt or None
    if isinstance(prompt, list):
        for m in reversed(prompt):
            if isinstance(m, dict) and m.get("role") == "user":
                c = m.get("content")
                if isinstance(c, list):  # multimodal parts: keep the text ones
                    c = "".join(p.get("text", "") for p in c if isinstance(p, dict) and p.get("type") == "text")
                return c if isinstance(c, str) and c else None
    return None


def question_of(row: dict, questions: dict[str, str] | None) -> str:
    """The question a row answers: from the problems mapping (by ``problem_id``, or ``id`` for
    eval response rows), else the row's own ``question`` or ``prompt`` (text or chat messages)."""
    pid = str(row.get("problem_id", row.get("id")))
    if questions and pid in questions:
        return questions[pid]
    for field_name in ("question", "prompt"):
        text = _prompt_text(row.get(field_name))
        if text:
            return text
    where = "the problems file" if questions else "the row (no problems file given)"
    raise RowError(f"problem {pid!r}: no question for it in {where}")


# ----------------------------------------------------------------------------- grouping


def balanced_split(n_pos: int, n_neg: int, n: int) -> tuple[int, int]:
    """How many (positives, negatives) a group of at most ``n`` takes: half and half where
    both kinds are plentiful, the rest filled from the other kind where one runs short."""
    size = min(n, n_pos + n_neg)
    k = min(n_pos, size // 2 if n_pos >= n_neg else (size + 1) // 2)
    m = min(n_neg, size - k)
    k = min(n_pos, size - m)
    return k, m


def _ref_score(row: dict, key: str) -> float:
    value = (row.get("scores") or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RowError(
            f"sample for problem {row['problem_id']!r} has no numeric scores[{key!r}] to sort by (got {value!r})"
        )
    return float(value)


def build_groups(
    samples: Iterable[dict],
    questions: dict[str, str] | None = None,
    n: int = 6,
    sort_by: str | None = None,
    sort_pool: int = 14,
    seed: int = 0,
    stats: GroupStats | None = None,
) -> list[Group]:
    """One group per problem with at least one correct and one incorrect response.

    ``samples``: Sample rows (dicts) with ``verdict.correct``; rows without a verdict are
    skipped and counted. Without ``sort_by`` the k positives and n-k negatives are a seeded
    random choice; with ``sort_by`` (a key of ``scores``) they are drawn from the
    ``sort_pool`` highest-scored positives and lowest-scored negatives. ``samples`` may also
    be (where, row) pairs ('file:line'), so a row without a question is reported by location.
    """
    if n < 2:
        raise ValueError(f"a group needs at least 2 responses, got n={n}")
    stats = stats if stats is not None else GroupStats()
    by_problem: dict[str, dict] = {}
    for item in samples:
        where, row = item if isinstance(item, tuple) else (None, item)
        verdict = row.get("verdict")
        if not isinstance(verdict, dict) or verdict.get("correct") is None:
            stats.skipped_no_verdict += 1
            continue
        pid = str(row["problem_id"])
        entry = by_problem.setdefault(pid, {"rows": [], "seen": set(), "question": None})
        if row["response"] in entry["seen"]:
            stats.duplicates += 1  # an identical response adds no pair, only weight
            continue
        entry["seen"].add(row["response"])
        if entry["question"] is None:
            try:
                entry["question"] = question_of(row, questions)
            except RowError as e:
                raise RowError(str(e), where) from None
        entry["rows"].append(row)

    groups = []
    for pid, entry in by_problem.items():
        stats.problems += 1
        pos = [r for r in entry["rows"] if bool(r["verdict"]["correct"])]
        neg = [r for r in entry["rows"] if not bool(r["verdict"]["correct"])]
        if not neg:
            stats.dropped_all_correct += 1
            stats.samples_all_correct += len(pos)
            continue
        if not pos:
            stats.dropped_all_wrong += 1
            stats.samples_all_wrong += len(neg)
            continue
        k, m = balanced_split(len(pos), len(neg), n)
        rng = random.Random(f"{seed}:{pid}")  # stable whatever the row order
        if sort_by:
            # AceMath: random picks from the top-`sort_pool` positives and the bottom-`sort_pool`
            # negatives by the reference score (sort_pool 0: exactly the top-k / bottom-k).
            pos = sorted(pos, key=lambda r: _ref_score(r, sort_by), reverse=True)[: max(k, sort_pool)]
            neg = sorted(neg, key=lambda r: _ref_score(r, sort_by))[: max(m, sort_pool)]
        chosen = rng.sample(pos, k) + rng.sample(neg, m)
        random.Random(f"{seed}:{pid}:order").shuffle(chosen)
        labels = [bool(r["verdict"]["correct"]) for r in chosen]
        groups.append(Group(pid, entry["question"], [r["response"] for r in chosen], labels))
        stats.groups += 1
        stats.responses += len(chosen)
        stats.not_picked += len(entry["rows"]) - len(chosen)
        stats.positives += sum(labels)
    return groups


# ----------------------------------------------------------------------------- encoding


@dataclass
class PairEncoder:
    """(question, response) -> token ids, through the chat template, truncated as the module
    docstring says. ``truncated`` counts the pairs that had to be cut."""

    tokenizer: object
    max_len: int = 4096
    truncated: int = 0
    _prompts: dict = field(default_factory=dict, repr=False)

    def _split_text(self, question: str, response: str) -> tuple[str, str]:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            user = [{"role": "user", "content": question}]
            prompt = tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
            full = tok.apply_chat_template(user + [{"role": "assistant", "content": response}], tokenize=False)
            if full.startswith(prompt):
                return prompt, full[len(prompt) :]
        return question + "\n\n", response

    def __call__(self, question: str, response: str) -> list[int]:
        tok = self.tokenizer
        prompt_text, response_text = self._split_text(question, response)
        if prompt_text not in self._prompts:
            if len(self._prompts) > 10000:
                self._prompts.clear()
            self._prompts[prompt_text] = tok(prompt_text, add_special_tokens=False)["input_ids"]
        prompt = self._prompts[prompt_text]
        answer = tok(response_text, add_special_tokens=False)["input_ids"]
        if len(prompt) + len(answer) <= self.max_len:
            return prompt + answer
        self.truncated += 1
        prompt = prompt[: self.max_len // 2]
        keep = self.max_len - len(prompt)
        return prompt + (answer[-keep:] if keep > 0 else [])


def pad_batch(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to (B, T) input_ids and attention_mask."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.from_numpy(np.array(s, dtype=np.int64))
        mask[i, : len(s)] = 1
    return ids, mask


class GroupCollator:
    """list[Group] (or list[EncodedGroup], already tokenised) -> batch. All responses go
    through the model in one flat batch; ``slots`` puts each score back in its group for the
    listwise loss.

        input_ids, attention_mask: (R, T)   R = responses in the batch
        slots:  (G, n_max) long, index into R, -1 for padding
        labels: (G, n_max) bool
        num_targets: int, the unit count of ``loss`` (see losses.py)
    """

    def __init__(self, encoder: PairEncoder, loss: str = "listwise_bt"):
        from redstar.rm.losses import get_loss

        self.encoder = encoder
        self.pad_id = encoder.tokenizer.pad_token_id
        self.loss = get_loss(loss)

    def __call__(self, groups: list[Group]) -> dict:
        seqs, slot_rows, label_rows = [], [], []
        for g in groups:
            slot_rows.append(list(range(len(seqs), len(seqs) + len(g.labels))))
            label_rows.append(list(g.labels))
            if isinstance(g, EncodedGroup):
                seqs.extend(g.seqs)
            else:
                seqs.extend(self.encoder(g.question, r) for r in g.responses)
        n_max = max(len(s) for s in slot_rows)
        slots = torch.full((len(groups), n_max), -1, dtype=torch.long)
        labels = torch.zeros((len(groups), n_max), dtype=torch.bool)
        for i, (s, lab) in enumerate(zip(slot_rows, label_rows)):
            slots[i, : len(s)] = torch.tensor(s)
            labels[i, : len(lab)] = torch.tensor(lab)
        input_ids, attention_mask = pad_batch(seqs, self.pad_id)
        # the loss's unit count (groups, pairs or responses), read by the training engine before
        # the forward pass to normalise the whole optimiser step
        num_targets = self.loss(torch.zeros(labels.shape), labels, slots >= 0)[1]
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "slots": slots,
            "labels": labels,
            "num_targets": num_targets,
        }


# ----------------------------------------------------------------------------- the token cache


CORRECT, TRUNCATED, HELD_OUT = 1, 2, 4  # bits of a cached response's tag


def is_held_out(problem_id: str, eval_fraction: float) -> bool:
    """Held-out problems are chosen by a hash of the id: the same split whatever the row order."""
    return zlib.crc32(problem_id.encode()) % 10_000 < int(eval_fraction * 10_000)


@dataclass
class EncodedGroup:
    """A group read from the token cache: each response's token ids (a memory-mapped view)
    and whether it is correct."""

    seqs: list
    labels: list[bool]


@dataclass
class RMEncoder:
    """A group row (question, responses, labels, held_out) -> one example per response: its
    ids through ``PairEncoder``, a target flag on the last token (where the reward is read) and
    a tag (``CORRECT | TRUNCATED | HELD_OUT`` bits). Picklable, for the tokenising processes;
    ``grouping`` (how samples became groups) is part of the cache key."""

    max_len: int
    grouping: dict = field(default_factory=dict)
    per_row = 0  # a group holds up to n responses

    def settings(self) -> dict:
        return {"max_len": self.max_len, "pair_encoding": 1, **self.grouping}

    def __call__(self, row: dict, tok) -> list[tuple]:
        enc = PairEncoder(tok, max_len=self.max_len)  # one per group: its prompt is tokenised once
        out = []
        for response, label in zip(row["responses"], row["labels"]):
            before = enc.truncated
            ids = np.asarray(enc(row["question"], response), dtype=np.int32)
            flags = np.zeros(len(ids), dtype=np.uint8)
            flags[-1:] = 1
            tag = (CORRECT if label else 0) | (TRUNCATED if enc.truncated > before else 0)
            out.append((ids, flags, tag | (HELD_OUT if row["held_out"] else 0)))
        return out


def group_rows(
    samples: list[str],
    questions_path: str | None,
    *,
    n: int,
    sort_by: str | None,
    sort_pool: int,
    seed: int,
    eval_fraction: float,
    skip_bad: bool,
):
    """``rows(read_stats, extra)`` for ``token_cache.open_token_cache``: the samples read
    (streamed), grouped by ``build_groups``, each group as a row for ``RMEncoder``; the
    grouping's counts go to ``extra["groups"]``. Runs in the cache's builder only."""

    def rows(read_stats, extra: dict):
        from redstar.dataio import iter_located, where_with_id
        from redstar.records import Sample

        questions = load_questions(questions_path) if questions_path else None
        stats = GroupStats()
        located = (
            (where_with_id(where, row), row)
            for src in samples
            for where, row in iter_located(src, schema=Sample, skip_bad=skip_bad, stats=read_stats)
        )
        groups = build_groups(located, questions, n=n, sort_by=sort_by, sort_pool=sort_pool, seed=seed, stats=stats)
        extra["groups"] = vars(stats)
        extra["read"] = read_stats.to_dict()
        for g in groups:
            yield (
                f"problem {g.problem_id!r}",
                {
                    "question": g.question,
                    "responses": g.responses,
                    "labels": g.labels,
                    "held_out": is_held_out(g.problem_id, eval_fraction),
                },
            )

    return rows


class RMGroups:
    """The reward model's groups in the token cache: ``train`` and ``held_out`` are sequences
    of ``EncodedGroup``; ``stats`` the grouping's counts; ``accounting`` every sample read."""

    def __init__(self, cache):
        self.cache = cache
        self.path = cache.path
        tags = np.asarray(cache.tags)
        firsts = np.asarray(cache.rows[:-1])
        held = (tags[firsts] & HELD_OUT) != 0 if len(firsts) else np.zeros(0, dtype=bool)
        self.train = _GroupView(self, np.flatnonzero(~held))
        self.held_out = _GroupView(self, np.flatnonzero(held))
        self.truncated = int(((tags & TRUNCATED) != 0).sum())
        self.stats = GroupStats(**cache.meta["extra"]["groups"])

    def group(self, i: int) -> EncodedGroup:
        ks = self.cache.examples_of(i)
        seqs = [self.cache.ids[int(self.cache.offsets[k]) : int(self.cache.offsets[k + 1])] for k in ks]
        labels = [bool(t & CORRECT) for t in self.cache.tags[ks.start : ks.stop]]
        return EncodedGroup(seqs, labels)

    @property
    def accounting(self) -> dict:
        """Every sample read, in exactly one place: malformed (skipped by the reader), without a
        verdict, a duplicate response, in a problem with only correct or only wrong responses,
        not picked (past the group size), in a group the encoder dropped, or used; ``truncated``
        (over max_len, cut as the module docstring says) counts used ones."""
        g, read, st = self.cache.meta["extra"]["groups"], self.cache.meta["extra"]["read"], self.cache.stats
        used = int(len(self.cache.tags))
        out = {
            "samples_read": read["rows_read"],
            "malformed": read["rows_skipped"],
            "no_verdict": g["skipped_no_verdict"],
            "duplicates": g["duplicates"],
            "all_correct": g["samples_all_correct"],
            "all_wrong": g["samples_all_wrong"],
            "not_picked": g["not_picked"],
            "dropped_by_encoder": g["responses"] - used,  # responses of groups it could not encode
            "used": used,
            "truncated": self.truncated,
            "groups": len(self.cache),
            "groups_dropped_by_encoder": st["rows"] - st["used"],
            "first_bad": st["first_bad"],
        }
        return out


class _GroupView:
    def __init__(self, groups: RMGroups, index: np.ndarray):
        self.groups, self.index = groups, index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> EncodedGroup:
        return self.groups.group(int(self.index[i]))


def open_rm_cache(data, tok, *, seed: int, dist=None, progress: bool = True) -> RMGroups:
    """The reward model's groups tokenised once (``redstar.train.token_cache``): built by one
    process per node while the other ranks wait, memory-mapped by every rank of this and later
    runs with the same samples, problems, tokenizer and grouping (n, sort_by, sort_pool, seed,
    eval_fraction, max_len)."""
    from redstar.train.token_cache import open_token_cache

    grouping = {
        "n": data.n,
        "sort_by": data.sort_by,
        "sort_pool": data.sort_pool,
        "seed": seed,
        "eval_fraction": data.eval_fraction,
    }
    sources = list(data.samples) + ([data.problems] if data.problems else [])
    cache = open_token_cache(
        "rm",
        sources,
        tok,
        RMEncoder(data.max_len, grouping),
        schema=None,
        dist=dist,
        cache_dir=data.cache_dir,
        num_proc=data.num_proc,
        skip_bad=data.skip_bad,
        progress=progress,
        rows=group_rows(
            list(data.samples),
            data.problems,
            n=data.n,
            sort_by=data.sort_by,
            sort_pool=data.sort_pool,
            seed=seed,
            eval_fraction=data.eval_fraction,
            skip_bad=data.skip_bad,
        ),
    )
    return RMGroups(cache)
