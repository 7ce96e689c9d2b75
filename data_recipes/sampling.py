"""Teacher sampling through the shared generation backends, with the recipe's chat prompt.

    backends = Backends(recipe)                  # built lazily, one per distinct spec, reused
    samples = sample_chunk(problems, recipe, backends, chunk_index=3)

The prompt is the recipe's system prompt (text or file) plus the question, its choices, the
starter code for code problems and the recipe's suffix (AceMath's "Please reason step by step,
and put your final answer within \\boxed{}."). The number of samples per prompt comes from
``sampling.n_by_level`` (RedStar samples harder prompts more).

A chunk's requests go to a backend in one call, each with its own n (``generate``). The job
that runs one model at a time over every pending chunk is ``sample_stage.sample_chunks``.
Request seeds depend on the chunk index, not on the order of the run. Backends that honour
them (replay, inline, transformers, an OpenAI-compatible server that takes a seed) draw the
same samples for a chunk in a resumed run as in an uninterrupted one. vLLM does not: its seed
is the engine's, ``LLM(seed=...)``, set once when the engine starts (a per-request seed would
turn off its fast sampler), so what it draws for a chunk depends on what that engine generated
before it. A resumed vLLM run redoes only the chunks that were not sampled yet, with draws from
the same distribution that are not the uninterrupted run's.

``backend: inline`` reads responses already stored in the source (``meta.responses``, e.g. the
Collinear set's R1 column) instead of generating.
"""

from __future__ import annotations

from pathlib import Path

from redstar.choices import format_choices
from redstar.config import ConfigError


def system_prompt(recipe) -> str | None:
    """The system turn: ``sampling.system_prompt``, which ``load_recipe`` fills from
    ``system_prompt_file``."""
    s = recipe.sampling
    if s.system_prompt_file and s.system_prompt is None:
        raise ConfigError(
            "sampling.system_prompt_file was not read: load the recipe with load_recipe or resolve_recipe"
        )
    return s.system_prompt


def user_text(problem: dict, recipe) -> str:
    text = problem["question"].strip()
    choices = problem.get("choices")
    if choices and "Choices" not in text:
        text += "\nChoices:\n" + format_choices(choices, sep=": ")
    if problem.get("domain") == "code":
        starter = (problem.get("meta") or {}).get("starter_code")
        if starter:
            text += f"\n\nStarter code:\n```python\n{starter}\n```"
        suffix = recipe.sampling.code_suffix
    else:
        suffix = recipe.sampling.prompt_suffix
    return text + ("\n\n" + suffix.strip() if suffix.strip() else "")


def prompt_messages(problem: dict, recipe, system: str | None = None) -> list[dict]:
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": user_text(problem, recipe)}]


def n_for_level(level: float | None, default: int, n_by_level: dict) -> int:
    """The entry with the largest level <= ``level``; ``default`` when none applies."""
    if level is None or not n_by_level:
        return default
    best = None
    for key, n in n_by_level.items():
        if float(key) <= level and (best is None or float(key) > best[0]):
            best = (float(key), int(n))
    return best[1] if best else default


class Backends:
    """Builds each distinct backend spec once and keeps it for the whole run."""

    def __init__(self, recipe):
        self.recipe = recipe
        self._cache: dict = {}

    def get(self, spec):
        key = (spec.backend, spec.model, spec.base_url, spec.path, tuple(sorted(spec.options.items())))
        if key in self._cache:
            return self._cache[key]
        if spec.backend == "inline":
            backend = None
        else:
            from redstar.generation import make_backend

            kwargs = dict(spec.options)
            if spec.backend == "replay":
                if not spec.path:
                    raise ConfigError("a replay backend needs 'path' (rows: id, responses)")
                path = spec.path  # absolute once the recipe is loaded
                if not Path(path).is_file():
                    raise FileNotFoundError(f"replay responses file {path}: no such file")
                kwargs["path"] = path
            else:
                kwargs["model"] = spec.model
                if spec.base_url:
                    kwargs["base_url"] = spec.base_url
            if spec.backend == "hf":
                kwargs.setdefault("progress", self.recipe.run.progress)
            if spec.chat_template:
                kwargs["model"], kwargs["tokenizer"] = self._with_template(spec)
            if spec.backend == "vllm":
                self._close_gpu_engines()
            try:
                backend = make_backend(spec.backend, **kwargs)
            except ValueError as e:
                raise ConfigError(str(e)) from None
        self._cache[key] = backend
        return backend

    def _with_template(self, spec):
        """(model, tokenizer) with the recipe's chat template; only the transformers backend
        renders prompts here (vLLM and servers apply the template the model ships)."""
        from redstar.models import load_causal_lm

        if spec.backend != "hf":
            raise ConfigError(f"chat_template is supported with the hf backend only, not {spec.backend!r}")
        path = spec.chat_template
        if not Path(path).is_file():
            raise FileNotFoundError(f"chat_template {path}: no such file")
        model, tok = load_causal_lm(spec.model)
        tok.chat_template = Path(path).read_text(encoding="utf-8")
        return model, tok

    def _close_gpu_engines(self) -> None:
        """Two vLLM engines would each claim ``gpu_memory_utilization`` of the same GPUs: one
        (the difficulty scorer, say) is shut down for real before the next (the teacher) starts."""
        for key in [k for k in self._cache if k[0] == "vllm"]:
            backend = self._cache.pop(key)
            if backend is not None:
                backend.close()

    def close(self) -> None:
        for b in self._cache.values():
            if b is not None:
                b.close()
        self._cache.clear()


