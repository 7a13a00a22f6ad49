#!/usr/bin/python3
"""mod_tls against mod_ssl: the same Debian apache2, the same machine, one run.

    bench/bench.py                 every scenario, 5 rounds (A B A B ...), results in bench/results/
    bench/bench.py --smoke         every scenario once, briefly: checks that each ran and verified
    bench/bench.py --only hs13-ecdsa,ka-h1 --rounds 5

One apache2 runs at a time (event MPM, one child process, logging off), pinned to CPU 0 with
taskset; the load generator (openssl s_time, h2load, or the Python idle-connection client) runs
pinned to CPU 1. For every run we read the server processes' own CPU accounting (/proc/PID/stat:
user + system time of the parent and its child, reaped children included) before and after, so
"server CPU per operation" compares the two modules fairly even when the client is the
bottleneck.

Before the timed rounds, a verification pass runs every scenario briefly against each module with
an access log of %{SSL_PROTOCOL}x, %{SSL_CIPHER}x, %{SSL_SESSION_RESUMED}x, %k, %H and %B, and
checks that the scenario did what it claims (protocol, full vs resumed handshakes, keep-alive
reuse, HTTP/2, response sizes). A scenario that fails verification is reported and the run
fails: a benchmark must not silently measure the wrong thing.

A third server without TLS (plain HTTP, the same files and clients) is the baseline: the table
shows what each module adds above it ("TLS part"). --profile samples the server with perf for
each scenario instead of timing it and writes profile/profile.md: server CPU per operation by
kernel, libc, httpd+APR, crypto, TLS protocol and module glue. docs/performance.md explains the
method and the results.
"""
import argparse
import concurrent.futures
import csv
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
APACHE = "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
TLS_SO = os.environ.get("MOD_TLS_SO", os.path.join(TOP, "build", "mod_tls.so"))
SERVER_CPU = "0"
CLIENT_CPU = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# mod_tls, mod_ssl, and the baseline: the same server without TLS
MODULES = ("tls", "ssl", "plain")

FILES = {"1k.bin": 1024, "100k.bin": 100 * 1024, "10m.bin": 10 * 1024 * 1024}


# -- scenarios -------------------------------------------------------------------------------

class Scenario:
    """One measurement. kind: handshake | keepalive | throughput | memory.
    metric: what the ratio compares ("cpu" = server CPU per operation, lower is better;
    "bytes_per_cpu" = response bytes per server CPU second, higher is better; "rss" = added
    server memory per idle connection, lower is better). target: the issue's bound on the
    mod_tls/mod_ssl ratio (max for cpu/rss, min for bytes_per_cpu)."""

    def __init__(self, key, title, kind, cert="ecdsa", proto="1.3", tickets=True, resume=False,
                 path="/1k.bin", h2=False, conns=1, metric="cpu", target=None):
        self.key, self.title, self.kind = key, title, kind
        self.cert, self.proto, self.tickets, self.resume = cert, proto, tickets, resume
        self.path, self.h2, self.conns = path, h2, conns
        self.metric, self.target = metric, target
        # the plain-HTTP run this scenario is compared with (all full and resumed handshakes
        # against one: a new connection per request)
        self.baseline = "hs13-ecdsa" if kind == "handshake" else key


SCENARIOS = [
    Scenario("hs13-ecdsa", "full handshake TLS 1.3 ECDSA", "handshake", "ecdsa", "1.3",
             target=0.5),
    Scenario("hs12-ecdsa", "full handshake TLS 1.2 ECDSA", "handshake", "ecdsa", "1.2",
             target=0.55),
    Scenario("hs13-rsa", "full handshake TLS 1.3 RSA", "handshake", "rsa", "1.3", target=1.0),
    Scenario("hs12-rsa", "full handshake TLS 1.2 RSA", "handshake", "rsa", "1.2", target=1.0),
    Scenario("res13-ticket", "resumed TLS 1.3 (ticket)", "handshake", "ecdsa", "1.3",
             resume=True, target=0.6),
    Scenario("res12-ticket", "resumed TLS 1.2 (ticket)", "handshake", "ecdsa", "1.2",
             resume=True, target=0.6),
    Scenario("res12-id", "resumed TLS 1.2 (session ID)", "handshake", "ecdsa", "1.2",
             tickets=False, resume=True, target=0.6),
    Scenario("ka-h1", "keep-alive 1 KiB HTTP/1.1", "keepalive", conns=8, target=0.9),
    Scenario("ka-h2", "keep-alive 1 KiB h2", "keepalive", h2=True, conns=8, target=0.9),
    Scenario("tp-100k", "throughput 100 KiB", "throughput", path="/100k.bin",
             metric="bytes_per_cpu", target=2.2),
    Scenario("tp-10m", "throughput 10 MiB", "throughput", path="/10m.bin",
             metric="bytes_per_cpu", target=2.2),
    Scenario("mem-idle", "RSS per idle keep-alive connection", "memory", conns=1000,
             metric="rss", target=0.5),
]


