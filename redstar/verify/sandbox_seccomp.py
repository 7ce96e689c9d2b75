"""Seccomp filters for the code sandbox, as classic BPF programs (no libseccomp needed).

Two filters, stacked (the kernel applies both; a syscall must pass each):

``sandbox_filter`` (given to ``bwrap --seccomp``; binds the supervisor, pid 1, and every test):
- sockets other than AF_UNIX -> EACCES; ``io_uring_setup`` -> EPERM (io_uring could open
  sockets and run other syscalls behind the filter's back);
- no new namespaces: ``unshare``, ``setns`` and ``clone`` with any CLONE_NEW* flag -> EPERM,
  ``clone3`` -> ENOSYS (its flags sit in memory a filter cannot read; libc then falls back to
  ``clone``); the mount syscalls -> EPERM (bwrap has mounted everything before the filter
  applies);
- no kernel keyrings (``add_key``, ``request_key``, ``keyctl`` -> EPERM): keyrings are not
  namespaced, so the grader's session keyring would be readable and writable from inside;
- no SysV IPC (shared memory, semaphores, message queues -> ENOSYS): memory held there is
  outside every test process's address-space limit; with ``/dev/shm`` read-only and no
  ``memfd_create`` in test processes (below), the 64 MiB working tmpfs is the only shared memory
  a program can fill;
- no ``ptrace`` or ``process_vm_readv``/``writev`` (-> EPERM): with PTRACE_TRACEME a test
  would make the supervisor its tracer and stop itself under it;
- ``prlimit64`` on any process but the caller (pid argument not 0) -> EPERM: a test process
  runs as the supervisor's user and could otherwise lower pid 1's limits;
- ``bpf``, ``perf_event_open`` and ``userfaultfd`` -> EPERM: kernel attack surface a contest
  program never needs (and BPF maps, where a host allows them unprivileged, hold memory outside
  the address-space limit).

``child_filter`` (installed by the supervisor in each forked test process): no new processes
(threads are fine): ``fork``/``vfork`` and ``clone`` without CLONE_THREAD -> EPERM; no
``memfd_create`` (-> ENOSYS; the supervisor itself may use memfds, for instance to hand a test
its input as a file).

Both refuse every foreign syscall ABI (x32, i386 on x86_64; 32-bit arm on aarch64).
"""

from __future__ import annotations

import errno
import platform
import struct

# struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}; struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6]}
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW = 0x7FFF0000
ERRNO = 0x00050000
ARG0 = 16  # offset of the low 32 bits of args[0] (little-endian hosts only, as both below are)

_X86_64 = {
    "socket": 41, "clone": 56, "fork": 57, "vfork": 58, "clone3": 435, "io_uring_setup": 425,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "add_key": 248, "request_key": 249, "keyctl": 250,
    "shmget": 29, "shmat": 30, "shmctl": 31, "shmdt": 67, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "memfd_create": 319,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "prlimit64": 302,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
}  # fmt: skip
_AARCH64 = {  # the generic table (asm-generic/unistd.h): no fork/vfork syscalls
    "socket": 198, "clone": 220, "clone3": 435, "io_uring_setup": 425,
    "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "add_key": 217, "request_key": 218, "keyctl": 219,
    "shmget": 194, "shmctl": 195, "shmat": 196, "shmdt": 197, "semget": 190, "semctl": 191,
    "semtimedop": 192, "semop": 193, "msgget": 186, "msgctl": 187, "msgrcv": 188, "msgsnd": 189,
    "memfd_create": 279, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "prlimit64": 261,
    "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
}  # fmt: skip
ARCHES = {  # machine -> (AUDIT_ARCH, first syscall number of a foreign ABI sharing the arch or None, numbers)
    "x86_64": (0xC000003E, 0x40000000, _X86_64),
    "aarch64": (0xC00000B7, None, _AARCH64),
}
AF_UNIX = 1
CLONE_THREAD = 0x00010000
# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
# (CLONE_NEWTIME, 0x80, is the exit-signal byte for clone; it only exists for unshare and clone3)
CLONE_NEW_ANY = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

