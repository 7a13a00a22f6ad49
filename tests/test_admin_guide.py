"""docs/admin-guide.md tells the truth (issue 8): every ```apache block in it is run through a
real `apache2 -t`, and the named ones are started and asked what the guide says they do; every
TLSnnnn tag it mentions is in docs/logging.md, every TLS* directive in docs/directives.md,
every mod_ssl directive in docs/migration-from-mod_ssl.md, and its links lead somewhere.

How a block is checked is written in the guide, in an HTML comment right before it:

    <!-- check: site [NAME] -->     the block as it stands, in the server config
    <!-- check: server [NAME] -->   server-config lines, next to the test site below
    <!-- check: vhost [NAME] -->    lines inside the test site's <VirtualHost>
    <!-- not checked: REASON -->    skipped; at most MAX_UNCHECKED of these

A NAME adds a start and the requests of LIVE[NAME]. Around every block the test puts what a
Debian 12 server has anyway: Debian's ports.conf, the modules Debian enables by default that
the examples use, those `a2enmod tls` enables (tls.load's Depends), and the modules the block's
directives need (MODULE_HINTS). The example's paths, host names and ports are replaced by the
test's own through the explicit tables below; an example path left unmapped fails the test."""
import collections
import os
import re
import time

import pytest

from conftest import running
from harness import clients, httpd
from harness.backends import write_ticket_keys
from harness.httpd import pick_port

pytestmark = pytest.mark.tls_only

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(REPO, "docs")
GUIDE = os.path.join(DOCS, "admin-guide.md")
MAX_UNCHECKED = 2

for _name, _so in (("md", "mod_md.so"), ("authz_host", "mod_authz_host.so"),
                   ("authz_user", "mod_authz_user.so")):
    httpd.KNOWN_MODULES.setdefault(_name, ("%s_module" % _name, _so))

# ------------------------------------------------------------------------ the substitutions
# Example path -> the test's file: certs/<name> is a file of the test PKI
# (harness/certs.py), root/<name> is under the server root, work/<name> is made by `files`.
EXAMPLE_PATHS = {
    "/etc/ssl/certs/www.example.org.pem": "certs/a.test-ecdsa.pem",
    "/etc/ssl/private/www.example.org.key": "certs/a.test-ecdsa.key",
    "/etc/ssl/certs/clients-ca.pem": "certs/client-ca.pem",
    "/etc/ssl/crl/clients-ca.crl": "certs/client-root.crl.pem",
    "/etc/ssl/certs/internal-ca.pem": "certs/ca.pem",
    "/etc/apache2/proxy-client.pem": "certs/client-alice.pem",
    "/etc/apache2/proxy-client.key": "certs/client-alice.key",
    "/etc/apache2/tls/ticket-keys": "work/ticket-keys",
    "/var/www/example.org": "root/htdocs/example.org",
}
# Example host name -> a name the test certificate a.test-ecdsa has (a.test, alt.a.test).
EXAMPLE_HOSTS = {"www.example.org": "a.test", "example.org": "alt.a.test"}
# Example port -> the key of a free port picked for each check.
EXAMPLE_PORTS = {443: "https", 80: "http", 8443: "alt"}
# Debian's environment variables (/etc/apache2/envvars) the examples use.
DEBIAN_DEFINES = {"APACHE_LOG_DIR": "root/logs", "APACHE_RUN_DIR": "root/run"}
# Paths in examples must be mapped above when they start with one of these.
MUST_MAP = ("/etc/ssl/", "/etc/apache2/", "/var/www/", "/var/log/")

# Debian 12's /etc/apache2/ports.conf, as installed: the guide's advice about Listen lines is
# about this file.
DEBIAN_PORTS_CONF = """Listen 80

<IfModule ssl_module>
	Listen 443
</IfModule>

<IfModule mod_gnutls.c>
	Listen 443
</IfModule>
"""

