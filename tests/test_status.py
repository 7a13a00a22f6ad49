"""mod_tls in mod_status's /server-status (docs/logging.md, "server-status"): every counter
counts what the test's own clients do, exactly, summed over the child processes of a prefork
server (four of them; three connections held open at once are served by three processes,
which the access log's %P shows); the HTML page has the section; the certificates' expiry;
counts survive a graceful restart and start from zero with a new server; without
mod_slotmem_shm the page says it shows one process, and TLS0116 warns.

The status page is fetched over a plain-HTTP port, so fetching it adds no TLS handshake. Each
test compares the counters after its own traffic with those before (waiting for the counts
that the server makes after the client is done, e.g. a client that just closes)."""
import datetime
import os
import re
import socket
import time

import pytest

from conftest import running, server_fixture
from harness import clients
from harness.httpd import suite

pytestmark = pytest.mark.tls_only

HANDSHAKE_TIMEOUT = 1
STATUS = """<Location /server-status>
  SetHandler server-status
</Location>"""
PREFORK = """StartServers 4
MinSpareServers 4
MaxSpareServers 8
ServerLimit 8
MaxRequestWorkers 8"""
PIDLOG = 'LogFormat "%P %{remote}p" pidlog\nCustomLog "@ROOT@/logs/pid_log" pidlog'


def _status_server(env, name, modules=("status", "slotmem_shm", "socache_shmcb", "reqtimeout"),
                   mpm="prefork"):
    h = env.httpd(name, mpm=mpm, modules=list(modules), strict_sni=True,
                  global_extra="\n".join([
                      PREFORK if mpm == "prefork" else "",
                      "AcceptFilter http none\nAcceptFilter https none",
                      "RequestReadTimeout handshake=%d header=20 body=20" % HANDSHAKE_TIMEOUT
                      if "reqtimeout" in modules else "",
                      STATUS, PIDLOG]))
    h.listen("https")
    h.listen("plain", tls=None)
    # a.test: tickets (the default); one TLS 1.2 suite suppressed
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair],
            suppress="ECDHE-ECDSA-CHACHA20-POLY1305")
    # b.test: no tickets: sessions in the shared cache (TLS 1.3: single-use tickets there)
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair],
            tls_extra="TLSSessionTickets off")
    h.vhost("x.wild.test", certs=[env.certs.leaf("wild.test").pair], protocol="TLSv1.3+")
    h.vhost("required.auth.test", certs=[env.certs.leaf("auth.test").pair],
            extra=env.backend.client_auth(h, mode="required",
                                          ca=env.certs.path("client-ca.pem")))
    h.vhost("soon.test", certs=[env.certs.leaf("soon.test").pair])
    return h


@pytest.fixture(scope="module")
def server(env):
    h = _status_server(env, "status")
    h.start()
    _probe_counted(h, {})
    yield from server_fixture(h)


def status(h):
    """/server-status?auto as {key: int or str}."""
    st, _, body = clients.plain_get(h.port("plain"), "/server-status?auto")
    assert st == 200, body
    out = {}
    for line in body.decode().splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
    return out


COUNTERS = re.compile(r"TLS(Handshakes|Fail|SessionCache(Hits|Misses|Stores))")


def counters(h):
    return {k: v for k, v in status(h).items() if COUNTERS.match(k)}


def delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def wait_delta(h, before, expected, timeout=15):
    """The counters' change since `before`, once it is `expected` (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        d = delta(before, counters(h))
        if d == expected or time.monotonic() > deadline:
            return d
        time.sleep(0.1)


def handshakes(version, cipher, n=1, resumed=False):
    """The counters n successful handshakes add."""
    kind = "TLSHandshakesResumed" if resumed else "TLSHandshakesFull"
    return {kind: n, "TLSHandshakes_TLSv" + version: n,
            "TLSHandshakes_" + suite(cipher)[0]: n}


def add(*deltas):
    out = {}
    for d in deltas:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v}


def _pids_of(h, ports):
    rows = [l.split() for l in h.read_file("logs/pid_log").splitlines()]
    return {pid for pid, port in rows if int(port) in ports}


# --- successful handshakes --------------------------------------------------------------------

def test_handshakes_of_several_processes_are_summed(env, server):
    """Three connections open at once on a prefork server are three processes."""
    before = counters(server)
    ctx = clients.context(env.ca, tls="1.3")
    conns, ports, ciphers = [], set(), []
    try:
        for _ in range(3):
            ss = clients.tls_connect(server.port(), "a.test", ctx)
            conns.append(ss)
            ports.add(ss.getsockname()[1])
            ciphers.append(ss.cipher()[0])
            ss.sendall(b"GET /whoami.txt HTTP/1.1\r\nHost: a.test\r\n\r\n")
            assert ss.recv(65536).startswith(b"HTTP/1.1 200"), "no answer"
    finally:
        for ss in conns:
            ss.close()
    server.wait_access(lambda e: e["port"] in ports, 3)
    assert len(_pids_of(server, ports)) == 3, server.read_file("logs/pid_log")
    expected = add(*[handshakes("1.3", c) for c in ciphers])
    assert wait_delta(server, before, expected) == expected


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_full_and_resumed_with_tickets(env, server, version):
    """a.test hands out tickets: resumption needs no cache, except that a TLS 1.2 full
    handshake also stores its session by session id (rustls keeps both)."""
    ctx = clients.context(env.ca, tls=version)
    before = counters(server)
    first = clients.resume(server.port(), "a.test", ctx)
    again = clients.resume(server.port(), "a.test", ctx, first.session)
    assert first.status == again.status == 200 and again.reused and not first.reused
    expected = add(handshakes(version, first.cipher), handshakes(version, again.cipher,
                                                                 resumed=True),
                   {"TLSSessionCacheStores": 1} if version == "1.2" else {})
    assert wait_delta(server, before, expected) == expected


def test_session_cache_tls12(env, server):
    """b.test keeps TLS 1.2 sessions in the shared cache: a store, then a hit per resumption
    (whichever process serves it); a session from elsewhere is a miss."""
    ctx = clients.context(env.ca, tls="1.2")
    before = counters(server)
    first = clients.resume(server.port(), "b.test", ctx)
    resumed = [clients.resume(server.port(), "b.test", ctx, first.session) for _ in range(3)]
    assert all(x.reused and x.status == 200 for x in resumed), resumed
    expected = add(handshakes("1.2", first.cipher),
                   handshakes("1.2", first.cipher, n=3, resumed=True),
                   {"TLSSessionCacheStores": 1, "TLSSessionCacheHits": 3})
    assert wait_delta(server, before, expected) == expected


def test_session_cache_tls13_single_use_tickets(env, server):
    """b.test, TLS 1.3: each handshake stores one single-use ticket in the cache; resuming
    takes it (a hit); offering the used ticket again finds nothing (a miss, a full
    handshake)."""
    ctx = clients.context(env.ca, tls="1.3")
    before = counters(server)
    first = clients.resume(server.port(), "b.test", ctx)
    again = clients.resume(server.port(), "b.test", ctx, first.session)
    used = clients.resume(server.port(), "b.test", ctx, first.session)
    assert (first.reused, again.reused, used.reused) == (False, True, False)
    expected = add(handshakes("1.3", first.cipher, n=2),
                   handshakes("1.3", again.cipher, resumed=True),
                   {"TLSSessionCacheStores": 3, "TLSSessionCacheHits": 1,
                    "TLSSessionCacheMisses": 1})
    assert wait_delta(server, before, expected) == expected


def test_event_mpm_counts_every_process(env):
    """The event MPM: processes of several threads each count in their own slot."""
    h = env.httpd("status-event", modules=["status", "slotmem_shm", "socache_shmcb"],
                  global_extra="StartServers 2\nServerLimit 4\nThreadLimit 4\n"
                               "ThreadsPerChild 4\nMinSpareThreads 8\nMaxSpareThreads 16\n"
                               "MaxRequestWorkers 16\n" + STATUS + "\n" + PIDLOG)
    h.listen("https")
    h.listen("plain", tls=None)
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    with running(h):
        before = _probe_counted(h, {})
        ctx = clients.context(env.ca, tls="1.2")
        got = [clients.resume(h.port(), "a.test", ctx) for _ in range(8)]
        assert all(x.status == 200 for x in got)
        expected = add(*[handshakes("1.2", x.cipher) for x in got],
                       {"TLSSessionCacheStores": 8})
        assert wait_delta(h, before, expected) == expected


# --- failed handshakes ------------------------------------------------------------------------

def _refused(server, sni, ctx):
    a = clients.attempt(server.port(), sni, ctx)
    assert a.refused, a


def _raw(server, data=b"", read_first=False, wait_close=True):
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=20)
    try:
        if data:
            s.sendall(data)
        if read_first:
            assert s.recv(65536)[:1] == b"\x16"
        while wait_close and s.recv(65536):
            pass
    except OSError:
        pass
    finally:
        s.close()


def test_failures_by_reason(env, server):
    before = counters(server)
    mallory = env.certs.client("mallory")
    # no shared protocol (x.wild.test is TLS 1.3 only), twice
    for _ in range(2):
        _refused(server, "x.wild.test", clients.context(env.ca, tls="1.2"))
    # no shared cipher
    _refused(server, "a.test",
             clients.context(env.ca, tls="1.2", ciphers="ECDHE-ECDSA-CHACHA20-POLY1305"))
    # unknown server name (TLSStrictSNI on)
    _refused(server, "nope.test", clients.context(env.ca))
    # client certificate: none, untrusted
    _refused(server, "required.auth.test", clients.context(env.ca))
    _refused(server, "required.auth.test",
             clients.context(env.ca, cert=mallory.cert, key=mallory.key))
    # the client refuses the server's certificate: an alert (TLS 1.3 and 1.2)
    for version in ("1.3", "1.2"):
        _refused(server, "a.test", clients.context(env.certs.path("client-ca.pem"),
                                                   tls=version))
    # plain HTTP
    _raw(server, b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    # not TLS
    _raw(server, b"\x47" + os.urandom(200))
    # a stalled handshake (RequestReadTimeout handshake=1)
    _raw(server, clients.client_hello("a.test"), read_first=True)
    # connect and leave, twice (health checks)
    for _ in range(2):
        _raw(server, wait_close=False)
    expected = {"TLSFailures": 13, "TLSFailNoProtocol": 2, "TLSFailNoCipher": 1,
                "TLSFailUnknownSNI": 1, "TLSFailBadCertificate": 2, "TLSFailClientAlert": 2,
                "TLSFailPlainHTTP": 1, "TLSFailMalformed": 1, "TLSFailTimeout": 1,
                "TLSFailClosed": 2}
    assert wait_delta(server, before, expected) == expected


# --- the page ---------------------------------------------------------------------------------

def _not_after(leaf):
    try:
        return leaf.x509.not_valid_after_utc
    except AttributeError:      # python3-cryptography < 42
        return leaf.x509.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def test_auto_shows_sessions_and_certificates(env, server):
    st = status(server)
    assert st["TLSCounters"] == "all child processes"
    assert st["TLSSessionCache"].startswith("shmcb:")
    assert st["TLSTicketKeys"] == "this server"
    assert 0 <= st["TLSTicketKeyAge"] < 3600
    certs = {st["TLSCertificate%d" % i]: i for i in range(1, st["TLSCertificates"] + 1)}
    expected = {env.certs.leaf(n).cert: env.certs.leaf(n)
                for n in ("a.test", "b.test", "wild.test", "auth.test", "soon.test")}
    assert set(certs) == set(expected), certs
    now = datetime.datetime.now(datetime.timezone.utc)
    for path, leaf in expected.items():
        i = certs[path]
        na = _not_after(leaf)
        assert st["TLSCertificate%dNotAfter" % i] == na.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert st["TLSCertificate%dDaysLeft" % i] == (na - now).days, (path, st)
        assert st["TLSCertificate%dSubject" % i].startswith("CN=%s," % leaf.host)
    soon = certs[env.certs.leaf("soon.test").cert]
    assert st["TLSCertificate%dDaysLeft" % soon] == 3
    assert st["TLSCertificate%dNames" % soon] == "soon.test, www.soon.test"


def test_html_page_has_the_section(env, server):
    st, _, body = clients.plain_get(server.port("plain"), "/server-status")
    assert st == 200
    page = body.decode()
    section = page[page.index("<h2>mod_tls</h2>"):]
    for title in ("Handshakes", "Failed handshakes", "Sessions", "Certificates"):
        assert "<h3>%s</h3>" % title in section, title
    auto = status(server)
    full = re.search(r"<tr><td>full handshakes</td><td align=\"right\">(\d+)</td></tr>", section)
    assert full and int(full.group(1)) >= 1, section
    assert auto["TLSHandshakesFull"] >= int(full.group(1))
    assert "<td>plain HTTP to the TLS port</td>" in section
    assert "<td>%s</td>" % env.certs.leaf("soon.test").cert in section
    assert "over all child processes" in section


# --- restarts ---------------------------------------------------------------------------------

def _probe_counted(h, before):
    """The harness checks a (re)started server with one TLS handshake of its own (no SNI,
    TLS 1.3), which the server counts shortly after: wait for it; the counters then."""
    deadline = time.monotonic() + 15
    while True:
        now = counters(h)
        d = delta(before, now)
        if d.get("TLSHandshakesFull", 0) >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    suites = {k: v for k, v in d.items() if k.startswith("TLSHandshakes_TLS_")}
    assert list(suites.values()) == [1], d
    assert d == dict(suites, TLSHandshakesFull=1, **{"TLSHandshakes_TLSv1.3": 1}), d
    return now


def test_counts_survive_a_graceful_restart(env, server):
    ctx = clients.context(env.ca, tls="1.3")
    for _ in range(2):
        r = clients.resume(server.port(), "a.test", ctx)
        assert r.status == 200
    before = counters(server)
    assert before["TLSHandshakesFull"] >= 2
    server.graceful()
    # nothing lost, only the harness's probe added
    after = _probe_counted(server, before)
    # and they go on counting
    r = clients.resume(server.port(), "a.test", ctx)
    expected = handshakes("1.3", r.cipher)
    assert wait_delta(server, after, expected) == expected


def test_a_new_server_starts_from_zero(env):
    h = _status_server(env, "status-fresh")
    with running(h):
        ctx = clients.context(env.ca)
        for _ in range(3):
            assert clients.resume(h.port(), "a.test", ctx).status == 200
        assert counters(h)["TLSHandshakesFull"] >= 3
    # the same server root (and DefaultRuntimeDir, where the counts are saved) again:
    # nothing but the harness's probe of the new start
    with running(h):
        _probe_counted(h, {})


def test_without_slotmem_shm_one_process_is_shown(env):
    h = _status_server(env, "status-noshm", modules=("status", "socache_shmcb"))
    with running(h):
        warn = [l for l in h.error_log().splitlines() if "TLS0116" in l]
        assert len(warn) == 1 and "[tls:warn]" in warn[0], h.error_log()
        assert "mod_slotmem_shm is not loaded" in warn[0]
        st = status(h)
        assert st["TLSCounters"] == "this child process"
        assert "TLSHandshakesFull" in st
