"""Session resumption across a fleet (docs/directives.md: TLSSessionCache memcache:/redis:,
TLSSessionTicketKeyFile): two apache2 servers on different ports share a session cache in a
real memcached or redis-server started by the test, and the same ticket key file; a session
made on one server resumes on the other.

- vhost a.test: TLSSessionTickets on (tickets encrypted with the shared keys);
- vhost b.test: TLSSessionTickets off (the shared cache only; TLS 1.3 single-use tickets there).

Ticket keys alone (TLSSessionCache none): the key file decides; key rotation (new key first,
old one second), a different key, a graceful restart after replacing the file, servers
without a key file, and broken key files.
"""
import base64
import contextlib
import os
import re

import pytest

from conftest import running
from harness import clients
from harness.backends import write_ticket_keys
from harness.httpd import pick_port
from harness.services import Memcached, Redis, workdir_for

HEADERS = """  Header always set X-Resumed "%{SSL_SESSION_RESUMED}s"
  Header always set X-Sid "%{SSL_SESSION_ID}s"
"""
VERSIONS = ["1.2", "1.3"]


def _keys(env, name, keys):
    return write_ticket_keys(os.path.join(env.workdir, name), keys)


def _fleet_server(env, name, cache, key_file, modules=()):
    # a fixed set of child processes: mod_ssl (the ssl backend) now and then does a full
    # handshake for a session it decrypted from a ticket in a child started later on; the
    # resumption across processes is test_sessions.py's subject
    h = env.httpd(name, modules=["headers"] + list(modules), session_cache=cache,
                  ticket_key_file=key_file,
                  global_extra="StartServers 2\nMinSpareThreads 1\nMaxSpareThreads 50\n"
                               "ThreadsPerChild 25")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=HEADERS,
            tls_extra="TLSSessionTickets on", ssl_extra="SSLSessionTickets on")
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair], extra=HEADERS,
            tls_extra="TLSSessionTickets off", ssl_extra="SSLSessionTickets off")
    return h


@pytest.fixture(scope="module")
def fleet_keys(env):
    return [os.urandom(48)]


@pytest.fixture(scope="module")
def memcached(env):
    m = Memcached(workdir_for(env, "memcached")).start()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def redis(env):
    r = Redis(workdir_for(env, "redis")).start()
    yield r
    r.stop()


@pytest.fixture(scope="module", params=["memcache", "redis"])
def fleet(env, request, fleet_keys):
    """(server 1, server 2, the cache service) sharing the cache and the key file."""
    if request.param == "memcache":
        svc = request.getfixturevalue("memcached")
        cache, mod = "memcache:127.0.0.1:%d" % svc.port, "socache_memcache"
    else:
        svc = request.getfixturevalue("redis")
        cache, mod = "redis:127.0.0.1:%d" % svc.port, "socache_redis"
    key_file = _keys(env, "fleet-%s.keys" % request.param, fleet_keys)
    h1 = _fleet_server(env, "fleet1-" + request.param, cache, key_file, [mod])
    h2 = _fleet_server(env, "fleet2-" + request.param, cache, key_file, [mod])
    with running(h1), running(h2):
        yield h1, h2, svc


def _first(h, host, ctx):
    x = clients.resume(h.port(), host, ctx)
    assert x.status == 200 and x.body == (host + "\n").encode(), x
    assert not x.reused and x.headers.get("x-resumed") == "Initial", x
    return x


@pytest.mark.parametrize("host", ["a.test", "b.test"], ids=["tickets", "cache-only"])
@pytest.mark.parametrize("version", VERSIONS)
def test_session_resumes_on_the_other_server(env, fleet, host, version):
    h1, h2, svc = fleet
    ctx = clients.context(env.ca, tls=version)
    first = _first(h1, host, ctx)
    x = clients.resume(h2.port(), host, ctx, first.session)
    assert x.status == 200 and x.body == (host + "\n").encode(), x
    assert x.reused, "a session made on server 1 was not resumed on server 2 (%s): %r" % (
        svc.name, x)
    assert x.headers.get("x-resumed") == "Resumed", x
    # and back: the session the client holds now resumes on server 1
    session = x.session or first.session
    y = clients.resume(h1.port(), host, ctx, session)
    assert y.reused and y.headers.get("x-resumed") == "Resumed", y