# The site "server" and "vhost" blocks are checked with (the guide's minimal site).
TEST_SITE = """Listen 443
TLSEngine 443
<VirtualHost *:443>
    ServerName www.example.org
    ServerAlias example.org
    DocumentRoot /var/www/example.org
    TLSCertificate /etc/ssl/certs/www.example.org.pem /etc/ssl/private/www.example.org.key
@VHOST@
</VirtualHost>
"""

# Modules Debian enables by default that the examples rely on (Require local/user,
# server-status), and those `a2enmod tls` enables with it (conf/tls.load's Depends).
ALWAYS_MODULES = ["authz_host", "authz_user", "status", "socache_shmcb", "slotmem_shm"]
# A directive in a block -> the modules it needs (what the admin enables with a2enmod).
MODULE_HINTS = [
    (r"^\s*Protocols\b.*\bh2\b", ["http2"]),
    (r"^\s*(ProxyPass\w*|<Proxy\b)", ["proxy", "proxy_http"]),
    (r"\bh2c?://", ["proxy_http2"]),
    (r"\bwss?://", ["proxy_wstunnel"]),
    (r"^\s*(<MDomain\b|MD[A-Z]\w*)", ["md"]),
    (r"\bmemcache:", ["socache_memcache"]),
    (r"\bredis:", ["socache_redis"]),
    (r"\bdbm:", ["socache_dbm"]),
    (r"^\s*SSL[A-Z]\w*", ["ssl"]),
    (r"^\s*Rewrite[A-Z]\w*", ["rewrite"]),
    (r"^\s*(Request)?Header\b", ["headers"]),
]

# The site's pages: the docroot, and the locations of the client certificate example.
PAGES = {"index.html": "the example.org site\n", "admin/index.html": "admin\n",
         "reports/index.html": "reports\n"}

# ------------------------------------------------------------------------------ the guide
Block = collections.namedtuple("Block", "line kind name reason text")
ANNOTATION = re.compile(r"<!--\s*(?:check:\s*(site|server|vhost)(?:\s+([\w-]+))?|"
                        r"not checked:\s*(.*?))\s*-->\s*$")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def guide_blocks():
    """Every ```apache block of the guide, with the annotation on the line before it (kind
    None: there is none)."""
    lines = _read(GUIDE).splitlines()
    out = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```apache":
            start = i + 1
            j = start
            while lines[j].strip() != "```":
                j += 1
            m = ANNOTATION.match(lines[i - 1].strip()) if i > 0 else None
            kind = name = reason = None
            if m and m.group(1):
                kind, name = m.group(1), m.group(2)
            elif m:
                kind, reason = "unchecked", m.group(3)
            out.append(Block(start, kind, name, reason, "\n".join(lines[start:j]) + "\n"))
            i = j
        i += 1
    return out


BLOCKS = guide_blocks()
CHECKED = [b for b in BLOCKS if b.kind in ("site", "server", "vhost")]


def _block_id(b):
    return "line%d-%s%s" % (b.line, b.kind, "-" + b.name if b.name else "")


# ---------------------------------------------------------------------- building a config
def _files(env, h, work):
    """The substitution tables resolved for server ``h``: (paths, defines)."""
    def resolve(target):
        where, rel = target.split("/", 1)
        base = {"certs": env.certs.dir, "root": h.root, "work": work}[where]
        return os.path.join(base, rel)
    return {k: resolve(v) for k, v in EXAMPLE_PATHS.items()}, \
        {k: resolve(v) for k, v in DEBIAN_DEFINES.items()}


