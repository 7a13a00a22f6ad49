"""The SSL_* variables of docs/variables.md, read the five ways httpd offers, compared with what
the client saw (protocol, cipher, server name) and with the certificate it received (in the
forms `openssl x509` prints, which is what mod_ssl exports):

- cgi:     a CGI script's environment under TLSOptions +StdEnvVars +ExportCertData
- rewrite: mod_rewrite's %{SSL:name}, put into the environment with [E=RW_name:...]
- header:  mod_headers' %{name}s
- expr:    ap_expr's %{name} (what <If> and Require expr use), through Header "expr=..."
- log:     mod_log_config's %{name}x

All five ways are read on the same request, and the non-environment ways also where no
TLSOptions are set. <If>, <ElseIf> and Require expr are checked with literal conditions as well.
"""
import os
import re
import ssl
import subprocess
import time

import pytest

from conftest import server_fixture
from harness import clients
from harness.cgi import ENV_CGI, parse_env
from harness.httpd import suite
from harness.x509vars import log_escape, server_cert_vars

CONN_VARS = ["HTTPS", "SSL_PROTOCOL", "SSL_CIPHER", "SSL_CIPHER_USEKEYSIZE",
             "SSL_CIPHER_ALGKEYSIZE", "SSL_CIPHER_EXPORT", "SSL_TLS_SNI", "SSL_SESSION_ID",
             "SSL_SESSION_RESUMED", "SSL_VERSION_INTERFACE", "SSL_VERSION_LIBRARY",
             "SSL_SECURE_RENEG", "SSL_COMPRESS_METHOD"]
CERT_VARS = ["SSL_SERVER_S_DN", "SSL_SERVER_S_DN_C", "SSL_SERVER_S_DN_ST", "SSL_SERVER_S_DN_L",
             "SSL_SERVER_S_DN_O", "SSL_SERVER_S_DN_OU", "SSL_SERVER_S_DN_OU_1",
             "SSL_SERVER_S_DN_OU_2", "SSL_SERVER_S_DN_CN", "SSL_SERVER_S_DN_Email",
             "SSL_SERVER_I_DN", "SSL_SERVER_I_DN_O", "SSL_SERVER_I_DN_CN",
             "SSL_SERVER_M_SERIAL", "SSL_SERVER_M_VERSION", "SSL_SERVER_V_START",
             "SSL_SERVER_V_END", "SSL_SERVER_A_KEY", "SSL_SERVER_A_SIG",
             "SSL_SERVER_SAN_DNS_0", "SSL_SERVER_SAN_DNS_1", "SSL_SERVER_SAN_DNS_2"]
ALL_VARS = CONN_VARS + CERT_VARS
WAYS = ["cgi", "rewrite", "header", "expr", "log"]



