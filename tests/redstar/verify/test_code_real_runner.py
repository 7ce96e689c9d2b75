"""Real contest programs graded as a judge runs them: the idioms that real O1 / TACO programs use
(threads, exit(), atexit, the FastIO template, os.read of fstat's size, LeetCode starter code
without typing imports), call-based values compared as TACO's ==, and each test seeing only its
own input. Each case here is the shape of rows in bench/data/code_real.jsonl that failed before."""

import json
import time

import pytest

from redstar.verify import grade
from redstar.verify.code_sandbox import run_tests
from redstar.verify.extract import code_blocks, extract_answer

SUM = {"inputs": ["1 2\n", "10 -3\n", "5 5\n"], "outputs": ["3\n", "7\n", "10\n"]}

FASTIO = """
import os, sys
from io import BytesIO, IOBase

BUFSIZE = 8192


class FastIO(IOBase):
    newlines = 0

    def __init__(self, file):
        self._fd = file.fileno()
        self.buffer = BytesIO()
        self.writable = "x" in file.mode or "r" not in file.mode
        self.write = self.buffer.write if self.writable else None

    def read(self):
        while True:
            b = os.read(self._fd, max(os.fstat(self._fd).st_size, BUFSIZE))
            if not b:
                break
            ptr = self.buffer.tell()
            self.buffer.seek(0, 2), self.buffer.write(b), self.buffer.seek(ptr)
        self.newlines = 0
        return self.buffer.read()

    def readline(self):
        while self.newlines == 0:
            b = os.read(self._fd, max(os.fstat(self._fd).st_size, BUFSIZE))
            self.newlines = b.count(b"\\n") + (not b)
            ptr = self.buffer.tell()
            self.buffer.seek(0, 2), self.buffer.write(b), self.buffer.seek(ptr)
        self.newlines -= 1
        return self.buffer.readline()

    def flush(self):
        if self.writable:
            os.write(self._fd, self.buffer.getvalue())
            self.buffer.truncate(0), self.buffer.seek(0)


class IOWrapper(IOBase):
    def __init__(self, file):
        self.buffer = FastIO(file)
        self.flush = self.buffer.flush
        self.writable = self.buffer.writable
        self.write = lambda s: self.buffer.write(s.encode("ascii"))
        self.read = lambda: self.buffer.read().decode("ascii")
        self.readline = lambda: self.buffer.readline().decode("ascii")


sys.stdin, sys.stdout = IOWrapper(sys.stdin), IOWrapper(sys.stdout)
input = lambda: sys.stdin.readline().rstrip("\\r\\n")

a, b = map(int, input().split())
print(a + b)
"""

IDIOMS = {
    "exit": "a, b = map(int, input().split())\nprint(a + b)\nexit()\nprint('unreachable')",
    "quit": "a, b = map(int, input().split())\nprint(a + b)\nquit()",
    "exit_in_function": "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n    exit(0)\nmain()",
    "thread": (
        "import sys, threading\nsys.setrecursionlimit(1 << 25)\nthreading.stack_size(1 << 26)\n"
        "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n"
        "threading.Thread(target=main).start()"
    ),
    "thread_sleeps": (
        "import threading, time\n"
        "def main():\n    time.sleep(0.2)\n    a, b = map(int, input().split())\n    print(a + b)\n"
        "threading.Thread(target=main).start()"
    ),
    "atexit": "import atexit\na, b = map(int, input().split())\natexit.register(print, a + b)",
    "fastio": FASTIO,
    "fstat_read": "import os\nd = os.read(0, os.fstat(0).st_size).split()\nprint(int(d[0]) + int(d[1]))",
    "stdin_buffer": "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.write(str(a + b))",
    "open_dev_stdin": "a, b = map(int, open(0).read().split())\nprint(a + b)",
    "unflushed_writer": (
        "import io, sys\nsys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False), 1 << 20))\n"
        "a, b = map(int, input().split())\nprint(a + b)"
    ),
}


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_contest_idioms_run_as_programs(name):
    ok, why = run_tests(IDIOMS[name], SUM)
    assert ok, why


