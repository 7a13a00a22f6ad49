#!/usr/bin/python3
"""Memory of one child process over 50,000 connections: mod_tls against mod_ssl.

    bench/leaks.py                         50,000 connections per server, with glibc's
                                           default malloc and with MALLOC_ARENA_MAX=1:
                                           bench/results/leaks.md (about 15 minutes)
    bench/leaks.py --connections 20000 --arenas default --modules tls --out /tmp/x

One apache2 at a time (event MPM, one child process that is never replaced, 32 threads),
pinned to CPU 0; the clients run pinned to CPU 1, in rounds of about a second, all at once:

- openssl s_time -new: full handshakes, TLS 1.3 with the ECDSA certificate, TLS 1.2 with RSA;
- openssl s_time -reuse: resumptions, TLS 1.3 tickets, TLS 1.2 tickets, TLS 1.2 session ids
  (a port whose vhost has tickets off: the shmcb session cache);
- h2load: keep-alive connections of 5 requests, HTTP/1.1 and h2;
- a Python thread: aborted handshakes (hang up after the ClientHello, after the server's first
  flight, a reset in the middle, garbage, plain HTTP, connect and close) and responses cut by
  a reset after the first bytes.

Every s_time run must report its connections (and -reuse at least 90 % resumed), every h2load
request must succeed, and the child process must be the same one at the end. At checkpoints
(1,000 connections, 5,000, 10,000, 20,000, ...) the clients pause, the server closes every
connection, and the child's memory is read from /proc/PID/status: VmRSS, and its parts RssAnon
(heap, stacks: what a leak would grow), RssShmem (the shmcb session cache, bounded by its size)
and RssFile (shared libraries). A run is made with glibc's default malloc (one arena per
thread, up to 8 per CPU) and one with MALLOC_ARENA_MAX=1 (the setting tests/test_leaks.py
uses, where the heap's growth is not spread over arenas).

Standalone like bench.py (from which it takes the server's start/stop and the certificates);
docs/performance.md explains the figures.
"""
import argparse
import datetime
import os
import random
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

import bench

CHECKPOINTS = (1000, 5000, 10000, 20000, 30000, 40000, 50000)
ROUND_SECONDS = 1
CACHE_BYTES = 512000


class LeakServer(bench.Server):
    """One child process, three TLS ports: ECDSA (tickets on), RSA (tickets on), ECDSA with
    tickets off (TLS 1.2 session ids from the session cache)."""

    def __init__(self, work, module, arenas):
        super().__init__(work, module, bench.Scenario("leaks", "leaks", "memory"))
        self.ports = {"ecdsa": self.port, "rsa": bench.free_port(), "ids": bench.free_port()}
        self.arenas = arenas

    def render(self):
        root, work = self.root, self.work
        self.ports["ecdsa"] = self.port      # start() may have picked another one
        lines = [
            'ServerRoot "%s"' % root,
            'PidFile "%s/run/httpd.pid"' % root,
            'DefaultRuntimeDir "%s/run"' % root,
            'ErrorLog "%s/logs/error_log"' % root,
            "LogLevel warn",
            "LoadModule mpm_event_module %s/mod_mpm_event.so" % bench.MODULES_DIR,
            "LoadModule authz_core_module %s/mod_authz_core.so" % bench.MODULES_DIR,
            "LoadModule mime_module %s/mod_mime.so" % bench.MODULES_DIR,
            "LoadModule http2_module %s/mod_http2.so" % bench.MODULES_DIR,
            "LoadModule socache_shmcb_module %s/mod_socache_shmcb.so" % bench.MODULES_DIR,
            "ServerName bench.test",
            "TypesConfig /etc/mime.types",
            'DocumentRoot "%s/htdocs"' % work,
            '<Directory "%s/htdocs">' % work,
            "  Require all granted",
            "</Directory>",
            "StartServers 1", "ServerLimit 1", "ThreadsPerChild 32", "MaxRequestWorkers 32",
            "MinSpareThreads 1", "MaxSpareThreads 32", "MaxConnectionsPerChild 0",
            "KeepAlive On",
            "Protocols h2 http/1.1",
        ]
        lines += ["Listen 127.0.0.1:%d" % p for p in self.ports.values()]
        if os.geteuid() == 0:
            lines += ["User www-data", "Group www-data"]
        cache = '"shmcb:%s/run/scache(%d)"' % (root, CACHE_BYTES)
        if self.module == "tls":
            lines += ["LoadModule tls_module %s" % bench.TLS_SO, "TLSSessionCache %s" % cache]
            lines += ["TLSEngine 127.0.0.1:%d" % p for p in self.ports.values()]
        else:
            lines += ["LoadModule ssl_module %s/mod_ssl.so" % bench.MODULES_DIR,
                      "SSLSessionCache %s" % cache]
        for name, port in self.ports.items():
            kind = "rsa" if name == "rsa" else "ecdsa"
            cert = os.path.join(work, "certs", kind + ".crt")
            key = os.path.join(work, "certs", kind + ".key")
            lines += ["<VirtualHost 127.0.0.1:%d>" % port, "  ServerName bench.test"]
            if self.module == "tls":
                lines += ["  TLSCertificate %s %s" % (cert, key), "  TLSProtocol TLSv1.2+"]
                if name == "ids":
                    lines.append("  TLSSessionTickets off")
            else:
                lines += ["  SSLEngine on", "  SSLCertificateFile %s" % cert,
                          "  SSLCertificateKeyFile %s" % key,
                          "  SSLProtocol -all +TLSv1.2 +TLSv1.3"]
                if name == "ids":
                    lines.append("  SSLSessionTickets off")
            lines.append("</VirtualHost>")
        return "\n".join(lines) + "\n"

    def listen_ports(self):
        return list(self.ports.values())

    def start(self):
        """As bench.Server.start, with MALLOC_ARENA_MAX in the environment when asked."""
        super().start({} if self.arenas == "default" else {"MALLOC_ARENA_MAX": self.arenas})


