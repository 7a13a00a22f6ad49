"""What an admin reads in the error log and the access log (docs/logging.md):

- `LogLevel tls:info`: one line per failed handshake, naming the peer (address:port), the
  server name the client sent (or that it sent none) and the reason in words, never a rustls
  enum name -- for nine kinds of failure;
- `tls:debug`: one line per handshake with the server name, vhost, protocol, cipher suite, ALPN
  and whether the session was new or resumed;
- `trace1`/`trace2`: connection milestones, then filter calls, as the docs' table says;
- certificate expiry at startup and at each graceful restart: an error line for an expired
  certificate (the server starts), a warning for one that expires within 14 days, once per
  file, naming file, subject, DNS names and date;
- the access-log format docs/logging.md recommends (`%{SSL_PROTOCOL}x` ...) works as written.

mod_tls only (the messages are its own)."""
import datetime
import os
import re
import socket
import time

import pytest

from conftest import running, server_fixture
from harness import clients
from harness.httpd import suite as suite_row

pytestmark = pytest.mark.tls_only

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOSE_WITHIN = 20
HANDSHAKE_TIMEOUT = 2   # RequestReadTimeout handshake=


@pytest.fixture(scope="module")
def server(env):
    # AcceptFilter none: else Linux holds a silent connection in the kernel (TCP_DEFER_ACCEPT)
    h = env.httpd("logs", modules=["reqtimeout", "socache_shmcb"], log_level="warn tls:debug",
                  global_extra="AcceptFilter http none\nAcceptFilter https none\n"
                               "RequestReadTimeout handshake=%d header=20 body=20"
                               % HANDSHAKE_TIMEOUT)
    h.listen("https")
    h.listen("plain", tls=None)
    # a.test suppresses one TLS 1.2 suite, which a client then insists on
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair],
            suppress="ECDHE-ECDSA-CHACHA20-POLY1305")
    h.vhost("x.wild.test", certs=[env.certs.leaf("wild.test").pair], protocol="TLSv1.3+")
    h.vhost("required.auth.test", certs=[env.certs.leaf("auth.test").pair],
            extra=env.backend.client_auth(h, mode="required",
                                          ca=env.certs.path("client-ca.pem")))
    h.start()
    yield from server_fixture(h)


# --- one failed handshake, one line ----------------------------------------------------------

def _connect(server):
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
    return s, s.getsockname()[1]


def _wait_closed(s):
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass


def _handshake(server, sni, ctx):
    """A client handshake that the server refuses: the client's port."""
    a = clients.attempt(server.port(), sni, ctx)
    assert a.refused, a
    return a.local_port


def no_protocol(env, server):
    return _handshake(server, "x.wild.test", clients.context(env.ca, tls="1.2"))


def no_cipher(env, server):
    ctx = clients.context(env.ca, tls="1.2", ciphers="ECDHE-ECDSA-CHACHA20-POLY1305")
    return _handshake(server, "a.test", ctx)


def unknown_sni(env, server):
    return _handshake(server, "nope.test", clients.context(env.ca))


def no_client_cert(env, server):
    return _handshake(server, "required.auth.test", clients.context(env.ca))


def untrusted_client_cert(env, server):
    c = env.certs.client("mallory")
    return _handshake(server, "required.auth.test",
                      clients.context(env.ca, cert=c.cert, key=c.key))


def client_refuses_server_cert(env, server):
    # trusts only the client CA: OpenSSL answers the server's certificate with unknown_ca
    return _handshake(server, "a.test", clients.context(env.certs.path("client-ca.pem")))


def timeout(env, server):
    s, port = _connect(server)
    try:
        s.sendall(clients.client_hello("a.test"))
        assert s.recv(65536)[:1] == b"\x16"       # the server's flight; then we stall
        _wait_closed(s)
    finally:
        s.close()
    return port


def plain_http(env, server):
    s, port = _connect(server)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        _wait_closed(s)
    finally:
        s.close()
    return port


def not_tls(env, server):
    s, port = _connect(server)
    try:
        s.sendall(b"\x47" + os.urandom(300))
        _wait_closed(s)
    finally:
        s.close()
    return port


# kind -> (client, SNI in the line (None: "without SNI" or not applicable), reason regex)
FAILURES = {
    "no shared protocol": (no_protocol, "x.wild.test",
                           r"the server requires TLS 1\.3, which the client does not offer"),
    "no shared cipher": (no_cipher, "a.test", r"no cipher suite in common with the client"),
    "unknown SNI": (unknown_sni, "nope.test",
                    r"no virtual host for server name 'nope\.test' on this address "
                    r"\(TLSStrictSNI on\)"),
    "no client certificate": (no_client_cert, "required.auth.test",
                              r"client authentication is required, but the client sent no "
                              r"certificate"),
    "client certificate refused": (untrusted_client_cert, "required.auth.test",
                                   r"client certificate .*(not trusted|unknown|issuer)"),
    "client alert": (client_refuses_server_cert, "a.test",
                     r"client sent fatal alert: unknown ca \(it does not accept the server's "
                     r"certificate\)"),
    "timeout": (timeout, "a.test", r"timed out waiting for the client"),
    "plain HTTP": (plain_http, None, r"spoke plain HTTP to a TLS port"),
    "not TLS": (not_tls, None, r"client sent plain data, not TLS"),
}

