"""What the sweep directory says is finished: the one place resume decisions are made.

The sweep directory itself follows the run-directory contract (``open_sweep``). Inside it, a
unit of work (a training cell, an eval run) is done when its command's own output is there
(``<stage>/final/config.json``, ``metrics.json``) and the command recorded when it started is
the command the sweep would run now. A finished or started unit whose command changed is an
error, not a silent rerun or a silent mix of two settings.
"""

from __future__ import annotations

import json
from pathlib import Path

from redstar.config import ConfigError
from redstar.dataio import write_json

# Settings that change how results are shown or submitted, not what the cells produce.
SWEEP_IGNORE = ("slurm", "eval.bootstrap", "threads", "jobs")


def open_sweep(out: Path, cfg, resume: bool, overwrite: bool = False, create: bool = True):
    """Claim ``out`` through the run-directory contract (``redstar.rundir``): a fresh directory,
    the same sweep continued with --resume, or another sweep's refused with the changed keys.

    The key is the resolved sweep config plus the sizes of its input files (the source, the
    preferences and the stage configs), so an edited base config is a changed input too."""
    from redstar.config import to_dict
    from redstar.rundir import open_run_dir, read_record, result_key

    config = to_dict(cfg)
    inputs = (
        [cfg.source] + ([cfg.preferences] if cfg.preferences else []) + [getattr(cfg, s).config for s in cfg.stages]
    )
    old = None if overwrite else read_record(out)
    if old is not None and old.get("command") == "sweep" and old.get("status") != "complete" and not resume and create:
        raise ConfigError(
            f"{out}: already holds a sweep that has not finished; pass --resume to continue it "
            f"(finished cells are skipped), --overwrite to start over, or choose another --out"
        )
    return open_run_dir(
        out,
        "sweep",
        result_key(config, ignore=SWEEP_IGNORE),
        config=config,
        inputs=inputs,
        overwrite=overwrite,
        create=create,
    )


def _record(out: Path, unit: str) -> Path:
    return out / "state" / (unit.replace("/", "__") + ".json")


def check_unit(out: Path, unit: str, commands: list[str], done_files: list[str]) -> bool:
    """True when ``unit`` finished with these commands; raises when it ran with others."""
    rec = _record(out, unit)
    finished = all(Path(f).is_file() for f in done_files)
    if rec.is_file():
        old = json.loads(rec.read_text()).get("commands")
        if old != commands:
            raise ConfigError(
                f"{out}: {unit} was {'run' if finished else 'started'} with other commands "
                f"({rec}); changed inputs are refused: use another --out, or delete "
                f"{rec} and that unit's outputs to run it again"
            )
        return finished
    if finished:  # outputs without a record: not made by this sweep
        raise ConfigError(f"{out}: {unit} has outputs ({done_files[0]}) this sweep did not record; use another --out")
    return False


def start_unit(out: Path, unit: str, commands: list[str]) -> None:
    write_json(_record(out, unit), {"commands": commands})


def unit_status(out: Path, unit: str) -> dict:
    rec = _record(out, unit)
    return json.loads(rec.read_text()) if rec.is_file() else {}


def finish_unit(out: Path, unit: str, commands: list[str], **info) -> None:
    """Keep what the run measured (wall time, exit status) beside its commands."""
    write_json(_record(out, unit), {"commands": commands, **info})
