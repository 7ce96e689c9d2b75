"""Run one program against a list of test inputs in a local sandbox, returning raw per-test results.

One sandbox per graded item (``bwrap``, or nothing with ``--sandbox none``) runs SUPERVISOR, a
small Python program that reads the job (code, limits) from its stdin, compiles the code once and
forks one fresh process per test. Stdin carries, after the job, each test's input as
``<length>\\n<bytes>``; the supervisor moves one test's input at a time into a fresh memfd with
``splice`` (never into its own memory; a plain copy only where the kernel refuses splice), so a
test process sees its own input and no other, as a regular file (``os.fstat(0).st_size`` works,
as on a judge). ``fn_name`` tests read their arguments (JSON) from that file. Each test process has its stdout and stderr on pipes the
supervisor reads, rlimits (CPU, address space, file size, open files, processes, no core), and in
``bwrap`` mode a seccomp filter that refuses new processes.

A test runs as a program: ``exit`` and ``quit`` exist (what ``site`` adds; the interpreter starts
with ``-S``), and at the end the runner does what the interpreter does at exit: joins non-daemon
threads (``threading.Thread(target=main).start()``), runs ``atexit`` handlers, flushes whatever
``sys.stdout`` / ``sys.stderr`` are by then (the FastIO template replaces them), then the files
the program left open in its globals. A call-form test
runs ``CALL_PREFIX`` first (the ``typing`` names and modules a LeetCode starter file assumes) and
returns its value through a descriptor of its own, while the program's prints go to /dev/null;
the value is encoded by ``encode_value`` so that the grader compares what ``==`` would see.
The supervisor sends each test's result back as a frame on its stdout, a pipe only this parent
holds; frames never depend on what the program does with ``sys.stdout``; the parent compares.

The supervisor makes itself non-dumpable, so a test process (same user) can neither trace it
nor open its file descriptors through ``/proc``; under ``bwrap`` it is the sandbox's pid 1, so
a test process cannot kill it either. Expected outputs never enter the sandbox.

Frames (supervisor -> parent):
    R <k> <status> <rc> <n_out> <n_err>\\n <n_out bytes of stdout> <n_err bytes of stderr tail>
    C <n_err>\\n <stderr tail>           (the code does not compile)
    E\\n                                  (all tests done)
status: ok | timeout | output (more than the output cap) ; rc: the exit status (-N: signal N).
"""

from __future__ import annotations

import itertools
import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

MEMORY_MB = 1024
OUTPUT_BYTES = 8 << 20
FILE_BYTES = 16 << 20
ERR_TAIL = 2048
MAX_FRAME_HEADER = 200

CALL_FORM = r'''
import json as _json

# The names a LeetCode-style starter file assumes (LeetCode and TACO predefine them), then the
# builtins again so that no star import shadows one (math's pow, re's compile).
CALL_PREFIX = (
    "from typing import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\n"
    "from math import *\nfrom itertools import *\nfrom functools import *\n"
    "import collections, heapq, bisect, math, itertools, functools, string, re, random, operator, copy, sys\n"
    "from builtins import *\n"
)


def encode_value(x, depth=0):
    """A return value as JSON text that keeps what ``==`` sees: tuples, dicts with their key types,
    sets, non-finite floats; numpy scalars and arrays become Python values. Anything else (an
    object that could decide its own equality) is refused."""
    if depth > 500:
        raise TypeError("return value nested too deeply")
    if x is None or isinstance(x, bool):
        return x if x is None else bool(x)
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        x = float(x)
        return x if x == x and x not in (float("inf"), float("-inf")) else {"f": repr(x)}
    if isinstance(x, str):
        return str(x)
    if type(x).__module__ == "numpy" and hasattr(x, "tolist"):
        return encode_value(x.tolist(), depth + 1)  # numpy scalar (.tolist() is .item()) or array
    if isinstance(x, list):
        return [encode_value(v, depth + 1) for v in list(x)]
    if isinstance(x, tuple):
        return {"t": [encode_value(v, depth + 1) for v in tuple(x)]}
    if isinstance(x, (set, frozenset)):
        return {"s": [encode_value(v, depth + 1) for v in list(x)]}
    if isinstance(x, dict):
        return {"d": [[encode_value(k, depth + 1), encode_value(v, depth + 1)] for k, v in dict(x).items()]}
    raise TypeError("return value of type " + type(x).__name__ + " is not plain data")  # (CALL_FORM holds no percent sign: the remote harness formats it)


def call_form(code, fn_name, arg, ns):
    """A call-form test: run the program in ns after CALL_PREFIX, call fn_name (a function, or a
    method of a class Solution) with the test's arguments and return the result as JSON text
    (``encode_value``); exit status 120 when there is no such function. Sandbox source, shared
    with the remote harness."""
    exec(CALL_PREFIX, ns)
    exec(code, ns)
    fn = ns.get(fn_name)
    if fn is None and isinstance(ns.get("Solution"), type):
        fn = getattr(ns["Solution"](), fn_name, None)
    if not callable(fn):
        raise SystemExit(120)
    value = fn(*arg) if isinstance(arg, list) else fn(arg)
    getattr(sys, "set_int_max_str_digits", lambda n: None)(0)
    return _json.dumps(encode_value(value), allow_nan=False)
'''

