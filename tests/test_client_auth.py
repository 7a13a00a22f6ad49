"""Client certificates (docs/directives.md: TLSClientCertificate, TLSClientCA, TLSClientCRL,
TLSVerifyDepth): who gets in where, with Python's ssl, curl and openssl s_client.

One server, a virtual host per setting (all with the certificate auth.test-ecdsa, which names
them all), and a test PKI of its own for clients (harness/certs.py): a client root CA and an
intermediate under it, an untrusted CA; alice and bob (valid, ECDSA and RSA), carol and dave
(issued by the intermediate, sent with it; dave is revoked by the intermediate's CRL),
expired, notyet, mallory (untrusted CA), revoked (in the root's CRL).

The refusals are all made in the handshake: with TLS 1.2 the client's handshake fails, with
TLS 1.3 the server's alert arrives after the client's Finished, so the request gets no
response. mod_ssl (--backend ssl) logs each refusal at level error (AH02039, AH02040) unless
LogLevel ssl:info: those lines are allowed. mod_tls logs them at info (TLS0201).
"""
import os
import re
import subprocess

import pytest
from cryptography.x509.oid import NameOID

from conftest import running, server_fixture
from harness import clients

# mod_ssl's refusals at level error; mod_tls's are at info and never match these
SSL_REFUSALS = r"\[ssl:error\].*(AH02039|AH02040)"
# mod_ssl: a Host that selects a vhost with other TLS settings than the SNI (AH02032)
SSL_MISDIRECTED = r"\[ssl:error\].*AH02032"

HEADERS = """  Header always set X-Verify "%{SSL_CLIENT_VERIFY}s"
  Header always set X-CN "%{SSL_CLIENT_S_DN_CN}s"
  Header always set X-DN "%{SSL_CLIENT_S_DN}s"
  Header always set X-Serial "%{SSL_CLIENT_M_SERIAL}s"
  Header always set X-Resumed "%{SSL_SESSION_RESUMED}s"
  Header always set X-Chain yes "expr=-n %{SSL_CLIENT_CHAIN_0}"
"""

# the clients (harness/certs.py: client-NAME.pem/.key); "none" sends no certificate,
# "carol-leafonly" carol's certificate without her intermediate
NO_CERT = "none"
CLIENTS = [NO_CERT, "alice", "bob", "carol", "carol-leafonly", "dave", "expired", "notyet",
           "mallory", "revoked"]


def client_files(env, name):
    """(cert, key, chain) of a client; chain: the intermediates file (for s_client)."""
    if name == NO_CERT:
        return None, None, None
    if name == "carol-leafonly":
        return env.certs.path("client-carol.leafonly.pem"), env.certs.client("carol").key, None
    c = env.certs.client(name)
    chain = env.certs.path("client-intermediate.pem") if c.chain else None
    return c.cert, c.key, chain


def ctx_for(env, name, version=None):
    cert, key, _ = client_files(env, name)
    return clients.context(env.ca, tls=version, cert=cert, key=key)


def cn_of(env, name):
    if name == NO_CERT:
        return None
    base = "carol" if name == "carol-leafonly" else name
    return env.certs.client(base).x509.subject.get_attributes_for_oid(
        NameOID.COMMON_NAME)[0].value


