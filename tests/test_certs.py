"""Certificates: ECDSA vs RSA by what the client offers, key formats and types, a key inside the
certificate file, chain files, expired and not-yet-valid certificates."""
import re

import pytest

from conftest import running, server_fixture
from harness import clients

RSA_ONLY_SIGALGS = "rsa_pss_rsae_sha256:rsa_pkcs1_sha256"


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("certs")
    h.listen("ecdsa-first")
    h.listen("rsa-first")
    a_ec = env.certs.leaf("a.test", "ecdsa").pair
    a_rsa = env.certs.leaf("a.test", "rsa").pair
    h.vhost("a.test", port="ecdsa-first", certs=[a_ec, a_rsa])
    h.vhost("a.test", port="rsa-first", certs=[a_rsa, a_ec],
            docroot=h.root + "/htdocs/a.test")
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version,offer,kind", [
    ("1.3", {}, "ecdsa"),
    ("1.3", {"sigalgs": RSA_ONLY_SIGALGS}, "rsa"),
    ("1.3", {"sigalgs": "ecdsa_secp256r1_sha256"}, "ecdsa"),
    ("1.2", {}, "ecdsa"),
    ("1.2", {"cipher": "ECDHE-RSA-AES128-GCM-SHA256"}, "rsa"),
    ("1.2", {"cipher": "ECDHE-RSA-CHACHA20-POLY1305"}, "rsa"),
    ("1.2", {"cipher": "ECDHE-ECDSA-AES128-GCM-SHA256"}, "ecdsa"),
], ids=["13-default", "13-rsa-sigalgs", "13-ecdsa-sigalgs", "12-default", "12-rsa-aes",
        "12-rsa-chacha", "12-ecdsa-aes"])
def test_ecdsa_or_rsa_by_client_offer(env, server, version, offer, kind):
    r = clients.s_client(server.port("ecdsa-first"), "a.test", ca=env.ca, tls=version, **offer)
    assert r.established, r
    assert r.peer_cn == "a.test" and r.peer_ou == kind, r
    assert r.verification == "OK", r
    assert r.status == 200 and r.body == "a.test\n", r


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_rsa_cert_for_curl_with_rsa_suite(env, server, version):
    if version == "1.2":
        r = clients.curl(server.port("ecdsa-first"), "/whoami.txt", "a.test", ca=env.ca,
                         tls="1.2", ciphers="ECDHE-RSA-AES256-GCM-SHA384")
        assert r.cipher == "ECDHE-RSA-AES256-GCM-SHA384", r
        assert r.peer_ou == "rsa", r
    else:
        r = clients.curl(server.port("ecdsa-first"), "/whoami.txt", "a.test", ca=env.ca,
                         tls="1.3")
        assert r.peer_ou == "ecdsa", r
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r


@pytest.mark.tls_only
@pytest.mark.parametrize("version,offer,kind", [
    ("1.3", {}, "rsa"),
    ("1.2", {}, "rsa"),
    ("1.3", {"sigalgs": "ecdsa_secp256r1_sha256"}, "ecdsa"),
    ("1.2", {"cipher": "ECDHE-ECDSA-AES256-GCM-SHA384"}, "ecdsa"),
], ids=["13-default", "12-default", "13-ecdsa-sigalgs", "12-ecdsa-cipher"])
def test_first_usable_certificate_wins(env, server, version, offer, kind):
    """RSA listed first: a client that can take RSA gets RSA; one that cannot gets ECDSA."""
    r = clients.s_client(server.port("rsa-first"), "a.test", ca=env.ca, tls=version, **offer)
    assert r.established, r
    assert r.peer_ou == kind, r
    assert r.status == 200 and r.body == "a.test\n", r


# name -> (cert file, key file or None, OU expected, TLS versions to try)
KEY_CASES = {
    "pkcs8-ecdsa": ("a.test-ecdsa.pem", "a.test-ecdsa.key", "ecdsa", ("1.2", "1.3")),
    "pkcs8-rsa": ("a.test-rsa.pem", "a.test-rsa.key", "rsa", ("1.2", "1.3")),
    "pkcs1-rsa": ("a.test-rsa.pem", "a.test-rsa.pkcs1.key", "rsa", ("1.2", "1.3")),
    "sec1-ecdsa": ("a.test-ecdsa.pem", "a.test-ecdsa.sec1.key", "ecdsa", ("1.2", "1.3")),
    "key-in-cert-ecdsa": ("a.test-ecdsa.withkey.pem", None, "ecdsa", ("1.2", "1.3")),
    "key-in-cert-rsa-pkcs1": ("a.test-rsa.withkey.pem", None, "rsa", ("1.2", "1.3")),
    "ecdsa-p384": ("a.test-p384.pem", "a.test-p384.key", "p384", ("1.2", "1.3")),
    "ed25519": ("a.test-ed25519.pem", "a.test-ed25519.key", "ed25519", ("1.3",)),
}


