"""One contract for every command's output directory (curate, sft, dpo, rm, eval, sweep, demo).

    run = open_run_dir(out, "sft", key=result_key(to_dict(cfg), ignore=TRAIN_IGNORE),
                       config=to_dict(cfg), inputs=cfg.data.train, overwrite=args.overwrite)
    if run.complete:
        print(run.complete_message())      # same inputs, finished before: nothing to do, exit 0
        return 0
    ...                                    # do the work, resuming from what DIR already holds
    run.finish({"steps": 120})            # marks DIR complete

``DIR/run.json`` records the command, the resolved config, the key (the settings and input
files that shape the result) and its hash, and the status (``running`` / ``complete``).
Running again into DIR:

- same command and key, status complete: ``run.complete`` is true, the caller says so and exits 0;
- same command and key, not complete: the run continues (``run.resumed``);
- anything else is refused with ``RunDirError`` listing each changed key as ``key: old -> new``,
  unless ``overwrite=True``, which empties DIR first;
- except a record of a run that stopped before writing anything (DIR holds only ``run.json``
  and empty folders, e.g. after a bad data file): it gives way to the new run;
- a non-empty DIR without ``run.json`` is refused too (it holds something else).

Only one process decides and writes. Under torchrun, ``open_config_run`` with
``decide_on_rank0`` (``redstar.train.distributed.decided_by_rank0``) has rank 0 open the directory
and hands its decision to the other ranks, which wait and never read a half-written record.
Independent processes sharing a directory (curation array tasks ``--shard i/N``) open it with
``open_run_dir_locked``: one at a time, under an ``flock`` on ``DIR/.run.lock``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from redstar.config import ConfigError

RUN_FILE = "run.json"
LOCK_FILE = ".run.lock"  # flock'd by open_run_dir_locked; never cleared, never counts as content

# Settings of the training engine that change how a run is watched, not what it produces.
TRAIN_IGNORE = (
    "out",
    "train.progress",
    "train.log_every",
    "train.save_every",
    "train.keep_last",
    "train.resume",
    "train.tensorboard",
    "train.wandb_project",
    "train.peak_tflops",
    "push",
    # where and how fast the rows are tokenised, not what they become (redstar/train/token_cache.py)
    "data.cache_dir",
    "data.num_proc",
    "stages.*.data.cache_dir",
    "stages.*.data.num_proc",
)


class RunDirError(ConfigError):
    """DIR holds another run (other command, other inputs, or foreign files)."""


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings (and lists of mappings) as ``{"a.b.0.c": value}``; other lists stay whole."""
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        if not obj and prefix:
            out[prefix] = {}
        for k, v in obj.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(obj, (list, tuple)) and obj and all(isinstance(v, dict) for v in obj):
        for i, v in enumerate(obj):
            out.update(flatten(v, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix] = list(obj) if isinstance(obj, tuple) else obj
    return out


def result_key(config: dict, ignore: Iterable[str] = ()) -> dict[str, Any]:
    """The flattened config without the keys in ``ignore`` (a key drops its sub-keys too; a key
    with ``*`` is a pattern, e.g. ``stages.*.data.cache_dir``)."""
    from fnmatch import fnmatchcase

    ignore = tuple(ignore)

    def ignored(k: str) -> bool:
        return any(k == i or k.startswith(i + ".") or ("*" in i and fnmatchcase(k, i)) for i in ignore)

    return {k: v for k, v in flatten(config).items() if not ignored(k)}


def input_files(paths: Iterable[str | os.PathLike]) -> dict[str, Any]:
    """Each input as ``{"input:PATH": size}``: a file's size in bytes; a directory's total
    bytes and the time its newest file was written (a model directory re-exported by a new
    training run has the same size); None for a hub id or a missing path. So a re-written
    input counts as a changed input."""
    out: dict[str, Any] = {}
    for src in paths:
        p = Path(src)
        if p.is_file():
            size: Any = p.stat().st_size
        elif p.is_dir():
            stats = [f.stat() for f in p.rglob("*") if f.is_file() and f.name != RUN_FILE]
            size = {
                "bytes": sum(st.st_size for st in stats),
                "newest": time.strftime(
                    "%Y-%m-%dT%H:%M:%S", time.localtime(max((st.st_mtime for st in stats), default=0))
                ),
            }
        else:
            size = None
        out[f"input:{src}"] = size
    return out


def local_model(model: str) -> list[str]:
    """``[model]`` when it is a local directory (an earlier run's output, whose re-export is a
    changed input), else ``[]`` (a hub id or a built-in name)."""
    return [model] if isinstance(model, str) and Path(model).is_dir() else []


def key_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _show(v: Any) -> str:
    return "(unset)" if v is _MISSING else json.dumps(v, default=str)


_MISSING = object()


def diff_keys(old: dict, new: dict) -> list[str]:
    """``key: old -> new`` for every key whose value differs (or exists on one side only)."""
    lines = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k, _MISSING), new.get(k, _MISSING)
        if (
            a is _MISSING
            or b is _MISSING
            or json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str)
        ):
            lines.append(f"{k}: {_show(a)} -> {_show(b)}")
    return lines


