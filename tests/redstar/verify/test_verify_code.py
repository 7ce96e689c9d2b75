"""Code grading in the sandbox: both TACO forms, and hostile programs that must end as failed."""

import os
import time

import pytest

from redstar.verify import grade

STDIN_TESTS = {"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]}


def block(code: str) -> str:
    return f"Let me write it.\n```python\nprint('draft')\n```\nFinal:\n```python\n{code}\n```\n"


def test_stdin_form_pass_and_fail():
    assert grade(block("a, b = map(int, input().split())\nprint(a + b)"), "", kind="code", tests=STDIN_TESTS).correct
    v = grade(block("a, b = map(int, input().split())\nprint(a - b)"), "", kind="code", tests=STDIN_TESTS)
    assert not v.correct and "wrong answer" in v.reason


def test_call_form_top_level_and_class():
    tests = {"inputs": [[[3, 1, 2]], [[5]]], "outputs": [[[1, 2, 3]], [[5]]], "fn_name": "sort_it"}
    assert grade(
        block("def sort_it(xs):\n    print('noise')\n    return sorted(xs)"), "", kind="code", tests=tests
    ).correct
    assert grade(
        block("class Solution:\n    def sort_it(self, xs):\n        return sorted(xs)"), "", kind="code", tests=tests
    ).correct
    v = grade(block("def sort_it(xs):\n    return xs"), "", kind="code", tests=tests)
    assert not v.correct and "wrong answer" in v.reason


@pytest.mark.parametrize(
    "code,why",
    [
        ("while True:\n    pass", "timeout"),
        ("import os\nwhile True:\n    os.fork()", "PermissionError"),  # seccomp: no new processes
        ("x = bytearray(8 * 1024 ** 3)\nprint(3)", "MemoryError"),
        ("while True:\n    print('y' * 100000)", "output limit"),
        ("import subprocess\nsubprocess.run(['sh', '-c', 'echo 3'])", "PermissionError"),
    ],
)
def test_hostile_programs_fail_within_bound(code, why):
    t = time.monotonic()
    v = grade(block(code), "", kind="code", tests=STDIN_TESTS, timeout=2.0)
    assert time.monotonic() - t < 4.0
    assert not v.correct and why in v.reason, v.reason


def test_write_outside_directory_is_refused(tmp_path):
    target = tmp_path / "owned.txt"
    code = f"open({str(target)!r}, 'w').write('x')\na, b = map(int, input().split())\nprint(a + b)"
    v = grade(block(code), "", kind="code", tests=STDIN_TESTS)
    assert not v.correct and not target.exists()


def test_no_inherited_secrets(monkeypatch):
    monkeypatch.setenv("REDSTAR_TEST_SECRET", "hunter2")
    tests = {"inputs": [""], "outputs": ["none"]}
    code = "import os\nprint(os.environ.get('REDSTAR_TEST_SECRET', 'none'))"
    assert grade(block(code), "", kind="code", tests=tests).correct
    assert os.environ["REDSTAR_TEST_SECRET"] == "hunter2"


def test_missing_code_or_tests():
    assert grade("no code here", "", kind="code", tests=STDIN_TESTS).reason.startswith("no ```python")
    assert not grade(block("print(1)"), "", kind="code", tests={"inputs": [1]}).correct
