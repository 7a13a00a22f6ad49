"""SNI selects the virtual host (ServerName, ServerAlias, wildcard alias) and its certificate;
unknown names under TLSStrictSNI on/off; clients without SNI (403 where several vhosts share
the address); the Host header against the SNI (421, or served when TLS settings are equal)."""
import http.client
import ssl

import pytest

from conftest import server_fixture
from harness import clients


def _setup(env, h):
    h.listen("https")
    # the first vhost of the address is the default one
    h.vhost("a.test", aliases=["alt.a.test"], certs=[env.certs.leaf("a.test").pair])
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair])
    h.vhost("wild.test", aliases=["*.wild.test"], certs=[env.certs.leaf("wild.test").pair])
    # the same certificate files (and protocols, suites) as a.test: requests for it may come
    # over a connection made for a.test
    h.vhost("twin.test", certs=[env.certs.leaf("a.test").pair])
    # another address (port) with a single vhost
    h.listen("other")
    h.vhost("localhost", port="other", certs=[env.certs.leaf("localhost").pair])


@pytest.fixture(scope="module")
def strict(env):
    """TLSStrictSNI left at its default (on)."""
    h = env.httpd("sni-strict", log_level="info")
    _setup(env, h)
    h.start()
    yield from server_fixture(h)


@pytest.fixture(scope="module")
def relaxed(env):
    h = env.httpd("sni-relaxed", strict_sni=False)
    _setup(env, h)
    h.start()
    yield from server_fixture(h)


# (SNI sent, CN of the certificate expected, vhost whose page is expected)
NAMES = [
    ("a.test", "a.test", "a.test"),
    ("alt.a.test", "a.test", "a.test"),
    ("b.test", "b.test", "b.test"),
    ("wild.test", "wild.test", "wild.test"),
    ("www.wild.test", "wild.test", "wild.test"),
    ("other.wild.test", "wild.test", "wild.test"),
]


@pytest.mark.parametrize("sni,cn,vhost", NAMES)
def test_sni_curl(env, strict, sni, cn, vhost):
    r = clients.curl(strict.port(), "/whoami.txt", sni, ca=env.ca)
    assert r.rc == 0 and r.status == 200, r
    assert r.verify_result == 0, r    # curl checked the name against the certificate
    assert r.peer_cn == cn, r
    assert r.body == (vhost + "\n").encode(), r


@pytest.mark.parametrize("sni,cn,vhost", NAMES)
def test_sni_python(env, strict, sni, cn, vhost):
    c = clients.HTTPSConnection(sni, strict.port(), clients.context(env.ca))
    try:
        c.request("GET", "/whoami.txt")
        r = c.getresponse()
        body = r.read()
        assert clients.peer_name(c.sock)[0] == cn
        assert r.status == 200
        assert body == (vhost + "\n").encode()
        # and the next request on the same connection as well
        c.request("GET", "/index.html")
        r = c.getresponse()
        assert r.status == 200 and ("<h1>%s</h1>" % vhost).encode() in r.read()
        assert c.connects == 1
    finally:
        c.close()


@pytest.mark.parametrize("sni,cn,vhost", [NAMES[0], NAMES[2], NAMES[4]])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_sni_s_client(env, strict, sni, cn, vhost, version):
    r = clients.s_client(strict.port(), sni, ca=env.ca, tls=version)
    assert r.established, r
    assert r.peer_cn == cn, r
    assert r.verification == "OK", r
    assert r.status == 200 and r.body == vhost + "\n", r


def test_vhosts_of_access_log(env, strict):
    """The server side agrees: the access log names the vhost that served each request."""
    for sni in ("b.test", "x.wild.test", "a.test"):
        st, _, body = clients.get(strict.port(), "/whoami.txt?from=" + sni, sni, ca=env.ca)
        assert st == 200
    entries = strict.wait_access(lambda e: "from=" in e["request"], 3)
    served = {e["request"].split("from=")[1].split()[0]: e["vhost"] for e in entries}
    assert served == {"b.test": "b.test", "x.wild.test": "wild.test", "a.test": "a.test"}