# vhost -> (client_auth settings, clients let in); the first is the default of the address
def _vhosts(env):
    ca = env.certs.path("client-ca.pem")
    bundle = env.certs.path("client-ca-bundle.pem")
    crl = lambda n: env.certs.path(n)   # noqa: E731
    valid_root = {"alice", "bob"}            # issued by the root, valid, not revoked
    return [
        ("none.auth.test", {}, set(CLIENTS)),
        # default depth 1: carol and dave (leaf -> intermediate -> root) are too deep
        ("optional.auth.test", dict(mode="optional", ca=ca), valid_root | {NO_CERT, "revoked"}),
        # optional with a CRL: a revoked certificate is refused, no certificate is fine
        ("optcrl.auth.test", dict(mode="optional", ca=ca, crls=[crl("client-root.crl.pem")]),
         valid_root | {NO_CERT}),
        ("required.auth.test", dict(mode="required", ca=ca, depth=2),
         valid_root | {"carol", "dave", "revoked"}),
        ("depth1.auth.test", dict(mode="required", ca=ca), valid_root | {"revoked"}),
        # mod_ssl's spelling
        ("require.auth.test", dict(mode="require", ca=ca), valid_root | {"revoked"}),
        # TLSClientCA of the server config
        ("globalca.auth.test", dict(mode="required"), valid_root | {"revoked"}),
        # root and intermediate trusted: carol gets in without sending the intermediate; a
        # PEM file with the root's and the intermediate's CRL
        ("crl.auth.test", dict(mode="required", ca=bundle, depth=2,
                               crls=[crl("client-both.crl.pem")]),
         valid_root | {"carol", "carol-leafonly"}),
        # the same CRLs in two files, two directives
        ("crls.auth.test", dict(mode="required", ca=bundle, depth=2,
                                crls=[crl("client-root.crl.pem"), crl("client-int.crl.pem")]),
         valid_root | {"carol", "carol-leafonly"}),
        # only the intermediate's CRL: the root's certificates are not checked
        ("crlint.auth.test", dict(mode="required", ca=bundle, depth=2,
                                  crls=[crl("client-int.crl.pem")]),
         valid_root | {"carol", "carol-leafonly", "revoked"}),
        ("crlder.auth.test", dict(mode="required", ca=ca, crls=[crl("client-root.crl.der")]),
         valid_root),
        ("crlempty.auth.test", dict(mode="required", ca=ca,
                                    crls=[crl("client-root-empty.crl.pem")]),
         valid_root | {"revoked"}),
        # past its nextUpdate: every certificate of the root is refused
        ("crlexpired.auth.test", dict(mode="required", ca=ca,
                                      crls=[crl("client-root-expired.crl.pem")]), set()),
        ("a.test", {}, set(CLIENTS)),
        ("b.test", dict(mode="required", ca=ca), valid_root | {"revoked"}),
    ]


MATRIX_VHOSTS = ["none.auth.test", "optional.auth.test", "optcrl.auth.test",
                 "required.auth.test",
                 "depth1.auth.test", "require.auth.test", "globalca.auth.test", "crl.auth.test",
                 "crls.auth.test", "crlint.auth.test", "crlder.auth.test", "crlempty.auth.test",
                 "crlexpired.auth.test"]


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("clientauth", modules=["headers", "socache_shmcb"],
                  log_level="warn %s:info" % env.log_module,
                  session_cache="shmcb:@ROOT@/run/tls_scache(512000)")
    h.global_extra = env.backend.client_auth(h, ca=env.certs.path("client-ca.pem"), indent="")
    h.listen("https")
    cert = env.certs.leaf("auth.test").pair
    for name, auth, _ in _vhosts(env):
        h.vhost(name, certs=[cert], extra=env.backend.client_auth(h, **auth) + "\n" + HEADERS)
    # resumption through the session cache (TLS 1.2 session ids, TLS 1.3 tickets kept there)
    h.vhost("cache.auth.test", certs=[cert], extra=env.backend.client_auth(
        h, mode="required", ca=env.certs.path("client-ca.pem"), depth=2) + "\n" + HEADERS,
        tls_extra="TLSSessionTickets off", ssl_extra="SSLSessionTickets off")
    h.start()
    yield from server_fixture(h)


