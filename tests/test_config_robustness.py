"""Every directive of mod_tls against every kind of mistake (issue 7): a garbage value (for
file directives: a missing file, a directory, binary garbage, an empty file, text or PEM that is
not what is expected), an empty argument, too many arguments, no argument, and every context
docs/directives.md does not list; and settings that contradict each other. Each mistake stops
the server: `apache2 -t` fails (for what only a start can find: `apache2 -k start` fails with an
exit status), with a message that names the directive, the bad value or file, and the
configuration line. A start reads the configuration as `-t` does: one case of each kind per
directive is also started for real. In .htaccess, read per request, a mistake is answered 500
and logged.

The table below is checked against the module's sources (AP_INIT_* entries) and against the
docs' directive tables, so that a directive cannot be added without its cases; the contexts are
read from the docs, and each allowed context is shown to accept a valid value."""
import base64
import collections
import os
import re

import pytest

from conftest import server_fixture
from harness import clients
from harness.backends import write_ticket_keys

pytestmark = pytest.mark.tls_only

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ------------------------------------------------------------------------------ the files
# @F(name)@ in a value is one of these files (made once per module, see `files`).
PEM_BAD_BASE64 = (b"-----BEGIN CERTIFICATE-----\n!!!! this is not base64 ****\n"
                  b"-----END CERTIFICATE-----\n")


