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


# ----------------------------------------------------------------------------- the sandbox's own mechanisms
# Attacks written by someone who has read sandbox_bwrap.py, sandbox_seccomp.py and the supervisor.

NESTED_NAMESPACES = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
got = []
if libc.unshare(0x10000000) == 0:                      # CLONE_NEWUSER: every capability inside it
    got.append("userns")
    if libc.unshare(0x00020000) == 0:                  # CLONE_NEWNS, allowed to a namespace's root
        got.append("mountns")
        if libc.mount(b"none", b"/usr", b"tmpfs", 0, None) == 0:
            got.append("mount")
for flags in (0x10000000 | 0x00020000, 0x40000000, 0x08000000, 0x02000000):
    if libc.unshare(flags) == 0:
        got.append(hex(flags))
for ns in ("user", "mnt", "net", "pid", "ipc"):         # join someone else's namespace
    try:
        fd = os.open("/proc/1/ns/" + ns, os.O_RDONLY)
        if libc.setns(fd, 0) == 0:
            got.append("setns-" + ns)
    except OSError:
        pass
args = (ctypes.c_uint64 * 11)(0x10000000, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0)  # struct clone_args
if libc.syscall(435, ctypes.byref(args), ctypes.sizeof(args)) == 0:  # clone3 (x86_64 and aarch64: 435)
    os._exit(0)
if ctypes.get_errno() != 38:                           # ENOSYS: libc falls back to clone
    got.append("clone3")
print(" ".join(got) or "contained")
"""


def test_nested_user_namespaces_and_mounts_are_refused():
    v = code_grade(NESTED_NAMESPACES, {"inputs": [""], "outputs": ["contained"]})
    assert v.correct, v.reason


SHM_HOG = """
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmdt.argtypes = [ctypes.c_void_p]
CHUNK, GOAL = 128 << 20, 1280 << 20                    # 1.25 GiB: more than the 1 GiB address space
held = {}

def sysv():                                            # segments outlive their mapping (shmdt)
    while sum(held.values()) < GOAL:
        sid = libc.shmget(0, CHUNK, 0o1000 | 0o600)    # IPC_PRIVATE, IPC_CREAT
        if sid < 0:
            return
        p = libc.shmat(sid, None, 0)
        if p is None or p == ctypes.c_void_p(-1).value:
            return
        ctypes.memset(p, 1, CHUNK)
        libc.shmdt(p)
        held["sysv"] = held.get("sysv", 0) + CHUNK

def files(opener, name):                               # shmem files kept open, never mapped
    fds = []
    while sum(held.values()) < GOAL and len(fds) < 50:
        try:
            fd = opener(len(fds))
            n = 0
            while n < CHUNK:
                n += os.write(fd, b"x" * (1 << 20))
        except OSError:
            return
        finally:
            if "n" in locals() and n:
                held[name] = held.get(name, 0) + n
        fds.append(fd)

sysv()
files(lambda i: os.memfd_create("hog%d" % i), "memfd")
files(lambda i: os.open("/dev/shm/hog%d" % i, os.O_RDWR | os.O_CREAT, 0o600), "devshm")
total = sum(held.values())
print("capped" if total < (1 << 30) else "held %d MiB %r" % (total >> 20, held))
"""


def test_shared_memory_cannot_hold_a_gibibyte():
    """SysV segments, memfds and /dev/shm files hold memory outside a process's address space:
    a program tries to keep 1.25 GiB there (the address-space limit is 1 GiB)."""
    v = code_grade(SHM_HOG, {"inputs": [""], "outputs": ["capped"]}, timeout=20)
    assert v.correct, v.reason


KEYRING_ATTACK = """
import ctypes, os, platform
NR = {nr!r}[platform.machine()]                          # add_key, keyctl
libc = ctypes.CDLL(None, use_errno=True)
found = []
kid = libc.syscall(NR[1], 10, -3, b"user", {desc!r}, 0)   # KEYCTL_SEARCH the session keyring
if kid >= 0:
    buf = ctypes.create_string_buffer(256)
    n = libc.syscall(NR[1], 11, kid, buf, 256)             # KEYCTL_READ
    found.append(buf.raw[:max(n, 0)].decode())
try:
    found += [ln.rsplit("-", 1)[1].split(":")[0] for ln in open("/proc/keys") if {desc!r}.decode() in ln]
except (OSError, IndexError):
    pass
for ring in (-3, -4, -5):                                  # session, user, user-session keyrings
    libc.syscall(NR[0], b"user", b"redstar-planted", b"from the sandbox", 16, ring)
print(found[0] if found else "nothing")
"""

KEYRING_HOST = """
import ctypes, json, sys
from redstar.verify.code_sandbox import run_tests
nr, marker, code = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
add_key, keyctl = nr
def planted():
    return libc.syscall(keyctl, 10, -3, b"user", b"redstar-planted", 0) >= 0
