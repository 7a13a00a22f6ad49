"""Responses that are produced slowly reach the client as they are produced: a CGI script
writes a first line, waits, then writes a second. The first line must arrive well before the
script ends (mod_cgid flushes when its script blocks, and the FLUSH must make it through
mod_tls's output filter, which gathers small pieces into records); and a response made of
thousands of small pieces arrives intact."""
import os
import time

import pytest

from conftest import server_fixture
from harness import clients

SLOW = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo first
sleep 3
echo second
"""

PIECES = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
i=0
while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done
"""


@pytest.fixture(scope="module")
def server(env):
    h = env.httpd("streaming", modules=["cgid"],
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>')
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair],
            extra='  ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"')
    h.write_file("cgi-bin/slow.cgi", SLOW, mode=0o755)
    h.write_file("cgi-bin/pieces.cgi", PIECES, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    h.start()
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_first_part_arrives_before_the_script_ends(env, server, version):
    # HTTP/1.0: no chunking, so the CGI's pipe reaches the connection filters as it is
    s = clients.tls_connect(server.port(), "a.test", clients.context(env.ca, tls=version))
    try:
        start = time.monotonic()
        s.sendall(b"GET /cgi-bin/slow.cgi HTTP/1.0\r\nHost: a.test\r\n\r\n")
        got = b""
        while b"first\n" not in got:
            chunk = s.recv(4096)
            assert chunk, "connection closed before the first line: %r" % got
            got += chunk
        first_at = time.monotonic() - start
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        end_at = time.monotonic() - start
    finally:
        s.close()
    assert got.startswith(b"HTTP/1.1 200") or got.startswith(b"HTTP/1.0 200"), got[:40]
    assert got.endswith(b"first\nsecond\n"), got[-40:]
    assert end_at >= 3.0                    # the script really waited
    assert first_at < 2.0, "first line came only after %.1f s" % first_at


def test_many_small_pieces_arrive_intact(env, server):
    st, _, body = clients.get(server.port(), "/cgi-bin/pieces.cgi", "a.test",
                              ctx=clients.context(env.ca))
    assert st == 200
    assert body == b"".join(b"line %d\n" % i for i in range(2000))
