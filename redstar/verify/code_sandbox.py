"""Run model-written Python against TACO-style tests in a sandboxed child process.

Tests are ``{"inputs": [...], "outputs": [...], "fn_name": optional}`` as TACO stores them:
without ``fn_name`` each input is a whole stdin and each output the expected stdout; with it,
each input is the argument list of a call (top-level function or ``Solution().fn_name``) and
each output the return value (TACO often wraps it in a one-element list; both are accepted).

Isolation, from the outside in (the parent never runs model code):
- a fresh interpreter (``python -I``) in a new session/process group, killed as a group at
  the wall-clock bound; environment reduced to PATH/LANG/HOME (no inherited secrets);
- a temporary working directory, deleted afterwards; stdout goes to a file there;
- rlimits: CPU seconds, address space, file size (an output flood dies of SIGXFSZ), open
  files, process count, no core files;
- a private network namespace where the kernel allows it (``unshare(CLONE_NEWNET)``), and
  when started as root the child drops to ``nobody`` before running anything;
- an audit hook that refuses writes outside the working directory, sockets, fork/exec/
  subprocess and ctypes (belt and braces for the cases the OS cannot enforce).
A fork bomb, an infinite loop, a memory bomb, a write outside the directory or a flood of
output all end as a failed test with a reason.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from redstar.records import Verdict

MEMORY_MB = 1024
OUTPUT_BYTES = 8 << 20
MAX_TESTS = 1000

# The child's bootstrap: limits first, then privileges, then the audit hook, then the code.
RUNNER = r'''
import ctypes, json, os, resource, sys
cfg = json.loads(os.environ.pop("REDSTAR_SANDBOX"))
cpu = cfg["cpu"]
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
resource.setrlimit(resource.RLIMIT_AS, (cfg["mem"], cfg["mem"]))
resource.setrlimit(resource.RLIMIT_FSIZE, (cfg["fsize"], cfg["fsize"]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
try:
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        libc.unshare(0x40000000)  # CLONE_NEWNET: no interfaces but a down loopback
    elif libc.unshare(0x40000000 | 0x10000000) == 0:  # unprivileged: a user namespace too
        for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)),
                           ("gid_map", "%d %d 1" % (gid, gid))):
            with open("/proc/self/" + name, "w") as f:
                f.write(text)
except Exception:
    pass
code = open("solution.py").read()
# Modules are imported now, while the interpreter's own files are still readable (the
# interpreter may live where "nobody" cannot read): the stdlib ones the code names, and numpy.
import ast
names = {"collections", "heapq", "math", "itertools", "functools", "bisect", "re", "string", "io",
         "typing", "random", "operator", "copy", "fractions", "decimal", "statistics", "datetime", "array"}
try:
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
except (SyntaxError, ValueError):
    pass
allowed = (set(sys.stdlib_module_names) | {"numpy", "sortedcontainers"}) - {
    "antigravity", "this", "webbrowser", "turtle", "turtledemo", "tkinter", "idlelib", "ensurepip", "venv"}
for name in sorted(names & allowed):
    try:
        __import__(name)
    except BaseException:
        pass
if os.getuid() == 0:
    os.chown(".", 65534, 65534)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
root = os.path.realpath(".")
nonce = cfg["nonce"]
out_fd = os.dup(1)

def _inside(path):
    try:
        p = os.path.realpath(os.fsdecode(path) if not isinstance(path, int) else ".")
    except Exception:
        return False
    return p == root or p.startswith(root + os.sep)

_BLOCK = ("socket.", "subprocess.", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn",
          "os.system", "os.kill", "os.killpg", "ctypes.", "pty.", "os.chmod", "os.chown", "shutil.rmtree")

def _hook(event, args):
    if event == "open":
        path, mode, flags = args[0], args[1] or "", args[2] or 0
        writing = any(c in str(mode) for c in "wax+") or (flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writing and not isinstance(path, int) and not _inside(path):
            raise PermissionError("sandbox: write outside the working directory")
    elif event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.truncate"):
        for a in args[:2]:
            if isinstance(a, (str, bytes, os.PathLike)) and not _inside(a):
                raise PermissionError("sandbox: file operation outside the working directory")
    elif event.startswith(_BLOCK):
        raise PermissionError("sandbox: " + event + " is not allowed")

sys.argv = ["solution.py"]
sys.addaudithook(_hook)
sys.setrecursionlimit(100000)
if cfg["fn_name"] is None:
    exec(compile(code, "solution.py", "exec"), {"__name__": "__main__"})
else:
    import io
    sys.stdout = io.StringIO()
    ns = {"__name__": "solution"}
    exec(compile(code, "solution.py", "exec"), ns)
    fn = ns.get(cfg["fn_name"])
    if fn is None and "Solution" in ns:
        fn = getattr(ns["Solution"](), cfg["fn_name"], None)
    results = []
    if fn is None:
        results = ["missing function " + cfg["fn_name"]]
    else:
        for args in cfg["inputs"]:
            try:
                got = fn(*args) if isinstance(args, list) else fn(args)
                results.append({"ok": got})
            except BaseException as e:
                results.append({"error": type(e).__name__})
                break
            sys.stdout = io.StringIO()
    os.write(out_fd, (nonce + json.dumps(results, default=repr) + "\n").encode())
'''


def _clean_env(home: str) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home,
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}


def _run(workdir: str, stdin_text: str, cfg: dict, wall: float) -> tuple[str, str, int | None]:
    """Run the bootstrap once; returns (status, stdout, returncode)."""
    env = _clean_env(workdir)
    env["REDSTAR_SANDBOX"] = json.dumps(cfg)
    in_path, out_path = os.path.join(workdir, "stdin.txt"), os.path.join(workdir, "stdout.txt")
    err_path = os.path.join(workdir, "stderr.txt")
    with open(in_path, "w") as f:
        f.write(stdin_text)
    with open(in_path, "rb") as fin, open(out_path, "wb") as fout, open(err_path, "wb") as ferr:
        proc = subprocess.Popen([sys.executable, "-I", "-B", "-c", RUNNER], stdin=fin, stdout=fout,
                                stderr=ferr, cwd=workdir, env=env, start_new_session=True,
                                close_fds=True)
        try:
            rc = proc.wait(timeout=max(wall, 0.05))
            status = "ok"
        except subprocess.TimeoutExpired:
            status, rc = "timeout", None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever it left behind, too
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    with open(out_path, "rb") as f:
        out = f.read(OUTPUT_BYTES + 1)
    if rc is not None and rc in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or len(out) >= OUTPUT_BYTES:
        status = "output limit"
    elif rc is not None and rc in (-signal.SIGXCPU, -signal.SIGKILL):
        status = "timeout" if rc == -signal.SIGXCPU else "killed"
    elif rc:
        status = "runtime error: " + _last_error(err_path)
    return status, out.decode("utf-8", "replace"), rc


def _last_error(path: str) -> str:
    """The exception line of a traceback ("MemoryError", "PermissionError: sandbox: ...")."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 4096))
        lines = [ln for ln in f.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1].strip()[:160] if lines else "non-zero exit"


