"""Session resumption on one server with several child processes (docs/directives.md:
TLSSessionCache, TLSSessionCacheTimeout, TLSSessionTickets): a client that comes back with its
session (TLS 1.2 ticket or session id, TLS 1.3 ticket) resumes it, whichever child accepts the
new connection.

- vhost a.test: TLSSessionTickets on (the default): tickets whose keys every child shares;
- vhost b.test: TLSSessionTickets off: sessions in the shared TLSSessionCache (shmcb), TLS 1.3
  with single-use tickets kept there.

event: 4 children (of 4 threads), each leaving after 12 connections; prefork: children leave after 3
connections. The access log's %P proves that several children served one client's
resumptions. SSL_SESSION_RESUMED and SSL_SESSION_ID come back as response headers.
"""
import collections
import select
import socket
import ssl
import time

import pytest

from conftest import server_fixture
from harness import clients, load

ROUNDS = 20

MPM_CONF = {
    "event": """StartServers 4
ServerLimit 8
ThreadLimit 4
ThreadsPerChild 4
MaxRequestWorkers 16
MinSpareThreads 12
MaxSpareThreads 16
MaxConnectionsPerChild 12""",
    "prefork": """StartServers 8
MinSpareServers 8
MaxSpareServers 16
ServerLimit 16
MaxRequestWorkers 16
MaxConnectionsPerChild 3""",
}

HEADERS = """  Header always set X-Resumed "%{SSL_SESSION_RESUMED}s"
  Header always set X-Sid "%{SSL_SESSION_ID}s"
"""
LOG = ('LogFormat "%{X-Tag}i %P %{SSL_PROTOCOL}x %{SSL_SESSION_RESUMED}x %{SSL_SESSION_ID}x" '
       'sesslog\nCustomLog "@ROOT@/logs/sess_log" sesslog')


def _server(env, name, mpm, cache, timeout=None, tickets_vhosts=True):
    h = env.httpd(name, mpm=mpm, modules=["headers", "socache_shmcb"],
                  global_extra=MPM_CONF[mpm] + "\n" + LOG, session_cache=cache,
                  session_cache_timeout=timeout)
    h.listen("https")
    tls_a = "TLSSessionTickets on" if tickets_vhosts else "TLSSessionTickets off"
    ssl_a = "SSLSessionTickets on" if tickets_vhosts else "SSLSessionTickets off"
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=HEADERS,
            tls_extra=tls_a, ssl_extra=ssl_a)
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair], extra=HEADERS,
            tls_extra="TLSSessionTickets off", ssl_extra="SSLSessionTickets off")
    h.start()
    return h


@pytest.fixture(scope="module", params=["event", "prefork"])
def server(env, request):
    h = _server(env, "sessions-" + request.param, request.param,
                "shmcb:@ROOT@/run/tls_scache(512000)")
    yield from server_fixture(h)


@pytest.fixture(scope="module")
def nocache(env):
    """TLSSessionCache none and no tickets anywhere: nothing can be resumed."""
    h = _server(env, "sessions-none", "event", "none", tickets_vhosts=False)
    yield from server_fixture(h)


_tags = [0]


def _tag():
    _tags[0] += 1
    return "t%d" % _tags[0]


def _rounds(h, host, version, rounds, env):
    """A first connection, then ``rounds`` reconnects offering the latest session. Returns
    (first exchange, list of (exchange, tag))."""
    ctx = clients.context(env.ca, tls=version)
    first = clients.resume(h.port(), host, ctx, headers={"X-Tag": "first"})
    assert first.status == 200 and first.body == (host + "\n").encode(), first
    assert not first.reused, first
    assert first.session is not None
    session = first.session
    out = []
    for _ in range(rounds):
        tag = _tag()
        x = clients.resume(h.port(), host, ctx, session, headers={"X-Tag": tag})
        assert x.status == 200 and x.body == (host + "\n").encode(), x
        out.append((x, tag))
        if x.session is not None:
            # TLS 1.3 tickets may be single use (and are, from the cache): take the newest
            session = x.session
    return first, out