def modules_of(sc):
    """The servers a scenario runs against: the handshake scenarios share one plain
    baseline (a new connection per request), run with the first of them."""
    return MODULES if sc.baseline == sc.key else ("tls", "ssl")


# -- the server ------------------------------------------------------------------------------

def alive(pid):
    """The process exists and is not a zombie (whose parent, not us, will reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(")") + 2] != "Z"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One apache2 with either mod_tls or mod_ssl, configured identically otherwise."""

    def __init__(self, work, module, sc, log=False):
        self.work, self.module, self.sc, self.log = work, module, sc, log
        self.root = tempfile.mkdtemp(prefix="%s-%s-" % (module, sc.key), dir=work)
        os.makedirs(os.path.join(self.root, "logs"))
        os.makedirs(os.path.join(self.root, "run"))
        self.port = free_port()
        self.conf = os.path.join(self.root, "httpd.conf")
        self.pid = None

    def render(self):
        sc, root = self.sc, self.root
        cert = os.path.join(self.work, "certs", "%s.crt" % sc.cert)
        key = os.path.join(self.work, "certs", "%s.key" % sc.cert)
        lines = [
            'ServerRoot "%s"' % root,
            'PidFile "%s/run/httpd.pid"' % root,
            'DefaultRuntimeDir "%s/run"' % root,
            'ErrorLog "%s/logs/error_log"' % root,
            "LogLevel warn",
            "LoadModule mpm_event_module %s/mod_mpm_event.so" % MODULES_DIR,
            "LoadModule authz_core_module %s/mod_authz_core.so" % MODULES_DIR,
            "LoadModule mime_module %s/mod_mime.so" % MODULES_DIR,
            "LoadModule http2_module %s/mod_http2.so" % MODULES_DIR,
            "LoadModule socache_shmcb_module %s/mod_socache_shmcb.so" % MODULES_DIR,
            "ServerName bench.test",
            "TypesConfig /etc/mime.types",
            'DocumentRoot "%s/htdocs"' % self.work,
            '<Directory "%s/htdocs">' % self.work,
            "  Require all granted",
            "</Directory>",
            # one child process: its CPU time is the server's, and idle connections all
            # land in the same poller
            "StartServers 1", "ServerLimit 1", "ThreadsPerChild 64", "MaxRequestWorkers 64",
            "MinSpareThreads 1", "MaxSpareThreads 64", "AsyncRequestWorkerFactor 32",
            "MaxConnectionsPerChild 0",
            "KeepAlive On", "MaxKeepAliveRequests 0", "KeepAliveTimeout 60",
            "EnableSendfile Off", "EnableMMAP On",
            "Protocols h2 http/1.1",
            "Listen 127.0.0.1:%d" % self.port,
        ]
        if os.geteuid() == 0:
            lines += ["User www-data", "Group www-data"]
        if self.log:
            # %{...}x comes from the TLS module; the plain server logs "-" in its place
            tls = ("%{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_SESSION_RESUMED}x"
                   if self.module != "plain" else "- - -")
            lines.append('LogFormat "%s %%k %%H %%>s %%B" bench' % tls)
            lines.append('CustomLog "%s/logs/access_log" bench' % root)
        cache = "shmcb:%s/run/scache(1024000)" % root
        if self.module == "plain":
            # the baseline: the same server without TLS (h2 over cleartext for h2load)
            lines[lines.index("Protocols h2 http/1.1")] = "Protocols h2c http/1.1"
        elif self.module == "tls":
            lines += [
                "LoadModule tls_module %s" % TLS_SO,
                "TLSEngine 127.0.0.1:%d" % self.port,
                'TLSSessionCache "%s"' % cache,
                "TLSSessionTickets %s" % ("on" if sc.tickets else "off"),
                "<VirtualHost 127.0.0.1:%d>" % self.port,
                "  ServerName bench.test",
                "  TLSCertificate %s %s" % (cert, key),
                "  TLSProtocol TLSv1.2+",
                "</VirtualHost>",
            ]
        else:
            lines += [
                "LoadModule ssl_module %s/mod_ssl.so" % MODULES_DIR,
                'SSLSessionCache "%s"' % cache,
                "SSLSessionTickets %s" % ("on" if sc.tickets else "off"),
                "<VirtualHost 127.0.0.1:%d>" % self.port,
                "  ServerName bench.test",
                "  SSLEngine on",
                "  SSLCertificateFile %s" % cert,
                "  SSLCertificateKeyFile %s" % key,
                "  SSLProtocol -all +TLSv1.2 +TLSv1.3",
                "</VirtualHost>",
            ]
        return "\n".join(lines) + "\n"

    def listen_ports(self):
        """The ports the server must accept connections on before it counts as up."""
        return [self.port]

    def start(self, env=None):
        """Start apache2 (with ``env`` added to its environment) and wait until it accepts
        connections on every port of listen_ports() and has its child process."""
        for d in ("logs", "run"):
            os.chmod(os.path.join(self.root, d), 0o777)
        os.chmod(self.root, 0o755)
        for attempt in range(3):
            with open(self.conf, "w") as f:
                f.write(self.render())
            p = subprocess.run(["taskset", "-c", SERVER_CPU, APACHE, "-d", self.root, "-f",
                                self.conf, "-k", "start"], capture_output=True, text=True,
                               env=dict({"PATH": os.environ["PATH"], "LANG": "C"}, **(env or {})))
            # a port from free_port() can be taken by another run in the parallel
            # verification pass before apache2 binds it: take another one
            if p.returncode == 0 or "Address already in use" not in p.stderr + self.error_log():
                break
            self.port = free_port()
        if p.returncode != 0:
            raise RuntimeError("apache2 (%s) did not start:\n%s%s%s" % (
                self.module, p.stdout, p.stderr, self.error_log()))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(self.root, "run", "httpd.pid")) as f:
                    self.pid = int(f.read())
                for port in self.listen_ports():
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                if self.children():
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("apache2 (%s) did not come up:\n%s" % (self.module, self.error_log()))

    def stop(self):
        """Stop at once: every figure was read while the server ran, and the access log is
        written unbuffered, so there is nothing to wait for. The parent gets SIGTERM; its
        children, which may sleep up to a second in the event MPM's listener before they
        notice, get SIGKILL while the parent is still there to reap them."""
        if not self.pid:
            return
        children = self.children()
        os.kill(self.pid, signal.SIGTERM)
        time.sleep(0.05)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and alive(self.pid):
            time.sleep(0.02)
        self.pid = None

    def error_log(self):
        try:
            with open(os.path.join(self.root, "logs", "error_log")) as f:
                return f.read()
        except OSError:
            return ""

    def access_log(self):
        try:
            with open(os.path.join(self.root, "logs", "access_log")) as f:
                return [l.split() for l in f if l.strip()]
        except OSError:
            return []

    def children(self):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        st = f.read()
                except OSError:
                    continue
                if int(st[st.rfind(")") + 2:].split()[1]) == self.pid:
                    out.append(int(d))
        return out

    def cpu_seconds(self):
        """User + system CPU of the parent, its reaped children and its live children."""
        total = 0
        for pid, reaped in [(self.pid, True)] + [(c, False) for c in self.children()]:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rfind(")") + 2:].split()
            # fields[11..14] = utime stime cutime cstime (stat fields 14..17)
            total += int(fields[11]) + int(fields[12])
            if reaped:
                total += int(fields[13]) + int(fields[14])
        return total / CLK_TCK

    def pss_kib(self):
        """Proportional set size of every server process, in KiB."""
        total = 0
        for pid in [self.pid] + self.children():
            try:
                with open("/proc/%d/smaps_rollup" % pid) as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total