if libc.syscall(keyctl, 1, b"redstar-test-" + marker.encode()) < 0:   # KEYCTL_JOIN_SESSION_KEYRING
    print(json.dumps({{"skip": "no session keyring here (errno %d)" % ctypes.get_errno()}}))
    sys.exit(0)
desc = {desc!r} + marker.encode()
libc.syscall(add_key, b"user", desc, marker.encode(), len(marker), -3)
tests = {{"inputs": [""], "outputs": [marker]}}
out = {{"bwrap": run_tests(code, tests, timeout=10), "planted_bwrap": planted()}}
out["none"] = run_tests(code, tests, timeout=10, sandbox="none")   # the same attack, unconfined
out["planted_none"] = planted()
print(json.dumps(out))
"""


def test_the_graders_keyrings_are_out_of_reach():
    """The grader has a session keyring (as systemd services and PAM logins do) holding a key;
    the program searches it, reads /proc/keys and plants keys that would outlive the sandbox.
    The same program run without the sandbox finds the key and plants its own, so the attack
    itself works and it is the sandbox that stops it."""
    import platform
    import subprocess
    import sys

    from redstar.verify.sandbox_seccomp import ARCHES

    if platform.machine() not in ARCHES:
        pytest.skip("no syscall table for this machine")
    nr = {m: (t[2]["add_key"], t[2]["keyctl"]) for m, t in ARCHES.items()}
    desc = b"redstar-secret-"
    marker = str(secrets.randbelow(10**12) + 10**12)
    code = KEYRING_ATTACK.format(nr=nr, desc=desc)
    proc = subprocess.run(
        [sys.executable, "-c", KEYRING_HOST.format(desc=desc), json.dumps([nr[platform.machine()], marker, code])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(out["skip"])
    assert out["none"] == [True, "passed 1 tests"] and out["planted_none"], out  # the attack works unconfined
    assert out["bwrap"][0] is False and "wrong answer" in out["bwrap"][1], out
    assert out["planted_bwrap"] is False, out


PID1_SIGNALS = """
import os, signal
for s in sorted(signal.valid_signals()):
    for pid in (1, os.getppid()):
        try:
            os.kill(pid, s)
        except OSError:
            pass
try:
    fd = os.pidfd_open(1)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            signal.pidfd_send_signal(fd, s)
        except OSError:
            pass
except (OSError, AttributeError):
    pass
"""


def test_pid1_is_deaf_to_every_signal():
    """Every signal number, to the supervisor (pid 1) by pid and by pidfd; SIGINT used to end
    grading as an infrastructure error. The program then solves the problem."""
    assert_contained(PID1_SIGNALS)


PID1_LIMITS = """
import resource
for lim, val in ((resource.RLIMIT_NOFILE, 3), (resource.RLIMIT_AS, 1 << 20), (resource.RLIMIT_CPU, 0),
                 (resource.RLIMIT_NPROC, 0)):
    try:
        resource.prlimit(1, lim, (val, val))                 # the supervisor runs as this user
    except (OSError, ValueError):
        pass
"""


def test_pid1_limits_cannot_be_lowered():
    """prlimit on pid 1 (same user): with 3 open files the supervisor cannot start the next test."""
    assert_contained(PID1_LIMITS)
    limits_of_its_own = "import resource\nresource.prlimit(0, resource.RLIMIT_NOFILE, (32, 32))\n"
    assert_contained(limits_of_its_own)  # a process may still lower its own limits


PID1_PTRACE = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(0, 0, None, None) == 0:                      # PTRACE_TRACEME: the supervisor traces us
    os.kill(os.getpid(), signal.SIGSTOP)                    # a ptrace stop the supervisor never expected
    raise SystemExit(0)
if libc.ptrace(16, 1, None, None) == 0:                     # PTRACE_ATTACH to pid 1
    raise SystemExit(0)
"""


def test_pid1_cannot_be_made_a_tracer_or_traced():
    assert_contained(PID1_PTRACE)


PID1_OOM = """
raised = []
for p in ("/proc/1/oom_score_adj", "/proc/1/task/1/oom_score_adj", "/proc/1/oom_adj", "/proc/1/task/1/oom_adj",
          "/proc/1/root/proc/1/oom_score_adj"):
    try:
        with open(p, "w") as f:
            f.write("15" if p.endswith("oom_adj") else "1000")  # the OOM killer's first victim
        raised.append(p)
    except OSError:
        pass
print(" ".join(raised) or "contained")
"""


def test_pid1_cannot_be_made_the_oom_victim():
    """Under a root grader the supervisor's /proc files belong to the tests' user (its non-dumpable
    files are owned by host root, which is the sandbox's user): its OOM scores are masked."""
    v = code_grade(PID1_OOM, {"inputs": [""], "outputs": ["contained"]})
    assert v.correct, v.reason
