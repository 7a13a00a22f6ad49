"""Clients that misbehave: random bytes instead of a ClientHello, plain HTTP to the TLS port, a
client that connects and stalls (Timeout 3), one that stalls or hangs up in the middle of its
ClientHello, one that sends garbage after the handshake, one that resets the connection.
Each is closed, a normal client served at the same time is not disturbed, the server keeps
answering, and nothing is logged as a server error; with LogLevel tls:info the failure is
logged at info and names the peer."""
import os
import re
import socket
import ssl
import struct
import threading
import time

import pytest

from conftest import server_fixture
from harness import clients, load

TIMEOUT = 3          # httpd's Timeout in this server
CLOSE_WITHIN = 20    # generous bound for "the server closed it" (not a timing target)


@pytest.fixture(scope="module")
def server(env):
    # AcceptFilter none: without it Linux holds a silent connection in the kernel
    # (TCP_DEFER_ACCEPT, 30 s) and httpd, and so the module, would not see it at all
    h = env.httpd("bad-clients", timeout=TIMEOUT, log_level="warn %s:info" % env.log_module,
                  global_extra="AcceptFilter http none\nAcceptFilter https none")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.start()
    yield from server_fixture(h)


class NormalClient:
    """Requests in a loop (keep-alive and fresh connections) while a bad client misbehaves."""

    def __init__(self, env, server):
        self.stats = load.Stats()
        self.stop = threading.Event()
        ctx = clients.context(env.ca)
        exp = {"/whoami.txt": b"a.test\n", "/data/100k.bin": env.data["100k.bin"]}
        paths = ["/whoami.txt", "/data/100k.bin"]
        self.threads = [
            threading.Thread(target=load.keepalive_client, daemon=True,
                             args=("ka", server.port(), "a.test", ctx, paths, exp, self.stats,
                                   None, self.stop, True)),
            threading.Thread(target=load.fresh_client, daemon=True,
                             args=("fresh", server.port(), "a.test", ctx, paths, exp,
                                   self.stats, None, self.stop)),
        ]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        time.sleep(0.2)
        self.stop.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "normal client hung"
        assert not self.stats.failures, self.stats.failures[:10]
        assert self.stats.ok > 0


def _connect(server):
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
    return s, s.getsockname()[1]


def _wait_closed(s):
    """Read until the server closes; returns (closed, bytes received)."""
    data = b""
    deadline = time.monotonic() + CLOSE_WITHIN
    try:
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                return True, data
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        return True, data
    except socket.timeout:
        return False, data
    return False, data


def _client_hello(sni="a.test"):
    """The bytes of a real ClientHello, made by Python's ssl over memory BIOs."""
    ctx = clients.context(verify=False)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = outgoing.read()
    assert hello[0] == 0x16 and len(hello) > 100
    return hello


def _peer_lines(server, port, mark):
    rx = re.compile(r"127\.0\.0\.1:%d\b" % port)
    return [l for l in server.log_since(mark).splitlines() if rx.search(l)]


def _assert_logged_quietly(env, server, port, mark, must_log=True, settle=True):
    """Lines naming the peer are at info or lower; with must_log, one [tls:info] line
    names it."""
    mod = env.log_module
    if must_log:
        server.wait_log(r"\[%s:info\].*127\.0\.0\.1:%d\b" % (mod, port), since=mark, timeout=10)
    elif settle:
        time.sleep(0.5)
    lines = _peer_lines(server, port, mark)
    loud = [l for l in lines if re.search(r"\[[\w.-]+:(emerg|alert|crit|error|warn)\]", l)]
    assert not loud, "a bad client logged above info:\n" + "\n".join(loud)
    if must_log:
        info = [l for l in lines if re.search(r"\[%s:info\]" % mod, l)]
        assert info, ("no [%s:info] line names the peer 127.0.0.1:%d; log since:\n%s"
                      % (mod, port, server.log_since(mark)))


def _server_still_answers(env, server):
    r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca)
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r


def test_random_bytes(env, server):
    mark = server.log_mark()
    with NormalClient(env, server):
        s, port = _connect(server)
        try:
            junk = bytearray(os.urandom(2048))
            junk[0] = 0x47   # not a handshake record (0x16) nor an SSLv2 hello
            s.sendall(bytes(junk))
            closed, data = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close the connection"
        assert b"a.test" not in data
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def test_plain_http_to_tls_port(env, server):
    mark = server.log_mark()
    with NormalClient(env, server):
        s, port = _connect(server)
        try:
            s.sendall(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\n\r\n")
            closed, data = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close the connection"
        assert not data.startswith(b"HTTP/1.1 200") and b"a.test\n" not in data, data
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def test_connect_and_stall(env, server):
    mark = server.log_mark()
    with NormalClient(env, server):
        s, port = _connect(server)
        try:
            closed, data = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close a silent connection within %ss" % CLOSE_WITHIN
        assert data == b"" or data[0] == 0x15, data   # nothing, or a TLS alert
    _assert_logged_quietly(env, server, port, mark, must_log=False)
    _server_still_answers(env, server)


def test_stall_in_the_middle_of_the_client_hello(env, server):
    mark = server.log_mark()
    hello = _client_hello()
    with NormalClient(env, server):
        s, port = _connect(server)
        try:
            s.sendall(hello[:len(hello) // 2])
            closed, data = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close a stalled handshake within %ss" % CLOSE_WITHIN
        assert data == b"" or data[0] == 0x15, data
    _assert_logged_quietly(env, server, port, mark, must_log=False)
    _server_still_answers(env, server)


def test_hang_up_in_the_middle_of_the_client_hello(env, server):
    mark = server.log_mark()
    hello = _client_hello()
    ports = []
    with NormalClient(env, server):
        for _ in range(10):
            s, port = _connect(server)
            ports.append(port)
            s.sendall(hello[:len(hello) // 3])
            s.close()
    time.sleep(0.5)
    for port in ports:
        _assert_logged_quietly(env, server, port, mark, must_log=False, settle=False)
    _server_still_answers(env, server)


def test_reset_after_handshake(env, server):
    mark = server.log_mark()
    ports = []
    with NormalClient(env, server):
        for _ in range(10):
            ss = clients.tls_connect(server.port(), "a.test", clients.context(env.ca))
            ports.append(ss.getsockname()[1])
            ss.sendall(b"GET /data/10m.bin HTTP/1.1\r\nHost: a.test\r\n\r\n")
            ss.recv(1000)
            # RST instead of FIN
            ss.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ss.close()
    time.sleep(0.5)
    for port in ports:
        _assert_logged_quietly(env, server, port, mark, must_log=False, settle=False)
    _server_still_answers(env, server)


def test_garbage_after_handshake(env, server):
    """A completed handshake, then bytes that are not TLS records from this session."""
    mark = server.log_mark()
    ctx = clients.context(env.ca, tls="1.3")
    with NormalClient(env, server):
        s, port = _connect(server)
        try:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    out = outgoing.read()
                    if out:
                        s.sendall(out)
                    chunk = s.recv(65536)
                    assert chunk, "server closed during the handshake"
                    incoming.write(chunk)
            out = outgoing.read()
            if out:
                s.sendall(out)
            # an application-data record header with a bogus body
            s.sendall(b"\x17\x03\x03\x00\x40" + os.urandom(64))
            closed, data = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close after a bad record"
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)
