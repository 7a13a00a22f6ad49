"""Per-connection buffering is bounded. A client that reads nothing while the server writes
10 MiB responses, or that sends a 64 MiB body faster than the script behind the server reads
it, makes the server hold little for it: the rest waits in socket buffers, and TCP's window
stops the sender. Afterwards every transfer completes intact. (The bounds are generous: the
point is that the server's memory does not grow with the size of what is in flight.)"""
import hashlib
import os
import threading
import time

import pytest

from conftest import server_fixture
from harness import clients

SLOW_READER = """#!/bin/sh
sleep 4
printf 'Content-Type: text/plain\\r\\n\\r\\n'
sha256sum | cut -d' ' -f1
"""

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(env):
    # Under make check-asan, this server runs without ASan's quarantine: ASan keeps freed
    # memory resident and poisoned for a while to catch use after free (up to 64 MiB per
    # process and 1 MiB per thread here), which Pss would count as growth. Without it, Pss
    # measures live memory as in a normal build; every other check stays on.
    h = env.httpd("limits", modules=["cgid"], timeout=60,
                  global_extra='<Directory "@ROOT@/cgi-bin">\n  Require all granted\n'
                               '</Directory>\nLimitRequestBody 0',
                  asan_options="quarantine_size_mb=0:thread_local_quarantine_size_kb=0")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair],
            extra='  ScriptAlias /cgi-bin/ "@ROOT@/cgi-bin/"')
    h.write_file("cgi-bin/slow.cgi", SLOW_READER, mode=0o755)
    os.chmod(os.path.join(h.root, "cgi-bin"), 0o755)
    h.start()
    yield from server_fixture(h)


def _pss_kib(h):
    """Proportional set size of the server: the parent and every process it started."""
    pids = [h.pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rfind(")") + 2:].split()[1]) == h.pid:
                pids.append(int(d))
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                total += sum(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except OSError:
            pass
    return total


def _read_response(s, body_len):
    got = b""
    while b"\r\n\r\n" not in got or len(got) - got.index(b"\r\n\r\n") - 4 < body_len:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    return head, body


def test_clients_that_read_nothing(env, server):
    data = env.data["10m.bin"]
    clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca)      # warm up
    before = _pss_kib(server)
    socks = []
    try:
        for _ in range(8):
            s = clients.tls_connect(server.port(), "a.test", clients.context(env.ca))
            s.sendall(b"GET /data/10m.bin HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            socks.append(s)
        time.sleep(3)                       # the server writes until the windows are full
        grown = _pss_kib(server) - before
            # 80 MiB are asked for; unbounded buffering would show tens of MiB here
        assert grown < 16 * 1024, "server grew by %d KiB for 8 stalled readers" % grown
        for s in socks:
            head, body = _read_response(s, len(data))
            assert head.startswith(b"HTTP/1.1 200"), head[:60]
            assert body == data
    finally:
        for s in socks:
            s.close()


def test_client_that_sends_faster_than_the_script_reads(env, server):
    body = os.urandom(64 * MIB)
    result = {}

    def upload():
        s = clients.tls_connect(server.port(), "a.test", clients.context(env.ca), timeout=120)
        try:
            s.sendall(b"POST /cgi-bin/slow.cgi HTTP/1.0\r\nHost: a.test\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            s.sendall(body)
            result["response"] = _read_response(s, 65)
        finally:
            s.close()

    clients.curl(server.port(), "/whoami.txt", "a.test", ca=env.ca)      # warm up
    before = _pss_kib(server)
    t = threading.Thread(target=upload, daemon=True)
    t.start()
    time.sleep(2.5)                         # the script sleeps 4 s before it reads
    grown = _pss_kib(server) - before
    t.join(120)
    assert not t.is_alive(), "upload hung"
    assert grown < 16 * 1024, "server grew by %d KiB while the script did not read" % grown
    head, answer = result["response"]
    assert head.startswith(b"HTTP/1.1 200"), head[:60]       # HTTP/1.0 asked: not chunked
    assert answer.strip() == hashlib.sha256(body).hexdigest().encode()