# -- clients ---------------------------------------------------------------------------------

def client(cmd):
    return ["taskset", "-c", CLIENT_CPU] + cmd


def run_s_time(srv, sc, seconds):
    cmd = ["openssl", "s_time", "-connect", "127.0.0.1:%d" % srv.port,
           "-reuse" if sc.resume else "-new", "-time", str(seconds), "-www", sc.path,
           "-tls1_3" if sc.proto == "1.3" else "-tls1_2"]
    p = subprocess.run(client(cmd), capture_output=True, text=True, timeout=seconds + 60)
    # "1234 connections in 2.01s; 613.93 connections/user sec, bytes read 1324"
    # "1234 connections in 3 real seconds, 1073 bytes read per connection"
    m = re.search(r"(\d+) connections in (\d+) real seconds", p.stdout)
    if p.returncode != 0 or not m:
        raise RuntimeError("s_time failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    n = int(m.group(1))
    if sc.resume:
        n += 1          # the first connection of -reuse is a full one, and counted apart
    return n, 0


def run_plain_connections(srv, sc, seconds):
    """The plain-HTTP counterpart of s_time -new: one connection per request, for `seconds`."""
    req = ("GET %s HTTP/1.0\r\nHost: bench.test\r\n\r\n" % sc.path).encode()
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
            s.sendall(req)
            got = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        if not got.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("plain request failed: %r" % got[:60])
        n += 1
    return n, 0


def run_h2load(srv, sc, requests):
    scheme = "http" if srv.module == "plain" else "https"
    url = "%s://127.0.0.1:%d%s" % (scheme, srv.port, sc.path)
    cmd = ["h2load", "-n", str(requests), "-c", str(sc.conns), "-t", "1"]
    if not sc.h2:
        cmd.append("--h1")
    cmd.append(url)
    p = subprocess.run(client(cmd), capture_output=True, text=True, timeout=120)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded",
                  p.stdout)
    if p.returncode != 0 or not m or int(m.group(4)) != requests:
        raise RuntimeError("h2load failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    m2 = re.search(r"traffic: .*?\((\d+)\) total", p.stdout)
    return requests, int(m2.group(1)) if m2 else 0


def open_idle(srv, count):
    """count connections (TLS, but for the plain baseline) that each made one keep-alive
    request and stay open. Returns the sockets (the caller closes them)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    req = b"GET /1k.bin HTTP/1.1\r\nHost: bench.test\r\n\r\n"
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        if srv.module != "plain":
            s = ctx.wrap_socket(s, server_hostname="bench.test")
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got or len(got) < got.index(b"\r\n\r\n") + 4 + 1024:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("server closed an idle-test connection")
            got += chunk
        if not got.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("unexpected response: %r" % got[:40])
        socks.append(s)
    return socks


def still_open(socks):
    """Every idle connection still answers a request (so the server kept them all)."""
    req = b"HEAD /1k.bin HTTP/1.1\r\nHost: bench.test\r\n\r\n"
    for s in socks:
        s.sendall(req)
        if not s.recv(4096).startswith(b"HTTP/1.1 200"):
            return False
    return True


def measure_memory(srv, count):
    # one warm-up connection so lazily built state (first handshake) is not counted
    for s in open_idle(srv, 1):
        s.close()
    time.sleep(0.3)
    before = srv.pss_kib()
    socks = open_idle(srv, count)
    time.sleep(0.5)
    after = srv.pss_kib()
    ok = still_open(socks[:: max(1, count // 20)])
    for s in socks:
        s.close()
    if not ok:
        raise RuntimeError("idle connections were closed by the server")
    return (after - before) / count


# -- one run ---------------------------------------------------------------------------------

def measure(work, module, sc, size, log=False):
    """Start a server, run the scenario's client once, stop. Returns a dict."""
    srv = Server(work, module, sc, log=log)
    srv.start()
    try:
        if sc.kind == "memory":
            kib = measure_memory(srv, size)
            return {"rss_kib_per_conn": kib, "srv": srv}
        cpu0, t0 = srv.cpu_seconds(), time.monotonic()
        if sc.kind == "handshake" and module == "plain":
            ops, nbytes = run_plain_connections(srv, sc, size)
        elif sc.kind == "handshake":
            ops, nbytes = run_s_time(srv, sc, size)
        else:
            ops, nbytes = run_h2load(srv, sc, size)
        wall = time.monotonic() - t0
        time.sleep(0.2)   # let the server finish its side of the last connections
        cpu = srv.cpu_seconds() - cpu0
        res = {"ops": ops, "wall": wall, "cpu": cpu, "ops_per_s": ops / wall,
               "cpu_per_op_us": 1e6 * cpu / ops if ops else 0.0,
               "bytes": FILES[sc.path.lstrip("/")] * ops if sc.kind == "throughput" else 0,
               "srv": srv}
        if sc.kind == "throughput":
            res["mib_per_cpu_s"] = res["bytes"] / (1 << 20) / cpu if cpu else 0.0
        return res
    finally:
        srv.stop()


def verify(sc, entries, module):
    """Check an access log of a verification pass against what the scenario claims.
    Fields: protocol cipher resumed keepalives http-proto status bytes."""
    want_proto = {"1.3": "TLSv1.3", "1.2": "TLSv1.2"}[sc.proto]
    problems = []
    if not entries:
        return ["no requests logged"]
    if any(e[5] != "200" for e in entries):
        problems.append("non-200 responses")
    protos = {e[0] for e in entries}
    if module == "plain":
        want_proto = "-"            # no TLS: mod_tls and mod_ssl are not loaded
        if protos != {"-"}:
            problems.append("TLS variables set on the plain baseline: %s" % protos)
        if sc.kind == "handshake":
            return problems         # one connection per request, nothing to resume
    if sc.kind in ("handshake",) and protos != {want_proto}:
        problems.append("protocols %s, expected %s" % (protos, want_proto))
    resumed = sum(1 for e in entries if e[2] == "Resumed")
    if sc.kind == "handshake":
        if sc.resume and resumed < 0.9 * len(entries):
            problems.append("only %d of %d handshakes resumed" % (resumed, len(entries)))
        if not sc.resume and resumed:
            problems.append("%d of %d handshakes resumed, expected none" % (resumed,
                                                                             len(entries)))
    if sc.kind in ("keepalive", "throughput"):
        reused = sum(1 for e in entries if e[3] != "0")
        if sc.h2:
            if any(e[4] != "HTTP/2.0" for e in entries):
                problems.append("requests not over HTTP/2")
        elif reused < len(entries) - sc.conns:     # each connection's first request is new
            problems.append("only %d of %d requests on kept-alive connections"
                            % (reused, len(entries)))
        size = FILES[sc.path.lstrip("/")]
        if any(e[6] != str(size) for e in entries):
            problems.append("response sizes differ from %d" % size)
    return problems


def verify_one(work, sc, module):
    """One scenario, briefly, with an access log; returns (problems, ciphers, count, result)."""
    if sc.kind == "memory":
        res = measure(work, module, sc, 20, log=True)
        entries = res["srv"].access_log()
        problems = [] if len(entries) >= 21 else ["%d requests logged" % len(entries)]
    else:
        size = 1 if sc.kind == "handshake" else (
            200 if sc.kind == "keepalive" else (4 if "10m" in sc.path else 40))
        res = measure(work, module, sc, size, log=True)
        entries = res["srv"].access_log()
        problems = verify(sc, entries, module)
    ciphers = sorted({e[1] for e in entries})
    res.pop("srv")
    status = "ok" if not problems else "FAILED: " + "; ".join(problems)
    print("  verify %-13s %-3s %5d requests, %s: %s" % (
        sc.key, module, len(entries), ",".join(ciphers), status), flush=True)
    return problems, ciphers, len(entries), res


def verification_pass(work, scenarios):
    """Run every scenario briefly with an access log and check it did what it claims. Nothing
    here is timed, so the runs go on in parallel (each server has its own port and root)."""
    jobs = [(sc, module) for sc in scenarios for module in modules_of(sc)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {job: pool.submit(verify_one, work, *job) for job in jobs}
        return {(sc.key, module): f.result() for (sc, module), f in futures.items()}


# -- the whole benchmark ---------------------------------------------------------------------

def sizes(sc, smoke):
    if sc.kind == "handshake":
        return 1 if smoke else 2            # seconds of s_time
    if sc.kind == "keepalive":
        return 500 if smoke else 20000      # requests
    if sc.kind == "throughput":
        if "10m" in sc.path:
            return 3 if smoke else 100
        return 50 if smoke else 3000
    return 50 if smoke else sc.conns        # idle connections


def prepare(work):
    os.makedirs(os.path.join(work, "certs"), exist_ok=True)
    os.makedirs(os.path.join(work, "htdocs"), exist_ok=True)
    os.chmod(work, 0o755)
    for name, size in FILES.items():
        with open(os.path.join(work, "htdocs", name), "wb") as f:
            f.write(os.urandom(size))
    certs = os.path.join(work, "certs")
    for kind, alg in (("ecdsa", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                      ("rsa", ["-newkey", "rsa:2048"])):
        subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30"] + alg +
                       ["-keyout", os.path.join(certs, kind + ".key"),
                        "-out", os.path.join(certs, kind + ".crt"),
                        "-subj", "/CN=bench.test", "-addext", "subjectAltName=DNS:bench.test",
                        "-addext", "basicConstraints=critical,CA:FALSE"],
                       check=True, capture_output=True)
    for f in os.listdir(certs):
        os.chmod(os.path.join(certs, f), 0o644)
    for d, _, fs in os.walk(work):
        os.chmod(d, 0o755)
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644)


# Where server CPU goes, by the shared object and symbol perf attributes it to.
CATEGORIES = ("kernel", "libc", "httpd+APR", "crypto", "TLS protocol", "module glue", "other")
def module_c_functions():
    """Names of the functions in mod_tls's C objects (module/.libs/*.o, left by apxs)."""
    libs = os.path.join(TOP, "module", ".libs")
    objs = [os.path.join(libs, f) for f in os.listdir(libs) if f.endswith(".o")] \
        if os.path.isdir(libs) else []
    if not objs:
        return set()
    p = subprocess.run(["nm", "--defined-only"] + objs, capture_output=True, text=True)
    return {l.split()[-1] for l in p.stdout.splitlines() if " t " in l or " T " in l}


GLUE_PREFIXES = ("tlsr", "<tlsr", "core::", "<core::", "alloc::", "<alloc::", "std::",
                 "<std::", "hashbrown::", "<hashbrown::", "log::", "__rust", "rust_")


def categorize(dso, sym, c_functions):
    if dso.startswith("[kernel"):
        return "kernel"
    if dso.startswith("libc.") or dso.startswith("ld-linux"):
        return "libc"
    if dso.startswith("libcrypto"):
        return "crypto"
    if dso.startswith("libssl"):
        return "TLS protocol"
    if dso == "mod_ssl.so":
        return "module glue"
    if dso == "mod_tls.so":
        if sym.startswith("0x"):
            return "other"
        if sym in c_functions or sym.startswith(GLUE_PREFIXES):
            return "module glue"   # our C, our crate (tlsr), Rust's core/alloc/std
        if sym.startswith(("rustls::", "<rustls::", "webpki::", "<webpki::", "sct::")):
            return "TLS protocol"
        return "crypto"            # ring: its Rust and its assembly (GFp_*, bn_*, aesni, ...)
    if dso.startswith(("apache2", "libapr", "mod_")) or dso.startswith("libnghttp2"):
        return "httpd+APR"
    return "other"


def profile_summary(data):
    """Sample shares per category from a perf.data."""
    p = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none",
                        "--percent-limit", "0", "--sort", "dso,sym"],
                       capture_output=True, text=True)
    shares = dict.fromkeys(CATEGORIES, 0.0)
    c_functions = module_c_functions()
    for line in p.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
        if m:
            shares[categorize(m.group(2), m.group(3).strip(), c_functions)] += float(m.group(1))
    return shares


