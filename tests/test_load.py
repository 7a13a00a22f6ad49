"""50 concurrent clients x 20 requests: on keep-alive connections, on fresh connections, and
with h2load; nothing may fail and every body must be exact."""
import pytest

from conftest import server_fixture
from harness import clients, load

CLIENTS, REQUESTS = 50, 20


@pytest.fixture(scope="module")
def server(env):
    # enough threads for every client, so the event MPM has no reason to shed keep-alive
    # connections (it may, under pressure; clients then reconnect, as HTTP clients do)
    h = env.httpd("load", global_extra="StartServers 2\nThreadsPerChild 64\n"
                                       "MaxRequestWorkers 128\nMinSpareThreads 64")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair, env.certs.leaf("a.test", "rsa").pair])
    h.start()
    yield from server_fixture(h)


def _expected(env):
    exp = {"/whoami.txt": b"a.test\n"}
    for name, data in env.data.items():
        exp["/data/" + name] = data
    return exp


PATHS = ["/whoami.txt", "/data/1k.bin", "/data/100k.bin", "/whoami.txt", "/data/1k.bin"]


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_concurrent_keepalive_clients(env, server, version):
    stats = load.Stats()
    ctx = clients.context(env.ca, tls=version)
    hung = load.run_threads([(load.keepalive_client,
                              ("c%d" % i, server.port(), "a.test", ctx, PATHS, _expected(env),
                               stats, REQUESTS, None, True)) for i in range(CLIENTS)])
    assert not hung, "%d clients did not finish" % len(hung)
    assert not stats.failures, stats.failures[:20]
    assert stats.ok == CLIENTS * REQUESTS
    # one connection per client, plus one for each request retried after the server closed
    # an idle connection; keep-alive must carry most requests
    assert stats.connects == CLIENTS + stats.retries
    assert stats.connects <= CLIENTS * REQUESTS // 4, "connections were not kept alive"


def test_concurrent_fresh_connections(env, server):
    stats = load.Stats()
    ctx = clients.context(env.ca)
    hung = load.run_threads([(load.fresh_client,
                              ("c%d" % i, server.port(), "a.test", ctx, PATHS, _expected(env),
                               stats, REQUESTS)) for i in range(CLIENTS)])
    assert not hung, "%d clients did not finish" % len(hung)
    assert not stats.failures, stats.failures[:20]
    assert stats.ok == CLIENTS * REQUESTS


def test_h2load_http11(env, server):
    n = CLIENTS * REQUESTS
    rc, out, counts = clients.h2load("https://127.0.0.1:%d/data/1k.bin?h2load" % server.port(), n,
                                     CLIENTS)
    assert rc == 0, out
    assert counts.get("succeeded") == n and counts.get("2xx") == n, out
    assert counts.get("failed") == 0 and counts.get("errored") == 0, out
    # the server logged every request as a 200 of 1 KiB
    entries = server.wait_access(lambda e: e["request"].startswith("GET /data/1k.bin?h2load "),
                                 n)
    assert len(entries) == n
    assert all(e["status"] == 200 and e["bytes"] == "1024" for e in entries)
