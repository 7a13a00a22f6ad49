"""A real Debian apache2 started on 127.0.0.x with a generated configuration.

    h = env.httpd("sni")                       # its own server root under the session dir
    h.listen("https")                          # Listen 127.0.0.1:P + TLSEngine 127.0.0.1:P
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair], aliases=["alt.a.test"])
    h.start()                                  # raises HttpdError with all output on failure
    h.port("https")
    h.stop()

The TLS parts of the configuration are rendered by a *backend*: ``tls`` writes mod_tls
directives (the module under test), ``ssl`` writes the mod_ssl equivalent (used to validate the
harness and the tests themselves). Everything else is plain httpd configuration.
"""
import atexit
import os
import random
import resource
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from .sanitizer import Reports

APACHE = "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
MPMS = ("event", "worker", "prefork")

# Modules by name -> (module symbol, file)
KNOWN_MODULES = {
    "authz_core": ("authz_core_module", "mod_authz_core.so"),
    "mime": ("mime_module", "mod_mime.so"),
    "dir": ("dir_module", "mod_dir.so"),
    "alias": ("alias_module", "mod_alias.so"),
    "rewrite": ("rewrite_module", "mod_rewrite.so"),
    "cgid": ("cgid_module", "mod_cgid.so"),
    "cgi": ("cgi_module", "mod_cgi.so"),
    "headers": ("headers_module", "mod_headers.so"),
    "status": ("status_module", "mod_status.so"),
    "ssl": ("ssl_module", "mod_ssl.so"),
    "socache_shmcb": ("socache_shmcb_module", "mod_socache_shmcb.so"),
    "slotmem_shm": ("slotmem_shm_module", "mod_slotmem_shm.so"),
    "env": ("env_module", "mod_env.so"),
    "setenvif": ("setenvif_module", "mod_setenvif.so"),
    "http2": ("http2_module", "mod_http2.so"),
    "proxy": ("proxy_module", "mod_proxy.so"),
    "proxy_http": ("proxy_http_module", "mod_proxy_http.so"),
    "proxy_wstunnel": ("proxy_wstunnel_module", "mod_proxy_wstunnel.so"),
    "proxy_http2": ("proxy_http2_module", "mod_proxy_http2.so"),
    "reqtimeout": ("reqtimeout_module", "mod_reqtimeout.so"),
    "socache_memcache": ("socache_memcache_module", "mod_socache_memcache.so"),
    "socache_redis": ("socache_redis_module", "mod_socache_redis.so"),
    "socache_dbm": ("socache_dbm_module", "mod_socache_dbm.so"),
}
BASE_MODULES = ("authz_core", "mime", "dir", "alias")

# an error-log line at a level that is a server error: "[module:level]"
SEVERE_RE = re.compile(r"\[([A-Za-z0-9_.-]*):(emerg|alert|crit|error)\]")
# a crashed child (logged at notice by the parent), a Rust panic or an abort written to stderr
# (which httpd sends to the error log): always unexpected, whatever the level
CRASH_RE = re.compile(r"AH00052|exit signal|seg fault|panicked at|Aborted|core dumped|"
                      r"double free|stack smashing|AddressSanitizer")
# httpd's forced stop (SIGTERM) closes the sockets of the connections its workers are still on
# (event MPM, close_worker_sockets()): a worker in the middle of a lingering close then fails to
# poll its socket. A line of the stop itself, whoever does TLS; seen more under check-asan.
STOP_ALLOWED = (r"\(9\)Bad file descriptor: AH03092: process_lingering_close",)
LEVEL_RE = re.compile(r"\[([A-Za-z0-9_.-]*):(emerg|alert|crit|error|warn|notice|info|debug|trace\d)\]")

# The cipher suites rustls implements: IANA name, OpenSSL name, id, TLS 1.3?
SUITES = [
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384", 0x1302, True),
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256", 0x1301, True),
    ("TLS_CHACHA20_POLY1305_SHA256", "TLS13_CHACHA20_POLY1305_SHA256", 0x1303, True),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xc02c, False),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xc02b, False),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xcca9,
     False),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", 0xc030, False),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", 0xc02f, False),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", 0xcca8, False),
]


def suite(name):
    """The SUITES row for any spelling of a suite (IANA, OpenSSL, TLS13_, TLS_CIPHER_0x)."""
    n = name.strip()
    for row in SUITES:
        iana, ossl, num, _ = row
        if n in (iana, ossl) or n.lower() == "tls_cipher_0x%04x" % num:
            return row
    raise KeyError(name)