def _map_ports(text, ports):
    def port(n):
        n = int(n)
        assert n in EXAMPLE_PORTS, "port %d of the guide is not in EXAMPLE_PORTS" % n
        return ports[EXAMPLE_PORTS[n]]

    def listen(m):
        return "%sListen 127.0.0.1:%d" % (m.group(1), port(m.group(3)))

    def engine(m):
        addr = "127.0.0.1:" if m.group(2) else ""
        return "%sTLSEngine %s%d" % (m.group(1), addr, port(m.group(3)))

    def vhost(m):
        addrs = [re.sub(r":(\d+)$", lambda p: ":%d" % port(p.group(1)), a)
                 for a in m.group(1).split()]
        return "<VirtualHost %s>" % " ".join(addrs)

    text = re.sub(r"(?m)^(\s*)Listen\s+(\S+:)?(\d+)\s*$", listen, text)
    text = re.sub(r"(?m)^(\s*)TLSEngine\s+(\S+:)?(\d+)\s*$", engine, text)
    return re.sub(r"<VirtualHost\s+([^>]+)>", vhost, text)


def _map_names(text, paths, defines):
    # paths first, through placeholders, so that host names are not replaced inside them
    order = sorted(paths, key=len, reverse=True)
    for n, example in enumerate(order):
        text = text.replace(example, "\0PATH%d\0" % n)
    hosts = "|".join(re.escape(n) for n in sorted(EXAMPLE_HOSTS, key=len, reverse=True))
    text = re.sub(r"(?<![\w.-])(%s)(?![\w-])" % hosts, lambda m: EXAMPLE_HOSTS[m.group(1)],
                  text)
    text = re.sub(r"\0PATH(\d+)\0", lambda m: paths[order[int(m.group(1))]], text)
    directives = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    for p in re.findall(r"(?<![\w.])(/[\w.-]+(?:/[\w.-]+)*)", directives):
        assert not p.startswith(MUST_MAP), \
            "example path %s is not mapped: add it to EXAMPLE_PATHS" % p
    return "".join('Define %s "%s"\n' % kv for kv in defines.items()) + text


def _modules(text):
    mods = list(ALWAYS_MODULES)
    for rx, names in MODULE_HINTS:
        if re.search(rx, text, re.M):
            mods += [n for n in names if n not in mods]
    return mods


def _config(block):
    """The configuration text of a block, before substitution."""
    if block.kind == "site":
        return DEBIAN_PORTS_CONF + "\n# --- the guide's block\n" + block.text
    if block.kind == "server":
        return DEBIAN_PORTS_CONF + "\n# --- the guide's block\n" + block.text + "\n" + \
            TEST_SITE.replace("@VHOST@\n", "")
    inner = "\n".join("    " + l if l.strip() else l for l in block.text.splitlines())
    return DEBIAN_PORTS_CONF + TEST_SITE.replace(
        "@VHOST@", "    # --- the guide's block\n" + inner)


def server_for(env, work, block, allowed_errors=()):
    raw = _config(block)
    loads_tls = re.search(r"(?m)^\s*LoadModule\s+tls_module\b", raw) is not None
    h = env.httpd("guide-%d" % block.line, modules=_modules(raw), load_tls=not loads_tls,
                  allowed_errors=allowed_errors)
    paths, defines = _files(env, h, work)
    paths["/usr/lib/apache2/modules/mod_tls.so"] = env.module_so
    ports = {key: pick_port() for key in EXAMPLE_PORTS.values()}
    h.global_extra = _map_names(_map_ports(raw, ports), paths, defines)
    docroot = os.path.relpath(paths["/var/www/example.org"], h.root)
    for rel, content in PAGES.items():
        h.write_file(os.path.join(docroot, rel), content)
    return h, ports


@pytest.fixture(scope="module")
def work(env):
    d = os.path.join(env.workdir, "admin-guide")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    write_ticket_keys(os.path.join(d, "ticket-keys"), [os.urandom(48), os.urandom(48)])
    return d


# ------------------------------------------------------------------ the live checks
def _get(env, ports, path, host="a.test", **kw):
    return clients.curl(ports["https"], path, host, ca=env.ca, **kw)


