"""The rule reward for OpenRLHF: 1 if the answer verifies, else 0 (RedStar), plus optional penalties.

Pass this file to OpenRLHF as ``--reward.remote_url /path/to/redstar/rl/reward.py``. OpenRLHF
0.11.2 (``openrlhf.utils.agent.SingleTurnAgentExecutor``) loads it with
``spec_from_file_location`` and, for every rollout, calls from a worker thread

    reward_func([query], [prompt], [label])

where ``query`` is the decoded prompt+response tokens (special tokens kept), ``prompt`` the
chat-templated prompt string and ``label`` the dataset's label column (the JSON string
``redstar rl export`` writes). It reads ``rewards`` and ``scores`` (one number per item) and
``extra_logs`` (name -> one value per item) from the returned dict; every call must return the
same ``extra_logs`` keys, since OpenRLHF concatenates them across samples.

- The response is ``query`` minus ``prompt`` (or after the last assistant header when the
  decoded text differs, e.g. expanded image tokens), minus end-of-turn tokens.
- Grading uses the shared verifier (``redstar.verify.grade``; math, choice, code) in a pool of
  processes; an item that runs past its time bound scores 0 and the stuck process is killed,
  so a pathological expression never stalls rollouts.
- Strict extraction by default (``REDSTAR_REWARD_FALLBACK=0``): the answer must be stated
  (``\\boxed{}``, "the answer is ...", a choice letter given as the answer); the verifier's
  bare last-number fallback is off, since it would reward a response that merely ends with the
  right number and never states a final answer. ``REDSTAR_REWARD_FALLBACK=1`` turns it on, for
  responses that ended on an end-of-turn token only: a truncated one (``finished``) never gets it.
- The rendered prompt (or the label's ``question``) reaches the verifier as the question: an
  answer that only restates the problem's expression ("the final answer is $\\log_2 64$") earns 0.
- ``reward_func`` never raises: OpenRLHF 0.11.2 catches an exception from it, logs it at INFO and
  later fails with "reward_model_group is required", far from the cause. A batch that cannot be
  scored scores 0, is counted (``reward_error`` in the logs, ``reward_failures()``) and logged at
  WARNING with its cause.
- ``scores`` = 1/0 correctness (what OpenRLHF's dynamic filtering reads); ``rewards`` =
  correctness - format penalty (no extractable answer) + overlong penalty (DAPO's soft ramp).
- Accuracy per datasource: for each name in ``REDSTAR_REWARD_DATASOURCES`` (the launcher fills
  it from the data), ``ds/<name>/n`` and ``ds/<name>/correct`` per item; OpenRLHF logs their
  means, and correct/n is the accuracy (see ``accuracy_by_datasource``).

Options come from environment variables (``REDSTAR_REWARD_*``, see ``ENV``), which
``redstar rl launch`` puts in the Ray runtime env.
"""

# No `from __future__ import annotations`: OpenRLHF executes this file without registering it in
# sys.modules, and dataclasses then cannot resolve string annotations.
import atexit
import concurrent.futures as cf
import json
import logging
import math
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

try:  # OpenRLHF loads this file by path: make its repository importable if not installed.
    import redstar  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the cluster installed the project
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# option -> (environment variable, parser)
ENV = {
    "format_penalty": ("REDSTAR_REWARD_FORMAT_PENALTY", float),
    "overlong_max": ("REDSTAR_REWARD_OVERLONG_MAX", int),
    "overlong_buffer": ("REDSTAR_REWARD_OVERLONG_BUFFER", int),
    "overlong_factor": ("REDSTAR_REWARD_OVERLONG_FACTOR", float),
    "length_unit": ("REDSTAR_REWARD_LENGTH_UNIT", str),
    "tokenizer": ("REDSTAR_REWARD_TOKENIZER", str),
    "timeout": ("REDSTAR_REWARD_TIMEOUT", float),
    "workers": ("REDSTAR_REWARD_WORKERS", int),
    "datasources": ("REDSTAR_REWARD_DATASOURCES", lambda s: [x for x in s.split(",") if x]),
    "fallback": ("REDSTAR_REWARD_FALLBACK", lambda s: _parse_bool(s)),
    "sandbox": ("REDSTAR_REWARD_SANDBOX", str),
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _parse_bool(s: str) -> bool:
    if s.strip().lower() in _TRUE:
        return True
    if s.strip().lower() in _FALSE:
        return False
    raise ValueError(s)


GRACE_S = 2.0  # process round trip on top of the verifier's own timeout

# Chat headers that open an assistant turn, and tokens that close one (Qwen/ChatML, Llama 3,
# DeepSeek-R1, Gemma, Mistral, plain EOS).
ASSISTANT_HEADERS = (
    "<|im_start|>assistant\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<｜Assistant｜>",
    "<start_of_turn>model\n",
    "[/INST]",
)
END_TOKENS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<｜end▁of▁sentence｜>",
    "<end_of_turn>",
    "</s>",
    "<eos>",
)