def profile(work, module, sc, out):
    """perf record (cpu-clock, call graphs) on the server child while the scenario's client
    runs at full size; writes the report by shared object and by symbol, and returns the
    server CPU per operation split by category (see categorize)."""
    os.makedirs(out, exist_ok=True)
    srv = Server(work, module, sc)
    srv.start()
    data = os.path.join(out, "%s-%s.perf.data" % (sc.key, module))
    try:
        child = srv.children()[0]
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-g",
                                 "-o", data, "-p", str(child)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        cpu0 = srv.cpu_seconds()
        if sc.kind == "memory":
            ops = 1
            measure_memory(srv, sizes(sc, False))
        elif sc.kind == "handshake":
            ops, _ = run_s_time(srv, sc, 5)
        else:
            ops, _ = run_h2load(srv, sc, sizes(sc, False))
        time.sleep(0.2)
        per_op = 1e6 * (srv.cpu_seconds() - cpu0) / ops
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=60)
    finally:
        srv.stop()
    base = os.path.join(out, "%s-%s" % (sc.key, module))
    for sort, suffix in (("dso", "dso"), ("dso,sym", "sym")):
        with open("%s.%s.txt" % (base, suffix), "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-g",
                            "none", "--percent-limit", "0.5", "--sort", sort],
                           stdout=f, stderr=subprocess.DEVNULL)
    shares = profile_summary(data)
    print("  profile %-13s %-3s %7.1f µs/op: %s" % (
        sc.key, module, per_op, ", ".join("%s %.0f%%" % (k, v) for k, v in shares.items()
                                          if v >= 0.5)), flush=True)
    return per_op, shares