@pytest.mark.parametrize("version", VERSIONS)
def test_many_sessions_alternating(env, fleet, version):
    """Ten clients, each resuming alternately on server 2 and server 1, five times, with the
    cache only (b.test)."""
    h1, h2, svc = fleet
    results = []
    for _ in range(10):
        ctx = clients.context(env.ca, tls=version)
        session = _first(h1, "b.test", ctx).session
        for i in range(5):
            h = (h2, h1)[i % 2]
            x = clients.resume(h.port(), "b.test", ctx, session)
            results.append(x.reused)
            session = x.session or session
    assert all(results), "resumed %d of %d across the fleet (%s)" % (
        results.count(True), len(results), svc.name)


# docs/fleet.md, "Verify": openssl s_client -sess_out on member 1, -sess_in on member 2
@pytest.mark.parametrize("args", [["-tls1_3"], ["-tls1_2"], ["-tls1_2", "-no_ticket"]],
                         ids=["tls1_3", "tls1_2", "tls1_2-no_ticket"])
@pytest.mark.parametrize("host", ["a.test", "b.test"], ids=["tickets", "cache-only"])
def test_s_client_session_file_resumes_on_the_other_server(env, fleet, tmp_path, host, args):
    h1, h2, svc = fleet
    sess = str(tmp_path / "sess.pem")
    r1 = clients.s_client_session(h1.port(), host, env.ca, sess_out=sess, args=args)
    assert r1[0] == "New", r1[2][-3000:]
    assert os.path.getsize(sess) > 0, r1[2][-3000:]
    r2 = clients.s_client_session(h2.port(), host, env.ca, sess_in=sess, args=args)
    assert r2[0] == "Reused", "member 2 (%s) did not resume member 1's session:\n%s" % (
        svc.name, r2[2][-3000:])
    assert r2[1] == r1[1]


def test_cache_holds_the_sessions(env, fleet):
    """The sessions of b.test (tickets off) are in the shared cache service."""
    h1, h2, svc = fleet
    ctx = clients.context(env.ca, tls="1.2")
    _first(h1, "b.test", ctx)
    if svc.name == "memcached":
        stats = svc.stats()
        assert int(stats.get("cmd_set", 0)) > 0 and int(stats.get("curr_items", 0)) > 0, stats
    else:
        assert svc.dbsize() > 0


# -------------------------------------------------------------------- ticket keys only
K1, K2, K3 = os.urandom(48), os.urandom(48), os.urandom(48)


@pytest.fixture(scope="module")
def ticket_servers(env):
    """Servers without a session cache (TLSSessionCache none): only tickets can resume.
    s1, s2: key K1; rot: K2 first, then K1; other: K3 only (replaced by tests)."""
    files = {
        "s1": _keys(env, "t-s1.keys", [K1]),
        "s2": _keys(env, "t-s2.keys", [K1]),
        "rot": _keys(env, "t-rot.keys", [K2, K1]),
        "other": _keys(env, "t-other.keys", [K3]),
    }
    servers = {name: _fleet_server(env, "tickets-" + name, "none", f)
               for name, f in files.items()}
    with contextlib.ExitStack() as stack:
        for h in servers.values():
            stack.enter_context(running(h))
        yield servers, files


def _resumes(env, h_from, h_to, version, host="a.test"):
    ctx = clients.context(env.ca, tls=version)
    first = _first(h_from, host, ctx)
    x = clients.resume(h_to.port(), host, ctx, first.session)
    assert x.status == 200, x
    assert x.headers.get("x-resumed") == ("Resumed" if x.reused else "Initial"), x
    return x.reused


@pytest.mark.parametrize("version", VERSIONS)
def test_same_key_file_resumes(env, ticket_servers, version):
    s = ticket_servers[0]
    assert _resumes(env, s["s1"], s["s2"], version)
    assert _resumes(env, s["s2"], s["s1"], version)


