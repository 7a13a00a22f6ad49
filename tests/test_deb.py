"""The Debian package (`make deb`, debian/): it carries the module's version and lintian finds no
errors in it; installed with apt on this machine, `a2enmod tls` makes Debian's apache2 load it and
serve a site on a TLSEngine address; purged, it leaves nothing behind.

Needs root. For its duration it changes the machine's apache2 setup (the package's files,
mods-enabled/, a2enmod's records in /var/lib/apache2/module/) and then restores it; a
`make install` found there is moved aside and put back. On a machine where the package is
already installed the end-to-end test skips rather than purge the admin's installation. As with
any module package, installing and purging restart a running apache2 service (invoke-rc.d)."""
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from harness.httpd import pick_port
from harness.system import ModuleState, system_apache2_lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = "libapache2-mod-tls"
DEB_DIR = os.path.join(REPO, "build", "deb")
SO = "/usr/lib/apache2/modules/mod_tls.so"
LOAD = "/etc/apache2/mods-available/tls.load"
CONF = "/etc/apache2/mods-available/tls.conf"
FILES = [SO, LOAD, CONF]
# where a package of this kind leaves traces: its files, a2enmod's links and records, dpkg's
# database, the docs
WATCHED = ["/etc/apache2", "/usr/lib/apache2", "/var/lib/apache2", "/usr/share/doc/" + PKG]

pytestmark = pytest.mark.tls_only


def run(args, timeout=300, env=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def changelog_version():
    with open(os.path.join(REPO, "debian", "changelog")) as f:
        m = re.match(r"^%s \(([^)]+)\) " % PKG, f.readline())
    assert m, "debian/changelog does not start with a %s entry" % PKG
    return m.group(1)


def module_version():
    with open(os.path.join(REPO, "module", "tls_version.h")) as f:
        m = re.search(r'^#define TLS_MODULE_VERSION "([^"]+)"', f.read(), re.M)
    assert m, "no TLS_MODULE_VERSION in module/tls_version.h"
    return m.group(1)


def test_changelog_carries_the_module_version():
    # a native package: the package version is the module's, without a Debian revision
    assert changelog_version() == module_version()


@pytest.fixture(scope="module")
def deb():
    """`make deb` (a no-op when the package is newer than its sources)."""
    r = run(["make", "-C", REPO, "--no-print-directory", "deb"], timeout=3600)
    assert r.returncode == 0, "make deb failed:\n%s\n%s" % (r.stdout[-6000:], r.stderr[-3000:])
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    path = os.path.join(DEB_DIR, "%s_%s_%s.deb" % (PKG, changelog_version(), arch))
    assert os.path.isfile(path), "make deb made no %s" % path
    return path


def test_package_fields_and_lintian(deb):
    with open(os.path.join(DEB_DIR, "lintian.txt")) as f:
        report = f.read()
    errors = [line for line in report.splitlines() if line.startswith("E:")]
    assert errors == [], report
    fields = run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends",
                  "X-Cargo-Built-Using"]).stdout
    assert "Version: %s\n" % module_version() in fields
    # dh_apache2: the module API of the apache2 it was built against; shlibs: libc
    api = run(["dpkg-query", "-W", "-f", "${Provides}", "apache2-bin"]).stdout
    api = re.search(r"apache2-api-\d+", api).group(0)
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    assert api in depends and "libc6" in depends, depends
    # the statically linked crates and the Rust standard library, by source package
    built_using = re.search(r"^X-Cargo-Built-Using: (.*)$", fields, re.M).group(1)
    for src in ("rust-rustls", "rust-ring", "rust-webpki", "rustc"):
        assert re.search(r"(^|, )%s \(= [^)]+\)" % src, built_using), built_using
    listing = run(["dpkg-deb", "-c", deb]).stdout
    for f in FILES:
        assert "." + f in listing, f


def snapshot():
    paths = set()
    for top in WATCHED:
        for d, dirs, names in os.walk(top):
            paths.update(os.path.join(d, n) for n in dirs + names)
    paths.update(glob.glob("/var/lib/dpkg/info/%s.*" % PKG))
    return paths


def pkg_status():
    r = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PKG])
    return r.stdout.strip() if r.returncode == 0 else ""


def apt(*args):
    return run(["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"] + list(args), timeout=900)


