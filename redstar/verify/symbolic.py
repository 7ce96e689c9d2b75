"""Symbolic equality in a killable helper process.

sympy can run for hours (``9^{9^{9^9}}``, ``simplify`` on a large expression) and cannot be
interrupted from another thread; math-verify's ``signal.alarm`` timeout only works in the main
thread of the main interpreter. So every sympy comparison runs in a small server process
(``python -m redstar.verify.symbolic``) that reads one JSON request per line and answers one
JSON line. The caller waits with a deadline; when it passes, the server is killed and a fresh
one started in the background. This works the same from threads, ``ProcessPoolExecutor``
workers and daemonic ``multiprocessing.Pool`` workers (it uses ``subprocess``, not
``multiprocessing``).

    symbolic_equal("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}", timeout=2.0)  # True
    symbolic_equal("9^{9^{9^9}}", "1", timeout=1.0)                              # None (timeout)

Answers: True (equal), False (different or unparseable), None (time bound hit).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import selectors
import subprocess
import sys
import threading
import time

# ----------------------------------------------------------------------------- server side

_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")


def _rationalize(latex: str) -> str:
    """``0.25`` -> ``\\frac{25}{100}`` so comparisons are exact (sympy Floats carry rounding)."""
    return _DECIMAL.sub(lambda m: f"(\\frac{{{m.group(1)}{m.group(2)}}}{{1{'0' * len(m.group(2))}}})", latex)


def _parse(latex: str):
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.math_normalization import NormalizationConfig

    cfg = NormalizationConfig(
        basic_latex=True, units=False, malformed_operators=True, nits=True, boxed="none", equations=False
    )
    expr = latex2sympy(_rationalize(latex), normalization_config=cfg)
    # i is the imaginary unit in competition answers (the Qwen2.5-Math / DeepSeek-Math graders
    # even rewrite j to i for it): e^{i\\pi} = -1, \\frac{1}{1+i} = \\frac{1-i}{2}. Both sides are
    # parsed the same way, so an answer that uses i as an index still compares with itself.
    try:
        import sympy

        i = sympy.Symbol("i")
        if i in getattr(expr, "free_symbols", ()):
            expr = expr.subs(i, sympy.I)
    except Exception:  # noqa: BLE001 - keep the plain parse
        pass
    return expr


def _expr_equal(a, b) -> bool:
    import sympy

    if a == b:
        return True
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)) or a.shape != b.shape:
            return False
        return all(_expr_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, sympy.Set) or isinstance(b, sympy.Set):
        return isinstance(a, sympy.Set) and isinstance(b, sympy.Set) and bool(sympy.Eq(a, b) == True)  # noqa: E712
    if isinstance(a, sympy.Equality) and isinstance(b, sympy.Equality):
        # equivalent equations: (la - ra) = c (lb - rb) with a nonzero constant c
        da, db = a.lhs - a.rhs, b.lhs - b.rhs
        if db == 0:
            return da == 0
        ratio = sympy.simplify(da / db)
        return bool(ratio.is_number and ratio != 0 and ratio.is_finite)
    if isinstance(a, sympy.Basic) and isinstance(b, sympy.Basic) and not a.is_Relational and not b.is_Relational:
        if not a.free_symbols and not b.free_symbols:
            # constants: 50 digits prove a difference at once (3.14 vs pi); equality still needs
            # simplify below, so no tolerance ever makes two different numbers equal
            d = sympy.N(a - b, 50)
            if d.is_Number and abs(d) > sympy.Float("1e-40"):
                return False
        diff = sympy.simplify(a - b)
        if diff == 0:
            return True
        if a.free_symbols == b.free_symbols:
            return bool(a.equals(b))
    return False


def _answer(request: dict) -> dict:
    if request.get("fn"):  # a named comparison of strings, "module:function" (see bounded_call)
        import importlib

        module, name = request["fn"].split(":")
        try:
            same = getattr(importlib.import_module(module), name)(request["a"], request["b"])
        except Exception as e:  # noqa: BLE001
            return {"r": "error", "why": f"{name}: {type(e).__name__}"}
        return {"r": "equal" if same else "differ", "why": ""}
    try:
        a, b = _parse(request["a"]), _parse(request["b"])
    except Exception as e:  # noqa: BLE001 - any parse failure is "not comparable"
        return {"r": "error", "why": f"parse: {type(e).__name__}"}
    try:
        return {"r": "equal" if _expr_equal(a, b) else "differ", "why": ""}
    except Exception as e:  # noqa: BLE001
        return {"r": "error", "why": f"sympy: {type(e).__name__}"}


def serve() -> None:
    """Server loop: one JSON request per stdin line, one JSON answer per stdout line."""
    import latex2sympy2_extended  # noqa: F401 - preload before the first request
    import sympy  # noqa: F401

    out = sys.stdout
    out.write('{"r": "ready"}\n')
    out.flush()
    for line in sys.stdin:
        try:
            reply = _answer(json.loads(line))
        except Exception as e:  # noqa: BLE001
            reply = {"r": "error", "why": f"request: {type(e).__name__}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# ----------------------------------------------------------------------------- client side


class _Server:
    def __init__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMP")}
        env["OMP_NUM_THREADS"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "redstar.verify.symbolic"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            bufsize=0,
        )
        self.buf = b""
        self.ready = False

    def _readline(self, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        try:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None  # server died
                self.buf += chunk
        finally:
            sel.close()
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def ask(self, request: dict, deadline: float, timeout: float | None = None) -> dict | None:
        """The reply to ``request`` by ``deadline``, or, given ``timeout``, within ``timeout`` s
        of the helper being up (a starting helper is waited for until ``deadline``); None when
        out of time."""
        if not self.ready:
            if self._readline(deadline) is None:
                return {"r": "not ready"} if self.proc.poll() is None else None
            self.ready = True
        if timeout is not None:
            deadline = time.monotonic() + timeout
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        line = self._readline(deadline)
        return None if line is None else json.loads(line)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass


_lock = threading.Condition()
_idle: list[_Server] = []
MAX_SERVERS = max(2, min(8, os.cpu_count() or 1))  # more threads than this wait for a free one
_all: list[_Server] = []
_owner_pid = os.getpid()


def _take(deadline: float) -> _Server | None:
    global _owner_pid
    with _lock:
        if _owner_pid != os.getpid():  # forked: the parent's servers are not ours
            _idle.clear()
            _all.clear()
            _owner_pid = os.getpid()
        while not _idle and len(_all) >= MAX_SERVERS:
            left = deadline - time.monotonic()
            if left <= 0 or not _lock.wait(left):
                return None
        if _idle:
            return _idle.pop()
        server = _Server()
        _all.append(server)
        return server


def _give(server: _Server) -> None:
    with _lock:
        _idle.append(server)
        _lock.notify()


def _replace(server: _Server) -> None:
    server.kill()
    with _lock:
        if server in _all:
            _all.remove(server)
        fresh = _Server()  # starts importing now, ready for the next request
        _all.append(fresh)
        _idle.append(fresh)
        _lock.notify()


@atexit.register
def shutdown() -> None:
    """Stop every helper process of this interpreter."""
    with _lock:
        servers = list(_all) if _owner_pid == os.getpid() else []
        _all.clear()
        _idle.clear()
    for s in servers:
        s.kill()


def warm_up() -> None:
    """Start one helper now so the first comparison does not pay the interpreter start."""
    server = _take(time.monotonic() + 60)
    if server is not None:
        _give(server)


def symbolic_equal(a: str, b: str, timeout: float = 2.0) -> bool | None:
    """Whether two LaTeX scalars / equations / matrices are equal; None when out of time (also
    while the first helper is still starting: the grader's latency stays bounded)."""
    return _ask({"a": a, "b": b}, timeout, start_wait=0.0)


def bounded_call(fn: str, a: str, b: str, timeout: float, start_wait: float = 60.0) -> bool | None:
    """``fn(a, b)`` (``fn`` named ``"module:function"``, a comparison of two strings) run in a
    helper process, killed when ``timeout`` seconds pass: its truth, or None when out of time.
    A helper still starting is waited for up to ``start_wait`` s more, so its start is never
    counted against ``timeout``. Any exception in ``fn`` counts as False."""
    return _ask({"fn": fn, "a": a, "b": b}, timeout, start_wait)


def _ask(request: dict, timeout: float, start_wait: float) -> bool | None:
    timeout = max(timeout, 0.01)
    deadline = time.monotonic() + timeout
    server = _take(deadline + start_wait)
    if server is None:
        return None
    try:
        # with start_wait the clock starts once the helper is up; else one deadline for both
        reply = server.ask(request, deadline + start_wait, timeout if start_wait > 0 else None)
    except (BrokenPipeError, OSError, ValueError):
        reply = None
    if reply is None:
        _replace(server)
        return None
    _give(server)
    if reply.get("r") == "not ready":  # still importing sympy: keep it, answer "out of time"
        return None
    return reply.get("r") == "equal"


if __name__ == "__main__":
    serve()