# mod_ssl logs this client mistake at level error; mod_tls must not (a client error is no
# server error), so only mod_ssl's message is allowed.
@pytest.mark.allow_errors(r"\[ssl:error\].*AH02032")
def test_host_header_for_other_vhost_is_misdirected(env, strict):
    """SNI says a.test, the Host header b.test, whose certificate differs: 421."""
    st, _, body = clients.get(strict.port(), "/whoami.txt", "a.test", ca=env.ca,
                              headers={"Host": "b.test"})
    assert st == 421
    assert body != b"b.test\n"


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_host_header_for_vhost_with_same_tls_settings_is_served(env, strict, version):
    """SNI a.test, Host twin.test: twin.test uses the same certificate files, protocols and
    suites, so the request is served by twin.test, on the same connection as a.test's."""
    c = clients.HTTPSConnection("a.test", strict.port(), clients.context(env.ca, tls=version))
    try:
        for host in ("twin.test", "a.test", "twin.test"):
            c.request("GET", "/whoami.txt", headers={"Host": host})
            resp = c.getresponse()
            assert (resp.status, resp.read()) == (200, (host + "\n").encode()), host
        assert clients.peer_name(c.sock)[0] == "a.test"
        assert c.connects == 1
    finally:
        c.close()
    r = clients.curl(strict.port(), "/whoami.txt", "a.test", ca=env.ca, tls=version,
                     headers=["Host: twin.test"])
    assert r.rc == 0 and r.status == 200 and r.body == b"twin.test\n", r


@pytest.mark.tls_only
def test_strict_unknown_sni_s_client(env, strict):
    r = clients.s_client(strict.port(), "unknown.test", ca=env.ca)
    assert not r.established, r
    assert r.status is None, r
    assert "unrecognized name" in r.stderr, r


@pytest.mark.tls_only
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_strict_unknown_sni_python(env, strict, version):
    ctx = clients.context(env.ca, tls=version, verify=False)
    with pytest.raises(ssl.SSLError) as ei:
        s = clients.tls_connect(strict.port(), "unknown.test", ctx)
        s.close()
    assert "UNRECOGNIZED_NAME" in str(ei.value).upper(), ei.value


@pytest.mark.tls_only
def test_strict_unknown_sni_curl(env, strict):
    r = clients.curl(strict.port(), "/whoami.txt", "unknown.test", ca=env.ca)
    assert r.rc != 0 and r.status in (None, 0), r
    assert "unrecognized name" in r.stderr, r


def test_strict_unknown_sni_server_keeps_working(env, strict):
    # whatever happened to unknown names, known names still work afterwards
    clients.s_client(strict.port(), "unknown.test", ca=env.ca)
    st, _, body = clients.get(strict.port(), "/whoami.txt", "b.test", ca=env.ca)
    assert (st, body) == (200, b"b.test\n")


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_relaxed_unknown_sni_gets_first_vhost(env, relaxed, version):
    r = clients.s_client(relaxed.port(), "unknown.test", ca=env.ca, tls=version)
    assert r.established, r
    assert r.peer_cn == "a.test", r
    assert r.status == 200 and r.body == "a.test\n", r


def test_relaxed_unknown_sni_python(env, relaxed):
    ctx = clients.context(verify=False)
    c = clients.HTTPSConnection("unknown.test", relaxed.port(), ctx)
    try:
        c.request("GET", "/whoami.txt")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"a.test\n"
        assert clients.peer_name(c.sock)[0] == "a.test"
    finally:
        c.close()


def test_relaxed_known_sni_still_selects(env, relaxed):
    st, _, body = clients.get(relaxed.port(), "/whoami.txt", "b.test", ca=env.ca)
    assert (st, body) == (200, b"b.test\n")
    st, _, body = clients.get(relaxed.port(), "/whoami.txt", "y.wild.test", ca=env.ca)
    assert (st, body) == (200, b"wild.test\n")


