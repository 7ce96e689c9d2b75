"""The SandboxFusion backend against a small local server that speaks ``POST /run_code``."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from redstar.cli import main
from redstar.verify import grade
from redstar.verify.code_sandbox import SandboxUnavailable


class FakeFusion(BaseHTTPRequestHandler):
    """Runs the posted program with a plain interpreter (these tests' programs are our own) and
    answers as SandboxFusion does; ``mode`` can make it misbehave."""

    requests: list = []  # noqa: RUF012 - reset by the fixture, read by the tests
    mode = "ok"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        if self.path != "/run_code" or body.get("language") != "python":
            self.send_error(404)
            return
        if self.mode == "sandbox_error" and body["code"] != "print(1)":
            out = {"status": "SandboxError", "message": "pod died", "compile_result": None, "run_result": None}
        else:
            try:
                p = subprocess.run(
                    [sys.executable, "-I", "-c", body["code"]],
                    input=body.get("stdin", ""),
                    capture_output=True,
                    text=True,
                    timeout=body["run_timeout"],
                    check=False,
                )
                rr = {
                    "status": "Finished",
                    "execution_time": 0.01,
                    "return_code": p.returncode,
                    "stdout": p.stdout,
                    "stderr": p.stderr,
                }
            except subprocess.TimeoutExpired:
                rr = {
                    "status": "TimeLimitExceeded",
                    "execution_time": body["run_timeout"],
                    "return_code": None,
                    "stdout": "",
                    "stderr": "",
                }
            out = {
                "status": "Success" if rr["return_code"] == 0 else "Failed",
                "message": "",
                "compile_result": None,
                "run_result": rr,
                "executor_pod_name": None,
                "files": {},
            }
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fusion():
    FakeFusion.requests, FakeFusion.mode = [], "ok"
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeFusion)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def code(text):
    return f"```python\n{text}\n```"


def test_stdin_tests_pass_and_fail_remotely(fusion):
    tests = {"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "1234567\n"]}
    v = grade(code("a, b = map(int, input().split())\nprint(a + b)"), "", kind="code", tests=tests, sandbox=fusion)
    assert not v.correct and v.reason == "failed test 2/2: wrong answer"
    tests["outputs"][1] = "7\n"
    assert grade(
        code("a, b = map(int, input().split())\nprint(a + b)"), "", kind="code", tests=tests, sandbox=fusion
    ).correct
    sent = json.dumps(FakeFusion.requests)
    assert "1234567" not in sent  # expected outputs never leave the grader
    assert {r["stdin"] for r in FakeFusion.requests if r["code"] != "print(1)"} == {"1 2\n", "10 -3\n"}


def test_call_form_remotely(fusion):
    tests = {"inputs": [[[3, 1, 2]], [[5]]], "outputs": [[[1, 2, 3]], [[5]]], "fn_name": "sort_it"}
    good = "class Solution:\n    def sort_it(self, xs):\n        print('noise')\n        return sorted(xs)"
    assert grade(code(good), "", kind="code", tests=tests, sandbox=fusion).correct
    v = grade(code("def other(xs):\n    return xs"), "", kind="code", tests=tests, sandbox=fusion)
    assert not v.correct and "function 'sort_it' not found" in v.reason


def test_remote_timeout_and_errors_are_failed_tests(fusion):
    tests = {"inputs": ["\n"], "outputs": ["1\n"]}
    v = grade(code("while True:\n    pass"), "", kind="code", tests=tests, timeout=2, sandbox=fusion)
    assert not v.correct and "timeout" in v.reason
    v = grade(code("raise KeyError('passed')"), "", kind="code", tests=tests, sandbox=fusion)
    assert v.reason == "failed test 1/1: runtime error: KeyError"
    FakeFusion.mode = "sandbox_error"
    v = grade(code("print(1)\n"), "", kind="code", tests=tests, sandbox=fusion)
    assert not v.correct and "sandbox error" in v.reason


def test_unreachable_service_stops_grading():
    with pytest.raises(SandboxUnavailable, match="cannot be reached"):
        grade(code("print(1)"), "", kind="code", tests={"inputs": [""], "outputs": ["1"]}, sandbox="http://127.0.0.1:9")


def test_cli_records_the_service(fusion, tmp_path):
    src, dst = tmp_path / "c.jsonl", tmp_path / "v.jsonl"
    src.write_text(
        json.dumps(
            {
                "id": 1,
                "kind": "code",
                "tests": {"inputs": ["2\n"], "outputs": ["4\n"]},
                "response": code("n = int(input())\nprint(n * n)"),
            }
        )
        + "\n"
    )
    assert main(["verify", "--input", str(src), "--output", str(dst), "--no-progress", "--sandbox", fusion]) == 0
    row = json.loads(dst.read_text())
    assert row["correct"] and row["sandbox"] == fusion