@dataclass
class LaunchOptions:
    """The options a ``redstar rl launch`` config sets in its ``reward`` section (redstar/rl/launch.py
    sends them to the Ray workers as environment variables)."""

    format_penalty: float = field(default=0.0, metadata={"help": "subtracted when no final answer can be extracted"})
    overlong_max: int = field(
        default=0, metadata={"help": "0 = no overlong penalty; else the length where it reaches -factor"}
    )
    overlong_buffer: int = field(
        default=0, metadata={"help": "penalty ramps linearly over the last `buffer` units before max"}
    )
    overlong_factor: float = field(
        default=1.0, metadata={"help": "the overlong penalty at overlong_max (it ramps up to -factor)"}
    )
    length_unit: Literal["chars", "words", "tokens"] = field(
        default="chars", metadata={"help": "chars | words | tokens (tokens needs `tokenizer`)"}
    )
    tokenizer: str = field(default="", metadata={"help": "tokenizer for length_unit tokens (a directory or hub id)"})
    timeout: float = field(default=10.0, metadata={"help": "seconds per item before it scores 0"})
    workers: int = field(default=4, metadata={"help": "grading processes per reward host"})
    datasources: list[str] = field(default_factory=list, metadata={"help": "[] = read from the data file"})


@dataclass
class RewardOptions(LaunchOptions):
    """Every option of the reward; the last two are set through their environment variables only."""

    fallback: bool = False  # the verifier's bare last-number fallback (off: a stated answer is required)
    sandbox: str = "bwrap"  # where code runs: bwrap, an http(s):// SandboxFusion address, or none


def options_from_env(environ=None) -> RewardOptions:
    environ = os.environ if environ is None else environ
    kwargs = {}
    for name, (var, parse) in ENV.items():
        if environ.get(var, "") != "":
            try:
                kwargs[name] = parse(environ[var])
            except ValueError:
                raise ValueError(f"{var}={environ[var]!r} is not a valid {name}") from None
    opts = RewardOptions(**kwargs)
    if opts.length_unit not in ("chars", "words", "tokens"):
        raise ValueError(f"REDSTAR_REWARD_LENGTH_UNIT must be chars, words or tokens, got {opts.length_unit!r}")
    if opts.length_unit == "tokens" and not opts.tokenizer:
        raise ValueError("REDSTAR_REWARD_LENGTH_UNIT=tokens needs REDSTAR_REWARD_TOKENIZER")
    return opts


def env_from_settings(settings: dict) -> dict[str, str]:
    """The environment variables that carry ``settings`` (RewardOptions field -> value)."""
    env = {}
    for name, value in settings.items():
        if name not in ENV:
            raise ValueError(f"unknown reward option {name!r} (known: {', '.join(ENV)})")
        if isinstance(value, bool):
            value = int(value)
        env[ENV[name][0]] = ",".join(value) if isinstance(value, list) else str(value)
    return env


# ----------------------------------------------------------------------------- pure helpers


