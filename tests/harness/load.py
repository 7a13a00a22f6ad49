"""Concurrent clients built on http.client; every failure is collected, none is retried
unless the caller allows the one retry that HTTP clients do on a closed idle connection."""
import http.client
import ssl
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


def fresh_client(tag, port, host, ctx, paths, expected, stats, count=None, stop=None):
    """One new TLS connection per request (a full handshake each time unless resumed)."""
    i = 0
    while (count is None or i < count) and not (stop is not None and stop.is_set()):
        path = paths[i % len(paths)]
        i += 1
        c = clients.HTTPSConnection(host, port, ctx)
        try:
            c.request("GET", path, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            _check(stats, tag, path, r.status, body, expected)
        except Exception as e:  # noqa: BLE001
            stats.fail((tag, path, "fresh request failed: %r" % e))
        finally:
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