def test_idioms_still_fail_when_wrong():
    assert not run_tests(IDIOMS["thread"].replace("a + b", "a - b"), SUM)[0]
    assert not run_tests(IDIOMS["atexit"].replace("a + b", "a * b"), SUM)[0]
    assert not run_tests(FASTIO.replace("print(a + b)", "print(a + b + 1)"), SUM)[0]
    ok, why = run_tests("a, b = map(int, input().split())\nprint(a + b)\nexit(3)", SUM)
    assert not ok and "exit status 3" in why  # right output, non-zero status: a runtime error
    ok, why = run_tests("import threading\nthreading.Thread(target=lambda: [0 for _ in iter(int, 1)]).start()", SUM, 2)
    assert not ok and "timeout" in why  # a non-daemon thread that never ends is waited for, then timed out


def test_thread_verdicts_are_identical_across_runs():
    """A threaded program's output used to be lost or not depending on scheduling."""
    verdicts = {run_tests(IDIOMS["thread_sleeps"], SUM) for _ in range(3)}
    assert verdicts == {(True, "passed 3 tests")}


CALL = {"inputs": [[[3, 1, 2], 2], [[5, 4], 1]], "outputs": [[1, 2], [4]], "fn_name": "smallest"}


@pytest.mark.parametrize(
    "code",
    [
        # LeetCode starter code: typing names and the usual modules are predefined
        "class Solution:\n    def smallest(self, nums: List[int], k: int) -> List[int]:\n"
        "        return heapq.nsmallest(k, nums)",
        "class Solution:\n    def smallest(self, nums: List[int], k: Optional[int]) -> Deque[int]:\n"
        "        return sorted(Counter(nums).elements())[:k]",
        "class Solution:\n    def smallest(self, nums, k):\n        return [x for x in sorted(nums)][: pow(k, 1, 10)]",
        # a tuple is a list to TACO's ==; numpy values are their Python values
        "def smallest(nums, k):\n    return tuple(sorted(nums)[:k])",
        "import numpy as np\ndef smallest(nums, k):\n    return np.sort(np.array(nums))[:k]",
        # prints, a replaced or closed stdout and exit handlers do not touch the returned value
        "import sys, os\ndef smallest(nums, k):\n    print('[9, 9]')\n    sys.stdout = None\n    return sorted(nums)[:k]",
        "import os\nos.close(1)\ndef smallest(nums, k):\n    return sorted(nums)[:k]",
    ],
)
def test_call_form_as_leetcode_and_taco(code):
    ok, why = run_tests(code, CALL)
    assert ok, why


def test_call_form_values_compare_like_tacos_eq():
    one = {"inputs": [[1]], "fn_name": "f"}
    assert run_tests("import numpy as np\ndef f(x):\n    return np.int64(7)", {**one, "outputs": [7]})[0]
    assert run_tests("def f(x):\n    return {1: 'a'}", {**one, "outputs": [{"1": "a"}]})[0]
    assert not run_tests("def f(x):\n    return {'1': 'a'}", {**one, "outputs": [{"1": "a"}]})[0]
    assert run_tests("def f(x):\n    return [(1, 2), (3, 4)]", {**one, "outputs": [[[1, 2], [3, 4]]]})[0]
    assert not run_tests("def f(x):\n    return True", {**one, "outputs": [1]})[0]
    assert not run_tests("def f(x):\n    print(7)\n    return 8", {**one, "outputs": [7]})[0]
    ok, why = run_tests("def f(x):\n    return object()", {**one, "outputs": [7]})
    assert not ok and "TypeError" in why  # not plain data: refused, never compared by its own __eq__


def test_each_test_sees_only_its_own_input():
    """Tests that mirror each other: printing another test's input would pass. The program looks
    everywhere a forked test used to find the others: the runner's globals, every live object,
    its own stdin."""
    tests = {"inputs": ["alpha\n", "beta\n"], "outputs": ["beta\n", "alpha\n"]}
    code = """
import gc, re, sys
mine = sys.stdin.read()
shape = re.compile(r"[a-z]+\\n")  # what a test input of this problem looks like
def look(x):
    if isinstance(x, bytes):
        x = x.decode("latin-1")
    if isinstance(x, str) and x != mine and shape.fullmatch(x):
        print(x, end="")
        sys.exit(0)
main = sys.modules.get("__main__")
for obj in [vars(main)] + gc.get_objects():
    items = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple, set)) else ()
    for x in list(items):
        look(x)
        if isinstance(x, (dict, list, tuple)):
            for y in list(x.values() if isinstance(x, dict) else x):
                look(y)
print("nothing")
"""
    ok, why = run_tests(code, tests)
    assert not ok and "wrong answer" in why, why


