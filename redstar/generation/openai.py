"""OpenAI-compatible HTTP backend (``POST {base_url}/chat/completions``), standard library only.

Works with vLLM's and SGLang's servers and hosted APIs. Requests run concurrently on a thread
pool; 429 and 5xx answers and dropped connections are retried with exponential backoff; a
server that returns fewer than n choices (many ignore ``n``) is asked again for the rest.
"""

from __future__ import annotations

import json
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
    truncate_at_stop,
    with_image_parts,
)

RETRY_STATUS = (408, 409, 429, 500, 502, 503, 504)


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

    def _post(self, body: dict, rid: str) -> dict:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:300]
                if e.code not in RETRY_STATUS:
                    raise OpenAIError(f"request {rid!r}: {self.url} answered {e.code}: {detail}") from None
                last = f"HTTP {e.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            if attempt < self.retries:
                time.sleep(self.backoff * 2**attempt)
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

    def generate(self, requests: list[Request], cfg: GenerationConfig) -> list[list[str]]:
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            futures = [pool.submit(self._one, r, cfg) for r in requests]
            out = []
            for fut in tqdm(futures, desc="generate (openai)", unit="prompt", disable=not self.progress):
                out.append(fut.result())
        return out
