"""The SSL_CLIENT_* variables (docs/variables.md) read the five ways test_variables.py reads the
others (CGI environment under +StdEnvVars +ExportCertData, mod_rewrite's %{SSL:..},
mod_headers' %{..}s, ap_expr, LogFormat %{..}x), compared with the certificate the client
sent (harness/x509vars.client_cert_vars: the forms `openssl x509` prints); without a client
certificate only SSL_CLIENT_VERIFY (NONE) is set. Then the request's user from TLSUserName
(server config, virtual host, <Directory>, .htaccess): REMOTE_USER, %u, Require user; and
Require expr on the client certificate.

One virtual host with TLSClientCertificate optional and TLSVerifyDepth 2, so that a client
with and without a certificate, and one sending an intermediate, reach the same
configuration.
"""
import os
import time

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import server_fixture
from harness import clients
from harness.cgi import ENV_CGI, parse_env
from harness.x509vars import client_cert_vars, log_escape

SSL_REFUSALS = r"\[ssl:error\].*(AH02039|AH02040)"
AUTHZ_DENIED = r"\[authz_core:error\].*AH01630"

VARS = ["SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN", "SSL_CLIENT_S_DN_C", "SSL_CLIENT_S_DN_ST",
        "SSL_CLIENT_S_DN_L", "SSL_CLIENT_S_DN_O", "SSL_CLIENT_S_DN_OU",
        "SSL_CLIENT_S_DN_OU_1", "SSL_CLIENT_S_DN_OU_2", "SSL_CLIENT_S_DN_CN",
        "SSL_CLIENT_S_DN_T", "SSL_CLIENT_S_DN_G", "SSL_CLIENT_S_DN_S", "SSL_CLIENT_S_DN_D",
        "SSL_CLIENT_S_DN_UID", "SSL_CLIENT_S_DN_Email", "SSL_CLIENT_I_DN",
        "SSL_CLIENT_I_DN_O", "SSL_CLIENT_I_DN_OU", "SSL_CLIENT_I_DN_CN",
        "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_M_VERSION", "SSL_CLIENT_V_START",
        "SSL_CLIENT_V_END", "SSL_CLIENT_V_REMAIN", "SSL_CLIENT_A_KEY", "SSL_CLIENT_A_SIG",
        "SSL_CLIENT_SAN_Email_0", "SSL_CLIENT_SAN_Email_1", "SSL_CLIENT_SAN_Email_2",
        "SSL_CLIENT_SAN_DNS_0", "SSL_CLIENT_SAN_DNS_1", "SSL_CLIENT_SAN_DNS_2"]
# looked up by name only: mod_ssl's other name of ST, which it does not put into the
# environment
LOOKUP_VARS = ["SSL_CLIENT_S_DN_SP"]
# PEM: in the CGI environment (ExportCertData) and through %{SSL:..}. mod_ssl calls the
# chain SSL_CLIENT_CERT_CHAIN_n only; mod_tls SSL_CLIENT_CHAIN_n as well (chain_name() checks
# that one with mod_tls, test_chain_under_mod_ssl_name the other)


def chain_name(backend, n):
    return ("SSL_CLIENT_CHAIN_%d" if backend == "tls" else "SSL_CLIENT_CERT_CHAIN_%d") % n


def pem_vars(backend):
    return ["SSL_CLIENT_CERT", chain_name(backend, 0), chain_name(backend, 1)]
WAYS = ["cgi", "rewrite", "header", "expr", "log"]
VHOST = "vars.auth.test"