def _tokens_equal(got: str, want: str) -> bool:
    """TACO's comparison: lines without trailing space, then tokens, then floats to 1e-6."""
    g = [line.rstrip() for line in got.strip().splitlines()]
    w = [line.rstrip() for line in str(want).strip().splitlines()]
    if g == w:
        return True
    gt, wt = got.split(), str(want).split()
    if gt == wt:
        return True
    if len(gt) != len(wt):
        return False
    for a, b in zip(gt, wt):
        if a == b:
            continue
        try:
            fa, fb = float(a), float(b)
        except ValueError:
            return False
        if not math.isclose(fa, fb, rel_tol=1e-6, abs_tol=1e-6):
            return False
    return True


def _value_equal(got, want) -> bool:
    norm = lambda v: json.loads(json.dumps(v, default=repr))  # tuples -> lists  # noqa: E731
    try:
        g = norm(got)
    except (TypeError, ValueError):
        return False
    return g == want or (isinstance(want, list) and len(want) == 1 and g == want[0])


def run_tests(code: str, tests: dict, timeout: float = 5.0) -> tuple[bool, str]:
    """(all passed, reason) for ``code`` against ``tests``; bounded by ``timeout`` in total."""
    inputs, outputs = tests.get("inputs"), tests.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        return False, "bad tests: need 'inputs' and 'outputs' lists of equal length"
    if not inputs:
        return False, "bad tests: no test cases"
    inputs, outputs = inputs[:MAX_TESTS], outputs[:MAX_TESTS]
    fn_name = tests.get("fn_name") or None
    deadline = time.monotonic() + timeout - min(0.15, 0.05 * timeout)  # room to clean up
    workdir = tempfile.mkdtemp(prefix="redstar-sandbox-")
    try:
        with open(os.path.join(workdir, "solution.py"), "w") as f:
            f.write(code)
        nonce = secrets.token_hex(16)
        base = {"mem": MEMORY_MB << 20, "fsize": OUTPUT_BYTES, "nonce": nonce, "fn_name": fn_name}
        if fn_name:
            left = deadline - time.monotonic()
            cfg = dict(base, cpu=max(1, math.ceil(left)), inputs=inputs)
            status, out, rc = _run(workdir, "", cfg, left)
            if status != "ok":
                return False, f"failed: {status}"
            line = next((ln for ln in out.splitlines() if ln.startswith(nonce)), None)
            if line is None:
                return False, f"failed: crashed (exit {rc})"
            results = json.loads(line[len(nonce):])
            for k, want in enumerate(outputs):
                if k >= len(results):
                    return False, f"failed test {k + 1}/{len(inputs)}: no result"
                r = results[k]
                if isinstance(r, str):
                    return False, f"failed: {r}"
                if "error" in r:
                    return False, f"failed test {k + 1}/{len(inputs)}: raised {r['error']}"
                if not _value_equal(r["ok"], want):
                    return False, f"failed test {k + 1}/{len(inputs)}: wrong answer"
            return True, f"passed {len(inputs)} tests"
        for k, (stdin_text, want) in enumerate(zip(inputs, outputs)):
            left = deadline - time.monotonic()
            if left <= 0:
                return False, f"failed test {k + 1}/{len(inputs)}: timeout"
            stdin_text = "\n".join(map(str, stdin_text)) if isinstance(stdin_text, list) else str(stdin_text)
            want = "\n".join(map(str, want)) if isinstance(want, list) else str(want)
            cfg = dict(base, cpu=max(1, math.ceil(left)))
            status, out, rc = _run(workdir, stdin_text, cfg, left)
            if status != "ok":
                return False, f"failed test {k + 1}/{len(inputs)}: {status}"
            if not _tokens_equal(out, want):
                return False, f"failed test {k + 1}/{len(inputs)}: wrong answer"
        return True, f"passed {len(inputs)} tests"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def grade_code(response: str, tests: dict | None, timeout: float = 5.0) -> Verdict:
    """Grade a response by the last ```python block it contains."""
    from redstar.verify.extract import extract_answer

    if not isinstance(tests, dict):
        return Verdict(False, None, "bad tests: code grading needs {'inputs': [...], 'outputs': [...]}")
    code = extract_answer(response, kind="code")
    if code is None:
        return Verdict(False, None, "no ```python block in the response")
    ok, reason = run_tests(code, tests, timeout=timeout)
    return Verdict(ok, code, reason)
