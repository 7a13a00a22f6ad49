"""apache2 with a module built with AddressSanitizer + UndefinedBehaviorSanitizer (make
check-asan).

Debian's apache2 is not instrumented, so the ASan runtime must be the first library in the
process: every apache2 the suite starts (start, ``-t``, ``make run``) gets ``LD_PRELOAD`` of the
runtimes the module itself was linked against (as ``ldd`` resolves them: the ones matching the
compiler that built it) and options that write every report into a directory of the server
root, where the harness looks after each test and at every stop. Clients (curl, openssl,
h2load, Python) never get the runtime.

Switch: ``MOD_TLS_SANITIZE=1`` requires a sanitizer build (an error if the module does not need
libasan), ``0`` turns it off, unset detects it from the module.
"""
import os
import re
import subprocess

# Options, and why:
# - log_path: reports of every process, forked children included, go to files REPORTS/asan.PID
#   (ubsan.PID): a child's stderr is the error log, or nothing once detached.
# - abort_on_error=1: a process stops at its first error with SIGABRT, so httpd logs the child's
#   "exit signal Aborted" and `apache2 -t` fails. ASan leaves no core file (disable_coredump,
#   its default: shadow memory would make it terabytes); the report has the stacks.
# - detect_leaks: LeakSanitizer runs when a process exits. On for `apache2 -t` only (leaks=True):
#   it reads the whole configuration (every certificate, key, CA, CRL; the rustls configs built
#   at check_config) and destroys its pools before exiting, so whatever is left is leaked, on
#   success and on every configuration error. Off for servers: their children exit without
#   destroying the configuration pool, and Debian's APR keeps pool memory in mmap()ed blocks
#   that LeakSanitizer does not scan, so every object a pool cleanup would free looks leaked
#   there; and a leak check in each exiting child takes long enough under load that httpd
#   kills children on graceful restart and stop. Known leaks of httpd and its libraries (never
#   of mod_tls) are suppressed in lsan.supp. The stacks of a leak in `-t` may end in garbage:
#   httpd has unloaded mod_tls.so by the time LeakSanitizer looks.
# - exitcode=0: a leak report does not change the exit status (errors abort anyway), so a test
#   of `-t` sees httpd's own answer; the harness fails the test on the report.
# - quarantine_size_mb=64: freed memory is kept poisoned to catch use after free; the default
#   256 MiB per process is a lot with dozens of children on a small machine.
# - malloc_context_size=20: allocation/free stacks deep enough to reach the module's callers.
# - strip_path_prefix: short file names in stacks.
ASAN_OPTIONS = ("abort_on_error=1:detect_leaks={leaks:d}:exitcode=0:quarantine_size_mb=64:"
                "malloc_context_size=20:log_path={dir}/asan:strip_path_prefix={strip}")
LSAN_OPTIONS = "suppressions={supp}:print_suppressions=0"
LSAN_SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
UBSAN_OPTIONS = ("abort_on_error=1:halt_on_error=1:print_stacktrace=1:log_path={dir}/ubsan:"
                 "strip_path_prefix={strip}")
RUNTIMES = ("libasan.so", "libubsan.so")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class SanitizerError(Exception):
    pass


def runtimes(so_path):
    """Paths of the sanitizer runtimes ``so_path`` needs, as the dynamic loader resolves them,
    libasan first (it must come first in the process)."""
    try:
        out = subprocess.run(["ldd", so_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=30).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError):
        return []
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if m:
            for rt in RUNTIMES:
                if m.group(1).startswith(rt):
                    found[rt] = m.group(2)
    return [found[rt] for rt in RUNTIMES if rt in found]


def detect(so_path):
    """A Sanitizer for the module under test, or None for a normal build."""
    want = os.environ.get("MOD_TLS_SANITIZE", "")
    if want == "0":
        return None
    libs = runtimes(so_path)
    if want == "1" and not any(os.path.basename(l).startswith("libasan") for l in libs):
        raise SanitizerError("MOD_TLS_SANITIZE=1 but %s does not need libasan (ldd): build it "
                             "with `make asan`" % so_path)
    return Sanitizer(libs) if libs else None


class Sanitizer:
    def __init__(self, preload):
        self.preload = list(preload)

    def env(self, report_dir, leaks=False, asan_options=""):
        """Environment additions for an apache2 whose reports go to ``report_dir``; ``leaks``:
        LeakSanitizer at exit (for `apache2 -t`). ``asan_options`` and then
        $MOD_TLS_ASAN_OPTIONS (to try things by hand) are appended to ASAN_OPTIONS (the last
        setting of an option wins)."""
        os.makedirs(report_dir, exist_ok=True)
        os.chmod(report_dir, 0o1777)   # children write there as the run-as user
        strip = REPO + "/"
        asan = [ASAN_OPTIONS.format(dir=report_dir, strip=strip, leaks=leaks)]
        asan += [o for o in (asan_options, os.environ.get("MOD_TLS_ASAN_OPTIONS", "")) if o]
        return {
            "LD_PRELOAD": " ".join(self.preload),
            "ASAN_OPTIONS": ":".join(asan),
            "UBSAN_OPTIONS": UBSAN_OPTIONS.format(dir=report_dir, strip=strip),
            "LSAN_OPTIONS": LSAN_OPTIONS.format(supp=LSAN_SUPP),
        }


def leaks(text):
    """The leaks of a LeakSanitizer report: direct leaks whole, indirect ones (reachable only
    from leaked blocks) as their first line and first frame past the allocator."""
    out = []
    for b in re.split(r"\n(?=(?:Direct|Indirect) leak of )", text):
        b = b.strip()
        if b.startswith("Direct leak of "):
            out.append(b.split("\n\n", 1)[0])
        elif b.startswith("Indirect leak of "):
            out.append("\n".join(b.split("\n")[:1] + b.split("\n")[2:3]))
    return out


def findings(text):
    """A report file's text, a leak report shortened to its leaks ("" when it has none)."""
    if "ERROR: LeakSanitizer" in text and not re.search(
            r"ERROR: AddressSanitizer|runtime error:", text):
        found = leaks(text)
        return "LeakSanitizer: memory leaked\n" + "\n\n".join(found) if found else ""
    return text.strip()


class Reports:
    """The report files of one directory, each finding returned once."""

    def __init__(self, report_dir):
        self.dir = report_dir
        self.seen = {}      # name -> (size read, finding reported)

    def new(self):
        """[(path, finding text)] for report files with a finding not returned before (a file
        is read whole each time it grows: a process may still be writing it)."""
        out = []
        try:
            names = sorted(os.listdir(self.dir))
        except OSError:
            return out
        for name in names:
            path = os.path.join(self.dir, name)
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            size, reported = self.seen.get(name, (0, ""))
            if len(text) <= size:
                continue
            found = findings(text)
            self.seen[name] = (len(text), found or reported)
            if found and found != reported:
                out.append((path, found[len(reported):].strip() if found.startswith(reported)
                            else found))
        return out
