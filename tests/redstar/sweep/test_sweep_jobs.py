"""`jobs`: a sweep's cells and eval runs, several at once; failures come back in the jobs' order."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from redstar.config import ConfigError, load_config
from redstar.sweep.cli import _run_all
from redstar.sweep.config import SweepConfig, check

ROOT = Path(__file__).resolve().parents[3]


def _tracker():
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def work(job):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return f"job {job} failed" if job % 3 == 0 else None

    return work, state


@pytest.mark.parametrize("workers, most", [(1, 1), (2, 2), (4, 4)])
def test_at_most_workers_at_once_and_failures_in_order(workers, most):
    work, state = _tracker()
    failures = _run_all(list(range(1, 9)), work, workers)
    assert failures == ["job 3 failed", "job 6 failed"]
    assert state["most"] == most and state["now"] == 0


def test_two_workers_take_about_half_the_time():
    work, _ = _tracker()
    start = time.monotonic()
    _run_all(list(range(8)), work, 2)
    assert time.monotonic() - start < 8 * 0.15 * 0.8  # well under the one-at-a-time 1.2 s


def test_jobs_below_one_is_refused():
    laptop = str(ROOT / "configs" / "sweep_laptop.yaml")
    check(load_config(SweepConfig, laptop, ["jobs=2"]), laptop)
    with pytest.raises(ConfigError, match="'jobs' must be >= 1"):
        check(load_config(SweepConfig, laptop, ["jobs=0"]), laptop)
