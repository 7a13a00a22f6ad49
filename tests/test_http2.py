"""HTTP/2 over TLS with mod_http2: ALPN offers h2 where the virtual host chosen by SNI has
`Protocols h2 http/1.1`, and only http/1.1 where it has not (same port); many concurrent
streams; the SSL_* variables on every stream; a large download, byte for byte."""
import hashlib
import os
import re
import subprocess

import pytest

from conftest import server_fixture
from harness import clients
from harness.cgi import ENV_CGI, parse_env
from harness.httpd import suite

EXTRA = """  ScriptAlias /cgi/ "@ROOT@/cgi-bin/"
  <Location /cgi/>
    @TLSOPTIONS@ +StdEnvVars
  </Location>
  RequestHeader set X-Hdr-Proto "%{SSL_PROTOCOL}s"
  RequestHeader set X-Hdr-Cipher "%{SSL_CIPHER}s"
  RequestHeader set X-Hdr-Sni "%{SSL_TLS_SNI}s"
  Header always set X-Proto "%{SSL_PROTOCOL}s"
"""


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("http2", modules=["http2", "cgid", "headers"],
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>\nProtocols http/1.1')
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair, env.certs.leaf("a.test", "rsa").pair],
            extra="  Protocols h2 http/1.1\n" + EXTRA)
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair],
            extra="  Protocols http/1.1\n" + EXTRA)
    h.write_file("cgi-bin/env.cgi", ENV_CGI, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_h2_where_configured(env, server, version):
    r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca, tls=version,
                     args=["--http2"])
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    assert r.http_version == "2", r
    assert "ALPN: server accepted h2" in r.stderr or "ALPN, server accepted to use h2" \
        in r.stderr, r
    assert r.headers.get("x-proto") == "TLSv" + version, r


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_http11_where_h2_is_not_configured(env, server, version):
    r = clients.curl(server.port(), "/whoami.txt", "b.test", ca=env.ca, tls=version,
                     args=["--http2"])
    assert r.rc == 0 and r.status == 200 and r.body == b"b.test\n", r
    assert r.http_version == "1.1", r
    assert r.headers.get("x-proto") == "TLSv" + version, r


def test_http11_still_offered_on_the_h2_vhost(env, server):
    r = clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca, args=["--http1.1"])
    assert r.rc == 0 and r.status == 200 and r.body == b"a.test\n", r
    assert r.http_version == "1.1", r


def test_h2load_many_streams(env, server):
    n = 2000
    url = "https://a.test:%d/whoami.txt" % server.port()
    rc, out, counts = clients.h2load(url, n, 4, h1=False, timeout=120,
                                     args=["-m", "50", "--connect-to",
                                           "127.0.0.1:%d" % server.port()])
    assert counts.get("protocol") == "h2", out
    assert counts.get("succeeded") == n and counts.get("2xx") == n, out
    assert counts.get("failed") == 0 and counts.get("errored") == 0, out


def test_h2load_on_http11_vhost_gets_http11(env, server):
    url = "https://b.test:%d/whoami.txt" % server.port()
    rc, out, counts = clients.h2load(url, 200, 2, h1=False, timeout=120,
                                     args=["-m", "10", "--connect-to",
                                           "127.0.0.1:%d" % server.port()])
    assert counts.get("protocol") == "http/1.1", out
    assert counts.get("2xx") == 200, out


