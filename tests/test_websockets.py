"""WebSockets through mod_tls: a real WebSocket backend (Debian's python3-websockets) on a plain
port, fronted by the TLS server with mod_proxy (`ProxyPass ... upgrade=websocket` through
mod_proxy_http, and ws:// through mod_proxy_wstunnel). A wss:// client's messages of every
size, text and binary, come back intact, each within a few seconds (a stall means data stuck
in the TLS layer); messages the backend pushes on its own reach the client as they are sent,
without the client sending anything."""
import asyncio
import os
import random
import string
import time

import pytest
import websockets

from conftest import server_fixture
from harness import clients
from harness.services import WebSocketBackend, workdir_for

PER_MESSAGE = 5      # seconds a message may take to come back (a bound, not a target)
SIZES = [1, 100, 16 * 1024, 64 * 1024 + 1, 1024 * 1024]


@pytest.fixture(scope="module")
def backend(env):
    b = WebSocketBackend(workdir_for(env, "ws-backend")).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def server(env, backend):
    extra = """  ProxyPass /ws/ http://127.0.0.1:%d/ upgrade=websocket
  ProxyPass /wst/ ws://127.0.0.1:%d/
  ProxyTimeout 30
""" % (backend.port, backend.port)
    h = env.httpd("websockets", modules=["proxy", "proxy_http", "proxy_wstunnel"])
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], extra=extra)
    h.start()
    yield from server_fixture(h)


def _connect(env, server, path, version=None):
    return websockets.connect("wss://a.test:%d%s" % (server.port(), path),
                              ssl=clients.context(env.ca, tls=version), host="127.0.0.1",
                              port=server.port(), server_hostname="a.test", max_size=None,
                              compression=None, open_timeout=10, close_timeout=10,
                              ping_interval=None)


def _text(n):
    # valid UTF-8 of exactly n bytes: ASCII, with some two-byte characters
    chars = []
    left = n
    while left:
        if left >= 2 and random.random() < 0.1:
            chars.append("é")
            left -= 2
        else:
            chars.append(random.choice(string.ascii_letters))
            left -= 1
    return "".join(chars)


async def _echo_all(env, server, path, version, kinds):
    problems = []
    async with _connect(env, server, path, version) as ws:
        for size in SIZES:
            for kind in kinds:
                msg = os.urandom(size) if kind == "binary" else _text(size)
                await asyncio.wait_for(ws.send(msg), PER_MESSAGE)
                try:
                    back = await asyncio.wait_for(ws.recv(), PER_MESSAGE)
                except asyncio.TimeoutError:
                    problems.append("%s %d bytes: no echo within %d s" % (kind, size,
                                                                         PER_MESSAGE))
                    return problems
                if type(back) is not type(msg):
                    problems.append("%s %d bytes: came back as %s" % (kind, size,
                                                                     type(back).__name__))
                elif back != msg:
                    problems.append("%s %d bytes: came back different (%d bytes)"
                                    % (kind, size, len(back)))
        await asyncio.wait_for(ws.close(), PER_MESSAGE)
        if ws.close_code != 1000:
            problems.append("close code %s" % ws.close_code)
    return problems


@pytest.mark.parametrize("path", ["/ws/echo", "/wst/echo"], ids=["proxy_http", "wstunnel"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_echo_every_size(env, server, path, version):
    problems = asyncio.run(_echo_all(env, server, path, version, ["text", "binary"]))
    assert not problems, problems


def test_echo_many_clients(env, server):
    """Eight clients at once, each with its own sequence of messages."""
    async def run():
        return await asyncio.gather(*[_echo_all(env, server, "/ws/echo", None, [kind])
                                      for kind in ["text", "binary"] * 4])
    results = asyncio.run(run())
    assert not any(results), results


def test_burst_of_small_messages(env, server):
    """200 small messages sent without waiting, then all echoes read, in order."""
    async def run():
        async with _connect(env, server, "/ws/echo") as ws:
            msgs = ["m%03d-%s" % (i, _text(random.randint(1, 300))) for i in range(200)]
            for m in msgs:
                await ws.send(m)
            got = []
            for _ in msgs:
                got.append(await asyncio.wait_for(ws.recv(), PER_MESSAGE))
            return msgs, got
    msgs, got = asyncio.run(run())
    assert got == msgs


@pytest.mark.parametrize("path", ["/ws/push", "/wst/push"], ids=["proxy_http", "wstunnel"])
def test_server_pushed_messages_arrive_as_sent(env, server, path):
    """The backend sends "push <n> <its monotonic clock>" every 100 ms; the client only
    reads. Each message must arrive, in order, within 2 s of being sent (CLOCK_MONOTONIC is
    the machine's: the backend's stamps and ours compare). Data held back in the TLS layer
    until more comes from the client would arrive late, or never."""
    lag_bound = 2.0

    async def run():
        lags = []
        async with _connect(env, server, path) as ws:
            for i in range(20):
                try:
                    msg = await asyncio.wait_for(ws.recv(), lag_bound + 1)
                except asyncio.TimeoutError:
                    return lags, "message %d did not come within %.0f s" % (i, lag_bound + 1)
                now = time.monotonic()
                _, n, sent = msg.split()
                if int(n) != i:
                    return lags, "message %d came as number %s" % (i, n)
                lags.append(round(now - float(sent), 3))
        return lags, None

    lags, problem = asyncio.run(run())
    assert problem is None, "%s; lags so far: %s" % (problem, lags)
    late = [(i, lag) for i, lag in enumerate(lags) if lag > lag_bound]
    assert not late, "pushed messages held back (index, seconds late): %s; all: %s" % (
        late, lags)
