"""Graceful restarts and graceful stops while clients keep requesting.

`apache2 -k graceful` / `-k graceful-stop` is what apachectl runs (it reads the configuration,
then sends SIGUSR1 / SIGWINCH to the pid in the pid file); tests that send the signal directly
exercise the same server path.

- graceful restart under load (event, prefork): no request fails and no response is cut; a
  client may reconnect when the server closes an idle keep-alive connection (what HTTP clients
  do); the server answers afterwards with the right certificates;
- certificate files replaced on disk, then a graceful restart while clients keep connecting:
  every connection before it gets the old certificate, every one after it the new one, and no
  request fails;
- graceful stop under load (event, prefork): every request the server took is answered in
  full; the clients then find the server refusing connections, nothing else;
- graceful stop in the middle of 10 MiB downloads, read slowly: each completes intact before
  the server exits.
"""
import os
import signal
import threading
import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from conftest import running
from harness import clients, load
from harness.httpd import _alive


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_graceful_restart_under_load(env, mpm):
    h = env.httpd("graceful-" + mpm, mpm=mpm)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair, env.certs.leaf("a.test", "rsa").pair])
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair])
    expected = {"/whoami.txt": b"a.test\n", "/data/1m.bin": env.data["1m.bin"],
                "/data/100k.bin": env.data["100k.bin"]}
    with running(h):
        stats = load.Stats()
        stop = threading.Event()
        ctx = clients.context(env.ca)
        ctx12 = clients.context(env.ca, tls="1.2")
        targets = [
            (load.keepalive_client, ("ka", h.port(), "a.test", ctx, ["/whoami.txt"], expected,
                                     stats, None, stop, True)),
            (load.keepalive_client, ("ka12", h.port(), "a.test", ctx12,
                                     ["/whoami.txt", "/data/100k.bin"], expected, stats, None,
                                     stop, True)),
            (load.fresh_client, ("fresh", h.port(), "a.test", ctx, ["/whoami.txt"], expected,
                                 stats, None, stop)),
            (load.fresh_client, ("big", h.port(), "a.test", ctx, ["/data/1m.bin"], expected,
                                 stats, None, stop)),
        ]
        threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in targets]
        for t in threads:
            t.start()
        restarts = []
        try:
            time.sleep(0.5)
            for _ in range(3):
                h.graceful(ctl=True)
                restarts.append(time.monotonic())
                time.sleep(0.7)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert not any(t.is_alive() for t in threads), "clients hung"
        assert not stats.failures, stats.failures[:20]
        # the clients were busy across every restart
        for t0 in restarts:
            assert any(t > t0 for t in stats.done_at), "no request completed after a restart"
        assert stats.ok > 20
        print("requests ok: %d, idle-close retries: %d" % (stats.ok, stats.retries))
        # three new generations
        assert h.error_log().count("resuming normal operations") >= 4
        # and the server answers afterwards, with the right certificates
        for host in ("a.test", "b.test"):
            r = clients.curl(h.port(), "/whoami.txt", host, ca=env.ca)
            assert r.rc == 0 and r.status == 200 and r.body == (host + "\n").encode(), r
            assert r.peer_cn == host