def openssl_name(name):
    """The name OpenSSL (clients, mod_ssl) uses: TLS 1.3 suites by IANA name."""
    iana, ossl, _, tls13 = suite(name)
    return iana if tls13 else ossl


def hostport(addr, port):
    """ADDR:PORT as httpd writes it: IPv6 addresses in brackets."""
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


class HttpdError(Exception):
    pass


_used_ports = set()


def _port_free(port, addrs):
    for addr in addrs:
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                          socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_port(addrs=("127.0.0.1",)):
    """A port free on all ``addrs`` right now, below the ephemeral range (which the kernel hands
    to outgoing connections), and not handed out before in this session."""
    for _ in range(2000):
        p = random.randrange(20000, 32000)
        if p in _used_ports:
            continue
        if _port_free(p, addrs):
            _used_ports.add(p)
            return p
    raise HttpdError("no free port found")


class VHost:
    """One <VirtualHost>. ``certs`` is a list of (cert_file, key_file_or_None)."""

    def __init__(self, httpd, name, port="https", addr="*", aliases=(), certs=None,
                 protocol=None, prefer=None, suppress=None, honor_order=None, docroot=None,
                 extra="", tls_extra=None, ssl_extra=None):
        self.httpd = httpd
        self.name = name
        self.port_key = port
        self.addr = addr
        self.aliases = list(aliases)
        self.certs = list(certs or [])
        self.protocol = protocol
        self.prefer = prefer
        self.suppress = suppress
        self.honor_order = honor_order
        self.docroot = docroot or os.path.join(httpd.root, "htdocs", name)
        self.extra = extra
        self.tls_extra = tls_extra or ""
        self.ssl_extra = ssl_extra or ""

    def is_tls(self):
        return self.httpd._is_tls(self.port_key, self.addr)


class StartResult:
    def __init__(self, ok, returncode, stdout, stderr, error_log, cmd):
        self.ok = ok
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.error_log = error_log
        self.cmd = cmd

    @property
    def output(self):
        """stdout + stderr + error log: where a startup message may land."""
        return "\n".join([self.stdout, self.stderr, self.error_log])

    def __repr__(self):
        return ("<%s rc=%s>\n--- stdout\n%s\n--- stderr\n%s\n--- error log\n%s" %
                (" ".join(self.cmd), self.returncode, self.stdout, self.stderr, self.error_log))