def _make_files(env):
    c = env.certs
    d = os.path.join(env.workdir, "robustness")
    os.makedirs(os.path.join(d, "a-directory"), exist_ok=True)
    os.chmod(d, 0o755)
    leaf = c.leaf("a.test")

    def write(name, data, mode=0o600):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        return p

    cert_pem = open(leaf.cert, "rb").read()
    return {
        "missing": os.path.join(d, "no-such-dir", "missing.pem"),
        "dir": os.path.join(d, "a-directory"),
        "binary": write("binary.bin", bytes(range(256)) + os.urandom(512) + b"\0\0\0"),
        "empty": write("empty.pem", b""),
        "text": write("text.pem", b"this is not a certificate\nnor a key\n"),
        "badpem": write("bad-base64.pem", PEM_BAD_BASE64),
        "truncated": write("truncated.pem", cert_pem[:len(cert_pem) // 2]),
        "cert": leaf.cert,
        "key": leaf.key,
        "rsacert": c.leaf("a.test", "rsa").cert,    # not the test vhost's own pair
        "rsakey": c.leaf("a.test", "rsa").key,
        "mismatch": c.path("mismatch.key"),
        "encrypted": c.path("a.test-ecdsa.encrypted.key"),
        "nokey": c.path("nokey.key"),            # a certificate where a key should be
        "clientca": c.client_ca_file,
        "crl": c.path("client-root.crl.pem"),
        "othercrl": c.path("client-other.crl.pem"),     # issued by a CA not in TLSClientCA
        "forgedcrl": c.path("client-root-forged.crl.pem"),
        "alice": c.path("client-alice.pem"),
        "alicekey": c.path("client-alice.key"),
        "ticketkeys": write_ticket_keys(os.path.join(d, "ticket.keys"), [os.urandom(48)]),
        "shortkey": write("short.keys", b"%s\n" % base64.b64encode(os.urandom(32))),
        "longkey": write("long.keys", b"%s\n" % base64.b64encode(os.urandom(64))),
    }


@pytest.fixture(scope="module")
def files(env):
    return _make_files(env)


def _fill(text, files):
    return re.sub(r"@F\((\w+)\)@", lambda m: files[m.group(1)], text)


# ------------------------------------------------------------------------------ the table
# One bad value: the argument text as written, more strings the message must contain (a tuple:
# any of them), and when the mistake is found: "config" (`apache2 -t` and the start) or "start"
# (only a start opens it, e.g. a cache file). Every message also names the line.
Bad = collections.namedtuple("Bad", "arg needles phase")


def bad(arg, *needles, phase="config"):
    return Bad(arg, list(needles), phase)


def file_cases(*kinds, prefix="", suffix=""):
    """Bad files in the position of prefix/suffix: each names the file in its message."""
    return [bad(prefix + "@F(%s)@" % k + suffix, "@F(%s)@" % k) for k in kinds]


# The directive's entry: a valid argument; scope "global" (server config only) or "vhost"
# (where its values are tried); setup lines that make the value count; bad values; the
# arguments for "too many" (or a reason why there is no such thing); empty-argument forms.
Spec = collections.namedtuple("Spec", "valid scope setup garbage too_many empty")

NO_TOO_MANY_LIST = "takes a list: any number of names is one valid argument"
ON_OFF = [bad("yes", "'yes'"), bad("1", "'1'"), bad("onn", "'onn'"), bad("enabled", "'enabled'")]
SUITES_BAD = [
    bad("NOT-A-CIPHER", "NOT-A-CIPHER"),
    bad("HIGH:!aNULL", "HIGH", "OpenSSL cipher-string syntax"),
    bad("TLS_CIPHER_0x12345", "TLS_CIPHER_0x12345"),
    bad("TLS_CIPHER_0x", "TLS_CIPHER_0x"),
    bad("TLS_AES_128_GCM_SHA256:NOPE", "'NOPE'"),
    bad(":::", "no cipher suite"),
    bad('"TLS_AES_128_GCM_SHA256 NOPE2"', "'NOPE2'"),
    bad("X" * 3000, "X" * 3000),
]
PROTOCOL_BAD = [bad(v, "'%s'" % v) for v in ("TLSv1.4+", "SSLv3+", "TLSv1.2", "+TLSv1.2",
                                             "all", "TLSv1.2+,TLSv1.3+")] + [
    # httpd writes bytes beyond ASCII as \xNN
    bad("ünïcode+", ("'ünïcode+'", r"'\xc3\xbcn\xc3\xafcode+'"))]
CERT_FILES = ("missing", "dir", "binary", "empty", "text", "badpem", "truncated")

SPECS = {
    "TLSEngine": Spec(
        "@PORT(https)@", "global", "",
        [bad(v, "'%s'" % v) for v in ("foo:bar", "99999", "127.0.0.1:99999", "0", "-1",
                                      "127.0.0.1:", "no-such-host.invalid:443", "443:443",
                                      "[::1", "http://127.0.0.1:443", "443x",
                                      "[fe80::1%lo]:443")],
        "@PORT(https)@ 8443", ['""']),
    "TLSCertificate": Spec(
        "@F(rsacert)@ @F(rsakey)@", "vhost", "",
        file_cases(*CERT_FILES, suffix=" @F(key)@")
        + file_cases("key", suffix=" @F(key)@")                     # a key, no certificate
        + file_cases("missing", "dir", "binary", "empty", "text", "badpem", "nokey",
                     "encrypted", prefix="@F(cert)@ ")
        + [bad("@F(cert)@ @F(mismatch)@", "@F(mismatch)@", "does not belong")],
        "@F(cert)@ @F(key)@ @F(key)@", ['""', '@F(cert)@ ""']),
    "TLSProtocol": Spec("TLSv1.3+", "vhost", "", PROTOCOL_BAD + [bad("X" * 3000, "X" * 3000)],
                        "TLSv1.2+ TLSv1.3+", ['""']),
    "TLSCiphersPrefer": Spec("TLS_AES_128_GCM_SHA256", "vhost", "", SUITES_BAD,
                             NO_TOO_MANY_LIST, ['""']),
    "TLSCiphersSuppress": Spec("TLS_AES_128_GCM_SHA256", "vhost", "", SUITES_BAD,
                               NO_TOO_MANY_LIST, ['""']),
    "TLSHonorClientOrder": Spec("off", "vhost", "", ON_OFF, "on off", ['""']),
    "TLSStrictSNI": Spec("off", "global", "", ON_OFF, "on off", ['""']),
    "TLSOptions": Spec(
        "+StdEnvVars", "vhost", "",
        [bad("+Bogus", "'Bogus'"), bad("FakeBasicAuth", "'FakeBasicAuth'"),
         bad("StdEnvVars +ExportCertData", "either all options must start with + or -"),
         bad("++StdEnvVars", "'+StdEnvVars'"), bad("+", "''"), bad("-Defaults", "'Defaults'")],
        "takes a list: any number of options is one valid argument", ['""']),
    "TLSSessionCache": Spec(
        "none", "global", "",
        [bad("bogus:whatever", "'bogus'"),
         bad("memcache:127.0.0.1:11211", "'memcache'", "socache_memcache"),
         bad("shmcb:@ROOT@/run/x(abc)", "shmcb"),
         bad("dbm:@F(missing)@", "@F(missing)@", "cannot be initialized", phase="start"),
         bad("nonex", "'nonex'")],
        "none extra", ['""']),
    "TLSSessionCacheTimeout": Spec(
        "600", "global", "",
        [bad(v, "'%s'" % v) for v in ("-1", "0", "abc", "604801", "99999999999999999999",
                                      "1.5", "300s", "0x10", "-99999999999999999999")],
        "300 600", ['""']),
    "TLSSessionTickets": Spec("off", "vhost", "", ON_OFF, "on off", ['""']),
    "TLSSessionTicketKeyFile": Spec(
        "@F(ticketkeys)@", "global", "",
        file_cases("missing", "dir", "binary", "empty", "text", "shortkey", "longkey", "cert"),
        "@F(ticketkeys)@ @F(ticketkeys)@", ['""']),
    "TLSClientCertificate": Spec(
        "none", "vhost", "",
        [bad("optional_no_ca", "'optional_no_ca'", "not supported"), bad("yes", "'yes'"),
         bad("require_all", "'require_all'"), bad("on", "'on'")],
        "optional required", ['""']),
    "TLSClientCA": Spec(
        "@F(clientca)@", "vhost", "TLSClientCertificate required",
        file_cases("missing", "dir", "binary", "empty", "text", "badpem", "truncated",
                   "key", "crl"),
        "@F(clientca)@ @F(clientca)@", ['""']),
    "TLSClientCRL": Spec(
        "@F(crl)@", "vhost", "TLSClientCertificate required\nTLSClientCA @F(clientca)@",
        file_cases("missing", "dir", "binary", "empty", "text", "badpem", "clientca",
                   "othercrl", "forgedcrl"),
        "@F(crl)@ @F(crl)@", ['""']),
    "TLSVerifyDepth": Spec(
        "2", "vhost", "",
        [bad(v, "'%s'" % v) for v in ("-1", "101", "abc", "1.5", "2x",
                                      "99999999999999999999", "0x2")],
        "1 2", ['""']),
    "TLSUserName": Spec(
        "SSL_CLIENT_S_DN_CN", "vhost", "",
        [bad("REMOTE_USER", "'REMOTE_USER'"),
         bad("%{SSL_CLIENT_S_DN_CN}", "'%{SSL_CLIENT_S_DN_CN}'"),
         bad("SSL_", "'SSL_'")],
        "SSL_CLIENT_S_DN_CN SSL_CLIENT_S_DN_O", ['""']),
    "TLSProxyEngine": Spec("off", "vhost", "", ON_OFF, "on off", ['""']),
    "TLSProxyCA": Spec(
        "system", "vhost", "TLSProxyEngine on",
        file_cases("missing", "dir", "binary", "empty", "text", "badpem", "key"),
        "system system", ['""']),
    "TLSProxyProtocol": Spec("TLSv1.3+", "vhost", "", PROTOCOL_BAD, "TLSv1.2+ TLSv1.3+", ['""']),
    "TLSProxyCiphersPrefer": Spec("TLS_AES_128_GCM_SHA256", "vhost", "", SUITES_BAD,
                                  NO_TOO_MANY_LIST, ['""']),
    "TLSProxyCiphersSuppress": Spec("TLS_AES_128_GCM_SHA256", "vhost", "", SUITES_BAD,
                                    NO_TOO_MANY_LIST, ['""']),
    "TLSProxyMachineCertificate": Spec(
        "@F(alice)@ @F(alicekey)@", "vhost", "TLSProxyEngine on\nTLSProxyCA system",
        file_cases(*CERT_FILES, suffix=" @F(alicekey)@")
        + file_cases("missing", "dir", "binary", "empty", "text", "nokey", "mismatch",
                     prefix="@F(alice)@ "),
        "@F(alice)@ @F(alicekey)@ @F(alicekey)@", ['""', '@F(alice)@ ""']),
    "TLSProxySessionCache": Spec(
        "16", "vhost", "",
        [bad(v, "'%s'" % v) for v in ("lots", "-1", "1000001", "1.5", "on", "1e3")],
        "16 32", ['""']),
}

# Settings that contradict each other, or the same setting twice where that matters.
Conflict = collections.namedtuple("Conflict", "directive scope text bad_line needles line")
CONFLICTS = [
    Conflict("TLSEngine", "global", "TLSEngine @PORT(https)@\nTLSEngine @PORT(https)@",
             "TLSEngine @PORT(https)@", ["TLSEngine", "'@PORT(https)@'", "twice"], True),
    Conflict("TLSEngine", "global", "TLSEngine 127.0.0.1:@PORT(https)@",
             "TLSEngine 127.0.0.1:@PORT(https)@",
             ["TLSEngine", "'127.0.0.1:@PORT(https)@'", "twice"], True),
    Conflict("TLSEngine", "global", "TLSEngine *:@PORT(https)@\nTLSEngine @PORT(https)@",
             "TLSEngine @PORT(https)@", ["TLSEngine", "'@PORT(https)@'", "twice"], True),
    # not used with TLSClientCertificate none, and still read and checked (as mod_ssl does)
    Conflict("TLSClientCA", "vhost", "TLSClientCertificate none\nTLSClientCA @F(text)@",
             "TLSClientCA @F(text)@", ["TLSClientCA", "@F(text)@"], True),
    Conflict("TLSClientCRL", "vhost", "TLSClientCA @F(clientca)@\nTLSClientCRL @F(othercrl)@",
             "TLSClientCRL @F(othercrl)@", ["TLSClientCRL", "@F(othercrl)@"], True),
    Conflict("TLSClientCertificate", "vhost", "TLSClientCertificate optional",
             None, ["TLSClientCertificate optional", "TLSClientCA", "a.test"], False),
    Conflict("TLSCiphersSuppress", "vhost",
             "TLSProtocol TLSv1.3+\nTLSCiphersSuppress TLS_AES_256_GCM_SHA384:"
             "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
             None, ["TLSCiphersSuppress", "a.test"], False),
    Conflict("TLSProxyCiphersSuppress", "vhost",
             "TLSProxyEngine on\nTLSProxyCA system\nTLSProxyProtocol TLSv1.3+\n"
             "TLSProxyCiphersSuppress TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:"
             "TLS_CHACHA20_POLY1305_SHA256",
             None, ["TLSProxyCiphersSuppress", "a.test"], False),
    Conflict("TLSClientCRL", "vhost",
             "TLSClientCertificate required\nTLSClientCRL @F(crl)@", None,
             ["TLSClientCertificate required", "TLSClientCA"], False),
]

# --------------------------------------------------------------------- docs and sources
def _module_directives():
    """{directive: AP_INIT_ kind (TAKE1, TAKE12, RAW_ARGS, ...)} from the module's sources."""
    names = {}
    mod = os.path.join(REPO, "module")
    for fn in os.listdir(mod):
        if fn.endswith(".c"):
            with open(os.path.join(mod, fn)) as f:
                for kind, name in re.findall(r'AP_INIT_(\w+)\(\s*"(TLS\w+)"', f.read()):
                    names[name] = kind
    return names


def _doc_contexts():
    """{directive: set of contexts} from the tables of docs/directives.md."""
    out = {}
    with open(os.path.join(REPO, "docs", "directives.md")) as f:
        for row in f:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())]
            if len(cells) < 4:
                continue
            m = re.match(r"\[(TLS\w+)\]\(#\w+\)", cells[1])
            if m:
                out[m.group(1)] = {c.strip() for c in cells[2].split(",")}
    return out


