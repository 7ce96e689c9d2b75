"""Grade model-written Python against TACO-style tests in an OS-enforced sandbox.

Tests are ``{"inputs": [...], "outputs": [...], "fn_name": optional}`` as TACO stores them:
without ``fn_name`` each input is a whole stdin and each output the expected stdout; with it,
each input is the argument list of a call (top-level function or ``Solution().fn_name``) and
each output the return value (TACO often wraps it in a one-element list; both are accepted).
An optional ``tolerance`` (a number in [0, 1)) is the error allowed on non-integer decimal
tokens of stdout; without it ``sandbox_compare.DEFAULT_TOL`` (1e-6) applies. Integers are exact.
An optional ``time_limit`` (seconds) bounds each test, as a judge's per-test limit does (local
sandboxes; a remote service gets the item's remaining time per request); ``timeout`` bounds
the whole item either way.

``sandbox`` says where the program runs:
- ``"bwrap"`` (default): bubblewrap namespaces, read-only mounts, a private tmpfs, seccomp and
  rlimits (``sandbox_bwrap``, ``sandbox_runner``). When it cannot be set up here, grading
  stops with ``SandboxUnavailable`` saying what to install or enable (fail closed).
- ``"http://host:port"``: a SandboxFusion service's ``run_code`` API (``sandbox_remote``), for
  nodes without user namespaces.
- ``"none"``: the same runner without isolation; only when asked for, and recorded by callers.
Only the inputs enter the sandbox; outputs come back through pipes the grader holds and are
compared here (``sandbox_compare``, linear in the output), within the item's own deadline: the
program's ``timeout`` plus ``GRADER_SLACK_S``. A verdict's reason is built from this module's words
only (test number, failure class, a builtin exception name), never from the program's output.
"""

from __future__ import annotations

import time

from redstar.records import Verdict
from redstar.verify.sandbox_bwrap import SandboxUnavailable

MAX_TESTS = 1000
GRADER_SLACK_S = 2.0  # the grader's own comparing may run this far past the program's time limit
DEFAULT_SANDBOX = "bwrap"

__all__ = ["DEFAULT_SANDBOX", "SandboxUnavailable", "check_sandbox", "grade_code", "run_tests"]


def check_sandbox(sandbox: str | None) -> str:
    """The normalised sandbox spec, after making sure it can run here (raises SandboxUnavailable)."""
    sandbox = (sandbox or DEFAULT_SANDBOX).strip()
    if sandbox == "bwrap":
        from redstar.verify import sandbox_bwrap

        sandbox_bwrap.check()
    elif sandbox.startswith(("http://", "https://")):
        from redstar.verify import sandbox_remote

        sandbox = sandbox.rstrip("/")
        sandbox_remote.check(sandbox)
    elif sandbox != "none":
        raise ValueError(f"sandbox must be bwrap, none or an http(s):// SandboxFusion address, got {sandbox!r}")
    return sandbox


def _normalise(tests: dict):
    inputs, outputs = tests.get("inputs"), tests.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        return None, "bad tests: need 'inputs' and 'outputs' lists of equal length"
    if not inputs:
        return None, "bad tests: no test cases"
    inputs, outputs = inputs[:MAX_TESTS], outputs[:MAX_TESTS]
    fn_name = tests.get("fn_name") or None
    if fn_name is not None and (not isinstance(fn_name, str) or not fn_name.isidentifier()):
        return None, "bad tests: 'fn_name' must be a Python identifier"
    tol = tests.get("tolerance")
    if tol is not None and (
        isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1 or tol != tol
    ):
        return None, "bad tests: 'tolerance' must be a number in [0, 1)"
    limit = tests.get("time_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit <= 3600):
        return None, "bad tests: 'time_limit' must be a number of seconds in (0, 3600]"
    if fn_name is None:
        inputs = ["\n".join(map(str, x)) if isinstance(x, list) else str(x) for x in inputs]
    return (inputs, outputs, fn_name, tol, limit), ""


def _failure(result, fn_name: str | None) -> str | None:
    """Why a test's run failed before its output is compared, in this module's words; None if it ran."""
    from redstar.verify.sandbox_runner import builtin_exception

    if result.status == "timeout":
        return "timeout"
    if result.status == "output":
        return "output limit exceeded"
    if result.rc == 0:
        return None
    if fn_name is not None and result.rc == 120:
        return f"function {fn_name!r} not found"
    if result.rc == 121:
        return "sandbox could not install its seccomp filter"
    if result.rc < 0:
        import signal

        try:
            name = signal.Signals(-result.rc).name
        except ValueError:
            name = f"signal {-result.rc}"
        return "timeout" if name == "SIGXCPU" else f"runtime error: killed by {name}"
    exc = builtin_exception(result.stderr_tail)
    return f"runtime error: {exc}" if exc else f"runtime error (exit status {result.rc})"


def run_tests(code: str, tests: dict, timeout: float = 5.0, sandbox: str = DEFAULT_SANDBOX) -> tuple[bool, str]:
    """(all passed, reason) for ``code`` against ``tests``; bounded by ``timeout`` in total."""
    from redstar.verify.sandbox_compare import output_matches, value_matches
    from redstar.verify.sandbox_runner import SandboxError

    sandbox = check_sandbox(sandbox)
    norm, why = _normalise(tests)
    if norm is None:
        return False, why
    inputs, outputs, fn_name, tol, limit = norm
    n = len(inputs)
    if sandbox.startswith("http"):
        from redstar.verify.sandbox_remote import RemoteRun

        run = RemoteRun(sandbox, code, inputs, fn_name, timeout)
    else:
        from redstar.verify.sandbox_runner import Run

        run = Run(sandbox, code, inputs, fn_name, timeout, per_test=limit)
    deadline = time.monotonic() + timeout + GRADER_SLACK_S  # the item's whole grading, comparing included
    try:
        k = 0
        for k, result in enumerate(run.results()):
            if result is None or time.monotonic() > deadline:
                return False, f"failed test {k + 1}/{n}: timeout"
            why = _failure(result, fn_name)
            if why:
                return False, f"failed test {k + 1}/{n}: {why}"
            text = result.stdout.decode("utf-8", "replace")
            if fn_name is not None:
                if not text.strip():
                    return False, f"failed test {k + 1}/{n}: no return value"
                if not value_matches(text, outputs[k]):
                    return False, f"failed test {k + 1}/{n}: wrong answer"
            elif not output_matches(text, outputs[k], tol):
                return False, f"failed test {k + 1}/{n}: wrong answer"
            if time.monotonic() > deadline:
                return False, f"failed test {k + 1}/{n}: timeout (grading)"
            if k + 1 == n:
                return True, f"passed {n} tests"
        if run.compile_error is not None:
            from redstar.verify.sandbox_runner import builtin_exception

            return False, f"compile error: {builtin_exception(run.compile_error) or 'the code does not compile'}"
        return False, f"failed test {k + 1}/{n}: no result"
    except SandboxError as e:
        return False, f"failed: {e}"
    finally:
        run.close()


def grade_code(response: str, tests: dict | None, timeout: float = 5.0, sandbox: str = DEFAULT_SANDBOX) -> Verdict:
    """Grade a response by the last ```python block it contains."""
    from redstar.verify.extract import extract_answer

    if not isinstance(tests, dict):
        return Verdict(False, None, "bad tests: code grading needs {'inputs': [...], 'outputs': [...]}")
    code = extract_answer(response, kind="code")
    if code is None:
        return Verdict(False, None, "no ```python block in the response")
    ok, reason = run_tests(code, tests, timeout=timeout, sandbox=sandbox)
    return Verdict(ok, code, reason)