def _curl_parallel(env, server, host, paths, outdir, version=None):
    """One curl, many transfers in parallel, multiplexed on one h2 connection."""
    port = server.port()
    cmd = [clients.CURL, "-sS", "-v", "--http2", "--parallel", "--parallel-max", "20",
           "--cacert", env.ca, "--resolve", "%s:%d:127.0.0.1" % (host, port)]
    if version == "1.2":
        cmd += ["--tlsv1.2", "--tls-max", "1.2"]
    elif version == "1.3":
        cmd += ["--tlsv1.3"]
    for i, p in enumerate(paths):
        cmd += ["-w", "##%{http_code} %{http_version} %{num_connects}##\\n",
                "-o", os.path.join(outdir, "out-%03d" % i), "https://%s:%d%s" % (host, port, p)]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    out, err = p.stdout.decode(), p.stderr.decode(errors="replace")
    results = re.findall(r"##(\d+) (\S+) (\d+)##", out)
    m = re.search(r"SSL connection using (\S+) / (\S+)", err)
    bodies = [open(os.path.join(outdir, "out-%03d" % i), "rb").read()
              if os.path.exists(os.path.join(outdir, "out-%03d" % i)) else None
              for i in range(len(paths))]
    return p.returncode, results, (m.group(1), m.group(2)) if m else None, bodies, err


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_variables_on_h2_streams(env, server, tmp_path, version):
    """20 streams on one connection: each CGI sees the connection's SSL_* variables (under
    StdEnvVars, and through mod_headers' %{..}s), and knows it is HTTP/2."""
    n = 20
    rc, results, conn, bodies, err = _curl_parallel(
        env, server, "a.test", ["/cgi/env.cgi?stream=%d" % i for i in range(n)],
        str(tmp_path), version)
    assert rc == 0, err[-3000:]
    assert len(results) == n, err[-3000:]
    assert all(code == "200" and hv == "2" for code, hv, _ in results), results
    assert sum(int(c) for _, _, c in results) == 1, "streams were not on one connection: %s" \
        % results
    proto, cipher = conn
    assert proto == "TLSv" + version
    iana = suite(cipher)[0]
    want_cipher = iana if env.backend_name == "tls" else cipher
    for i, body in enumerate(bodies):
        e = parse_env(body)
        assert e.get("QUERY_STRING") == "stream=%d" % i, e
        assert e.get("SERVER_PROTOCOL") == "HTTP/2.0", e
        assert e.get("HTTPS") == "on", e
        assert e.get("SSL_PROTOCOL") == proto, e
        assert e.get("SSL_CIPHER") == want_cipher, e
        assert e.get("SSL_TLS_SNI") == "a.test", e
        assert e.get("HTTP_X_HDR_PROTO") == proto, e
        assert e.get("HTTP_X_HDR_CIPHER") == want_cipher, e
        assert e.get("HTTP_X_HDR_SNI") == "a.test", e


def test_large_downloads_on_h2(env, server, tmp_path):
    """1 MiB and 10 MiB, alone and as parallel streams of one connection, byte for byte."""
    out = str(tmp_path / "1m")
    r = clients.curl(server.port(), "/data/1m.bin", "a.test", ca=env.ca, args=["--http2"],
                     output=out)
    assert r.rc == 0 and r.status == 200 and r.http_version == "2", r
    assert open(out, "rb").read() == env.data["1m.bin"]
    paths = ["/data/1m.bin", "/data/10m.bin", "/data/100k.bin", "/data/1m.bin", "/data/1k.bin"]
    rc, results, _, bodies, err = _curl_parallel(env, server, "a.test", paths, str(tmp_path))
    assert rc == 0, err[-3000:]
    assert [(c, hv) for c, hv, _ in results] == [("200", "2")] * len(paths), results
    assert sum(int(c) for _, _, c in results) == 1, results
    for p, body in zip(paths, bodies):
        want = env.data[p.rsplit("/", 1)[1]]
        assert body == want, "%s: %s bytes, expected %d" % (p, None if body is None
                                                            else len(body), len(want))


def test_h2_post_upload(env, server, tmp_path):
    """A request body over h2 reaches the CGI intact (CONTENT_LENGTH) and the response comes."""
    data = tmp_path / "up"
    data.write_bytes(env.data["100k.bin"])
    r = clients.curl(server.port(), "/cgi/env.cgi", "a.test", ca=env.ca,
                     args=["--http2", "--data-binary", "@" + str(data)])
    assert r.rc == 0 and r.status == 200 and r.http_version == "2", r
    e = parse_env(r.body)
    assert e.get("REQUEST_METHOD") == "POST" and e.get("CONTENT_LENGTH") == str(100 * 1024), e
    assert e.get("_BODY_SHA256") == hashlib.sha256(env.data["100k.bin"]).hexdigest(), e