def _pids(h, tags):
    """{tag: pid} from the access log (httpd logs after answering: wait for all)."""
    deadline = time.monotonic() + 10
    while True:
        found = {}
        for line in h.read_file("logs/sess_log").splitlines():
            f = line.split()
            if len(f) >= 2 and f[0] in tags:
                found[f[0]] = int(f[1])
        if len(found) == len(tags) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# (vhost, what resumes there)
MODES = [("a.test", "tickets"), ("b.test", "cache")]


@pytest.mark.parametrize("host,mode", MODES, ids=[m for _, m in MODES])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_reconnects_resume(env, server, host, mode, version):
    first, rounds = _rounds(server, host, version, ROUNDS, env)
    resumed = [x.reused for x, _ in rounds]
    rate = "resumed %d of %d reconnects (%s, TLS %s, %s)" % (
        resumed.count(True), len(resumed), mode, version, server.mpm)
    if mode == "tickets":
        assert all(resumed), rate
    else:
        # a shared cache: (nearly) all
        assert resumed.count(True) >= len(resumed) - 1, rate
    # the server agrees
    for x, tag in rounds:
        if x.reused:
            assert x.headers.get("x-resumed") == "Resumed", (tag, x)
        else:
            assert x.headers.get("x-resumed") == "Initial", (tag, x)
    assert first.headers.get("x-resumed") == "Initial", first
    # several children served this client's resumptions
    pids = _pids(server, {tag for _, tag in rounds})
    assert len(pids) == len(rounds), "not all requests in the access log: %s" % pids
    per_pid = collections.Counter(pids[tag] for x, tag in rounds if x.reused)
    assert len(per_pid) >= 2, "all resumptions in one child: %s" % dict(per_pid)


# mod_ssl's SSL_SESSION_ID changes between the connection that makes a session and the one
# that resumes it, except for TLS 1.2 sessions in the cache (OpenSSL: one id per TLS 1.3
# ticket, none for a TLS 1.2 ticket); mod_tls documents one id for the session
@pytest.mark.parametrize("host,mode,version", [
    ("b.test", "cache", "1.2"),
    pytest.param("a.test", "tickets", "1.2", marks=pytest.mark.tls_only),
    pytest.param("a.test", "tickets", "1.3", marks=pytest.mark.tls_only),
    pytest.param("b.test", "cache", "1.3", marks=pytest.mark.tls_only)],
    ids=["cache-1.2", "tickets-1.2", "tickets-1.3", "cache-1.3"])
def test_session_variables(env, server, host, mode, version):
    """SSL_SESSION_RESUMED is Initial, then Resumed; SSL_SESSION_ID is the same on the
    connection that made the session and on the one that resumes it."""
    ctx = clients.context(env.ca, tls=version)
    first = clients.resume(server.port(), host, ctx)
    again = clients.resume(server.port(), host, ctx, first.session)
    assert again.reused, again
    assert first.headers.get("x-resumed") == "Initial", first
    assert again.headers.get("x-resumed") == "Resumed", again
    sid1, sid2 = first.headers.get("x-sid"), again.headers.get("x-sid")
    assert sid1 and sid1 != "(null)", first
    assert sid1 == sid2, "SSL_SESSION_ID: %s on the first connection, %s on the resumption" \
        % (sid1, sid2)
    # and a new full handshake makes a new session
    other = clients.resume(server.port(), host, ctx)
    assert not other.reused
    assert other.headers.get("x-sid") != sid1, other


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_session_ids_differ_between_clients(env, server, version):
    ids = set()
    for _ in range(5):
        x = clients.resume(server.port(), "b.test", clients.context(env.ca, tls=version))
        assert not x.reused
        ids.add(x.headers.get("x-sid"))
    assert len(ids) == 5, ids


