"""What the rest of httpd sees of TLS: %{HTTPS} and %{REQUEST_SCHEME} in mod_rewrite, HTTPS=on
in a CGI environment, https redirect URLs with 443 as the default port. A plain HTTP port in
the same server is the control."""
import os

import pytest

from conftest import server_fixture
from harness import clients

CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | sort
"""

VHOST_EXTRA = """  RewriteEngine on
  RewriteRule ^/vars$ /whoami.txt [E=V_HTTPS:%{HTTPS},E=V_SCHEME:%{REQUEST_SCHEME},PT,L]
  RewriteCond %{HTTPS} =on
  RewriteRule ^/if-https$ /https-on.txt [PT,L]
  RewriteRule ^/if-https$ /https-off.txt [PT,L]
  Header always set X-HTTPS "%{V_HTTPS}e"
  Header always set X-Scheme "%{V_SCHEME}e"
  ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"
  Redirect /old /new
"""


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("vars", modules=["rewrite", "headers", "cgid"],
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>')
    h.listen("https")
    h.listen("plain", tls=None)
    h.vhost("a.test", port="https", certs=[env.certs.leaf("a.test").pair], extra=VHOST_EXTRA)
    h.vhost("plain.test", port="plain", extra=VHOST_EXTRA)
    for vh in ("a.test", "plain.test"):
        h.write_file("htdocs/%s/https-on.txt" % vh, "HTTPS is on\n")
        h.write_file("htdocs/%s/https-off.txt" % vh, "HTTPS is off\n")
    h.write_file("cgi-bin/env.cgi", CGI, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    h.start()
    yield from server_fixture(h)


def _tls(server, path, host="a.test", env=None, **kw):
    return clients.get(server.port("https"), path, host, ca=env.ca, **kw)


def _plain(server, path, host="plain.test", **kw):
    return clients.plain_get(server.port("plain"), path, host=host, **kw)


def test_rewrite_condition_sees_https_on(env, server):
    st, _, body = _tls(server, "/if-https", env=env)
    assert (st, body) == (200, b"HTTPS is on\n")
    st, _, body = _plain(server, "/if-https")
    assert (st, body) == (200, b"HTTPS is off\n")


def test_rewrite_variables(env, server):
    st, h, body = _tls(server, "/vars", env=env)
    assert st == 200 and body == b"a.test\n"
    assert h.get("x-https") == "on"
    assert h.get("x-scheme") == "https"
    st, h, body = _plain(server, "/vars")
    assert st == 200 and body == b"plain.test\n"
    assert h.get("x-https") == "off"
    assert h.get("x-scheme") == "http"


def _cgi_env(body):
    out = {}
    for line in body.decode(errors="replace").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def test_cgi_environment(env, server):
    st, _, body = _tls(server, "/cgi-bin/env.cgi", env=env)
    assert st == 200, body
    e = _cgi_env(body)
    assert e.get("HTTPS") == "on", body
    assert e.get("REQUEST_SCHEME") == "https", body
    assert e.get("SERVER_NAME") == "a.test", body
    assert e.get("SERVER_PORT") == str(server.port("https")), body
    st, _, body = _plain(server, "/cgi-bin/env.cgi")
    assert st == 200, body
    e = _cgi_env(body)
    assert e.get("HTTPS", "off") == "off", body
    assert e.get("REQUEST_SCHEME") == "http", body


def test_redirect_is_https_and_443_is_default(env, server):
    port = server.port("https")
    st, h, _ = _tls(server, "/old", env=env, headers={"Host": "a.test:443"})
    assert st == 302 and h["location"] == "https://a.test/new", h
    st, h, _ = _tls(server, "/old", env=env, headers={"Host": "a.test:%d" % port})
    assert st == 302 and h["location"] == "https://a.test:%d/new" % port, h
    # and with curl
    r = clients.curl(port, "/old", "a.test", ca=env.ca, headers=["Host: a.test:443"])
    assert r.status == 302 and r.headers.get("location") == "https://a.test/new", r


def test_redirect_on_plain_port_is_http(env, server):
    """Control: on the plain port 80 is the default and the scheme is http."""
    st, h, _ = _plain(server, "/old", host="plain.test:80")
    assert st == 302 and h["location"] == "http://plain.test/new", h
    st, h, _ = _plain(server, "/old", host="plain.test:443")
    assert st == 302 and h["location"] == "http://plain.test:443/new", h