def _vhost_extra():
    lines = ['  ScriptAlias /all/ "@ROOT@/cgi-bin/"',
             '  ScriptAlias /none/ "@ROOT@/cgi-bin/"',
             '  <Location /all/>',
             '    @TLSOPTIONS@ +StdEnvVars +ExportCertData',
             '  </Location>',
             '  RewriteEngine on']
    for v in ALL_VARS + ["SSL_SERVER_CERT"]:
        lines.append('  RewriteRule ^/(all|none)/ - [E=RW_%s:%%{SSL:%s}]' % (v, v))
    for v in ALL_VARS:
        lines.append('  Header always set X-S-%s "%%{%s}s"' % (v, v))
        lines.append('  Header always set X-X-%s "expr=%%{%s}"' % (v, v))
    lines.append('  LogFormat "%%{X-Tag}i\\t%s" tlsvars'
                 % "\\t".join("%%{%s}x" % v for v in ALL_VARS))
    lines.append('  CustomLog "@ROOT@/logs/vars_log" tlsvars')
    # literal conditions
    lines += [
        '  <Location /if/>',
        '    <If "%{SSL_PROTOCOL} == \'TLSv1.3\'">',
        '      Header always set X-If "is 1.3"',
        '    </If>',
        '    <ElseIf "%{SSL_PROTOCOL} == \'TLSv1.2\'">',
        '      Header always set X-If "is 1.2"',
        '    </ElseIf>',
        '    <Else>',
        '      Header always set X-If "neither"',
        '    </Else>',
        '  </Location>',
        '  Alias /if/ "@ROOT@/htdocs/if/"',
        '  Alias /tls13-only/ "@ROOT@/htdocs/if/"',
        '  Alias /sni-check/ "@ROOT@/htdocs/if/"',
        '  Alias /cn-check/ "@ROOT@/htdocs/if/"',
        '  Alias /resumed-check/ "@ROOT@/htdocs/if/"',
        '  <Location /tls13-only/>',
        '    Require expr "%{SSL_PROTOCOL} == \'TLSv1.3\'"',
        '  </Location>',
        '  <Location /sni-check/>',
        '    Require expr "%{SSL_TLS_SNI} == \'a.test\' && %{HTTPS} == \'on\'"',
        '  </Location>',
        '  <Location /cn-check/>',
        '    Require expr "%{SSL_SERVER_S_DN_CN} == \'a.test\' && '
        '%{SSL_SERVER_S_DN_OU} == \'rsa\'"',
        '  </Location>',
        '  <Location /resumed-check/>',
        '    Require expr "%{SSL_SESSION_RESUMED} == \'Initial\'"',
        '  </Location>',
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("vars", modules=["rewrite", "headers", "cgid"],
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>')
    h.listen("https")
    extra = _vhost_extra()
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair, env.certs.leaf("a.test", "rsa").pair],
            extra=extra)
    h.vhost("dn.test", aliases=["www.dn.test"], certs=[env.certs.leaf("dn.test").pair],
            extra=extra)
    h.vhost("ed.test", certs=[env.certs.leaf("ed.test", "ed25519").pair], extra=extra)
    h.vhost("rsaca.test", certs=[env.certs.leaf("rsaca.test", "rsa").pair], extra=extra)
    h.write_file("cgi-bin/env.cgi", ENV_CGI, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    h.write_file("htdocs/if/index.html", "if\n")
    h.start()
    yield from server_fixture(h)


# --------------------------------------------------------------------------- clients
class Seen:
    """What the client saw of a connection, and the response."""

    def __init__(self, protocol, cipher, der, sni, status, headers, body):
        self.protocol = protocol
        self.cipher_iana = suite(cipher)[0]
        self.der = der
        self.sni = sni
        self.status = status
        self.headers = headers
        self.body = body

    def env(self):
        """The CGI's environment (values: the bytes of the environment, read as UTF-8)."""
        assert self.status == 200, (self.status, self.body[:2000])
        # (s_client may print session tickets it reads after the response: the JSON is
        # between markers)
        return parse_env(self.body)


def _hdr(v):
    # http.client decodes header bytes as latin-1; the server sent UTF-8
    try:
        return v.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return v


def fetch_python(env, port, sni, path, version, rsa_only=False, tag="-"):
    ctx = clients.context(env.ca, tls=version,
                          ciphers="ECDHE-RSA-AES128-GCM-SHA256" if rsa_only else None)
    assert not (rsa_only and version == "1.3"), "use fetch_s_client for that"
    c = clients.HTTPSConnection(sni, port, ctx)
    try:
        c.request("GET", path, headers={"X-Tag": tag})
        sock = c.sock
        r = c.getresponse()
        body = r.read()
        headers = {k.lower(): _hdr(v) for k, v in r.getheaders()}
        return Seen(sock.version(), sock.cipher()[0], sock.getpeercert(binary_form=True), sni,
                    r.status, headers, body)
    finally:
        c.close()


def fetch_s_client(env, port, sni, path, version, rsa_only=False, tag="-"):
    """openssl s_client: offers only RSA-PSS signature schemes when rsa_only (with TLS 1.3
    the cipher suites say nothing about the certificate's key)."""
    cmd = [clients.OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", sni,
           "-CAfile", env.ca, "-verify_return_error", "-showcerts", "-ign_eof",
           "-tls1_3" if version == "1.3" else "-tls1_2"]
    if rsa_only:
        cmd += ["-sigalgs", "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512"]
    req = "GET %s HTTP/1.0\r\nHost: %s\r\nX-Tag: %s\r\n\r\n" % (path, sni, tag)
    p = subprocess.run(cmd, input=req.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    out = p.stdout
    text = out.decode("latin-1")
    proto = re.search(r"^\s*Protocol\s*: (\S+)", text, re.M)
    cipher = re.search(r"^\s*Cipher\s*: (\S+)", text, re.M)
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    assert proto and cipher and pem, (cmd, text[-3000:], p.stderr.decode(errors="replace"))
    der = ssl.PEM_cert_to_DER_cert(pem.group(0))
    i = out.find(b"HTTP/1.")
    assert i >= 0, text[-3000:]
    head, _, body = out[i:].partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = _hdr(v.strip())
    return Seen(proto.group(1), cipher.group(1), der, sni, status, headers, body)


# ------------------------------------------------------------------------- expectations
ANY = object()   # a value not checked (mod_ssl only)


class Re:
    def __init__(self, rx):
        self.rx = re.compile(rx)

    def __eq__(self, other):
        return isinstance(other, str) and self.rx.fullmatch(other) is not None

    def __repr__(self):
        return "Re(%r)" % self.rx.pattern


def expected(backend, seen, resumed=False):
    """{variable: value or Re} for what the client saw; variables the certificate does not
    define are absent."""
    iana = seen.cipher_iana
    bits = "256" if ("AES_256" in iana or "CHACHA20" in iana) else "128"
    e = {
        "HTTPS": "on",
        "SSL_PROTOCOL": seen.protocol,
        "SSL_CIPHER_USEKEYSIZE": bits,
        "SSL_CIPHER_ALGKEYSIZE": bits,
        "SSL_CIPHER_EXPORT": "false",
        "SSL_TLS_SNI": seen.sni,
        "SSL_SESSION_ID": Re(r"[0-9A-Fa-f]{16,128}"),
        "SSL_SESSION_RESUMED": "Resumed" if resumed else "Initial",
        "SSL_COMPRESS_METHOD": "NULL",
    }
    if backend == "tls":
        e["SSL_CIPHER"] = iana                     # docs/variables.md: the IANA name
        e["SSL_VERSION_INTERFACE"] = Re(r"mod_tls/\d+\.\d+\.\d+\S*")
        e["SSL_VERSION_LIBRARY"] = Re(r"rustls/\d+\.\d+\.\d+\S*")
        e["SSL_SECURE_RENEG"] = "false"
    else:
        e["SSL_CIPHER"] = suite(iana)[1] if not suite(iana)[3] else iana  # OpenSSL's names
        e["SSL_VERSION_INTERFACE"] = Re(r"mod_ssl/2\.4\.\d+")
        e["SSL_VERSION_LIBRARY"] = Re(r"OpenSSL/\d\S*")
        e["SSL_SECURE_RENEG"] = Re("true|false")
        if seen.protocol == "TLSv1.2":
            # OpenSSL gives TLS 1.2 sessions with a ticket no session id
            e["SSL_SESSION_ID"] = ANY
    cert = server_cert_vars(seen.der)
    if backend == "ssl":
        cert = {k: ssl_component(k, v) for k, v in cert.items()}
    e.update(cert)
    return e


def ssl_component(name, value):
    """mod_ssl prints a DN component with ASN1_STRING_print_ex, which doubles backslashes
    (and escapes nothing else); mod_tls gives the value itself."""
    if re.fullmatch(r"SSL_SERVER_[SI]_DN_\w+", name):
        return value.replace("\\", "\\\\")
    return value


def _absent(way):
    """How each way renders a variable that has no value."""
    return {"cgi": None, "rewrite": "", "header": "(null)", "expr": "", "log": "-"}[way]


def read_way(server, way, seen, tag):
    """{variable: value} as the way shows it (None: not there)."""
    if way == "cgi":
        env = seen.env()
        return {v: env.get(v) for v in ALL_VARS + ["SSL_SERVER_CERT"]}
    if way == "rewrite":
        env = seen.env()
        return {v: env.get("RW_" + v) for v in ALL_VARS + ["SSL_SERVER_CERT"]}
    if way in ("header", "expr"):
        p = "x-s-" if way == "header" else "x-x-"
        return {v: seen.headers.get(p + v.lower()) for v in ALL_VARS}
    if way == "log":
        deadline = time.monotonic() + 10
        while True:
            for line in server.read_file("logs/vars_log").splitlines():
                f = line.split("\t")
                if f[0] == tag:
                    assert len(f) == len(ALL_VARS) + 1, line
                    return dict(zip(ALL_VARS, f[1:]))
            assert time.monotonic() < deadline, "no vars_log line for %s" % tag
            time.sleep(0.05)
    raise ValueError(way)


def compare(way, got, exp):
    """Differences as readable lines: variables with a wrong value, missing or extra."""
    diffs = []
    for v, value in got.items():
        want = exp.get(v)
        if want is ANY:
            continue
        if way == "log" and want is not None and not isinstance(want, Re):
            want = log_escape(want)
        if want is None:
            if value != _absent(way):
                diffs.append("%s: expected no value (%r), got %r" % (v, _absent(way), value))
        elif v == "SSL_SERVER_CERT":
            if value is None or value.rstrip("\n") != want.rstrip("\n"):
                diffs.append("%s: expected the PEM the client got:\n%s\ngot %r"
                             % (v, want, value))
        elif way in ("header", "expr") and isinstance(want, str) and value is not None \
                and want.strip() == value.strip():
            pass    # HTTP drops leading and trailing whitespace of a field value
        elif not (want == value):
            diffs.append("%s: expected %r, got %r" % (v, want, value))
    return diffs


_counter = [0]


def _tag(name):
    _counter[0] += 1
    return "%s-%d" % (name, _counter[0])


# (SNI, TLS version, client offers RSA only, OU of the certificate that must be used)
SCENARIOS = [
    ("a.test", "1.2", False, "ecdsa"),
    ("a.test", "1.3", False, "ecdsa"),
    ("a.test", "1.2", True, "rsa"),
    ("a.test", "1.3", True, "rsa"),
    ("dn.test", "1.3", False, None),
    ("www.dn.test", "1.2", False, None),
    ("ed.test", "1.3", False, "ed25519"),
    ("rsaca.test", "1.2", False, "rsa"),
]
SCEN_IDS = ["%s-%s-%s" % (s[0], s[1], "rsaonly" if s[2] else "any") for s in SCENARIOS]


def _fetch(env, server, scen, path, tag):
    sni, version, rsa_only, _ = scen
    if rsa_only and version == "1.3":
        return fetch_s_client(env, server.port(), sni, path, version, rsa_only, tag)
    return fetch_python(env, server.port(), sni, path, version, rsa_only, tag)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("scen", SCENARIOS, ids=SCEN_IDS)
def test_variables(env, server, scen, way):
    """Every variable, one way, on a request where TLSOptions +StdEnvVars +ExportCertData is
    set; compared with the client's view and the certificate it received."""
    tag = _tag("all")
    seen = _fetch(env, server, scen, "/all/env.cgi", tag)
    assert seen.status == 200, (seen.status, seen.body[:1000])
    assert seen.protocol == "TLSv" + scen[1]
    if scen[3]:
        assert ("OU=" + scen[3]) in server_cert_vars(seen.der)["SSL_SERVER_S_DN"]
    exp = expected(env.backend_name, seen)
    diffs = compare(way, read_way(server, way, seen, tag), exp)
    assert not diffs, "%s: %d wrong:\n  %s" % (way, len(diffs), "\n  ".join(diffs))


@pytest.mark.parametrize("way", ["rewrite", "header", "expr", "log"])
@pytest.mark.parametrize("scen", [SCENARIOS[1], SCENARIOS[2]], ids=[SCEN_IDS[1], SCEN_IDS[2]])
def test_variables_without_options(env, server, scen, way):
    """%{SSL:..}, %{..}s, expr and %{..}x read the variables whatever TLSOptions say."""
    tag = _tag("none")
    seen = _fetch(env, server, scen, "/none/env.cgi", tag)
    assert seen.status == 200, (seen.status, seen.body[:1000])
    exp = expected(env.backend_name, seen)
    diffs = compare(way, read_way(server, way, seen, tag), exp)
    assert not diffs, "%s: %d wrong:\n  %s" % (way, len(diffs), "\n  ".join(diffs))


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_cgi_without_std_env_vars(env, server, version):
    """No TLSOptions: HTTPS=on is there, the SSL_* variables are not (mod_ssl sets
    SSL_TLS_SNI nevertheless; mod_tls only under StdEnvVars, docs/migration-from-mod_ssl.md)."""
    seen = fetch_python(env, server.port(), "a.test", "/none/env.cgi", version)
    e = seen.env()
    assert e.get("HTTPS") == "on", e
    assert "SSL_PROTOCOL" not in e, e
    ssl_vars = sorted(k for k in e if k.startswith("SSL_"))
    if env.backend_name == "ssl":
        assert ssl_vars == ["SSL_TLS_SNI"] and e["SSL_TLS_SNI"] == "a.test", ssl_vars
    else:
        assert ssl_vars == [], ssl_vars
    # while the rewrite rules of the same request did read them
    assert e.get("RW_SSL_PROTOCOL") == "TLSv" + version, e
    assert e.get("RW_SSL_TLS_SNI") == "a.test", e


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_session_id_is_the_same_every_way(env, server, version):
    """One request, one session: all five ways report the same SSL_SESSION_ID."""
    tag = _tag("sid")
    seen = fetch_python(env, server.port(), "a.test", "/all/env.cgi", version, tag=tag)
    ids = {}
    for way in WAYS:
        v = read_way(server, way, seen, tag)["SSL_SESSION_ID"]
        ids[way] = None if v == _absent(way) else v
    assert len(set(ids.values())) == 1, ids
    if env.backend_name == "ssl" and version == "1.2":
        return      # OpenSSL: no session id with a TLS 1.2 ticket
    assert Re(r"[0-9A-Fa-f]{16,128}") == ids["cgi"], ids


def test_dn_components(env, server):
    """The certificate with three OUs, an e-mail address and UTF-8: the components in
    certificate order (_OU, _OU_1, _OU_2), the RFC 2253 string with its escapes."""
    seen = fetch_python(env, server.port(), "dn.test", "/all/env.cgi", "1.3")
    e = seen.env()
    want = {
        "SSL_SERVER_S_DN_C": "DE",
        "SSL_SERVER_S_DN_ST": "#Hash State",
        "SSL_SERVER_S_DN_L": " Berlin ",
        "SSL_SERVER_S_DN_O": ssl_component("SSL_SERVER_S_DN_O", 'Example, Inc. "q" +plus <lt> '
                                           '>gt ;semi \\back =eq') if env.backend_name == "ssl"
        else 'Example, Inc. "q" +plus <lt> >gt ;semi \\back =eq',
        "SSL_SERVER_S_DN_OU": "alpha",
        "SSL_SERVER_S_DN_OU_1": "beta",
        "SSL_SERVER_S_DN_OU_2": "gamma",
        "SSL_SERVER_S_DN_CN": "dn.test Zürich \u2713 Ωμέγα",
        "SSL_SERVER_S_DN_Email": "tls@dn.test",
        "SSL_SERVER_S_DN": "emailAddress=tls@dn.test,CN=dn.test Zürich \u2713 Ωμέγα,OU=gamma,"
                           "OU=beta,OU=alpha,O=Example\\, Inc. \\\"q\\\" \\+plus \\<lt\\> \\>gt "
                           "\\;semi \\\\back =eq,L=\\ Berlin\\ ,ST=\\#Hash State,C=DE",
        "SSL_SERVER_I_DN": "CN=mod_tls test intermediate CA,O=mod_tls tests",
        "SSL_SERVER_I_DN_CN": "mod_tls test intermediate CA",
        "SSL_SERVER_M_SERIAL": "0A1B2C3D4E5F60718293A4B5C6D7E8F9",
        "SSL_SERVER_SAN_DNS_0": "dn.test",
        "SSL_SERVER_SAN_DNS_1": "www.dn.test",
        "SSL_SERVER_SAN_DNS_2": "*.x.dn.test",
    }
    got = {k: e.get(k) for k in want}
    assert got == want
    assert "SSL_SERVER_SAN_DNS_3" not in e, e
    assert "SSL_SERVER_S_DN_OU_3" not in e, e


@pytest.mark.parametrize("host,version,key,sig", [
    ("a.test", "1.3", "id-ecPublicKey", "ecdsa-with-SHA256"),
    ("ed.test", "1.3", "ED25519", "ecdsa-with-SHA256"),
    ("rsaca.test", "1.2", "rsaEncryption", "sha256WithRSAEncryption"),
])
def test_algorithm_names(env, server, host, version, key, sig):
    """SSL_SERVER_A_KEY / A_SIG by their OpenSSL long names (as `openssl x509 -text`)."""
    e = fetch_python(env, server.port(), host, "/all/env.cgi", version).env()
    assert (e.get("SSL_SERVER_A_KEY"), e.get("SSL_SERVER_A_SIG")) == (key, sig), e


def test_rsa_and_ecdsa_certificates_of_one_vhost(env, server):
    """The SSL_SERVER_* variables describe the certificate the handshake used."""
    ec = fetch_python(env, server.port(), "a.test", "/all/env.cgi", "1.2").env()
    rsa = fetch_python(env, server.port(), "a.test", "/all/env.cgi", "1.2", rsa_only=True).env()
    leaf_ec, leaf_rsa = env.certs.leaf("a.test"), env.certs.leaf("a.test", "rsa")
    assert ec["SSL_SERVER_A_KEY"] == "id-ecPublicKey", ec
    assert rsa["SSL_SERVER_A_KEY"] == "rsaEncryption", rsa
    assert ec["SSL_SERVER_S_DN_OU"] == "ecdsa" and rsa["SSL_SERVER_S_DN_OU"] == "rsa"
    assert ec["SSL_SERVER_M_SERIAL"] == "%X" % leaf_ec.x509.serial_number or \
        ec["SSL_SERVER_M_SERIAL"] == "0%X" % leaf_ec.x509.serial_number, ec
    assert rsa["SSL_SERVER_M_SERIAL"] in ("%X" % leaf_rsa.x509.serial_number,
                                          "0%X" % leaf_rsa.x509.serial_number), rsa
    assert ec["SSL_SERVER_CERT"].rstrip("\n") == leaf_ec.leaf_pem.decode().rstrip("\n")
    assert rsa["SSL_SERVER_CERT"].rstrip("\n") == leaf_rsa.leaf_pem.decode().rstrip("\n")


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_if_elseif(env, server, version):
    seen = fetch_python(env, server.port(), "a.test", "/if/", version)
    assert seen.status == 200 and seen.headers.get("x-if") == "is " + version, seen.headers


@pytest.mark.allow_errors(r"\[authz_core:error\].*AH01630")   # the 403s
def test_require_expr_protocol(env, server):
    assert fetch_python(env, server.port(), "a.test", "/tls13-only/", "1.3").status == 200
    assert fetch_python(env, server.port(), "a.test", "/tls13-only/", "1.2").status == 403


@pytest.mark.allow_errors(r"\[authz_core:error\].*AH01630")   # the 403s
def test_require_expr_sni(env, server):
    assert fetch_python(env, server.port(), "a.test", "/sni-check/", "1.3").status == 200
    assert fetch_python(env, server.port(), "dn.test", "/sni-check/", "1.3").status == 403


@pytest.mark.allow_errors(r"\[authz_core:error\].*AH01630")   # the 403s
def test_require_expr_certificate(env, server):
    """Require expr on SSL_SERVER_S_DN_*: granted only with the RSA certificate."""
    assert fetch_python(env, server.port(), "a.test", "/cn-check/", "1.2",
                        rsa_only=True).status == 200
    assert fetch_python(env, server.port(), "a.test", "/cn-check/", "1.2").status == 403
    assert fetch_s_client(env, server.port(), "a.test", "/cn-check/", "1.3",
                          rsa_only=True).status == 200


def test_require_expr_initial_session(env, server):
    assert fetch_python(env, server.port(), "a.test", "/resumed-check/", "1.3").status == 200


def test_access_log_format(env, server):
    """The LogFormat of the task: protocol, cipher and resumption of each request."""
    for version in ("1.2", "1.3"):
        tag = _tag("log" + version)
        seen = fetch_python(env, server.port(), "a.test", "/if/", version, tag=tag)
        got = read_way(server, "log", seen, tag)
        exp = expected(env.backend_name, seen)
        assert (got["SSL_PROTOCOL"], got["SSL_CIPHER"], got["SSL_SESSION_RESUMED"]) == \
            (exp["SSL_PROTOCOL"], exp["SSL_CIPHER"], "Initial")