@pytest.fixture
def system():
    """The machine, with the package absent, put back as it was afterwards."""
    if os.geteuid() != 0:
        pytest.fail("installing a package needs root (CI runs as root)")
    status = pkg_status()
    if status not in ("", "un"):
        pytest.skip("%s is installed on this machine (dpkg status %r): this test would replace "
                    "and purge it; `apt-get purge %s` to run it" % (PKG, status, PKG))
    with system_apache2_lock():
        aside = tempfile.mkdtemp(prefix="mod_tls-deb-aside-")
        moved = {}
        for f in FILES:  # a `make install`: not the package's, keep it out of the way
            if os.path.lexists(f):
                moved[f] = os.path.join(aside, os.path.basename(f))
                shutil.move(f, moved[f])
        state = ModuleState(["tls", "socache_shmcb", "slotmem_shm"])
        try:
            yield
        finally:
            if pkg_status() not in ("", "un"):
                apt("purge", PKG)
            for f in FILES:
                if os.path.lexists(f) and f not in moved:
                    os.unlink(f)
            for f, copy in moved.items():
                shutil.move(copy, f)
            state.restore()
            shutil.rmtree(aside, ignore_errors=True)


SITE = """\
# Debian's apache2.conf without ports.conf and sites-enabled/: the modules a2enmod enabled and
# one site of our own, with the runtime directories in a scratch directory
ServerName localhost
DefaultRuntimeDir ${APACHE_RUN_DIR}
PidFile ${APACHE_PID_FILE}
Mutex file:${APACHE_LOCK_DIR} default
User ${APACHE_RUN_USER}
Group ${APACHE_RUN_GROUP}
ErrorLog ${APACHE_LOG_DIR}/error.log
LogLevel warn tls:info
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf

Listen 127.0.0.1:@PORT@
TLSEngine 127.0.0.1:@PORT@
LogFormat "%h \\"%r\\" %>s %{SSL_PROTOCOL}x %{SSL_VERSION_INTERFACE}x" tlsinfo

<VirtualHost 127.0.0.1:@PORT@>
    ServerName localhost
    DocumentRoot @DIR@/htdocs
    TLSCertificate @DIR@/localhost.pem @DIR@/localhost.key
    CustomLog ${APACHE_LOG_DIR}/access.log tlsinfo
    <Directory @DIR@/htdocs>
        Require all granted
    </Directory>
</VirtualHost>
"""


class SystemApache:
    """/usr/sbin/apache2 -d /etc/apache2 run the way apache2ctl runs it (environment from
    /etc/apache2/envvars), with its own config file, port and runtime directories."""

    def __init__(self, workdir):
        self.dir = workdir
        self.port = pick_port()
        self.conf = os.path.join(workdir, "site.conf")
        self.pid_file = os.path.join(workdir, "run", "apache2.pid")
        for d in ("run", "lock", "log", "htdocs"):
            os.makedirs(os.path.join(workdir, d))
        with open(self.conf, "w") as f:
            f.write(SITE.replace("@PORT@", str(self.port)).replace("@DIR@", workdir))
        self.pid = None

    def _cmd(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("APACHE")}
        env["LANG"] = "C"
        script = ('. /etc/apache2/envvars && export APACHE_RUN_DIR="$1/run" '
                  'APACHE_LOCK_DIR="$1/lock" APACHE_LOG_DIR="$1/log" '
                  'APACHE_PID_FILE="$1/run/apache2.pid" && shift && '
                  'exec /usr/sbin/apache2 -d /etc/apache2 "$@"')
        return run(["sh", "-c", script, "sh", self.dir, "-f", self.conf] + list(args),
                   timeout=120, env=env)

    def start(self):
        r = self._cmd("-k", "start")
        assert r.returncode == 0, "apache2 did not start:\n%s%s%s" % (r.stdout, r.stderr,
                                                                      self.log("error.log"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(self.pid_file):
                with open(self.pid_file) as f:
                    text = f.read().strip()
                if text:
                    self.pid = int(text)
                    return
            time.sleep(0.1)
        pytest.fail("apache2 wrote no pid file:\n" + self.log("error.log"))

    def stop(self):
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            self.pid = None
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and os.path.exists("/proc/%d" % self.pid):
            time.sleep(0.1)
        if os.path.exists("/proc/%d" % self.pid):
            os.kill(self.pid, signal.SIGKILL)
        self.pid = None

    def log(self, name):
        try:
            with open(os.path.join(self.dir, "log", name)) as f:
                return f.read()
        except OSError:
            return ""


def make_cert(workdir):
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost",
             "-keyout", os.path.join(workdir, "localhost.key"),
             "-out", os.path.join(workdir, "localhost.pem")])
    assert r.returncode == 0, r.stderr
    os.chmod(os.path.join(workdir, "localhost.key"), 0o600)


