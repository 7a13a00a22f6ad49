"""Session fixtures for the mod_tls integration tests.

Run from the repository root:   /usr/bin/python3 -m pytest tests
Against mod_ssl (to validate the tests themselves):   ... --backend ssl
The module under test is build/mod_tls.so (env MOD_TLS_SO overrides).
"""
import contextlib
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.backends import make_backend  # noqa: E402
from harness.certs import CertStore  # noqa: E402
from harness.httpd import Httpd, HttpdError  # noqa: E402
from harness import sanitizer  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_FILES = {"1k.bin": 1024, "100k.bin": 100 * 1024, "1m.bin": 1024 * 1024,
              "10m.bin": 10 * 1024 * 1024}


def pytest_addoption(parser):
    parser.addoption("--backend", default=os.environ.get("MOD_TLS_TEST_BACKEND", "tls"),
                     choices=("tls", "ssl"),
                     help="tls: test build/mod_tls.so (default); ssl: run the same scenarios "
                          "against mod_ssl to validate the tests")
    parser.addoption("--keep-servers", action="store_true",
                     help="keep the generated server roots (configs, logs) after the run")


def pytest_configure(config):
    config.addinivalue_line("markers", "tls_only: scenario specific to mod_tls (not run with "
                                       "--backend ssl)")
    config.addinivalue_line("markers", "allow_errors(*regex): error-log lines at level "
                                       "error or worse that this test expects")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--backend") != "ssl":
        return
    skip = pytest.mark.skip(reason="mod_tls specific: not applicable to --backend ssl")
    for item in items:
        if item.get_closest_marker("tls_only"):
            item.add_marker(skip)


class Env:
    """What every test needs: backend, certificates, data files, a work dir."""

    def __init__(self, config, workdir):
        self.workdir = workdir
        self.backend_name = config.getoption("--backend")
        built = os.environ.get("MOD_TLS_SO", os.path.join(REPO, "build", "mod_tls.so"))
        # a copy in the work dir, which every user can reach: a server started as www-data
        # must load it, and a checkout may sit in a directory only root can enter
        self.module_so = os.path.join(workdir, "mod_tls.so")
        if os.path.exists(built):
            shutil.copy2(built, self.module_so)
            os.chmod(self.module_so, 0o755)
        self.backend = make_backend(self.backend_name, self.module_so)
        # a module built with ASan/UBSan (make check-asan): None for a normal build
        self.sanitizer = sanitizer.detect(self.module_so) if os.path.exists(self.module_so) \
            else None
        self.certs = CertStore(os.path.join(workdir, "certs"))
        self.ca = self.certs.ca_file
        self.data_dir = os.path.join(workdir, "data")
        os.makedirs(self.data_dir)
        os.chmod(self.data_dir, 0o755)
        self.data = {}
        for name, size in DATA_FILES.items():
            content = os.urandom(size)
            p = os.path.join(self.data_dir, name)
            with open(p, "wb") as f:
                f.write(content)
            os.chmod(p, 0o644)
            self.data[name] = content
        self.servers = []

    @property
    def log_module(self):
        return self.backend.log_module

    def httpd(self, name, **kw):
        h = Httpd(self, name, **kw)
        self.servers.append(h)
        return h

    def started(self, name, setup, **kw):
        """Build a server with ``setup(h)``, start it, return it (raising on failure)."""
        h = self.httpd(name, **kw)
        setup(h)
        h.start()
        return h


@pytest.fixture(scope="session")
def env(request):
    workdir = tempfile.mkdtemp(prefix="mod_tls-tests-")
    os.chmod(workdir, 0o755)
    e = Env(request.config, workdir)
    if e.backend_name == "tls" and not os.path.isfile(e.module_so):
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail("module under test not found: %s (run `make`, or set MOD_TLS_SO)"
                    % e.module_so, pytrace=False)
    yield e
    for h in list(Httpd.RUNNING):
        try:
            h.stop()
        except HttpdError:
            pass
    if request.config.getoption("--keep-servers"):
        print("\nserver roots kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def backend(env):
    return env.backend_name


def server_fixture(h):
    """Use in a module/class fixture: ``yield from server_fixture(h)``; stops the server and
    fails if its last error-log lines hold unexpected errors."""
    try:
        yield h
    finally:
        bad = h.stop()
    if bad:
        pytest.fail("unexpected error-log lines from %s (%s):\n%s"
                    % (h.name, h.error_log_path, "\n".join(bad)), pytrace=False)


@contextlib.contextmanager
def running(h):
    """``with running(h):`` start, yield, stop; fails on unexpected error-log lines."""
    h.start()
    gen = server_fixture(h)
    next(gen)
    try:
        yield h
    finally:
        for _ in gen:
            pass


@pytest.fixture(autouse=True)
def _error_log_check(request):
    """After each test: every running server's error log must not have gained lines at level
    error/crit/alert/emerg, except those the test declares with @pytest.mark.allow_errors.
    With a sanitizer build, no server of the session (running, stopped, or only checked with
    -t) may have written a sanitizer report."""
    yield
    allowed = []
    for m in request.node.iter_markers("allow_errors"):
        allowed.extend(m.args)
    problems = []
    for h in list(Httpd.RUNNING):
        bad = h.unexpected_errors(allowed)
        if bad:
            problems.append("%s (%s):\n  %s" % (h.name, h.error_log_path, "\n  ".join(bad)))
    for h in Httpd.ALL:
        bad = h.sanitizer_reports() if h.sanitizer and h not in Httpd.RUNNING else []
        if bad:
            problems.append("%s (%s):\n  %s" % (h.name, h.sanitizer_dir, "\n  ".join(bad)))
    if problems:
        pytest.fail("unexpected error-log lines:\n" + "\n".join(problems), pytrace=False)