def memory(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    return out


def open_connections(ports):
    """Server-side connections on ``ports`` that a process still holds (established, or closed
    by the client and not yet by the server)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) in ports and f[3] in ("01", "08"):
                n += 1
    return n


def settle(srv):
    deadline = time.monotonic() + 30
    while open_connections(set(srv.ports.values())) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)


# -- clients -------------------------------------------------------------------------------

S_TIME = [  # (kind, port name, args)
    ("full TLS 1.3 ECDSA", "ecdsa", ["-new", "-tls1_3"]),
    ("full TLS 1.2 RSA", "rsa", ["-new", "-tls1_2"]),
    ("resumed TLS 1.3 ticket", "ecdsa", ["-reuse", "-tls1_3"]),
    ("resumed TLS 1.2 ticket", "ecdsa", ["-reuse", "-tls1_2"]),
    ("resumed TLS 1.2 session id", "ids", ["-reuse", "-tls1_2"]),
]
H2LOAD = [  # (kind, extra args): 10 connections of 5 requests each
    ("keep-alive HTTP/1.1 x5", ["--h1"]),
    ("keep-alive h2 x5", []),
]


def s_time(port, args):
    cmd = bench.client(["openssl", "s_time", "-connect", "127.0.0.1:%d" % port, "-time",
                        str(ROUND_SECONDS), "-www", "/1k.bin"] + args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def s_time_result(p, reuse):
    out = p.communicate(timeout=120)[0]
    m = re.search(r"(\d+) connections in (\d+) real seconds", out)
    if p.returncode != 0 or not m:
        raise RuntimeError("s_time failed:\n%s" % out[-2000:])
    n = int(m.group(1))
    if not reuse:
        return n, 0
    # -reuse: one full connection first, counted apart; then "r" for each resumed one
    marks = re.search(r"starting\n([r*]*)", out)
    return n + 1, marks.group(1).count("r") if marks else 0


def h2load(port, args):
    cmd = bench.client(["h2load", "-n", "50", "-c", "10", "-m", "1"] + args +
                       ["https://127.0.0.1:%d/1k.bin" % port])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def h2load_result(p, h1):
    out = p.communicate(timeout=120)[0]
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded", out)
    proto = re.search(r"Application protocol: (\S+)", out)
    if p.returncode != 0 or not m or int(m.group(4)) != 50 or not proto \
            or proto.group(1) != ("http/1.1" if h1 else "h2"):
        raise RuntimeError("h2load failed:\n%s" % out[-2000:])
    return 10


class Aborted(threading.Thread):
    """Aborted handshakes and cut responses, for one round."""

    KINDS = ("hello then close", "close after server flight", "reset mid-handshake",
             "garbage", "plain HTTP", "connect and close", "response cut by a reset")

    def __init__(self, port, seconds):
        super().__init__(daemon=True)
        self.port, self.seconds = port, seconds
        self.counts = dict.fromkeys(self.KINDS, 0)
        self.error = None
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def run(self):
        try:
            os.sched_setaffinity(0, {int(bench.CLIENT_CPU)})
        except OSError:
            pass
        end, i = time.monotonic() + self.seconds, 0
        try:
            while time.monotonic() < end:
                kind = self.KINDS[i % len(self.KINDS)]
                self.one(kind)
                self.counts[kind] += 1
                i += 1
        except Exception as e:  # noqa: BLE001
            self.error = "%s: %r" % (kind, e)

    def one(self, kind):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            if kind == "connect and close":
                return
            if kind == "garbage":
                s.sendall(b"\x01\x00" + os.urandom(random.randrange(62, 2000)))
                drain(s)
                return
            if kind == "plain HTTP":
                s.sendall(b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n")
                if not drain(s).startswith(b"HTTP/1."):
                    raise RuntimeError("no HTTP answer to plain HTTP")
                return
            if kind == "response cut by a reset":
                ss = self.ctx.wrap_socket(s, server_hostname="bench.test")
                ss.sendall(b"GET /100k.bin HTTP/1.1\r\nHost: bench.test\r\n\r\n")
                if not ss.recv(4096).startswith(b"HTTP/1.1 200"):
                    raise RuntimeError("no response")
                reset(ss)
                ss.close()
                return
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = self.ctx.wrap_bio(incoming, outgoing, server_hostname="bench.test")
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s.sendall(outgoing.read())
            if kind == "hello then close":
                return
            got = s.recv(65536)
            if not got or got[0] != 0x16:
                raise RuntimeError("no handshake from the server")
            if kind == "reset mid-handshake":
                reset(s)
        finally:
            s.close()


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def drain(s):
    s.settimeout(10)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    return data


def one_round(srv, counts, resumed):
    """All clients at once for about ROUND_SECONDS; adds to counts/resumed."""
    procs = [(kind, "-reuse" in args, s_time(srv.ports[port], args))
             for kind, port, args in S_TIME]
    loads = [(kind, "--h1" in args, h2load(srv.ports["ecdsa"], args)) for kind, args in H2LOAD]
    aborted = Aborted(srv.ports["ecdsa"], ROUND_SECONDS)
    aborted.start()
    for kind, reuse, p in procs:
        n, r = s_time_result(p, reuse)
        counts[kind] = counts.get(kind, 0) + n
        if reuse:
            if r < 0.9 * (n - 1):
                raise RuntimeError("%s: only %d of %d resumed" % (kind, r, n - 1))
            resumed[kind] = resumed.get(kind, 0) + r
    for kind, h1, p in loads:
        counts[kind] = counts.get(kind, 0) + h2load_result(p, h1)
    aborted.join(60)
    if aborted.is_alive() or aborted.error:
        raise RuntimeError("aborted-handshake client: %s" % (aborted.error or "hung"))
    for kind, n in aborted.counts.items():
        counts[kind] = counts.get(kind, 0) + n


def run(work, module, arenas, total, checkpoints):
    srv = LeakServer(work, module, arenas)
    srv.start()
    try:
        child = srv.children()
        if len(child) != 1:
            raise RuntimeError("expected one child process: %s" % child)
        child = child[0]
        counts, resumed, marks = {}, {}, []
        pending = [c for c in checkpoints if c <= total]
        started = time.monotonic()
        while pending:
            one_round(srv, counts, resumed)
            done = sum(counts.values())
            if done >= pending[0]:
                settle(srv)
                marks.append((done, memory(child)))
                print("  %s arenas=%s: %6d connections: %s" % (
                    module, arenas, done, " ".join("%s %d" % kv for kv in marks[-1][1].items())),
                    flush=True)
                while pending and pending[0] <= done:
                    pending.pop(0)
        if srv.children() != [child]:
            raise RuntimeError("the child process was replaced")
        crash = [l for l in srv.error_log().splitlines()
                 if re.search(r"exit signal|AH00052|panicked|\[(\w+):(error|crit|alert|emerg)\]",
                              l)]
        if crash:
            raise RuntimeError("server errors:\n" + "\n".join(crash[:20]))
        return {"marks": marks, "counts": counts, "resumed": resumed,
                "seconds": time.monotonic() - started}
    finally:
        srv.stop()


def write_results(out, runs):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    md = ["# Memory of one child process over many connections", "",
          "%s. Machine: %s. Server pinned to CPU %s, clients to CPU %s. `bench/leaks.py`; "
          "docs/performance.md explains the method." % (
              when, bench.machine(), bench.SERVER_CPU, bench.CLIENT_CPU), "",
          "KiB of the child process (event MPM, 32 threads, never replaced) after each "
          "checkpoint, all connections closed. *RssAnon*: heap and stacks, what a leak "
          "grows; *RssShmem*: the shmcb session cache (%d bytes); *RssFile*: shared "
          "libraries; VmRSS is their sum. *growth/conn*: bytes of RssAnon per connection "
          "since the previous checkpoint." % CACHE_BYTES, ""]
    for (module, arenas), res in runs.items():
        md += ["## mod_%s, malloc arenas: %s" % (module, "glibc default" if arenas == "default"
                                                 else "MALLOC_ARENA_MAX=" + arenas), "",
               "| connections | VmRSS | RssAnon | RssShmem | RssFile | growth/conn |",
               "|---|---|---|---|---|---|"]
        prev = None
        for done, m in res["marks"]:
            growth = "–" if prev is None else "%.0f B" % (
                (m["RssAnon"] - prev[1]["RssAnon"]) * 1024 / (done - prev[0]))
            md.append("| %d | %d | %d | %d | %d | %s |" % (
                done, m["VmRSS"], m["RssAnon"], m["RssShmem"], m["RssFile"], growth))
            prev = (done, m)
        first, last = res["marks"][0], res["marks"][-1]
        # the checkpoint nearest half way, never the last one (a short run has few)
        half = min(res["marks"][:-1] or res["marks"], key=lambda x: abs(x[0] - last[0] / 2))
        md += ["", "RssAnon from %d to %d connections: %+d KiB; from %d to %d: %+d KiB "
               "(%.0f bytes per connection). %.0f s." % (
                   first[0], last[0], last[1]["RssAnon"] - first[1]["RssAnon"], half[0],
                   last[0], last[1]["RssAnon"] - half[1]["RssAnon"],
                   (last[1]["RssAnon"] - half[1]["RssAnon"]) * 1024 / max(1, last[0] - half[0]),
                   res["seconds"]), "",
               "Connections: " + ", ".join("%s %d%s" % (
                   k, v, (" (%d resumed)" % res["resumed"][k]) if k in res["resumed"] else "")
                   for k, v in res["counts"].items()) + ".", ""]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "leaks.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connections", type=int, default=CHECKPOINTS[-1])
    ap.add_argument("--modules", default="tls,ssl")
    ap.add_argument("--arenas", default="default,1",
                    help="comma-separated runs: 'default' (glibc's malloc) or a "
                         "MALLOC_ARENA_MAX value, each optionally =CONNECTIONS (default: "
                         "--connections)")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "results"))
    args = ap.parse_args()
    if not os.path.exists(bench.TLS_SO):
        sys.exit("leaks: %s is missing; run make first" % bench.TLS_SO)
    work = tempfile.mkdtemp(prefix="mod_tls-leaks-")
    runs = {}
    try:
        bench.prepare(work)
        for spec in args.arenas.split(","):
            arenas, _, total = spec.partition("=")
            total = int(total) if total else args.connections
            checkpoints = [c for c in CHECKPOINTS if c < total] + [total]
            for module in args.modules.split(","):
                runs[(module, arenas)] = run(work, module, arenas, total, checkpoints)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_results(args.out, runs)


if __name__ == "__main__":
    main()
