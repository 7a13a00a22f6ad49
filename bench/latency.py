#!/usr/bin/python3
"""Time to the first response byte of a new connection, for clients with and without
TCP_NODELAY: mod_tls against mod_ssl.

    bench/latency.py                  60 connections per case: bench/results/latency.md
    bench/latency.py --smoke          5 per case, nothing written; every case must work

A client without TCP_NODELAY (Nagle's algorithm on: Java's sockets, many scripts) writes its
request after the handshake, and the kernel holds that write until the client's last
handshake message is acknowledged. A server that has nothing to send at that moment leaves the
ACK to the delayed-ACK timer, 40 ms on Linux, on every new connection. The cases are the
handshakes of bench.py (bench.SCENARIOS): full TLS 1.3 and 1.2, resumed TLS 1.3 and 1.2 by
ticket and by session id. Each connection: TCP connect, handshake (offering the session of an
earlier connection for the resumed cases), then the clock runs from the request's write to the
first byte of the response (a 1 KiB file); HTTP/1.1, Connection: close. One apache2 at a time,
configured as bench.py does, the client in this process; no CPU pinning is needed, as the
delay is a timer, not work.

Standalone like bench.py (from which it takes the server and the certificates);
docs/performance.md explains the figures.
"""
import argparse
import datetime
import os
import shutil
import socket
import ssl
import statistics
import sys
import tempfile
import time

import bench

CASES = ("hs13-ecdsa", "hs12-ecdsa", "res13-ticket", "res12-ticket", "res12-id")
STALL_MS = 30       # a response later than this waited for a timer, not for work


def context(sc):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    version = ssl.TLSVersion.TLSv1_3 if sc.proto == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = version
    if not sc.tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


def connection(port, ctx, session, nodelay):
    """One request on a new connection: (ms from the request's write to the first response
    byte, the session after it, whether the handshake resumed)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
    s = ctx.wrap_socket(raw, server_hostname="bench.test", session=session)
    try:
        t0 = time.monotonic()
        s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n")
        first = s.recv(65536)
        ms = (time.monotonic() - t0) * 1000
        data = first
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if not data.startswith(b"HTTP/1.1 200 ") or len(data.partition(b"\r\n\r\n")[2]) != 1024:
            raise RuntimeError("bad response: %r" % data[:200])
        return ms, s.session, s.session_reused
    finally:
        s.close()


def run_case(work, module, sc, count):
    """{nodelay: [ms, ...]} for one server."""
    srv = bench.Server(work, module, sc)
    srv.start()
    try:
        ctx = context(sc)
        out = {}
        for nodelay in (False, True):
            session, times = None, []
            if sc.resume:
                _, session, _ = connection(srv.port, ctx, None, True)
            for _ in range(count):
                ms, new_session, reused = connection(srv.port, ctx, session, nodelay)
                if sc.resume and not reused:
                    raise RuntimeError("%s %s: a connection did not resume" % (module, sc.key))
                if not sc.resume and reused:
                    raise RuntimeError("%s %s: a connection resumed" % (module, sc.key))
                times.append(ms)
            out[nodelay] = times
        return out
    finally:
        srv.stop()


def summary(times):
    return "%.1f [%.1f–%.1f], %d of %d" % (statistics.median(times), min(times), max(times),
                                           sum(t > STALL_MS for t in times), len(times))


def write_results(out, results, count, modules):
    os.makedirs(out, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Time to the first response byte, with and without TCP_NODELAY", "",
        "%s. Machine: %s. `bench/latency.py`: %d connections per case and module, "
        "one request each (1 KiB, HTTP/1.1); milliseconds from the request's write to the "
        "first response byte, median [min–max], then how many took over %d ms." % (
            now, bench.machine(), count, STALL_MS), "",
        "| handshake | client | " + " | ".join("mod_" + m for m in modules) + " |",
        "|---|---|" + "---|" * len(modules),
    ]
    by_key = {sc.key: sc for sc in bench.SCENARIOS}
    for key in CASES:
        for nodelay in (False, True):
            cells = [summary(results[(m, key)][nodelay]) for m in modules]
            lines.append("| %s | %s | %s |" % (by_key[key].title,
                                               "TCP_NODELAY" if nodelay else "Nagle (no TCP_NODELAY)",
                                               " | ".join(cells)))
    lines += ["", "docs/performance.md explains the figures."]
    path = os.path.join(out, "latency.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("written: %s" % path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--modules", default="tls,ssl")
    ap.add_argument("--smoke", action="store_true",
                    help="5 connections per case, nothing written")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "results"))
    args = ap.parse_args()
    if not os.path.exists(bench.TLS_SO):
        sys.exit("latency: %s is missing; run make first" % bench.TLS_SO)
    count = 5 if args.smoke else args.count
    modules = args.modules.split(",")
    by_key = {sc.key: sc for sc in bench.SCENARIOS}
    work = tempfile.mkdtemp(prefix="mod_tls-latency-")
    results = {}
    try:
        bench.prepare(work)
        for key in CASES:
            for module in modules:
                results[(module, key)] = run_case(work, module, by_key[key], count)
                print("latency: %-12s mod_%s  Nagle %s; TCP_NODELAY %s" % (
                    key, module, summary(results[(module, key)][False]),
                    summary(results[(module, key)][True])), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.smoke:
        write_results(args.out, results, count, modules)


if __name__ == "__main__":
    main()