def test_graceful_restart_reloads_certificates(env):
    """Certificate files are read again on a graceful restart (a renewed certificate is
    served without a full restart)."""
    h = env.httpd("graceful-renew")
    ec, rsa = env.certs.leaf("a.test", "ecdsa"), env.certs.leaf("a.test", "rsa")
    cert = h.write_file("certs/site.pem", open(ec.cert, "rb").read())
    key = h.write_file("certs/site.key", open(ec.key, "rb").read(), mode=0o600)
    h.listen("https")
    h.vhost("a.test", certs=[(cert, key)])
    with running(h):
        r = clients.s_client(h.port(), "a.test", ca=env.ca)
        assert r.established and r.peer_ou == "ecdsa", r
        # "renew": replace both files, then graceful restart
        h.write_file("certs/site.pem", open(rsa.cert, "rb").read())
        h.write_file("certs/site.key", open(rsa.key, "rb").read(), mode=0o600)
        h.graceful()
        for version in ("1.2", "1.3"):
            r = clients.s_client(h.port(), "a.test", ca=env.ca, tls=version)
            assert r.established and r.peer_ou == "rsa", r
            assert r.verification == "OK" and r.body == "a.test\n", r


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_certificate_replaced_on_disk_is_served_after_graceful_restart_under_load(env, mpm):
    """A renewed certificate (same name, new key and serial) written over the old files, then
    apachectl graceful while clients keep connecting: connections made before the restart get
    the old certificate, connections made after it the new one, and no request fails."""
    h = env.httpd("graceful-renew-load-" + mpm, mpm=mpm)
    old, new = env.certs.leaf("a.test", "ecdsa"), env.certs.leaf("a.test", "p384")
    cert = h.write_file("certs/site.pem", open(old.cert, "rb").read())
    key = h.write_file("certs/site.key", open(old.key, "rb").read(), mode=0o600)
    h.listen("https")
    h.vhost("a.test", certs=[(cert, key)])
    der = {name: leaf.x509.public_bytes(Encoding.DER) for name, leaf in (("old", old),
                                                                          ("new", new))}
    assert old.x509.serial_number != new.x509.serial_number
    expected = {"/whoami.txt": b"a.test\n", "/data/100k.bin": env.data["100k.bin"]}
    with running(h):
        stats = load.Stats()
        stop = threading.Event()
        seen = []
        ctx = clients.context(env.ca)
        targets = [(load.fresh_client, ("fresh%d" % i, h.port(), "a.test",
                                        clients.context(env.ca, tls=v), ["/whoami.txt"],
                                        expected, stats, None, stop, seen))
                   for i, v in enumerate(("1.3", "1.2", None))]
        targets.append((load.keepalive_client, ("ka", h.port(), "a.test", ctx,
                                                ["/whoami.txt", "/data/100k.bin"], expected,
                                                stats, None, stop, True)))
        threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in targets]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            before = time.monotonic()
            h.write_file("certs/site.pem", open(new.cert, "rb").read())
            h.write_file("certs/site.key", open(new.key, "rb").read(), mode=0o600)
            h.graceful(ctl=True)
            after = time.monotonic()
            time.sleep(1.5)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        assert not any(t.is_alive() for t in threads), "clients hung"
        assert not stats.failures, stats.failures[:20]
        earlier = [d for t, d in seen if t < before]
        later = [d for t, d in seen if t > after]
        assert earlier and later, (len(earlier), len(later))
        assert set(earlier) == {der["old"]}, "a new certificate before the restart"
        assert set(later) == {der["new"]}, "%d of %d connections after the restart got the " \
            "old certificate" % (later.count(der["old"]), len(later))
        print("connections before: %d, after: %d; requests ok: %d, idle-close retries: %d"
              % (len(earlier), len(later), stats.ok, stats.retries))


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_graceful_stop_under_load(env, mpm):
    """apachectl graceful-stop while clients keep requesting (keep-alive and new connections,
    TLS 1.3 and 1.2, small and 1 MiB responses): every request the server took is answered in
    full, and afterwards each client finds the server refusing connections."""
    h = env.httpd("graceful-stop-load-" + mpm, mpm=mpm)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair, env.certs.leaf("a.test", "rsa").pair])
    expected = {"/whoami.txt": b"a.test\n", "/data/1m.bin": env.data["1m.bin"],
                "/data/100k.bin": env.data["100k.bin"]}
    h.start()
    pid = h.pid
    stats = load.Stats()
    stopped = threading.Event()
    port = h.port()
    ctx, ctx12 = clients.context(env.ca), clients.context(env.ca, tls="1.2")
    targets = [
        (load.until_refused_client, ("ka", port, "a.test", ctx, ["/whoami.txt", "/data/100k.bin"],
                                     expected, stats, stopped)),
        (load.until_refused_client, ("ka12", port, "a.test", ctx12, ["/data/100k.bin"],
                                     expected, stats, stopped)),
        (load.until_refused_client, ("fresh", port, "a.test", ctx, ["/whoami.txt"], expected,
                                     stats, stopped, False)),
        (load.until_refused_client, ("fresh12", port, "a.test", ctx12, ["/whoami.txt"],
                                     expected, stats, stopped, False)),
        (load.until_refused_client, ("big", port, "a.test", ctx, ["/data/1m.bin"], expected,
                                     stats, stopped, False)),
    ]
    threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in targets]
    try:
        for t in threads:
            t.start()
        time.sleep(1)
        ok_before = stats.ok
        stopped.set()
        rc, out = h.ctl("graceful-stop")
        assert rc == 0, out
        for t in threads:
            t.join(150)
        assert not any(t.is_alive() for t in threads), "clients hung"
        assert not stats.failures, stats.failures[:20]
        assert ok_before > 0, "no request was answered before the stop"
        # every client ended on a refused connection
        assert stats.refused == len(targets), stats.refused
        print("requests ok: %d (%d before the stop), idle-close retries: %d"
              % (stats.ok, ok_before, stats.retries))
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "the server did not exit after graceful-stop"
    finally:
        stopped.set()
        assert h.stop() == []


def test_graceful_stop_lets_responses_finish(env):
    """apachectl graceful-stop (SIGWINCH) while six clients are in the middle of 10 MiB
    downloads, read slowly: every download completes intact, then the server exits."""
    h = env.httpd("graceful-stop")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    data = env.data["10m.bin"]
    h.start()
    pid = h.pid
    results = {}
    started = threading.Barrier(7)

    def download(i):
        s = clients.tls_connect(h.port(), "a.test", clients.context(env.ca), timeout=60)
        try:
            s.sendall(b"GET /data/10m.bin HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            got = s.recv(65536)
            started.wait(30)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                time.sleep(0.002)           # a slow reader: the transfer takes a few seconds
            results[i] = got
        except Exception as e:  # noqa: BLE001
            results[i] = e
        finally:
            s.close()

    threads = [threading.Thread(target=download, args=(i,), daemon=True) for i in range(6)]
    try:
        for t in threads:
            t.start()
        started.wait(30)                    # every download has begun
        os.kill(pid, signal.SIGWINCH)
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "a download hung"
        for i in range(6):
            got = results[i]
            assert isinstance(got, bytes), got
            head, _, body = got.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:60]
            assert body == data, "download %d cut: %d of %d bytes" % (i, len(body), len(data))
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "the server did not exit after graceful-stop"
    finally:
        assert h.stop() == []
