"""TLSProtocol, TLSCiphersSuppress, TLSCiphersPrefer and TLSHonorClientOrder, observed by
clients that restrict what they offer."""
import ssl

import pytest

from conftest import server_fixture
from harness import clients

T13_ALL = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
T12_ECDSA_ALL = ("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:"
                 "ECDHE-ECDSA-CHACHA20-POLY1305")

# port key -> vhost settings
PORTS = {
    "plain": {},
    "v13": {"protocol": "TLSv1.3+"},
    "v13short": {"protocol": "v1.3+"},
    "v12": {"protocol": "TLSv1.2+"},
    "default": {"protocol": "default"},
    "sup-iana": {"suppress": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    "sup-openssl": {"suppress": "ECDHE-ECDSA-AES128-GCM-SHA256"},
    "sup-hex": {"suppress": "TLS_CIPHER_0xc02b"},
    "sup-13": {"suppress": "TLS_AES_128_GCM_SHA256"},
    "sup-13-openssl": {"suppress": "TLS13_CHACHA20_POLY1305_SHA256"},
    "sup-list": {"suppress": "ECDHE-ECDSA-AES256-GCM-SHA384,TLS_CIPHER_0x1302 "
                             "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    "prefer-off": {"prefer": "ECDHE-ECDSA-CHACHA20-POLY1305:TLS_CHACHA20_POLY1305_SHA256",
                   "honor_order": False},
    "prefer-only": {"prefer": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,"
                              "TLS13_CHACHA20_POLY1305_SHA256"},
    "honor-on": {"honor_order": True},
    "honor-off": {"honor_order": False},
}


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("ciphers")
    leaf = env.certs.leaf("a.test", "ecdsa").pair
    docroot = h.root + "/htdocs/a.test"
    for key, settings in PORTS.items():
        h.listen(key)
        h.vhost("a.test", port=key, certs=[leaf], docroot=docroot, **settings)
    # one port, two name-based vhosts with different protocol floors
    h.listen("sni")
    h.vhost("a.test", port="sni", certs=[leaf], protocol="TLSv1.3+", docroot=docroot)
    h.vhost("b.test", port="sni", certs=[env.certs.leaf("b.test").pair])
    h.start()
    yield from server_fixture(h)


def _ok(r, cipher=None):
    assert r.established, r
    assert r.status == 200 and r.body == "a.test\n", r
    if cipher:
        assert r.cipher == cipher, r


@pytest.mark.parametrize("port", ["v13", "v13short"])
def test_tls13_only_refuses_tls12_client(env, server, port):
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls="1.2")
    assert not r.established and r.status is None, r
    r = clients.curl(server.port(port), "/whoami.txt", "a.test", ca=env.ca, tls="1.2")
    assert r.rc != 0 and not r.status, r
    with pytest.raises((ssl.SSLError, ConnectionError)):
        clients.tls_connect(server.port(port), "a.test", clients.context(env.ca, tls="1.2"))
    # and serves TLS 1.3
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls="1.3")
    _ok(r)
    assert r.protocol == "TLSv1.3"


@pytest.mark.parametrize("port", ["v12", "default", "plain"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tls12_floor_serves_both(env, server, port, version):
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls=version)
    _ok(r)
    assert r.protocol == "TLSv" + version, r


@pytest.mark.tls_only   # mod_ssl applies the address' default vhost's protocols
def test_protocol_per_name_based_vhost(env, server):
    """a.test (TLSv1.3+) and b.test (default) share a port: the SNI decides the floor."""
    r = clients.s_client(server.port("sni"), "b.test", ca=env.ca, tls="1.2")
    assert r.established and r.protocol == "TLSv1.2" and r.peer_cn == "b.test", r
    assert r.body == "b.test\n", r
    r = clients.s_client(server.port("sni"), "a.test", ca=env.ca, tls="1.2")
    assert not r.established and r.status is None, r
    r = clients.s_client(server.port("sni"), "a.test", ca=env.ca, tls="1.3")
    _ok(r)


# port -> (suppressed suite, TLS version, an offer that includes it first)
SUPPRESSED = {
    "sup-iana": ("ECDHE-ECDSA-AES128-GCM-SHA256", "1.2"),
    "sup-openssl": ("ECDHE-ECDSA-AES128-GCM-SHA256", "1.2"),
    "sup-hex": ("ECDHE-ECDSA-AES128-GCM-SHA256", "1.2"),
    "sup-13": ("TLS_AES_128_GCM_SHA256", "1.3"),
    "sup-13-openssl": ("TLS_CHACHA20_POLY1305_SHA256", "1.3"),
    "sup-list": ("ECDHE-ECDSA-AES256-GCM-SHA384", "1.2"),
}


def _offer(version, suites):
    return {"cipher": suites} if version == "1.2" else {"ciphersuites": suites}


@pytest.mark.parametrize("port", list(SUPPRESSED))
def test_suppressed_suite_is_not_used(env, server, port):
    name, version = SUPPRESSED[port]
    # a client that offers only the suppressed suite cannot connect
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls=version,
                         **_offer(version, name))
    assert not r.established and r.status is None, r
    # the same suite is fine on the port without the directive (control)
    r = clients.s_client(server.port("plain"), "a.test", ca=env.ca, tls=version,
                         **_offer(version, name))
    _ok(r, name)
    # offering it first among others, the client gets another one
    all_suites = T12_ECDSA_ALL if version == "1.2" else T13_ALL
    offer = ":".join([name] + [s for s in all_suites.split(":") if s != name])
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls=version,
                         **_offer(version, offer))
    _ok(r)
    assert r.cipher != name, r


