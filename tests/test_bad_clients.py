"""Clients that misbehave: random bytes instead of a ClientHello, plain HTTP to the TLS port, a
client that connects and stalls (Timeout 3), one that stalls or hangs up in the middle of its
ClientHello, one that sends garbage after the handshake, one that resets the connection; a
record header announcing more than 2^14+2048 bytes, ClientHellos with inconsistent extension
lengths, an alert in the middle of the handshake, a ClientHello dripped a byte every 100 ms,
500 half-open handshakes at once, SSLv3/TLS 1.0/TLS 1.1 ClientHellos (protocol_version alert
from mod_tls), a client-initiated renegotiation (refused).
Each is closed, a normal client served at the same time is not disturbed, the server keeps
answering, and nothing is logged as a server error; with LogLevel tls:info the failure is
logged at info and names the peer."""
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
import warnings

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


def _send_and_wait(server, payload):
    s, port = _connect(server)
    try:
        s.sendall(payload)
        closed, data = _wait_closed(s)
    finally:
        s.close()
    return port, closed, data


def _bio_handshake(s, ctx, send_first=None):
    """A client handshake over memory BIOs on the socket s. send_first(bytes) sends the
    client's first flight (default: all at once). Returns (obj, incoming, outgoing); the
    client's last flight is still in outgoing, for the caller to send."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
    send = send_first or s.sendall
    while True:
        try:
            obj.do_handshake()
            return obj, incoming, outgoing
        except ssl.SSLWantReadError:
            out = outgoing.read()
            if out:
                send(out)
                send = s.sendall
            chunk = s.recv(65536)
            assert chunk, "server closed during the handshake"
            incoming.write(chunk)


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
    junk = bytearray(os.urandom(2048))
    junk[0] = 0x47   # not a handshake record (0x16) nor an SSLv2 hello
    with NormalClient(env, server):
        port, closed, data = _send_and_wait(server, bytes(junk))
        assert closed, "server did not close the connection"
        assert b"a.test" not in data
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def test_plain_http_to_tls_port(env, server):
    mark = server.log_mark()
    with NormalClient(env, server):
        port, closed, data = _send_and_wait(
            server, b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\n\r\n")
        assert closed, "server did not close the connection"
        # like mod_ssl: a 400 page in plain text that says why, then the connection closes
        assert data.startswith(b"HTTP/1.1 400 "), data[:200]
        assert b"plain HTTP" in data and b"a.test\n" not in data, data
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
    hello = clients.client_hello()
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
    hello = clients.client_hello()
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
            _, _, outgoing = _bio_handshake(s, ctx)
            s.sendall(outgoing.read())
            # an application-data record header with a bogus body
            s.sendall(b"\x17\x03\x03\x00\x40" + os.urandom(64))
            closed, data = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close after a bad record"
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def _alert(data):
    """The description of the first TLS alert record in data, or None."""
    if len(data) >= 7 and data[0] == 0x15:
        return data[6]
    return None


ALERT_PROTOCOL_VERSION = 70


def test_record_header_announcing_too_much(env, server):
    """A record may carry at most 2^14 + 2048 bytes; one announcing more is refused before
    anything is buffered."""
    mark = server.log_mark()
    with NormalClient(env, server):
        port, closed, data = _send_and_wait(
            server, b"\x16\x03\x01" + struct.pack(">H", 2 ** 14 + 2048 + 1) + os.urandom(1000))
        assert closed, "server did not close"
        assert data == b"" or data[0] == 0x15, data
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def _extensions_offset(hello):
    """Offset of the extensions' total length in a ClientHello record."""
    i = 5 + 4 + 2 + 32               # record header, handshake header, version, random
    i += 1 + hello[i]                # session id
    i += 2 + struct.unpack(">H", hello[i:i + 2])[0]     # cipher suites
    i += 1 + hello[i]                # compression methods
    return i


