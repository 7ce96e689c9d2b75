"""redstar.locks.file_lock: one holder at a time across processes; ``remove`` deletes the file."""

from __future__ import annotations

import multiprocessing as mp
import time

from redstar.locks import file_lock


def _hold(path: str, log: str, tag: str) -> None:
    with file_lock(path):
        with open(log, "a") as f:
            f.write(f"{tag} in {time.monotonic()}\n")
        time.sleep(0.3)
        with open(log, "a") as f:
            f.write(f"{tag} out {time.monotonic()}\n")


def test_holders_do_not_overlap(tmp_path):
    lock, log = tmp_path / "sub" / ".x.lock", tmp_path / "log"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_hold, args=(str(lock), str(log), f"p{i}")) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    events = [line.split() for line in log.read_text().splitlines()]
    assert len(events) == 6
    # each "in" is followed by the same holder's "out": no two holders inside at once
    for (tag_in, what_in, _), (tag_out, what_out, _) in zip(events[::2], events[1::2]):
        assert (what_in, what_out) == ("in", "out") and tag_in == tag_out
    assert lock.exists()  # kept by default


def test_remove_deletes_the_file_even_on_error(tmp_path):
    lock = tmp_path / ".y.lock"
    try:
        with file_lock(lock, remove=True):
            assert lock.exists()
            raise ValueError("boom")
    except ValueError:
        pass
    assert not lock.exists()
    with file_lock(lock):  # the lock can be taken again at once
        pass
