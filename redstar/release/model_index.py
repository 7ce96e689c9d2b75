"""Eval scores as the Hub's ``model-index``: what leaderboards and the eval widget read.

    entry = eval_entry(json.load(open("runs/eval/aime/metrics.json")), "runs/eval/aime")
    model_index("my-model", entries)                                         # the YAML structure
    load_results("runs/sft/final")                                           # the entries a model holds

One result per benchmark run: the task, the dataset (type, name, config, split), every metric
``redstar eval`` reported (``pass@1`` is the mean pass@1 that metrics.json calls accuracy, then
``pass@k``, ``maj@k`` and ``rm@k``) as percentages rounded to two decimals, and a ``source``
whose name is the ``redstar eval`` command that produced it. The entries live in
``eval_results.json`` inside the model directory, with each run's ``metrics.json`` and
``report.md`` copied under ``eval/<key>/`` (``redstar.release.eval_results`` stores them), so
the card can be rewritten at any time and the evidence travels with the model.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from redstar.config import ConfigError

# benchmark -> (display name, public hub copy, split of that copy, vision)
BENCHMARKS: dict[str, tuple[str, str, str | None, bool]] = {
    "math-hard": ("MATH-Hard", "lighteval/MATH-Hard", "test", False),
    "math500": ("MATH-500", "HuggingFaceH4/MATH-500", "test", False),
    "aime24": ("AIME 2024", "HuggingFaceH4/aime_2024", "train", False),
    "aime25": ("AIME 2025", "opencompass/AIME2025", "test", False),
    "gsm8k": ("GSM8K", "openai/gsm8k", "test", False),
    "geoqa": ("GeoQA", "geoqa", "test", True),
    "mathvista-geo": ("MathVista", "AI4Math/MathVista", "testmini", True),
    "geometry3k": ("Geometry3K", "hiyouga/geometry3k", "test", True),
}
RESULTS_FILE = "eval_results.json"


def _metric_key(k: str) -> tuple[int, int]:
    kind, n = k.split("@")
    return ({"pass": 0, "maj": 1, "rm": 2}[kind], int(n))


def score_keys(metrics: dict) -> list[str]:
    """pass@k / maj@k / rm@k keys of a metrics.json, in a fixed order."""
    keys = [
        k
        for k in metrics
        if "@" in k
        and k.split("@")[0] in ("pass", "maj", "rm")
        and k.split("@")[1].isdigit()
        and isinstance(metrics[k], (int, float))
    ]
    return sorted(keys, key=_metric_key)


def eval_command(metrics: dict, out_dir: str | None) -> str:
    """The ``redstar eval`` command that wrote ``metrics`` (from what metrics.json records)."""
    argv = ["redstar", "eval", "--benchmark", str(metrics.get("benchmark"))]
    if metrics.get("subset") and metrics.get("benchmark") == "mathvista-geo":
        argv += ["--subset", str(metrics["subset"]).split(":")[0]]
    if metrics.get("data"):
        argv += ["--data", str(metrics["data"])]
    if metrics.get("model"):
        argv += ["--model", str(metrics["model"])]
    elif metrics.get("responses"):
        argv += ["--responses", str(metrics["responses"])]
    gen = metrics.get("generation") or {}
    if gen:
        if gen.get("n", 1) != 1:
            argv += ["--samples", str(gen["n"])]
        argv += [
            "--temperature",
            str(gen.get("temperature")),
            "--top-p",
            str(gen.get("top_p")),
            "--max-new-tokens",
            str(gen.get("max_new_tokens")),
            "--seed",
            str(gen.get("seed")),
        ]
    elif metrics.get("n_samples", 1) != 1:
        argv += ["--samples", str(metrics["n_samples"])]
    if metrics.get("answer_fallback") is True:  # off is eval's default (a stated answer is required)
        argv.append("--fallback")
    if metrics.get("protocol") not in (None, "redstar"):
        argv += ["--protocol", str(metrics["protocol"])]
    if out_dir:
        argv += ["--out", str(out_dir)]
    return shlex.join(argv)


def eval_key(metrics: dict) -> str:
    """One name per benchmark (and MathVista subset): a later run of the same one replaces it."""
    bench = str(metrics["benchmark"])
    if bench == "mathvista-geo" and metrics.get("subset"):
        return f"{bench}-{str(metrics['subset']).split(':')[0]}"
    return bench


def _check_eval_metrics(metrics, where: str = "metrics.json") -> None:
    """A ConfigError naming ``where`` unless ``metrics`` has the keys every ``redstar eval`` run
    writes."""
    if not isinstance(metrics, dict):
        raise ConfigError(f"{where}: metrics.json is not a JSON object; not written by redstar eval")
    for key in ("benchmark", "accuracy", "n_items"):
        if key not in metrics:
            raise ConfigError(f"{where}: metrics.json has no '{key}'; not written by redstar eval")


def eval_entry(metrics: dict, out_dir: str | None, where: str = "metrics.json") -> dict:
    """The card's record of one eval run (``where`` names the file in errors)."""
    _check_eval_metrics(metrics, where)
    bench = str(metrics["benchmark"])
    name, hub_id, split, vision = BENCHMARKS.get(bench, (bench, bench, None, False))
    data = str(metrics.get("data") or "")
    local = bool(data) and (os.path.exists(data) or not _hub_like(data))
    # a local file is not the hub copy: its split is only known when metrics.json records one
    dataset = {
        "type": bench if local else (data or hub_id),
        "name": name,
        "split": metrics.get("split") or (None if local else split),
    }
    if bench == "mathvista-geo" and metrics.get("subset"):
        dataset["config"] = str(metrics["subset"]).split(":")[0]
    if local:
        dataset["args"] = {"data": data}
    scorer = " (official scorer)" if metrics.get("protocol") == "official" else ""
    values = [
        {
            "type": "pass@1",
            "value": round(100 * float(metrics["accuracy"]), 2),
            "name": ("pass@1 (mean over samples)" if metrics.get("n_samples", 1) > 1 else "pass@1") + scorer,
        }
    ]
    values += [
        {"type": k, "name": k + scorer, "value": round(100 * float(metrics[k]), 2)}
        for k in score_keys(metrics)
        if k != "pass@1"
    ]
    return {
        "key": eval_key(metrics),
        "benchmark": bench,
        "task": {
            "type": "image-text-to-text" if vision else "text-generation",
            "name": "geometry reasoning" if vision else "math reasoning",
        },
        "dataset": dataset,
        "metrics": values,
        "command": eval_command(metrics, out_dir),
        "model": metrics.get("model"),
        "n_items": metrics.get("n_items"),
        "n_samples": metrics.get("n_samples"),
    }


