"""TLSOptions (docs/directives.md) with the rules of mod_ssl's SSLOptions: per server, virtual
host, <Location>, <Directory> and .htaccess (AllowOverride Options); `+`/`-` add to or remove
from what the enclosing context set, bare names replace it, `Defaults` is no option; mixing
both forms in one directive is a configuration error.

What a CGI script sees tells the options in effect: SSL_PROTOCOL (StdEnvVars) and
SSL_SERVER_CERT (ExportCertData); HTTPS=on always.
"""
import os

import pytest

from conftest import server_fixture
from harness import clients
from harness.cgi import ENV_CGI, parse_env

STD, CERT = "StdEnvVars", "ExportCertData"

# path -> (options line of its <Location>, options in effect) under vhost a.test, whose own
# line is "+StdEnvVars" on top of the server config's "+ExportCertData"
LOCATIONS = [
    ("/vh/", None, {STD, CERT}),
    ("/minus/", "-StdEnvVars", {CERT}),
    ("/minus-both/", "-StdEnvVars -ExportCertData", set()),
    ("/bare-std/", "StdEnvVars", {STD}),
    ("/bare-std/inner/", "+ExportCertData", {STD, CERT}),
    ("/bare-cert/", "ExportCertData", {CERT}),
    ("/bare-cert/inner/", "-ExportCertData", set()),
    ("/plus-again/", "+StdEnvVars +StdEnvVars", {STD, CERT}),
]
# mod_ssl has no "Defaults"; and with several bare names mod_ssl keeps only the last one (each
# replaces the one before), where mod_tls replaces the enclosing context's options with all
TLS_LOCATIONS = [
    ("/bare-both/", "StdEnvVars ExportCertData", {STD, CERT}),
    ("/defaults/", "Defaults", set()),
    ("/defaults/inner/", "+StdEnvVars", {STD}),
]


@pytest.fixture(scope="module")
def server(env):
    locs = LOCATIONS + (TLS_LOCATIONS if env.backend_name == "tls" else [])
    extra = ["  @TLSOPTIONS@ +StdEnvVars"]
    for path, line, _ in locs:
        if path.count("/") == 2:
            extra.append('  ScriptAlias %s "@ROOT@/cgi-bin/"' % path)
    for path, line, _ in locs:
        if line:
            extra += ["  <Location %s>" % path, "    @TLSOPTIONS@ %s" % line, "  </Location>"]
    extra += [
        # the layout of Debian's default-ssl.conf: by file name
        '  ScriptAlias /fm/ "@ROOT@/cgi-fm/"',
        '  <Directory "@ROOT@/cgi-fm">',
        '    Require all granted',
        '    @TLSOPTIONS@ -StdEnvVars',
        '  </Directory>',
        '  <FilesMatch "^env2\\.cgi$">',
        '    @TLSOPTIONS@ +StdEnvVars',
        '  </FilesMatch>',
        '  <Directory "@ROOT@/htdocs/a.test/ht">',
        '    AllowOverride Options',
        '    Options +ExecCGI',
        '    AddHandler cgi-script .cgi',
        '  </Directory>',
        '  <Directory "@ROOT@/htdocs/a.test/noht">',
        '    AllowOverride FileInfo',
        '    Options +ExecCGI',
        '    AddHandler cgi-script .cgi',
        '  </Directory>',
    ]
    h = env.httpd("options", modules=["cgid"],
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>',
                  main_server_extra="@TLSOPTIONS@ +ExportCertData")
    h.listen("https")
    leaf = env.certs.leaf("a.test").pair
    h.vhost("a.test", certs=[leaf], extra="\n".join(extra))
    # bare names replace the server config's options; nothing inherits them
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair],
            extra='  @TLSOPTIONS@ StdEnvVars\n  ScriptAlias /vh/ "@ROOT@/cgi-bin/"')
    h.vhost("wild.test", certs=[env.certs.leaf("wild.test").pair],
            extra='  ScriptAlias /vh/ "@ROOT@/cgi-bin/"')
    os.makedirs(os.path.join(h.root, "cgi-bin", "inner"))
    for d in ("cgi-bin", "cgi-bin/inner"):
        os.chmod(os.path.join(h.root, d), 0o755)
        h.write_file(d + "/env.cgi", ENV_CGI, mode=0o755)
    h.write_file("cgi-bin/env2.cgi", ENV_CGI, mode=0o755)
    for f in ("env.cgi", "env2.cgi"):
        h.write_file("cgi-fm/" + f, ENV_CGI, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-fm"), 0o755)
    d = env.backend.options_directive
    h.write_file("htdocs/a.test/ht/.htaccess", "%s -ExportCertData\n" % d)
    h.write_file("htdocs/a.test/ht/env.cgi", ENV_CGI, mode=0o755)
    h.write_file("htdocs/a.test/ht/sub/.htaccess", "%s +ExportCertData\n" % d)
    h.write_file("htdocs/a.test/ht/sub/env.cgi", ENV_CGI, mode=0o755)
    h.write_file("htdocs/a.test/ht/bare/.htaccess", "%s ExportCertData\n" % d)
    h.write_file("htdocs/a.test/ht/bare/env.cgi", ENV_CGI, mode=0o755)
    h.write_file("htdocs/a.test/noht/.htaccess", "%s -StdEnvVars\n" % d)
    h.write_file("htdocs/a.test/noht/env.cgi", ENV_CGI, mode=0o755)
    h.start()
    yield from server_fixture(h)


def _options(env, server, path, host="a.test", version=None):
    st, _, body = clients.get(server.port(), path, host, ctx=clients.context(env.ca, tls=version))
    assert st == 200, (path, st, body[:1000])
    e = parse_env(body)
    assert e.get("HTTPS") == "on", (path, e)
    got = set()
    if "SSL_PROTOCOL" in e:
        got.add(STD)
        assert e["SSL_PROTOCOL"] in ("TLSv1.2", "TLSv1.3"), e
    if "SSL_SERVER_CERT" in e:
        got.add(CERT)
        assert e["SSL_SERVER_CERT"].startswith("-----BEGIN CERTIFICATE-----"), e
    return got


@pytest.mark.parametrize("path,line,want", LOCATIONS + [
    pytest.param(*c, marks=pytest.mark.tls_only) for c in TLS_LOCATIONS],
    ids=[p for p, _, _ in LOCATIONS + TLS_LOCATIONS])
def test_location(env, server, path, line, want):
    assert _options(env, server, path + "env.cgi") == want, line


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_vhost_and_server_config(env, server, version):
    # a.test: "+StdEnvVars" adds to the server config's "+ExportCertData"
    assert _options(env, server, "/vh/env.cgi", "a.test", version) == {STD, CERT}
    # b.test: a bare "StdEnvVars" replaces it
    assert _options(env, server, "/vh/env.cgi", "b.test", version) == {STD}
    # wild.test: nothing of its own, the server config's
    assert _options(env, server, "/vh/env.cgi", "wild.test", version) == {CERT}


def test_files_match(env, server):
    """<FilesMatch> is merged after <Directory> and before <Location>: in a directory that
    removes StdEnvVars it adds it back for env2.cgi only; a <Location> still has the last
    word."""
    assert _options(env, server, "/fm/env.cgi") == {CERT}
    assert _options(env, server, "/fm/env2.cgi") == {STD, CERT}
    assert _options(env, server, "/minus/env2.cgi") == {CERT}
    assert _options(env, server, "/minus-both/env2.cgi") == set()


def test_htaccess(env, server):
    """AllowOverride Options: .htaccess files change the options, relative to the enclosing
    directory's (or replacing them with bare names)."""
    assert _options(env, server, "/ht/env.cgi") == {STD}
    assert _options(env, server, "/ht/sub/env.cgi") == {STD, CERT}
    assert _options(env, server, "/ht/bare/env.cgi") == {CERT}


@pytest.mark.allow_errors(r"\[core:alert\].*\.htaccess: (TLSOptions|SSLOptions) not allowed here")
def test_htaccess_needs_allow_override_options(env, server):
    st, _, body = clients.get(server.port(), "/noht/env.cgi", "a.test", ca=env.ca)
    assert st == 500, body[:500]
    assert b"==ENV==" not in body
    assert server.wait_log(r"\.htaccess: %s not allowed here" % env.backend.options_directive)


def test_stdenvvars_values_follow_the_connection(env, server):
    """Under StdEnvVars the values are this connection's."""
    for version in ("1.2", "1.3"):
        st, _, body = clients.get(server.port(), "/bare-std/env.cgi", "a.test",
                                  ctx=clients.context(env.ca, tls=version))
        e = parse_env(body)
        assert e["SSL_PROTOCOL"] == "TLSv" + version, e
        assert e["SSL_TLS_SNI"] == "a.test", e


# ------------------------------------------------------------------------ config errors
def _configtest(env, line, where="vhost"):
    h = env.httpd("options-bad")
    h.listen("https")
    extra = ""
    if where == "vhost":
        extra = "  " + line
    elif where == "location":
        extra = "  <Location /x>\n    %s\n  </Location>" % line
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=extra)
    if where == "server":
        h.main_server_extra = line
    return h.configtest(), h