def _check(env, server, vhost, name, version, allowed):
    """A mismatch as a line, or None."""
    a = clients.attempt(server.port(), vhost, ctx_for(env, name, version))
    sent = name != NO_CERT and vhost not in ("none.auth.test", "a.test")
    if name not in allowed:
        if not a.refused:
            return "%s: let in, expected a refused handshake: %r" % (name, a)
        return None
    if a.status != 200 or a.body != (vhost + "\n").encode():
        return "%s: expected 200 from %s, got %r" % (name, vhost, a)
    want = ("SUCCESS", cn_of(env, name)) if sent else ("NONE", "(null)")
    got = (a.headers.get("x-verify"), a.headers.get("x-cn"))
    if got != want:
        return "%s: SSL_CLIENT_VERIFY, SSL_CLIENT_S_DN_CN: expected %s, got %s" % (
            name, want, got)
    return None


@pytest.mark.allow_errors(SSL_REFUSALS)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("vhost", MATRIX_VHOSTS)
def test_who_gets_in(env, server, vhost, version):
    """Every client on every vhost (Python's ssl): let in with SSL_CLIENT_VERIFY and the CN,
    or refused in the handshake."""
    allowed = {n: a for n, _, a in _vhosts(env)}[vhost]
    problems = [p for p in (_check(env, server, vhost, name, version, allowed)
                            for name in CLIENTS) if p]
    assert not problems, "%s TLS %s:\n  %s" % (vhost, version, "\n  ".join(problems))


# (vhost, client, let in) for curl and s_client
TOOL_CASES = [
    ("required.auth.test", "alice", True),
    ("required.auth.test", "bob", True),
    ("required.auth.test", "carol", True),          # sends leaf + intermediate
    ("required.auth.test", NO_CERT, False),
    ("required.auth.test", "expired", False),
    ("required.auth.test", "mallory", False),
    ("optional.auth.test", NO_CERT, True),
    ("optional.auth.test", "notyet", False),
    ("crl.auth.test", "revoked", False),
    ("crl.auth.test", "dave", False),
]