@pytest.mark.parametrize("version", VERSIONS)
def test_tickets_off_without_cache_does_not_resume(env, ticket_servers, version):
    """Control: b.test has no tickets, and there is no cache."""
    s = ticket_servers[0]
    assert not _resumes(env, s["s1"], s["s2"], version, host="b.test")
    assert not _resumes(env, s["s1"], s["s1"], version, host="b.test")


@pytest.mark.tls_only     # mod_ssl knows one ticket key only
@pytest.mark.parametrize("version", VERSIONS)
def test_rotation_old_key_still_decrypts(env, ticket_servers, version):
    """A server whose file has a new first key and the old one second resumes sessions made
    with the old key; its own tickets use the new key, which the old servers do not have."""
    s = ticket_servers[0]
    assert _resumes(env, s["s1"], s["rot"], version)
    assert not _resumes(env, s["rot"], s["s1"], version)
    assert _resumes(env, s["rot"], s["rot"], version)


@pytest.mark.parametrize("version", VERSIONS)
def test_different_key_does_not_resume(env, ticket_servers, version):
    s = ticket_servers[0]
    assert not _resumes(env, s["s1"], s["other"], version)
    assert _resumes(env, s["other"], s["other"], version)


def test_graceful_restart_picks_up_new_keys(env, ticket_servers):
    """Replace server "other"'s key file by one with K1, restart it gracefully: it resumes
    server 1's sessions now, and no longer those it made with K3."""
    s, files = ticket_servers
    other = s["other"]
    before = {}
    for version in VERSIONS:
        ctx = clients.context(env.ca, tls=version)
        before[version] = (ctx, _first(other, "a.test", ctx).session)
        assert not _resumes(env, s["s1"], other, version)
    write_ticket_keys(files["other"], [K1])
    other.graceful()
    for version in VERSIONS:
        assert _resumes(env, s["s1"], other, version), "TLS %s after graceful" % version
        ctx, session = before[version]
        x = clients.resume(other.port(), "a.test", ctx, session)
        assert x.status == 200 and not x.reused, "a K3 ticket resumed after K3 was removed"


# ------------------------------------------------------------------- no key file at all
@pytest.fixture(scope="module")
def keyless(env):
    h1 = _fleet_server(env, "keyless1", "none", None)
    h2 = _fleet_server(env, "keyless2", "none", None)
    with running(h1), running(h2):
        yield h1, h2


@pytest.mark.parametrize("version", VERSIONS)
def test_without_key_file_each_server_has_its_own_keys(env, keyless, version):
    h1, h2 = keyless
    assert _resumes(env, h1, h1, version)
    assert not _resumes(env, h1, h2, version)


@pytest.mark.tls_only     # mod_ssl makes new keys on a graceful restart
@pytest.mark.parametrize("version", VERSIONS)
def test_without_key_file_keys_survive_graceful(env, keyless, version):
    h1, _ = keyless
    ctx = clients.context(env.ca, tls=version)
    session = _first(h1, "a.test", ctx).session
    h1.graceful()
    x = clients.resume(h1.port(), "a.test", ctx, session)
    assert x.status == 200 and x.reused, x


# ------------------------------------------------------------------------ bad key files
def _bad(env, name, content):
    p = os.path.join(env.workdir, name)
    if content is not None:
        with open(p, "w") as f:
            f.write(content)
        os.chmod(p, 0o600)
    return p


BAD_FILES = {
    "not-base64": "this is not base64 at all!\n",
    "short-key": "%s\n" % base64.b64encode(os.urandom(32)).decode(),
    "long-key": "%s\n" % base64.b64encode(os.urandom(64)).decode(),
    "second-line-bad": "%s\n%%%%%%\n" % base64.b64encode(os.urandom(48)).decode(),
    "missing": None,
    "empty": "",
    "comments-only": "# no key here\n\n# nor here\n",
}