class Httpd:
    RUNNING = []  # servers started and not stopped (for the per-test error-log check)
    ALL = []      # every server of the session (sanitizer reports of any, run or not)

    def __init__(self, env, name, mpm="event", modules=(), log_level="warn", timeout=None,
                 keepalive_timeout=None, strict_sni=None, global_extra="", allowed_errors=(),
                 backend=None, run_as=None, access_log=True, main_server_extra="",
                 load_tls=True, session_cache=None, session_cache_timeout=None,
                 session_tickets=None, ticket_key_file=None, asan_options=""):
        assert mpm in MPMS, mpm
        self.env = env
        self.name = name
        self.backend = backend or env.backend
        self.mpm = mpm
        self.modules = list(modules)
        self.log_level = log_level
        self.timeout = timeout
        self.keepalive_timeout = keepalive_timeout
        self.strict_sni = strict_sni
        self.global_extra = global_extra
        self.main_server_extra = main_server_extra
        self.allowed_errors = [re.compile(p) for p in allowed_errors]
        self.run_as = run_as
        self.with_access_log = access_log
        self.load_tls = load_tls
        # sessions: None leaves the backend's default. session_cache: "none" or
        # "provider:args" (TLSSessionCache / SSLSessionCache); session_tickets: True/False;
        # ticket_key_file: a file made by write_ticket_keys()
        self.session_cache = session_cache
        self.session_cache_timeout = session_cache_timeout
        self.session_tickets = session_tickets
        self.ticket_key_file = ticket_key_file
        self.root = tempfile.mkdtemp(prefix=name + "-", dir=env.workdir)
        os.chmod(self.root, 0o755)
        for d in ("logs", "run", "htdocs", "htdocs/main"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
            os.chmod(os.path.join(self.root, d), 0o755)
        self._write_file("htdocs/main/whoami.txt", "main\n")
        self.conf_path = os.path.join(self.root, "httpd.conf")
        self.pid_path = os.path.join(self.root, "run", "httpd.pid")
        self.error_log_path = os.path.join(self.root, "logs", "error_log")
        self.access_log_path = os.path.join(self.root, "logs", "access_log")
        self.listens = []       # [key, addrs, tls]
        self.no_engine_line = set()
        self.ports = {}
        self.vhosts = []
        self.pid = None
        self._log_mark = 0
        self.last_start = None
        # a sanitizer build (make check-asan): apache2 runs with the runtime preloaded and
        # writes reports to sanitizer/ (harness/sanitizer.py)
        self.sanitizer = getattr(env, "sanitizer", None)
        self.asan_options = asan_options   # this server's additions to ASAN_OPTIONS
        self.sanitizer_dir = os.path.join(self.root, "sanitizer")
        self._reports = Reports(self.sanitizer_dir)
        Httpd.ALL.append(self)

    # -- configuration ------------------------------------------------------
    def _write_file(self, rel, content, mode=0o644):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w" if isinstance(content, str) else "wb") as f:
            f.write(content)
        os.chmod(p, mode)
        return p

    def write_file(self, rel, content, mode=0o644):
        """Write a file under the server root (readable by the server's user)."""
        return self._write_file(rel, content, mode)

    def listen(self, key="https", addrs=("127.0.0.1",), tls="addr", engine_line=True):
        """A port (picked at start) listened on every address in ``addrs``.

        tls: None (plain HTTP), "addr" (TLSEngine ADDR:PORT for each address), "port"
        (TLSEngine PORT), or an explicit address string ("127.0.0.1": TLS only there).
        engine_line=False: TLS, but the test writes the TLSEngine line itself.
        """
        self.listens.append([key, tuple(addrs), tls])
        if not engine_line:
            self.no_engine_line.add(key)
        return key

    def vhost(self, name, port="https", **kw):
        vh = VHost(self, name, port=port, **kw)
        self.vhosts.append(vh)
        if not os.path.exists(os.path.join(vh.docroot, "whoami.txt")):
            os.makedirs(vh.docroot, exist_ok=True)
            os.chmod(vh.docroot, 0o755)
            for fn, content in (("whoami.txt", name + "\n"),
                                ("index.html", "<html><body><h1>%s</h1></body></html>\n" % name)):
                p = os.path.join(vh.docroot, fn)
                with open(p, "w") as f:
                    f.write(content)
                os.chmod(p, 0o644)
        return vh

    def port(self, key="https"):
        return self.ports[key]

    def _tls_spec(self, key):
        for k, addrs, tls in self.listens:
            if k == key:
                return addrs, tls
        raise KeyError(key)

    def _is_tls(self, key, addr):
        try:
            addrs, tls = self._tls_spec(key)
        except KeyError:
            return False
        if tls is None:
            return False
        if tls in ("addr", "port"):
            return True
        return addr in ("*", tls)

    def _pick_ports(self):
        self.ports = {}
        for key, addrs, _ in self.listens:
            if key not in self.ports:
                self.ports[key] = pick_port(addrs)

    def _subst(self, text):
        text = re.sub(r"@PORT\((\w+)\)@", lambda m: str(self.ports[m.group(1)]), text)
        # @TLSOPTIONS@: TLSOptions for mod_tls, SSLOptions for mod_ssl (same syntax)
        return (text.replace("@TLSOPTIONS@", self.backend.options_directive)
                .replace("@ROOT@", self.root)
                .replace("@CERTS@", self.env.certs.dir)
                .replace("@DATA@", self.env.data_dir))

    def _render_vhost(self, vh):
        port = self.ports[vh.port_key]
        lines = ["<VirtualHost %s>" % hostport(vh.addr, port),
                 "  ServerName %s" % vh.name]
        if vh.aliases:
            lines.append("  ServerAlias %s" % " ".join(vh.aliases))
        lines.append('  DocumentRoot "%s"' % vh.docroot)
        if vh.is_tls() or vh.certs:
            lines += ["  " + l for l in self.backend.vhost_lines(vh, self)]
        if vh.extra:
            lines.append(self._subst(vh.extra))
        lines.append("</VirtualHost>")
        return "\n".join(lines)

    def render(self):
        mods = []
        seen = set()
        for m in ["mpm_" + self.mpm] + list(BASE_MODULES) + self.modules:
            if m in seen:
                continue
            seen.add(m)
            if m.startswith("mpm_"):
                mods.append("LoadModule %s_module %s/mod_%s.so" % (m, MODULES_DIR, m))
            else:
                sym, so = KNOWN_MODULES[m]
                mods.append("LoadModule %s %s/%s" % (sym, MODULES_DIR, so))
        listen_lines = []
        for key, addrs, _ in self.listens:
            for a in addrs:
                listen_lines.append("Listen %s" % hostport(a, self.ports[key]))
        user = ""
        if os.geteuid() == 0 and self.run_as is None:
            user = "User www-data\nGroup www-data"
        conf = """# generated by the mod_tls test suite
ServerRoot "{root}"
CoreDumpDirectory "{root}/cores"
PidFile "{pid}"
DefaultRuntimeDir "{root}/run"
ErrorLog "{root}/logs/error_log"
LogLevel {loglevel}
{mods}
{user}
ServerName localhost
ServerAdmin tests@localhost
TypesConfig /etc/mime.types
DirectoryIndex index.html
DocumentRoot "{root}/htdocs/main"
{timeout}
{katimeout}
LogFormat "%a %{{remote}}p %k %>s %b %v \\"%r\\"" tlstest
{customlog}
{listen}
<Directory />
  Require all denied
  AllowOverride None
  Options None
</Directory>
<Directory "{root}/htdocs">
  Require all granted
</Directory>
<Directory "{data}">
  Require all granted
</Directory>
Alias /data/ "{data}/"
{main_extra}
""".format(root=self.root, pid=self.pid_path, loglevel=self.log_level, mods="\n".join(mods),
           user=user, data=self.env.data_dir,
           timeout=("Timeout %d" % self.timeout) if self.timeout else "",
           katimeout=("KeepAliveTimeout %d" % self.keepalive_timeout)
           if self.keepalive_timeout else "",
           customlog=('CustomLog "%s" tlstest' % self.access_log_path) if self.with_access_log else "",
           listen="\n".join(listen_lines), main_extra=self._subst(self.main_server_extra))
        conf += "\n".join(self.backend.global_lines(self)) + "\n"
        if self.global_extra:
            conf += self._subst(self.global_extra) + "\n"
        for vh in self.vhosts:
            conf += self._render_vhost(vh) + "\n"
        return conf

    def write_config(self):
        with open(self.conf_path, "w") as f:
            f.write(self.render())
        os.chmod(self.conf_path, 0o644)
        cores = os.path.join(self.root, "cores")
        os.makedirs(cores, exist_ok=True)
        os.chmod(cores, 0o777)   # the children write there as the run-as user

    # -- process --------------------------------------------------------------
    def _preexec(self):
        if self.run_as is None:
            return _allow_cores
        import pwd
        pw = pwd.getpwnam(self.run_as)

        def drop():
            _allow_cores()
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        return drop

    def _prepare_run_as(self):
        if self.run_as is None or os.geteuid() != 0:
            return
        import pwd
        pw = pwd.getpwnam(self.run_as)
        for d in ("logs", "run"):
            os.chown(os.path.join(self.root, d), pw.pw_uid, pw.pw_gid)

    def _cmd(self, *args):
        return [APACHE, "-d", self.root, "-f", self.conf_path] + list(args)

    def _run(self, args, timeout=60):
        cmd = self._cmd(*args)
        env = _clean_env()
        if self.sanitizer:
            # LeakSanitizer for -t only (harness/sanitizer.py says why)
            env.update(self.sanitizer.env(self.sanitizer_dir, leaks=args == ["-t"],
                                          asan_options=self.asan_options))
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, preexec_fn=self._preexec(),
                           env=env)
        return cmd, p.returncode, p.stdout.decode(errors="replace"), \
            p.stderr.decode(errors="replace")

    def configtest(self):
        """``apache2 -t`` on the current configuration: a StartResult (never raises)."""
        if not self.ports:
            self._pick_ports()
        self.write_config()
        self._prepare_run_as()
        cmd, rc, out, err = self._run(["-t"])
        return StartResult(rc == 0, rc, out, err, self.error_log(), cmd)

    def start(self, check=True, wait_timeout=30):
        """Start the server; return a StartResult. With check=True a failure raises HttpdError
        carrying the whole output."""
        assert self.pid is None, "already started"
        res = None
        for attempt in range(3):
            self._pick_ports()
            self.write_config()
            self._prepare_run_as()
            if self.sanitizer and attempt == 0:
                # a sanitizer build: `-t` first, with LeakSanitizer, so that every
                # configuration the suite starts is also checked for leaks (the servers
                # themselves run without it); a report fails the test, the result is not used
                self._run(["-t"])
            log_before = len(self.error_log())
            self._log_mark = log_before   # lines of earlier (failed) starts are not ours
            cmd, rc, out, err = self._run(["-k", "start"])
            if rc != 0:
                res = StartResult(False, rc, out, err, self.error_log(), cmd)
                if "Address already in use" in res.output[log_before:] + out + err \
                        and attempt < 2:
                    continue
                break
            ok, why = self._wait_up(wait_timeout)
            res = StartResult(ok, rc, out, err + why, self.error_log(), cmd)
            break
        self.last_start = res
        if res.ok:
            Httpd.RUNNING.append(self)
        elif self.pid is not None:
            self._terminate()
        if check and not res.ok:
            # the reports stay unread for the per-test check; a copy explains the failure here
            found = ["[harness] %s:\n%s" % f for f in Reports(self.sanitizer_dir).new()]
            raise HttpdError("httpd %s failed to start: %r%s"
                             % (self.name, res, "".join("\n" + f for f in found)))
        return res

    def _read_pid(self):
        try:
            with open(self.pid_path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def _wait_up(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self._read_pid()
            if pid is not None:
                self.pid = pid
                break
            time.sleep(0.05)
        else:
            return False, "\n[harness] no pid file after %ss" % timeout
        pending = []
        for key, addrs, tls in self.listens:
            for a in addrs:
                pending.append((a, self.ports[key], self._is_tls(key, a)))
        while pending and time.monotonic() < deadline:
            if not _alive(self.pid):
                return False, "\n[harness] httpd (pid %d) exited during startup" % self.pid
            addr, port, tls = pending[0]
            if _probe(addr, port, tls):
                pending.pop(0)
            else:
                time.sleep(0.1)
        if pending:
            return False, "\n[harness] httpd not answering on %s after %ss" % (pending, timeout)
        return True, ""

    def _terminate(self, timeout=30):
        pid = self.pid
        self.pid = None
        if pid is None or not _alive(pid):
            return True
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return True
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return False

    def stop(self):
        """Stop (SIGTERM to the pid in the pid file, wait until it is gone). Returns the
        unexpected severe error-log lines written since the last check."""
        if self in Httpd.RUNNING:
            Httpd.RUNNING.remove(self)
        if self.pid is None:
            self.pid = self._read_pid()
        before = self.unexpected_errors()
        clean = self._terminate()
        if not clean:
            raise HttpdError("httpd %s did not stop within 30s on SIGTERM" % self.name)
        return before + self.unexpected_errors(STOP_ALLOWED)

    def ctl(self, verb):
        """``apache2 -k VERB`` (graceful, graceful-stop, ...) on this server, which is what
        apachectl runs: it reads the configuration, then signals the pid in the pid file.
        Returns (returncode, stdout + stderr)."""
        _, rc, out, err = self._run(["-k", verb])
        return rc, out + err

    def graceful(self, timeout=30, ctl=False):
        """Graceful restart: SIGUSR1, or with ctl=True ``apache2 -k graceful`` (see ctl);
        wait until the new generation announces itself and answers."""
        marker = "resuming normal operations"
        n = self.error_log().count(marker)
        if ctl:
            rc, out = self.ctl("graceful")
            if rc != 0:
                raise HttpdError("apache2 -k graceful failed (%d): %s" % (rc, out))
        else:
            os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error_log().count(marker) > n:
                break
            if not _alive(self.pid):
                raise HttpdError("httpd died on graceful restart:\n" + self.error_log())
            time.sleep(0.05)
        else:
            raise HttpdError("no graceful restart seen in the error log:\n" + self.error_log())
        for key, addrs, tls in self.listens:
            for a in addrs:
                while not _probe(a, self.ports[key], self._is_tls(key, a)):
                    if time.monotonic() > deadline:
                        raise HttpdError("not answering after graceful restart")
                    time.sleep(0.1)

    # -- logs -------------------------------------------------------------------
    def error_log(self):
        try:
            with open(self.error_log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def read_file(self, rel):
        """A file under the server root (e.g. a log of the test's own CustomLog), "" if absent."""
        try:
            with open(os.path.join(self.root, rel), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def access_log(self):
        try:
            with open(self.access_log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def access_entries(self):
        """Parsed access log: dicts with ip, port, ka (keep-alive count), status, bytes, vhost,
        request."""
        out = []
        rx = re.compile(r'^(\S+) (\d+) (\d+) (\d+) (\S+) (\S+) "(.*)"$')
        for line in self.access_log().splitlines():
            m = rx.match(line)
            if m:
                out.append(dict(ip=m.group(1), port=int(m.group(2)), ka=int(m.group(3)),
                                status=int(m.group(4)), bytes=m.group(5), vhost=m.group(6),
                                request=m.group(7)))
        return out

    def wait_access(self, match, count, timeout=10):
        """Access-log entries for which ``match(entry)`` is true, waiting (up to ``timeout``)
        until there are at least ``count`` of them: httpd logs a request after answering it."""
        deadline = time.monotonic() + timeout
        while True:
            entries = [e for e in self.access_entries() if match(e)]
            if len(entries) >= count or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def log_mark(self):
        return len(self.error_log())

    def log_since(self, mark):
        return self.error_log()[mark:]

    def unexpected_errors(self, extra_allowed=()):
        """Severe lines ([mod:error|crit|alert|emerg]) logged since the previous call that no
        allowed pattern matches, any sign of a crash, and sanitizer findings."""
        text = self.error_log()
        new = text[self._log_mark:]
        self._log_mark = len(text)
        allowed = self.allowed_errors + [re.compile(p) for p in extra_allowed]
        bad = []
        crashed = False
        for line in new.splitlines():
            if CRASH_RE.search(line):
                bad.append(line)
                crashed = True
            elif SEVERE_RE.search(line) and not any(a.search(line) for a in allowed):
                bad.append(line)
        if crashed:
            bad += self.backtraces()
        return bad + self.sanitizer_reports()

    def sanitizer_reports(self):
        """Findings in sanitizer report files written since the previous call (never any
        without a sanitizer build): a memory error or undefined behaviour in any of the
        server's processes, or a leak in `apache2 -t`."""
        return ["[sanitizer] %s:\n%s" % f for f in self._reports.new()]

    def backtraces(self):
        """gdb backtraces of the core files the server's processes left (CoreDumpDirectory;
        only where the kernel writes plain core files), so a crash is explained in the test's
        failure instead of needing a rerun."""
        out = []
        cores = os.path.join(self.root, "cores")
        for name in sorted(os.listdir(cores)) if os.path.isdir(cores) else []:
            path = os.path.join(cores, name)
            if not shutil.which("gdb"):
                out.append("[harness] core file %s (install gdb for a backtrace)" % path)
                continue
            try:
                p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "bt", "-ex", "thread apply all bt 12",
                                    APACHE, path], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
                text = p.stdout.decode(errors="replace")
            except (OSError, subprocess.SubprocessError) as e:
                text = repr(e)
            text = "\n".join(t for t in text.splitlines() if not t.startswith("warning:"))
            out.append("[harness] backtrace of %s (crashing thread first):\n%s"
                       % (path, text[:20000]))
        return out

    def wait_log(self, pattern, since=0, timeout=10):
        """Wait until the error log (from offset ``since``) matches ``pattern``; the match or
        None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.error_log()[since:])
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.1)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def _allow_cores():
    """Let httpd's processes dump core (into CoreDumpDirectory)."""
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass


@atexit.register
def _stop_leftovers():
    """Never leave a server running behind, even when the test run is interrupted."""
    for h in list(Httpd.RUNNING):
        try:
            h.stop()
        except Exception:  # noqa: BLE001
            pass


def _clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("APACHE")}
    env["LANG"] = "C"
    return env


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    # state is the field after "(comm)"
    state = st[st.rfind(")") + 2:].split(" ", 1)[0]
    return state not in ("Z", "X")


def _probe(addr, port, tls):
    """True when a server process handles a connection on addr:port: a TLS handshake that the
    server answered (any answer), or a plain HTTP response."""
    try:
        s = socket.create_connection((addr, port), timeout=3)
    except OSError:
        return False
    try:
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                ss = ctx.wrap_socket(s, do_handshake_on_connect=False)
                ss.do_handshake()
                ss.close()
                return True
            except ssl.SSLError as e:
                # an alert from the server means a child is handling connections
                return "EOF" not in str(e) and "EOF" not in type(e).__name__
            except OSError:
                return False
        s.sendall(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False
    finally:
        s.close()
