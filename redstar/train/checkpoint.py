"""Resumable checkpoints and the final Hugging Face export.

A checkpoint ``<out>/checkpoints/step-000120/`` holds everything needed to continue a killed
run at the same step and data position with the same random streams:

    trainer_state.json   step, epoch, micro-batch index in the epoch, tokens seen, and the
                         settings that shape the data plan with their hash (see plan_key)
    model.pt / optim.pt  torch backend (rank 0 writes; ranks hold identical copies)
    ds/                  DeepSpeed backend: its own sharded model + optimizer states
    sched.pt             LR scheduler
    rng-rank{r}.pt       python / torch / cuda RNG of every rank

It is written to ``step-000120.tmp`` and renamed when complete, so a kill mid-save leaves the
previous checkpoint as the latest. The final model is exported with ``save_pretrained``
(safetensors) plus tokenizer, chat template, the resolved config and a model card; ZeRO-3
shards are gathered into full weights on the way out.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import torch

from redstar.train.distributed import barrier

STATE_FILE = "trainer_state.json"


def _rng_state() -> dict:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def data_key(paths, **settings) -> dict:
    """What a recipe contributes to the plan key: its data sources with their sizes in bytes
    (a directory: the sum over its files; a hub id: no size) and settings such as max_len
    and pack_len. A resumed run is only valid when these are unchanged."""
    sizes = []
    for src in paths:
        p = Path(src)
        if p.is_file():
            sizes.append(p.stat().st_size)
        elif p.is_dir():
            sizes.append(sum(f.stat().st_size for f in p.rglob("*") if f.is_file()))
        else:
            sizes.append(None)
    return {"data": [str(s) for s in paths], "data_bytes": sizes, **settings}


def plan_hash(key: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_plan(path: str | Path, key: dict) -> None:
    """Refuse to resume from ``path`` when the data plan settings changed since it was saved:
    the stored (epoch, micro-batch) position would point into a different plan, so the run
    would silently repeat or skip data. Checkpoints without a stored key pass."""
    from redstar.config import ConfigError

    saved = json.loads((Path(path) / STATE_FILE).read_text()).get("plan")
    if saved is None or plan_hash(saved) == plan_hash(key):
        return
    diff = [
        f"{k}: {saved.get(k)!r} -> {key.get(k)!r}"
        for k in sorted(set(saved) | set(key))
        if json.dumps(saved.get(k), default=str) != json.dumps(key.get(k), default=str)
    ]
    raise ConfigError(
        f"cannot resume from {path}: the data plan changed since it was saved ("
        + "; ".join(diff)
        + "); use a new out directory, or train.resume=false to start over"
    )


def latest_checkpoint(ckpt_root: str | Path) -> Path | None:
    """The newest complete ``step-*`` directory (temporary ``.tmp`` ones are ignored)."""
    root = Path(ckpt_root)
    if not root.is_dir():
        return None
    done = sorted(
        p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp") and (p / STATE_FILE).is_file()
    )
    return done[-1] if done else None


def resume_step(out_dir: str | Path, resume: bool = True) -> int:
    """The step a run in ``out_dir`` continues from: its newest complete checkpoint's, or 0."""
    last = latest_checkpoint(Path(out_dir) / "checkpoints") if resume else None
    if last is None:
        return 0
    return int(json.loads((last / STATE_FILE).read_text()).get("step", 0))


def trim_metrics(out_dir: str | Path, resume: bool = True) -> int:
    """Before a (re-)run: keep only the ``metrics.jsonl`` rows up to the step the run continues
    from, so steps redone after a kill are not logged twice. Returns that step."""
    from redstar.dataio import atomic_write_text

    step = resume_step(out_dir, resume)
    path = Path(out_dir) / "metrics.jsonl"
    if not path.is_file():
        return step
    kept = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if isinstance(row, dict) and int(row.get("step", 0)) <= step:
            kept.append(line)
    atomic_write_text(path, "".join(x + "\n" for x in kept))
    return step


def save_checkpoint(ckpt_root: str | Path, backend, scheduler, state: dict, keep_last: int = 2) -> Path:
    """Collective: every rank calls it. Returns the final directory."""
    root = Path(ckpt_root)
    final = root / f"step-{state['step']:06d}"
    tmp = root / (final.name + ".tmp")
    dist = backend.dist
    if dist.is_main:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    barrier()
    if backend.kind == "deepspeed":
        backend.model.save_checkpoint(str(tmp / "ds"), tag="ds")
    elif dist.is_main:
        torch.save(backend.module.state_dict(), tmp / "model.pt")
        torch.save(backend.optimizer.state_dict(), tmp / "optim.pt")
    torch.save(_rng_state(), tmp / f"rng-rank{dist.rank}.pt")
    barrier()
    if dist.is_main:
        torch.save(scheduler.state_dict(), tmp / "sched.pt")
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        olds = sorted(p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
        for old in olds[:-keep_last] if keep_last > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    barrier()
    return final


def load_checkpoint(path: str | Path, backend, scheduler) -> dict:
    """Restore model, optimizer, scheduler and this rank's RNG; returns the trainer state."""
    path = Path(path)
    state = json.loads((path / STATE_FILE).read_text())
    if backend.kind == "deepspeed":
        backend.model.load_checkpoint(
            str(path / "ds"), tag="ds", load_optimizer_states=True, load_lr_scheduler_states=False
        )
    else:
        backend.module.load_state_dict(torch.load(path / "model.pt", map_location="cpu", weights_only=True))
        backend.optimizer.load_state_dict(torch.load(path / "optim.pt", map_location="cpu", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "sched.pt", weights_only=False))
    rng = path / f"rng-rank{backend.dist.rank}.pt"
    if rng.is_file():
        _set_rng_state(torch.load(rng, weights_only=False))
    return state


def export_pretrained(
    backend, tokenizer, out_dir: str | Path, resolved_config=None, model_card: str | None = None
) -> Path | None:
    """Write the final model as a Hugging Face directory (collective; rank 0 writes).

    ``resolved_config`` (a config dataclass) is stored as ``redstar_config.yaml`` so a later
    stage can inherit from it; ``model_card`` becomes README.md."""
    from redstar.config import save_config

    state = backend.state_dict_for_export()  # gathers ZeRO-3 shards (collective)
    out = Path(out_dir)
    if backend.dist.is_main:
        tmp = out.with_name(out.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        model = backend.module
        model.save_pretrained(tmp, state_dict=state, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(tmp)
        if resolved_config is not None:
            save_config(resolved_config, tmp / "redstar_config.yaml")
        if model_card:
            (tmp / "README.md").write_text(model_card)
        from redstar.dataio import plain_modes

        plain_modes(tmp)  # safetensors arrive as private temp files: readable like any output
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    barrier()
    return out if backend.dist.is_main else None