def decode_label(label) -> dict:
    """The exported JSON label, a dict, or a bare gold answer (math) -> a grading dict."""
    if isinstance(label, dict):
        out = dict(label)
    else:
        try:
            out = json.loads(label) if isinstance(label, str) else None
        except json.JSONDecodeError:
            out = None
        if not isinstance(out, dict):
            out = {"answer": "" if label is None else str(label)}
    out.setdefault("kind", "math")
    out["kind"] = out["kind"] or "math"
    out["datasource"] = out.get("datasource") or "default"
    return out


def isolate_response(query: str, prompt: str) -> str:
    """The model's reply inside ``query`` (prompt + response as OpenRLHF decodes them)."""
    if prompt and query.startswith(prompt):
        response = query[len(prompt) :]
    else:
        cut = max((query.rfind(h) + len(h) if query.rfind(h) >= 0 else -1) for h in ASSISTANT_HEADERS)
        response = query[cut:] if cut >= 0 else query
    response = response.strip()
    changed = True
    while changed:  # trailing end-of-turn / padding tokens, in any order
        changed = False
        for tok in END_TOKENS:
            if response.endswith(tok):
                response, changed = response[: -len(tok)].rstrip(), True
    return response


def finished(query: str, prompt: str) -> bool | None:
    """Whether generation ended on its own. True when the decoded text ends with an end-of-turn
    token; False when it does not although special tokens were kept (the prompt shows its chat
    template's tokens): the response stopped at the length limit, truncated. None when it cannot
    be told (text decoded without special tokens)."""
    if query.rstrip().endswith(END_TOKENS):
        return True
    if any(t in prompt for t in ASSISTANT_HEADERS + END_TOKENS):
        return False
    return None


def overlong_penalty(length: int, max_length: int, buffer: int, factor: float = 1.0) -> float:
    """DAPO's soft overlong punishment: 0 up to max-buffer, then a linear ramp to -factor at max."""
    if max_length <= 0:
        return 0.0
    if length >= max_length:
        return -factor
    start = max_length - max(buffer, 0)
    if length <= start or buffer <= 0:
        return 0.0
    return -factor * (length - start) / buffer


_TOKENIZERS: dict = {}


def response_length(text: str, unit: str, tokenizer: str = "") -> int:
    if unit == "words":
        return len(text.split())
    if unit == "tokens":
        if tokenizer not in _TOKENIZERS:
            from transformers import AutoTokenizer

            _TOKENIZERS[tokenizer] = AutoTokenizer.from_pretrained(tokenizer)
        return len(_TOKENIZERS[tokenizer](text, add_special_tokens=False)["input_ids"])
    return len(text)


# ----------------------------------------------------------------------------- grading


def _warm() -> bool:
    import redstar.verify  # noqa: F401  (import cost paid once per process, outside the clock)

    return True


def _grade_item(response: str, label: dict, timeout: float) -> dict:
    """Runs in a worker process: one verdict as a plain dict."""
    from redstar.verify import grade

    sandbox = label.get("_sandbox") or "bwrap"
    v = grade(
        response,
        label.get("answer"),
        kind=label["kind"],
        choices=label.get("choices"),
        tests=label.get("tests"),
        timeout=timeout,
        fallback=bool(label.get("_fallback", False)),
        sandbox=sandbox,
        question=label.get("question") if isinstance(label.get("question"), str) else None,
    )
    out = {"correct": bool(v.correct), "extracted": v.extracted, "reason": v.reason, "timed_out": False}
    if label["kind"] == "code":
        out["sandbox"] = sandbox  # recorded: "none" means this code ran without isolation
    return out


