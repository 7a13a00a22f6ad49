"""Real helper servers a test starts and owns: memcached, redis-server (session caches for a
fleet), a WebSocket backend. Each runs as a child process of the test run on a free port of
127.0.0.1 (no systemd, no daemonizing) and is stopped by its pid."""
import atexit
import os
import signal
import socket
import subprocess
import time

from .httpd import pick_port

MEMCACHED = "/usr/bin/memcached"
REDIS = "/usr/bin/redis-server"
PYTHON = "/usr/bin/python3"


class ServiceError(Exception):
    pass


class Service:
    RUNNING = []

    def __init__(self, name, workdir):
        self.name = name
        self.workdir = workdir
        self.port = None
        self.proc = None
        self.log_path = os.path.join(workdir, "%s.log" % name)

    def command(self):
        raise NotImplementedError

    def start(self, timeout=15):
        for attempt in range(3):
            self.port = pick_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self.ready():
                    Service.RUNNING.append(self)
                    return self
                time.sleep(0.05)
            self._kill()
            if "in use" not in self.log() or attempt == 2:
                break
        raise ServiceError("%s did not start (%s):\n%s" % (self.name, " ".join(self.command()),
                                                          self.log()))

    def ready(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def stop(self):
        if self in Service.RUNNING:
            Service.RUNNING.remove(self)
        self._kill()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def command_line(self, text):
        """Send one line of a text protocol, return what comes back within a short time."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(text.encode())
            s.settimeout(1)
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if self._complete(data):
                        break
            except socket.timeout:
                pass
            return data.decode(errors="replace")

    def _complete(self, data):
        return data.endswith(b"\r\n")


class Memcached(Service):
    def __init__(self, workdir):
        super().__init__("memcached", workdir)

    def command(self):
        cmd = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "16",
               "-c", "256"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        return cmd

    def stats(self):
        text = self.command_line("stats\r\n")
        out = {}
        for line in text.splitlines():
            f = line.split()
            if len(f) == 3 and f[0] == "STAT":
                out[f[1]] = f[2]
        return out

    def _complete(self, data):
        return data.endswith(b"END\r\n")


class Redis(Service):
    def __init__(self, workdir):
        super().__init__("redis", workdir)

    def command(self):
        return [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.workdir, "--daemonize", "no",
                "--protected-mode", "no", "--logfile", ""]

    def dbsize(self):
        text = self.command_line("*1\r\n$6\r\nDBSIZE\r\n")
        return int(text.strip().lstrip(":"))


WS_BACKEND = r'''
"""WebSocket backend for the tests: /echo echoes every message (text as text, binary as
binary); /push sends "push <n> <monotonic time>" every 100 ms until the client leaves."""
import asyncio
import sys
import time

import websockets


async def handler(ws, path=None):
    path = path if path is not None else ws.path
    if path.endswith("/push"):
        n = 0
        while True:
            await ws.send("push %d %.6f" % (n, time.monotonic()))
            n += 1
            await asyncio.sleep(0.1)
    else:
        async for msg in ws:
            await ws.send(msg)


async def main(port):
    async with websockets.serve(handler, "127.0.0.1", port, max_size=None,
                                compression=None):
        print("listening on %d" % port, flush=True)
        await asyncio.Future()

asyncio.run(main(int(sys.argv[1])))
'''


class WebSocketBackend(Service):
    """A python3-websockets server (Debian's package) on plain TCP."""

    def __init__(self, workdir):
        super().__init__("ws-backend", workdir)
        self.script = os.path.join(workdir, "ws_backend.py")
        with open(self.script, "w") as f:
            f.write(WS_BACKEND)

    def command(self):
        return [PYTHON, self.script, str(self.port)]

    def ready(self):
        return ("listening on %d" % self.port) in self.log() and super().ready()


@atexit.register
def _stop_leftovers():
    for s in list(Service.RUNNING):
        try:
            s.stop()
        except Exception:  # noqa: BLE001
            pass


def workdir_for(env, name):
    d = os.path.join(env.workdir, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    return d

