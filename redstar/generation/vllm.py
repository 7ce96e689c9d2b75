"""vLLM backend: ``vllm.LLM.chat`` with one ``SamplingParams`` per request, for GPUs.

A whole chunk goes to the engine in one call, each request with its own n, temperature and
token limit (``LLM.chat`` pairs a list of ``SamplingParams`` one by one with the
conversations), so the engine's continuous batching refills a slot as soon as a sample ends
instead of waiting for the longest sample of a fixed batch. Every sampling field is set
explicitly (``top_k=-1``: off; ``repetition_penalty=1.0``), as on the other backends.

Tensor parallelism shards one model over ``tensor_parallel_size`` GPUs; data parallelism runs
``data_parallel_size`` independent engines (each on its own slice of GPUs, in a spawned
process started once and kept, with its engine, until ``close``) over interleaved shards of
the requests. ``close`` shuts engines down for real (their GPU memory is free afterwards);
the sampling seed is the engine's, ``LLM(seed=...)``. Prefix caching is on by default: the n
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
    per_request,
    with_image_parts,
)


def _chat_messages(req: Request) -> list[dict]:
    if not req.images:
        return req.messages
    urls = [image_data_url(im) for im in req.images]
    return with_image_parts(req.messages, len(urls), lambda i: {"type": "image_url", "image_url": {"url": urls[i]}})


def _sampling_kwargs(cfg: GenerationConfig) -> dict:
    # Greedy decoding gives one distinct answer: ask for one and copy it n times. No per-request
    # seed: vLLM then leaves its fast batched sampler for a per-request generator; the engine
    # is seeded once, LLM(seed=...).
    return dict(
        n=1 if cfg.greedy else cfg.n,
        temperature=cfg.temperature,
        top_p=1.0 if cfg.greedy else cfg.top_p,
        top_k=-1 if cfg.greedy or cfg.top_k == 0 else cfg.top_k,  # -1: off in every vLLM release
        repetition_penalty=cfg.repetition_penalty,
        max_tokens=cfg.max_new_tokens,
        stop=list(cfg.stop) if cfg.stop else None,
    )


def shutdown_llm(llm: Any) -> None:
    """Stop a ``vllm.LLM`` for real, so its GPU memory is free before another engine starts:
    the engine core's shutdown (its worker processes exit), vLLM's model-parallel groups torn
    down, then the CUDA cache emptied. Dropping the reference alone leaves the engine core
    process holding the memory."""
    import gc

    engine = getattr(llm, "llm_engine", None)
    for owner in (llm, engine, getattr(engine, "engine_core", None)):
        stop = getattr(owner, "shutdown", None)
        if callable(stop):
            stop()
            break
    try:
        from vllm.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel

        destroy_model_parallel()
        destroy_distributed_environment()
    except Exception:  # an older / newer layout, or nothing was initialised
        pass
    del llm, engine
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass


def _run_engine(
    llm: Any, requests: list[Request], cfg: GenerationConfig | list[GenerationConfig], progress: bool
) -> list[list[str]]:
    from vllm import SamplingParams

    cfgs = per_request(cfg, len(requests))
    # one SamplingParams per distinct config (a chunk usually has a handful), paired one by one
    made: dict[int, Any] = {}
    params = [made.setdefault(id(c), SamplingParams(**_sampling_kwargs(c))) for c in cfgs]
    conversations = [_chat_messages(r) for r in requests]
    outputs = llm.chat(conversations, sampling_params=params, use_tqdm=progress)
    if len(outputs) != len(requests):
        raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(requests)} requests")
    result = []
    for req, ro, cfg in zip(requests, outputs, cfgs):
        # finish_reason: "stop" (end token / stop string) or "length" (max_tokens reached)
        texts = [
            Completion(c.text, getattr(c, "finish_reason", None)) for c in sorted(ro.outputs, key=lambda c: c.index)
        ]
        if cfg.greedy:
            texts = texts[:1] * cfg.n
        if len(texts) != cfg.n:
            raise RuntimeError(f"request {req.id!r}: vLLM returned {len(texts)} completions, expected {cfg.n}")
        result.append(texts)
    return result


_ENGINE: Any = None  # the engine of a data-parallel worker process, built once


def _dp_init(gpus: str | None, llm_kwargs: dict) -> None:
    """A data-parallel worker's start: pin its GPUs before vllm loads, build its engine once."""
    global _ENGINE
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus
    from vllm import LLM

    _ENGINE = LLM(**llm_kwargs)


def _dp_generate(rank: int, requests: list[Request], cfg: list[GenerationConfig]) -> list[list[str]]:
    return _run_engine(_ENGINE, requests, cfg, progress=rank == 0)


def _dp_shutdown() -> None:
    global _ENGINE
    if _ENGINE is not None:
        engine, _ENGINE = _ENGINE, None
        shutdown_llm(engine)


