"""No memory grows with the number of connections served. One child process (event MPM,
ServerLimit 1, never replaced) serves 20,000 connections of every kind: full handshakes (TLS
1.3 and 1.2, ECDSA and RSA), resumptions (TLS 1.3 tickets, TLS 1.2 tickets, TLS 1.2 session
ids from the shmcb cache), keep-alive connections with several requests, h2 connections
(h2load), connections cut in the middle of a response, and aborted handshakes (hang up after
the ClientHello, after the server's first flight, a reset, garbage, plain HTTP, connect and
close). Afterwards the child holds about what it held after the first 1,000.

What is compared is the child's anonymous resident memory (RssAnon: heap, thread stacks,
private mappings). Its VmRSS also counts the session cache's shared memory (shmcb,
RssShmem), which fills up as sessions are stored and is bounded by its configured size, and
pages of shared libraries (RssFile); both are printed, neither is a leak.

The heap is not flat from the start: it grows while its high-water mark finds the peak of
concurrent connections, which takes some 10,000 to 20,000 connections, then stays (measured
over 60,000 with this mix: within 0.1 MiB from 20,000 on; bench/results/leaks.md has the
curves). Over 20 runs of this test (10 with mod_tls, 10 with mod_ssl), RssAnon grew by 0.4
to 1.6 MiB from 1,000 to 20,000 connections, and by 0.0 to 0.7 MiB from 10,000 to 20,000.
Hence two bounds, well above what was measured:

- after 20,000 against after 1,000 (the issue's measure): 4 MiB;
- after 20,000 against after 10,000: 2 MiB.

A leak of 150 bytes per connection of the mix (3 KB per connection of one of its 20 kinds)
fails them (the test cannot see less; bench/leaks.py measures to a few bytes per connection
over 50,000).

The server runs with MALLOC_ARENA_MAX=1: with glibc's default of one arena per thread (up to
16 here), each arena's high-water mark climbs on its own, and the growth between 10,000 and
20,000 (0.6 MiB measured) varies too much to tell a small leak from noise.

MOD_TLS_LEAK_CONNECTIONS sets the number of connections (default 20,000; the checkpoints are
at 1/20 and 1/2 of it). The memory bounds apply from 20,000 on: fewer connections end while
the heap still grows. Nor do they apply under AddressSanitizer (libasan in the child's maps):
ASan keeps freed memory in quarantine on purpose (and running servers have no LeakSanitizer:
tests/README.md, "Sanitizers"). Everything else (each connection's outcome, the one child) is checked either way.
"""
import os
import threading
import time

from cryptography.hazmat.primitives.serialization import Encoding

from conftest import running
from harness import clients, load

TOTAL = int(os.environ.get("MOD_TLS_LEAK_CONNECTIONS", "20000"))
FIRST = TOTAL // 20                 # 1,000
HALF = TOTAL // 2                   # 10,000
THREADS = 6
H2_SHARE = 20                       # one connection in 20 is an h2 connection (h2load)
H2_BATCH = 4                        # h2load: connections per run, 5 requests each
KIB = 1024
TOTAL_BOUND = 4 * KIB               # RssAnon growth, KiB, FIRST -> TOTAL
TAIL_BOUND = 2 * KIB                # RssAnon growth, KiB, HALF -> TOTAL

# One child process, which is never replaced (MaxConnectionsPerChild 0), serves everything.
# Enough threads that the clients (6 threads + 4 h2 connections) never find all of them busy:
# the event MPM closes idle keep-alive connections then, which would count as failures.
ONE_CHILD = """StartServers 1
ServerLimit 1
ThreadsPerChild 32
MaxRequestWorkers 32
MinSpareThreads 1
MaxSpareThreads 32
MaxConnectionsPerChild 0
Protocols h2 http/1.1"""

# one share of the mix (20 connections): the kinds of load.ConnectionMix, weighted
MIX = (["full13-ecdsa"] * 2 + ["full12-ecdsa", "full13-rsa", "full12-rsa"]
       + ["resume13-ticket"] * 2 + ["resume12-ticket"] * 2 + ["resume12-id"] * 2
       + ["keepalive"] * 2 + ["cut-response", "hello-then-close", "close-after-server-flight",
                              "reset-mid-handshake", "garbage", "plain-http", "connect-close"])


def children(pid):
    """The pids of the processes whose parent is ``pid``."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rfind(")") + 2:].split()[1]) == pid:
                out.append(int(d))
    return sorted(out)


def memory(pid):
    """KiB figures of a process: VmRSS, RssAnon, RssFile, RssShmem (/proc/PID/status)."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    return out