NO_NAMESPACES = ("unshare", "setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen",
                 "fsconfig", "fsmount", "fspick", "mount_setattr")  # fmt: skip
NO_KEYRINGS = ("add_key", "request_key", "keyctl")
NO_SHARED_MEMORY = ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semctl", "semtimedop",
                    "msgget", "msgsnd", "msgrcv", "msgctl")  # fmt: skip
NO_TRACING = ("ptrace", "process_vm_readv", "process_vm_writev")
NO_KERNEL_EXTRAS = ("bpf", "perf_event_open", "userfaultfd")


class UnsupportedArch(Exception):
    """No filter for this machine's syscall table."""


def ins(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _ret(action: int) -> bytes:
    return ins(RET, action)


def _deny(err: int) -> bytes:
    return _ret(ERRNO | err)


def _table(machine: str | None) -> tuple[int, int | None, dict]:
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise UnsupportedArch(f"no seccomp filter for the {machine} architecture (x86_64 and aarch64 only)")
    return ARCHES[machine]


def _program(rules: list[tuple[int, list[bytes]]], machine: str | None) -> bytes:
    """A filter: foreign ABI -> EPERM; for each (syscall number, checks on it) jump to its checks,
    which end in a return; every other syscall is allowed."""
    audit_arch, foreign, _ = _table(machine)
    deny = _deny(errno.EPERM)
    head = [ins(LD_ABS, 4), ins(JEQ, audit_arch, 1, 0), deny, ins(LD_ABS, 0)]
    if foreign is not None:
        head += [ins(JGE, foreign, 0, 1), deny]
    body: list[bytes] = []
    for number, checks in reversed(rules):  # built back to front so each jump skips what follows
        body = [ins(JEQ, number, 0, len(checks))] + checks + body
    return b"".join(head + body + [_ret(ALLOW)])


def sandbox_filter(machine: str | None = None) -> bytes:
    """The filter for the whole sandbox (see the module docstring)."""
    _, _, nr = _table(machine)
    rules = [
        (nr["socket"], [ins(LD_ABS, ARG0), ins(JEQ, AF_UNIX, 0, 1), _ret(ALLOW), _deny(errno.EACCES)]),
        (nr["clone"], [ins(LD_ABS, ARG0), ins(JSET, CLONE_NEW_ANY, 0, 1), _deny(errno.EPERM), _ret(ALLOW)]),
        (nr["clone3"], [_deny(errno.ENOSYS)]),
        (nr["prlimit64"], [ins(LD_ABS, ARG0), ins(JEQ, 0, 0, 1), _ret(ALLOW), _deny(errno.EPERM)]),
        (nr["io_uring_setup"], [_deny(errno.EPERM)]),
    ]
    refused = NO_NAMESPACES + NO_KEYRINGS + NO_TRACING + NO_KERNEL_EXTRAS
    rules += [(nr[name], [_deny(errno.EPERM)]) for name in refused]
    rules += [(nr[name], [_deny(errno.ENOSYS)]) for name in NO_SHARED_MEMORY]
    return _program(rules, machine)


def child_filter(machine: str | None = None) -> bytes:
    """No new processes (threads are fine): fork/vfork and clone without CLONE_THREAD -> EPERM,
    clone3 -> ENOSYS (libc then falls back to clone, which the filter can inspect); no memfds."""
    _, _, nr = _table(machine)
    rules = [
        (nr["clone"], [ins(LD_ABS, ARG0), ins(JSET, CLONE_THREAD, 0, 1), _ret(ALLOW), _deny(errno.EPERM)]),
        (nr["clone3"], [_deny(errno.ENOSYS)]),
        (nr["memfd_create"], [_deny(errno.ENOSYS)]),
    ]
    rules += [(nr[name], [_deny(errno.EPERM)]) for name in ("fork", "vfork") if name in nr]
    return _program(rules, machine)