def test_suppress_list_separators(env, server):
    """'ECDHE-ECDSA-AES256-GCM-SHA384,TLS_CIPHER_0x1302 TLS_ECDHE_..._CHACHA20...':
    all three are gone."""
    for version, name in (("1.2", "ECDHE-ECDSA-AES256-GCM-SHA384"),
                          ("1.3", "TLS_AES_256_GCM_SHA384"),
                          ("1.2", "ECDHE-ECDSA-CHACHA20-POLY1305")):
        r = clients.s_client(server.port("sup-list"), "a.test", ca=env.ca, tls=version,
                             **_offer(version, name))
        assert not r.established, (name, r)
    r = clients.s_client(server.port("sup-list"), "a.test", ca=env.ca, tls="1.2",
                         cipher="ECDHE-ECDSA-AES128-GCM-SHA256")
    _ok(r, "ECDHE-ECDSA-AES128-GCM-SHA256")


@pytest.mark.parametrize("port", ["prefer-off", "prefer-only"])
@pytest.mark.parametrize("version,offer,expected", [
    ("1.3", T13_ALL, "TLS_CHACHA20_POLY1305_SHA256"),
    ("1.2", T12_ECDSA_ALL, "ECDHE-ECDSA-CHACHA20-POLY1305"),
])
def test_server_preference_wins(env, server, port, version, offer, expected):
    """The client lists CHACHA20 last; the server prefers it and gets it."""
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls=version,
                         **_offer(version, offer))
    _ok(r, expected)


@pytest.mark.parametrize("port", ["honor-on", "plain"])
@pytest.mark.parametrize("version,offer,expected", [
    ("1.3", T13_ALL, "TLS_AES_256_GCM_SHA384"),
    ("1.3", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
     "TLS_CHACHA20_POLY1305_SHA256"),
    ("1.2", T12_ECDSA_ALL, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    ("1.2", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
     "ECDHE-ECDSA-CHACHA20-POLY1305"),
])
def test_client_order_honored_by_default(env, server, port, version, offer, expected):
    r = clients.s_client(server.port(port), "a.test", ca=env.ca, tls=version,
                         **_offer(version, offer))
    _ok(r, expected)


@pytest.mark.parametrize("version,offer,expected", [
    ("1.3", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256"),
    ("1.2", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
     "ECDHE-ECDSA-AES128-GCM-SHA256"),
])
def test_honor_client_order_off_uses_server_order(env, server, version, offer, expected):
    """Without a preference, 'off' picks by rustls' order (AES-256, AES-128, CHACHA20)."""
    r = clients.s_client(server.port("honor-off"), "a.test", ca=env.ca, tls=version,
                         **_offer(version, offer))
    _ok(r, expected)


# ------------------------------------------------ server-config settings and vhost merging
@pytest.fixture(scope="module")
def inherit(env):
    """Protocol floor, suppressed suite and server order set in the server config; one vhost
    inherits all, one overrides the floor and the order (and still inherits the
    suppression)."""
    if env.backend_name == "tls":
        glob = ("TLSProtocol TLSv1.3+\nTLSCiphersSuppress TLS_CHACHA20_POLY1305_SHA256\n"
                "TLSHonorClientOrder off")
    else:
        glob = ("SSLProtocol -all +TLSv1.3\n"
                "SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256\n"
                "SSLHonorCipherOrder on")
    h = env.httpd("ciphers-inherit", global_extra=glob)
    h.listen("inherits")
    h.listen("overrides")
    h.vhost("a.test", port="inherits", certs=[env.certs.leaf("a.test").pair])
    h.vhost("b.test", port="overrides", certs=[env.certs.leaf("b.test").pair],
            protocol="TLSv1.2+", tls_extra="TLSHonorClientOrder on",
            ssl_extra="SSLHonorCipherOrder off")
    h.start()
    yield from server_fixture(h)


CHACHA13 = "TLS_CHACHA20_POLY1305_SHA256"
AES128_FIRST = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"


def test_vhost_inherits_server_settings(env, inherit):
    port = inherit.port("inherits")
    r = clients.s_client(port, "a.test", ca=env.ca, tls="1.2")
    assert not r.established, r
    r = clients.s_client(port, "a.test", ca=env.ca, tls="1.3", ciphersuites=CHACHA13)
    assert not r.established, r
    r = clients.s_client(port, "a.test", ca=env.ca, tls="1.3", ciphersuites=AES128_FIRST)
    _ok(r, "TLS_AES_256_GCM_SHA384")    # server order


def test_vhost_overrides_server_settings(env, inherit):
    port = inherit.port("overrides")
    r = clients.s_client(port, "b.test", ca=env.ca, tls="1.2")
    assert r.established and r.protocol == "TLSv1.2" and r.body == "b.test\n", r
    r = clients.s_client(port, "b.test", ca=env.ca, tls="1.3", ciphersuites=CHACHA13)
    assert not r.established, r         # the suppression is still inherited
    r = clients.s_client(port, "b.test", ca=env.ca, tls="1.3", ciphersuites=AES128_FIRST)
    assert r.established and r.cipher == "TLS_AES_128_GCM_SHA256", r   # client order
    assert r.body == "b.test\n", r
