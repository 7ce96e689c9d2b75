"""What the sweep directory says is finished: the one place resume decisions are made.

A unit of work (a training cell, an eval run) is done when its command's own output is there
(``<stage>/final/config.json``, ``metrics.json``) and the command recorded when it started is
the command the sweep would run now. A finished or started unit whose command changed is an
error, not a silent rerun or a silent mix of two settings.
"""

from __future__ import annotations

import json
from pathlib import Path

from redstar.config import ConfigError
from redstar.dataio import write_json


def open_sweep(out: Path, config_text: str, resume: bool) -> None:
    """Claim ``out`` for this sweep: a fresh directory, or (with --resume) the same sweep's."""
    marker = out / "sweep.yaml"
    if marker.is_file() and not resume:
        raise ConfigError(f"{out}: already holds a sweep; pass --resume to continue it (finished cells are "
                          f"skipped) or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    from redstar.dataio import atomic_write_text

    atomic_write_text(marker, config_text)


def _record(out: Path, unit: str) -> Path:
    return out / "state" / (unit.replace("/", "__") + ".json")


def check_unit(out: Path, unit: str, commands: list[str], done_files: list[str]) -> bool:
    """True when ``unit`` finished with these commands; raises when it ran with others."""
    rec = _record(out, unit)
    finished = all(Path(f).is_file() for f in done_files)
    if rec.is_file():
        old = json.loads(rec.read_text()).get("commands")
        if old != commands:
            raise ConfigError(f"{out}: {unit} was {'run' if finished else 'started'} with other commands "
                              f"({rec}); changed inputs are refused: use another --out, or delete "
                              f"{rec} and that unit's outputs to run it again")
        return finished
    if finished:   # outputs without a record: not made by this sweep
        raise ConfigError(f"{out}: {unit} has outputs ({done_files[0]}) this sweep did not record; "
                          f"use another --out")
    return False


def start_unit(out: Path, unit: str, commands: list[str]) -> None:
    write_json(_record(out, unit), {"commands": commands})


def unit_status(out: Path, unit: str) -> dict:
    rec = _record(out, unit)
    return json.loads(rec.read_text()) if rec.is_file() else {}


def finish_unit(out: Path, unit: str, commands: list[str], **info) -> None:
    """Keep what the run measured (wall time, exit status) beside its commands."""
    write_json(_record(out, unit), {"commands": commands, **info})
