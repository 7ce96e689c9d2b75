"""Transformers backend: batched ``model.generate`` with left padding, on CPU or GPU.

Text models use the tokenizer's chat template; vision-language models (a directory with a saved
processor, or a processor passed in) go through ``AutoProcessor`` so images
become pixel values and the template inserts the vision tokens. Requests are sorted by prompt
length before batching, so a batch wastes little padding, and answers come back in request order.

Every sampling keyword is passed explicitly (``explicit_sampling``): the model's own
``generation_config.json`` defaults never decide what is sampled. Progress is counted per
token while a batch decodes (``progress.TokenProgress``: tokens/s, finished sequences, ETA).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redstar.generation.base import (
    Backend,
    Completion,
    GenerationConfig,
    Request,
    load_image,
    per_request,
    truncate_at_stop,
    with_image_parts,
)
from redstar.generation.progress import TokenProgress


def _is_vl_dir(path: str) -> bool:
    """A saved processor (``preprocessor_config.json`` in older layouts, ``processor_config.json``
    in newer ones) or a ``vision_config`` in the model config marks a vision-language model."""
    import json

    p = Path(path)
    if not p.is_dir():
        return False
    if (p / "preprocessor_config.json").is_file() or (p / "processor_config.json").is_file():
        return True
    try:
        return "vision_config" in json.loads((p / "config.json").read_text())
    except (OSError, ValueError):
        return False


def _stop_on_new_text(tokenizer, stops: list[str], prompt_len: int):
    """A stopping criterion that looks for stop strings in the *generated* text only.

    transformers' own ``stop_strings`` matches across the prompt boundary, so a template ending
    in a newline stops a "\\n\\n" stop after one generated newline; vLLM and OpenAI servers
    match in the completion alone, and so does this. Each step decodes only the last few new
    tokens (a stop string of L characters spans at most L tokens)."""
    import torch
    from transformers import StoppingCriteria

    window = max(len(s) for s in stops) + 2

    class StopOnNewText(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            # input_ids: [rows, prompt_len + new_len]; rows = batch * n_return
            tail = input_ids[:, prompt_len:][:, -window:]
            texts = tokenizer.batch_decode(tail, skip_special_tokens=True)
            return torch.tensor([any(s in t for s in stops) for t in texts], dtype=torch.bool, device=input_ids.device)

    return StopOnNewText()


def _sampling_key(cfg: GenerationConfig) -> tuple:
    """What one ``model.generate`` call must share: everything but the seed."""
    return (
        cfg.n,
        cfg.temperature,
        cfg.top_p,
        cfg.top_k,
        cfg.repetition_penalty,
        cfg.max_new_tokens,
        tuple(cfg.stop or ()),
    )


def explicit_sampling(cfg: GenerationConfig) -> dict:
    """Every ``model.generate`` keyword that decides what is sampled, set from ``cfg``.

    transformers fills each one the call leaves unset from the model's
    ``generation_config.json`` (Qwen2.5 ships ``top_k=20``, ``top_p=0.8``,
    ``repetition_penalty=1.05``, ``temperature=0.7``), which vLLM with explicit SamplingParams
    does not: so all of them are set here, and the backends sample from the same distribution.
    The penalty applies to greedy decoding too, so it is set there as well."""
    common = dict(
        max_new_tokens=cfg.max_new_tokens,
        repetition_penalty=cfg.repetition_penalty,
        no_repeat_ngram_size=0,
        num_beams=1,
        min_new_tokens=0,
        length_penalty=1.0,
        bad_words_ids=None,
        suppress_tokens=None,
        begin_suppress_tokens=None,
    )
    if cfg.greedy:
        # the sampling knobs do nothing when greedy: unset (None), which also overrides the model's
        # values and keeps transformers from warning that they are set
        return dict(common, do_sample=False, temperature=None, top_p=None, top_k=None, min_p=None, typical_p=None)
    return dict(
        common,
        do_sample=True,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        top_k=cfg.top_k,  # 0: off
        min_p=None,
        typical_p=1.0,
        epsilon_cutoff=0.0,
        eta_cutoff=0.0,
        num_return_sequences=cfg.n,
    )


class HFBackend(Backend):
    """``HFBackend(model="default" | dir | hub id | a model object, tokenizer=None | tokenizer |
    processor, batch_size=8, device=None, dtype="float32")``."""

    name = "hf"

    def __init__(
        self,
        model: Any = "default",
        tokenizer: Any = None,
        batch_size: int = 8,
        device: str | None = None,
        dtype: str | None = "float32",
        progress: bool = True,
    ):
        import torch

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.progress = progress
        if isinstance(model, (str, Path)):
            model, tokenizer = self._load(str(model), dtype)
        elif tokenizer is None:
            raise ValueError("HFBackend: pass the tokenizer (or processor) that goes with a model object")
        self.model = model
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if str(self.model.device) != self.device:
            self.model.to(self.device)
        self.model.eval()
        # A processor wraps a tokenizer; text-only models have the tokenizer alone.
        self.processor = tokenizer if hasattr(tokenizer, "image_processor") else None
        self.tokenizer = tokenizer.tokenizer if self.processor is not None else tokenizer
        self.tokenizer.padding_side = "left"  # generation appends on the right: pad on the left
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @staticmethod
    def _load(name: str, dtype: str | None):
        from redstar.models import load_causal_lm, resolve_model_path

        path = resolve_model_path(name)
        if _is_vl_dir(path):
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor

            model = AutoModelForImageTextToText.from_pretrained(
                path, dtype=getattr(torch, dtype) if dtype and dtype != "auto" else "auto"
            )
            return model, AutoProcessor.from_pretrained(path)
        return load_causal_lm(path, dtype=dtype)

    # --------------------------------------------------------------------------- prompts

    def _template(self, req: Request) -> str:
        owner = self.processor if self.processor is not None else self.tokenizer
        messages = req.messages
        if req.images:
            if self.processor is None:
                raise ValueError(
                    f"request {req.id!r} has images but the model has no image processor "
                    "(use a vision-language model directory)"
                )
            messages = with_image_parts(messages, len(req.images))
        return owner.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _encode(self, batch: list[Request], texts: list[str]):
        if self.processor is not None:
            images = [load_image(im) for r in batch for im in r.images]
            return self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        # The chat template already wrote any BOS token; do not add a second one.
        return self.tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=False)

    # --------------------------------------------------------------------------- generation

    def generate(self, requests: list[Request], cfg: GenerationConfig | list[GenerationConfig]) -> list[list[str]]:
        import torch

        cfgs = per_request(cfg, len(requests))
        if not requests:
            return []
        torch.manual_seed(cfgs[0].seed)
        texts = [self._template(r) for r in requests]
        # Requests with the same sampling settings share batches (one model.generate call takes
        # one setting); within a group, longest prompts first: similar lengths share a batch,
        # and an out-of-memory error shows up on the first batch instead of the last.
        groups: dict[tuple, list[int]] = {}
        for i, c in enumerate(cfgs):
            groups.setdefault(_sampling_key(c), []).append(i)
        batches = []
        for idx in groups.values():
            order = sorted(idx, key=lambda i: -len(texts[i]))
            batches += [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        out: list[list[str] | None] = [None] * len(requests)
        rows_total = sum(1 if cfgs[i].greedy else cfgs[i].n for i in range(len(requests)))
        progress = TokenProgress(
            rows_total, max(c.max_new_tokens for c in cfgs), desc="generate (hf)", disable=not self.progress
        )
        try:
            for idx in batches:
                c = cfgs[idx[0]]
                for i, texts_i in zip(
                    idx, self._generate_batch([requests[i] for i in idx], [texts[i] for i in idx], c, progress)
                ):
                    out[i] = texts_i
        finally:
            progress.close()
        return out  # type: ignore[return-value]

    def _generate_batch(
        self, batch: list[Request], texts: list[str], cfg: GenerationConfig, progress
    ) -> list[list[str]]:
        import torch
        from transformers import StoppingCriteriaList

        enc = self._encode(batch, texts).to(self.device)
        extra = {}
        if cfg.stop:
            extra["stopping_criteria"] = StoppingCriteriaList(
                [_stop_on_new_text(self.tokenizer, cfg.stop, enc["input_ids"].shape[1])]
            )
        per = 1 if cfg.greedy else cfg.n
        progress.start_batch(len(batch) * per, self.tokenizer.pad_token_id, self._end_ids(), cfg.max_new_tokens)
        with torch.no_grad():
            seqs = self.model.generate(
                **enc,
                **explicit_sampling(cfg),
                pad_token_id=self.tokenizer.pad_token_id,
                streamer=progress,
                **extra,
            )
        progress.end_batch()
        # seqs: [B * per, prompt_len + new_len]; the prompt part is left-padded to prompt_len
        new = seqs[:, enc["input_ids"].shape[1] :]
        reasons = self._finish_reasons(new, cfg.max_new_tokens)
        decoded = [
            Completion(t, r) for t, r in zip(self.tokenizer.batch_decode(new, skip_special_tokens=True), reasons)
        ]
        result = []
        for j in range(len(batch)):
            texts_j = [truncate_at_stop(t, cfg.stop) for t in decoded[j * per : (j + 1) * per]]
            result.append(texts_j if per == cfg.n else texts_j * cfg.n)  # greedy: n identical copies
        return result

    def _end_ids(self) -> set[int]:
        ends = {t for t in (self.tokenizer.eos_token_id,) if t is not None}
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ends.update(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        return ends

    def _finish_reasons(self, new, max_new_tokens: int) -> list[str]:
        """Per generated row: "length" when it was still generating at the token limit (its
        last token is a real token, not an end or pad token), else "stop". ``new``: [rows,
        new_len]; a row that ended early is padded to new_len."""
        if new.shape[1] < max_new_tokens:  # every row ended before the limit
            return ["stop"] * new.shape[0]
        ends = {t for t in (self.tokenizer.eos_token_id, self.tokenizer.pad_token_id) if t is not None}
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ends.update(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        return ["stop" if int(t) in ends else "length" for t in new[:, -1].tolist()]

    def close(self) -> None:
        self.model = None
