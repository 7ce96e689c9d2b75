"""Code grading on a remote sandbox service: SandboxFusion's ``POST /run_code`` (the API verl uses),
for nodes where user namespaces are off and bwrap cannot run.

One request per test, sent in order, each with the program and that test's input as ``stdin``:

    {"code": ..., "language": "python", "stdin": ..., "run_timeout": s, "compile_timeout": s,
     "memory_limit_MB": 1024, "files": {}}
    -> {"status": "Success" | "Failed" | "SandboxError", "message": ...,
        "run_result": {"status": "Finished" | "TimeLimitExceeded" | "Error", "return_code": int,
                       "stdout": str, "stderr": str, "execution_time": float}, ...}

Call (``fn_name``) tests send a small harness around the program that reads the arguments as
JSON from stdin and prints the JSON-serialised return value; the comparison stays here, as
for local runs, and expected outputs are never sent. A service that cannot be reached, or that
answers something other than this protocol, stops grading (``SandboxUnavailable``): a dead
service must not score every program as wrong.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

from redstar.verify import sandbox_runner as runner
from redstar.verify.sandbox_bwrap import SandboxUnavailable

REQUEST_SLACK_S = 2.0  # the service's own start-up and transfer, on top of the run timeout
_probed: set = set()
_lock = threading.Lock()

HARNESS = (
    runner.CALL_FORM
    + r"""
import io, json, sys
_args = json.loads(sys.stdin.read())
_out = sys.stdout
sys.stdout = io.StringIO()
_text = call_form(compile(%(code)r, "solution.py", "exec"), %(fn)r, _args, {"__name__": "solution"})
sys.stdout = _out
_out.write(_text)
"""
)


def endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/run_code") else url + "/run_code"


def run_code(url: str, code: str, stdin: str, run_timeout: float) -> dict:
    """One ``run_code`` call; raises SandboxUnavailable when the service cannot be used."""
    body = json.dumps(
        {
            "code": code,
            "language": "python",
            "stdin": stdin,
            "run_timeout": max(1, round(run_timeout)),
            "compile_timeout": 10,
            "memory_limit_MB": runner.MEMORY_MB,
            "files": {},
        }
    ).encode()
    req = urllib.request.Request(endpoint(url), data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=run_timeout + REQUEST_SLACK_S) as resp:
            raw = resp.read(2 * runner.OUTPUT_BYTES + 65536)
    except urllib.error.HTTPError as e:
        raise SandboxUnavailable(f"sandbox service {endpoint(url)} answered HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        if "timed out" in str(e):
            return {"status": "Success", "run_result": {"status": "TimeLimitExceeded"}}
        raise SandboxUnavailable(f"sandbox service {endpoint(url)} cannot be reached ({e})") from None
    try:
        out = json.loads(raw)
    except ValueError:
        raise SandboxUnavailable(f"sandbox service {endpoint(url)} did not answer SandboxFusion JSON") from None
    if not isinstance(out, dict) or "status" not in out:
        raise SandboxUnavailable(f"sandbox service {endpoint(url)} did not answer SandboxFusion JSON")
    return out


def check(url: str) -> None:
    """Run ``print(1)`` once per process and address, so a wrong address stops grading up front."""
    with _lock:
        if url in _probed:
            return
        out = run_code(url, "print(1)", "", 10)
        rr = out.get("run_result") or {}
        if rr.get("stdout", "").strip() != "1":
            raise SandboxUnavailable(
                f"sandbox service {endpoint(url)} could not run print(1): status {out.get('status')!r}"
            )
        _probed.add(url)


def _result(out: dict) -> runner.TestResult:
    rr = out.get("run_result") or {}
    if out.get("status") == "SandboxError":
        raise runner.SandboxError("the sandbox service reported a sandbox error")
    if rr.get("status") == "TimeLimitExceeded":
        return runner.TestResult("timeout", -9, b"", b"")
    cr = out.get("compile_result") or {}
    if not rr and cr:
        err = str(cr.get("stderr") or "").encode("utf-8", "replace")[-runner.ERR_TAIL :]
        return runner.TestResult("ok", int(cr.get("return_code") or 1), b"", err)
    stdout = str(rr.get("stdout") or "").encode("utf-8", "surrogatepass")
    if len(stdout) > runner.OUTPUT_BYTES:
        return runner.TestResult("output", 0, b"", b"")
    rc = rr.get("return_code")
    rc = rc if isinstance(rc, int) else (0 if rr.get("status") == "Finished" else 1)
    return runner.TestResult(
        "ok", rc, stdout, str(rr.get("stderr") or "").encode("utf-8", "replace")[-runner.ERR_TAIL :]
    )


class RemoteRun:
    """The remote counterpart of ``sandbox_runner.Run``: the same ``results()`` / ``close()``."""

    def __init__(self, url: str, code: str, inputs: list, fn_name: str | None, timeout: float):
        check(url)
        self.url, self.inputs, self.fn_name = url, inputs, fn_name
        self.code = code if fn_name is None else HARNESS % {"code": code, "fn": fn_name}
        self.deadline = time.monotonic() + timeout
        self.compile_error = None

    def results(self):
        for arg in self.inputs:
            left = self.deadline - time.monotonic()
            if left <= 0:
                yield None
                return
            stdin = arg if self.fn_name is None else json.dumps(arg)
            yield _result(run_code(self.url, self.code, stdin, left))

    def close(self) -> None:
        pass