@pytest.mark.tls_only
@pytest.mark.parametrize("what", list(BAD_FILES))
def test_bad_key_file_stops_startup(env, what):
    path = _bad(env, "bad-%s.keys" % what, BAD_FILES[what])
    h = env.httpd("badkeys-" + what, ticket_key_file=path)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    res = h.configtest()
    assert not res.ok, res
    assert "TLSSessionTicketKeyFile" in res.output, res
    res = h.start(check=False)
    assert not res.ok, res
    assert "TLSSessionTicketKeyFile" in res.output, res
    assert path in res.output or os.path.basename(path) in res.output, res


@pytest.mark.tls_only
def test_key_file_with_comments_and_empty_lines(env):
    """docs/fleet.md: lines starting with # and empty lines are ignored."""
    path = _bad(env, "commented.keys", "# made by the tests\n\n%s\n\n# old:\n%s\n" % (
        base64.b64encode(K1).decode(), base64.b64encode(K2).decode()))
    h1 = _fleet_server(env, "commented", "none", path)
    h2 = _fleet_server(env, "commented-peer", "none", _keys(env, "commented-peer.keys", [K1]))
    with running(h1), running(h2):
        for version in VERSIONS:
            assert _resumes(env, h1, h2, version)


@pytest.mark.tls_only
def test_world_readable_key_file_warns(env):
    path = _keys(env, "readable.keys", [K1])
    os.chmod(path, 0o644)
    h = _fleet_server(env, "readable-keys", "none", path)
    with running(h):
        assert h.wait_log(r"\[tls:warn\].*TLS0122.*readable\.keys|"
                          r"\[tls:warn\].*readable\.keys.*TLS0122"), h.error_log()


# ------------------------------------------------------------------ cache configuration
@pytest.mark.parametrize("value,needle", [
    ("memcache:127.0.0.1:11211", "memcache"),      # module not loaded
    ("redis:127.0.0.1:6379", "redis"),
    ("bogus:whatever", "bogus"),
])
def test_cache_provider_must_be_known_and_loaded(env, value, needle):
    h = env.httpd("cache-provider", session_cache=value)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    res = h.start(check=False)
    assert not res.ok, res
    assert needle in res.output, res
    if env.backend_name == "tls":
        assert "TLSSessionCache" in res.output, res


@pytest.mark.tls_only
@pytest.mark.parametrize("value", ["0", "604801", "-1", "abc", "10s"])
def test_cache_timeout_out_of_range_is_an_error(env, value):
    h = env.httpd("cache-timeout", global_extra="TLSSessionCacheTimeout " + value)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    res = h.configtest()
    assert not res.ok, res
    assert "TLSSessionCacheTimeout" in res.output, res


@pytest.mark.tls_only
@pytest.mark.parametrize("value", ["1", "604800"])
def test_cache_timeout_limits_are_accepted(env, value):
    h = env.httpd("cache-timeout", global_extra="TLSSessionCacheTimeout " + value)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    res = h.configtest()
    assert res.ok, res


# A cache that cannot be reached costs full handshakes, not failed connections, and does not
# stop the start (docs/fleet.md). The module and the socache provider may say so in the log.
@pytest.mark.allow_errors(r"\[(tls|ssl|socache_memcache|socache_redis):(error|crit)\]")
@pytest.mark.parametrize("provider", ["memcache", "redis"])
def test_unreachable_cache_only_costs_resumption(env, provider):
    port = pick_port()       # nothing listens there
    h = _fleet_server(env, "cache-down-" + provider, "%s:127.0.0.1:%d" % (provider, port), None,
                      ["socache_" + provider])
    h.allowed_errors.append(re.compile(
        r"\[(tls|ssl|socache_memcache|socache_redis):(error|crit)\]"))
    with running(h):
        for version in VERSIONS:
            ctx = clients.context(env.ca, tls=version)
            first = _first(h, "b.test", ctx)
            for _ in range(3):
                x = clients.resume(h.port(), "b.test", ctx, first.session)
                assert x.status == 200 and x.body == b"b.test\n", x