DOC_CONTEXTS = _doc_contexts()

# Where a directive can be written, and the docs' context each place belongs to (Apache's
# "directory" context is <Directory>, <Location>, <Files>, <If> and <Proxy>).
PLACES = {
    "server-config": ("server config", None),
    "virtualhost": ("virtual host", None),
    "Directory": ("directory", '<Directory "@ROOT@/htdocs">\n  %s\n</Directory>'),
    "Location": ("directory", '<Location "/somewhere">\n  %s\n</Location>'),
    "Files": ("directory", '<Files "x.txt">\n  %s\n</Files>'),
    "If": ("directory", '<If "true">\n  %s\n</If>'),
    "Proxy": ("proxy section", '<Proxy "https://backend.test/">\n  %s\n</Proxy>'),
    "ProxyMatch": ("proxy section", '<ProxyMatch "^https://backend">\n  %s\n</ProxyMatch>'),
    "Location-in-vhost": ("directory", '<Location "/somewhere">\n  %s\n</Location>'),
}


def _allowed(directive, place):
    ctx = PLACES[place][0]
    docs = DOC_CONTEXTS.get(directive, set())
    return ctx in docs or (ctx == "proxy section" and "directory" in docs)


# ------------------------------------------------------------------------------ the cases
Case = collections.namedtuple("Case", "directive kind scope text bad_line needles phase line")