@pytest.mark.parametrize("how", ["total too long", "total too short", "one too long"])
def test_client_hello_with_inconsistent_extension_lengths(env, server, how):
    hello = bytearray(clients.client_hello())
    i = _extensions_offset(hello)
    total = struct.unpack(">H", hello[i:i + 2])[0]
    if how == "total too long":
        hello[i:i + 2] = struct.pack(">H", total + 40)
    elif how == "total too short":
        hello[i:i + 2] = struct.pack(">H", total - 7)
    else:   # the first extension claims more than the extensions hold
        hello[i + 4:i + 6] = struct.pack(">H", total)
    mark = server.log_mark()
    with NormalClient(env, server):
        port, closed, data = _send_and_wait(server, bytes(hello))
        assert closed, "server did not close"
        assert data == b"" or _alert(data) is not None, data[:20]
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def test_alert_in_the_middle_of_the_handshake(env, server):
    """The client reads the server's first flight, then sends a fatal alert."""
    mark = server.log_mark()
    with NormalClient(env, server):
        s, port = _connect(server)
        try:
            s.sendall(clients.client_hello())
            first = s.recv(65536)
            assert first and first[0] == 0x16, first[:20]
            s.sendall(b"\x15\x03\x03\x00\x02\x02\x28")      # fatal handshake_failure
            closed, _ = _wait_closed(s)
        finally:
            s.close()
        assert closed, "server did not close after the client's alert"
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def test_client_hello_one_byte_at_a_time(env, server):
    """The first 40 bytes of the ClientHello one every 100 ms, then the rest, then a
    request: the handshake completes and the request is answered."""
    ctx = clients.context(env.ca)
    with NormalClient(env, server):
        s, _ = _connect(server)
        try:
            def drip(out):
                for i in range(40):
                    s.sendall(out[i:i + 1])
                    time.sleep(0.1)
                s.sendall(out[40:])

            obj, incoming, outgoing = _bio_handshake(s, ctx, drip)
            obj.write(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            s.sendall(outgoing.read())
            got = b""
            while True:
                try:
                    chunk = obj.read(65536)
                    if not chunk:
                        break       # close_notify
                    got += chunk
                except ssl.SSLWantReadError:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    incoming.write(chunk)
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    break
        finally:
            s.close()
    assert got.startswith(b"HTTP/1.1 200") and got.endswith(b"a.test\n"), got[:60]


def test_500_half_open_handshakes(env, server):
    """500 connections each send half a ClientHello and wait; a normal client is served
    while they are open, and after they hang up the server answers as before."""
    hello = clients.client_hello()
    socks = []
    try:
        for _ in range(500):
            s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
            s.sendall(hello[:len(hello) // 2])
            socks.append(s)
        r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca)
        assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    finally:
        for s in socks:
            s.close()
    _server_still_answers(env, server)


def _legacy_hello(version):
    """A ClientHello that offers nothing newer than `version` (0x0300 SSLv3, 0x0301 TLS 1.0,
    0x0302 TLS 1.1): Python's TLS 1.0 hello, with its versions rewritten for the others."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)     # TLS 1.0, on purpose
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="a.test")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = bytearray(outgoing.read())
    assert hello[9:11] == b"\x03\x01", hello[:12]     # client_version
    hello[9:11] = struct.pack(">H", version)
    return bytes(hello)


@pytest.mark.parametrize("version,name", [(0x0300, "SSLv3"), (0x0301, "TLSv1.0"),
                                          (0x0302, "TLSv1.1")])
def test_old_protocol_gets_protocol_version_alert(env, server, version, name):
    mark = server.log_mark()
    port, closed, data = _send_and_wait(server, _legacy_hello(version))
    assert closed, "server did not close"
    assert _alert(data) is not None, (name, data[:20])
    if env.backend_name == "tls":
        # mod_ssl answers handshake_failure (SSLv3) or internal_error (TLS 1.0/1.1)
        assert _alert(data) == ALERT_PROTOCOL_VERSION, (name, data[:20])
    _assert_logged_quietly(env, server, port, mark)
    _server_still_answers(env, server)


def test_client_initiated_renegotiation_is_refused(env, server):
    """openssl s_client asks for a renegotiation ('R') on TLS 1.2: the server does not
    renegotiate (rustls and mod_ssl both refuse), and goes on answering."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % server.port(), "-tls1_2",
           "-servername", "a.test", "-CAfile", env.ca]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)
        p.stdin.write(b"R\n")
        p.stdin.flush()
        time.sleep(1.5)
        p.stdin.write(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=CLOSE_WITHIN)
    except (BrokenPipeError, subprocess.TimeoutExpired):
        p.kill()
        out, _ = p.communicate()
    text = out.decode("latin-1")
    assert "RENEGOTIATING" in text, text[-2000:]
    # a completed renegotiation would show the server's certificate verified a second time
    assert text.count("verify return:1") <= text.split("RENEGOTIATING")[0].count(
        "verify return:1"), text[-2000:]
    _server_still_answers(env, server)