def _write_record(path: Path, record: dict) -> None:
    from redstar.dataio import write_json

    write_json(path / RUN_FILE, record)


def clear_dir(path: Path) -> None:
    """Empty ``path`` (not the directory itself). Refuses the filesystem root, the home
    directory and any directory holding the current one."""
    path = Path(path).resolve()
    cwd = Path.cwd().resolve()
    if path == Path(path.anchor) or path == Path.home().resolve() or cwd == path or path in cwd.parents:
        raise RunDirError(
            f"--overwrite: refusing to clear {path} (it holds the current directory or is the home or root directory)"
        )
    if not path.is_dir():
        return
    for child in path.iterdir():
        if child.name == LOCK_FILE:  # another process may hold it: the same file must stay
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


@dataclass
class RunDir:
    path: Path
    command: str
    key: dict
    config: dict | None = None
    state: str = "new"  # new | resume | complete
    is_main: bool = True
    record: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    @property
    def resumed(self) -> bool:
        return self.state == "resume"

    def complete_message(self) -> str:
        return (
            f"{self.path}: already complete (redstar {self.command}, same inputs); nothing to do. "
            "Pass --overwrite to run it again."
        )

    def finish(self, summary: dict | None = None) -> None:
        """Mark the directory complete (a later run with the same key exits at once)."""
        if not self.is_main:
            return
        self.record = {
            **(read_record(self.path) or {}),  # what the run added meanwhile (add_to_record)
            **self.record,
            "status": "complete",
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "summary": summary or {},
        }
        _write_record(self.path, self.record)
        self.state = "complete"


def read_record(out: str | os.PathLike) -> dict | None:
    f = Path(out) / RUN_FILE
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text())
    except json.JSONDecodeError:
        return None


def _holds_no_work(path: Path) -> bool:
    """True when DIR holds its run record and at most empty folders: the run it records stopped
    before writing anything (a bad data file or setting found before the first step)."""
    for root, _dirs, files in os.walk(path):
        if any(not (Path(root) == path and f in (RUN_FILE, LOCK_FILE)) for f in files):
            return False
    return True


