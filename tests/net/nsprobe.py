#!/usr/bin/python3
"""nsprobe: what a process tree holds in the kernel, and whether any of it
outlives the tree.  The network tests' evidence that a SIGKILLed kennel
leaves nothing behind (no sandbox, no gateway namespace, no veth, no
listening socket).

  nsprobe.py netstate
      the network links and the listening/bound sockets of the caller's
      network namespace, one per line, sorted:
        link NAME | tcp-listen ADDR:PORT | udp ADDR:PORT
  nsprobe.py snapshot PID
      JSON on stdout: PID and every descendant (pid, start time, comm,
      network and user namespace), every network namespace they are in or
      hold an fd to, every socket inode in their fds, and the pids whose
      fds could not be read.
  nsprobe.py leftovers SNAPSHOT.json [--keep-net INODE]...
      scan every process: print one line per thing of the snapshot that is
      still there -- a process of the tree (same pid and start time), a
      process in or holding one of its network namespaces (except the
      --keep-net ones: the lab's own), a holder of one of its sockets, a
      bind mount of one of its namespaces in our mount table.  Exit 1 when
      something is, 0 when nothing is.

Run it as the lab's root (netlab root): in the unprivileged lab that root
has CAP_SYS_PTRACE over every user namespace kennel creates below it.  A
non-dumpable process's /proc/PID/fd belongs to the global root (mode 0500),
which the lab's root is not; its fds are then read with pidfd_getfd(2),
which asks for ptrace access only: each fd number below the table size
(FDSize in /proc/PID/status) is duplicated into this process, named through
/proc/self/fd and closed.
"""

import ctypes
import json
import os
import re
import sys

SYS_PIDFD_GETFD = 438  # the same number on every architecture
LIBC = ctypes.CDLL(None, use_errno=True)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def stat_fields(pid):
    """(ppid, start time) from /proc/PID/stat; comm may hold spaces."""
    s = read(f"/proc/{pid}/stat")
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19])


def comm(pid):
    try:
        return read(f"/proc/{pid}/comm").strip()
    except OSError:
        return "?"


def ns_inode(pid, kind):
    try:
        link = os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None
    m = re.fullmatch(r"\w+:\[(\d+)\]", link)
    return int(m.group(1)) if m else None


def fd_targets(pid):
    """readlink of every fd, or None when they cannot be read."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except PermissionError:
        return fd_targets_pidfd(pid)
    except OSError:
        return None
    out = []
    for fd in fds:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # closed meanwhile
    return out


def fd_targets_pidfd(pid):
    """fd_targets() through pidfd_getfd(2), or None when that fails too."""
    try:
        m = re.search(r"^FDSize:\s+(\d+)", read(f"/proc/{pid}/status"), re.M)
        pidfd = os.pidfd_open(pid)
    except OSError:
        return None
    out = []
    try:
        for target in range(int(m.group(1)) if m else 0):
            fd = LIBC.syscall(SYS_PIDFD_GETFD, pidfd, target, 0)
            if fd < 0:
                err = ctypes.get_errno()
                if err == 9:  # EBADF: no such fd
                    continue
                return None  # EPERM, ESRCH, ENOSYS: cannot see them all
            try:
                out.append(os.readlink(f"/proc/self/fd/{fd}"))
            finally:
                os.close(fd)
    finally:
        os.close(pidfd)
    return out


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def netstate():
    lines = []
    for line in read("/proc/self/net/dev").splitlines()[2:]:
        lines.append("link " + line.split(":")[0].strip())

    def addr(hexaddr):
        ip, port = hexaddr.split(":")
        raw = bytes.fromhex(ip)
        if len(raw) == 4:
            text = ".".join(str(b) for b in raw[::-1])
        else:
            # four host-order 32-bit words
            words = [raw[i:i + 4][::-1] for i in range(0, 16, 4)]
            b = b"".join(words)
            text = ":".join(b[i:i + 2].hex() for i in range(0, 16, 2))
        return f"{text}:{int(port, 16)}"

    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            rows = read(f"/proc/self/net/{proto}").splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            local, state = f[1], f[3]
            if proto.startswith("tcp"):
                if state == "0A":  # LISTEN
                    lines.append(f"tcp-listen {addr(local)}")
            else:
                lines.append(f"udp {addr(local)}")
    print("\n".join(sorted(set(lines))))


def snapshot(root):
    children = {}
    for pid in all_pids():
        try:
            ppid, _ = stat_fields(pid)
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    procs, nets, sockets, unreadable = [], set(), set(), []
    for pid in tree:
        try:
            _, start = stat_fields(pid)
        except (OSError, ValueError, IndexError):
            continue
        net = ns_inode(pid, "net")
        procs.append({"pid": pid, "start": start, "comm": comm(pid), "net": net,
                      "user": ns_inode(pid, "user")})
        if net is not None:
            nets.add(net)
        fds = fd_targets(pid)
        if fds is None:
            unreadable.append(pid)
            continue
        for t in fds:
            m = re.fullmatch(r"socket:\[(\d+)\]", t)
            if m:
                sockets.add(int(m.group(1)))
            m = re.fullmatch(r"net:\[(\d+)\]", t)
            if m:
                nets.add(int(m.group(1)))
    json.dump({"root": root, "procs": procs, "nets": sorted(nets), "sockets": sorted(sockets),
               "unreadable": unreadable}, sys.stdout, indent=1)
    print()


def leftovers(path, keep):
    snap = json.loads(read(path))
    nets = set(snap["nets"]) - keep
    sockets = set(snap["sockets"])
    procs = {(p["pid"], p["start"]) for p in snap["procs"]}
    found = []
    for pid in all_pids():
        try:
            _, start = stat_fields(pid)
        except (OSError, ValueError, IndexError):
            continue
        if pid == os.getpid():
            continue
        if (pid, start) in procs:
            found.append(f"process {pid} ({comm(pid)}) of the tree is still running")
        net = ns_inode(pid, "net")
        if net in nets:
            found.append(f"process {pid} ({comm(pid)}) is in network namespace {net}")
        for t in fd_targets(pid) or []:
            m = re.fullmatch(r"(socket|net):\[(\d+)\]", t)
            if not m:
                continue
            ino = int(m.group(2))
            if (m.group(1) == "socket" and ino in sockets) or (m.group(1) == "net" and ino in nets):
                found.append(f"process {pid} ({comm(pid)}) holds {t}")
    for line in read("/proc/self/mountinfo").splitlines():
        m = re.search(r"net:\[(\d+)\]", line)
        if m and int(m.group(1)) in nets:
            found.append(f"network namespace bind-mounted: {line}")
    for f in found:
        print(f)
    return 1 if found else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "netstate":
        netstate()
        return 0
    if len(argv) == 3 and argv[1] == "snapshot":
        snapshot(int(argv[2]))
        return 0
    if len(argv) >= 3 and argv[1] == "leftovers":
        keep, rest = set(), argv[3:]
        while rest:
            if rest[0] != "--keep-net" or len(rest) < 2:
                break
            keep.add(int(rest[1]))
            rest = rest[2:]
        if not rest:
            return leftovers(argv[2], keep)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