CONTEXT_WORDS = ("not allowed here", "not allowed in", "cannot occur within")
ARG_COUNT_WORDS = ("takes one argument", "takes 1-2 arguments")
# "" is no argument to httpd for TAKE1 (and no key file for TAKE12); lists say they are empty
EMPTY_WORDS = ARG_COUNT_WORDS + ("no cipher suite given", "unknown option ''",
                                 "no PRIVATE KEY section found")


def _cases():
    for name in sorted(SPECS):
        sp = SPECS[name]
        setup = sp.setup + "\n" if sp.setup else ""
        for b in sp.garbage:
            line = "%s %s" % (name, b.arg)
            yield Case(name, "garbage", sp.scope, setup + line, line, [name] + b.needles,
                       b.phase, True)
        for arg in sp.empty:
            line = "%s %s" % (name, arg)
            yield Case(name, "empty", sp.scope, setup + line, line, [name, EMPTY_WORDS],
                       "config", True)
        if not sp.too_many.startswith("takes a list"):
            line = "%s %s" % (name, sp.too_many)
            yield Case(name, "too-many", sp.scope, setup + line, line,
                       [name, ARG_COUNT_WORDS], "config", True)
        yield Case(name, "none", sp.scope, setup + name, name,
                   [name, ARG_COUNT_WORDS + ("needs", "no cipher suite given")], "config", True)
        line = "%s %s" % (name, sp.valid)
        for place, (ctx, wrap) in PLACES.items():
            if _allowed(name, place):
                continue
            scope = "vhost" if place in ("virtualhost", "Location-in-vhost") else "global"
            text = wrap % line if wrap else line
            yield Case(name, "context:" + place, scope, text, line, [name, CONTEXT_WORDS],
                       "config", True)
    for c in CONFLICTS:
        yield Case(c.directive, "conflict", c.scope, c.text, c.bad_line, c.needles, "config",
                   c.line)