def open_run_dir(
    out: str | os.PathLike,
    command: str,
    key: dict,
    *,
    config: dict | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    is_main: bool = True,
    create: bool = True,
) -> RunDir:
    """Check DIR against this run (see the module doc) and record it as running.

    ``key`` holds what shapes the result (e.g. ``result_key(config, ignore=...)``); ``inputs``
    adds the sizes of input files to it. ``create=False`` only checks (nothing is written).
    Raises ``RunDirError`` for a directory holding another run."""
    path = Path(out)
    key = {**key, **input_files(inputs)}
    h = key_hash(key)
    if overwrite and is_main and path.exists():
        clear_dir(path)
    record = None if overwrite else read_record(path)
    stale = record is not None and record.get("status") != "complete" and _holds_no_work(path)
    if stale:
        record = None  # a run that stopped before doing anything (bad data, bad config) gives way
    state = "new"
    if record is None:
        if not (overwrite or stale) and path.is_dir() and any(p.name != LOCK_FILE for p in path.iterdir()):
            raise RunDirError(
                f"{path} is not empty and holds no run record ({RUN_FILE}); use a new "
                "directory, or --overwrite to clear it first"
            )
    else:
        if record.get("command") != command:
            raise RunDirError(
                f"{path} holds a `redstar {record.get('command')}` run, not `redstar {command}`; "
                "use a new directory, or --overwrite to clear it first"
            )
        if record.get("key_hash") != h:
            changes = diff_keys(record.get("key") or {}, key) or ["(the key hash differs)"]
            raise RunDirError(
                f"{path} holds a run with other inputs; changed: "
                + "; ".join(changes)
                + ". Use a new directory, or --overwrite to clear it and start over"
            )
        state = "complete" if record.get("status") == "complete" else "resume"
    run = RunDir(path=path, command=command, key=key, config=config, state=state, is_main=is_main)
    if state == "complete":
        run.record = record or {}
        return run
    run.record = {
        "command": command,
        "status": "running",
        "key_hash": h,
        "key": key,
        "config": config if config is not None else {},
        "started": (record or {}).get("started") or time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if create and is_main:
        path.mkdir(parents=True, exist_ok=True)
        _write_record(path, run.record)
    return run


def open_config_run(
    command: str,
    config: dict,
    *,
    inputs: Iterable[str | os.PathLike] = (),
    overwrite: bool = False,
    ignore: Iterable[str] = TRAIN_IGNORE,
    out_key: str = "out",
    decide_on_rank0: Callable | None = None,
) -> RunDir:
    """``open_run_dir`` for a config-driven command (``config[out_key]`` is DIR): the key is
    the resolved config less ``ignore``; only rank 0 (``RANK`` unset or 0) writes.

    ``decide_on_rank0(decide)`` (a training command under torchrun:
    ``redstar.train.distributed.decided_by_rank0``) runs the check on rank 0 alone and gives
    every rank its outcome; without it every rank checks DIR itself."""
    is_main = int(os.environ.get("RANK", "0") or 0) == 0

    def decide(main: bool = is_main) -> RunDir:
        return open_run_dir(
            config[out_key],
            command,
            result_key(config, ignore),
            config=config,
            inputs=inputs,
            overwrite=overwrite,
            is_main=main,
        )

    if decide_on_rank0 is None or int(os.environ.get("WORLD_SIZE", "1") or 1) == 1:
        return decide()
    run = decide_on_rank0(decide)
    return run if is_main else replace(run, is_main=False)


def open_run_dir_locked(out: str | os.PathLike, command: str, key: dict, **kwargs) -> RunDir:
    """``open_run_dir`` for processes that share DIR without a process group (curation array
    tasks): one at a time, under an exclusive ``flock`` on ``DIR/.run.lock``, so none sees
    another's half-written record. Each is a main process (``is_main``): the first records the
    run, the others find it running and continue it. Pass ``overwrite`` from one of them only
    (it empties DIR). The lock works on local filesystems and on NFSv4 (byte-range locks)."""
    from redstar.locks import file_lock

    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    with file_lock(path / LOCK_FILE):
        return open_run_dir(path, command, key, **kwargs)


def add_to_record(out: str | os.PathLike, section: str, name: str, value: Any) -> None:
    """Note ``value`` under ``run.json[section][name]`` (e.g. the token cache a run reads);
    ``RunDir.finish`` keeps it. Main process only; nothing when DIR has no record."""
    record = read_record(out)
    if record is None:
        return
    record.setdefault(section, {})[name] = value
    _write_record(Path(out), record)


def add_overwrite_argument(parser) -> None:
    parser.add_argument(
        "--overwrite", action="store_true", help="empty the output directory first (it holds a run with other inputs)"
    )


def run_training(
    command: str, cfg: Any, train: Callable[[Any], dict], inputs: Iterable[str | os.PathLike], overwrite: bool
) -> dict | None:
    """One training command under the run-directory contract (dpo, rm train): refuse settings
    this machine cannot run, open ``cfg.out``; when it already holds the finished run, say so and
    return None. Otherwise drop metrics of steps a kill left past the last checkpoint, call
    ``train(cfg)``, mark the directory complete and publish the final model when ``push.repo``
    is set (rank 0 only has ``final_dir``); return ``train``'s summary."""
    from redstar.config import to_dict
    from redstar.release.push import push_after_training
    from redstar.train.checkpoint import trim_metrics
    from redstar.train.distributed import decided_by_rank0
    from redstar.train.engine import check_train_settings

    check_train_settings(cfg.train)
    run_dir = open_config_run(
        command,
        to_dict(cfg),
        inputs=inputs,
        overwrite=overwrite,
        decide_on_rank0=lambda decide: decided_by_rank0(decide, cfg.train.device),
    )
    if run_dir.complete:
        print(run_dir.complete_message())
        return None
    if run_dir.is_main:
        trim_metrics(cfg.out, cfg.train.resume)  # steps redone after a kill are logged once
    result = train(cfg)
    run_dir.finish({k: result.get(k) for k in ("final_dir", "step", "final_loss", "tokens", "loop_seconds")})
    if result.get("final_dir"):
        push_after_training(result["final_dir"], cfg.push)
    return result
