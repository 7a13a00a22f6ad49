"""mod_reqtimeout's handshake stage applies to the TLS handshake: with
`RequestReadTimeout handshake=2` a client that stalls in the middle of its ClientHello (or sends
nothing) is disconnected long before httpd's Timeout (60 s here), while other clients are
served meanwhile."""
import socket
import threading
import time

import pytest

from conftest import server_fixture
from harness import clients, load

TIMEOUT = 60          # httpd's Timeout: what the handshake stage must beat
CLOSE_WITHIN = 20     # bound for "the server closed it"; handshake=2 should need about 2 s


@pytest.fixture(scope="module")
def server(env):
    # AcceptFilter none: else Linux keeps a silent connection from httpd (TCP_DEFER_ACCEPT)
    h = env.httpd("reqtimeout", modules=["reqtimeout"], timeout=TIMEOUT,
                  global_extra="AcceptFilter http none\nAcceptFilter https none\n"
                               "RequestReadTimeout handshake=2 header=20-40,MinRate=500 "
                               "body=20,MinRate=500")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.start()
    yield from server_fixture(h)


def _watch_close(s, result, key):
    """Read until the server closes the connection; result[key] = seconds it took, or None
    if it did not within CLOSE_WITHIN."""
    start = time.monotonic()
    s.settimeout(CLOSE_WITHIN)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            if time.monotonic() - start > CLOSE_WITHIN:
                result[key] = None
                return
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        result[key] = None
        return
    result[key] = time.monotonic() - start


def test_stalled_handshakes_are_cut_while_others_are_served(env, server):
    hello = clients.client_hello()
    stalled = []
    for i in range(4):
        s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
        s.sendall(hello[:len(hello) // 2])          # half a ClientHello, then nothing
        stalled.append(("half-%d" % i, s))
    for i in range(2):
        s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
        stalled.append(("silent-%d" % i, s))       # connects, sends nothing
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
    s.sendall(hello[:5])                            # the record header only
    stalled.append(("header-only", s))

    result = {}
    watchers = [threading.Thread(target=_watch_close, args=(sock, result, name), daemon=True)
                for name, sock in stalled]
    for t in watchers:
        t.start()

    # meanwhile, normal clients are served
    stats = load.Stats()
    stop = threading.Event()
    ctx = clients.context(env.ca)
    exp = {"/whoami.txt": b"a.test\n", "/data/100k.bin": env.data["100k.bin"]}
    normal = [threading.Thread(target=load.fresh_client, daemon=True,
                               args=("fresh", server.port(), "a.test", ctx,
                                     ["/whoami.txt", "/data/100k.bin"], exp, stats, None,
                                     stop)),
              threading.Thread(target=load.keepalive_client, daemon=True,
                               args=("ka", server.port(), "a.test", ctx, ["/whoami.txt"], exp,
                                     stats, None, stop, True))]
    for t in normal:
        t.start()
    for t in watchers:
        t.join(CLOSE_WITHIN + 10)
    stop.set()
    for t in normal:
        t.join(60)
    for _, sock in stalled:
        sock.close()

    not_closed = sorted(name for name, _ in stalled if result.get(name) is None)
    assert not not_closed, ("still open after %d s (RequestReadTimeout handshake=2, Timeout "
                            "%d): %s; closed: %s" % (CLOSE_WITHIN, TIMEOUT, not_closed,
                                                     result))
    assert not any(t.is_alive() for t in normal), "normal client hung"
    assert not stats.failures, stats.failures[:10]
    assert stats.ok > 0
    # and the server still answers afterwards
    r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca)
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r


def test_a_complete_handshake_is_not_cut(env, server):
    """The handshake stage ends with the handshake: clients (TLS 1.2 and 1.3) that wait a
    little longer than 2 s after it before sending their request are still answered (the
    header stage allows 20 s)."""
    socks = [clients.tls_connect(server.port(), "a.test", clients.context(env.ca, tls=v))
             for v in ("1.2", "1.3")]
    try:
        time.sleep(3)
        for s in socks:
            s.sendall(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        for s in socks:
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\na.test\n"), \
                (s.version(), data)
    finally:
        for s in socks:
            s.close()
