"""Concurrent clients built on http.client; every failure is collected, none is retried
unless the caller allows the one retry that HTTP clients do on a closed idle connection."""
import http.client
import os
import socket
import ssl
import struct
import threading
import time

from . import clients

# errors that mean "the server closed the connection before answering"
CLOSED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.failures = []
        self.retries = 0
        self.connects = 0
        self.refused = 0     # connections refused after the server was told to stop
        self.done_at = []    # monotonic times of successful requests

    def success(self):
        with self.lock:
            self.ok += 1
            self.done_at.append(time.monotonic())

    def fail(self, what):
        with self.lock:
            self.failures.append(what)


def _check(stats, tag, path, status, body, expected):
    want = expected[path]
    if status != 200:
        stats.fail((tag, path, "status %s" % status))
    elif body != want:
        stats.fail((tag, path, "body %d bytes, expected %d (content differs)"
                    % (len(body), len(want))))
    else:
        stats.success()
        return True
    return False


def keepalive_client(tag, port, host, ctx, paths, expected, stats, count=None, stop=None,
                     allow_idle_close_retry=False):
    """Requests ``paths`` in turn on one keep-alive connection, ``count`` times or until
    ``stop`` is set. When allowed, a request that fails on a *reused* connection before any
    byte of the response arrived is retried once on a fresh connection (what browsers and
    curl do when a server closes an idle keep-alive connection)."""
    c = clients.HTTPSConnection(host, port, ctx)
    i = 0
    try:
        while (count is None or i < count) and not (stop is not None and stop.is_set()):
            path = paths[i % len(paths)]
            i += 1
            reused = c.sock is not None
            try:
                c.request("GET", path)
                r = c.getresponse()
            except CLOSED as e:
                c.close()
                if not (allow_idle_close_retry and reused):
                    stats.fail((tag, path, "%s connection failed: %r"
                                % ("reused" if reused else "fresh", e)))
                    continue
                with stats.lock:
                    stats.retries += 1
                try:
                    c.request("GET", path)
                    r = c.getresponse()
                except Exception as e2:  # noqa: BLE001
                    c.close()
                    stats.fail((tag, path, "retry on a fresh connection failed: %r" % e2))
                    continue
            except Exception as e:  # noqa: BLE001
                c.close()
                stats.fail((tag, path, "request failed: %r" % e))
                continue
            try:
                body = r.read()
            except Exception as e:  # noqa: BLE001 - a truncated body is a failure
                c.close()
                stats.fail((tag, path, "reading the body failed: %r" % e))
                continue
            _check(stats, tag, path, r.status, body, expected)
    finally:
        with stats.lock:
            stats.connects += c.connects
        c.close()
    return c.connects