# rustls' names for what went wrong: PeerIncompatibleError, AlertReceived, HandshakeFailure...
CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b")


@pytest.mark.parametrize("kind", list(FAILURES))
def test_failed_handshake_is_one_info_line(env, server, kind):
    client, sni, reason = FAILURES[kind]
    mark = server.log_mark()
    port = client(env, server)
    peer = r"127\.0\.0\.1:%d\b" % port
    assert server.wait_log(r"\[tls:info\].*%s" % peer, since=mark, timeout=CLOSE_WITHIN), \
        server.log_since(mark)
    time.sleep(0.3)     # anything else about this connection would follow at once
    lines = [l for l in server.log_since(mark).splitlines()
             if re.search(peer, l) and not re.search(r"\[tls:(debug|trace\d)\]", l)]
    assert len(lines) == 1, "\n".join(lines)
    line = lines[0]
    assert "[tls:info]" in line, line
    message = line.split("] ", 4)[-1]
    assert re.search(reason, message), message
    if sni:
        assert "'%s'" % sni in message, message
    elif "TLS0201" in message:
        assert "without SNI" in message, message
    # words, not rustls' enum names (directive names like TLSStrictSNI are fine)
    assert not CAMEL.findall(re.sub(r"\bTLS[A-Z]\w+", "", message)), message


# --- debug: one line per handshake -------------------------------------------------------------

def _debug_line(server, port, mark):
    m = server.wait_log(r"\[tls:debug\].*TLS0202: handshake with 127\.0\.0\.1:%d\b.*" % port,
                        since=mark)
    assert m, server.log_since(mark)
    return m.group(0)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_handshake_debug_line(env, server, version):
    """vhost, protocol, suite, ALPN and new/resumed, for a new and a resumed session."""
    ctx = clients.context(env.ca, tls=version)
    ctx.set_alpn_protocols(["http/1.1"])
    mark = server.log_mark()
    first = clients.attempt(server.port(), "a.test", ctx)
    assert first.status == 200 and not first.reused, first
    again = clients.attempt(server.port(), "a.test", ctx, session=first.session)
    assert again.status == 200 and again.reused, again
    proto = "TLSv" + version
    for x, how in ((first, "new"), (again, "resumed")):
        line = _debug_line(server, x.local_port, mark)
        # the virtual host by name, port (ServerName has none: the <VirtualHost>'s) and place
        assert "for 'a.test'" in line, line
        assert re.search(r"vhost virtual host a\.test:%d \(.*:\d+\)," % server.port(), line), line
        assert ", %s, " % proto in line and "ALPN http/1.1" in line, line
        assert line.endswith("%s session" % how), line
        suite = re.search(r", (TLS_\w+), ALPN", line)
        assert suite, line
    # the suite in words rustls and the client agree on (IANA name)
    ss = clients.tls_connect(server.port(), "a.test", ctx)
    try:
        cipher, port = ss.cipher()[0], ss.getsockname()[1]
    finally:
        ss.close()
    line = _debug_line(server, port, mark)
    assert ", %s, " % suite_row(cipher)[0] in line, (cipher, line)


def test_handshake_without_sni_debug_line(env, server):
    ctx = clients.context(verify=False)
    mark = server.log_mark()
    s = socket.create_connection(("127.0.0.1", server.port()), timeout=CLOSE_WITHIN)
    ss = ctx.wrap_socket(s)     # no server_hostname: no SNI
    port = ss.getsockname()[1]
    ss.close()
    line = _debug_line(server, port, mark)
    assert "without SNI done: vhost virtual host a.test:" in line, line


# --- trace levels -----------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["trace1", "trace2"])
def test_trace_levels(env, level):
    """trace1: ClientHello (TLS0205), close_notify (TLS0303); trace2 adds the filter calls
    (TLS0304) and network reads (TLS0305); trace1 has none of those."""
    h = env.httpd("logs-" + level, log_level="warn tls:%s" % level)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    with running(h):
        mark = h.log_mark()
        st, _, body = clients.get(h.port(), "/whoami.txt", "a.test", ca=env.ca)
        assert (st, body) == (200, b"a.test\n")
        assert h.wait_log(r"\[tls:trace1\].*TLS0303", since=mark), h.log_since(mark)
        text = h.log_since(mark)
    assert re.search(r"\[tls:trace1\].*TLS0205: ClientHello for 'a\.test'", text), text
    has_trace2 = re.search(r"\[tls:trace2\].*TLS030[45]", text) is not None
    assert has_trace2 == (level == "trace2"), text
    assert not re.search(r"\[tls:trace[3-8]\]", text), text