CASES = list(_cases())


def _case_id(c):
    text = c.bad_line or c.text.splitlines()[-1]
    text = re.sub(r"@F\((\w+)\)@", r"\1", text)
    text = re.sub(r"@PORT\((\w+)\)@", "PORT", text)
    if len(text) > 60:
        text = text[:50] + "...%d" % len(text)
    return "%s:%s" % (c.kind, text)


def _server(env, name, scope, text):
    modules = ["socache_shmcb"]
    if "Proxy" in text:
        modules += ["proxy", "proxy_http"]
    if "dbm:" in text:
        modules.append("socache_dbm")
    h = env.httpd(name, modules=modules)
    h.listen("https")
    kw = {"certs": [env.certs.leaf("a.test").pair]}
    if scope == "vhost":
        kw["extra"] = "\n".join("  " + l for l in text.splitlines())
    else:
        h.global_extra = text
    h.vhost("a.test", **kw)
    return h


def _line_no(h, line):
    """The 1-based number of the last line of the generated config whose text is ``line``."""
    want = h._subst(line).strip()
    found = None
    with open(h.conf_path) as f:
        for n, text in enumerate(f, 1):
            if text.strip() == want:
                found = n
    assert found, "%r not in %s" % (want, h.conf_path)
    return found


def _check_output(h, case, r, files, what):
    out = r.output
    assert "Invalid command" not in out, r   # the module is loaded and knows its directives
    for s in case.needles:
        alts = s if isinstance(s, tuple) else (s,)
        alts = [h._subst(_fill(a, files)) for a in alts]
        assert any(a in out for a in alts), "%s: none of %r in the output:\n%r" % (what, alts, r)
    if case.line and case.bad_line:
        n = _line_no(h, _fill(case.bad_line, files))
        assert ("line %d of %s" % (n, h.conf_path) in out
                or "%s:%d" % (h.conf_path, n) in out), \
            "%s: the message does not point at line %d of %s:\n%r" % (what, n, h.conf_path, r)


