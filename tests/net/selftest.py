#!/usr/bin/python3
"""selftest: prove the network lab works on its own, without kennel.

  selftest.py NETLAB LABDIR      (run by `netlab selftest LABDIR`)

From inside the lab (netlab root / netlab user), with the host's curl and
kennel-netclient: the lab is its own network namespace with no route out,
dnsmasq answers every test record, curl reaches https://allowed.test and
the other hosts through dnsmasq with real certificate checks against the
lab CA, the banner, HTTP and UDP echo servers answer from the right
addresses, the servers log what the tests look for, and `netlab user` is an
unprivileged process in the lab.  TAP on stdout; exit 0 iff every check
passed.
"""

import os
import re
import subprocess
import sys

NETLAB, LAB = sys.argv[1], sys.argv[2]
ENV = {}
with open(os.path.join(LAB, "lab.env"), encoding="utf-8") as f:
    for line in f:
        k, _, v = line.strip().partition("=")
        ENV[k] = v.strip("'")
CLIENT = ENV["LAB_CLIENT"]
CA = os.path.join(LAB, "pub", "ca.pem")
RESOLV = os.path.join(LAB, "resolv.conf")

results = []


def check(what, ok, detail=""):
    results.append((what, bool(ok), detail))


def run(argv, timeout=20):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def lab(*argv):
    return run([NETLAB, "root", LAB, *argv])


def lab_user(*argv):
    return run([NETLAB, "user", LAB, *argv])


def lab_resolv(*argv):
    """argv in the lab with /etc/resolv.conf naming the lab's dnsmasq (a
    mount namespace of its own: the host's file is not touched)."""
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return lab("unshare", "-m", "sh", "-c", script, RESOLV, *argv)


def curl(*args):
    return lab_resolv("curl", "-sS", "--noproxy", "*", "--max-time", "5", *args)


def field(line, key):
    m = re.search(r"(?:^| )" + key + r'=("(?:[^"\\]|\\.)*"|\S*)', line)
    return m.group(1) if m else None


with open(RESOLV, "w", encoding="utf-8") as f:
    f.write("nameserver 127.0.0.1\n")
os.chmod(RESOLV, 0o644)

# --- isolation
host_net = os.stat("/proc/self/ns/net").st_ino
lab_net = int(ENV["LAB_NETNS"])
check("the lab is a network namespace of its own", host_net != lab_net, f"host {host_net} lab {lab_net}")
rc, host_addrs, _ = run(["ip", "-o", "addr"])
check("the lab's addresses do not exist on the host", rc == 0 and "198.51.100." not in host_addrs
      and "203.0.113." not in host_addrs, host_addrs)
rc, out, err = lab("ip", "route", "get", "192.0.2.1")
check("nothing leaves the lab: no route to the world", rc != 0 and "unreachable" in err, out + err)
rc, out, err = lab("ip", "-o", "addr", "show", "dev", "lo")
for a in ("198.51.100.10", "203.0.113.20", "10.99.0.10", "169.254.169.254", "2001:db8::10"):
    check(f"lo has {a}", rc == 0 and f" {a}/" in out, out + err)

# --- dnsmasq
DNS = [
    ("allowed.test", "A", "A=198.51.100.10", 0),
    ("allowed.test", "AAAA", "rcode=NOERROR answers=0", 4),
    ("allowed.test", "TXT", 'TXT="kennel-lab allowed txt"', 0),
    ("other.test", "A", "A=203.0.113.20", 0),
    ("ssh.test", "A", "A=198.51.100.22", 0),
    ("private.test", "A", "A=10.99.0.10", 0),
    ("rebind.test", "A", "A=127.0.0.1", 0),
    ("wild.test", "A", "A=198.51.100.30", 0),
    ("x.wild.test", "A", "A=198.51.100.30", 0),
    ("x.wild.test", "AAAA", "rcode=NOERROR answers=0", 4),
    ("a.b.wild.test", "A", "A=198.51.100.30", 0),
    ("xwild.test", "A", "A=198.51.100.31", 0),
    ("alias.test", "A", "CNAME=allowed.test A=198.51.100.10", 0),
    ("v6.test", "AAAA", "AAAA=2001:db8::10", 0),
    ("leak.exfil.test", "TXT", 'TXT="kennel-lab leaked"', 0),
    ("nosuch.test", "A", "rcode=NXDOMAIN", 4),
]
for name, qtype, want, status in DNS:
    rc, out, err = lab(CLIENT, "dns", name, qtype, "-S", "127.0.0.1", "-t", "2000")
    check(f"dnsmasq: {name} {qtype} -> {want}", rc == status and want in out, f"rc={rc} {out} {err}")
rc, out, err = lab(CLIENT, "dns", "allowed.test", "A", "-S", "198.51.100.53", "-t", "2000")
check("the second resolver 198.51.100.53 answers", rc == 0 and "A=198.51.100.10" in out, out + err)

