"""`make run` (scripts/run): Debian's apache2 in the foreground serving the page through mod_tls
(and mod_ssl beside it), with the curl line it prints working, and a clean stop on Ctrl-C."""
import os
import pathlib
import re
import signal
import shutil
import subprocess
import tempfile
import time

import pytest

from harness.httpd import pick_port
from harness.sanitizer import Reports

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.tls_only


def curl(args):
    return subprocess.run(["curl", "-sS", "--max-time", "10"] + args, capture_output=True,
                          text=True)


@pytest.fixture
def run_dir():
    d = tempfile.mkdtemp(prefix="mod_tls-make-run-")  # under /tmp: www-data can reach it
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_make_run_serves_and_stops_on_ctrl_c(env, run_dir):
    run_dir = pathlib.Path(run_dir) / "run"
    tls_port, ssl_port = pick_port(), pick_port()
    while ssl_port == tls_port:
        ssl_port = pick_port()
    # the module under test (build/mod_tls.so unless MOD_TLS_SO says otherwise)
    run_env = dict(os.environ, RUN_DIR=str(run_dir), TLS_PORT=str(tls_port),
                   SSL_PORT=str(ssl_port), MOD_TLS_SO=env.module_so)
    reports = str(run_dir / "sanitizer")
    if env.sanitizer:     # make check-asan: the runtime is preloaded into apache2 only
        san = env.sanitizer.env(reports)
        run_env["MOD_TLS_PRELOAD"] = san.pop("LD_PRELOAD")
        run_env.update(san)
    proc = subprocess.Popen([os.path.join(REPO, "scripts", "run")], env=run_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        ca = str(run_dir / "certs" / "ca.pem")
        deadline = time.monotonic() + 30
        r = None
        while time.monotonic() < deadline:
            r = curl(["--cacert", ca, "https://localhost:%d/" % tls_port])
            if r.returncode == 0:
                break
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
        assert r is not None and r.returncode == 0, r.stderr
        assert "It works: TLS by rustls through mod_tls" in r.stdout

        for flag, proto in (("--tlsv1.3", "TLSv1.3"), ("--tls-max", "TLSv1.2")):
            args = ["-v", "--cacert", ca, "https://localhost:%d/" % tls_port, "-o", "/dev/null"]
            args[0:0] = [flag] if flag == "--tlsv1.3" else [flag, "1.2"]
            r = curl(args)
            assert r.returncode == 0, r.stderr
            assert re.search(r"SSL connection using %s / \S+" % proto, r.stderr), r.stderr

        r = curl(["--cacert", ca, "https://localhost:%d/" % ssl_port])
        assert r.returncode == 0 and "It works" in r.stdout, r.stderr

        # mod_tls's server-status section, as the printed line asks for it: the handshakes
        # above are counted (this request's own too), TLS 1.2 and 1.3
        r = curl(["--cacert", ca, "https://localhost:%d/server-status?auto" % tls_port])
        assert r.returncode == 0, r.stderr
        st = dict(l.partition(": ")[::2] for l in r.stdout.splitlines() if l.startswith("TLS"))
        assert int(st.get("TLSHandshakesFull", 0)) >= 4, r.stdout
        assert int(st["TLSHandshakes_TLSv1.2"]) >= 1 and int(st["TLSHandshakes_TLSv1.3"]) >= 3, st
        assert st["TLSCertificates"] == "2", st

        # Ctrl-C in the terminal: SIGINT to the foreground process group
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "https://localhost:%d/" % tls_port in out
    assert "curl -v --cacert %s https://localhost:%d/" % (ca, tls_port) in out
    assert "'https://localhost:%d/server-status?auto'" % tls_port in out
    assert not os.path.exists(str(run_dir / "logs" / "httpd.pid")), "pid file left behind"
    errors = [l for l in open(str(run_dir / "logs" / "error.log"))
              if re.search(r"\[[a-z_0-9]+:(error|crit|alert|emerg)\]", l)]
    assert errors == []
    r = curl(["--cacert", ca, "https://localhost:%d/" % tls_port])
    assert r.returncode != 0, "server still answering after Ctrl-C"
    found = Reports(reports).new()
    assert found == [], "sanitizer reports:\n" + "\n".join("%s:\n%s" % f for f in found)