@pytest.mark.tls_only
@pytest.mark.parametrize("where", ["vhost", "location", "server"])
@pytest.mark.parametrize("line", ["StdEnvVars +ExportCertData", "+StdEnvVars ExportCertData",
                                  "-ExportCertData StdEnvVars"])
def test_mixing_bare_and_relative_is_an_error(env, line, where):
    res, h = _configtest(env, "TLSOptions " + line, where)
    assert not res.ok, res
    assert "TLSOptions" in res.output, res
    # and the server refuses to start
    res = h.start(check=False)
    assert not res.ok, res
    assert "TLSOptions" in res.output, res


@pytest.mark.parametrize("line", ["+Bogus", "StdEnvVar", "+StdEnvVars +NoSuchOption"])
def test_unknown_option_is_an_error(env, line):
    d = env.backend.options_directive
    res, h = _configtest(env, "%s %s" % (d, line), "location")
    assert not res.ok, res
    assert d in res.output, res
    assert line.split()[-1].lstrip("+-") in res.output, res


@pytest.mark.tls_only
@pytest.mark.parametrize("option", ["FakeBasicAuth", "StrictRequire", "OptRenegotiate",
                                    "LegacyDNStringFormat"])
def test_mod_ssl_only_options_are_errors(env, option):
    """Options of SSLOptions that mod_tls does not have are unknown, hence errors
    (docs/migration-from-mod_ssl.md)."""
    res, _ = _configtest(env, "TLSOptions +" + option, "location")
    assert not res.ok, res
    assert "TLSOptions" in res.output and option in res.output, res


@pytest.mark.parametrize("line", ["+StdEnvVars +ExportCertData", "StdEnvVars ExportCertData",
                                  "-StdEnvVars",
                                  pytest.param("Defaults", marks=pytest.mark.tls_only)])
def test_valid_lines_pass_configtest(env, line):
    res, _ = _configtest(env, "%s %s" % (env.backend.options_directive, line), "location")
    assert res.ok, res
