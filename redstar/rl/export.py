"""Write SFT, preference and RL-prompt rows in the shape OpenRLHF 0.11.2 reads.

OpenRLHF loads a ``.jsonl`` file with ``datasets.load_dataset("json")`` (Arrow), so every
column must have one type across rows. That decides the shapes written here:

- SFT (``SFTDataset``, ``--data.input_key messages --data.apply_chat_template``):
  ``{"messages": [...], "images": [...]}``; message contents are plain strings.
- preference (``RewardDataset(is_dpo=True)``, ``--data.prompt_key prompt --data.chosen_key chosen
  --data.rejected_key rejected --data.apply_chat_template``): ``{"prompt", "chosen", "rejected",
  "images"}``, each a list of messages.
- RL prompts (``PromptDataset``, ``--data.input_key prompt --data.label_key label
  --data.apply_chat_template``): ``{"prompt", "label", "images", "datasource"}``. The label is a
  JSON *string* (``encode_label``): a dict label would become an Arrow struct whose keys are
  unified across rows (missing ones turn into nulls), and the reward function only receives
  ``queries, prompts, labels``, so the datasource travels inside the label too.

Images: OpenRLHF's VLM path (``PromptDataset`` + ``vlm_utils.load_images``) opens each entry of
``images`` with ``PIL.Image.open`` in the worker's working directory and expects one
``<image>`` tag per image in the user text (``_str_to_content_list`` turns tags into image
parts). Paths in our rows are relative to their file, so they are resolved to absolute paths
(``--images absolute``) or embedded as data URIs (``--images embed``, portable across nodes).
OpenRLHF's SFT and DPO trainers are text-only: their images are resolved and kept, but no tags
are inserted and a warning says so.

Lengths: OpenRLHF truncates what is longer than ``--data.max_len`` without a word
(``RewardDataset`` cuts chosen and rejected at ``max_len`` tokens, losing the final answers that
tell them apart). Given the launch config's ``max_len`` and the policy's tokenizer
(``LengthLimit``; ``redstar.rl.launch.load_length_limit`` reads it from a launch config), export
drops such rows instead and counts them: an SFT row or a preference pair whose chat-templated text plus the end token is longer than ``max_len``, an RL prompt
that leaves less than ``max_new_tokens`` of ``max_len`` for its rollout. Image tokens are not
counted (the text trainers ignore images; the VLM path expands them later).
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redstar.records import PreferenceRow, RLPromptRow, RowError, SFTRow

KINDS = ("sft", "preference", "rl")
IMAGE_TAG = "<image>"
# The OpenRLHF 0.11.2 flags that read each exported kind (train_sft / train_dpo / train_ppo_ray).
DATA_FLAGS = {
    "sft": {"data.input_key": "messages", "data.apply_chat_template": True},
    "preference": {
        "data.prompt_key": "prompt",
        "data.chosen_key": "chosen",
        "data.rejected_key": "rejected",
        "data.apply_chat_template": True,
    },
    "rl": {
        "data.input_key": "prompt",
        "data.label_key": "label",
        "data.image_key": "images",
        "data.apply_chat_template": True,
    },
}


@dataclass
class LengthLimit:
    """The launch config's token budget in the policy's tokens: ``max_len`` (prompt + response)
    and, for RL prompts, the rollout's ``max_new_tokens``."""

    max_len: int
    tokenizer: Any
    max_new_tokens: int = 0

    def __post_init__(self):
        if self.max_len < 1 or self.max_new_tokens < 0 or self.max_new_tokens >= self.max_len:
            raise RowError(
                f"max_len must be >= 1 and max_new_tokens in 0..max_len-1, got {self.max_len} and {self.max_new_tokens}"
            )

    def _count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def conversation(self, messages: list[dict]) -> int:
        """Tokens of a whole conversation as OpenRLHF feeds it: the template's text without its
        trailing newline, plus the end token it appends."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False).rstrip("\n")
        eos = self.tokenizer.eos_token or ""
        return self._count(text) + (0 if eos and text.endswith(eos) else 1)

    def prompt(self, messages: list[dict]) -> int:
        return self._count(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

    def too_long(self, kind: str, out: dict) -> int | None:
        """The row's length when it does not fit, else None."""
        if kind == "sft":
            n = self.conversation(out["messages"])
            return n if n > self.max_len else None
        if kind == "preference":
            n = max(
                self.conversation(out["prompt"] + out["chosen"]), self.conversation(out["prompt"] + out["rejected"])
            )
            return n if n > self.max_len else None
        n = self.prompt(out["prompt"])
        return n if n + self.max_new_tokens > self.max_len else None


