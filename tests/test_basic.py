"""Pages over TLS 1.2 and 1.3 with curl and openssl s_client; cipher suites; byte-exact
downloads, also several on one keep-alive connection."""
import socket
import time

import pytest

from conftest import server_fixture
from harness import clients
from harness.httpd import SUITES, openssl_name

TLS13 = [openssl_name(s[0]) for s in SUITES if s[3]]
TLS12 = [openssl_name(s[0]) for s in SUITES if not s[3]]
PROTO = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("basic", keepalive_timeout=2)
    h.listen("https")
    h.vhost("a.test", aliases=["alt.a.test"],
            certs=[env.certs.leaf("a.test", "ecdsa").pair, env.certs.leaf("a.test", "rsa").pair])
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_curl_page(env, server, version):
    r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca, tls=version)
    assert r.rc == 0, r
    assert r.status == 200, r
    assert r.verify_result == 0, r
    assert r.body == b"a.test\n", r
    assert r.protocol == PROTO[version], r
    assert r.cipher in (TLS13 if version == "1.3" else TLS12), r
    assert r.peer_cn == "a.test", r


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_s_client_page(env, server, version):
    r = clients.s_client(server.port(), "a.test", ca=env.ca, tls=version)
    assert r.established, r
    assert r.protocol == PROTO[version], r
    assert r.cipher in (TLS13 if version == "1.3" else TLS12), r
    assert r.verification == "OK", r
    assert r.peer_cn == "a.test", r
    assert r.status == 200, r
    assert r.body == "a.test\n", r


@pytest.mark.parametrize("name", TLS13 + TLS12)
def test_each_cipher_suite(env, server, name):
    """A client that offers exactly one suite gets exactly that one (the vhost has an ECDSA
    and an RSA certificate, so ECDHE-RSA suites work too and bring the RSA certificate)."""
    if name in TLS13:
        r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca, tls="1.3",
                         tls13_ciphers=name)
    else:
        r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca, tls="1.2",
                         ciphers=name)
    assert r.rc == 0 and r.status == 200, r
    assert r.body == b"a.test\n", r
    assert r.cipher == name, r
    assert r.peer_ou == ("rsa" if "-RSA-" in name else "ecdsa"), r


@pytest.mark.parametrize("fname", ["1k.bin", "100k.bin", "1m.bin", "10m.bin"])
def test_download_curl(env, server, fname, tmp_path):
    out = str(tmp_path / fname)
    r = clients.curl(server.port(), "/data/" + fname, "a.test", ca=env.ca, output=out)
    assert r.rc == 0 and r.status == 200, r
    with open(out, "rb") as f:
        got = f.read()
    assert len(got) == len(env.data[fname])
    assert got == env.data[fname], "downloaded %s differs from the original" % fname


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_downloads_on_one_keepalive_connection(env, server, version):
    seq = ["1k.bin", "100k.bin", "1m.bin", "10m.bin", "1k.bin", "100k.bin"]
    c = clients.HTTPSConnection("a.test", server.port(), clients.context(env.ca, tls=version))
    try:
        sock = None
        for fname in seq:
            c.request("GET", "/data/" + fname)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, (fname, r.status)
            assert r.getheader("Content-Length") == str(len(env.data[fname]))
            assert body == env.data[fname], "%s differs (got %d bytes)" % (fname, len(body))
            assert not r.will_close, "server wants to close the connection after %s" % fname
            if sock is None:
                sock = c.sock
                assert sock.version() == PROTO[version]
            assert c.sock is sock, "connection was not reused"
        assert c.connects == 1
        client_port = sock.getsockname()[1]
    finally:
        c.close()
    # the server saw all requests on one connection: the same client port, and its
    # keep-alive counter (%k) counting up from 0
    entries = server.wait_access(lambda e: e["port"] == client_port, len(seq))
    assert [e["ka"] for e in entries] == list(range(len(seq))), entries
    assert [e["request"] for e in entries] == ["GET /data/%s HTTP/1.1" % f for f in seq]


def _read_to_eof(ss):
    data = b""
    while True:
        chunk = ss.recv(65536)   # raises SSLEOFError on an EOF without close_notify
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_connection_close_ends_with_close_notify(env, server, version):
    """After 'Connection: close' the server ends TLS properly: close_notify, then EOF. A bare
    TCP close would look like a truncation attack to the client."""
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=30)
    ss = clients.context(env.ca, tls=version).wrap_socket(s, server_hostname="a.test",
                                                          suppress_ragged_eofs=False)
    try:
        ss.sendall(b"GET /data/100k.bin HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        data = _read_to_eof(ss)
    finally:
        ss.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body == env.data["100k.bin"]


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_idle_keepalive_close_is_clean(env, server, version):
    """The server closes an idle keep-alive connection (KeepAliveTimeout 2) with
    close_notify."""
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=30)
    ss = clients.context(env.ca, tls=version).wrap_socket(s, server_hostname="a.test",
                                                          suppress_ragged_eofs=False)
    try:
        ss.sendall(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\n\r\n")
        data = b""
        while not data.endswith(b"\r\n\r\na.test\n"):
            chunk = ss.recv(65536)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data
        # now idle: the server closes after KeepAliveTimeout
        assert _read_to_eof(ss) == b""
    finally:
        ss.close()


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_pipelined_requests(env, server, version):
    """Five requests in one write (so in one or two TLS records): all five are answered,
    none waits for more bytes from the client."""
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=15)
    ss = clients.context(env.ca, tls=version).wrap_socket(s, server_hostname="a.test")
    try:
        reqs = b"".join(b"GET /whoami.txt?n=%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i
                        for i in range(4))
        reqs += b"GET /data/1k.bin HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
        ss.sendall(reqs)
        data = b""
        while True:
            chunk = ss.recv(65536)   # a stall here hits the socket timeout: a failure
            if not chunk:
                break
            data += chunk
    finally:
        ss.close()
    assert data.count(b"HTTP/1.1 200 OK") == 5, data[:2000]
    assert data.count(b"\r\n\r\na.test\n") == 4
    assert data.endswith(env.data["1k.bin"])


def test_slow_reader_gets_every_byte(env, server):
    """A client that reads 10 MiB slowly through a small receive buffer: the server has to wait
    for the socket again and again; nothing may be lost or reordered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(60)
    s.connect(("127.0.0.1", server.port()))
    ss = clients.context(env.ca).wrap_socket(s, server_hostname="a.test")
    try:
        ss.sendall(b"GET /data/10m.bin HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        data = b""
        n = 0
        while True:
            chunk = ss.recv(16384)
            if not chunk:
                break
            data += chunk
            n += 1
            if n % 64 == 0:
                time.sleep(0.02)
    finally:
        ss.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert len(body) == len(env.data["10m.bin"])
    assert body == env.data["10m.bin"]
