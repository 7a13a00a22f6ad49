"""Session resumption: a client that comes back with its session (TLS 1.2 session id or
TLS 1.3 ticket) gets an abbreviated handshake, whichever of the server's processes accepts the
new connection (docs/design.md: the session cache is shared, a mod_socache provider; mod_ssl
with SSLSessionCache shmcb does the same)."""
import socket

import pytest

from conftest import server_fixture
from harness import clients

ROUNDS = 10


@pytest.fixture(scope="module", params=["event", "prefork"])
def server(env, request):
    # prefork with MaxConnectionsPerChild 1: every connection is served by a fresh process,
    # so only a cache shared between processes can resume anything
    extra = "MaxConnectionsPerChild 1" if request.param == "prefork" else ""
    h = env.httpd("sessions-" + request.param, mpm=request.param, modules=["socache_shmcb"],
                  global_extra=extra)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.start()
    yield from server_fixture(h)


def _request(server, ctx, session):
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=30)
    ss = ctx.wrap_socket(s, server_hostname="a.test", session=session)
    try:
        ss.sendall(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = ss.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\na.test\n"), data
        # (TLS 1.3 tickets arrive after the handshake: the session is complete only now)
        return ss.session_reused, ss.session
    finally:
        ss.close()


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_sessions_are_resumed(env, server, version):
    ctx = clients.context(env.ca, tls=version)
    reused, session = _request(server, ctx, None)
    assert not reused and session is not None
    results = []
    for _ in range(ROUNDS):
        reused, newer = _request(server, ctx, session)
        results.append(reused)
        if newer is not None and version == "1.3":
            session = newer          # TLS 1.3 tickets may be single use: take the new one
    assert all(results), "resumed %d of %d reconnects: %s" % (results.count(True), ROUNDS,
                                                               results)