def fresh_client(tag, port, host, ctx, paths, expected, stats, count=None, stop=None,
                 certs=None):
    """One new TLS connection per request (a full handshake each time unless resumed).
    ``certs``: a list to which (monotonic time the connection began, server certificate DER)
    is appended for each answered request."""
    i = 0
    while (count is None or i < count) and not (stop is not None and stop.is_set()):
        path = paths[i % len(paths)]
        i += 1
        c = clients.HTTPSConnection(host, port, ctx)
        began = time.monotonic()
        try:
            c.connect()
            der = c.sock.getpeercert(binary_form=True)
            c.request("GET", path, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            if _check(stats, tag, path, r.status, body, expected) and certs is not None:
                certs.append((began, der))
        except Exception as e:  # noqa: BLE001
            stats.fail((tag, path, "fresh request failed: %r" % e))
        finally:
            c.close()


# the server did not take the connection: refused, or reset/closed before the TLS handshake
# completed (connections left in the listen queue when the listening socket closes)
REFUSED = (ConnectionRefusedError, ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError,
           BrokenPipeError)


def until_refused_client(tag, port, host, ctx, paths, expected, stats, stopped, keepalive=True,
                         deadline=120):
    """Requests ``paths`` in turn (on keep-alive connections, or one connection per request)
    until the server refuses a new connection after ``stopped`` (an Event the caller sets when
    it tells the server to stop) was set. What counts as a failure:

    - a refusal before ``stopped`` was set;
    - a connection whose TLS handshake completed (the server took it) and whose request was
      not answered;
    - a response cut short, or not the expected one.

    Not failures: a refused connection after the stop (the last thing each client sees; counted
    in ``stats.refused``), and an idle keep-alive connection closed by the server before an
    answer began (retried on a new connection, as HTTP clients do; ``stats.retries``)."""
    c = None
    i = 0
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            if c is None:
                c = clients.HTTPSConnection(host, port, ctx)
                try:
                    c.connect()
                except REFUSED as e:
                    if stopped.is_set():
                        with stats.lock:
                            stats.refused += 1
                        return
                    stats.fail((tag, "refused before the stop: %r" % e))
                    c = None
                    continue
                except (OSError, ssl.SSLError) as e:
                    stats.fail((tag, "connect failed: %r" % e))
                    c = None
                    continue
                reused = False
            else:
                reused = True
            path = paths[i % len(paths)]
            i += 1
            try:
                c.request("GET", path, headers={} if keepalive else {"Connection": "close"})
                r = c.getresponse()
            except CLOSED as e:
                c.close()
                c = None
                if reused:
                    with stats.lock:
                        stats.retries += 1
                    i -= 1                  # ask again, on a new connection
                else:
                    stats.fail((tag, path, "handshake done, request not answered: %r" % e))
                continue
            try:
                body = r.read()
            except Exception as e:  # noqa: BLE001 - cut in the middle of the response
                stats.fail((tag, path, "response cut: %r" % e))
                c.close()
                c = None
                continue
            _check(stats, tag, path, r.status, body, expected)
            if not keepalive or r.will_close:
                c.close()
                c = None
        stats.fail((tag, "never refused: the server kept accepting for %ds" % deadline))
    finally:
        if c is not None:
            c.close()


def run_threads(targets, timeout=300):
    """Start one thread per (function, args) and wait for all."""
    threads = [threading.Thread(target=f, args=a, daemon=True) for f, a in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()]


# -- many short connections of every kind (leak tests) ---------------------------------------

class MixStats:
    """Per-kind counts of a ConnectionMix run."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = {}          # kind -> connections made
        self.resumed = {}       # kind -> handshakes the server resumed
        self.failures = []      # (kind, what)

    def count(self, kind, resumed=False):
        with self.lock:
            self.done[kind] = self.done.get(kind, 0) + 1
            if resumed:
                self.resumed[kind] = self.resumed.get(kind, 0) + 1

    def fail(self, kind, what):
        with self.lock:
            self.failures.append((kind, what))

    @property
    def total(self):
        return sum(self.done.values()) + len(self.failures)


def _read_to_eof(s, limit=None):
    data = b""
    while limit is None or len(data) < limit:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


class ConnectionMix:
    """Connections of many kinds, one after the other in each of ``threads`` threads, against
    one server: full handshakes (TLS 1.3 and 1.2, ECDSA and RSA certificates), resumptions
    (TLS 1.3 tickets, TLS 1.2 tickets, TLS 1.2 session IDs), keep-alive connections with
    several requests, connections cut in the middle of a response, and aborted handshakes
    (ClientHello then hang up, hang up after the server's first flight, a reset, garbage,
    plain HTTP, connect and close). Every completed exchange is checked (status, body, TLS
    version, certificate); aborted ones only need the server to accept them.

    ``hosts``: {"ecdsa": (sni, expected certificate DER), "rsa": (...)}, where the
    vhost of each name has only that certificate; ``expected``: {path: body}."""

    KINDS = ("full13-ecdsa", "full12-ecdsa", "full13-rsa", "full12-rsa", "resume13-ticket",
             "resume12-ticket", "resume12-id", "keepalive", "cut-response", "hello-then-close",
             "close-after-server-flight", "reset-mid-handshake", "garbage", "plain-http",
             "connect-close")

    def __init__(self, port, hosts, expected, big_path, stats=None, addr="127.0.0.1"):
        self.port, self.addr = port, addr
        self.hosts = hosts
        self.expected = expected
        self.big_path = big_path
        self.stats = stats or MixStats()
        # the server's certificate is compared byte for byte with the one configured, which is
        # stricter than verifying it and costs the client less
        self.ctx = {v: clients.context(tls=v, verify=False) for v in ("1.2", "1.3")}
        # TLS 1.2 without the ticket extension: the server resumes from its session cache
        self.ctx_ids = clients.context(tls="1.2", verify=False)
        self.ctx_ids.options |= ssl.OP_NO_TICKET
        self.small = sorted(p for p in expected if len(expected[p]) <= 2048)

    # -- helpers
    def _connect(self, timeout=30):
        s = socket.create_connection((self.addr, self.port), timeout=timeout)
        _nodelay(s)
        return s

    def _get_close(self, ss, host, path):
        ss.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                    % (path, host)).encode())
        head, _, body = _read_to_eof(ss).partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return "status line %r" % head[:40]
        want = self._body(host, path)
        if body != want:
            return "%s: body of %d bytes, expected %d (or other bytes)" % (path, len(body),
                                                                          len(want))
        return None

    def _body(self, host, path):
        # every vhost's whoami.txt holds its name
        return (host + "\n").encode() if path == "/whoami.txt" else self.expected[path]

    def _exchange(self, ctx, key, version, session=None):
        host, der = self.hosts[key]
        s = self._connect()
        try:
            ss = ctx.wrap_socket(s, server_hostname=host, session=session)
        except BaseException:
            s.close()
            raise
        try:
            path = self.small[self.stats.total % len(self.small)]
            bad = self._get_close(ss, host, path)
            if ss.version() != version:
                bad = "version %s" % ss.version()
            elif ss.getpeercert(binary_form=True) != der:
                bad = "another certificate"
            return bad, ss.session_reused, ss.session
        finally:
            ss.close()

    # -- kinds
    # kind -> (context key, certificate key, TLS version)
    FULL = {"full13-ecdsa": ("1.3", "ecdsa"), "full12-ecdsa": ("1.2", "ecdsa"),
            "full13-rsa": ("1.3", "rsa"), "full12-rsa": ("1.2", "rsa")}
    # kind -> context key ("ids": TLS 1.2 without tickets)
    RESUME = {"resume13-ticket": "1.3", "resume12-ticket": "1.2", "resume12-id": "ids"}

    def full(self, state, kind):
        version, key = self.FULL[kind]
        bad, reused, _ = self._exchange(self.ctx[version], key, "TLSv" + version)
        return bad or ("resumed a full handshake" if reused else None), False

    def resume(self, state, kind):
        which = self.RESUME[kind]
        ctx = self.ctx_ids if which == "ids" else self.ctx[which]
        version = "TLSv1.2" if which == "ids" else "TLSv" + which
        bad, reused, session = self._exchange(ctx, "ecdsa", version, state.get(kind))
        state[kind] = session
        return bad, reused

    def keepalive(self, state, kind):
        host, _ = self.hosts["ecdsa"]
        c = clients.HTTPSConnection(host, self.port, self.ctx["1.3" if state["n"] % 2
                                                               else "1.2"], addr=self.addr)
        try:
            c.connect()
            _nodelay(c.sock)
            for path in self.small + [self.big_path] + self.small:
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                if r.status != 200 or body != self._body(host, path):
                    return "%s: status %s, %d bytes" % (path, r.status, len(body)), False
            if c.connects != 1:
                return "the server closed a keep-alive connection", False
        finally:
            c.close()
        return None, False

    def cut_response(self, state, kind):
        host, _ = self.hosts["ecdsa"]
        ss = clients.tls_connect(self.port, host, self.ctx["1.3"], addr=self.addr)
        _nodelay(ss)
        try:
            ss.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (self.big_path, host))
                       .encode())
            got = ss.recv(4096)
            if not got.startswith(b"HTTP/1.1 200"):
                return "status line %r" % got[:40], False
            _reset(ss)
        finally:
            ss.close()
        return None, False

    def aborted(self, state, kind):
        host, _ = self.hosts["ecdsa" if state["n"] % 2 else "rsa"]
        s = self._connect()
        try:
            if kind == "connect-close":
                return None, False
            if kind == "garbage":
                # no record header (type 1, version 0): the server must not wait for more of
                # a record that random bytes announce
                s.sendall(b"\x01\x00" + os.urandom(62 + state["n"] % 2000))
                _drain(s)
                return None, False
            if kind == "plain-http":
                s.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host.encode())
                got = _drain(s)
                if not got.startswith(b"HTTP/1."):
                    return "plain HTTP answered with %r" % got[:40], False
                return None, False
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = self.ctx["1.3" if state["n"] % 3 else "1.2"].wrap_bio(
                incoming, outgoing, server_hostname=host)
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s.sendall(outgoing.read())
            if kind == "hello-then-close":
                return None, False
            got = s.recv(65536)            # the server's first flight
            if not got or got[0] != 0x16:
                return "no handshake from the server: %r" % got[:20], False
            if kind == "reset-mid-handshake":
                _reset(s)
            return None, False
        finally:
            s.close()

    def run_one(self, state, kind):
        if kind in self.FULL:
            fn = self.full
        elif kind in self.RESUME:
            fn = self.resume
        else:
            fn = {"keepalive": self.keepalive, "cut-response": self.cut_response}.get(
                kind, self.aborted)
        try:
            bad, reused = fn(state, kind)
        except Exception as e:  # noqa: BLE001
            bad, reused = "%r" % e, False
        state["n"] += 1
        if bad:
            self.stats.fail(kind, bad)
        else:
            self.stats.count(kind, reused)

    def run(self, plan, threads):
        """``plan``: a list of kinds, run in order, split across ``threads`` threads (thread
        i takes every threads-th entry). Returns the threads still alive after 600 s."""
        def worker(i):
            state = {"n": i}
            for kind in plan[i::threads]:
                self.run_one(state, kind)
        return run_threads([(worker, (i,)) for i in range(threads)], timeout=600)


def _nodelay(s):
    """TCP_NODELAY, as HTTP clients set it (http.client, curl, browsers). Without it, a TLS 1.3
    client's request waits behind its unacknowledged Finished until the server's delayed ACK
    (40 ms) when the server sends nothing after the handshake."""
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reset(s):
    """Close with a TCP reset (SO_LINGER 0), as a client that crashes does."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def _drain(s, timeout=10):
    """Read until the server closes (or resets); what it sent."""
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    return data
