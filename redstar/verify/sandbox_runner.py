"""Run one program against a list of test inputs in a local sandbox, returning raw per-test results.

One sandbox per graded item (``bwrap``, or nothing with ``--sandbox none``) runs SUPERVISOR, a
small Python program that reads the job (code, inputs, limits) from its stdin, compiles the code
once and forks one fresh process per test. Each test process gets its input on a pipe as stdin
(or, for ``fn_name`` tests, as the call's arguments), its stdout and stderr on pipes the
supervisor reads, rlimits (CPU, address space, file size, open files, processes, no core), and
in ``bwrap`` mode a seccomp filter that refuses new processes. The supervisor sends each test's
result back as a frame on its stdout, a pipe only this parent holds; the parent compares.

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
def call_form(code, fn_name, arg, ns):
    """A call-form test: run the program in ns, call fn_name (a function, or a method of a class
    Solution) with the test's arguments and return the result as JSON text; exit status 120 when
    there is no such function. Sandbox source, shared with the remote harness."""
    exec(code, ns)
    fn = ns.get(fn_name)
    if fn is None and isinstance(ns.get("Solution"), type):
        fn = getattr(ns["Solution"](), fn_name, None)
    if not callable(fn):
        raise SystemExit(120)
    return json.dumps(fn(*arg) if isinstance(arg, list) else fn(arg), allow_nan=False)
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
chunks = []
while True:
    b = os.read(0, 1 << 20)
    if not b:
        break
    chunks.append(b)
job = json.loads(b"".join(chunks))
del chunks
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
import io, traceback
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

def child(arg, fn_name):
    os.setpgid(0, 0)
    m = job["mem"]
    for lim, val in ((resource.RLIMIT_AS, m), (resource.RLIMIT_FSIZE, job["fsize"]), (resource.RLIMIT_CORE, 0),
                     (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_NPROC, job["nproc"])):
        resource.setrlimit(lim, (val, val))
    cpu = max(1, int(end - time.monotonic()) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if prog is not None:
        if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
            os._exit(121)  # PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP: never run the code without its filter
    sys.stdin = sys.__stdin__ = open(0, "r", encoding="utf-8", errors="replace", closefd=False)
    out = sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.argv = ["solution.py"]
    rc = 0
    try:
        if fn_name is None:
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
        else:
            sys.stdout = io.StringIO()
            text = call_form(code, fn_name, arg, {"__name__": "solution", "__builtins__": __builtins__})
            sys.stdout = out
            out.write(text)
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
    try:
        sys.stdout = out
        out.flush()
        sys.stderr.flush()
    except BaseException:
        rc = rc or 1
    os._exit(rc & 0xFF)

def run(k, arg, fn_name, data):
    fds = [os.pipe() for _ in range(3)]
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(fds[0][0], 0)
            os.dup2(fds[1][1], 1)
            os.dup2(fds[2][1], 2)
            os.closerange(3, 1 << 16)
            child(arg, fn_name)
        finally:
            os._exit(122)
    w_in, r_out, r_err = fds[0][1], fds[1][0], fds[2][0]
    for fd in (fds[0][0], fds[1][1], fds[2][1]):
        os.close(fd)
    os.set_blocking(w_in, False)
    poll = select.poll()
    poll.register(r_out, select.POLLIN)
    poll.register(r_err, select.POLLIN)
    if data:
        poll.register(w_in, select.POLLOUT)
    else:
        os.close(w_in)
        w_in = -1
    out, n_out, err, status, pos, open_fds = [], 0, b"", "ok", 0, 2
    while open_fds:
        left = end - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        for fd, ev in poll.poll(left * 1000):
            if fd == w_in:
                try:
                    pos += os.write(w_in, data[pos:pos + 65536])
                except OSError:
                    pos = len(data)
                if pos >= len(data):
                    poll.unregister(w_in)
                    os.close(w_in)
                    w_in = -1
                continue
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
    for fd in (w_in, r_out, r_err):
        if fd >= 0:
            os.close(fd)
    rc = os.waitstatus_to_exitcode(st)
    if status == "ok" and rc == -signal.SIGXCPU:
        status = "timeout"
    o = b"".join(out)[:job["out_cap"]]
    return b"R %d %s %d %d %d\n" % (k, status.encode(), rc, len(o), len(err)) + o + err

for k, arg in enumerate(job["inputs"]):
    fn_name = job["fn_name"]
    data = b"" if fn_name is not None else arg.encode("utf-8", "surrogatepass")
    frame = run(k, arg, fn_name, data)
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

    def __init__(self, mode: str, code: str, inputs: list, fn_name: str | None, timeout: float):
        from redstar.verify import sandbox_bwrap as bw

        self.compile_error: bytes | None = None
        self.deadline = time.monotonic() + timeout
        self.workdir = None
        third_party = list(bw.THIRD_PARTY)
        _, paths = bw.site_dirs()
        job = {
            "code": code,
            "inputs": inputs,
            "fn_name": fn_name,
            "wall": max(0.05, timeout - 0.1),
            "mem": MEMORY_MB << 20,
            "fsize": FILE_BYTES,
            "nproc": 64,
            "out_cap": OUTPUT_BYTES,
            "err_tail": ERR_TAIL,
            "paths": list(paths),
            "third_party": third_party,
            "seccomp": bw.child_filter().hex() if mode == "bwrap" else "",
        }
        self.job = json.dumps(job).encode("utf-8", "surrogatepass")
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