def _vars_extra(backend):
    lines = ['  ScriptAlias /all/ "@ROOT@/cgi-bin/"',
             '  ScriptAlias /none/ "@ROOT@/cgi-bin/"',
             '  <Location /all/>',
             '    @TLSOPTIONS@ +StdEnvVars +ExportCertData',
             '  </Location>',
             '  RewriteEngine on']
    for v in VARS + LOOKUP_VARS + pem_vars(backend) + ["SSL_CLIENT_CERT_CHAIN_0"]:
        lines.append('  RewriteRule ^/(all|none)/ - [E=RW_%s:%%{SSL:%s}]' % (v, v))
    for v in VARS + LOOKUP_VARS:
        lines.append('  Header always set X-S-%s "%%{%s}s"' % (v, v))
        lines.append('  Header always set X-X-%s "expr=%%{%s}"' % (v, v))
    lines.append('  Header always set X-User "expr=%{REMOTE_USER}"')
    lines.append('  LogFormat "%%{X-Tag}i\\t%%u\\t%s" clientvars'
                 % "\\t".join("%%{%s}x" % v for v in VARS + LOOKUP_VARS))
    lines.append('  CustomLog "@ROOT@/logs/vars_log" clientvars')
    lines += [
        '  Alias /check/ "@ROOT@/htdocs/check/"',
        '  <Location /check/verified/>',
        '    Require expr "%{SSL_CLIENT_VERIFY} == \'SUCCESS\'"',
        '  </Location>',
        '  <Location /check/alice-expr/>',
        '    Require expr "%{SSL_CLIENT_S_DN_CN} == \'alice\'"',
        '  </Location>',
        '  <Location /check/alice-user/>',
        '    Require user alice',
        '  </Location>',
        '  <Location /check/users/>',
        '    Require user alice carol',
        '  </Location>',
        '  <Directory "@ROOT@/htdocs/%s/ht">' % VHOST,
        '    AllowOverride AuthConfig',
        '  </Directory>',
        '  <Directory "@ROOT@/htdocs/%s/dir">' % VHOST,
        '    @USERNAME@ SSL_CLIENT_M_SERIAL',
        '  </Directory>',
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("clientvars", modules=["rewrite", "headers", "cgid"])
    h.global_extra = "\n".join([
        "LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so",
        '<Directory "@ROOT@/cgi-bin">', "  Require all granted", "</Directory>",
        # the server config's user name: vhosts that set none inherit it
        env.backend.client_auth(h, user_name="SSL_CLIENT_S_DN_Email", indent="")])
    h.listen("https")
    ca = env.certs.path("client-ca.pem")
    cert = env.certs.leaf("auth.test").pair
    h.vhost(VHOST, certs=[cert], extra=env.backend.client_auth(
        h, mode="optional", ca=ca, depth=2, user_name="SSL_CLIENT_S_DN_CN") + "\n"
        + _vars_extra(env.backend_name).replace("@USERNAME@", env.backend.user_name_directive))
    h.vhost("inherit.auth.test", certs=[cert], extra=env.backend.client_auth(
        h, mode="required", ca=ca) + '\n  Header always set X-User "expr=%{REMOTE_USER}"')
    h.write_file("cgi-bin/env.cgi", ENV_CGI, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    for d in ("verified", "alice-expr", "alice-user", "users"):
        h.write_file("htdocs/check/%s/index.html" % d, d + "\n")
    h.write_file("htdocs/%s/ht/.htaccess" % VHOST, "%s SSL_CLIENT_SAN_Email_0\n"
                 "Require user alice@example.org\n" % env.backend.user_name_directive)
    h.write_file("htdocs/%s/ht/index.html" % VHOST, "ht\n")
    h.write_file("htdocs/%s/dir/index.html" % VHOST, "dir\n")
    h.start()
    yield from server_fixture(h)


# ------------------------------------------------------------------------------ fetching
_counter = [0]


def _tag():
    _counter[0] += 1
    return "cv-%d" % _counter[0]


def _hdr(v):
    try:
        return v.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return v


class Seen:
    def __init__(self, attempt, client, tag, t0, t1):
        self.a = attempt
        self.client = client
        self.tag = tag
        self.t0, self.t1 = t0, t1     # the request was answered between these times
        self.headers = {k: _hdr(v) for k, v in attempt.headers.items()}


def fetch(env, server, client, version, path="/all/env.cgi", host=VHOST):
    tag = _tag()
    cert = key = None
    if client:
        cert, key = env.certs.client(client).cert, env.certs.client(client).key
    ctx = clients.context(env.ca, tls=version, cert=cert, key=key)
    t0 = time.time()
    a = clients.attempt(server.port(), host, ctx, path=path, headers={"X-Tag": tag})
    t1 = time.time()
    assert a.status is not None, a
    return Seen(a, client, tag, t0, t1)


def expected(env, client, t0, t1):
    """{variable: value} for a client (None: no certificate); SSL_CLIENT_V_REMAIN may be either
    of the values at the start and the end of the request (a set)."""
    if client is None:
        return {"SSL_CLIENT_VERIFY": "NONE"}
    c = env.certs.client(client)
    der = c.x509.public_bytes(serialization.Encoding.DER)
    chain = [x.public_bytes(serialization.Encoding.DER) for x in c.chain]
    e = client_cert_vars(der, chain, now=t0)
    for n in range(len(chain)):
        e[chain_name(env.backend_name, n)] = e.pop("SSL_CLIENT_CHAIN_%d" % n)
    e["SSL_CLIENT_V_REMAIN"] = {e["SSL_CLIENT_V_REMAIN"],
                                client_cert_vars(der, chain, now=t1)["SSL_CLIENT_V_REMAIN"]}
    return e


def _absent(way):
    return {"cgi": None, "rewrite": "", "header": "(null)", "expr": "", "log": "-"}[way]


def read_way(server, way, seen, backend):
    if way in ("cgi", "rewrite"):
        assert seen.a.status == 200, seen.a
        env = parse_env(seen.a.body)
        pems = pem_vars(backend)
        names = (VARS + pems) if way == "cgi" else (VARS + LOOKUP_VARS + pems)
        prefix = "" if way == "cgi" else "RW_"
        return {v: env.get(prefix + v) for v in names}
    if way in ("header", "expr"):
        p = "x-s-" if way == "header" else "x-x-"
        return {v: seen.headers.get(p + v.lower()) for v in VARS + LOOKUP_VARS}
    if way == "log":
        return log_line(server, seen.tag)[1]
    raise ValueError(way)


def log_line(server, tag):
    """(%u, {variable: %{..}x}) of the request tagged ``tag``."""
    deadline = time.monotonic() + 10
    while True:
        for line in server.read_file("logs/vars_log").splitlines():
            f = line.split("\t")
            if f[0] == tag:
                assert len(f) == len(VARS + LOOKUP_VARS) + 2, line
                return f[1], dict(zip(VARS + LOOKUP_VARS, f[2:]))
        assert time.monotonic() < deadline, "no vars_log line for %s" % tag
        time.sleep(0.05)


def compare(way, got, exp, backend):
    diffs = []
    for v, value in got.items():
        want = exp.get(v)
        if want is None:
            ok = value == _absent(way)
            if backend == "ssl" and way == "cgi" and v == "SSL_CLIENT_CERT":
                ok = ok or value == ""      # mod_ssl exports it empty without a certificate
            if not ok:
                diffs.append("%s: expected no value (%r), got %r" % (v, _absent(way), value))
            continue
        wants = want if isinstance(want, set) else {want}
        if v.startswith(("SSL_CLIENT_CERT", "SSL_CLIENT_CHAIN")):
            if value is None or value.rstrip("\n") not in {w.rstrip("\n") for w in wants}:
                diffs.append("%s: expected the PEM %r, got %r" % (v, want, value))
            continue
        if way == "log":
            wants = {log_escape(w) for w in wants}
        if value not in wants:
            diffs.append("%s: expected %r, got %r" % (v, want if len(wants) > 1 else
                                                       next(iter(wants)), value))
    return diffs


# (client, TLS version)
SCENARIOS = [("alice", "1.3"), ("alice", "1.2"), ("bob", "1.3"), ("carol", "1.2"), ("carol", "1.3"),
             (None, "1.3"), (None, "1.2")]
SCEN_IDS = ["%s-%s" % (c or "nocert", v) for c, v in SCENARIOS]


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("client,version", SCENARIOS, ids=SCEN_IDS)
def test_client_variables(env, server, client, version, way):
    """Every SSL_CLIENT_* variable one way, compared with the certificate the client sent
    (alice: ECDSA, two OUs, e-mail in the subject, e-mail and DNS SANs; bob: RSA, T G S D UID;
    carol: sent with her intermediate, SSL_CLIENT_CHAIN_0); none but SSL_CLIENT_VERIFY=NONE
    without a certificate."""
    seen = fetch(env, server, client, version)
    assert seen.a.status == 200, seen.a
    exp = expected(env, client, seen.t0, seen.t1)
    diffs = compare(way, read_way(server, way, seen, env.backend_name), exp, env.backend_name)
    assert not diffs, "%s: %d wrong:\n  %s" % (way, len(diffs), "\n  ".join(diffs))


@pytest.mark.parametrize("way", ["rewrite", "header", "expr", "log"])
def test_client_variables_without_options(env, server, way):
    """No TLSOptions on /none/: the lookups give the client variables all the same; the CGI
    environment has none of them."""
    seen = fetch(env, server, "alice", "1.3", path="/none/env.cgi")
    exp = expected(env, "alice", seen.t0, seen.t1)
    diffs = compare(way, read_way(server, way, seen, env.backend_name), exp, env.backend_name)
    assert not diffs, "%s: %d wrong:\n  %s" % (way, len(diffs), "\n  ".join(diffs))
    e = parse_env(seen.a.body)
    assert not [k for k in e if k.startswith("SSL_CLIENT_")], e


def test_alice_values(env, server):
    """The values written out, as docs/variables.md describes them (not computed)."""
    seen = fetch(env, server, "alice", "1.3")
    e = parse_env(seen.a.body)
    want = {
        "SSL_CLIENT_VERIFY": "SUCCESS",
        "SSL_CLIENT_S_DN": "emailAddress=alice@example.org,CN=alice,OU=admins,OU=people,"
                           "O=mod_tls tests,L=Kreuzberg,ST=Berlin,C=DE",
        "SSL_CLIENT_S_DN_CN": "alice",
        "SSL_CLIENT_S_DN_OU": "people",
        "SSL_CLIENT_S_DN_OU_1": "admins",
        "SSL_CLIENT_S_DN_Email": "alice@example.org",
        "SSL_CLIENT_I_DN": "CN=mod_tls test client root CA,O=mod_tls tests",
        "SSL_CLIENT_M_SERIAL": "0C1E47A11CE0000000000000000000A1",
        "SSL_CLIENT_M_VERSION": "3",
        "SSL_CLIENT_V_REMAIN": "400",
        "SSL_CLIENT_A_KEY": "id-ecPublicKey",
        "SSL_CLIENT_A_SIG": "ecdsa-with-SHA256",
        "SSL_CLIENT_SAN_Email_0": "alice@example.org",
        "SSL_CLIENT_SAN_Email_1": "alice@clients.test",
        "SSL_CLIENT_SAN_DNS_0": "alice.clients.test",
        "SSL_CLIENT_SAN_DNS_1": "www.alice.clients.test",
    }
    assert {k: e.get(k) for k in want} == want
    assert e["SSL_CLIENT_CERT"].rstrip("\n") == \
        env.certs.client("alice").leaf_pem.decode().rstrip("\n")
    assert "SSL_CLIENT_CHAIN_0" not in e, e


def test_bob_rsa(env, server):
    e = parse_env(fetch(env, server, "bob", "1.2").a.body)
    assert (e.get("SSL_CLIENT_A_KEY"), e.get("SSL_CLIENT_S_DN_UID"), e.get("SSL_CLIENT_S_DN_G"),
            e.get("SSL_CLIENT_S_DN_S"), e.get("SSL_CLIENT_S_DN_T")) == \
        ("rsaEncryption", "bob42", "Bob", "Builder", "Dr"), e
    assert "SSL_CLIENT_SAN_Email_0" not in e and "SSL_CLIENT_SAN_DNS_0" not in e, e


# ------------------------------------------------------------------------ TLSUserName
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_user_name(env, server, version):
    """TLSUserName SSL_CLIENT_S_DN_CN on the vhost: REMOTE_USER in the CGI environment and in
    expressions, %u in the access log."""
    for client, user in (("alice", "alice"), ("bob", "bob"), ("carol", "carol")):
        seen = fetch(env, server, client, version)
        e = parse_env(seen.a.body)
        assert e.get("REMOTE_USER") == user, e
        assert seen.headers.get("x-user") == user, seen.a
        assert log_line(server, seen.tag)[0] == user


def test_user_name_without_certificate(env, server):
    """No client certificate: no user (%u is -), the request is served."""
    seen = fetch(env, server, None, "1.3")
    e = parse_env(seen.a.body)
    assert "REMOTE_USER" not in e, e
    assert log_line(server, seen.tag)[0] == "-"


@pytest.mark.allow_errors(AUTHZ_DENIED)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_require_user(env, server, version):
    """Require user with the user TLSUserName set, no AuthType: alice gets in, bob not."""
    got = {}
    for client in ("alice", "bob", "carol"):
        for d in ("alice-user", "users"):
            got[(client, d)] = fetch(env, server, client, version, path="/check/%s/" % d).a.status
    # no AuthType: a user that is not allowed gets 403, as from Require expr
    assert got == {("alice", "alice-user"): 200, ("alice", "users"): 200,
                   ("bob", "alice-user"): 403, ("bob", "users"): 403,
                   ("carol", "alice-user"): 403, ("carol", "users"): 200}, got


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_user_name_in_directory_and_htaccess(env, server, version):
    """A <Directory> sets another variable (the serial), a .htaccess file (AllowOverride
    AuthConfig) yet another (the first e-mail SAN) and a Require user on it."""
    seen = fetch(env, server, "alice", version, path="/dir/")
    assert seen.a.status == 200 and seen.headers.get("x-user") == \
        "0C1E47A11CE0000000000000000000A1", seen.a
    seen = fetch(env, server, "alice", version, path="/ht/")
    assert seen.a.status == 200 and seen.headers.get("x-user") == "alice@example.org", seen.a
    assert seen.a.body == b"ht\n"


@pytest.mark.allow_errors(AUTHZ_DENIED)
def test_htaccess_require_user_refuses_others(env, server):
    seen = fetch(env, server, "carol", "1.3", path="/ht/")
    assert seen.a.status == 403 and seen.headers.get("x-user") == "carol@example.org", seen.a


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_user_name_of_server_config(env, server, version):
    """The server config's TLSUserName (SSL_CLIENT_S_DN_Email) in a vhost that sets none."""
    seen = fetch(env, server, "alice", version, path="/whoami.txt", host="inherit.auth.test")
    assert seen.a.status == 200 and seen.headers.get("x-user") == "alice@example.org", seen.a


# ------------------------------------------------------------------------- Require expr
@pytest.mark.allow_errors(AUTHZ_DENIED)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_require_expr(env, server, version):
    got = {}
    for client in ("alice", "bob", None):
        for d in ("verified", "alice-expr"):
            got[(client, d)] = fetch(env, server, client, version,
                                     path="/check/%s/" % d).a.status
    assert got == {("alice", "verified"): 200, ("alice", "alice-expr"): 200,
                   ("bob", "verified"): 200, ("bob", "alice-expr"): 403,
                   (None, "verified"): 403, (None, "alice-expr"): 403}, got


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_chain_under_mod_ssl_name(env, server, version):
    """mod_ssl's name of the client's chain is SSL_CLIENT_CERT_CHAIN_n (ssl_engine_vars.c;
    ExportCertData puts it into the environment), which applications written for mod_ssl
    read; mod_tls has it too (docs/variables.md), besides SSL_CLIENT_CHAIN_n."""
    seen = fetch(env, server, "carol", version)
    e = parse_env(seen.a.body)
    want = env.certs.client("carol").chain[0].public_bytes(serialization.Encoding.PEM).decode()
    for k in ("SSL_CLIENT_CERT_CHAIN_0", "RW_SSL_CLIENT_CERT_CHAIN_0"):
        assert (e.get(k) or "").rstrip("\n") == want.rstrip("\n"), (k, e.get(k))
    assert "SSL_CLIENT_CERT_CHAIN_1" not in e, e
