"""mod_tls as the client of mod_proxy's backends (TLSProxy*): a front server (mod_tls, with
mod_proxy) in front of a plain HTTP backend, a mod_ssl backend (several ports: a good
certificate, a wrong name, an untrusted CA, a client certificate required, h2, WebSockets) and
a mod_tls backend. The backends' access logs show what they saw (SNI, protocol, resumption,
the client certificate). One front vhost also proxies through mod_ssl (a <Proxy> section with
SSLProxyEngine, and a whole vhost), to show the two modules share the work."""
import asyncio
import os
import re
import shutil
import time

import pytest
import websockets

from conftest import server_fixture
from harness import clients
from harness.services import WebSocketBackend, workdir_for

pytestmark = pytest.mark.tls_only

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "ffi", "tests", "data", "proxy")

# the backend access log: local port, protocol, resumption, SNI, client CN, HTTP version,
# status, path
BE_FORMAT = ('LogFormat "%{local}p %{SSL_PROTOCOL}x %{SSL_SESSION_RESUMED}x '
             'sni=%{SSL_TLS_SNI}x cn=%{SSL_CLIENT_S_DN_CN}x %H %>s %U" be\n'
             'CustomLog "@ROOT@/logs/be_log" be')
BE_RE = re.compile(r"^(\d+) (\S+) (\S+) sni=(\S*) cn=(.*) (\S+) (\d+) (\S+)$")

# what a refused backend leaves in the front's error log besides our line
PROXY_ERRORS = (r"\[proxy(_http|_http2|_wstunnel)?:error\]", r"\[tls:error\].*TLS0501")
BACKEND_PATHS = ("plain", "ssl", "via-tls", "byip", "h2", "tls", "m", "on", "off", "on12", "via-ssl",
                 "via-vhost", "noca", "wrong", "untrusted")


def _docs(h, name):
    for d in BACKEND_PATHS:
        h.write_file("htdocs/%s/%s/whoami.txt" % (name, d), "%s %s\n" % (name, d))


@pytest.fixture(scope="module")
def ws_backend(env):
    b = WebSocketBackend(workdir_for(env, "proxy-ws-backend")).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def ssl_backend(env, ws_backend):
    """mod_ssl backends, one port each: ssl (h2, WebSockets), wrong (a b.test certificate),
    untrusted (another CA's certificate), req (client certificate required), resume."""
    h = env.httpd("proxy-be-ssl", load_tls=False,
                  modules=["ssl", "socache_shmcb", "http2", "proxy", "proxy_http",
                           "proxy_wstunnel"],
                  global_extra='SSLSessionCache "shmcb:@ROOT@/run/ssl_scache(512000)"\n'
                               + BE_FORMAT,
                  allowed_errors=[r"\[ssl:error\]"])
    for d in ("untrusted.pem", "untrusted.key"):
        shutil.copy(os.path.join(FIXTURES, d), os.path.join(h.root, d))
        os.chmod(os.path.join(h.root, d), 0o644)
    local = env.certs.leaf("localhost")
    ssl = "  SSLEngine on\n  SSLCertificateFile %s\n  SSLCertificateKeyFile %s\n"
    h.listen("plain", tls=None)
    h.vhost("localhost", port="plain")
    for key in ("ssl", "wrong", "untrusted", "req", "resume"):
        h.listen(key, tls=None)
    h.vhost("localhost", port="ssl", extra=ssl % local.pair
            + "  Protocols h2 http/1.1\n"
            + "  ProxyPass /wsb/ ws://127.0.0.1:%d/\n" % ws_backend.port)
    h.vhost("localhost", port="wrong", extra=ssl % env.certs.leaf("b.test").pair)
    h.vhost("localhost", port="untrusted",
            extra=ssl % ("@ROOT@/untrusted.pem", "@ROOT@/untrusted.key"))
    h.vhost("localhost", port="req", extra=ssl % local.pair
            + '  SSLVerifyClient require\n  SSLVerifyDepth 3\n'
            + '  SSLCACertificateFile "%s"\n' % env.certs.client_ca_file)
    h.vhost("localhost", port="resume", extra=ssl % local.pair)
    _docs(h, "localhost")
    h.start()
    yield from server_fixture(h)