# Without SNI on an address with several name-based vhosts: the handshake is made with the
# default vhost's certificate, then every request is refused with 403 (docs/directives.md,
# "Without SNI"). mod_ssl does the same with SSLStrictSNIVHostCheck on (which the ssl backend
# renders) and logs it at level error (AH02033); mod_tls must not log a client's choice as a
# server error.
@pytest.mark.allow_errors(r"\[ssl:error\].*AH02033")
@pytest.mark.parametrize("which", ["strict", "relaxed"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_no_sni_on_name_based_address_is_forbidden(env, request, which, version):
    h = request.getfixturevalue(which)
    r = clients.s_client(h.port(), None, ca=env.ca, tls=version, host="a.test")
    assert r.established, r
    assert r.peer_cn == "a.test", r           # the default vhost's certificate
    assert r.status == 403, r
    assert r.body != "a.test\n", r
    # Python sends no SNI for an IP address: every request, whatever its Host, path or method,
    # is refused. (The server may close the connection after a 403: then, as any HTTP client
    # does with an idempotent request, reconnect - without SNI again - and send it there.)
    c = clients.HTTPSConnection("127.0.0.1", h.port(), clients.context(verify=False, tls=version))
    try:
        for method, host, path in [("GET", "a.test", "/whoami.txt"),
                                   ("GET", "b.test", "/whoami.txt"),
                                   ("GET", "www.wild.test", "/index.html"),
                                   ("HEAD", "a.test", "/"),
                                   ("GET", "a.test", "/does-not-exist"),
                                   ("GET", "localhost", "/whoami.txt")]:
            for attempt in (1, 2):
                try:
                    c.request(method, path, headers={"Host": host})
                    peer = clients.peer_name(c.sock)[0]
                    resp = c.getresponse()
                    break
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                        ssl.SSLEOFError):
                    c.close()
                    if attempt == 2:
                        raise
            body = resp.read()
            assert resp.status == 403, (method, host, path, resp.status, body)
            assert (host + "\n").encode() != body, body
            assert peer == "a.test"
    finally:
        c.close()
    # clients with SNI on the same address are served as before
    st, _, body = clients.get(h.port(), "/whoami.txt", "b.test", ca=env.ca)
    assert (st, body) == (200, b"b.test\n")


@pytest.mark.parametrize("which", ["strict", "relaxed"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_no_sni_on_single_vhost_address_is_served(env, request, which, version):
    """The "other" port has a single vhost: clients without SNI get it."""
    h = request.getfixturevalue(which)
    r = clients.s_client(h.port("other"), None, ca=env.ca, tls=version, host="localhost")
    assert r.established, r
    assert r.peer_cn == "localhost", r
    assert r.status == 200 and r.body == "localhost\n", r
    ctx = clients.context(verify=False, tls=version)
    c = clients.HTTPSConnection("127.0.0.1", h.port("other"), ctx)
    try:
        for _ in range(2):
            c.request("GET", "/whoami.txt", headers={"Host": "localhost"})
            resp = c.getresponse()
            assert (resp.status, resp.read()) == (200, b"localhost\n")
        assert clients.peer_name(c.sock)[0] == "localhost"
        assert c.connects == 1
    finally:
        c.close()


@pytest.mark.tls_only
def test_strict_name_of_another_address_is_unknown(env, strict):
    """a.test is a vhost of the first port only: on the other port it is unknown."""
    r = clients.s_client(strict.port("other"), "a.test", ca=env.ca)
    assert not r.established and "unrecognized name" in r.stderr, r
    r = clients.s_client(strict.port("other"), "localhost", ca=env.ca)
    assert r.established and r.peer_cn == "localhost" and r.body == "localhost\n", r


def test_relaxed_name_of_another_address_gets_its_default(env, relaxed):
    r = clients.s_client(relaxed.port("other"), "a.test", ca=env.ca)
    assert r.established and r.peer_cn == "localhost", r
    assert r.status == 200 and r.body == "localhost\n", r
