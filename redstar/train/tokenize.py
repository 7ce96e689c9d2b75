"""Chat rows -> input ids + assistant-only labels, for any chat template.

The loss is on assistant tokens only (AceMath: response-only loss; RedStar: the long-CoT
answer). Which tokens those are is found from the template itself, not from hard-coded
markers: for each assistant turn ``i`` the text of ``messages[:i]`` with the generation
prompt and the text of ``messages[:i+1]`` are rendered; the characters between them are that
turn's reply (including the end-of-turn token the model must learn to emit). The full
conversation is tokenised once with character offsets and every token inside a reply span
gets its own id as label; everything else gets -100. This works for ChatML, Llama-3, SmolLM
and the tiny test template alike, and does not need ``{% generation %}`` markers.

    ex = tokenize_chat(row["messages"], tok, max_len=16384, train_on="last")
    ex["input_ids"], ex["labels"]       # same length; labels unshifted (the packer shifts)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

IGNORE_INDEX = -100


class TooLong(ValueError):
    """The conversation does not fit ``max_len`` (kept apart so callers can count drops)."""


def _render(tok, messages, add_generation_prompt: bool) -> str:
    return tok.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def assistant_spans(
    messages: Sequence[dict], tok, train_on: Literal["last", "all"] = "last"
) -> tuple[str, list[tuple[int, int]]]:
    """(rendered text, character spans of the assistant replies to train on).

    The template is rendered once per row: the spans are found once per conversation shape
    (the roles in order) on a skeleton whose contents are markers, and carried over to the
    row by the markers' positions. That holds when the row renders as the skeleton with its
    contents in place of the markers, which is checked; a template that changes the content
    (trims it, drops a reasoning block) is rendered turn by turn instead."""
    text = _render(tok, messages, False)
    found = _spans_from_skeleton(text, messages, tok, train_on)
    if found is not None:
        return text, found
    return _spans_by_rendering(messages, tok, train_on, text)


def _spans_by_rendering(messages, tok, train_on, text: str, trim: bool = True) -> tuple[str, list[tuple[int, int]]]:
    targets = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
    if not targets:
        raise ValueError("conversation has no assistant turn to train on")
    if train_on == "last":
        targets = targets[-1:]
    spans = []
    for i in targets:
        prefix = _render(tok, messages[:i], True)
        upto = text if i == len(messages) - 1 else _render(tok, messages[: i + 1], False)
        if not text.startswith(upto) or not upto.startswith(prefix):
            raise ValueError(
                f"chat template is not prefix-stable at turn {i}: rendering the first turns does "
                "not give a prefix of the whole conversation, so the reply tokens cannot be located"
            )
        spans.append((len(prefix), _trim_end(upto, len(prefix), len(upto)) if trim else len(upto)))
    return text, spans


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " \n":  # the template's separator after the turn
        end -= 1
    return end


_MARKER = "\x1fredstar-turn-{}\x1f"
_SKELETONS: dict = {}  # (tokenizer, template, roles, train_on) -> (skeleton pieces, spans) or error


def _spans_from_skeleton(text: str, messages, tok, train_on) -> list[tuple[int, int]] | None:
    contents = [m.get("content") for m in messages]
    if not all(isinstance(c, str) for c in contents) or any(set(m) - {"role", "content"} for m in messages):
        return None
    roles = tuple(m["role"] for m in messages)
    key = (id(tok), tok.chat_template, roles, train_on)
    if key not in _SKELETONS:
        if len(_SKELETONS) > 4096:
            _SKELETONS.clear()
        skel = [{"role": r, "content": _MARKER.format(k)} for k, r in enumerate(roles)]
        try:
            skel_text, spans = _spans_by_rendering(skel, tok, train_on, _render(tok, skel, False), trim=False)
        except ValueError:
            _SKELETONS[key] = None  # the row itself decides (same error, or a content-dependent template)
        else:
            # the skeleton cut at its markers: text pieces, marker k between pieces k and k+1
            starts = [skel_text.find(_MARKER.format(k)) for k in range(len(roles))]
            ok = all(s >= 0 and skel_text.count(_MARKER.format(k)) == 1 for k, s in enumerate(starts))
            ok = ok and starts == sorted(starts)
            _SKELETONS[key] = (skel_text, starts, spans) if ok else None
    entry = _SKELETONS[key]
    if entry is None:
        return None
    skel_text, starts, spans = entry
    pieces, pos = [], 0
    for k, s in enumerate(starts):
        pieces.append(skel_text[pos:s])
        pieces.append(contents[k])
        pos = s + len(_MARKER.format(k))
    pieces.append(skel_text[pos:])
    if "".join(pieces) != text:
        return None

    def real(x: int) -> int | None:
        shift = 0
        for k, s in enumerate(starts):
            m = len(_MARKER.format(k))
            if x >= s + m:
                shift += len(contents[k]) - m
            elif x > s:
                return None  # inside a marker: the skeleton cannot say where
        return x + shift

    out = []
    for a, b in spans:
        ra, rb = real(a), real(b)
        if ra is None or rb is None:
            return None
        out.append((ra, _trim_end(text, ra, rb)))
    return out


def tokenize_chat(
    messages: Sequence[dict],
    tok,
    max_len: int | None = None,
    train_on: Literal["last", "all"] = "last",
    system_prompt: str | None = None,
    overflow: Literal["drop", "truncate"] = "drop",
) -> dict:
    """Tokenise one conversation. ``system_prompt`` is inserted when the row has none
    (RedStar's long-CoT recipe). Over ``max_len``: ``drop`` raises :class:`TooLong` (a
    truncated chain of thought teaches the model to stop before the answer), ``truncate``
    keeps the first ``max_len`` tokens."""
    import numpy as np

    ids, targets = chat_arrays(messages, tok, max_len, train_on, system_prompt, overflow)
    return {"input_ids": ids.tolist(), "labels": np.where(targets, ids, IGNORE_INDEX).tolist()}


def chat_arrays(
    messages: Sequence[dict],
    tok,
    max_len: int | None = None,
    train_on: Literal["last", "all"] = "last",
    system_prompt: str | None = None,
    overflow: Literal["drop", "truncate"] = "drop",
):
    """:func:`tokenize_chat` as arrays: (input ids int64 [T], bool [T] True where the token is
    a target), with no per-token Python work (what the token cache stores)."""
    import numpy as np

    messages = list(messages)
    if system_prompt and (not messages or messages[0]["role"] != "system"):
        messages = [{"role": "system", "content": system_prompt}] + messages
    text, spans = assistant_spans(messages, tok, train_on)
    ids, offsets = _encode(tok, text)
    a, b = offsets[:, 0], offsets[:, 1]
    targets = np.zeros(len(ids), dtype=bool)
    for s0, s1 in spans:  # a token is a target when it lies inside a reply span and is not empty
        targets |= (a >= s0) & (b <= s1) & (b > a)
    if max_len is not None and len(ids) > max_len:
        if overflow == "drop":
            raise TooLong(f"{len(ids)} tokens > max_len {max_len}")
        ids, targets = ids[:max_len], targets[:max_len]
    return ids, targets


def _encode(tok, text: str):
    """(ids int64 [T], character offsets int64 [T, 2]) of ``text`` without special tokens: a
    fast tokenizer's Rust encoder directly (the same ids transformers' call gives), else the
    tokenizer's own call."""
    import numpy as np

    backend = getattr(tok, "backend_tokenizer", None) if getattr(tok, "is_fast", False) else None
    if backend is not None:
        enc = backend.encode(text, add_special_tokens=False)
        ids, offsets = enc.ids, enc.offsets
    else:
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = enc["input_ids"], enc["offset_mapping"]
    return np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64).reshape(-1, 2)