@pytest.fixture(scope="module")
def tls_backend(env):
    h = env.httpd("proxy-be-tls", global_extra=BE_FORMAT)
    h.listen("https")
    h.vhost("localhost", certs=[env.certs.leaf("localhost").pair])
    _docs(h, "localhost")
    h.start()
    yield from server_fixture(h)


@pytest.fixture(scope="module")
def front(env, ssl_backend, tls_backend):
    p = ssl_backend.port
    alice = env.certs.client("alice")
    a_extra = "\n".join([
        "  TLSProxyEngine on",
        '  TLSProxyCA "%s"' % env.ca,
        "  TLSProxyProtocol TLSv1.3+",
        "  ProxyPass /plain/ http://127.0.0.1:%d/plain/" % p("plain"),
        "  ProxyPass /ssl/ https://localhost:%d/ssl/" % p("ssl"),
        "  ProxyPass /byip/ https://127.0.0.1:%d/byip/" % p("ssl"),
        "  ProxyPass /h2/ h2://localhost:%d/h2/" % p("ssl"),
        "  ProxyPass /tls/ https://localhost:%d/tls/" % tls_backend.port("https"),
        "  ProxyPass /wrong/ https://localhost:%d/wrong/" % p("wrong"),
        "  ProxyPass /untrusted/ https://localhost:%d/untrusted/" % p("untrusted"),
        "  ProxyPass /nocert/ https://localhost:%d/ssl/" % p("req"),
        "  ProxyPass /withcert/ https://localhost:%d/m/" % p("req"),
        '  <Proxy "https://localhost:%d/m/">' % p("req"),
        '    TLSProxyMachineCertificate "%s" "%s"' % (alice.cert, alice.key),
        "  </Proxy>",
        "  ProxyPass /resume-on/ https://localhost:%d/on/ disablereuse=on" % p("resume"),
        "  ProxyPass /resume-off/ https://localhost:%d/off/ disablereuse=on" % p("resume"),
        '  <Proxy "https://localhost:%d/off/">' % p("resume"),
        "    TLSProxySessionCache off",
        "  </Proxy>",
        "  ProxyPass /resume-on12/ https://localhost:%d/on12/ disablereuse=on" % p("resume"),
        '  <Proxy "https://localhost:%d/on12/">' % p("resume"),
        "    TLSProxyProtocol TLSv1.2+",
        "    TLSProxyCiphersSuppress TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:"
        "TLS_CHACHA20_POLY1305_SHA256",
        "  </Proxy>",
        "  ProxyPass /via-tls/ https://localhost:%d/via-tls/ disablereuse=on" % p("ssl"),
        "  ProxyPass /via-ssl/ https://localhost:%d/via-ssl/ disablereuse=on" % p("ssl"),
        '  <Proxy "https://localhost:%d/via-ssl/">' % p("ssl"),
        "    TLSProxyEngine off",
        "    SSLProxyEngine on",
        '    SSLProxyCACertificateFile "%s"' % env.ca,
        "    SSLProxyProtocol TLSv1.2",
        "  </Proxy>",
        "  ProxyPass /wss/ wss://localhost:%d/wsb/" % p("ssl"),
        "  ProxyPass /wsh/ https://localhost:%d/wsb/ upgrade=websocket" % p("ssl"),
        "  ProxyTimeout 30",
    ])
    b_extra = "\n".join([   # TLSProxyEngine on without TLSProxyCA
        "  TLSProxyEngine on",
        "  ProxyPass /noca/ https://localhost:%d/noca/" % p("ssl"),
    ])
    wild_extra = "\n".join([   # this vhost proxies through mod_ssl only
        "  SSLProxyEngine on",
        '  SSLProxyCACertificateFile "%s"' % env.ca,
        "  SSLProxyProtocol TLSv1.2",
        "  ProxyPass /ssl/ https://localhost:%d/via-vhost/ disablereuse=on" % p("ssl"),
    ])
    # one child process: the client session store is per process
    single = "\n".join(["ServerLimit 1", "StartServers 1", "ThreadsPerChild 25",
                        "MaxRequestWorkers 25", "MinSpareThreads 5", "MaxSpareThreads 75"])
    h = env.httpd("proxy-front", log_level="warn tls:debug",
                  modules=["ssl", "proxy", "proxy_http", "proxy_http2", "proxy_wstunnel"],
                  global_extra=single)
    h.listen("https")
    h.listen("sslfront", tls=None)   # mod_ssl serves the clients here, mod_tls the backends
    h.vhost("localhost", port="sslfront", extra="\n".join([
        "  SSLEngine on",
        "  SSLCertificateFile %s\n  SSLCertificateKeyFile %s" % env.certs.leaf("localhost").pair,
        "  TLSProxyEngine on",
        '  TLSProxyCA "%s"' % env.ca,
        "  ProxyPass /ssl/ https://localhost:%d/via-tls/ disablereuse=on" % p("ssl"),
    ]))
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=a_extra)
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair], extra=b_extra)
    h.vhost("wild.test", certs=[env.certs.leaf("wild.test").pair], extra=wild_extra)
    h.start()
    yield from server_fixture(h)