def test_install_enable_serve_purge(deb, system):
    before = snapshot()
    admin_disabled = os.path.exists("/var/lib/apache2/module/disabled_by_admin/tls")

    r = apt("install", "--no-install-recommends", deb)
    assert r.returncode == 0, "apt-get install failed:\n%s%s" % (r.stdout, r.stderr)
    assert pkg_status() == "ii"
    owned = run(["dpkg", "-L", PKG]).stdout.split()
    for f in FILES:
        assert f in owned and os.path.isfile(f), f
    conffiles = run(["dpkg-query", "-W", "-f", "${Conffiles}", PKG]).stdout
    assert LOAD in conffiles and CONF in conffiles, conffiles

    # like Debian's other module packages, it enables the module, unless the admin had
    # disabled it (a2dismod leaves a record that the package respects)
    assert os.path.islink("/etc/apache2/mods-enabled/tls.load") != admin_disabled

    # the admin enables it; tls.load's "# Depends:" brings mod_socache_shmcb (session cache)
    # and mod_slotmem_shm (server-status counters) along
    r = run(["a2enmod", "tls"])
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("tls.load", "tls.conf", "socache_shmcb.load", "slotmem_shm.load"):
        assert os.path.islink("/etc/apache2/mods-enabled/" + name), name
    # the system's own configuration loads it
    r = run(["apache2ctl", "-M"])
    assert "tls_module (shared)" in r.stdout, r.stdout + r.stderr
    r = run(["apache2ctl", "-t"])
    assert r.returncode == 0 and "Syntax OK" in r.stderr, r.stderr

    workdir = tempfile.mkdtemp(prefix="mod_tls-deb-")
    os.chmod(workdir, 0o755)
    httpd = SystemApache(workdir)
    try:
        make_cert(workdir)
        token = "served by the package %s\n" % os.urandom(8).hex()
        with open(os.path.join(workdir, "htdocs", "index.html"), "w") as f:
            f.write(token)
        httpd.start()
        url = "https://localhost:%d/index.html" % httpd.port
        r = run(["curl", "-sS", "--http1.1", "--max-time", "20", "--cacert",
                 os.path.join(workdir, "localhost.pem"),
                 "--resolve", "localhost:%d:127.0.0.1" % httpd.port, url])
        assert r.returncode == 0, r.stderr + httpd.log("error.log")
        assert r.stdout == token
        # mod_tls served it, and reports the package's version
        version = changelog_version()
        deadline = time.monotonic() + 10
        while "GET /index.html" not in httpd.log("access.log") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert re.search(r'"GET /index.html HTTP/1.1" 200 TLSv1.3 mod_tls/%s$'
                         % re.escape(version), httpd.log("access.log"), re.M), \
            httpd.log("access.log")
        assert "TLS0001: mod_tls/%s " % version in httpd.log("error.log"), httpd.log("error.log")
    finally:
        httpd.stop()
    errors = [line for line in httpd.log("error.log").splitlines()
              if re.search(r"\[[a-z_]*:(error|crit|alert|emerg)\]", line)]
    shutil.rmtree(workdir, ignore_errors=True)
    assert errors == []

    # purged while enabled: the package disables it itself and leaves nothing behind
    r = apt("purge", PKG)
    assert r.returncode == 0, "apt-get purge failed:\n%s%s" % (r.stdout, r.stderr)
    assert pkg_status() in ("", "un")
    assert run(["dpkg", "-L", PKG]).returncode != 0
    for f in FILES + ["/usr/share/doc/" + PKG]:
        assert not os.path.lexists(f), f
    for name in ("tls.load", "tls.conf"):
        assert not os.path.lexists("/etc/apache2/mods-enabled/" + name), name
    assert glob.glob("/var/lib/apache2/module/*/tls") == []
    # socache_shmcb and slotmem_shm stay enabled: the admin's a2enmod turned them on, not the
    # package; and a2dismod -m in the prerm may have created its (now empty) record directory
    left = sorted(p for p in snapshot() - before
                  if not re.search(r"socache_shmcb|slotmem_shm", p) and not (
        os.path.dirname(p) == "/var/lib/apache2/module" and not os.listdir(p)))
    assert left == []
    r = run(["apache2ctl", "-t"])
    assert r.returncode == 0 and "Syntax OK" in r.stderr, r.stderr