SUPERVISOR = (
    CALL_FORM
    + r"""
import json, os, resource, select, signal, sys, time
t0 = time.monotonic()
# -- pid-1 set-up (sandbox isolation; program semantics live below) --------------------------
# The kernel drops every signal sent to a pid namespace's init from inside it unless init has a
# handler for it: Python's own handlers (SIGINT's KeyboardInterrupt) go back to the default, so
# no test process can stop, interrupt or kill this supervisor (ignored signals stay ignored).
for _s in signal.valid_signals():
    if callable(signal.getsignal(_s)):
        signal.signal(_s, signal.SIG_DFL)
# -- end of pid-1 set-up ---------------------------------------------------------------------
chan = os.dup(1)
feed = os.dup(0)

def read_exact(n):
    parts = []
    while n > 0:
        b = os.read(feed, min(n, 1 << 20))
        if not b:
            os._exit(0)  # the grader went away
        parts.append(b)
        n -= len(b)
    return b"".join(parts)

def read_length():
    # one decimal length and a newline, read a byte at a time: nothing after it is read into memory
    digits = b""
    while True:
        c = read_exact(1)
        if c == b"\n":
            return int(digits)
        digits += c

job = json.loads(read_exact(read_length()))
null = os.open("/dev/null", os.O_RDWR)
os.dup2(null, 0)
os.dup2(null, 1)
end = t0 + job["wall"]
sys.path.extend(job["paths"])
sys.setrecursionlimit(100000)

def send(data):
    while data:
        data = data[os.write(chan, data):]

def tail(b):
    return b[-job["err_tail"]:]

try:
    code = compile(job["code"], "solution.py", "exec")
except BaseException as e:
    msg = ("%s: %s\n" % (type(e).__name__, e)).encode("utf-8", "replace")
    send(b"C %d\n" % len(tail(msg)) + tail(msg))
    os._exit(0)

import ast
names = {"collections", "heapq", "math", "itertools", "functools", "bisect", "re", "string", "io",
         "typing", "random", "operator", "copy", "fractions", "decimal", "statistics", "array", "traceback"}
try:
    for node in ast.walk(ast.parse(job["code"])):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
except (SyntaxError, ValueError, RecursionError, MemoryError):
    pass
allowed = (set(sys.stdlib_module_names) | set(job["third_party"])) - {
    "antigravity", "this", "webbrowser", "turtle", "turtledemo", "tkinter", "idlelib", "ensurepip", "venv",
    "pdb", "code", "pydoc"}
for name in sorted(names & allowed):
    try:
        __import__(name)
    except BaseException:
        pass
import _sitebuiltins, atexit, io, traceback
prog = None
if job["seccomp"]:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    flt = bytes.fromhex(job["seccomp"])
    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    buf = ctypes.create_string_buffer(flt, len(flt))
    prog = Fprog(len(flt) // 8, ctypes.cast(buf, ctypes.c_void_p))
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no /proc/<pid>/fd, no ptrace from the tests
else:
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
    except Exception:
        pass

def take_input(n):
    # the next test's input, moved from the grader's pipe into a fresh memfd without passing
    # through this process's memory (splice): a test process never finds another test's input
    fd = os.memfd_create("stdin", 0)
    try:
        while n > 0:
            try:
                moved = os.splice(feed, fd, n)
            except OSError:
                moved = os.write(fd, os.read(feed, min(n, 1 << 16)))
            if moved <= 0:
                os._exit(0)
            n -= moved
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd

def finish(rc, call, ns):
    # what the interpreter does at exit: join non-daemon threads, run atexit handlers, flush
    # whatever sys.stdout and sys.stderr are now (a FastIO wrapper included), then the files the
    # program left open in its globals, as their finalizers do at shutdown
    try:
        th = sys.modules.get("threading")
        if th is not None:
            th._shutdown()
    except BaseException:
        pass
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            if not call:  # a call's prints go nowhere; a program whose stdout cannot be flushed
                rc = rc or 120  # exits 120, as CPython does
    try:  # the program's globals and their attributes (a walk of the whole heap costs too much a test)
        seen = []
        for value in list(ns.values()):
            seen.append(value)
            attrs = getattr(value, "__dict__", None)
            if isinstance(attrs, dict) and not isinstance(value, type(sys)):
                seen.extend(list(attrs.values()))
        for obj in seen:
            if isinstance(obj, io.IOBase) and obj is not sys.stdout and obj is not sys.stderr:
                try:
                    if not obj.closed and obj.writable():
                        obj.flush()
                except BaseException:
                    pass
    except BaseException:
        pass
    return rc

def child(fn_name, stop):
    os.setpgid(0, 0)
    m = job["mem"]
    for lim, val in ((resource.RLIMIT_AS, m), (resource.RLIMIT_FSIZE, job["fsize"]), (resource.RLIMIT_CORE, 0),
                     (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_NPROC, job["nproc"])):
        resource.setrlimit(lim, (val, val))
    cpu = max(1, int(stop - time.monotonic()) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if prog is not None:
        if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
            os._exit(121)  # PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP: never run the code without its filter
    import builtins, _sitebuiltins
    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")  # what site adds
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    result = -1
    if fn_name is not None:
        with open(0, "rb", closefd=False) as f:
            arg = json.loads(f.read())
        nul = os.open("/dev/null", os.O_RDWR)
        os.dup2(nul, 0)
        result = os.dup(1)  # the return value's channel; the program's own stdout goes nowhere
        os.dup2(nul, 1)
        os.close(nul)
    sys.stdin = sys.__stdin__ = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.argv = ["solution.py"]
    rc, text = 0, None
    # the program's globals live until finish(), as a module's do until interpreter shutdown
    ns = {"__name__": "__main__" if fn_name is None else "solution", "__builtins__": builtins}
    try:
        if fn_name is None:
            exec(code, ns)
        else:
            text = call_form(code, fn_name, arg, ns)
    except SystemExit as e:
        c = e.code
        rc = 0 if c is None else c if isinstance(c, int) else 1
        if not isinstance(c, (int, type(None))):
            print(c, file=sys.stderr)
    except BaseException:
        rc = 1
        try:
            traceback.print_exc()
        except BaseException:
            pass
    rc = finish(rc, fn_name is not None, ns)
    if text is not None and rc == 0:
        data = text.encode("utf-8", "surrogatepass")
        while data:
            data = data[os.write(result, data):]
    os._exit(rc & 0xFF)

def run(k, fn_name, stdin_fd):
    stop = end if not job["per_test"] else min(end, time.monotonic() + job["per_test"])
    fds = [os.pipe() for _ in range(2)]
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(stdin_fd, 0)
            os.dup2(fds[0][1], 1)
            os.dup2(fds[1][1], 2)
            os.closerange(3, 1 << 16)
            child(fn_name, stop)
        finally:
            os._exit(122)
    os.close(stdin_fd)
    r_out, r_err = fds[0][0], fds[1][0]
    for fd in (fds[0][1], fds[1][1]):
        os.close(fd)
    poll = select.poll()
    poll.register(r_out, select.POLLIN)
    poll.register(r_err, select.POLLIN)
    out, n_out, err, status, open_fds = [], 0, b"", "ok", 2
    while open_fds:
        left = stop - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        for fd, ev in poll.poll(left * 1000):
            b = os.read(fd, 65536)
            if not b:
                poll.unregister(fd)
                open_fds -= 1
            elif fd == r_out:
                out.append(b)
                n_out += len(b)
                if n_out > job["out_cap"]:
                    status = "output"
                    open_fds = 0
                    break
            else:
                err = tail(err + b)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _, st = os.waitpid(pid, 0)
    for fd in (r_out, r_err):
        os.close(fd)
    rc = os.waitstatus_to_exitcode(st)
    if status == "ok" and rc == -signal.SIGXCPU:
        status = "timeout"
    o = b"".join(out)[:job["out_cap"]]
    return b"R %d %s %d %d %d\n" % (k, status.encode(), rc, len(o), len(err)) + o + err

for k in range(job["n_tests"]):
    frame = run(k, job["fn_name"], take_input(read_length()))
    send(frame)
    if frame.split(b" ", 3)[2] == b"timeout":
        break
send(b"E\n")
"""
)


