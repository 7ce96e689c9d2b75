"""A hand-built `redstar demo` output of the real layout: a DPO run (final/ model directory with
its trainer card and resolved config, metrics.jsonl, loss.png, checkpoints with optimizer states,
tensorboard/) and eval runs scored by the real `redstar eval --responses` on the demo sets."""

import json
from pathlib import Path

from tests.eval.eval_fixtures import score_stored

ROOT = Path(__file__).resolve().parents[3]
DEMO_DATA = ROOT / "data_recipes" / "demo_data"


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _gold(row: dict) -> str:
    if row.get("answer"):
        return str(int(row["answer"]))
    sol = row["solution"]
    start = sol.rindex("\\boxed{") + len("\\boxed{")
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(sol[i], 0)
        i += 1
    return sol[start : i - 1]


def write_responses(path: Path, data: Path, pattern: list[bool]) -> Path:
    """Four responses per item, right or wrong by ``pattern`` (cycled per item), with rm scores."""
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    out = []
    for i, row in enumerate(rows):
        ok = [pattern[(i + j) % len(pattern)] for j in range(4)]
        gold = _gold(row)
        out.append(
            {
                "id": row.get("id", i),
                "responses": [f"So the answer is \\boxed{{{gold if good else 'zz'}}}." for good in ok],
                "scores": [0.9 if good else 0.1 + 0.2 * j for j, good in enumerate(ok)],
            }
        )
    return _write(path, "".join(json.dumps(r) + "\n" for r in out))


def run_eval(out: Path, bench: str, data: Path, pattern: list[bool]) -> Path:
    resp = write_responses(out.parent.parent / "responses" / f"{out.parent.name}-{out.name}.jsonl", data, pattern)
    assert score_stored(bench, data, resp, out, "--samples", "4") == 0
    return out


def build_run(run: Path, kind: str = "dpo") -> Path:
    """A finished training run of the trainers' layout, its card written by the trainer's writer."""
    from redstar.release.model_card import render_model_card

    final = run / "final"
    _write(final / "config.json", {"model_type": "llama", "architectures": ["LlamaForCausalLM"]})
    _write(final / "model.safetensors", b"\0" * 2048)
    _write(final / "tokenizer.json", {"version": "1.0"})
    _write(
        final / "redstar_config.yaml",
        "# schema: redstar.train.dpo:DPOConfig\nmodel: default\nout: runs/demo/dpo\n"
        "data:\n  train:\n  - runs/demo/curate/preferences.jsonl\n  max_len: 512\n"
        "train:\n  lr: 5.0e-07\n  epochs: 1\n  seed: 0\n",
    )
    _write(
        final / "README.md",
        render_model_card(
            {"base_model": "default", "tags": [kind, "long-cot", "math"]},
            "# redstar DPO\n\nTrained with `redstar dpo` (sigmoid loss, beta 0.1).\n\n## Training\n2 optimizer steps.",
        ),
    )
    _write(
        run / "metrics.jsonl",
        "".join(json.dumps({"step": s, "loss": 0.7 - 0.05 * s, "lr": 5e-7}) + "\n" for s in (1, 2)),
    )
    _write(run / "loss.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    ck = run / "checkpoints" / "step-1"
    for name in ("model.pt", "optim.pt", "sched.pt", "rng-rank0.pt"):
        _write(ck / name, b"\0" * 128)
    _write(ck / "state.json", {"step": 1})
    _write(run / "tensorboard" / "events.out.tfevents.1.host", b"\0" * 32)
    return run


class Recorder:
    """Stands in for the Hub: records every HfApi call a push makes."""

    def __init__(self, monkeypatch):
        from huggingface_hub import HfApi

        self.calls = []
        monkeypatch.setattr(HfApi, "create_repo", self._rec("create_repo", "https://huggingface.co/me/x"))
        monkeypatch.setattr(HfApi, "create_branch", self._rec("create_branch", None))
        monkeypatch.setattr(HfApi, "upload_folder", self._rec("upload_folder", "commit"))

    def _rec(self, name, ret):
        def f(api, *args, **kwargs):
            self.calls.append((name, args, kwargs))
            return ret

        return f

    def named(self, name):
        return [c for c in self.calls if c[0] == name]