def _get(env, front, path, host="a.test"):
    return clients.curl(front.port(), path, host, ca=env.ca)


def _be_entries(be, path_prefix):
    out = []
    for line in be.read_file("logs/be_log").splitlines():
        m = BE_RE.match(line)
        if m and m.group(8).startswith(path_prefix):
            out.append(dict(port=int(m.group(1)), protocol=m.group(2), resumed=m.group(3),
                            sni=m.group(4), cn=m.group(5), http=m.group(6),
                            status=int(m.group(7)), path=m.group(8)))
    return out


def _wait_be(be, path_prefix, count, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        entries = _be_entries(be, path_prefix)
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_plain_http_backend(env, front, ssl_backend):
    r = _get(env, front, "/plain/whoami.txt")
    assert r.status == 200 and r.body == b"localhost plain\n", r


def test_mod_ssl_backend_sees_sni_and_tls13(env, front, ssl_backend):
    r = _get(env, front, "/ssl/whoami.txt")
    assert r.status == 200 and r.body == b"localhost ssl\n", r
    e = _wait_be(ssl_backend, "/ssl/", 1)[-1]
    # the backend's variables: SNI is the backend's host name, TLS 1.3 (TLSProxyProtocol)
    assert (e["sni"], e["protocol"], e["http"]) == ("localhost", "TLSv1.3", "HTTP/1.1"), e


def test_backend_by_ip_address(env, front, ssl_backend):
    """An IP address is checked against the certificate's iPAddress names; no SNI is sent."""
    r = _get(env, front, "/byip/whoami.txt")
    assert r.status == 200 and r.body == b"localhost byip\n", r
    e = _wait_be(ssl_backend, "/byip/", 1)[-1]
    assert e["sni"] in ("-", ""), e


def test_mod_tls_backend(env, front, tls_backend):
    r = _get(env, front, "/tls/whoami.txt")
    assert r.status == 200 and r.body == b"localhost tls\n", r
    e = _wait_be(tls_backend, "/tls/", 1)[-1]
    assert (e["sni"], e["protocol"]) == ("localhost", "TLSv1.3"), e


def test_h2_to_the_backend(env, front, ssl_backend):
    for i in range(3):
        r = _get(env, front, "/h2/whoami.txt")
        assert r.status == 200 and r.body == b"localhost h2\n", r
    entries = _wait_be(ssl_backend, "/h2/", 3)
    assert len(entries) >= 3 and all(e["http"] == "HTTP/2.0" for e in entries), entries
    assert "ALPN h2" in front.error_log(), "no TLS0504 line with ALPN h2"


def test_mixed_mod_tls_and_mod_ssl(env, front, ssl_backend):
    """In one server: mod_tls proxies where TLSProxyEngine is on (TLS 1.3 here), mod_ssl in a
    <Proxy> section with SSLProxyEngine on and in a vhost with SSLProxyEngine (TLS 1.2)."""
    mark = front.log_mark()
    for path, host in (("/via-ssl/whoami.txt", "a.test"), ("/ssl/whoami.txt", "wild.test"),
                       ("/via-tls/whoami.txt", "a.test")):
        r = _get(env, front, path, host)
        assert r.status == 200, (path, host, r)
    assert _wait_be(ssl_backend, "/via-ssl/", 1)[-1]["protocol"] == "TLSv1.2"
    assert _wait_be(ssl_backend, "/via-vhost/", 1)[-1]["protocol"] == "TLSv1.2"
    assert _wait_be(ssl_backend, "/via-tls/", 1)[-1]["protocol"] == "TLSv1.3"
    log = front.log_since(mark)
    # mod_tls made exactly the /via-tls/ connection (the others were mod_ssl's)
    done = [l for l in log.splitlines() if "TLS0504" in l and str(ssl_backend.port("ssl")) in l]
    assert len(done) == 1, log


def test_mod_ssl_front_mod_tls_backends(env, front, ssl_backend):
    """Clients on mod_ssl, backends through mod_tls: mod_ssl must leave the backend
    connections alone although their vhost has SSLEngine on."""
    mark = front.log_mark()
    r = clients.curl(front.port("sslfront"), "/ssl/whoami.txt", "localhost", ca=env.ca)
    assert r.status == 200 and r.body == b"localhost via-tls\n", r
    assert _wait_be(ssl_backend, "/via-tls/", 1)[-1]["protocol"] == "TLSv1.3"
    assert "TLS0504" in front.log_since(mark)


@pytest.mark.allow_errors(*PROXY_ERRORS)
def test_wrong_name_is_refused(env, front, ssl_backend):
    mark = front.log_mark()
    r = _get(env, front, "/wrong/whoami.txt")
    assert r.status == 502, r
    log = front.log_since(mark)
    lines = [l for l in log.splitlines() if "TLS0501" in l]
    assert len(lines) == 1, log
    assert "localhost:%d" % ssl_backend.port("wrong") in lines[0], lines
    assert "backend certificate is not valid for name localhost" in lines[0], lines


@pytest.mark.allow_errors(*PROXY_ERRORS)
def test_untrusted_backend_is_refused(env, front, ssl_backend):
    mark = front.log_mark()
    r = _get(env, front, "/untrusted/whoami.txt")
    assert r.status == 502, r
    lines = [l for l in front.log_since(mark).splitlines() if "TLS0501" in l]
    assert len(lines) == 1, lines
    assert "localhost:%d" % ssl_backend.port("untrusted") in lines[0], lines
    assert "not trusted (unknown issuer)" in lines[0], lines


@pytest.mark.allow_errors(*PROXY_ERRORS)
def test_no_ca_warns_and_refuses(env, front, ssl_backend):
    log = front.error_log()
    assert re.search(r"\[tls:warn\].*TLS0502: virtual host b\.test.*TLSProxyEngine on without "
                     r"TLSProxyCA", log), log
    mark = front.log_mark()
    r = _get(env, front, "/noca/whoami.txt", "b.test")
    assert r.status == 502, r
    lines = [l for l in front.log_since(mark).splitlines() if "TLS0501" in l]
    assert len(lines) == 1 and "no trust anchors configured (TLSProxyCA)" in lines[0], lines


@pytest.mark.allow_errors(*PROXY_ERRORS)
def test_backend_requires_a_client_certificate(env, front, ssl_backend):
    mark = front.log_mark()
    r = _get(env, front, "/nocert/whoami.txt")
    assert r.status == 502, r
    lines = [l for l in front.log_since(mark).splitlines() if "TLS0501" in l]
    assert len(lines) == 1 and "localhost:%d" % ssl_backend.port("req") in lines[0], lines
    assert "backend sent fatal alert" in lines[0], lines
    # answered with TLSProxyMachineCertificate
    r = _get(env, front, "/withcert/whoami.txt")
    assert r.status == 200 and r.body == b"localhost m\n", r
    e = _wait_be(ssl_backend, "/m/", 1)[-1]
    assert e["cn"] == "alice", e


def test_session_resumption_to_backends(env, front, ssl_backend):
    """8 requests, each on a new backend connection (disablereuse=on): with the client session
    store one full handshake and 7 resumed; with TLSProxySessionCache off, 8 full ones."""
    counts = {}
    for which in ("on", "off", "on12"):
        for i in range(8):
            r = _get(env, front, "/resume-%s/whoami.txt" % which)
            assert r.status == 200 and r.body == ("localhost %s\n" % which).encode(), r
        entries = _wait_be(ssl_backend, "/%s/" % which, 8)
        assert len(entries) == 8, entries
        full = sum(1 for e in entries if e["resumed"] == "Initial")
        resumed = sum(1 for e in entries if e["resumed"] == "Resumed")
        counts[which] = (full, resumed)
        assert {e["protocol"] for e in entries} == {"TLSv1.2" if which == "on12" else "TLSv1.3"}
    print("\nbackend handshakes, 8 requests each: session cache on: %d full / %d resumed; "
          "TLSProxySessionCache off: %d full / %d resumed; TLS 1.2, cache on: %d full / "
          "%d resumed" % (counts["on"] + counts["off"] + counts["on12"]))
    assert counts == {"on": (1, 7), "off": (8, 0), "on12": (1, 7)}, counts


def _ws(env, front, path):
    return websockets.connect("wss://a.test:%d%s" % (front.port(), path),
                              ssl=clients.context(env.ca), host="127.0.0.1",
                              port=front.port(), server_hostname="a.test", max_size=None,
                              compression=None, open_timeout=10, close_timeout=10,
                              ping_interval=None)


@pytest.mark.parametrize("prefix", ["/wss/", "/wsh/"])
def test_websocket_to_a_wss_backend(env, front, ssl_backend, prefix):
    """wss:// through mod_proxy_wstunnel, and https:// with upgrade=websocket through
    mod_proxy_http; the backend (mod_ssl) tunnels to the WebSocket server."""
    async def run():
        async with _ws(env, front, prefix + "echo") as ws:
            for size in (1, 1000, 70000):
                msg = os.urandom(size)
                await asyncio.wait_for(ws.send(msg), 5)
                back = await asyncio.wait_for(ws.recv(), 5)
                assert back == msg, size
        async with _ws(env, front, prefix + "push") as ws:
            start = time.monotonic()
            got = []
            while len(got) < 5:
                got.append(await asyncio.wait_for(ws.recv(), 3))
            return time.monotonic() - start
    elapsed = asyncio.run(run())
    # pushed every 100 ms by the backend: 5 arrive in well under 2 s when nothing is held back
    assert elapsed < 2.0, elapsed


def test_graceful_restart_rebuilds(env, front, ssl_backend):
    front.graceful()
    for path in ("/ssl/whoami.txt", "/withcert/whoami.txt", "/h2/whoami.txt"):
        r = _get(env, front, path)
        assert r.status == 200, (path, r)


# --- configuration ---------------------------------------------------------------------------

def _config(env, name, vhost_extra="", global_extra=""):
    h = env.httpd(name, modules=["proxy", "proxy_http"], global_extra=global_extra)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=vhost_extra)
    return h


