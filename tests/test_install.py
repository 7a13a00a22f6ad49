"""`make install` / `make uninstall`: the module and its a2enmod files land where Debian's
apache2 keeps them, `a2enmod tls` makes apache2 load it, and uninstall leaves nothing behind."""
import os
import shutil
import subprocess

import pytest

from harness.system import ModuleState, system_apache2_lock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = "/usr/lib/apache2/modules"
MODS_AVAILABLE = "/etc/apache2/mods-available"
FILES = [MODULES + "/mod_tls.so", MODS_AVAILABLE + "/tls.load", MODS_AVAILABLE + "/tls.conf"]

pytestmark = pytest.mark.tls_only


def make(*args):
    r = subprocess.run(["make", "-C", REPO, "--no-print-directory"] + list(args),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "make %s failed:\n%s\n%s" % (" ".join(args), r.stdout, r.stderr)
    return r


def test_install_into_destdir(tmp_path):
    dest = str(tmp_path)
    make("install", "DESTDIR=" + dest)
    for f in FILES:
        assert os.path.isfile(dest + f), f
    with open(dest + MODS_AVAILABLE + "/tls.load") as f:
        lines = f.read().strip().splitlines()
    # a2enmod reads "# Depends:": the default session cache needs mod_socache_shmcb, the
    # server-status counters of all child processes mod_slotmem_shm
    assert lines == ["# Depends: socache_shmcb slotmem_shm",
                     "LoadModule tls_module %s/mod_tls.so" % MODULES]
    with open(dest + MODULES + "/mod_tls.so", "rb") as f, \
            open(os.path.join(REPO, "build", "mod_tls.so"), "rb") as g:
        assert f.read() == g.read()
    make("uninstall", "DESTDIR=" + dest)
    left = [os.path.join(d, n) for d, _, names in os.walk(dest) for n in names]
    assert left == []


@pytest.fixture
def system_install():
    """Installs into the real /etc/apache2 and /usr/lib/apache2, restoring whatever was there."""
    if os.geteuid() != 0:
        pytest.fail("installing into the system needs root (CI runs as root)")
    with system_apache2_lock():
        yield from _system_install()


def _system_install():
    saved = {}
    for f in FILES:
        if os.path.exists(f):
            saved[f] = f + ".mod_tls-test-save"
            shutil.copy2(f, saved[f])
    state = ModuleState(["tls", "socache_shmcb", "slotmem_shm"])
    try:
        yield
    finally:
        for f in FILES:
            if f in saved:
                shutil.move(saved[f], f)
            elif os.path.exists(f):
                os.unlink(f)
        state.restore()


def test_install_a2enmod_uninstall(system_install):
    make("install")
    for f in FILES:
        assert os.path.isfile(f), f
    r = subprocess.run(["a2enmod", "tls"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.path.islink("/etc/apache2/mods-enabled/tls.load")
    assert os.path.islink("/etc/apache2/mods-enabled/tls.conf")
    assert os.path.islink("/etc/apache2/mods-enabled/socache_shmcb.load")
    assert os.path.islink("/etc/apache2/mods-enabled/slotmem_shm.load")
    # the system's own configuration loads it: apache2ctl lists the module and says Syntax OK
    r = subprocess.run(["apache2ctl", "-M"], capture_output=True, text=True)
    assert "tls_module (shared)" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(["apache2ctl", "-t"], capture_output=True, text=True)
    assert r.returncode == 0 and "Syntax OK" in r.stderr, r.stderr
    make("uninstall")
    for f in FILES:
        assert not os.path.exists(f), f
    assert not os.path.lexists("/etc/apache2/mods-enabled/tls.load")
    assert not os.path.lexists("/etc/apache2/mods-enabled/tls.conf")