@pytest.mark.parametrize("host", ["a.test", "b.test"])
def test_tls13_ticket_arrives_before_the_request(env, server, host):
    """A TLS 1.3 client that has sent nothing after its Finished receives its session ticket
    anyway. A client without TCP_NODELAY holds its request back until its Finished is
    acknowledged (Nagle), so a server that kept the ticket for the first response would leave
    that client waiting for a delayed ACK (40 ms on Linux) on every new connection."""
    ctx = clients.context(env.ca, tls="1.3")
    ss = clients.tls_connect(server.port(), host, ctx)
    try:
        assert ss.version() == "TLSv1.3"
        # the server writes something (the ticket), and it is no application data
        readable, _, _ = select.select([ss], [], [], 5)
        assert readable, "nothing from the server within 5 s of the handshake"
        ss.setblocking(False)
        with pytest.raises(ssl.SSLWantReadError):
            ss.recv(1)
        assert ss.session is not None and ss.session.has_ticket, ss.session
        # the request goes on the same connection, and the ticket works for the next one
        ss.setblocking(True)
        ss.sendall(b"GET /whoami.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % host.encode())
        data = b""
        while True:
            chunk = ss.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(host.encode() + b"\n"), data
        session = ss.session
    finally:
        ss.close()
    x = clients.resume(server.port(), host, ctx, session)
    assert x.status == 200 and x.reused, x


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_session_of_another_server_name_is_not_resumed(env, server, version):
    """A session made for a.test offered in a handshake for b.test: a full handshake for
    b.test (its certificate, its page), not a resumption nor an error."""
    ctx = clients.context(env.ca, tls=version)
    a = clients.resume(server.port(), "a.test", ctx)
    x = clients.resume(server.port(), "b.test", ctx, a.session)
    assert x.status == 200 and x.body == b"b.test\n", x
    assert not x.reused and x.headers.get("x-resumed") == "Initial", x


@pytest.mark.parametrize("host", ["a.test", "b.test"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_no_cache_no_tickets_never_resumes(env, nocache, host, version):
    first, rounds = _rounds(nocache, host, version, 10, env)
    resumed = [x.reused for x, _ in rounds]
    assert not any(resumed), "resumed %d of %d reconnects with TLSSessionCache none and " \
        "TLSSessionTickets off" % (resumed.count(True), len(resumed))
    assert all(x.headers.get("x-resumed") == "Initial" for x, _ in rounds)


@pytest.mark.parametrize("host,mode", MODES, ids=[m for _, m in MODES])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_server_close_sends_close_notify_and_session_stays_resumable(env, server, host, mode,
                                                                     version):
    """When the server ends the connection (an HTTP/1.0 request), close_notify comes before the
    TCP close. OpenSSL clients take a bare close for a truncation and drop the session from
    reuse (openssl s_time -reuse, any client that resumes from memory): the next connection
    with the same in-memory session must resume."""
    ctx = clients.context(env.ca, tls=version)
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF    # Python sets it: behave like OpenSSL
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port()), timeout=10),
                        server_hostname=host, suppress_ragged_eofs=False)
    s.sendall(("GET /whoami.txt HTTP/1.0\r\nHost: %s\r\n\r\n"
               % host).encode())
    data = b""
    while True:
        chunk = s.recv(65536)     # SSLEOFError on a TCP close without close_notify
        if not chunk:
            break
        data += chunk
    session = s.session
    s.close()
    assert data.startswith(b"HTTP/1.1 200") and data.endswith((host + "\n").encode()), data
    again = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port()), timeout=10),
                            server_hostname=host, session=session)
    try:
        assert again.session_reused, "the session of a connection the server closed was " \
            "not resumed (%s, TLS %s)" % (mode, version)
    finally:
        again.close()


# ------------------------------------------------------------------------------ timeout
TIMEOUT = 2


@pytest.fixture(scope="module")
def timeout_server(env):
    h = _server(env, "sessions-timeout", "event", "shmcb:@ROOT@/run/tls_scache(512000)",
                timeout=TIMEOUT)
    yield from server_fixture(h)


