"""OpenAI-compatible HTTP backend (``POST {base_url}/chat/completions``), standard library only.

Works with vLLM's and SGLang's servers and hosted APIs. Requests run concurrently on a thread
pool; 429 and 5xx answers and dropped connections are retried with exponential backoff; a
server that returns fewer than n choices (many ignore ``n``) is asked again for the rest.

Every sampling field goes into the body: ``top_k`` (-1: off) and ``repetition_penalty`` too,
because a vLLM or SGLang server otherwise fills what a request leaves out from the model's
``generation_config.json`` (Qwen: ``top_k=20``, ``repetition_penalty=1.05``) and samples from
another distribution than the transformers and vLLM backends. A server that rejects those two
names (the OpenAI API answers 400) is asked again without them, once, with a warning: it has
no such defaults to apply.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from tqdm.auto import tqdm

from redstar.generation.base import (
    Backend,
    Completion,
    GenerationConfig,
    Request,
    image_data_url,
    per_request,
    truncate_at_stop,
    with_image_parts,
)

RETRY_STATUS = (408, 409, 429, 500, 502, 503, 504)
EXTRA_SAMPLING = ("top_k", "repetition_penalty")  # not in the OpenAI API; vLLM and SGLang take them
log = logging.getLogger(__name__)


class OpenAIError(RuntimeError):
    pass


class OpenAIBackend(Backend):
    """``OpenAIBackend(base_url="http://localhost:8000/v1", model="served-name", api_key=None
    ($OPENAI_API_KEY), workers=8, retries=5, timeout=600)``."""

    name = "openai"

    def __init__(
        self,
        base_url: str = "http://localhost:8000/v1",
        model: str = "default",
        api_key: str | None = None,
        workers: int = 8,
        retries: int = 5,
        timeout: float = 600.0,
        backoff: float = 1.0,
        progress: bool = True,
    ):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.workers, self.retries, self.timeout, self.backoff = workers, retries, timeout, backoff
        self.progress = progress
        self.send_extra = True  # top_k / repetition_penalty, until the server rejects them

    def _post(self, body: dict, rid: str) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        attempt = 0
        while attempt <= self.retries:
            data = json.dumps(body).encode("utf-8")
            req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:300]
                rejected = [k for k in EXTRA_SAMPLING if k in body and k in detail]
                if e.code == 400 and rejected:  # not a retry: the same request without them
                    if self.send_extra:
                        self.send_extra = False
                        log.warning(
                            "%s rejects %s (%s): requests go without top_k/repetition_penalty from now on",
                            self.url,
                            "/".join(rejected),
                            detail[:120],
                        )
                    body = {k: v for k, v in body.items() if k not in EXTRA_SAMPLING}
                    continue
                if e.code not in RETRY_STATUS:
                    raise OpenAIError(f"request {rid!r}: {self.url} answered {e.code}: {detail}") from None
                last = f"HTTP {e.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
            attempt += 1
        raise OpenAIError(f"request {rid!r}: {self.url} failed after {self.retries + 1} attempts ({last})")

    def _one(self, req: Request, cfg: GenerationConfig) -> list[str]:
        messages = req.messages
        if req.images:
            urls = [image_data_url(im) for im in req.images]
            messages = with_image_parts(
                messages, len(urls), lambda i: {"type": "image_url", "image_url": {"url": urls[i]}}
            )
        want = 1 if cfg.greedy else cfg.n
        texts: list[str] = []
        round_ = 0
        while len(texts) < want:
            body = {
                "model": self.model,
                "messages": messages,
                "n": want - len(texts),
                "temperature": cfg.temperature,
                "top_p": cfg.top_p,
                "max_tokens": cfg.max_new_tokens,
                "seed": cfg.seed + round_,
            }
            if self.send_extra:
                body["top_k"] = -1 if cfg.greedy or cfg.top_k == 0 else cfg.top_k
                body["repetition_penalty"] = cfg.repetition_penalty
            if cfg.stop:
                body["stop"] = list(cfg.stop)
            reply = self._post(body, req.id)
            choices = reply.get("choices")
            if not isinstance(choices, list) or not choices:
                raise OpenAIError(f"request {req.id!r}: reply has no 'choices': {str(reply)[:300]}")
            for c in sorted(choices, key=lambda c: c.get("index", 0)):
                content = (c.get("message") or {}).get("content")
                # finish_reason: "stop" or "length" (max_tokens reached), as the server says
                texts.append(truncate_at_stop(Completion(content or "", c.get("finish_reason")), cfg.stop))
            round_ += 1
        texts = texts[:want]
        return texts * cfg.n if cfg.greedy else texts

    def generate(self, requests: list[Request], cfg: GenerationConfig | list[GenerationConfig]) -> list[list[str]]:
        cfgs = per_request(cfg, len(requests))
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            futures = [pool.submit(self._one, r, c) for r, c in zip(requests, cfgs)]
            out = []
            for fut in tqdm(futures, desc="generate (openai)", unit="prompt", disable=not self.progress):
                out.append(fut.result())
        return out