@dataclass
class ExportStats:
    kind: str = ""
    rows: int = 0
    images: int = 0
    by_datasource: Counter = field(default_factory=Counter)
    text_only_images: int = 0  # image rows written for a text-only OpenRLHF trainer
    too_long: int = 0  # rows dropped: longer than the launch config's max_len
    first_too_long: str = ""  # where the first one is, with its length
    limit: str = ""  # the limit checked, in words ("" = lengths not checked)

    def summary(self, kind: str, out: str) -> str:
        text = f"wrote {self.rows} {kind} rows ({self.images} images) to {out}"
        if self.by_datasource:
            text += "; datasources: " + ", ".join(f"{k}={v}" for k, v in sorted(self.by_datasource.items()))
        if self.limit:
            text += f"; dropped {self.too_long} longer than {self.limit}"
            text += f" (first: {self.first_too_long})" if self.too_long else ""
        return text


def detect_kind(row: dict) -> str:
    """Which row type a dict is, from its columns (the row kinds of docs/data_contracts.md)."""
    if "messages" in row:
        return "sft"
    if "chosen" in row and "rejected" in row:
        return "preference"
    if "prompt" in row and "label" in row:
        return "rl"
    raise RowError(
        f"cannot tell the row type from its columns {sorted(row)}: expected 'messages' (SFT), "
        f"'chosen'/'rejected' (preference) or 'prompt'/'label' (RL prompt)"
    )


# ----------------------------------------------------------------------------- labels


def encode_label(label: str | dict, datasource: str = "") -> str:
    """A grading label as the JSON string the reward function decodes.

    ``label`` is an RL row's label: a dict with ``answer`` (gold), ``kind`` (math | choice |
    code), optional ``choices`` and ``tests``; or a bare gold answer string (kind math).
    """
    if isinstance(label, str):
        try:
            parsed = json.loads(label)
        except json.JSONDecodeError:
            parsed = None
        label = parsed if isinstance(parsed, dict) else {"answer": label}
    if not isinstance(label, dict):
        raise RowError(f"label must be a string or a mapping, got {type(label).__name__}")
    out = {
        "answer": label.get("answer", label.get("gold")),
        "kind": label.get("kind") or "math",
        "choices": label.get("choices"),
        "tests": label.get("tests"),
        "datasource": label.get("datasource") or datasource or "default",
    }
    if out["kind"] not in ("math", "choice", "code"):
        raise RowError(f"label kind must be math, choice or code, got {out['kind']!r}")
    if out["kind"] == "code" and not isinstance(out["tests"], dict):
        raise RowError("a code label needs 'tests': {'inputs': [...], 'outputs': [...]}")
    if out["kind"] != "code" and (out["answer"] is None or str(out["answer"]).strip() == ""):
        raise RowError("label has no gold 'answer'")
    if out["answer"] is not None:
        out["answer"] = str(out["answer"])
    return json.dumps(out, ensure_ascii=False)


# ----------------------------------------------------------------------------- images


def _resolve_image(ref: str, base: Path, mode: str, where: str) -> str:
    if not isinstance(ref, str) or not ref:
        raise RowError(f"image entry must be a non-empty path string, got {ref!r}", where)
    if ref.startswith(("http://", "https://", "data:")):
        return ref
    path = Path(ref).expanduser()
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise RowError(f"image not found: {ref} (looked for {path})", where)
    if mode == "embed":
        mime = mimetypes.guess_type(path.name)[0] or "image/png"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return str(path.resolve())