def _refused(env, files, case, start):
    h = _server(env, "robust", case.scope, _fill(case.text, files))
    if not start:
        r = h.configtest()
        what = "apache2 -t"
    else:
        r = h.start(check=False, wait_timeout=20)
        if r.ok:
            h.stop()
        what = "apache2 -k start"
    assert not r.ok and r.returncode != 0, "%s accepted it: %r" % (what, r)
    _check_output(h, case, r, files, what)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_mistake_stops_the_server(env, files, case):
    """`apache2 -t` refuses it (a start reads the configuration the same way, see below), or,
    for what only a start finds, `apache2 -k start` fails with an exit status."""
    _refused(env, files, case, start=case.phase == "start")


def _start_sample():
    seen = set()
    for c in CASES:
        if c.phase != "config" or c.kind not in ("garbage", "empty", "too-many", "none",
                                                 "context:virtualhost", "context:Directory",
                                                 "conflict"):
            continue
        if c.kind == "conflict" or (c.directive, c.kind) not in seen:
            seen.add((c.directive, c.kind))
            yield c


START_SAMPLE = list(_start_sample())


@pytest.mark.parametrize("case", START_SAMPLE, ids=[_case_id(c) for c in START_SAMPLE])
def test_start_refuses_what_configtest_refuses(env, files, case):
    """The first case of each kind per directive, started for real: `apache2 -k start` fails
    too, with the same message."""
    _refused(env, files, case, start=True)


# ------------------------------------------------------------------------- valid controls
def _valid_cases():
    for name in sorted(SPECS):
        for place, (ctx, wrap) in PLACES.items():
            if _allowed(name, place):
                yield name, place


@pytest.mark.parametrize("directive,place", list(_valid_cases()))
def test_valid_value_accepted_where_docs_allow(env, files, directive, place):
    """The control of the context cases: the same line is fine where the docs allow it."""
    sp = SPECS[directive]
    wrap = PLACES[place][1]
    line = "%s %s" % (directive, sp.valid)
    text = _fill(wrap % line if wrap else line, files)
    scope = "vhost" if place in ("virtualhost", "Location-in-vhost") else "global"
    h = _server(env, "robust-ok", scope, text)
    r = h.configtest()
    assert r.ok, r


# ------------------------------------------------------------------------------- .htaccess
HT_DIRS = sorted(SPECS)
HT_ERRORS = r"\[core:alert\].*/\.htaccess: TLS\w+"
# bad values in .htaccess, for the directives that may be there
HT_BAD = [(name, b) for name in HT_DIRS if ".htaccess" in DOC_CONTEXTS.get(name, ())
          for b in SPECS[name].garbage + [bad('""')]]


@pytest.fixture(scope="module")
def ht_server(env, files):
    """One server; per directive a directory whose .htaccess has a valid line of it, under
    AllowOverride All, and one under AllowOverride Indexes (which allows none of ours); per bad
    value of HT_BAD a directory whose .htaccess has it, under AllowOverride All."""
    h = env.httpd("robust-ht", modules=["proxy"], allowed_errors=[HT_ERRORS])
    h.listen("https")
    root = os.path.join(h.root, "htdocs", "a.test")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=(
        '  <Directory "%s/ht">\n    AllowOverride All\n  </Directory>\n'
        '  <Directory "%s/ht-narrow">\n    AllowOverride Indexes\n  </Directory>' % (root, root)))
    for name in HT_DIRS:
        line = "%s %s\n" % (name, _fill(SPECS[name].valid, files))
        h.write_file("htdocs/a.test/ht/%s/.htaccess" % name, line)
        h.write_file("htdocs/a.test/ht/%s/f.txt" % name, "ok\n")
        h.write_file("htdocs/a.test/ht-narrow/%s/.htaccess" % name, line)
        h.write_file("htdocs/a.test/ht-narrow/%s/f.txt" % name, "ok\n")
    for i, (name, b) in enumerate(HT_BAD):
        d = "htdocs/a.test/ht/bad-%d" % i
        h.write_file(d + "/.htaccess", "%s %s\n" % (name, b.arg))
        h.write_file(d + "/f.txt", "ok\n")
    h.start()
    yield from server_fixture(h)


