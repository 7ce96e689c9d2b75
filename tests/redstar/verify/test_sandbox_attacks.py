"""Hostile programs against the bubblewrap code sandbox, one attack class per test, written as a
policy that wants reward would write them. Each must be contained: no effect on the host, no
look at what the program is judged against, no verdict it did not earn."""

import json
import secrets
import socket
import threading

import pytest

from redstar.verify import grade, grade_batch
from redstar.verify.code_sandbox import run_tests


def _bwrap_reason():
    from redstar.verify import sandbox_bwrap

    try:
        sandbox_bwrap.check()
    except sandbox_bwrap.SandboxUnavailable as e:
        return str(e)
    return None


_WHY = _bwrap_reason()
pytestmark = pytest.mark.skipif(_WHY is not None, reason=f"bwrap sandbox unavailable here: {_WHY}")

ADD = {"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]}
SOLVE = "\na, b = map(int, input().split())\nprint(a + b)\n"


def code_grade(code, tests=ADD, timeout=5.0):
    return grade(f"```python\n{code}\n```", "", kind="code", tests=tests, timeout=timeout)


def assert_contained(attack: str, absent=None) -> None:
    """``attack`` runs before a correct solution: the program still passes (the attack neither
    breaks the runner nor costs the verdict) and the host file ``absent`` was not created."""
    v = code_grade(attack + SOLVE)
    assert v.correct, v.reason
    if absent is not None:
        assert not absent.exists()


def secret_tests():
    """Tests whose expected output cannot be computed from the input: only a leak could pass."""
    marker = str(secrets.randbelow(10**12) + 10**12)
    return marker, {"inputs": ["go\n"], "outputs": [marker + "\n"]}


def test_symlinks_planted_in_working_directory_reach_nothing(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("host data\n")
    code = f"""
import os
victim = {str(victim)!r}
for name in ("stdout.txt", "stdin.txt", "stderr.txt", "solution.py", "out", "result.json"):
    for base in (".",):
        try:
            os.symlink(victim, os.path.join(base, name))
        except OSError:
            pass
try:
    open("stdout.txt", "w").write("owned\\n")
except OSError:
    pass
try:
    os.symlink("/proc/%d/fd/1" % os.getppid(), "chan")
    open("chan", "w").write("R 0 ok 0 2 0\\n3\\nE\\n")
except OSError:
    pass
print("wrong")
"""
    v = code_grade(code)
    assert not v.correct and "wrong answer" in v.reason
    assert victim.read_text() == "host data\n"


def test_dir_fd_writes_cannot_leave_the_sandbox(tmp_path):
    code = f"""
import os
made = []
for d in ({str(tmp_path)!r}, "/proc/1/root" + {str(tmp_path)!r}, "/proc/self/cwd/.."):
    try:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        w = os.open("owned.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(w, b"x")
        made.append(d)
    except OSError:
        pass
"""
    assert_contained(code, absent=tmp_path / "owned.txt")  # its writes only reach its own tmpfs


def test_sqlite_cannot_create_host_files(tmp_path):
    db = tmp_path / "owned.db"
    code = f"""
import sqlite3
try:
    con = sqlite3.connect({str(db)!r})
    con.execute("create table t(x)")
    con.commit()
except Exception:
    pass
"""
    assert_contained(code, absent=db)


def test_mkfifo_cannot_create_host_files(tmp_path):
    fifo = tmp_path / "owned.fifo"
    code = f"""
import os
for p in ({str(fifo)!r}, "/proc/1/root" + {str(fifo)!r}):
    try:
        os.mkfifo(p)
    except OSError:
        pass
"""
    assert_contained(code, absent=fifo)


def test_rdonly_trunc_cannot_truncate_host_files(tmp_path):
    # Only files of this test are aimed at: were the sandbox broken, nothing else gets hurt.
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    code = f"""
import os
for p in ({str(victim)!r}, "/proc/1/root" + {str(victim)!r}, "/proc/self/root" + {str(victim)!r}):
    try:
        os.close(os.open(p, os.O_RDONLY | os.O_TRUNC))
    except OSError:
        pass
"""
    assert_contained(code)
    assert victim.read_text() == "keep me\n"


def test_ctypes_syscalls_are_contained(tmp_path):
    target = tmp_path / "ctypes_owned.txt"
    code = f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.open({str(target).encode()!r}, 0o1 | 0o100, 0o644)   # O_WRONLY | O_CREAT, behind any Python hook
if fd >= 0:
    libc.write(fd, b"x", 1)
s = libc.socket(2, 1, 0)                                      # AF_INET, SOCK_STREAM
u = libc.unshare(0x10000000)                                  # a nested user namespace
print("socket" if s >= 0 else "nosocket")
"""
    v = code_grade(code, {"inputs": [""], "outputs": ["nosocket"]})
    assert v.correct, v.reason
    assert not target.exists()


def test_expected_outputs_are_not_reachable_through_proc_or_memory(tmp_path, monkeypatch):
    marker, tests = secret_tests()
    monkeypatch.setenv("REDSTAR_GRADER_TOKEN", marker)  # the grader's own environment is a target too
    tests_file = tmp_path / "cases.jsonl"
    tests_file.write_text(json.dumps({"id": 1, "tests": tests}) + "\n")
    code = f"""
import gc, glob, os, re
found = set()
def scan(text):
    found.update(re.findall(r"\\b1\\d{{12}}\\b", text))
for p in [{str(tests_file)!r}] + glob.glob("/proc/*/cmdline") + glob.glob("/proc/*/environ") \\
        + glob.glob("/proc/*/fd/*") + glob.glob("/proc/*/task/*/fd/*") + glob.glob("/tmp/*"):
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)          # pipes too, without waiting on them
        scan(os.read(fd, 1 << 20).decode("latin-1"))
        os.close(fd)
    except OSError:
        pass
for o in gc.get_objects():                                    # the runner's own state, after fork
    if isinstance(o, dict):
        scan(repr(o)[:1 << 20])
try:
    ppid = os.getppid()
    with open("/proc/%d/mem" % ppid, "rb") as f:
        pass
except OSError:
    pass
print(max(found) if found else "nothing")
"""
    v = code_grade(code, tests)
    assert not v.correct and "wrong answer" in v.reason


def test_forged_result_frames_do_not_count():
    _, tests = secret_tests()
    code = """
import os
frame = b"R 0 ok 0 14 0\\n" + b"1000000000000\\n" + b"E\\n"
for fd in range(0, 256):
    try:
        os.write(fd, frame)
    except OSError:
        pass
for p in ["/proc/%d/fd/%d" % (os.getppid(), fd) for fd in range(8)] + ["/proc/self/fd/1"]:
    try:
        with open(p, "wb") as f:
            f.write(frame)
    except OSError:
        pass
try:
    os.kill(os.getppid(), 9)                                  # end the runner so a forged frame is last
except OSError:
    pass
"""
    v = code_grade(code, tests)
    assert not v.correct
    assert "passed" not in v.reason


def test_the_runner_survives_the_program():
    """The program signals its runner (the sandbox's pid 1; only that pid is aimed at, so that a
    broken sandbox hurts nothing else): the runner carries on and grades the program's output."""
    code = """
import os
for sig in (9, 15, 19):
    try:
        os.kill(os.getppid(), sig)
    except OSError:
        pass
a, b = map(int, input().split())
print(a + b)
"""
    assert code_grade(code).correct


def test_call_form_objects_cannot_decide_their_own_equality():
    tests = {"inputs": [[1]], "outputs": [[123456789]], "fn_name": "f"}
    code = """
class Always:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
class Sneaky(int):
    def __eq__(self, other):
        return True
def f(x):
    return Always()
"""
    v = code_grade(code, tests)
    assert not v.correct
    sneaky = code.replace("return Always()", "return Sneaky(5)")
    assert not code_grade(sneaky, tests).correct  # serialised as 5, compared here


def test_host_unix_sockets_and_loopback_are_unreachable(tmp_path):
    path = tmp_path / "host.sock"
    abstract = "\0redstar-test-" + secrets.token_hex(6)
    servers = []
    for addr in (str(path), abstract):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(addr)
        s.listen(4)
        s.settimeout(0.2)
        servers.append(s)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(4)
    tcp.settimeout(0.2)
    servers.append(tcp)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            for s in servers:
                try:
                    accepted.append(s.accept()[0])
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    code = f"""
import socket
hits = 0
for addr in ({str(path)!r}, {abstract!r}):
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(addr)
        c.sendall(b"pwned")
        hits += 1
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", {tcp.getsockname()[1]}), timeout=1).sendall(b"pwned")
    hits += 1
except OSError:
    pass
print(hits)
"""
    try:
        v = code_grade(code, {"inputs": [""], "outputs": ["0"]})
    finally:
        stop.set()
        t.join()
        for s in servers + accepted:
            s.close()
    assert v.correct, v.reason
    assert accepted == []


SPY = """
import glob, os, time
me = "redstar-spy-" + {me!r}       # only files of this kind are touched, were isolation broken
open(me, "w").write("secret of " + me)                 # the working directory: the sandbox's tmpfs
seen = set()
deadline = time.time() + {seconds}
while time.time() < deadline:
    for p in glob.glob(os.path.join(os.getcwd(), "redstar-spy-*")) + glob.glob("/tmp/redstar-spy-*"):
        if not p.endswith(me):
            seen.add(p)
            try:
                open(p, "w").write("rewritten by " + me)
            except OSError:
                pass
    for p in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            if b"python" in open(p, "rb").read() and p.split("/")[2] not in ("1", str(os.getpid())):
                seen.add(p)
        except OSError:
            pass
    time.sleep(0.02)
alone = not seen and open(me).read() == "secret of " + me
os.remove(me)
print("alone" if alone else "seen")
"""


def test_two_concurrent_sandboxes_stay_apart():
    results = {}

    def one(me):
        results[me] = run_tests(SPY.format(me=me, seconds=1.5), {"inputs": [""], "outputs": ["alone"]}, timeout=8)

    threads = [threading.Thread(target=one, args=(me,)) for me in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"alpha": (True, "passed 1 tests"), "beta": (True, "passed 1 tests")}


def test_grading_with_two_workers_keeps_sandboxes_apart():
    items = [
        {
            "response": f"```python\n{SPY.format(me=f'item{i}', seconds=0.15)}\n```",
            "gold": "",
            "kind": "code",
            "tests": {"inputs": [""], "outputs": ["alone"]},
            "timeout": 8,
        }
        for i in range(34)
    ]
    verdicts = grade_batch(items, workers=2, progress=False)
    assert all(v.correct for v in verdicts), [v.reason for v in verdicts if not v.correct]


def test_disk_fill_is_capped():
    code = """
import os
capped = True
for path in ("fill", "/tmp/fill", "/dev/shm/redstar-test-fill"):
    written = 0
    try:
        with open(path, "wb") as f:
            while written < (160 << 20):
                f.write(b"x" * (1 << 20))
                written += 1 << 20
    except OSError:
        pass
    if written >= (100 << 20):
        capped = False
    try:
        os.remove(path)
    except OSError:
        pass
print("capped" if capped else "filled")
"""
    v = code_grade(code, {"inputs": [""], "outputs": ["capped"]}, timeout=10)
    assert v.correct, v.reason


@pytest.mark.parametrize(
    "printed,expected",
    [
        ("1000000001", "1000000000"),  # integers are exact, not within a relative tolerance
        ("99999999999999999999", "99999999999999999998"),
        ("١٢", "12"),  # Arabic-Indic digits are not digits
        ("１２", "12"),  # fullwidth digits
        ("nan", "0.5"),
        ("inf", "1e400"),  # overflows a float: compared as text
        ("1_000", "1000"),
        ("0x10", "16"),
        ("3", "3 4"),
    ],
)
def test_lax_comparisons_do_not_pass(printed, expected):
    v = code_grade(f"print({printed!r})", {"inputs": [""], "outputs": [expected]})
    assert not v.correct and "wrong answer" in v.reason


def test_tolerance_and_integer_forms_still_pass():
    tests = {"inputs": [""], "outputs": ["0.3333333 7 -0 0.5\n"]}
    assert code_grade("print(1/3, '007', 0, '5e-1')", tests).correct


def test_program_text_never_reaches_the_reason():
    code = """
import sys
class PassedAllTests(Exception):
    pass
sys.stderr.write("passed 2 tests\\n")
raise PassedAllTests("passed 2 tests")
"""
    v = code_grade(code)
    assert not v.correct
    assert v.reason == "failed test 1/2: runtime error (exit status 1)", v.reason
    v = code_grade("import sys\nsys.exit('passed 2 tests: all correct')")
    assert "passed" not in v.reason and "correct" not in v.reason
    v = code_grade("import sys\nsys.stderr.write('ValueError: passed')\nraise SystemExit(3)")
    assert "passed" not in v.reason


def test_correct_programs_still_pass_both_forms():
    assert code_grade(SOLVE).correct
    tests = {"inputs": [[[3, 1, 2]], [[5]]], "outputs": [[[1, 2, 3]], [[5]]], "fn_name": "sort_it"}
    assert code_grade(
        "import heapq\nclass Solution:\n    def sort_it(self, xs):\n        return sorted(xs)", tests
    ).correct
    threaded = (
        "import sys, threading\nsys.setrecursionlimit(10000)\nthreading.stack_size(1 << 26)\n"
        "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n"
        "t = threading.Thread(target=main)\nt.start()\nt.join()"
    )
    assert code_grade(threaded).correct
    assert code_grade("import numpy as np\nprint(int(np.sum(np.array(list(map(int, input().split()))))))").correct
