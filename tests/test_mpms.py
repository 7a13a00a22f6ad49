"""The same basics under each MPM: event, worker, prefork."""
import pytest

from conftest import server_fixture
from harness import clients, load


@pytest.fixture(scope="module", params=["event", "worker", "prefork"])
def server(env, request):
    h = env.httpd("mpm-" + request.param, mpm=request.param)
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair, env.certs.leaf("a.test", "rsa").pair])
    h.vhost("b.test", certs=[env.certs.leaf("b.test").pair])
    h.start()
    # the MPM announces itself (prefork logs this after starting its children)
    assert h.wait_log(r"\[mpm_%s:notice\].*resuming normal operations" % request.param)
    yield from server_fixture(h)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_get(env, server, version):
    for host in ("a.test", "b.test"):
        r = clients.curl(server.port(), "/whoami.txt", host, ca=env.ca, tls=version)
        assert r.rc == 0 and r.status == 200 and r.body == (host + "\n").encode(), r
        assert r.protocol == "TLSv" + version and r.peer_cn == host, r


def test_download_1m(env, server, tmp_path):
    out = str(tmp_path / "1m")
    r = clients.curl(server.port(), "/data/1m.bin", "a.test", ca=env.ca, output=out)
    assert r.rc == 0 and r.status == 200, r
    assert open(out, "rb").read() == env.data["1m.bin"]
    st, _, body = clients.get(server.port(), "/data/1m.bin", "b.test", ca=env.ca)
    assert st == 200 and body == env.data["1m.bin"]


def test_concurrent_clients(env, server):
    stats = load.Stats()
    expected = {"/whoami.txt": b"a.test\n", "/data/100k.bin": env.data["100k.bin"],
                "/data/1m.bin": env.data["1m.bin"]}
    paths = ["/whoami.txt", "/data/100k.bin", "/data/1m.bin"]
    ctx = clients.context(env.ca)
    targets = [(load.keepalive_client, ("k%d" % i, server.port(), "a.test", ctx, paths,
                                        expected, stats, 6)) for i in range(5)]
    targets += [(load.fresh_client, ("f%d" % i, server.port(), "a.test", ctx, paths,
                                     expected, stats, 6)) for i in range(5)]
    hung = load.run_threads(targets)
    assert not hung
    assert not stats.failures, stats.failures
    assert stats.ok == 60