@pytest.mark.parametrize("conf,message", [
    ("  <Location /x/>\n    TLSProxyEngine on\n  </Location>",
     "TLSProxyEngine cannot occur within <Location> section"),
    ('  <Directory "/tmp">\n    TLSProxyCA system\n  </Directory>',
     "TLSProxyCA cannot occur within <Directory> section"),
    ("  TLSProxyEngine maybe", "TLSProxyEngine: 'maybe' is neither 'on' nor 'off'"),
    ("  TLSProxyCA /nonexistent/ca.pem", "TLSProxyCA: cannot access CA file"),
    ("  TLSProxySessionCache lots", "TLSProxySessionCache: 'lots' is neither a number"),
    ("  TLSProxySessionCache -1", "TLSProxySessionCache: '-1' is neither a number"),
    ("  TLSProxyProtocol TLSv9", "TLSProxyProtocol:"),
    ("  TLSProxyCiphersPrefer NO_SUCH_SUITE", "TLSProxyCiphersPrefer:"),
    ("  TLSProxyMachineCertificate /nonexistent.pem", "TLSProxyMachineCertificate: cannot access"),
])
def test_config_errors(env, conf, message):
    h = _config(env, "proxy-conf-err", conf)
    r = h.configtest()
    assert not r.ok and message in r.output, r


def test_bad_machine_certificate_stops_startup(env):
    h = _config(env, "proxy-conf-badcert", "  TLSProxyEngine on\n  TLSProxyCA system\n"
                "  TLSProxyMachineCertificate %s\n" % env.certs.path("text.pem"))
    r = h.configtest()
    assert not r.ok and "TLS0507" in r.output and "TLSProxyMachineCertificate" in r.output, r


def test_system_ca_is_accepted(env):
    h = _config(env, "proxy-conf-system", "  TLSProxyEngine on\n  TLSProxyCA system\n"
                '  <Proxy "https://backend.example/">\n    TLSProxyProtocol TLSv1.3+\n'
                "    TLSProxySessionCache 16\n  </Proxy>\n")
    r = h.configtest()
    assert r.ok, r
