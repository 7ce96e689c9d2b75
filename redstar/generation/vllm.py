"""vLLM backend: ``vllm.LLM.chat`` with ``SamplingParams(n=...)``, for GPUs.

Tensor parallelism shards one model over ``tensor_parallel_size`` GPUs; data parallelism runs
``data_parallel_size`` independent engines (each on its own slice of GPUs, in spawned
processes) over interleaved shards of the requests. Prefix caching is on by default: the n
samples of a prompt, and prompts sharing a system prompt, reuse the cached prefix. Images are
sent as ``image_url`` data URLs, which ``LLM.chat`` turns into multi-modal inputs through the
model's own chat template. ``vllm`` is imported only when the engine is built.
"""

from __future__ import annotations

import os
from typing import Any

from redstar.generation.base import (
    Backend,
    Completion,
    GenerationConfig,
    Request,
    image_data_url,
    with_image_parts,
)


def _chat_messages(req: Request) -> list[dict]:
    if not req.images:
        return req.messages
    urls = [image_data_url(im) for im in req.images]
    return with_image_parts(req.messages, len(urls),
                            lambda i: {"type": "image_url", "image_url": {"url": urls[i]}})


def _sampling_kwargs(cfg: GenerationConfig) -> dict:
    # Greedy decoding gives one distinct answer: ask for one and copy it n times.
    return dict(n=1 if cfg.greedy else cfg.n, temperature=cfg.temperature,
                top_p=1.0 if cfg.greedy else cfg.top_p, max_tokens=cfg.max_new_tokens,
                seed=cfg.seed, stop=list(cfg.stop) if cfg.stop else None)


def _run_engine(llm: Any, requests: list[Request], cfg: GenerationConfig, progress: bool) -> list[list[str]]:
    from vllm import SamplingParams

    params = SamplingParams(**_sampling_kwargs(cfg))
    conversations = [_chat_messages(r) for r in requests]
    outputs = llm.chat(conversations, sampling_params=params, use_tqdm=progress)
    if len(outputs) != len(requests):
        raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(requests)} requests")
    result = []
    for req, ro in zip(requests, outputs):
        # finish_reason: "stop" (end token / stop string) or "length" (max_tokens reached)
        texts = [Completion(c.text, getattr(c, "finish_reason", None))
                 for c in sorted(ro.outputs, key=lambda c: c.index)]
        if cfg.greedy:
            texts = texts[:1] * cfg.n
        if len(texts) != cfg.n:
            raise RuntimeError(f"request {req.id!r}: vLLM returned {len(texts)} completions, expected {cfg.n}")
        result.append(texts)
    return result


def _dp_worker(rank: int, gpus: str | None, llm_kwargs: dict, requests: list[Request],
               cfg: GenerationConfig) -> list[list[str]]:
    """One data-parallel engine in its own process, pinned to its GPUs before vllm loads."""
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    from vllm import LLM

    llm = LLM(**llm_kwargs)
    return _run_engine(llm, requests, cfg, progress=rank == 0)


class VLLMBackend(Backend):
    """``VLLMBackend(model, tensor_parallel_size=1, data_parallel_size=1, enable_prefix_caching=True,
    max_model_len=None, dtype="auto", gpu_memory_utilization=0.9, max_images=1, **llm_kwargs)``."""

    name = "vllm"

    def __init__(self, model: str = "default", tensor_parallel_size: int = 1, data_parallel_size: int = 1,
                 enable_prefix_caching: bool = True, max_model_len: int | None = None, dtype: str = "auto",
                 gpu_memory_utilization: float = 0.9, max_images: int = 1, seed: int = 0,
                 progress: bool = True, **llm_kwargs):
        from redstar.models import resolve_model_path

        if tensor_parallel_size < 1 or data_parallel_size < 1:
            raise ValueError("tensor_parallel_size and data_parallel_size must be >= 1")
        self.data_parallel_size = data_parallel_size
        self.tensor_parallel_size = tensor_parallel_size
        self.progress = progress
        self.llm_kwargs = dict(model=resolve_model_path(str(model)), tensor_parallel_size=tensor_parallel_size,
                               enable_prefix_caching=enable_prefix_caching, dtype=dtype, seed=seed,
                               gpu_memory_utilization=gpu_memory_utilization, **llm_kwargs)
        if max_model_len is not None:
            self.llm_kwargs["max_model_len"] = max_model_len
        if max_images > 1:
            self.llm_kwargs["limit_mm_per_prompt"] = {"image": max_images}
        self.llm = None
        if data_parallel_size == 1:
            try:
                from vllm import LLM
            except ImportError as e:
                raise ImportError("the vllm backend needs vLLM on a GPU machine: pip install 'redstar[vllm]'") from e
            self.llm = LLM(**self.llm_kwargs)

    def _gpu_groups(self) -> list[str | None]:
        """GPU ids per data-parallel rank: consecutive blocks of tensor_parallel_size."""
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        ids = visible.split(",") if visible else None
        if ids is None:
            try:
                import torch

                ids = [str(i) for i in range(torch.cuda.device_count())] or None
            except ImportError:
                ids = None
        if ids is None:
            return [None] * self.data_parallel_size
        need = self.data_parallel_size * self.tensor_parallel_size
        if len(ids) < need:
            raise ValueError(f"data_parallel_size {self.data_parallel_size} x tensor_parallel_size "
                             f"{self.tensor_parallel_size} needs {need} GPUs, {len(ids)} visible")
        tp = self.tensor_parallel_size
        return [",".join(ids[r * tp:(r + 1) * tp]) for r in range(self.data_parallel_size)]

    def generate(self, requests: list[Request], cfg: GenerationConfig) -> list[list[str]]:
        if not requests:
            return []
        if self.llm is not None:
            return _run_engine(self.llm, requests, cfg, self.progress)
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        dp = self.data_parallel_size
        # Interleaved shards balance long and short prompts across engines.
        shards = [list(range(r, len(requests), dp)) for r in range(dp)]
        groups = self._gpu_groups()
        out: list[list[str] | None] = [None] * len(requests)
        with ProcessPoolExecutor(max_workers=dp, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_dp_worker, r, groups[r], self.llm_kwargs,
                                   [requests[i] for i in shards[r]], cfg) for r in range(dp) if shards[r]]
            for r, fut in enumerate(futures):
                for i, texts in zip(shards[r], fut.result()):
                    out[i] = texts
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.llm = None