def live_minimal(env, h, ports):
    """The site answers on both names, with the certificate; port 80 redirects to https; a
    name the site does not have is refused in the handshake (TLSStrictSNI on)."""
    for name in ("a.test", "alt.a.test"):
        r = _get(env, ports, "/", name)
        assert r.rc == 0 and r.status == 200 and r.body == PAGES["index.html"].encode(), r
        assert r.verify_result == 0 and r.peer_cn == "a.test", r
    r = clients.curl(ports["http"], "/some/page", "alt.a.test", scheme="http")
    assert r.status == 301 and r.headers.get("location") == "https://a.test/some/page", r
    r = _get(env, ports, "/", "b.test")
    assert r.rc != 0 and r.status in (None, 0), r


def live_h2(env, h, ports):
    r = _get(env, ports, "/", args=["--http2"])
    assert r.rc == 0 and r.status == 200 and r.http_version == "2", r


def live_client_certs(env, h, ports):
    """/admin: a verified certificate with an @example.org e-mail address (alice; bob has
    none); /reports: the users TLSUserName takes from the CN; no certificate: neither; a
    revoked certificate (the CRL): no connection at all."""
    def status(path, client=None):
        kw = {}
        if client:
            c = env.certs.client(client)
            kw = dict(cert=c.cert, key=c.key)
        r = _get(env, ports, path, **kw)
        return r.status if r.rc == 0 else "refused"

    got = {(c, p): status(p, c) for c in (None, "alice", "bob", "revoked")
           for p in ("/admin/", "/reports/")}
    assert got == {(None, "/admin/"): 403, (None, "/reports/"): 403,
                   ("alice", "/admin/"): 200, ("alice", "/reports/"): 200,
                   ("bob", "/admin/"): 403, ("bob", "/reports/"): 200,
                   ("revoked", "/admin/"): "refused", ("revoked", "/reports/"): "refused"}, got


def live_status(env, h, ports):
    r = _get(env, ports, "/server-status?auto")
    assert r.rc == 0 and r.status == 200, r
    keys = dict(l.split(": ", 1) for l in r.body.decode().splitlines() if ": " in l)
    assert keys.get("TLSCounters") == "all child processes", keys
    assert int(keys["TLSHandshakesFull"]) >= 1, keys
    assert int(keys["TLSCertificates"]) == 1 and int(keys["TLSCertificate1DaysLeft"]) > 14, keys


def live_logformat(env, h, ports):
    """The access-log line ends as the guide says; tls:info shows the TLS0001 line."""
    r = _get(env, ports, "/", "alt.a.test", tls="1.3")
    assert r.rc == 0 and r.status == 200, r
    rx = re.compile(r'^127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 \d+ "-" "curl/[^"]+" '
                    r'TLSv1\.3 TLS_\w+ Initial alt\.a\.test$', re.M)
    for _ in range(100):   # httpd writes the line after answering
        if rx.search(h.read_file("logs/access.log")):
            break
        time.sleep(0.1)
    assert rx.search(h.read_file("logs/access.log")), h.read_file("logs/access.log")
    assert re.search(r"\[tls:info\] .*TLS0001: mod_tls/\S+ \(crate tlsr/\S+, rustls/0\.20\.8\) "
                     r"configured", h.error_log()), h.error_log()


AUTHZ_DENIED = r"\[authz_core:error\].*AH01630"
# NAME -> (check, error-log lines at error level the requests cause)
LIVE = {
    "minimal": (live_minimal, ()),
    "h2": (live_h2, ()),
    "client-certs": (live_client_certs, (AUTHZ_DENIED,)),
    "status": (live_status, ()),
    "logformat": (live_logformat, ()),
}


# ----------------------------------------------------------------------------- the tests
def test_every_block_says_how_it_is_checked():
    assert len(BLOCKS) >= 8, "the guide should have its configuration examples"
    bare = [b.line for b in BLOCKS if b.kind is None]
    assert not bare, "```apache blocks without <!-- check: ... --> before them, at lines %s" \
        % bare
    names = [b.name for b in BLOCKS if b.name]
    assert sorted(names) == sorted(LIVE), \
        "named blocks %s and live checks %s differ" % (names, sorted(LIVE))