class _Grader:
    """A shared process pool; at most ``workers`` items in flight, each with its own clock."""

    def __init__(self, workers: int, fn=None):
        self.workers = workers
        self.fn = fn or _grade_item  # a picklable (response, label, timeout) -> verdict dict
        self.slots = threading.BoundedSemaphore(workers)
        self.lock = threading.Lock()
        self.pool = None  # cf.ProcessPoolExecutor, started on first use

    def _get_pool(self):
        with self.lock:
            if self.pool is None:
                # spawn, not fork: the caller is a threaded vLLM/Ray process, often with CUDA.
                pool = cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
                for f in [pool.submit(_warm) for _ in range(self.workers)]:
                    f.result(timeout=300)
                self.pool = pool
            return self.pool

    def _kill(self, pool) -> None:
        with self.lock:
            if self.pool is pool:
                self.pool = None
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def grade(self, response: str, label: dict, timeout: float) -> dict:
        with self.slots:
            for _ in range(2):  # a pool broken by another item's timeout gets one retry
                pool = self._get_pool()
                try:
                    future = pool.submit(self.fn, response, label, timeout)
                    return future.result(timeout=timeout + GRACE_S)
                except cf.TimeoutError:
                    self._kill(pool)
                    return {
                        "correct": False,
                        "extracted": None,
                        "reason": f"timed out after {timeout:g}s",
                        "timed_out": True,
                    }
                except (cf.process.BrokenProcessPool, RuntimeError) as e:
                    if getattr(e, "fail_closed", False):  # no code sandbox here: stop, never reward 0
                        raise
                    self._kill(pool)
            return {"correct": False, "extracted": None, "reason": "grading process failed", "timed_out": False}


def _grade_in_thread(response: str, label: dict, timeout: float) -> dict:
    """workers=0: grade here, in a daemon thread so the wait is bounded (the thread may linger)."""
    box: dict = {}

    def target():
        try:
            box["v"] = _grade_item(response, label, timeout)
        except Exception as e:  # noqa: BLE001 - a verifier crash is a wrong answer, not a dead run
            if getattr(e, "fail_closed", False):
                box["raise"] = e
            box["v"] = {"correct": False, "extracted": None, "reason": f"error: {e}", "timed_out": False}

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout + GRACE_S)
    if "raise" in box:
        raise box["raise"]
    return box.get("v") or {
        "correct": False,
        "extracted": None,
        "reason": f"timed out after {timeout:g}s",
        "timed_out": True,
    }


_GRADERS: dict = {}  # workers -> _Grader, shared by every thread of this process
_WARNED_NONE: list = []
_GRADERS_LOCK = threading.Lock()


@atexit.register
def _shutdown() -> None:
    for grader in list(_GRADERS.values()):
        if grader.pool is not None:
            grader.pool.shutdown(wait=True, cancel_futures=True)


def grade_responses(responses: list[str], labels: list[dict], options: RewardOptions) -> list[dict]:
    """Verdict dicts for a batch, graded in parallel with a time bound per item."""
    # the last-number fallback never reads a truncated response (its last number is where the cut fell)
    labels = [
        dict(lab, _fallback=options.fallback and not lab.get("_truncated"), _sandbox=options.sandbox) for lab in labels
    ]
    if any(lab.get("kind") == "code" for lab in labels):
        from redstar.verify.code_sandbox import check_sandbox

        check_sandbox(options.sandbox)  # fail closed: raises with what to install when it cannot run
        if options.sandbox == "none" and not _WARNED_NONE:
            _WARNED_NONE.append(True)
            print("redstar reward: REDSTAR_REWARD_SANDBOX=none: code runs WITHOUT isolation", file=sys.stderr)
    if options.workers <= 0:
        return [_grade_in_thread(r, lab, options.timeout) for r, lab in zip(responses, labels)]
    # Import this module by its package name so spawned workers can unpickle _grade_item even
    # when OpenRLHF loaded this file under another module name.
    import importlib

    impl = importlib.import_module("redstar.rl.reward")
    with impl._GRADERS_LOCK:
        grader = impl._GRADERS.setdefault(options.workers, impl._Grader(options.workers))
    if len(responses) == 1:
        return [grader.grade(responses[0], labels[0], options.timeout)]
    with cf.ThreadPoolExecutor(min(len(responses), options.workers)) as threads:
        return list(threads.map(lambda rl: grader.grade(rl[0], rl[1], options.timeout), zip(responses, labels)))


_LOG = logging.getLogger("redstar.reward")
_FAILURES = [0]  # items scored 0 because their batch could not be scored


