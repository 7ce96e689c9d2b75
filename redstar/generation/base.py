"""The one interface every generation backend implements.

    backend = make_backend("hf", model="default")
    outs = backend.generate([Request(id="q1", messages=[{"role": "user", "content": "1+1?"}])],
                            GenerationConfig(n=4, temperature=0.7, max_new_tokens=512))
    # outs[i] holds cfg.n completions (strings) for requests[i], in request order

Curation, evaluation and the demo all sample through this interface, so a recipe can move from
a CPU transformers run to a vLLM cluster or a hosted endpoint by changing one argument.
"""

from __future__ import annotations

import base64
import io
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Request:
    """One prompt: a chat (``messages``: role/content dicts) and its images (paths or PIL images).

    Images go with the first user turn; backends turn them into whatever their model needs
    (processor pixel values, vLLM multi-modal data, OpenAI ``image_url`` parts).
    """

    id: str
    messages: list[dict]
    images: list = field(default_factory=list)


# field -> (test that its value is out of range, the range in words), checked in this order
_GENERATION_RULES = {
    "n": (lambda v: v < 1, ">= 1"),
    "temperature": (lambda v: v < 0, ">= 0"),
    "top_p": (lambda v: not 0 < v <= 1, "in (0, 1]"),
    "top_k": (lambda v: v < 0, ">= 0 (0: off)"),
    "repetition_penalty": (lambda v: v <= 0, "> 0 (1.0: off)"),
    "max_new_tokens": (lambda v: v < 1, ">= 1"),
}


@dataclass
class GenerationConfig:
    """Sampling settings; ``temperature == 0`` means greedy decoding (then n copies agree).

    Every backend applies every field explicitly (``top_k=0`` and ``repetition_penalty=1.0``
    mean off), so a recipe samples from the same distribution on transformers, vLLM and an
    OpenAI-compatible server: a model's own ``generation_config.json`` defaults (Qwen ships
    ``top_k=20``, ``repetition_penalty=1.05``) are never applied behind the recipe's back."""

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    max_new_tokens: int = 1024
    seed: int = 0
    stop: list[str] | None = None

    def __post_init__(self):
        for name, (wrong, rule) in _GENERATION_RULES.items():
            if wrong(getattr(self, name)):
                raise ValueError(f"GenerationConfig.{name} must be {rule}, got {getattr(self, name)}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def per_request(cfg: GenerationConfig | list[GenerationConfig], n_requests: int) -> list[GenerationConfig]:
    """One config per request: ``cfg`` repeated, or ``cfg`` itself when it is already a list
    (then its length must match; a mismatch is a caller's bug, named)."""
    if isinstance(cfg, GenerationConfig):
        return [cfg] * n_requests
    cfgs = list(cfg)
    if len(cfgs) != n_requests:
        raise ValueError(f"{len(cfgs)} generation configs for {n_requests} requests: pass one per request")
    for c in cfgs:
        if not isinstance(c, GenerationConfig):
            raise TypeError(f"expected GenerationConfig, got {type(c).__name__}")
    return cfgs


class Completion(str):
    """A generated text that remembers why generation ended: ``finish_reason`` is ``"stop"``
    (an end-of-sequence token or a stop string) or ``"length"`` (``max_new_tokens`` reached: the
    text is truncated), or None when the backend cannot tell. It *is* a ``str``, so callers that
    only want text need no change; string methods return plain ``str``."""

    finish_reason: str | None

    def __new__(cls, text: str, finish_reason: str | None = None):
        obj = super().__new__(cls, text)
        obj.finish_reason = finish_reason
        return obj

    def __reduce__(self):  # pickles across processes (vLLM data-parallel workers)
        return (Completion, (str(self), self.finish_reason))


def finish_reason(text) -> str | None:
    """``"stop"`` / ``"length"`` / another backend's word for a ``Completion``; None for a plain
    string (the reason is unknown)."""
    return getattr(text, "finish_reason", None)


def is_truncated(text) -> bool:
    """True when generation stopped at the token limit (the answer may be cut off)."""
    return finish_reason(text) == "length"


class Backend(ABC):
    """``generate(requests, cfg) -> list[list[Completion]]``: cfg.n completions per request, in
    order, each a ``str`` carrying its ``finish_reason``. ``cfg`` is one config for every
    request or a list with one per request (its own n, temperature, token limit...): callers
    hand a whole chunk over in one call and the engine schedules it (vLLM keeps its batch full
    instead of draining a fixed batch down to its longest sample)."""

    name = "base"

    @abstractmethod
    def generate(self, requests: list[Request], cfg: GenerationConfig | list[GenerationConfig]) -> list[list[str]]: ...

    def close(self) -> None:  # noqa: B027 (a no-op unless the backend holds resources)
        """Free the model / connections; the backend is unusable afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def truncate_at_stop(text: str, stop: list[str] | None) -> str:
    """Cut ``text`` before the first stop string (vLLM and OpenAI servers do the same). A cut
    text finished on a stop string (``finish_reason`` "stop"); an uncut one keeps its own."""
    if not stop:
        return text
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text if cut == len(text) else Completion(text[:cut], "stop")


def load_image(image: Any):
    """A PIL RGB image from a path or a PIL image; a missing file names itself."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, (bytes, bytearray)):
        return Image.open(io.BytesIO(image)).convert("RGB")
    path = Path(image)
    if not path.is_file():
        raise FileNotFoundError(f"image {path}: no such file")
    with Image.open(path) as im:
        return im.convert("RGB")


def image_data_url(image: Any) -> str:
    """A ``data:image/png;base64,...`` URL, the form OpenAI-style chat APIs (and vLLM's
    ``LLM.chat``) accept for local images."""
    buf = io.BytesIO()
    load_image(image).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def with_image_parts(messages: list[dict], n_images: int, part: Any = None) -> list[dict]:
    """Copy ``messages`` with ``n_images`` image parts put before the text of the first user turn.

    ``part(i)`` builds the i-th part (default ``{"type": "image"}``, the placeholder HF chat
    templates expand into vision tokens). Messages whose content is already a list of parts are
    left as they are: the caller placed the images.
    """
    if n_images == 0:
        return messages
    out = [dict(m) for m in messages]
    for m in out:
        if m["role"] != "user":
            continue
        if isinstance(m["content"], list):
            return out
        parts = [part(i) if part else {"type": "image"} for i in range(n_images)]
        m["content"] = parts + [{"type": "text", "text": m["content"]}]
        return out
    raise ValueError("a request with images needs a user message to attach them to")