def _hub_like(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))


def model_index(name: str, entries: list[dict], repo: str | None = None, revision: str | None = None) -> list[dict]:
    """The ``model-index`` metadata for ``entries``. The source url points at the copied metrics.json:
    on the Hub when ``repo`` is known, else the path inside the model directory."""
    results = []
    for e in entries:
        rel = f"eval/{e['key']}/metrics.json"
        url = f"https://huggingface.co/{repo}/blob/{revision or 'main'}/{rel}" if repo else rel
        results.append(
            {
                "task": dict(e["task"]),
                "dataset": {k: v for k, v in e["dataset"].items() if v is not None},
                "metrics": [dict(m) for m in e["metrics"]],
                "source": {"name": e["command"], "url": url},
            }
        )
    return [{"name": name, "results": results}] if results else []


def load_results(model_dir: str | Path) -> list[dict]:
    path = Path(model_dir) / RESULTS_FILE
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise ConfigError(f"{path}:{getattr(e, 'lineno', 1)}: malformed eval results ({e})") from None
    return list(data.get("results") or [])


def read_eval_metrics(eval_dir: str | Path) -> dict:
    """metrics.json of one ``redstar eval`` output directory, checked for the keys every run
    writes (FileNotFoundError when the directory has none, ConfigError when it is malformed)."""
    from redstar.release.cardfile import read_output_json

    metrics = read_output_json(eval_dir, "metrics.json", "an eval output directory")
    _check_eval_metrics(metrics, str(Path(eval_dir) / "metrics.json"))
    return metrics
