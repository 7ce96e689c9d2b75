"""What the code sandbox's seccomp filters cost per system call.

Every system call a test process makes runs both filters (``sandbox_seccomp.sandbox_filter``,
which bwrap installs for the whole sandbox, and ``child_filter``, which the supervisor adds per
test). An allowed call that no rule names walks every rule before it is allowed, the longest
path through the filters. This script forks one process per measurement, installs the filters
named by the variant, and times a tight loop of such calls:

- ``none``: no filter;
- ``network only``: the sockets/io_uring filter the sandbox used before the namespace, keyring,
  shared-memory, ptrace and prlimit rules were added, plus ``child_filter``;
- ``current``: ``sandbox_filter`` plus ``child_filter``, as a test process runs today.

Calls: ``getppid`` (the cheapest call there is: the filters' share is largest) and a one-byte
``write`` to ``/dev/null``. Variants take turns within each repeat; median (min-max) ns per call.

    python bench/bench_seccomp.py               # writes bench/results/bench_seccomp.md
    python bench/bench_seccomp.py --calls 200000 --repeats 5
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import platform
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
from bench.common import mmm  # noqa: E402
from redstar.verify import sandbox_seccomp as sc  # noqa: E402

OUT = ROOT / "results" / "bench_seccomp.md"


def network_only() -> bytes:
    """The sandbox filter as it was before: AF_UNIX sockets only, no io_uring."""
    _, _, nr = sc.ARCHES[platform.machine()]
    socket = [sc.ins(sc.LD_ABS, sc.ARG0), sc.ins(sc.JEQ, sc.AF_UNIX, 0, 1), sc.ins(sc.RET, sc.ALLOW)]
    socket.append(sc.ins(sc.RET, sc.ERRNO | errno.EACCES))
    return sc._program([(nr["socket"], socket), (nr["io_uring_setup"], [sc.ins(sc.RET, sc.ERRNO | errno.EPERM)])], None)


VARIANTS = {
    "none": lambda: [],
    "network only": lambda: [network_only(), sc.child_filter()],
    "current": lambda: [sc.sandbox_filter(), sc.child_filter()],
}


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install(progs: list[bytes]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if progs and libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    for prog in progs:
        buf = ctypes.create_string_buffer(prog, len(prog))
        fprog = _Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
        if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def _loop(call: str, n: int) -> float:
    """ns per call, the Python loop's own cost included (the same in every variant)."""
    if call == "getppid":
        f, args = os.getppid, ()
    else:
        f, args = os.write, (os.open(os.devnull, os.O_WRONLY), b"x")
    t = time.perf_counter_ns()
    for _ in range(n):
        f(*args)
    return (time.perf_counter_ns() - t) / n


def measure(variant: str, call: str, n: int) -> float:
    """Fork, install the variant's filters in the child, time the loop there."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            _install(VARIANTS[variant]())
            _loop(call, n // 10)  # warm up
            os.write(w, struct.pack("=d", _loop(call, n)))
        finally:
            os._exit(0)
    os.close(w)
    data = os.read(r, 8)
    os.close(r)
    os.waitpid(pid, 0)
    if len(data) != 8:
        raise RuntimeError(f"the {variant} child reported nothing")
    return struct.unpack("=d", data)[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=300_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    calls = ("getppid", "write")
    got = {(v, c): [] for v in VARIANTS for c in calls}
    for rep in range(args.repeats):
        for c in calls:
            for v in VARIANTS:
                got[v, c].append(measure(v, c, args.calls))
                print(f"repeat {rep + 1} {c:8s} {v:13s} {got[v, c][-1]:7.1f} ns/call", flush=True)
    sizes = {v: sum(len(p) // 8 for p in VARIANTS[v]()) for v in VARIANTS}
    lines = [
        "# bench_seccomp",
        "",
        f"Command: `python bench/bench_seccomp.py{' ' + ' '.join(argv or sys.argv[1:]) if (argv or sys.argv[1:]) else ''}`",
        "",
        f"Machine: {os.cpu_count()}-core CPU ({platform.machine()}), shared with other jobs; Linux "
        f"{platform.release()}; Python {platform.python_version()}. One forked process per measurement, "
        f"{args.calls:,} calls each, variants taking turns; {args.repeats} repeats, median (min-max) ns per "
        "call, the Python loop's own cost included.",
        "",
        "| call | "
        + " | ".join(f"{v} ({sizes[v]} BPF instructions)" for v in VARIANTS)
        + " | current - none | current - network only |",
        "|---|" + "---|" * (len(VARIANTS) + 2),
    ]
    for c in calls:
        cells = [mmm(got[v, c], "{:.0f}") for v in VARIANTS]
        for base in ("none", "network only"):
            cells.append(mmm([a - b for a, b in zip(got["current", c], got[base, c])], "{:+.0f}"))
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Differences are per repeat (same repeat), then median (min-max). Installing any filter costs a",
        "fixed amount per call (the kernel's seccomp entry path); the rules added for namespaces,",
        "keyrings, shared memory, ptrace and prlimit are what current adds over network only.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
