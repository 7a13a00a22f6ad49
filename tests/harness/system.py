"""Tests that change the machine's own apache2 setup (/etc/apache2, /usr/lib/apache2/modules,
/var/lib/apache2: test_install.py, test_deb.py) hold this lock while they do, so that two of
them, in this run or in another checkout's, never overlap."""
import contextlib
import fcntl
import os

LOCK_FILE = "/run/lock/mod_tls-tests-system-apache2.lock"


@contextlib.contextmanager
def system_apache2_lock():
    path = LOCK_FILE if os.path.isdir(os.path.dirname(LOCK_FILE)) else "/tmp/" + \
        os.path.basename(LOCK_FILE)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


ETC = "/etc/apache2"
STATE = "/var/lib/apache2/module"
STATE_DIRS = ("enabled_by_admin", "enabled_by_maint", "disabled_by_admin", "disabled_by_maint")


class ModuleState:
    """What a2enmod/a2dismod know of some modules: the links in mods-enabled/ and the records in
    /var/lib/apache2/module/*/ (which tell a package's maintainer scripts whether the admin
    disabled a module). ``restore()`` puts both back as they were when this was made."""

    def __init__(self, names):
        # a2dismod -m (a package's prerm) creates its record directory when it is missing
        self.state_dirs = [d for d in STATE_DIRS if os.path.isdir(os.path.join(STATE, d))]
        self.entries = {}
        for name in names:
            for ext in (".load", ".conf"):
                p = os.path.join(ETC, "mods-enabled", name + ext)
                self.entries[p] = os.readlink(p) if os.path.islink(p) else None
            for d in STATE_DIRS:
                p = os.path.join(STATE, d, name)
                self.entries[p] = "" if os.path.lexists(p) else None

    def restore(self):
        for p, value in self.entries.items():
            if os.path.lexists(p):
                os.unlink(p)
            if value is None or not os.path.isdir(os.path.dirname(p)):
                continue
            if p.startswith(STATE + "/"):
                open(p, "w").close()
            else:
                os.symlink(value, p)
        for d in STATE_DIRS:
            path = os.path.join(STATE, d)
            if d not in self.state_dirs and os.path.isdir(path) and not os.listdir(path):
                os.rmdir(path)
