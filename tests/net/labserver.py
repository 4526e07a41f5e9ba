#!/usr/bin/python3
"""labserver: the network lab's test servers, run inside the lab's network
namespace by tests/helpers/netlab (never on a real address).

Every listener binds the wildcard address (0.0.0.0 and ::), so each address
the lab puts on its lo answers, and a reply names the address it came in
on: a test sees which host it really reached.

  TCP 443   HTTPS (the lab CA's server certificate, every test name):
            "kennel-lab https local=ADDR port=443 sni=SNI host=HOST path=PATH"
  TCP 80    HTTP:  "kennel-lab http local=ADDR port=80 host=HOST path=PATH"
  TCP 8443  HTTP as on 80 (a port no rule names: must be refused)
  TCP 22    banner "SSH-2.0-kennel-test local=ADDR" then waits for the
            client to close (2 s at most)
  UDP 7     echo

One line per event goes to --log (flushed at once), so a test can show
that a refused flow never reached a server:
  accept proto=https local=ADDR:PORT peer=ADDR:PORT
  request proto=https local=ADDR:PORT sni=NAME host=NAME path=PATH
  PROTO-error local=ADDR:PORT error=...   (a connection that failed)
  udp local=PORT peer=ADDR:PORT bytes=N
One thread accepts on every listening socket (select) and logs every
accept of a round before any of them is served: a connection queued before
another is logged before that one is answered, which the lab's log sync
(netlab sync) relies on.  A
thread per connection serves it (blocking sockets, 5 s timeouts).
When every socket is bound, --ready FILE is created.
"""

import argparse
import os
import selectors
import socket
import ssl
import sys
import threading

LOG = None
LOG_LOCK = threading.Lock()
TIMEOUT = 5


def log(line):
    with LOG_LOCK:
        LOG.write(line + "\n")
        LOG.flush()


def addr_port(sockname):
    host, port = sockname[0], sockname[1]
    if host.startswith("::ffff:"):
        host = host[7:]
    return host, port


def clean(value):
    """Header values go into one log line: no spaces or control bytes."""
    return "".join(c if 0x21 <= ord(c) < 0x7F else "?" for c in value) or "-"


def read_head(conn):
    """The request line and headers (8 KiB at most): (host, path)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("EOF before the end of the request head")
        data += chunk
        if len(data) > 8192:
            raise ConnectionError("request head too long")
    lines = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    path = parts[1] if len(parts) >= 2 else "-"
    host = "-"
    for h in lines[1:]:
        if h.lower().startswith("host:"):
            host = h[5:].strip()
    return clean(host), clean(path)


def respond(conn, body):
    data = body.encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                 b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)


def serve_http(conn, local, lport, _ctx):
    host, path = read_head(conn)
    log(f"request proto=http local={local}:{lport} host={host} path={path}")
    respond(conn, f"kennel-lab http local={local} port={lport} host={host} path={path}\n")


def serve_https(conn, local, lport, tls):
    with tls.wrap_socket(conn, server_side=True) as t:
        sni = clean(getattr(t, "kennel_sni", None) or "")
        host, path = read_head(t)
        log(f"request proto=https local={local}:{lport} sni={sni} host={host} path={path}")
        respond(t, f"kennel-lab https local={local} port={lport} sni={sni} host={host} path={path}\n")
        try:
            t.unwrap()
        except (OSError, ssl.SSLError):
            pass


def serve_banner(conn, local, _lport, _ctx):
    conn.sendall(f"SSH-2.0-kennel-test local={local}\r\n".encode())
    conn.settimeout(2)
    try:
        conn.recv(1)
    except (OSError, socket.timeout):
        pass


def sni_callback(sslsock, name, _ctx):
    # runs during the handshake; the handler reads it afterwards
    sslsock.kennel_sni = name


def handle(conn, proto, serve, ctx):
    local, lport = addr_port(conn.getsockname())
    try:
        conn.settimeout(TIMEOUT)
        serve(conn, local, lport, ctx)
    except (OSError, ssl.SSLError, ConnectionError, socket.timeout) as e:
        log(f"{proto}-error local={local}:{lport} error={type(e).__name__}")
    finally:
        conn.close()


def listen(family, host, port, kind):
    s = socket.socket(family, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    if kind == socket.SOCK_STREAM:
        s.listen(128)
    s.setblocking(False)
    return s


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready", required=True)
    args = ap.parse_args()
    LOG = open(args.log, "a", buffering=1, encoding="utf-8")

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    tls.sni_callback = sni_callback

    sel = selectors.DefaultSelector()
    services = [(443, "https", serve_https, tls), (80, "http", serve_http, None),
                (8443, "http", serve_http, None), (22, "ssh", serve_banner, None)]
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        for port, proto, serve, ctx in services:
            sel.register(listen(family, host, port, socket.SOCK_STREAM), selectors.EVENT_READ,
                         (proto, serve, ctx))
        sel.register(listen(family, host, 7, socket.SOCK_DGRAM), selectors.EVENT_READ, None)
    log("ready")
    with open(args.ready + ".tmp", "w", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    os.rename(args.ready + ".tmp", args.ready)

    while True:
        accepted = []
        for key, _ in sel.select():
            s = key.fileobj
            if key.data is None:  # UDP echo
                try:
                    data, addr = s.recvfrom(65535)
                except BlockingIOError:
                    continue
                peer, pport = addr_port(addr)
                log(f"udp local=7 peer={peer}:{pport} bytes={len(data)}")
                s.sendto(data, addr)
                continue
            proto, serve, ctx = key.data
            try:
                conn, addr = s.accept()
            except BlockingIOError:
                continue
            conn.setblocking(True)
            local, lport = addr_port(conn.getsockname())
            peer, pport = addr_port(addr)
            log(f"accept proto={proto} local={local}:{lport} peer={peer}:{pport}")
            accepted.append((conn, proto, serve, ctx))
        for args in accepted:
            threading.Thread(target=handle, args=args, daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