# --- HTTPS through dnsmasq with the lab CA
HTTPS = [
    ("allowed.test", "198.51.100.10", []),
    ("other.test", "203.0.113.20", []),
    ("ssh.test", "198.51.100.22", []),
    ("x.wild.test", "198.51.100.30", []),
    ("private.test", "10.99.0.10", []),
    ("rebind.test", "127.0.0.1", []),
    ("alias.test", "198.51.100.10", []),
    ("v6.test", "2001:db8::10", ["-6"]),
]
for name, addr, extra in HTTPS:
    rc, out, err = curl(*extra, "--cacert", CA, f"https://{name}/selftest")
    want = f"kennel-lab https local={addr} port=443 sni={name} host={name} path=/selftest"
    check(f"curl https://{name} (dnsmasq, lab CA) is answered from {addr}", rc == 0 and out == want,
          f"rc={rc} out={out!r} err={err!r}")
rc, out, err = curl("--cacert", CA, "--resolve", "kennel.example:443:198.51.100.10", "https://kennel.example/")
check("TLS is verified: a name the certificate lacks fails (curl 60)", rc == 60, f"rc={rc} {out} {err}")
rc, out, err = curl("http://allowed.test/h")
check("HTTP on 80 answers with the Host it got", rc == 0 and
      out == "kennel-lab http local=198.51.100.10 port=80 host=allowed.test path=/h", out + err)
rc, out, err = curl("http://allowed.test:8443/p")
check("HTTP on 8443 answers (a port kennel must refuse)", rc == 0 and "port=8443" in out, out + err)
rc, out, err = curl("http://169.254.169.254/latest/meta-data/")
check("the metadata address answers HTTP", rc == 0 and "local=169.254.169.254 port=80" in out, out + err)

# --- banner, UDP echo, sync
rc, out, err = lab(CLIENT, "tcp", "198.51.100.22", "22", "-t", "3000")
check("the ssh banner server answers on 198.51.100.22:22",
      rc == 0 and field(out, "data") == '"SSH-2.0-kennel-test local=198.51.100.22\\r\\n"', out + err)
rc, out, err = lab(CLIENT, "tcp", "203.0.113.20", "22", "-t", "3000")
check("... and on other.test's address", rc == 0 and "local=203.0.113.20" in out, out + err)
rc, out, err = lab(CLIENT, "udp", "198.51.100.10", "7", "kennel-ping", "-t", "3000")
check("UDP echo answers on 198.51.100.10:7", rc == 0 and field(out, "reply") == '"kennel-ping"', out + err)
rc, out, err = run([NETLAB, "sync", LAB])
check("netlab sync", rc == 0, out + err)

# --- logs
with open(os.path.join(LAB, "server.log"), encoding="utf-8") as f:
    slog = f.read()
with open(os.path.join(LAB, "dns.log"), encoding="utf-8") as f:
    dlog = f.read()
check("server.log has the https request with its SNI",
      "request proto=https local=198.51.100.10:443 sni=allowed.test host=allowed.test path=/selftest" in slog)
check("server.log has the accepts", re.search(r"^accept proto=ssh local=198\.51\.100\.22:22 ", slog, re.M))
check("server.log has the UDP datagram", "udp local=7 " in slog)
check("dns.log has the queries", re.search(r"query\[TXT\] leak\.exfil\.test from 127\.0\.0\.1", dlog))

# --- the unprivileged path kennel takes
rc, out, err = lab_user("sh", "-c", 'id -u; id -g; grep CapEff /proc/self/status; readlink /proc/self/ns/net')
lines = out.splitlines()
want_caps = "CapEff:\t0000000000000000" if os.getuid() != 0 else "CapEff:\t000001ffffffffff"
check("netlab user: the caller's own uid and gid", rc == 0 and lines[:2] == [str(os.getuid()), str(os.getgid())],
      out + err)
check("netlab user: no capabilities unless the caller is root", len(lines) > 2 and
      (lines[2] == want_caps or (os.getuid() == 0 and lines[2].startswith("CapEff:"))), out)
check("netlab user: in the lab's network namespace", len(lines) > 3 and lines[3] == f"net:[{lab_net}]", out)
rc, out, err = lab_user(CLIENT, "tcp", "198.51.100.22", "22", "-t", "3000")
check("netlab user reaches the banner server", rc == 0 and "SSH-2.0-kennel-test" in out, out + err)
rc, out, err = run([NETLAB, "state", LAB])
for want in ("link lo", "tcp-listen 0.0.0.0:443", "tcp-listen 0.0.0.0:80", "tcp-listen 0.0.0.0:22",
             "tcp-listen 0.0.0.0:8443", "udp 127.0.0.1:53", "udp 198.51.100.53:53", "udp 0.0.0.0:7"):
    check(f"netlab state lists {want}", rc == 0 and want in out.splitlines(), out + err)

print(f"1..{len(results)}")
failed = 0
for i, (what, ok, detail) in enumerate(results, 1):
    if ok:
        print(f"ok {i} - {what}")
    else:
        failed += 1
        print(f"not ok {i} - {what}")
        for d in str(detail).splitlines() or [""]:
            print(f"#   {d}")
sys.exit(1 if failed else 0)
