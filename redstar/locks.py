"""One exclusive ``flock`` on a file, held while a block runs: how processes that share a
directory without a process group (curation array tasks, the ranks of several nodes building a
token cache) take turns. Works on local filesystems and on NFSv4 (byte-range locks)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, remove: bool = False):
    """Hold an exclusive ``flock`` on ``path`` (created, with its parents, if missing) for the
    block. ``remove`` deletes the file when the block ends, before the lock is released, so a
    waiter that then gets the lock re-checks what was done rather than trusting the file."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if remove:
            path.unlink(missing_ok=True)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