# --- certificate expiry ----------------------------------------------------------------------

def _rfc822(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _not_after(leaf):
    try:
        return leaf.x509.not_valid_after_utc
    except AttributeError:      # python3-cryptography < 42
        return leaf.x509.not_valid_after.replace(tzinfo=datetime.timezone.utc)


@pytest.mark.allow_errors(r"TLS0107: .*expired\.test-ecdsa\.pem")
def test_certificate_expiry_at_start_and_graceful(env):
    soon, expired = env.certs.leaf("soon.test"), env.certs.leaf("expired.test")
    h = env.httpd("logs-expiry", allowed_errors=[r"TLS0107: .*expired\.test-ecdsa\.pem"])
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    # two vhosts with the same file: one line for the file
    h.vhost("soon.test", certs=[soon.pair])
    h.vhost("www.soon.test", certs=[soon.pair])
    h.vhost("expired.test", certs=[expired.pair])
    with running(h):
        def lines(tag, text):
            return [l for l in text.splitlines() if tag in l]

        def check(text):
            warn = lines("TLS0115", text)
            assert len(warn) == 1, text
            assert "[tls:warn]" in warn[0] and soon.cert in warn[0], warn
            assert "subject CN=soon.test" in warn[0], warn
            assert "names soon.test, www.soon.test" in warn[0], warn
            assert "expires on %s, in 3 day(s)" % _rfc822(_not_after(soon)) in warn[0], warn
            err = lines("TLS0107", text)
            assert len(err) == 1, text
            assert "[tls:error]" in err[0] and expired.cert in err[0], err
            assert "subject CN=expired.test" in err[0] and "names expired.test" in err[0], err
            assert "expired on %s, 30 day(s) ago" % _rfc822(_not_after(expired)) in err[0], err
            # no warning about the certificate that is fine
            assert env.certs.leaf("a.test").cert not in text, text

        check(h.error_log())
        # the server started and serves every vhost, the expired one too
        for name in ("a.test", "soon.test", "expired.test"):
            r = clients.s_client(h.port(), name)
            assert r.established and r.status == 200, r
        mark = h.log_mark()
        h.graceful()
        check(h.log_since(mark))


# --- the access log -----------------------------------------------------------------------------

def _recommended_logformat():
    """The LogFormat line of docs/logging.md's "Access log" section."""
    with open(os.path.join(ROOT, "docs", "logging.md")) as f:
        text = f.read()
    section = text[text.index("## Access log"):]
    m = re.search(r"^(LogFormat .* tls_combined)$", section, re.M)
    assert m, "no LogFormat ... tls_combined line in docs/logging.md"
    return m.group(1)


def test_recommended_logformat(env):
    h = env.httpd("logs-access", modules=["socache_shmcb"],
                  global_extra=_recommended_logformat() + '\nCustomLog "@ROOT@/logs/tls_log" '
                                                          'tls_combined')
    h.listen("https")
    h.listen("plain", tls=None)
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    with running(h):
        ctx = clients.context(env.ca, tls="1.2")
        first = clients.resume(h.port(), "a.test", ctx, path="/whoami.txt?first")
        again = clients.resume(h.port(), "a.test", ctx, first.session, path="/whoami.txt?again")
        assert first.status == again.status == 200 and again.reused, (first, again)
        st, _, _ = clients.plain_get(h.port("plain"), "/whoami.txt?plain")
        assert st == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and h.read_file("logs/tls_log").count("\n") < 3:
            time.sleep(0.1)
        log = h.read_file("logs/tls_log").splitlines()
    by = {re.search(r"\?(\w+) HTTP", l).group(1): l for l in log if "?" in l}
    assert set(by) == {"first", "again", "plain"}, log
    # %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_SESSION_RESUMED}x %{SSL_TLS_SNI}x at the end
    tail = lambda l: l.rsplit('"', 1)[1].split()   # noqa: E731
    cipher = tail(by["first"])[1]
    assert tail(by["first"]) == ["TLSv1.2", cipher, "Initial", "a.test"], by["first"]
    assert tail(by["again"]) == ["TLSv1.2", cipher, "Resumed", "a.test"], by["again"]
    # the suite the client negotiated (by either of its names)
    assert suite_row(cipher)[0] == suite_row(first.cipher)[0], (cipher, first.cipher)
    assert tail(by["plain"]) == ["-", "-", "-", "-"], by["plain"]