def _get(env, h, path):
    st, _, body = clients.get(h.port(), path, "a.test", ca=env.ca)
    return st, body


@pytest.mark.allow_errors(HT_ERRORS)
@pytest.mark.parametrize("directive", HT_DIRS)
def test_htaccess(env, ht_server, directive):
    """.htaccess under AllowOverride All: what the docs allow there works, the rest is answered
    500 with an error-log line that names the .htaccess file and the directive. With an
    AllowOverride that leaves the directive out, it is refused the same way."""
    h = ht_server
    docs = DOC_CONTEXTS[directive]
    path = "/ht/%s/f.txt" % directive
    mark = h.log_mark()
    st, body = _get(env, h, path)
    if ".htaccess" in docs:
        assert st == 200 and body == b"ok\n", (st, body[:300])
    else:
        assert st == 500, (st, body[:300])
        assert h.wait_log(r"/htdocs/a\.test/ht/%s/\.htaccess: %s (not allowed here|cannot "
                          r"occur)" % (directive, directive), since=mark), \
            h.log_since(mark)
    st, body = _get(env, h, "/ht-narrow/%s/f.txt" % directive)
    assert st == 500, (st, body[:300])
    assert h.wait_log(r"ht-narrow/%s/\.htaccess: %s not allowed here" % (directive, directive),
                      since=mark), h.log_since(mark)


@pytest.mark.allow_errors(HT_ERRORS)
@pytest.mark.parametrize("i", range(len(HT_BAD)),
                         ids=["%s %s" % (n, b.arg) for n, b in HT_BAD])
def test_htaccess_bad_value(env, ht_server, i):
    h = ht_server
    directive, b = HT_BAD[i]
    d = "bad-%d" % i
    mark = h.log_mark()
    st, body = _get(env, h, "/ht/%s/f.txt" % d)
    assert st == 500, (st, body[:300])
    assert h.wait_log(r"ht/%s/\.htaccess: %s" % (re.escape(d), directive), since=mark), \
        h.log_since(mark)
    log = h.log_since(mark)
    for s in b.needles:
        alts = s if isinstance(s, tuple) else (s,)
        assert any(a in log for a in alts), (alts, log)


# ------------------------------------------------------------------------------- coverage
def test_table_covers_every_directive_of_the_module():
    """Every directive the module registers has its cases here and a row in the docs, and
    nothing here or in the docs is stale."""
    kinds_in_source = _module_directives()
    registered = set(kinds_in_source)
    assert len(registered) >= 24, registered
    assert set(SPECS) == registered, (set(SPECS) ^ registered)
    assert set(DOC_CONTEXTS) == registered, (set(DOC_CONTEXTS) ^ registered)
    kinds = collections.defaultdict(set)
    for c in CASES:
        kinds[c.directive].add(c.kind.split(":")[0])
    for name, sp in SPECS.items():
        need = {"garbage", "empty", "none"}
        # only a directive that parses its own words can take any number of them
        assert sp.too_many.startswith("takes a list") == (kinds_in_source[name] == "RAW_ARGS"), \
            (name, kinds_in_source[name], sp.too_many)
        if not sp.too_many.startswith("takes a list"):
            need.add("too-many")
        # wrong contexts: the places the docs do not list, and .htaccess (test_htaccess)
        assert name in HT_DIRS
        assert need <= kinds[name], (name, need - kinds[name])
        assert DOC_CONTEXTS[name] <= {"server config", "virtual host", "directory",
                                      ".htaccess", "proxy section"}, (name, DOC_CONTEXTS[name])
        # a directive that takes a file has every kind of bad file
        if "@F(" in sp.valid:
            args = " ".join(b.arg for b in sp.garbage)
            for k in ("missing", "dir", "binary", "empty"):
                assert "@F(%s)@" % k in args, (name, k)
