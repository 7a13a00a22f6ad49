"""Request bodies through TLS: uploads of 1 KiB to 10 MiB to a CGI script that answers with
the SHA-256 of what it read, with Content-Length and chunked, alone and on one keep-alive
connection with downloads in between."""
import hashlib
import os

import pytest

from conftest import server_fixture
from harness import clients

CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
sha256sum | cut -d' ' -f1
"""


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("upload", modules=["cgid"],
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>')
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair],
            extra='  ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"')
    h.write_file("cgi-bin/sha256.cgi", CGI, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    h.start()
    yield from server_fixture(h)


def _sha(data):
    return hashlib.sha256(data).hexdigest().encode() + b"\n"


@pytest.mark.parametrize("fname", ["1k.bin", "100k.bin", "1m.bin", "10m.bin"])
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_upload(env, server, fname, version):
    data = env.data[fname]
    st, _, body = clients.get(server.port(), "/cgi-bin/sha256.cgi", "a.test",
                              ctx=clients.context(env.ca, tls=version), method="POST",
                              body=data)
    assert st == 200, body
    assert body == _sha(data)


def test_upload_chunked(env, server):
    data = env.data["1m.bin"]
    chunks = [data[i:i + 70000] for i in range(0, len(data), 70000)]
    c = clients.HTTPSConnection("a.test", server.port(), clients.context(env.ca))
    try:
        c.request("POST", "/cgi-bin/sha256.cgi", body=iter(chunks), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked"})
        r = c.getresponse()
        assert r.status == 200
        assert r.read() == _sha(data)
    finally:
        c.close()


def test_uploads_and_downloads_on_one_connection(env, server):
    c = clients.HTTPSConnection("a.test", server.port(), clients.context(env.ca))
    try:
        for fname in ("100k.bin", "1m.bin", "1k.bin", "10m.bin"):
            data = env.data[fname]
            c.request("POST", "/cgi-bin/sha256.cgi", body=data)
            r = c.getresponse()
            assert r.status == 200 and r.read() == _sha(data), fname
            c.request("GET", "/data/" + fname)
            r = c.getresponse()
            assert r.status == 200 and r.read() == data, fname
        assert c.connects == 1
    finally:
        c.close()


def test_upload_curl(env, server):
    path = os.path.join(env.data_dir, "10m.bin")
    r = clients.curl(server.port(), "/cgi-bin/sha256.cgi", "a.test", ca=env.ca,
                     args=["--data-binary", "@" + path])
    assert r.rc == 0 and r.status == 200, r
    assert r.body == _sha(env.data["10m.bin"])
