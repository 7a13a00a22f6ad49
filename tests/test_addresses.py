"""TLSEngine ADDRESS:PORT applies to that address only; TLSEngine PORT to every address.
All of 127.0.0.0/8 is loopback here: 127.0.0.1 and 127.0.0.2 are two local addresses."""
import http.client
import socket
import ssl

import pytest

from conftest import running, server_fixture
from harness import clients

A1, A2 = "127.0.0.1", "127.0.0.2"


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("addresses")
    leaf = env.certs.leaf("a.test").pair
    # port "one": TLS on 127.0.0.1 only, plain HTTP on 127.0.0.2
    h.listen("one", addrs=(A1, A2), tls=A1)
    h.vhost("a.test", port="one", addr=A1, certs=[leaf])
    h.vhost("plain.test", port="one", addr=A2)
    # port "all": TLSEngine PORT -> TLS on both addresses
    h.listen("all", addrs=(A1, A2), tls="port")
    h.vhost("b.test", port="all", certs=[env.certs.leaf("b.test").pair])
    h.start()
    yield from server_fixture(h)


def _plain_attempt(addr, port):
    """A plain HTTP request; returns the status, or None when the server did not answer with
    HTTP (connection closed / reset / not HTTP)."""
    try:
        st, _, body = clients.plain_get(port, "/whoami.txt", host="a.test", addr=addr)
        return st, body
    except (http.client.HTTPException, ConnectionError, socket.timeout):
        return None, None


def test_tls_on_the_named_address(env, server):
    r = clients.curl(server.port("one"), "/whoami.txt", "a.test", ca=env.ca, addr=A1)
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    assert r.peer_cn == "a.test", r
    st, body = _plain_attempt(A1, server.port("one"))
    assert st != 200 and body != b"a.test\n", "plain HTTP served on the TLS address"


def test_plain_on_the_other_address(env, server):
    st, body = _plain_attempt(A2, server.port("one"))
    assert (st, body) == (200, b"plain.test\n")
    ctx = clients.context(verify=False)
    with pytest.raises((ssl.SSLError, ConnectionError, socket.timeout)):
        s = clients.tls_connect(server.port("one"), "a.test", ctx, addr=A2, timeout=10)
        s.close()


@pytest.mark.parametrize("addr", [A1, A2])
def test_port_only_engine_covers_every_address(env, server, addr):
    r = clients.curl(server.port("all"), "/whoami.txt", "b.test", ca=env.ca, addr=addr)
    assert r.rc == 0 and r.status == 200 and r.body == b"b.test\n", r
    st, body = _plain_attempt(addr, server.port("all"))
    assert st != 200 and body != b"b.test\n"


@pytest.fixture(scope="module")
def server6(env):
    """IPv6: TLSEngine [::1]:P; 127.0.0.1 on the same port stays plain."""
    h = env.httpd("addresses6")
    h.listen("v6", addrs=("::1", A1), tls="::1")
    h.vhost("a.test", port="v6", addr="::1", certs=[env.certs.leaf("a.test").pair])
    h.vhost("plain.test", port="v6", addr=A1)
    h.start()
    yield from server_fixture(h)


def test_ipv6_address(env, server6):
    port = server6.port("v6")
    r = clients.curl(port, "/whoami.txt", "a.test", ca=env.ca, addr="::1")
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    r = clients.s_client(port, "a.test", ca=env.ca, addr="::1")
    assert r.established and r.peer_cn == "a.test" and r.body == "a.test\n", r
    st, body = _plain_attempt(A1, port)
    assert (st, body) == (200, b"plain.test\n")


@pytest.mark.tls_only
def test_engine_by_host_name(env):
    """TLSEngine localhost:P: the name is resolved at startup (to 127.0.0.1 here)."""
    h = env.httpd("addresses-name")
    h.listen("https", engine_line=False)
    h.global_extra = "TLSEngine localhost:@PORT(https)@"
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    with running(h):
        r = clients.curl(h.port(), "/whoami.txt", "a.test", ca=env.ca)
        assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r


@pytest.mark.tls_only
def test_default_vhost_address(env):
    """<VirtualHost _default_:PORT> (as Debian's default-ssl.conf writes it) is a TLS vhost
    on a TLSEngine port, and the main server, which no connection reaches, needs no
    certificate."""
    h = env.httpd("addresses-default")
    h.listen("https", tls="port")
    h.vhost("a.test", addr="_default_", certs=[env.certs.leaf("a.test").pair])
    h.start()
    try:
        r = clients.curl(h.port(), "/whoami.txt", "a.test", ca=env.ca)
        assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    finally:
        h.stop()


@pytest.mark.tls_only
def test_certificate_without_engine_warns(env):
    """TLSCertificate but no TLSEngine at all: mod_tls serves nothing, and says so."""
    h = env.httpd("addresses-noengine")
    h.listen("http", tls=None)
    h.vhost("a.test", port="http", certs=[env.certs.leaf("a.test").pair])
    h.start()
    try:
        st, _, body = clients.plain_get(h.port("http"), "/whoami.txt", host="a.test")
        assert st == 200 and body == b"a.test\n"
        assert any("[tls:warn]" in l and "TLS0111" in l and "a.test" in l
                   for l in h.error_log().splitlines()), h.error_log()
    finally:
        h.stop()