def generate(
    backend,
    spec,
    problems: list[dict],
    messages: list[list[dict]],
    ns: list[int],
    temperature: float,
    top_p: float,
    max_new_tokens: int,
    seed: int,
    batch_size: int = 0,
    top_k: int = 0,
    repetition_penalty: float = 1.0,
) -> list[list[str]]:
    """``ns[i]`` completions for ``problems[i]`` (none when ``ns[i]`` is 0). The requests go to
    the backend in one call, each with its own config (its n), or in windows of ``batch_size``
    prompts when that is > 0: a vLLM engine then schedules the whole window continuously rather
    than draining a small batch down to its longest sample."""
    from redstar.generation import GenerationConfig, Request

    out: list[list[str]] = [[] for _ in problems]
    if spec.backend == "inline":
        for i, p in enumerate(problems):
            out[i] = list((p.get("meta") or {}).get("responses") or [])[: ns[i]]
        return out
    idx = [i for i, n in enumerate(ns) if n > 0]
    cfgs: dict[int, GenerationConfig] = {}  # one config object per distinct n
    for n in sorted({ns[i] for i in idx}):
        cfgs[n] = GenerationConfig(
            n=n,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            repetition_penalty=repetition_penalty,
            max_new_tokens=max_new_tokens,
            seed=seed,
        )
    window = batch_size if batch_size > 0 else max(1, len(idx))
    for start in range(0, len(idx), window):
        part = idx[start : start + window]
        reqs = [
            Request(id=problems[i]["id"], messages=messages[i], images=problems[i].get("images") or []) for i in part
        ]
        for i, texts in zip(part, backend.generate(reqs, [cfgs[ns[i]] for i in part])):
            out[i] = list(texts)
    return out


def sample_chunk(
    problems: list[dict], recipe, backends: Backends, chunk_index: int, teachers: list | None = None
) -> list[dict]:
    """Sample every teacher (or those in ``teachers``) on ``problems``; returns Sample rows
    (with ``id``, ``teacher``, ``source``, ``level`` beside the Sample fields)."""
    system = system_prompt(recipe)
    messages = [prompt_messages(p, recipe, system) for p in problems]
    samples = []
    for t in recipe.sampling.teachers if teachers is None else teachers:
        ns = [n_for_level(p.get("difficulty"), t.n, recipe.sampling.n_by_level) for p in problems]
        backend = backends.get(t.backend)
        outs = generate(
            backend,
            t.backend,
            problems,
            messages,
            ns,
            t.temperature,
            t.top_p,
            t.max_new_tokens,
            seed=t.seed * 1_000_003 + chunk_index,
            batch_size=recipe.sampling.batch_size,
            top_k=t.top_k,
            repetition_penalty=t.repetition_penalty,
        )
        for p, texts in zip(problems, outs):
            for j, text in enumerate(texts):
                samples.append(
                    {
                        "id": f"{p['id']}#{t.name}#{j}",
                        "problem_id": p["id"],
                        "response": text,
                        "model": t.backend.model if t.backend.backend != "replay" else f"replay:{t.name}",
                        "teacher": t.name,
                        "source": p.get("source", ""),
                        "level": p.get("difficulty"),
                        "verdict": None,
                        "filters": {},
                        "scores": {},
                        "drop": None,
                        # why generation stopped, as the backend says: "stop" | "length" (cut off) | None
                        "finish_reason": getattr(text, "finish_reason", None),
                    }
                )
    return samples
