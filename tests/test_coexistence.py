"""mod_ssl and mod_tls in one server: mod_ssl on one port (SSLEngine on), mod_tls on another
(TLSEngine), each with its own certificate, both used in the same run."""
import threading
import time

import pytest

from conftest import server_fixture
from harness import clients

pytestmark = pytest.mark.tls_only


# SSL_PROTOCOL read every way httpd offers, in each module's vhost: both modules answer
# httpd's ssl_var_lookup and expr hooks, and each must answer for its own connections only.
VARS_CONF = 'LogFormat "%v %{SSL_PROTOCOL}x %{SSL_CIPHER}x" coexist\n' \
            'CustomLog "@ROOT@/logs/coexist_log" coexist'
VHOST_VARS = "\n".join([
    '  Header always set X-S "%{SSL_PROTOCOL}s"',
    '  Header always set X-Expr "expr=%{SSL_PROTOCOL}"',
    '  RewriteEngine on',
    '  RewriteRule ^/whoami.txt$ - [E=RW:%{SSL:SSL_PROTOCOL}]',
    '  Header always set X-RW "%{RW}e"',
    '  <Location /needs-tls13/>',
    '    Require expr "%{SSL_PROTOCOL} == \'TLSv1.3\'"',
    '  </Location>',
])


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("coexist", modules=["ssl", "socache_shmcb", "headers", "rewrite"],
                  global_extra='SSLSessionCache "shmcb:@ROOT@/run/ssl_scache(512000)"\n'
                               + VARS_CONF)
    h.listen("tls")
    h.listen("ssl", tls=None)   # not a mod_tls port; mod_ssl serves it
    h.vhost("a.test", port="tls", certs=[env.certs.leaf("a.test").pair], extra=VHOST_VARS)
    b = env.certs.leaf("b.test", "rsa")
    h.vhost("b.test", port="ssl",
            extra="  SSLEngine on\n  SSLCertificateFile %s\n  SSLCertificateKeyFile %s\n%s"
                  % (b.pair + (VHOST_VARS,)))
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_each_port_its_certificate(env, server, version):
    r = clients.curl(server.port("tls"), "/whoami.txt", "a.test", ca=env.ca, tls=version)
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    assert (r.peer_cn, r.peer_ou) == ("a.test", "ecdsa"), r
    r = clients.curl(server.port("ssl"), "/whoami.txt", "b.test", ca=env.ca, tls=version)
    assert r.rc == 0 and r.status == 200 and r.body == b"b.test\n", r
    assert (r.peer_cn, r.peer_ou) == ("b.test", "rsa"), r


def test_engines_are_told_apart(env, server):
    """An unknown SNI: mod_tls (strict by default) refuses it, mod_ssl serves its default."""
    r = clients.s_client(server.port("tls"), "unknown.test", ca=env.ca)
    assert not r.established and "unrecognized name" in r.stderr, r
    r = clients.s_client(server.port("ssl"), "unknown.test", ca=env.ca)
    assert r.established and r.peer_cn == "b.test", r


def test_both_in_parallel(env, server):
    failures = []

    def worker(port, host, n=15):
        c = clients.HTTPSConnection(host, port, clients.context(env.ca))
        try:
            for i in range(n):
                path = "/data/100k.bin" if i % 3 == 0 else "/whoami.txt"
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                want = env.data["100k.bin"] if i % 3 == 0 else (host + "\n").encode()
                if r.status != 200 or body != want:
                    failures.append((host, i, r.status, len(body)))
            if c.connects != 1:
                failures.append((host, "reconnected", c.connects))
        except Exception as e:  # noqa: BLE001 - every failure counts
            failures.append((host, repr(e)))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(server.port(k), h))
               for k, h in (("tls", "a.test"), ("ssl", "b.test")) * 5]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures


def test_port_claimed_by_both_stays_with_mod_ssl(env):
    """One port given to both (TLSEngine, and SSLEngine on in its vhost): a configuration
    mistake. mod_ssl keeps the connections, they work, and mod_tls says so once."""
    h = env.httpd("coexist-both", modules=["ssl", "socache_shmcb"],
                  global_extra='SSLSessionCache "shmcb:@ROOT@/run/ssl_scache(512000)"')
    h.listen("https")
    b = env.certs.leaf("b.test", "rsa")
    h.vhost("b.test", certs=[env.certs.leaf("a.test").pair],
            extra="  SSLEngine on\n  SSLCertificateFile %s\n  SSLCertificateKeyFile %s" % b.pair)
    h.start()
    try:
        for _ in range(10):
            r = clients.curl(h.port(), "/whoami.txt", "b.test", ca=env.ca)
            assert r.rc == 0 and r.status == 200 and r.peer_cn == "b.test", r
        warnings = [l for l in h.error_log().splitlines() if "TLS0207" in l]
        assert warnings and all("[tls:warn]" in l for l in warnings), h.error_log()
        assert len(warnings) <= 4, "logged per connection, not once per process"
    finally:
        h.stop()


@pytest.mark.allow_errors(r"AH01630: client denied by server configuration: .*needs-tls13")
@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("port,host", [("tls", "a.test"), ("ssl", "b.test")])
def test_variables_of_each_module(env, server, port, host, version):
    """With mod_ssl loaded (Debian enables it often), SSL_PROTOCOL reads the same through
    mod_headers, ap_expr, mod_rewrite, Require expr and LogFormat %x on both modules' ports."""
    want = "TLSv" + version
    r = clients.curl(server.port(port), "/whoami.txt", host, ca=env.ca, tls=version)
    assert r.status == 200, r
    got = {k: r.headers.get(k) for k in ("x-s", "x-expr", "x-rw")}
    assert got == {"x-s": want, "x-expr": want, "x-rw": want}, (port, got)
    r = clients.curl(server.port(port), "/needs-tls13/", host, ca=env.ca, tls=version)
    assert r.status == (404 if version == "1.3" else 403), (port, version, r.status)
    line = "%s %s " % (host, want)
    deadline = time.monotonic() + 10
    while line not in server.read_file("logs/coexist_log") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert line in server.read_file("logs/coexist_log")