@pytest.mark.parametrize("case", list(KEY_CASES))
def test_key_formats(env, case):
    cert, key, kind, versions = KEY_CASES[case]
    # check the files are what the case claims
    with open(env.certs.path(key or cert), "rb") as f:
        pem = f.read()
    marker = {"pkcs1-rsa": b"BEGIN RSA PRIVATE KEY", "sec1-ecdsa": b"BEGIN EC PRIVATE KEY",
              "key-in-cert-rsa-pkcs1": b"BEGIN RSA PRIVATE KEY"}.get(case, b"PRIVATE KEY")
    assert marker in pem
    h = env.httpd("key-" + case)
    h.listen("https")
    h.vhost("a.test", certs=[(env.certs.path(cert), env.certs.path(key) if key else None)])
    with running(h):
        for version in versions:
            r = clients.curl(h.port(), "/whoami.txt", "a.test", ca=env.ca, tls=version)
            assert r.rc == 0 and r.status == 200 and r.verify_result == 0, r
            assert r.body == b"a.test\n", r
            assert r.peer_ou == kind, r
            assert r.protocol == "TLSv" + version, r


@pytest.fixture(scope="module")
def chain_server(env):
    h = env.httpd("chain")
    h.listen("chain")
    h.listen("leafonly")
    leaf = env.certs.leaves["chain.test-ecdsa"]
    h.vhost("chain.test", port="chain", certs=[leaf.pair])
    h.vhost("chain.test", port="leafonly",
            certs=[(env.certs.path("chain.test-ecdsa.leafonly.pem"), leaf.key)],
            docroot=h.root + "/htdocs/chain.test")
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_chain_file_verifies_with_root_only(env, chain_server, version):
    """The client trusts only the root CA; the server sends leaf + intermediate."""
    r = clients.curl(chain_server.port("chain"), "/whoami.txt", "chain.test", ca=env.ca,
                     tls=version)
    assert r.rc == 0 and r.status == 200 and r.verify_result == 0, r
    assert r.body == b"chain.test\n"
    s = clients.s_client(chain_server.port("chain"), "chain.test", ca=env.ca, tls=version,
                         args=["-showcerts"])
    assert s.verification == "OK", s
    st, _, body = clients.get(chain_server.port("chain"), "/whoami.txt", "chain.test",
                              ca=env.ca)
    assert (st, body) == (200, b"chain.test\n")


def test_leaf_without_intermediate_does_not_verify(env, chain_server):
    """Negative control for the chain test: without the intermediate, a client that trusts
    only the root cannot verify."""
    r = clients.curl(chain_server.port("leafonly"), "/whoami.txt", "chain.test", ca=env.ca)
    assert r.rc == 60, r
    assert r.status in (None, 0), r


@pytest.fixture(scope="module", params=["expired.test", "notyet.test"])
def dated(env, request):
    """A server whose only certificate has expired / is not yet valid."""
    subject = request.param
    # mod_tls logs an expired certificate at error (TLS0107), and starts
    h = env.httpd("cert-" + subject, allowed_errors=[r"TLS0107: .*expired\.test"])
    h.listen("https")
    h.vhost(subject, certs=[env.certs.leaves["%s-ecdsa" % subject].pair])
    h.subject = subject
    h.start()
    yield from server_fixture(h)


def test_out_of_date_certificate_is_served(env, dated):
    subject = dated.subject
    r = clients.s_client(dated.port(), subject, tls="1.3")
    assert r.established and r.peer_cn == subject, r
    assert r.status == 200 and r.body == subject + "\n", r
    # a verifying client refuses it
    r = clients.curl(dated.port(), "/whoami.txt", subject, ca=env.ca)
    assert r.rc == 60, r
    assert "certificate" in r.stderr and ("expired" in r.stderr or "not yet valid" in r.stderr)


@pytest.mark.tls_only   # mod_ssl does not warn about this
def test_out_of_date_certificate_warns(env, dated):
    """An expired certificate is an error line (the server starts), one not valid yet a
    warning (tests/test_logs.py checks the expiry messages in detail)."""
    subject = dated.subject
    level = "error" if subject == "expired.test" else "warn"
    warn = [l for l in dated.error_log().splitlines()
            if re.search(r"\[tls:%s\]" % level, l)
            and (subject in l or "%s-ecdsa.pem" % subject in l)]
    assert warn, "no [tls:%s] line naming %s in:\n%s" % (level, subject, dated.error_log())


def test_relative_paths_are_relative_to_server_root(env):
    h = env.httpd("cert-relative")
    leaf = env.certs.leaf("a.test", "rsa")
    h.write_file("conf/tls/site.pem", open(leaf.cert, "rb").read())
    h.write_file("conf/tls/site.key", open(leaf.key, "rb").read(), mode=0o600)
    h.listen("https")
    h.vhost("a.test", certs=[("conf/tls/site.pem", "conf/tls/site.key")])
    with running(h):
        r = clients.curl(h.port(), "/whoami.txt", "a.test", ca=env.ca)
        assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
        assert r.peer_ou == "rsa", r