def visible_gpu_ids() -> list[str] | None:
    """The GPU ids this process may use: ``CUDA_VISIBLE_DEVICES``, else every device torch
    sees; None when neither says (no torch, no GPU)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        return [g.strip() for g in visible.split(",") if g.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())] or None
    except ImportError:
        return None


def auto_data_parallel(tensor_parallel_size: int, gpu_ids: list[str] | None) -> int:
    """``data_parallel_size: auto``: as many engines of ``tensor_parallel_size`` GPUs as the
    visible GPUs hold (8 GPUs at tp 4: 2 engines), at least one."""
    return max(1, len(gpu_ids or []) // tensor_parallel_size)


class VLLMBackend(Backend):
    """``VLLMBackend(model, tensor_parallel_size=1, data_parallel_size=1 | "auto",
    enable_prefix_caching=True, max_model_len=None, dtype="auto", gpu_memory_utilization=0.9,
    max_images=1, **llm_kwargs)``. ``data_parallel_size="auto"`` fills the visible GPUs with
    engines of ``tensor_parallel_size`` GPUs each."""

    name = "vllm"

    def __init__(
        self,
        model: str = "default",
        tensor_parallel_size: int = 1,
        data_parallel_size: int | str = 1,
        enable_prefix_caching: bool = True,
        max_model_len: int | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_images: int = 1,
        seed: int = 0,
        progress: bool = True,
        **llm_kwargs,
    ):
        from redstar.models import resolve_model_path

        if data_parallel_size == "auto" and isinstance(tensor_parallel_size, int) and tensor_parallel_size >= 1:
            data_parallel_size = auto_data_parallel(tensor_parallel_size, visible_gpu_ids())
        if (
            not isinstance(data_parallel_size, int)
            or not isinstance(tensor_parallel_size, int)
            or tensor_parallel_size < 1
            or data_parallel_size < 1
        ):
            raise ValueError(
                "tensor_parallel_size must be an integer >= 1 and data_parallel_size an integer >= 1 or "
                f"'auto', got {tensor_parallel_size!r} and {data_parallel_size!r}"
            )
        self.data_parallel_size = data_parallel_size
        self.tensor_parallel_size = tensor_parallel_size
        self.progress = progress
        self.llm_kwargs = dict(
            model=resolve_model_path(str(model)),
            tensor_parallel_size=tensor_parallel_size,
            enable_prefix_caching=enable_prefix_caching,
            dtype=dtype,
            seed=seed,
            gpu_memory_utilization=gpu_memory_utilization,
            **llm_kwargs,
        )
        if max_model_len is not None:
            self.llm_kwargs["max_model_len"] = max_model_len
        if max_images > 1:
            self.llm_kwargs["limit_mm_per_prompt"] = {"image": max_images}
        self.llm = None
        self._workers: list = []  # data parallel: one process per rank, alive for the whole run
        if data_parallel_size == 1:
            try:
                from vllm import LLM
            except ImportError as e:
                raise ImportError("the vllm backend needs vLLM on a GPU machine: pip install 'redstar[vllm]'") from e
            self.llm = LLM(**self.llm_kwargs)

    def _gpu_groups(self) -> list[str | None]:
        """GPU ids per data-parallel rank: consecutive blocks of tensor_parallel_size."""
        ids = visible_gpu_ids()
        if ids is None:
            return [None] * self.data_parallel_size
        need = self.data_parallel_size * self.tensor_parallel_size
        if len(ids) < need:
            raise ValueError(
                f"data_parallel_size {self.data_parallel_size} x tensor_parallel_size "
                f"{self.tensor_parallel_size} needs {need} GPUs, {len(ids)} visible"
            )
        tp = self.tensor_parallel_size
        return [",".join(ids[r * tp : (r + 1) * tp]) for r in range(self.data_parallel_size)]

    def generate(self, requests: list[Request], cfg: GenerationConfig | list[GenerationConfig]) -> list[list[str]]:
        if not requests:
            return []
        cfgs = per_request(cfg, len(requests))
        if self.llm is not None:
            return _run_engine(self.llm, requests, cfgs, self.progress)
        dp = self.data_parallel_size
        # Interleaved shards balance long and short prompts across engines.
        shards = [list(range(r, len(requests), dp)) for r in range(dp)]
        workers = self._dp_workers()
        out: list[list[str] | None] = [None] * len(requests)
        futures = {
            r: workers[r].submit(_dp_generate, r, [requests[i] for i in shards[r]], [cfgs[i] for i in shards[r]])
            for r in range(dp)
            if shards[r]
        }
        for r, fut in futures.items():
            for i, texts in zip(shards[r], fut.result()):
                out[i] = texts
        return out  # type: ignore[return-value]

    def _dp_workers(self) -> list:
        """One single-process pool per data-parallel rank, started on first use with its
        engine built in the initializer, and kept until ``close``: engines load once per run."""
        if not self._workers:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            ctx = mp.get_context("spawn")
            self._workers = [
                ProcessPoolExecutor(
                    max_workers=1, mp_context=ctx, initializer=_dp_init, initargs=(gpus, self.llm_kwargs)
                )
                for gpus in self._gpu_groups()
            ]
        return self._workers

    def close(self) -> None:
        """Shut the engine(s) down for real: GPU memory is free when this returns."""
        if self.llm is not None:
            llm, self.llm = self.llm, None
            shutdown_llm(llm)
        workers, self._workers = self._workers, []
        for pool in workers:
            try:
                pool.submit(_dp_shutdown).result()
            finally:
                pool.shutdown(wait=True)