class SandboxError(RuntimeError):
    """The sandbox broke down while grading (not the program's fault); the item fails closed."""


@dataclass
class TestResult:
    status: str  # ok | timeout | output
    rc: int  # exit status, -N for signal N
    stdout: bytes
    stderr_tail: bytes


class Run:
    """One sandbox process for one item; iterate ``results()`` for per-test results as they come."""

    def __init__(
        self, mode: str, code: str, inputs: list, fn_name: str | None, timeout: float, per_test: float | None = None
    ):
        from redstar.verify import sandbox_bwrap as bw

        self.compile_error: bytes | None = None
        self.deadline = time.monotonic() + timeout
        self.workdir = None
        third_party = list(bw.THIRD_PARTY)
        _, paths = bw.site_dirs()
        job = {
            "code": code,
            "n_tests": len(inputs),
            "fn_name": fn_name,
            "wall": max(0.05, timeout - 0.1),
            "per_test": per_test or 0,  # seconds a test may run (the item's wall bounds them all)
            "mem": MEMORY_MB << 20,
            "fsize": FILE_BYTES,
            "nproc": 64,
            "out_cap": OUTPUT_BYTES,
            "err_tail": ERR_TAIL,
            "paths": list(paths),
            "third_party": third_party,
            "seccomp": bw.child_filter().hex() if mode == "bwrap" else "",
        }
        head = json.dumps(job).encode("utf-8", "surrogatepass")
        parts = [b"%d\n" % len(head), head]
        for x in inputs:  # each test's input; the supervisor moves one at a time into that test's stdin
            data = (json.dumps(x) if fn_name is not None else x).encode("utf-8", "surrogatepass")
            parts += [b"%d\n" % len(data), data]
        self.job = b"".join(parts)
        argv = [bw.interpreter(), "-I", "-S", "-c", SUPERVISOR]
        fds: tuple = ()
        if mode == "bwrap":
            bwrap = bw.check()
            fd = bw.seccomp_pipe()
            fds = (fd,)
            argv = bw.command(bwrap, fd, argv)
            env = {}
            cwd = None
        else:  # none: the same runner, no isolation
            self.workdir = tempfile.mkdtemp(prefix="redstar-nosandbox-")
            env = {
                "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "HOME": self.workdir,
                "PYTHONHASHSEED": "0",
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
            }
            cwd = self.workdir
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=cwd,
                pass_fds=fds,
                start_new_session=True,
            )
        finally:
            for fd in fds:
                os.close(fd)
        self.sel = selectors.DefaultSelector()
        os.set_blocking(self.proc.stdin.fileno(), False)
        self.sel.register(self.proc.stdin, selectors.EVENT_WRITE)
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.sel.register(self.proc.stderr, selectors.EVENT_READ)
        self.pos = 0
        self.buf = bytearray()
        self.err = b""
        self.eof = False

    def _pump(self) -> bool:
        """Move bytes until the frame buffer grows or the output ends; False on the deadline."""
        while not self.eof:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return False
            grew = False
            for key, _ in self.sel.select(left):
                f = key.fileobj
                if f is self.proc.stdin:
                    try:
                        self.pos += os.write(f.fileno(), self.job[self.pos : self.pos + (1 << 16)])
                    except (BrokenPipeError, BlockingIOError, OSError):
                        self.pos = len(self.job)
                    if self.pos >= len(self.job):
                        self.sel.unregister(f)
                        f.close()
                    continue
                b = os.read(f.fileno(), 1 << 16)
                if f is self.proc.stderr:
                    if not b:
                        self.sel.unregister(f)
                    else:
                        self.err = (self.err + b)[-ERR_TAIL:]
                    continue
                if not b:
                    self.sel.unregister(f)
                    self.eof = True
                else:
                    self.buf += b
                    if len(self.buf) > OUTPUT_BYTES + ERR_TAIL + MAX_FRAME_HEADER:
                        raise SandboxError("a frame larger than the output cap")
                    grew = True
            if grew:
                return True
        return True

    def _take(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if self.eof or not self._pump():
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _line(self) -> bytes | None:
        while True:
            i = self.buf.find(b"\n", 0, MAX_FRAME_HEADER)
            if i >= 0:
                return self._take(i + 1)
            if len(self.buf) >= MAX_FRAME_HEADER:
                raise SandboxError("malformed frame header")
            if self.eof or not self._pump():
                return None

    def results(self):
        """Yield TestResult per test in order; yields None for a timeout of the whole sandbox."""
        for k in itertools.count():
            line = self._line()
            if line is None:
                if self.eof:
                    raise SandboxError(self.ended_early())
                yield None  # the deadline passed
                return
            parts = line.split()
            if parts == [b"E"]:
                return
            if len(parts) == 2 and parts[0] == b"C" and parts[1].isdigit():
                self.compile_error = self._take(int(parts[1])) or b""
                return
            if (
                len(parts) != 6
                or parts[0] != b"R"
                or int(parts[1]) != k
                or parts[2] not in (b"ok", b"timeout", b"output")
                or not all(p.lstrip(b"-").isdigit() for p in parts[3:])
            ):
                raise SandboxError("malformed frame")
            n_out, n_err = int(parts[4]), int(parts[5])
            if n_out > OUTPUT_BYTES or n_err > ERR_TAIL:
                raise SandboxError("frame larger than the output cap")
            out, err = self._take(n_out), self._take(n_err)
            if out is None or err is None:
                if self.eof:
                    raise SandboxError(self.ended_early())
                yield None
                return
            yield TestResult(parts[2].decode(), int(parts[3]), out, err)

    def ended_early(self) -> str:
        try:
            rc = self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            rc = None
        said = self.err.decode("utf-8", "replace").strip().splitlines()
        # bwrap's own message names a setup failure; anything else is not repeated (program text)
        where = said[-1][:200] if said and said[-1].startswith("bwrap:") else f"exit {rc}"
        return f"sandbox ended before the tests did ({where})"

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sel.close()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        if self.workdir:
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)


def builtin_exception(stderr_tail: bytes) -> str | None:
    """The name of a builtin exception on the last line of a traceback, else None: the program's
    own text never reaches a verdict, only a name from this interpreter's fixed list."""
    import builtins

    lines = [ln for ln in stderr_tail.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return None
    name = lines[-1].split(":", 1)[0].strip()
    obj = getattr(builtins, name, None) if name.isidentifier() else None
    return name if isinstance(obj, type) and issubclass(obj, BaseException) else None