def write_profile(out, scenarios, profiles):
    """profile.md: server CPU per operation by category, mod_tls next to mod_ssl."""
    md = ["# Where the server's CPU goes", "",
          "perf record -e cpu-clock on the server child; µs of server CPU per operation "
          "(per request for keep-alive and throughput, per handshake otherwise), split by "
          "where perf found the samples. *crypto*: ring in mod_tls, libcrypto in mod_ssl; "
          "*TLS protocol*: rustls / libssl; *module glue*: mod_tls's C and its crate (and "
          "Rust's core/alloc) / mod_ssl.so.", "",
          "| scenario | module | µs/op | " + " | ".join(CATEGORIES) + " |",
          "|---|---|---|" + "---|" * len(CATEGORIES)]
    for sc in scenarios:
        for module in ("tls", "ssl"):
            per_op, shares = profiles[(sc.key, module)]
            md.append("| %s | %s | %.1f | %s |" % (
                sc.key, "mod_" + module, per_op,
                " | ".join("%.1f" % (per_op * shares[k] / 100) for k in CATEGORIES)))
    md.append("")
    with open(os.path.join(out, "profile.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


def value(sc, res):
    if sc.metric == "cpu":
        return res["cpu_per_op_us"]
    if sc.metric == "bytes_per_cpu":
        return res["mib_per_cpu_s"]
    return res["rss_kib_per_conn"]


UNITS = {"cpu": "server CPU µs/op", "bytes_per_cpu": "MiB per server CPU s",
         "rss": "KiB per idle conn"}


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ver = subprocess.run([APACHE, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    ossl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return "%s, %d CPUs, Linux %s; %s; %s (mod_ssl); rustls 0.20.8 (mod_tls)" % (
        model, os.cpu_count(), platform.release(), ver.replace("Server version: ", ""), ossl)


def stats(vals):
    return statistics.median(vals), min(vals), max(vals)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true",
                    help="every scenario once and briefly; assert each ran and verified")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated scenario keys")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--profile", action="store_true",
                    help="instead of timing: sample the server child with perf (cpu-clock) "
                         "during each scenario, per module; reports in OUT/profile/")
    args = ap.parse_args()

    if not os.path.exists(TLS_SO):
        sys.exit("bench: %s is missing; run make first" % TLS_SO)
    only = set(args.only.split(",")) if args.only else {s.key for s in SCENARIOS}
    # a scenario's plain-HTTP baseline is measured with the scenario it belongs to
    only |= {s.baseline for s in SCENARIOS if s.key in only}
    scenarios = [s for s in SCENARIOS if s.key in only]
    rounds = args.rounds
    work = tempfile.mkdtemp(prefix="mod_tls-bench-")
    started = time.monotonic()
    if args.profile:
        out = os.path.join(args.out, "profile")
        try:
            prepare(work)
            profiles = {(sc.key, module): profile(work, module, sc, out)
                        for sc in scenarios for module in ("tls", "ssl")}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        write_profile(out, scenarios, profiles)
        return
    try:
        prepare(work)
        print("bench: verification pass", flush=True)
        report = verification_pass(work, scenarios)
        failed = [k for k, v in report.items() if v[0]]
        if failed:
            sys.exit("bench: verification failed for %s" % ", ".join(
                "%s/%s" % k for k in failed))
        results = {}
        if args.smoke:
            rounds = 0
            results = {k: [v[3]] for k, v in report.items()}
        else:
            print("bench: %d round(s), server on CPU %s, client on CPU %s" % (
                rounds, SERVER_CPU, CLIENT_CPU), flush=True)
        for sc in scenarios:
            # memory per idle connection hardly varies (±0.2 KiB), and 1,000 handshakes from
            # Python take a while: two rounds are enough there
            for r in range(min(rounds, 2) if sc.kind == "memory" else rounds):
                order = MODULES if r % 2 == 0 else MODULES[::-1]
                for module in order:
                    if module not in modules_of(sc):
                        continue
                    res = measure(work, module, sc, sizes(sc, args.smoke))
                    res.pop("srv")
                    results.setdefault((sc.key, module), []).append(res)
                    print("  %-13s %-3s round %d: %s" % (sc.key, module, r + 1, fmt_run(sc, res)),
                          flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.smoke:
        missing = [sc.key for sc in scenarios
                   if not all(results.get((sc.key, m)) for m in modules_of(sc))]
        if missing:
            sys.exit("bench smoke: no result for %s" % ", ".join(missing))
        print("bench smoke: %d scenarios ran and verified against mod_tls, mod_ssl and plain "
              "HTTP (%.0f s)" % (
            len(scenarios), time.monotonic() - started))
        return
    write_results(args.out, scenarios, results, report, rounds, time.monotonic() - started)


def fmt_run(sc, res):
    if sc.kind == "memory":
        return "%.1f KiB/conn" % res["rss_kib_per_conn"]
    s = "%d ops in %.1fs (%.0f/s), server CPU %.2fs = %.1f µs/op" % (
        res["ops"], res["wall"], res["ops_per_s"], res["cpu"], res["cpu_per_op_us"])
    if sc.kind == "throughput":
        s += ", %.0f MiB/CPU-s" % res["mib_per_cpu_s"]
    return s


def write_results(out, scenarios, results, report, rounds, elapsed):
    os.makedirs(out, exist_ok=True)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for sc in scenarios:
        t = [value(sc, r) for r in results[(sc.key, "tls")]]
        s = [value(sc, r) for r in results[(sc.key, "ssl")]]
        tm, tmin, tmax = stats(t)
        sm, smin, smax = stats(s)
        # the ratio is the median of each round's own ratio: the two modules of a round ran
        # back to back, so a slow stretch of the machine hits both (on a shared VM the
        # absolute figures drift by 2x between rounds; adjacent pairs much less)
        ratio = statistics.median(a / b for a, b in zip(t, s) if b)
        if sc.metric == "bytes_per_cpu":
            met = ratio >= sc.target
        else:
            met = ratio <= sc.target
        ops_t = ops_s = None
        if sc.kind != "memory":
            ops_t = statistics.median(r["ops_per_s"] for r in results[(sc.key, "tls")])
            ops_s = statistics.median(r["ops_per_s"] for r in results[(sc.key, "ssl")])
        # what TLS adds over the same server without it: cost (CPU per operation or per
        # byte, memory per connection) of each module minus the plain run's
        pm = statistics.median(value(sc, r) for r in results[(sc.baseline, "plain")])
        cost = (lambda v: 1 / v) if sc.metric == "bytes_per_cpu" else (lambda v: v)
        added_t, added_s = cost(tm) - cost(pm), cost(sm) - cost(pm)
        # h2c (the plain h2 baseline) takes another path through mod_http2 than h2 over TLS
        # and may cost more than it: no TLS part to compare then
        added = added_t / added_s if added_s > 0 and added_t > 0 else float("nan")
        rows.append({"key": sc.key, "scenario": sc.title, "unit": UNITS[sc.metric],
                     "tls": tm, "tls_min": tmin, "tls_max": tmax,
                     "ssl": sm, "ssl_min": smin, "ssl_max": smax, "ratio": ratio,
                     "plain": pm, "added_ratio": added,
                     "target": ("<= %g" if sc.metric != "bytes_per_cpu" else ">= %g")
                     % sc.target, "met": met, "tls_ops_s": ops_t, "ssl_ops_s": ops_s,
                     "cipher_tls": ",".join(report[(sc.key, "tls")][1]),
                     "cipher_ssl": ",".join(report[(sc.key, "ssl")][1])})
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    md = ["# mod_tls vs mod_ssl", "",
          "%s, %d round(s) per module alternating A B A B, medians [min–max]; ratios are the "
          "median of each round's ratio; %.0f s in all." % (
              when, rounds, elapsed),
          "", "Machine: %s. Server pinned to CPU %s, client to CPU %s." % (
              machine(), SERVER_CPU, CLIENT_CPU), "",
          "| scenario | unit | mod_tls | mod_ssl | ratio tls/ssl | target | met "
          "| plain HTTP | TLS part, tls/ssl | ops/s tls / ssl |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ops = "%.0f / %.0f" % (r["tls_ops_s"], r["ssl_ops_s"]) if r["tls_ops_s"] else "–"
        md.append("| %s | %s | %.1f [%.1f–%.1f] | %.1f [%.1f–%.1f] | **%.2f** | %s | %s "
                  "| %.1f | %s | %s |" % (
                      r["scenario"], r["unit"], r["tls"], r["tls_min"], r["tls_max"], r["ssl"],
                      r["ssl_min"], r["ssl_max"], r["ratio"], r["target"],
                      "yes" if r["met"] else "no", r["plain"],
                      "–" if r["added_ratio"] != r["added_ratio"] else "%.2f" % r["added_ratio"],
                      ops))
    md += ["", "CPU and memory: lower is better; MiB per CPU second: higher is better. "
           "*plain HTTP*: the same server and client without TLS (for the handshake rows: a "
           "new connection per request). *TLS part*: what each module adds over plain HTTP "
           "(CPU per request, CPU per byte, or memory per connection), mod_tls's divided by "
           "mod_ssl's; lower is better. Every scenario passed its verification pass (protocol, "
           "full/resumed handshakes, keep-alive, HTTP/2, sizes) against both modules and the "
           "baseline.", ""]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md))
    chart(out, rows)
    print("\n".join(md))


def chart(out, rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: python3-matplotlib is missing; no chart", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(10, 5))
    names = [r["key"] for r in rows]
    # every bar shows "how much better mod_tls is": ssl/tls for costs, tls/ssl for throughput
    vals = [(1 / r["ratio"]) if r["unit"] != UNITS["bytes_per_cpu"] else r["ratio"]
            for r in rows]
    colors = ["tab:green" if r["met"] else "tab:red" for r in rows]
    ax.bar(names, vals, color=colors)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_ylabel("mod_tls advantage over mod_ssl (x)")
    ax.set_title("mod_tls vs mod_ssl (>1: mod_tls better; green: target met)")
    plt.xticks(rotation=35, ha="right")
    plt.tight_layout()
    fig.savefig(os.path.join(out, "results.png"), dpi=100)


if __name__ == "__main__":
    main()