def test_tolerance_comes_from_the_tests():
    code = "print('0.7500000176')"
    assert run_tests(code, {"inputs": [""], "outputs": ["0.75"]})[0]  # the default 1e-6
    assert not run_tests(code, {"inputs": [""], "outputs": ["0.75"], "tolerance": 1e-9})[0]
    assert not run_tests("print(1.267651e+30)", {"inputs": [""], "outputs": [str(2**100)]})[0]  # integers exact
    for bad in (-1, "1e-6", True, float("nan"), 2):
        ok, why = run_tests(code, {"inputs": [""], "outputs": ["0.75"], "tolerance": bad})
        assert not ok and why == "bad tests: 'tolerance' must be a number in [0, 1)"


@pytest.mark.parametrize(
    "text",
    [
        "```" + "\t" * 10_000_000,
        "```python" + " " * 10_000_000 + "x",
        "```" * 3_400_000,
        "```\n" * 2_500_000,
        ("```" + "\t" * 1000 + "y") * 10_000,
    ],
)
def test_code_extraction_is_linear_on_10mb(text):
    """A fence followed by many tabs made the code-block pattern backtrack quadratically before
    any sandbox started. Measured well under a second; the bound leaves room for a loaded machine."""
    t = time.perf_counter()
    extract_answer(text, kind="code")
    assert time.perf_counter() - t < 5.0


def test_code_blocks_keep_their_rules():
    assert code_blocks("```python\na\n```\n```py \nb\n```\n``` Python3\t\nc\n```") == ["a\n", "b\n", "c\n"]
    assert code_blocks("```cpp\nx\n```") == [] and code_blocks("```python x\ny\n```") == []
    assert code_blocks("```python\nunclosed") == [] and code_blocks("````\nz\n```") == ["z\n"]


def test_real_rows_graded_as_labelled():
    """Three rows of the real-solutions benchmark that failed before: a threaded AtCoder program,
    a LeetCode program using List without importing typing, a FastIO program."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "bench" / "data" / "code_real.jsonl"
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            for idiom in ("threads", "typing_not_imported", "fastio"):
                if idiom in r["idioms"] and r["label"] and idiom not in rows and len(r["tests"]["inputs"]) <= 3:
                    rows[idiom] = r
    assert len(rows) == 3
    for r in rows.values():
        v = grade(f"```python\n{r['code']}\n```", "", kind="code", tests=r["tests"], timeout=12)
        assert v.correct, (r["id"], v.reason)


def test_time_limit_bounds_each_test():
    """A judge's limit is per test: one slow test does not borrow the fast tests' time."""
    code = "import time\nx = int(input())\ntime.sleep(x)\nprint(x)"
    tests = {"inputs": ["0\n", "0\n", "2\n"], "outputs": ["0", "0", "2"]}
    assert run_tests(code, tests, timeout=8)[0]
    ok, why = run_tests(code, {**tests, "time_limit": 1}, timeout=8)
    assert not ok and why == "failed test 3/3: timeout"
    for bad in (0, -1, "2", True, 7200):
        ok, why = run_tests(code, {**tests, "time_limit": bad})
        assert not ok and why.startswith("bad tests: 'time_limit'")


def test_files_left_open_are_flushed_at_exit():
    """As at interpreter shutdown: sys.stdout first, then writers the program never closed."""
    code = "import os, sys\nout = os.fdopen(os.dup(1), 'w')\nsys.stdout.write('1 ')\nout.write('2\\n')"
    assert run_tests(code, {"inputs": [""], "outputs": ["1 2"]}) == (True, "passed 1 tests")


def test_the_graders_own_comparing_has_a_deadline(monkeypatch):
    """Comparing is the grader's work, outside every sandbox limit: it is bounded like the program."""
    from redstar.verify import code_sandbox, sandbox_compare

    def slow(got, want, tol=None):
        time.sleep(1.5)
        return True

    monkeypatch.setattr(sandbox_compare, "output_matches", slow)
    monkeypatch.setattr(code_sandbox, "GRADER_SLACK_S", 0.2)
    ok, why = run_tests("print(3)", {"inputs": ["", ""], "outputs": ["3", "3"]}, timeout=1.0)
    assert not ok and why == "failed test 1/2: timeout (grading)"