def sanitized(pid):
    """True when the process runs with AddressSanitizer."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def open_connections(port):
    """Server-side TCP connections on ``port`` that a process still holds (established, or
    closed by the client and not yet by the server)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] in ("01", "08"):
                n += 1
    return n


def settle(pid, port):
    """Wait until the server has closed every connection, then read the child's memory."""
    deadline = time.monotonic() + 30
    while open_connections(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not open_connections(port), "the server still holds connections"
    time.sleep(0.5)                 # the worker that closed the last one cleans up
    return memory(pid)


class H2Connections:
    """h2load in a loop, H2_BATCH connections of 5 requests each per run, until ``count``
    connections were made; every request must succeed over h2."""

    def __init__(self, port, host, count):
        self.url = "https://%s:%d/whoami.txt" % (host, port)
        self.port, self.count = port, count
        self.done, self.failures = 0, []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while self.done < self.count:
            n = min(H2_BATCH, self.count - self.done)
            rc, out, counts = clients.h2load(self.url, 5 * n, n, h1=False, timeout=120,
                                             args=["-m", "1", "--connect-to",
                                                   "127.0.0.1:%d" % self.port])
            if rc != 0 or counts.get("succeeded") != 5 * n or counts.get("protocol") != "h2":
                self.failures.append(out)
                return
            self.done += n

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(600)


def run_mix(mix, count, port, host):
    """``count`` connections: one in H2_SHARE by h2load, the rest by ``mix``. Returns the
    number of h2 connections."""
    h2 = count // H2_SHARE
    plan = [MIX[i % len(MIX)] for i in range(count - h2)]
    with H2Connections(port, host, h2) as h2c:
        hung = mix.run(plan, THREADS)
    assert not hung and not h2c.thread.is_alive(), "clients hung"
    assert not h2c.failures, "\n".join(h2c.failures)
    return h2c.done


def test_one_child_serves_20000_connections_without_growing(env, monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "1")     # inherited by the server (see above)
    h = env.httpd("leaks", modules=["http2", "socache_shmcb"], global_extra=ONE_CHILD,
                  session_cache="shmcb:@ROOT@/run/scache(512000)")
    h.listen("https")
    ec, rsa = env.certs.leaf("a.test"), env.certs.leaf("b.test", "rsa")
    h.vhost("a.test", certs=[ec.pair])
    h.vhost("b.test", certs=[rsa.pair])
    expected = {"/whoami.txt": b"a.test\n", "/data/1k.bin": env.data["1k.bin"],
                "/data/100k.bin": env.data["100k.bin"]}
    with running(h):
        port = h.port()
        kids = children(h.pid)
        assert len(kids) == 1, kids
        child = kids[0]
        mix = load.ConnectionMix(port, {"ecdsa": ("a.test", ec.x509.public_bytes(Encoding.DER)),
                                        "rsa": ("b.test", rsa.x509.public_bytes(Encoding.DER))},
                                 expected, "/data/100k.bin")
        h2, done, marks = 0, 0, {}
        t0 = time.monotonic()
        for upto in (FIRST, HALF, TOTAL):
            h2 += run_mix(mix, upto - done, port, "a.test")
            done = upto
            marks[upto] = settle(child, port)
        stats = mix.stats
        print("\n%d connections in %.0f s: %s, h2 %d; resumed %s" % (
            stats.total + h2, time.monotonic() - t0, stats.done, h2, stats.resumed))
        for upto, m in marks.items():
            print("after %6d: %s" % (upto, " ".join("%s %d KiB" % kv for kv in m.items())))
        assert not stats.failures, stats.failures[:20]
        assert stats.total + h2 == TOTAL
        # every resumption kind resumed (all but each client thread's first)
        for kind in load.ConnectionMix.RESUME:
            assert stats.resumed.get(kind, 0) >= 0.9 * stats.done[kind], (kind, stats.resumed)
        assert children(h.pid) == [child], "the child process was replaced"
        if sanitized(child) or TOTAL < 20000:
            print("memory bounds not checked (%s)" % (
                "AddressSanitizer" if sanitized(child) else "fewer than 20,000 connections"))
            return
        grown = marks[TOTAL]["RssAnon"] - marks[FIRST]["RssAnon"]
        tail = marks[TOTAL]["RssAnon"] - marks[HALF]["RssAnon"]
        assert grown < TOTAL_BOUND, "grew by %d KiB from %d to %d connections" % (
            grown, FIRST, TOTAL)
        assert tail < TAIL_BOUND, "grew by %d KiB from %d to %d connections" % (tail, HALF, TOTAL)