@pytest.mark.allow_errors(SSL_REFUSALS)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("tool", ["curl", "s_client"])
def test_tools(env, server, tool, version):
    problems = []
    for vhost, name, ok in TOOL_CASES:
        cert, key, chain = client_files(env, name)
        if tool == "curl":
            r = clients.curl(server.port(), "/whoami.txt", host=vhost, ca=env.ca, tls=version,
                             cert=cert, key=key)
            got = r.status if r.rc == 0 else None
            body = r.body
            verify = r.headers.get("x-verify")
        else:
            r = clients.s_client(server.port(), vhost, ca=env.ca, tls=version, cert=cert,
                                 key=key, chain=chain,
                                 args=["-verify_return_error"])
            got = r.status
            body = (r.body or "").encode()
            m = re.search(r"^X-Verify: (\S+)", r.stdout, re.M | re.I)
            verify = m.group(1) if m else None
        want_verify = "SUCCESS" if name != NO_CERT else "NONE"
        if ok and (got != 200 or body != (vhost + "\n").encode() or verify != want_verify):
            problems.append("%s on %s: expected 200 (%s), got %s %r" % (name, vhost,
                                                                       want_verify, got, r))
        if not ok and got is not None:
            problems.append("%s on %s: expected a refused handshake, got %s %r"
                            % (name, vhost, got, r))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("vhost,names", [
    ("required.auth.test", ["mod_tls test client root CA"]),
    ("crl.auth.test", ["mod_tls test client root CA", "mod_tls test client intermediate CA"]),
    ("globalca.auth.test", ["mod_tls test client root CA"]),
], ids=["root", "bundle", "server-config"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_certificate_request_names_the_cas(env, server, vhost, names, version):
    """The certificate request names the CAs of TLSClientCA (so that clients pick a matching
    certificate), not the server's CA."""
    p = subprocess.run([clients.OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % server.port(),
                        "-servername", vhost, "-CAfile", env.ca, "-tls1_3" if version == "1.3"
                        else "-tls1_2", "-cert", env.certs.client("alice").cert, "-key",
                        env.certs.client("alice").key], input=b"", stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"^Acceptable client certificate CA names\n((?:[^\n]*\n)*?)"
                  r"(?=Requested Signature|Client Certificate Types|Shared|Peer|---)", out, re.M)
    assert m, out[-3000:]
    got = sorted(re.findall(r"CN\s*=\s*([^,/\n]+)", m.group(1)))
    assert got == sorted(names), m.group(0)


# ------------------------------------------------------------------------------ 421
@pytest.mark.allow_errors(SSL_MISDIRECTED, SSL_REFUSALS)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_host_of_vhost_requiring_certificates(env, server, version, backend):
    """SNI a.test (no client certificate asked for), Host: b.test (required): the request must
    not reach b.test: 421 Misdirected Request (docs/directives.md; mod_ssl 2.4.71 too, AH02032),
    with or without a certificate the client could have sent."""
    for name in (NO_CERT, "alice"):
        a = clients.attempt(server.port(), "a.test", ctx_for(env, name, version),
                            host="b.test")
        assert a.status == 421, (name, a)
        assert a.body != b"b.test\n", a
    # the right way in, and a.test itself
    a = clients.attempt(server.port(), "b.test", ctx_for(env, "alice", version))
    assert (a.status, a.body, a.headers.get("x-verify")) == (200, b"b.test\n", "SUCCESS"), a
    a = clients.attempt(server.port(), "a.test", ctx_for(env, NO_CERT, version))
    assert (a.status, a.body, a.headers.get("x-verify")) == (200, b"a.test\n", "NONE"), a


# ------------------------------------------------------------------------- resumption
@pytest.mark.parametrize("vhost", ["required.auth.test", "cache.auth.test"],
                         ids=["tickets", "cache"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("name", ["alice", "carol"])
def test_resumption_keeps_client_identity(env, server, name, version, vhost):
    """A resumed session shows the client certificate of the handshake that made it: the
    same SSL_CLIENT_S_DN and serial, SUCCESS."""
    ctx = ctx_for(env, name, version)
    first = clients.attempt(server.port(), vhost, ctx)
    assert first.status == 200 and first.headers.get("x-resumed") == "Initial", first
    assert first.headers.get("x-verify") == "SUCCESS", first
    resumed = []
    session = first.session
    for _ in range(3):
        x = clients.attempt(server.port(), vhost, ctx, session=session)
        assert x.status == 200, x
        if x.reused:
            resumed.append(x)
        session = x.session or session
    assert resumed, "no resumption on %s" % vhost
    for x in resumed:
        assert x.headers.get("x-resumed") == "Resumed", x
        assert x.headers.get("x-verify") == "SUCCESS", x
        assert x.headers.get("x-dn") == first.headers.get("x-dn"), (first, x)
        assert x.headers.get("x-serial") == first.headers.get("x-serial"), (first, x)


@pytest.mark.tls_only
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_resumption_keeps_chain(env, server, version):
    """SSL_CLIENT_CHAIN_0 on a resumption: the intermediate of the first handshake
    (docs/ffi: those of the session's original handshake; OpenSSL keeps no chain in a
    ticket)."""
    ctx = ctx_for(env, "carol", version)
    first = clients.attempt(server.port(), "required.auth.test", ctx)
    assert first.headers.get("x-chain") == "yes", first
    x = clients.attempt(server.port(), "required.auth.test", ctx, session=first.session)
    assert x.reused and x.headers.get("x-chain") == "yes", x


@pytest.mark.allow_errors(SSL_REFUSALS)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_session_without_certificate_opens_nothing(env, server, version):
    """A session made without a client certificate (optional) offered to the vhost that
    requires one: not resumed there, and the handshake is refused; offered again to the
    optional vhost, it resumes with SSL_CLIENT_VERIFY NONE."""
    ctx = ctx_for(env, NO_CERT, version)
    first = clients.attempt(server.port(), "optional.auth.test", ctx)
    assert first.status == 200 and first.headers.get("x-verify") == "NONE", first
    x = clients.attempt(server.port(), "required.auth.test", ctx, session=first.session)
    assert x.refused, x
    y = clients.attempt(server.port(), "optional.auth.test", ctx, session=first.session)
    assert y.status == 200 and y.reused, y
    assert y.headers.get("x-verify") == "NONE" and y.headers.get("x-cn") == "(null)", y


# ---------------------------------------------------------------------------- logging
# (vhost, client, mod_tls reason, mod_ssl's words)
REFUSALS = [
    ("crl.auth.test", "revoked", r"revoked", r"certificate revoked"),
    ("crl.auth.test", "dave", r"revoked", r"certificate revoked"),
    ("required.auth.test", "expired", r"expired", r"certificate has expired"),
    ("required.auth.test", "notyet", r"(?i:not.?yet.?valid)", r"not yet valid"),
    ("required.auth.test", "mallory", r"(?i:unknown ?(ca|issuer)|untrusted|not trusted)",
     r"unable to get local issuer certificate"),
    ("depth1.auth.test", "carol", r"(?i:depth|too long)",
     r"Chain too long|unable to get|depth"),
    ("crlexpired.auth.test", "alice", r"(?i:CRL.*expired|expired.*CRL)", r"CRL has expired"),
    ("required.auth.test", NO_CERT, r"(?i:no (client )?certificate|certificate required|"
     r"missing|did not (send|return))", r"did not return a certificate|certificate required"),
]


@pytest.mark.allow_errors(SSL_REFUSALS)
@pytest.mark.parametrize("vhost,name,tls_rx,ssl_rx", REFUSALS,
                         ids=["%s-%s" % (v.split(".")[0], n) for v, n, _, _ in REFUSALS])
def test_refusal_logged(env, server, backend, vhost, name, tls_rx, ssl_rx):
    """A refused client logs one line at info: mod_tls TLS0201 naming the peer (address and
    port) and the reason; mod_ssl its verification error."""
    for version in ("1.2", "1.3"):
        mark = server.log_mark()
        a = clients.attempt(server.port(), vhost, ctx_for(env, name, version))
        assert a.refused, a
        peer = r"127\.0\.0\.1:%d\b" % a.local_port
        if backend == "tls":
            rxs = [r"\[tls:info\].*TLS0201.*%s.*(%s)" % (peer, tls_rx)]
        else:
            # mod_ssl: the peer and OpenSSL's reason may be on different lines
            rxs = [r"\[client %s\]" % peer, ssl_rx]
        for rx in rxs:
            m = server.wait_log(rx, since=mark, timeout=10)
            assert m, "TLS %s: no line matching %r in:\n%s" % (version, rx,
                                                              server.log_since(mark)[-4000:])


@pytest.mark.tls_only
def test_expired_crl_warned_at_startup(env, server):
    """A warning (TLS0133) naming the file of the expired CRL, and no other CRL file."""
    log = server.error_log()
    f = re.escape(os.path.basename(env.certs.path("client-root-expired.crl.pem")))
    assert re.search(r"\[tls:warn\].*%s" % f, log), log[-4000:]
    for other in ("client-both.crl.pem", "client-root.crl.pem", "client-root-empty.crl.pem"):
        assert not re.search(r"\[tls:warn\].*%s" % re.escape(other), log), log[-4000:]


# ----------------------------------------------------------------- server-level settings
@pytest.fixture(scope="module")
def global_server(env):
    """TLSClientCertificate required, TLSClientCA, TLSClientCRL in the server config: the
    vhost that sets nothing inherits them; one that says none asks for nothing."""
    h = env.httpd("clientauth-global", modules=["headers"])
    h.global_extra = env.backend.client_auth(
        h, mode="required", ca=env.certs.path("client-ca.pem"),
        crls=[env.certs.path("client-root.crl.pem")], indent="")
    h.listen("https")
    cert = env.certs.leaf("auth.test").pair
    h.vhost("open.auth.test", certs=[cert],
            extra=env.backend.client_auth(h, mode="none") + "\n" + HEADERS)
    h.vhost("inherit.auth.test", certs=[cert], extra=HEADERS)
    h.start()
    yield from server_fixture(h)


@pytest.mark.allow_errors(SSL_REFUSALS)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_server_config_inherited(env, global_server, version):
    h = global_server
    got = {}
    for vhost in ("open.auth.test", "inherit.auth.test"):
        for name in (NO_CERT, "alice", "revoked"):
            a = clients.attempt(h.port(), vhost, ctx_for(env, name, version))
            got[(vhost, name)] = None if a.refused else (a.status, a.headers.get("x-verify"))
    assert got == {
        ("open.auth.test", NO_CERT): (200, "NONE"),
        ("open.auth.test", "alice"): (200, "NONE"),
        ("open.auth.test", "revoked"): (200, "NONE"),
        ("inherit.auth.test", NO_CERT): None,
        ("inherit.auth.test", "alice"): (200, "SUCCESS"),
        ("inherit.auth.test", "revoked"): None,
    }


# --------------------------------------------------------------------- graceful restart
@pytest.mark.allow_errors(SSL_REFUSALS)
def test_crl_reread_on_graceful(env):
    """Revoking a certificate: replace the CRL file, graceful restart, the certificate is
    refused; others still get in."""
    h = env.httpd("clientauth-graceful", modules=["headers"], allowed_errors=[SSL_REFUSALS])
    h.listen("https")
    with open(env.certs.path("client-root-empty.crl.pem"), "rb") as f:
        crl = h.write_file("crl/current.pem", f.read())
    h.vhost("crl.auth.test", certs=[env.certs.leaf("auth.test").pair],
            extra=env.backend.client_auth(h, mode="required", ca=env.certs.path("client-ca.pem"),
                                          crls=[crl]) + "\n" + HEADERS)
    with running(h):
        for version in ("1.2", "1.3"):
            a = clients.attempt(h.port(), "crl.auth.test", ctx_for(env, "revoked", version))
            assert a.status == 200 and a.headers.get("x-verify") == "SUCCESS", a
        with open(env.certs.path("client-root.crl.pem"), "rb") as f:
            h.write_file("crl/current.pem", f.read())
        h.graceful()
        for version in ("1.2", "1.3"):
            a = clients.attempt(h.port(), "crl.auth.test", ctx_for(env, "revoked", version))
            assert a.refused, a
            a = clients.attempt(h.port(), "crl.auth.test", ctx_for(env, "alice", version))
            assert a.status == 200 and a.headers.get("x-verify") == "SUCCESS", a


# ----------------------------------------------------------------- configuration errors
def _cfg_server(env, name, auth=None, extra="", global_extra=""):
    h = env.httpd("cfg-" + name)
    h.listen("https")
    h.global_extra = global_extra
    h.vhost("auth.test", certs=[env.certs.leaf("auth.test").pair])
    h.vhost("bad.auth.test", certs=[env.certs.leaf("auth.test").pair],
            extra=(env.backend.client_auth(h, **auth) if auth else "") + "\n" + extra)
    return h


def _fails(h, *patterns):
    """configtest (apache2 -t) and a start both fail, with output matching every pattern."""
    t = h.configtest()
    assert not t.ok, "apache2 -t accepted it: %r" % t
    for p in patterns:
        assert re.search(p, t.output), "apache2 -t: %r not in output: %r" % (p, t)
    s = h.start(check=False)
    assert not s.ok, "the server started: %r" % s
    for p in patterns:
        assert re.search(p, s.output), "start: %r not in output: %r" % (p, s)


@pytest.mark.tls_only
@pytest.mark.parametrize("mode", ["optional", "required"])
def test_no_client_ca(env, mode):
    """optional/required without TLSClientCA: startup and apachectl -t fail, naming
    TLSClientCA and the virtual host."""
    h = _cfg_server(env, "noca-" + mode, dict(mode=mode))
    _fails(h, r"TLSClientCA", r"bad\.auth\.test")


@pytest.mark.tls_only
@pytest.mark.parametrize("crl", ["client-other.crl.pem", "client-root-forged.crl.pem",
                                 "text.pem", "garbage.pem"],
                         ids=["other-issuer", "forged-signature", "text", "garbage"])
def test_bad_crl(env, crl):
    """A CRL whose issuer is no configured CA, one with the root's name but another key's
    signature, a file that holds no CRL: startup fails naming TLSClientCRL and the file."""
    h = _cfg_server(env, "crl-" + crl.split(".")[0], dict(
        mode="required", ca=env.certs.path("client-ca.pem"), crls=[env.certs.path(crl)]))
    _fails(h, r"TLSClientCRL", re.escape(crl))


@pytest.mark.tls_only
@pytest.mark.parametrize("ca", ["text.pem", "empty.pem", "garbage.pem", "missing.pem"])
def test_bad_client_ca(env, ca):
    path = os.path.join(env.certs.dir, ca)
    h = _cfg_server(env, "ca-" + ca.split(".")[0], dict(mode="required", ca=path))
    _fails(h, r"TLSClientCA", re.escape(ca))


@pytest.mark.parametrize("setting,value", [
    ("mode", "sometimes"), ("mode", ""), ("depth", "-1"),
    # mod_ssl takes atoi() of it: 0
    pytest.param("depth", "abc", marks=pytest.mark.tls_only)])
def test_syntax_errors(env, backend, setting, value):
    """Values the directives do not take (TLSClientCertificate / SSLVerifyClient,
    TLSVerifyDepth / SSLVerifyDepth): startup fails naming the directive."""
    auth = {"mode": "required", "ca": env.certs.path("client-ca.pem")}
    auth[setting] = value if value else '""'
    h = _cfg_server(env, "syntax-%s-%d" % (setting, len(value)), auth)
    directive = {("tls", "mode"): "TLSClientCertificate", ("ssl", "mode"): "SSLVerifyClient",
                 ("tls", "depth"): "TLSVerifyDepth", ("ssl", "depth"): "SSLVerifyDepth"}
    _fails(h, directive[(backend, setting)])


@pytest.mark.tls_only
def test_depth_out_of_range(env):
    """docs/directives.md: TLSVerifyDepth from 0 to 100."""
    h = _cfg_server(env, "depth-101", dict(mode="required", ca=env.certs.path("client-ca.pem"),
                                           depth=101))
    _fails(h, r"TLSVerifyDepth")


@pytest.mark.tls_only
@pytest.mark.parametrize("directive", ["TLSClientCertificate required",
                                       'TLSClientCA "@CERTS@/client-ca.pem"',
                                       'TLSClientCRL "@CERTS@/client-root.crl.pem"',
                                       "TLSVerifyDepth 2"])
def test_not_in_location(env, directive):
    """Server config and virtual host only: an error in a <Location>."""
    h = _cfg_server(env, "loc-" + directive.split()[0], dict(
        mode="required", ca=env.certs.path("client-ca.pem")),
        extra="  <Location /x>\n    %s\n  </Location>" % directive)
    _fails(h, r"%s (not allowed|cannot occur)" % directive.split()[0])


@pytest.mark.tls_only
def test_configtest_accepts_valid_setup(env):
    """A complete setup passes apache2 -t (the negative tests above fail for their reason)."""
    h = _cfg_server(env, "valid", dict(mode="required", ca=env.certs.path("client-ca-bundle.pem"),
                                       crls=[env.certs.path("client-both.crl.pem"),
                                             env.certs.path("client-root.crl.der")],
                                       depth=3, user_name="SSL_CLIENT_S_DN_CN"))
    t = h.configtest()
    assert t.ok, t