def reward_failures() -> int:
    """How many items this process scored 0 because scoring them failed."""
    return _FAILURES[0]


def _log_keys(sources) -> list[str]:
    keys = ["acc", "format_ok", "timed_out", "overlong_penalty", "response_length", "reward_error"]
    for name in sources:
        keys += [f"ds/{name}/n", f"ds/{name}/correct"]
    return keys


def reward_func(queries, prompts, labels, **kwargs) -> dict:
    """OpenRLHF's custom reward hook: one reward, score and set of logs per query. Never raises."""
    import torch

    try:
        return _reward(queries, prompts, labels)
    except Exception as e:  # noqa: BLE001 - OpenRLHF would hide it and die later, elsewhere
        n = len(queries) if isinstance(queries, (list, tuple)) else 1
        _FAILURES[0] += n
        try:
            sources = options_from_env().datasources
        except Exception:  # noqa: BLE001 - the options themselves may be what failed
            sources = ()
        _LOG.warning(
            "redstar reward: %d item(s) scored 0: %s: %s (%d so far in this process)",
            n,
            type(e).__name__,
            str(e)[:500],
            _FAILURES[0],
        )
        zeros = torch.zeros(n, dtype=torch.float32)
        logs = {k: torch.zeros(n, dtype=torch.float32) for k in _log_keys(sources)}
        logs["reward_error"] = torch.ones(n, dtype=torch.float32)
        return {"rewards": zeros.clone(), "scores": zeros.clone(), "extra_logs": logs}


def _reward(queries, prompts, labels) -> dict:
    import torch

    options = options_from_env()
    if not (len(queries) == len(prompts) == len(labels)):
        raise ValueError(f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels")
    responses = [isolate_response(q, p) for q, p in zip(queries, prompts)]
    decoded = [decode_label(lab) for lab in labels]
    graded = [
        dict(lab, _truncated=finished(q, p) is False, question=lab.get("question") or p)
        for lab, q, p in zip(decoded, queries, prompts)
    ]
    verdicts = grade_responses(responses, graded, options)

    rewards, scores = [], []
    # Only a fixed, configured list: per-call keys would differ between OpenRLHF's samples.
    sources = options.datasources
    logs: dict[str, list[float]] = {k: [] for k in _log_keys(sources)}
    for response, label, v in zip(responses, decoded, verdicts):
        correct = 1.0 if v["correct"] else 0.0
        format_ok = v["extracted"] is not None and not v["timed_out"]
        length = response_length(response, options.length_unit, options.tokenizer)
        long_pen = overlong_penalty(length, options.overlong_max, options.overlong_buffer, options.overlong_factor)
        rewards.append(correct - (0.0 if format_ok else options.format_penalty) + long_pen)
        scores.append(correct)
        logs["acc"].append(correct)
        logs["format_ok"].append(float(format_ok))
        logs["timed_out"].append(float(v["timed_out"]))
        logs["overlong_penalty"].append(long_pen)
        logs["response_length"].append(float(length))
        logs["reward_error"].append(0.0)
        for name in sources:
            hit = float(label["datasource"] == name)
            logs[f"ds/{name}/n"].append(hit)
            logs[f"ds/{name}/correct"].append(hit * correct)
    return {
        "rewards": torch.tensor(rewards, dtype=torch.float32),
        "scores": torch.tensor(scores, dtype=torch.float32),
        "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in logs.items()},
    }


def _total(x) -> float:
    if hasattr(x, "sum"):
        return float(x.sum())
    return float(sum(x)) if isinstance(x, (list, tuple)) else float(x)


def accuracy_by_datasource(extra_logs: dict) -> dict[str, float]:
    """Accuracy per datasource from (means or per-item values of) ``ds/<name>/n|correct`` logs."""
    out = {}
    for key, n in extra_logs.items():
        if key.startswith("ds/") and key.endswith("/n"):
            name = key[3:-2]
            total = _total(n)
            out[name] = _total(extra_logs[f"ds/{name}/correct"]) / total if total > 0 else math.nan
    return out