def test_few_blocks_unchecked():
    unchecked = [b for b in BLOCKS if b.kind == "unchecked"]
    assert all(b.reason for b in unchecked), "an unchecked block needs a reason"
    assert len(unchecked) <= MAX_UNCHECKED, \
        "%d blocks are not checked (at most %d): %s" % (
            len(unchecked), MAX_UNCHECKED, [(b.line, b.reason) for b in unchecked])


SEVERE_OR_WARN = re.compile(r"\[[\w.-]*:(warn|error|crit|alert|emerg)\]|AH00526|Syntax error")


@pytest.mark.parametrize("block", CHECKED, ids=[_block_id(b) for b in CHECKED])
def test_example_is_valid(env, work, block):
    """`apache2 -t` accepts the example without a warning; a named one is also started and
    does what the guide says."""
    check, allowed = LIVE.get(block.name, (None, ()))
    h, ports = server_for(env, work, block, allowed)
    r = h.configtest()
    assert r.ok and "Syntax OK" in r.output, "guide line %d:\n%s\n%r" % (
        block.line, h.global_extra, r)
    noisy = [l for l in (r.stdout + r.stderr).splitlines() if SEVERE_OR_WARN.search(l)]
    assert not noisy, "guide line %d: apache2 -t warns:\n%s" % (block.line, "\n".join(noisy))
    if check:
        with running(h):
            check(env, h, ports)


# ------------------------------------------------------------------------ the references
def _logging_tags():
    return set(re.findall(r"^\| (TLS\d{4}) \|", _read(os.path.join(DOCS, "logging.md")), re.M))


def _documented_directives():
    return set(re.findall(r"^## (TLS[A-Za-z]+)\s*$", _read(os.path.join(DOCS, "directives.md")),
                          re.M))


def _status_keys():
    text = _read(os.path.join(DOCS, "logging.md"))
    section = text[text.index("## server-status"):text.index("## Registry")]
    return set(re.findall(r"`(TLS[A-Z][A-Za-z]+)`", section))


def test_tags_are_in_logging_md():
    mentioned = set(re.findall(r"TLS\d{4}", _read(GUIDE)))
    assert len(mentioned) >= 20, mentioned
    assert mentioned - _logging_tags() == set(), "tags of the guide missing in docs/logging.md"


def test_directives_are_in_directives_md():
    text = _read(GUIDE)
    known = _documented_directives()
    assert len(known) >= 20, "the directive headings of docs/directives.md were not found"
    mentioned = set(re.findall(r"\bTLS[A-Z][A-Za-z]+\b(?!\*)", text))   # not TLSProxy*
    unknown = mentioned - known - _status_keys()
    assert not unknown, "neither a directive in docs/directives.md nor a server-status key " \
        "in docs/logging.md: %s" % sorted(unknown)
    used = {w for b in BLOCKS for w in re.findall(r"(?m)^\s*<?(TLS[A-Z]\w*)", b.text)}
    assert used and used <= known, "directives in examples: %s" % sorted(used - known)


def test_mod_ssl_directives_are_in_the_migration_doc():
    mentioned = set(re.findall(r"\bSSL[A-Z][A-Za-z]+\b", _read(GUIDE)))
    migration = set(re.findall(r"\bSSL[A-Z][A-Za-z]+\b",
                               _read(os.path.join(DOCS, "migration-from-mod_ssl.md"))))
    assert mentioned and mentioned - migration == set()


def _slug(heading):
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_lead_somewhere():
    links = re.findall(r"\]\(([\w./-]+\.md)(?:#([\w-]+))?\)", _read(GUIDE))
    assert len(links) >= 10, links
    for target, anchor in links:
        path = os.path.normpath(os.path.join(DOCS, target))
        assert os.path.isfile(path), "link to %s: no such file" % target
        if anchor:
            slugs = {_slug(h) for h in re.findall(r"(?m)^#+ (.*)$", _read(path))}
            assert anchor in slugs, "link to %s#%s: no such heading" % (target, anchor)
