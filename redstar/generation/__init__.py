"""Generation backends behind one interface (see ``base``): transformers, vLLM, an
OpenAI-compatible server, or responses replayed from a file.

    from redstar.generation import make_backend, GenerationConfig, Request
    backend = make_backend("hf", model="default")                 # CPU or GPU, batched
    backend = make_backend("vllm", model="Qwen/Qwen2.5-7B-Instruct", tensor_parallel_size=2)
    backend = make_backend("openai", base_url="http://localhost:8000/v1", model="served-name")
    backend = make_backend("replay", path="responses.jsonl")    # rows: id, responses
    outs = backend.generate(requests, GenerationConfig(n=4, temperature=0.6))
    outs = backend.generate(requests, [GenerationConfig(n=k) for k in ns])  # one per request
    outs[0][0].finish_reason                                      # "stop" | "length" (truncated)

Each backend module imports its heavy stack (torch, vllm) only when it is built.
"""

from __future__ import annotations

from redstar.generation.base import (
    Backend,
    Completion,
    GenerationConfig,
    Request,
    finish_reason,
    is_truncated,
    per_request,
    truncate_at_stop,
)

BACKENDS = ("hf", "vllm", "openai", "replay")


def make_backend(kind: str, **kwargs) -> Backend:
    """Build a backend by name; keyword arguments go to its constructor."""
    if kind in ("hf", "transformers"):
        from redstar.generation.hf import HFBackend

        return HFBackend(**kwargs)
    if kind == "vllm":
        from redstar.generation.vllm import VLLMBackend

        return VLLMBackend(**kwargs)
    if kind == "openai":
        from redstar.generation.openai import OpenAIBackend

        return OpenAIBackend(**kwargs)
    if kind == "replay":
        from redstar.generation.replay import ReplayBackend

        return ReplayBackend(**kwargs)
    raise ValueError(f"unknown generation backend {kind!r}; choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "Backend",
    "Completion",
    "GenerationConfig",
    "Request",
    "finish_reason",
    "is_truncated",
    "make_backend",
    "per_request",
    "truncate_at_stop",
]
