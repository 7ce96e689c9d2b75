"""Source of a faithful stand-in for the ``vllm`` package (LLM, SamplingParams, RequestOutput,
CompletionOutput), written to disk by the tests so spawned data-parallel workers import it too.

It mirrors vLLM's offline API: ``SamplingParams`` rejects unknown keywords and bad values,
``LLM(**engine_args)`` rejects unknown engine arguments, ``LLM.chat`` takes one conversation or
a list of them (OpenAI-style messages, images as ``image_url`` parts) and returns one
``RequestOutput`` per conversation, in order, each with ``n`` ``CompletionOutput``s;
``sampling_params`` is one ``SamplingParams`` for all or a list paired one by one with them.

``install(tmp_path, monkeypatch, extra)`` writes it (plus ``extra`` source) as a package
``vllm`` on disk and imports it in place of the real one.
"""

import importlib
import sys

SOURCE = r"""
import hashlib, os
from dataclasses import dataclass, field

ENGINE_ARGS = {"model", "tokenizer", "tensor_parallel_size", "data_parallel_size", "dtype", "seed",
               "gpu_memory_utilization", "max_model_len", "enable_prefix_caching", "trust_remote_code",
               "limit_mm_per_prompt", "quantization", "enforce_eager", "max_num_seqs"}
INSTANCES = []


@dataclass(kw_only=True)
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop: list | None = None
    max_tokens: int | None = 16
    include_stop_str_in_output: bool = False

    def __post_init__(self):
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}.")
        if self.temperature < 0:
            raise ValueError(f"temperature must be non-negative, got {self.temperature}.")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}.")
        if self.top_k < -1:
            raise ValueError(f"top_k must be 0 or -1 (disable), or at least 1, got {self.top_k}.")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be greater than zero, got {self.repetition_penalty}.")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}.")


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list
    cumulative_logprob: float | None
    logprobs: object
    finish_reason: str | None = None
    stop_reason: object = None


@dataclass
class RequestOutput:
    request_id: str
    prompt: str | None
    prompt_token_ids: list | None
    prompt_logprobs: object
    outputs: list
    finished: bool


class LLM:
    def __init__(self, model, **kwargs):
        unknown = set(kwargs) - ENGINE_ARGS
        if unknown:
            raise TypeError(f"EngineArgs.__init__() got an unexpected keyword argument {sorted(unknown)[0]!r}")
        self.model, self.kwargs = model, kwargs
        self.calls = []
        INSTANCES.append(self)
        self._counter = 0

    def chat(self, messages, sampling_params=None, use_tqdm=True, lora_request=None, chat_template=None,
             chat_template_content_format="auto", add_generation_prompt=True, continue_final_message=False,
             tools=None, mm_processor_kwargs=None):
        single = isinstance(messages[0], dict)
        convs = [messages] if single else messages
        if isinstance(sampling_params, (list, tuple)):  # one per conversation, paired in order
            if len(sampling_params) != len(convs):
                raise ValueError(
                    f"The lengths of prompts ({len(convs)}) and sampling_params ({len(sampling_params)}) must be the same."
                )
            sps = list(sampling_params)
        else:
            sps = [sampling_params or SamplingParams()] * len(convs)
        self.calls.append((convs, sampling_params))
        outs = []
        for conv, sp in zip(convs, sps):
            prompt, n_images = "", 0
            for m in conv:
                if m["role"] not in ("system", "user", "assistant"):
                    raise ValueError(f"unknown role {m['role']}")
                if isinstance(m["content"], str):
                    prompt += f"<|{m['role']}|>{m['content']}"
                    continue
                for part in m["content"]:
                    if part["type"] == "image_url":
                        if not part["image_url"]["url"].startswith("data:image/"):
                            raise ValueError("fake vllm: only data URLs are reachable here")
                        n_images += 1
                        prompt += "<image>"
                    elif part["type"] == "text":
                        prompt += part["text"]
                    else:
                        raise ValueError(f"unknown content part type {part['type']!r}")
            limit = (self.kwargs.get("limit_mm_per_prompt") or {}).get("image", 1)
            if n_images > limit:
                raise ValueError(f"At most {limit} image(s) may be provided in one request.")
            comps = []
            for i in range(sp.n):
                key = prompt if sp.temperature == 0 else f"{prompt}|{sp.seed}|{i}"
                h = hashlib.sha256(key.encode()).hexdigest()[:8]
                text = f"{h} gpus={os.environ.get('CUDA_VISIBLE_DEVICES', '-')} images={n_images} END tail"
                reason = "stop"
                if sp.stop:
                    for s in sp.stop:
                        if s in text:
                            text = text[:text.index(s)]
                words = text.split()  # one word = one token here
                if sp.max_tokens is not None and len(words) > sp.max_tokens:
                    text, reason = " ".join(words[:sp.max_tokens]), "length"
                comps.append(CompletionOutput(index=i, text=text, token_ids=list(range(len(text.split()))),
                                              cumulative_logprob=None, logprobs=None, finish_reason=reason))
            outs.append(RequestOutput(request_id=str(self._counter), prompt=prompt, prompt_token_ids=[1, 2],
                                      prompt_logprobs=None, outputs=comps, finished=True))
            self._counter += 1
        return outs
"""


def install(tmp_path, monkeypatch, extra: str = ""):
    """The stand-in written to ``tmp_path/fakesite/vllm`` (spawned workers find it through
    sys.path) and imported as ``vllm``; returns the module."""
    pkg = tmp_path / "fakesite" / "vllm"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(SOURCE + extra)
    monkeypatch.syspath_prepend(str(tmp_path / "fakesite"))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    module = importlib.import_module("vllm")
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module