def render_error(e: ValueError, where: str | None, skip_bad: bool, stats: dict) -> None:
    """A row the chat template cannot split into turns (not prefix-stable, no assistant
    turn): counted in ``stats["bad_rows"]`` with ``skip_bad``, else a RowError naming where
    the row came from ('file:row N'), so the run stops at the row to fix."""
    from redstar.records import RowError

    if not skip_bad:
        raise RowError(str(e), where) from None
    stats["bad_rows"] = stats.get("bad_rows", 0) + 1


def tokenize_each(
    rows,
    encode,
    desc: str = "tokenize",
    progress: bool = True,
    wheres: Sequence[str] | None = None,
    skip_bad: bool = False,
) -> tuple[list[list[dict]], dict]:
    """The one tokenise-and-skip loop: ``encode(row)`` returns the row's examples (one SFT
    sample, or a preference pair's two); a row is dropped and counted when an example is over
    ``max_len`` (``TooLong``) or has no target token, and a row the chat template cannot split
    raises a RowError naming ``wheres[i]`` (or with ``skip_bad`` is counted; see
    :func:`render_error`). Returns the kept rows' example lists and the counts."""
    from tqdm import tqdm

    out, stats = [], {"rows": 0, "too_long": 0, "no_targets": 0, "bad_rows": 0, "tokens": 0, "targets": 0}
    for i, row in enumerate(tqdm(rows, desc=desc, disable=not progress, unit="row")):
        stats["rows"] += 1
        try:
            exs = encode(row)
        except TooLong:
            stats["too_long"] += 1
            continue
        except ValueError as e:
            render_error(e, wheres[i] if wheres else f"row {i + 1}", skip_bad, stats)
            continue
        targets = [sum(1 for y in ex["labels"][1:] if y != IGNORE_INDEX) for ex in exs]  # after the shift
        if 0 in targets:
            stats["no_targets"] += 1
            continue
        stats["tokens"] += sum(len(ex["input_ids"]) for ex in exs)
        stats["targets"] += sum(targets)
        out.append(exs)
    return out, stats


def tokenize_rows(
    rows,
    tok,
    max_len: int | None,
    train_on="last",
    system_prompt=None,
    overflow="drop",
    progress: bool = True,
    wheres: Sequence[str] | None = None,
    skip_bad: bool = False,
) -> tuple[list[dict], dict]:
    """Tokenise SFT rows (``messages`` lists). Returns (examples, stats); rows over
    ``max_len`` or without any target token are counted and skipped, not silently kept.
    ``wheres[i]`` names row i's source for errors; see :func:`render_error`."""

    def encode(row):
        msgs = row["messages"] if isinstance(row, dict) else row.messages
        return [tokenize_chat(msgs, tok, max_len, train_on, system_prompt, overflow)]

    out, stats = tokenize_each(rows, encode, "tokenize", progress, wheres, skip_bad)
    return [exs[0] for exs in out], stats