def _flatten(content) -> str:
    """Message content as one string; image parts become ``<image>`` tags."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and (part.get("type") == "image" or "image" in part):
                parts.append(IMAGE_TAG)
            elif isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                raise RowError(f"unknown message content part {part!r}")
        return "".join(parts)
    raise RowError(f"message content must be a string or a list of parts, got {type(content).__name__}")


def _messages(messages: list[dict]) -> list[dict]:
    return [{"role": m["role"], "content": _flatten(m["content"])} for m in messages]


def _tag_images(messages: list[dict], n_images: int, where: str) -> list[dict]:
    """Make the user turns carry exactly ``n_images`` ``<image>`` tags (missing ones go first)."""
    have = sum(m["content"].count(IMAGE_TAG) for m in messages)
    if have > n_images:
        raise RowError(f"{have} <image> tags but only {n_images} images", where)
    if have < n_images:
        first_user = next((i for i, m in enumerate(messages) if m["role"] == "user"), None)
        if first_user is None:
            raise RowError("row has images but no user message to attach them to", where)
        m = messages[first_user]
        messages[first_user] = {"role": "user", "content": IMAGE_TAG * (n_images - have) + m["content"]}
    return messages


# ----------------------------------------------------------------------------- rows


def convert_row(row: dict, kind: str, base: Path, image_mode: str, where: str, stats: ExportStats) -> dict:
    """One input row (docs/data_contracts.md) -> one OpenRLHF row; errors name ``where``."""
    try:
        images = [_resolve_image(r, base, image_mode, where) for r in (row.get("images") or [])]
        if kind == "sft":
            rec = SFTRow.from_row(row)
            out = {"messages": _messages(rec.messages), "images": images}
        elif kind == "preference":
            rec = PreferenceRow.from_row(row)
            out = {
                "prompt": _messages(rec.prompt),
                "chosen": _messages(rec.chosen),
                "rejected": _messages(rec.rejected),
                "images": images,
            }
        elif kind == "rl":
            rec = RLPromptRow.from_row(row)
            datasource = rec.datasource or "default"
            label = encode_label(rec.label, datasource)
            datasource = json.loads(label)["datasource"]
            prompt = _messages(rec.prompt)
            if images:
                prompt = _tag_images(prompt, len(images), where)
            out = {"prompt": prompt, "label": label, "images": images, "datasource": datasource}
            stats.by_datasource[datasource] += 1
        else:
            raise RowError(f"unknown kind {kind!r} (expected one of {KINDS})")
    except RowError as e:
        raise RowError(str(e).removeprefix(where + ": "), where) from None
    stats.rows += 1
    stats.images += len(images)
    if images and kind != "rl":
        stats.text_only_images += 1
    return out


def export_rows(
    inputs: list[str],
    output: str,
    kind: str = "auto",
    image_mode: str = "absolute",
    limit: int | None = None,
    lengths: LengthLimit | None = None,
) -> ExportStats:
    """Convert every row of ``inputs`` and write them to ``output`` (JSONL, atomically);
    with ``lengths``, rows that would not fit are dropped and counted, not written."""
    from tqdm import tqdm

    from redstar.dataio import iter_located, write_jsonl

    if image_mode not in ("absolute", "embed"):
        raise RowError(f"--images must be 'absolute' or 'embed', got {image_mode!r}")
    stats = ExportStats(kind=kind if kind != "auto" else "")

    def rows():
        resolved = kind
        for src in inputs:
            path = Path(src)
            base = path.parent if path.is_file() else path
            for where, row in iter_located(src):
                if limit is not None and stats.rows >= limit:
                    return
                if resolved == "auto":
                    try:
                        resolved = detect_kind(row)
                    except RowError as e:
                        raise RowError(str(e), where) from None
                    stats.kind = resolved
                out = convert_row(row, resolved, base, image_mode, where, stats)
                n = lengths.too_long(resolved, out) if lengths is not None else None
                if n is not None:
                    stats.rows -= 1
                    stats.images -= len(out.get("images") or [])
                    if resolved == "rl":
                        stats.by_datasource[out["datasource"]] -= 1
                    elif out.get("images"):
                        stats.text_only_images -= 1
                    stats.too_long += 1
                    stats.first_too_long = stats.first_too_long or f"{where}, {n} tokens"
                    continue
                yield out

    if lengths is not None:
        stats.limit = f"max_len {lengths.max_len} tokens" + (
            f" with {lengths.max_new_tokens} left for the rollout" if lengths.max_new_tokens else ""
        )
    write_jsonl(output, tqdm(rows(), desc=f"export {kind}", unit="row", mininterval=2.0))
    stats.by_datasource = +stats.by_datasource  # drop the zeroed counts
    if stats.rows == 0:
        if stats.too_long:
            raise RowError(f"all {stats.too_long} rows of {', '.join(inputs)} are longer than {stats.limit}")
        raise RowError(f"no rows in {', '.join(inputs)}")
    return stats