@pytest.fixture(scope="module")
def aged(env, timeout_server, tmp_path_factory):
    """Sessions made on a server with TLSSessionCacheTimeout 2: for each (vhost, version)
    one resumed right away (the control) and one offered again after 2 s more than the
    timeout (a single bounded wait for all). Python's client; and openssl s_client with a
    session file whose lifetime the test stretched, so that the client offers the ticket
    although the server announced 2 s: only the server's check can refuse it."""
    h = timeout_server
    d = tmp_path_factory.mktemp("aged")
    results = {}
    pending = []
    for host, mode in MODES:
        for version in ("1.2", "1.3"):
            ctx = clients.context(env.ca, tls=version)
            a = clients.resume(h.port(), host, ctx)
            control = clients.resume(h.port(), host, ctx, a.session)
            b = clients.resume(h.port(), host, ctx)
            args = ["-tls1_3" if version == "1.3" else "-tls1_2"]
            files = []
            for n in ("control", "stale"):
                f = str(d / ("%s-%s-%s.pem" % (mode, version, n)))
                r = clients.s_client_session(h.port(), host, env.ca, sess_out=f, args=args)
                assert r[0] == "New", r[2][-2000:]
                clients.stretch_session_lifetime(f, 86400)
                files.append(f)
            s_control = clients.s_client_session(h.port(), host, env.ca, sess_in=files[0],
                                                 args=args)
            pending.append((mode, version, ctx, b.session, args, files[1]))
            results[(mode, version)] = {"control": control, "s_control": s_control}
    time.sleep(TIMEOUT + 2)
    for mode, version, ctx, session, args, stale in pending:
        host = "a.test" if mode == "tickets" else "b.test"
        results[(mode, version)]["late"] = clients.resume(h.port(), host, ctx, session)
        results[(mode, version)]["s_late"] = clients.s_client_session(
            h.port(), host, env.ca, sess_in=stale, args=args)
    return results


@pytest.mark.parametrize("mode", ["tickets", "cache"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_session_older_than_timeout_is_not_resumed(env, aged, mode, version):
    control, late = aged[(mode, version)]["control"], aged[(mode, version)]["late"]
    assert control.reused, "control: a fresh session was not resumed: %r" % control
    assert control.headers.get("x-resumed") == "Resumed", control
    assert late.status == 200, late
    assert not late.reused, "a session older than TLSSessionCacheTimeout was resumed: %r" % late
    assert late.headers.get("x-resumed") == "Initial", late


@pytest.mark.parametrize("mode", ["tickets", "cache"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_old_session_offered_anyway_is_refused_by_the_server(env, aged, mode, version):
    """The client offers a session older than TLSSessionCacheTimeout (its file says the
    lifetime is a day): the server must not resume it."""
    control, late = aged[(mode, version)]["s_control"], aged[(mode, version)]["s_late"]
    assert control[0] == "Reused", "control: the stretched session was not resumed at " \
        "once:\n" + control[2][-2000:]
    assert late[0] == "New", "a %s session %d s older than TLSSessionCacheTimeout %d was " \
        "resumed (TLS %s):\n%s" % (mode, 2, TIMEOUT, version, late[2][-1500:])



@pytest.fixture(scope="module")
def roomy(env):
    """The cache only (no tickets), 512,000 bytes of shmcb."""
    h = env.httpd("sessions-roomy", modules=["socache_shmcb"], session_tickets=False,
                  session_cache="shmcb:@ROOT@/run/tls_scache(512000)")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_cache_keeps_a_session_while_1000_others_are_stored(env, roomy, version):
    """A session is still resumed after 1,000 other clients stored theirs: 512,000 bytes of
    shmcb hold about 2,800 sessions (docs/directives.md, TLSSessionCache)."""
    ctx = clients.context(env.ca, tls=version)
    first = clients.resume(roomy.port(), "a.test", ctx)
    assert first.status == 200 and not first.reused and first.session is not None, first
    failures = []

    def others(n):
        for _ in range(n):
            x = clients.resume(roomy.port(), "a.test", ctx)
            if x.status != 200 or x.reused:
                failures.append(x)
    assert not load.run_threads([(others, (250,))] * 4), "clients hung"
    assert not failures, failures[:3]
    again = clients.resume(roomy.port(), "a.test", ctx, first.session)
    assert again.status == 200 and again.reused, again
