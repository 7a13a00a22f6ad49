"""Configuration mistakes: `apache2 -t` and a real start both refuse, and the message names the
directive and the file (or value, or virtual host) involved. Things that are only warnings let
the server start and are logged."""
import os
import re
import shutil

import pytest

from conftest import running
from harness import clients


def _tls_case(env, h, vhost_kw=None, global_extra="", tls_extra="", port_tls="addr",
              name="a.test"):
    h.listen("https", tls=port_tls)
    kw = dict(certs=[env.certs.leaf("a.test").pair])
    kw.update(vhost_kw or {})
    h.vhost(name, tls_extra=tls_extra, **kw)
    h.global_extra = global_extra


def _line_of(h, line):
    """1-based number of the line of the generated config that is ``line`` (stripped)."""
    with open(h.conf_path) as f:
        for n, text in enumerate(f, 1):
            if text.strip() == line:
                return n
    raise AssertionError("%r not in %s" % (line, h.conf_path))


def _assert_refused(h, must_contain, where=None, module_directives=True):
    """-t and start both fail and their output contains every string in must_contain.

    where: the config line at fault (its text): the message names the configuration file and
    that line ("line N of FILE" as httpd says, or "FILE:N"); True: it names the file."""
    results = {"apache2 -t": h.configtest()}
    res = h.start(check=False)
    if res.ok:
        h.stop()
    results["apache2 -k start"] = res
    for what, r in results.items():
        if where is True:
            must_contain = list(must_contain) + [h.conf_path]
        elif where:
            n = _line_of(h, h._subst(where))
            must_contain = list(must_contain) + [("line %d of %s" % (n, h.conf_path),
                                                  "%s:%d" % (h.conf_path, n))]
        assert not r.ok and r.returncode != 0, "%s did not fail: %r" % (what, r)
        if module_directives:
            # the module is loaded and knows its directives (else any name would "match")
            assert "Invalid command" not in r.output, r
            assert "Can't locate API module" not in r.output, r
        for s in must_contain:
            if isinstance(s, tuple):     # any of these
                assert any(x in r.output for x in s), \
                    "%s: none of %r in the output: %r" % (what, s, r)
            else:
                assert s in r.output, "%s: %r not in the output: %r" % (what, s, r)


# --------------------------------------------------------------- certificate files
@pytest.mark.tls_only
@pytest.mark.parametrize("case", ["missing-cert", "missing-key", "directory-cert",
                                  "directory-key", "empty-cert", "empty-key",
                                  "garbage-cert", "text-cert", "garbage-key",
                                  "key-file-without-key", "cert-file-without-key",
                                  "encrypted-key"])
def test_bad_certificate_files(env, case):
    c = env.certs
    leaf = c.leaf("a.test")
    missing = os.path.join(env.workdir, "no-such-dir", "missing.pem")
    cert, key, named = {
        "missing-cert": (missing, leaf.key, missing),
        "missing-key": (leaf.cert, missing, missing),
        "directory-cert": (c.path("a-directory.pem"), leaf.key, c.path("a-directory.pem")),
        "directory-key": (leaf.cert, c.path("a-directory.pem"), c.path("a-directory.pem")),
        "empty-cert": (c.path("empty.pem"), leaf.key, c.path("empty.pem")),
        "empty-key": (leaf.cert, c.path("empty.pem"), c.path("empty.pem")),
        "garbage-cert": (c.path("garbage.pem"), leaf.key, c.path("garbage.pem")),
        "text-cert": (c.path("text.pem"), leaf.key, c.path("text.pem")),
        "garbage-key": (leaf.cert, c.path("garbage.pem"), c.path("garbage.pem")),
        "key-file-without-key": (leaf.cert, c.path("nokey.key"), c.path("nokey.key")),
        # no key file given and none inside the certificate file
        "cert-file-without-key": (leaf.cert, None, leaf.cert),
        "encrypted-key": (leaf.cert, c.path("a.test-ecdsa.encrypted.key"),
                          c.path("a.test-ecdsa.encrypted.key")),
    }[case]
    h = env.httpd("conf-" + case)
    _tls_case(env, h, {"certs": [(cert, key)]})
    _assert_refused(h, ["TLSCertificate", named],
                    where="TLSCertificate %s%s" % (cert, " " + key if key else ""))


@pytest.mark.tls_only
def test_key_does_not_match_certificate(env):
    leaf = env.certs.leaf("a.test")
    bad_key = env.certs.path("mismatch.key")
    h = env.httpd("conf-mismatch")
    _tls_case(env, h, {"certs": [(leaf.cert, bad_key)]})
    _assert_refused(h, ["TLSCertificate", (bad_key, leaf.cert)],
                    where="TLSCertificate %s %s" % (leaf.cert, bad_key))


@pytest.mark.tls_only
def test_key_of_other_host_does_not_match(env):
    """The second of two certificates has the key of another host."""
    h = env.httpd("conf-mismatch2")
    a_rsa = env.certs.leaf("a.test", "rsa")
    b_rsa = env.certs.leaf("b.test", "rsa")
    _tls_case(env, h, {"certs": [env.certs.leaf("a.test").pair, (a_rsa.cert, b_rsa.key)]})
    _assert_refused(h, ["TLSCertificate", (b_rsa.key, a_rsa.cert)],
                    where="TLSCertificate %s %s" % (a_rsa.cert, b_rsa.key))


@pytest.mark.tls_only
def test_unreadable_certificate_file(env):
    """chmod 000: unreadable for the user httpd reads it as. Root reads everything, so when
    the suite runs as root this server is started as www-data."""
    h = env.httpd("conf-unreadable", run_as="www-data" if os.geteuid() == 0 else None)
    leaf = env.certs.leaf("a.test")
    cert = h.write_file("certs/unreadable.pem", open(leaf.cert, "rb").read(), mode=0o000)
    key = h.write_file("certs/a.key", open(leaf.key, "rb").read(), mode=0o400)
    os.chmod(os.path.dirname(cert), 0o755)
    if os.geteuid() == 0:
        shutil.chown(key, "www-data", "www-data")
    else:
        assert not os.access(cert, os.R_OK), "cannot make a file unreadable for this user"
    _tls_case(env, h, {"certs": [(cert, key)]})
    _assert_refused(h, ["TLSCertificate", cert], where="TLSCertificate %s %s" % (cert, key))


@pytest.mark.tls_only
def test_tls_vhost_without_certificate(env):
    h = env.httpd("conf-nocert")
    h.listen("https")
    h.vhost("nocert.test")   # a TLS port, no TLSCertificate anywhere
    _assert_refused(h, ["nocert.test"], where=True)


@pytest.mark.tls_only
def test_second_tls_vhost_without_certificate(env):
    h = env.httpd("conf-nocert2")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.vhost("nocert.test")
    _assert_refused(h, ["nocert.test"], where=True)


@pytest.mark.tls_only
def test_vhost_inherits_server_certificate(env):
    """Control for the two above: a certificate in the server config serves a vhost that has
    none of its own."""
    leaf = env.certs.leaf("localhost")
    h = env.httpd("conf-inherit", global_extra="TLSCertificate %s %s" % leaf.pair)
    h.listen("https")
    h.vhost("nocert.test")
    h.start()
    try:
        r = clients.s_client(h.port(), "nocert.test", tls="1.3")
        assert r.established and r.peer_cn == "localhost", r
        assert r.body == "nocert.test\n", r
    finally:
        assert h.stop() == []


# ------------------------------------------------------------------- directive values
@pytest.mark.tls_only
@pytest.mark.parametrize("value", ["TLSv1.4+", "SSLv3+", "bogus", "TLSv1.2-"])
def test_unknown_protocol(env, value):
    h = env.httpd("conf-proto")
    _tls_case(env, h, {"protocol": value})
    _assert_refused(h, ["TLSProtocol", value], where="TLSProtocol " + value)


@pytest.mark.tls_only
@pytest.mark.parametrize("directive", ["TLSCiphersPrefer", "TLSCiphersSuppress"])
@pytest.mark.parametrize("value", ["TLS_BOGUS_WITH_NOTHING", "NOT-A-CIPHER",
                                   "ECDHE-ECDSA-AES128-GCM-SHA256:NOT-A-CIPHER",
                                   "TLS_CIPHER_0xZZ"])
def test_unknown_cipher(env, directive, value):
    h = env.httpd("conf-cipher")
    kw = {"prefer" if directive == "TLSCiphersPrefer" else "suppress": value}
    _tls_case(env, h, kw)
    bad = value.split(":")[-1]
    _assert_refused(h, [directive, bad], where="%s %s" % (directive, value))


@pytest.mark.tls_only
def test_suppressing_every_suite_of_the_protocol(env):
    """TLS 1.3 only, and all three TLS 1.3 suites suppressed: nothing is left."""
    h = env.httpd("conf-nosuite")
    _tls_case(env, h, {"protocol": "TLSv1.3+",
                       "suppress": "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:"
                                   "TLS_CHACHA20_POLY1305_SHA256"}, name="empty.test")
    _assert_refused(h, ["empty.test"], where=True)


@pytest.mark.tls_only
@pytest.mark.parametrize("value", ["foo:bar", "99999", "127.0.0.1:99999", "0", "-1",
                                   "127.0.0.1:", "no-such-host.invalid:443"])
def test_tls_engine_bad_address(env, value):
    h = env.httpd("conf-engine")
    _tls_case(env, h, port_tls=None, global_extra="TLSEngine %s\nTLSEngine @PORT(https)@"
              % value)
    _assert_refused(h, ["TLSEngine", value], where="TLSEngine " + value)


@pytest.mark.tls_only
@pytest.mark.parametrize("line,directive", [
    ("TLSEngine", "TLSEngine"),
    ("TLSCertificate", "TLSCertificate"),
    ("TLSCertificate @CERTS@/a.test-ecdsa.pem @CERTS@/a.test-ecdsa.key extra",
     "TLSCertificate"),
    ("TLSProtocol", "TLSProtocol"),
    ("TLSCiphersPrefer", "TLSCiphersPrefer"),
    ("TLSCiphersSuppress", "TLSCiphersSuppress"),
    ("TLSHonorClientOrder sometimes", "TLSHonorClientOrder"),
    ("TLSHonorClientOrder on off", "TLSHonorClientOrder"),
    ("TLSStrictSNI maybe", "TLSStrictSNI"),
    ("TLSStrictSNI", "TLSStrictSNI"),
])
def test_wrong_arguments(env, line, directive):
    h = env.httpd("conf-args")
    _tls_case(env, h, global_extra=line)
    _assert_refused(h, [directive], where=line)


@pytest.mark.tls_only
@pytest.mark.parametrize("line,directive", [
    ("TLSStrictSNI off", "TLSStrictSNI"),
    ("TLSEngine @PORT(https)@", "TLSEngine"),
])
def test_server_config_only_directives_in_vhost(env, line, directive):
    h = env.httpd("conf-context")
    _tls_case(env, h, tls_extra=line)
    _assert_refused(h, [directive], where=line)


# ----------------------------------------------------------------------- warnings only
def _warn_lines(h, *needles):
    return [l for l in h.error_log().splitlines()
            if re.search(r"\[tls:warn\]", l) and all(n in l for n in needles)]


@pytest.mark.tls_only
@pytest.mark.parametrize("directive", ["TLSCiphersPrefer", "TLSCiphersSuppress"])
@pytest.mark.parametrize("value,other_name", [
    ("ECDHE-RSA-AES128-SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"),
])
def test_real_but_unimplemented_cipher_only_warns(env, directive, value, other_name):
    h = env.httpd("conf-warn-cipher")
    kw = {"prefer" if directive == "TLSCiphersPrefer" else "suppress": value}
    _tls_case(env, h, kw)
    assert h.configtest().ok, h.configtest()
    h.start()
    try:
        # the warning names the suite, as configured or by its other (IANA/OpenSSL) name
        assert _warn_lines(h, value) or _warn_lines(h, other_name), \
            "no [tls:warn] line naming %s:\n%s" % (value, h.error_log())
        r = clients.s_client(h.port(), "a.test", ca=env.ca)
        assert r.established and r.status == 200, r
    finally:
        assert h.stop() == []


@pytest.mark.tls_only
@pytest.mark.parametrize("value", ["TLSv1.0+", "TLSv1.1+", "v1.0+", "v1.1+"])
def test_old_protocol_floor_warns_and_means_tls12(env, value):
    h = env.httpd("conf-warn-proto")
    _tls_case(env, h, {"protocol": value})
    assert h.configtest().ok, h.configtest()
    h.start()
    try:
        assert _warn_lines(h, "TLSProtocol") or _warn_lines(h, value), h.error_log()
        for version in ("1.2", "1.3"):
            r = clients.s_client(h.port(), "a.test", ca=env.ca, tls=version)
            assert r.established and r.protocol == "TLSv" + version, r
    finally:
        assert h.stop() == []


@pytest.mark.tls_only
@pytest.mark.parametrize("engine", ["127.0.0.1:1", "127.0.0.2:@PORT(https)@"])
def test_tls_engine_without_listen_warns(env, engine):
    """A TLSEngine address no Listen covers serves nothing: a typo would otherwise leave the
    intended port plain. The harness's own TLSEngine (on the Listen address) is not warned
    about."""
    h = env.httpd("conf-warn-nolisten")
    _tls_case(env, h, global_extra="TLSEngine " + engine)
    with running(h):
        spec = h._subst(engine)
        lines = [l for l in h.error_log().splitlines() if "TLS0114" in l]
        assert len(lines) == 1 and "[tls:warn]" in lines[0] and "'%s'" % spec in lines[0] \
            and "TLSEngine" in lines[0], h.error_log()
        r = clients.s_client(h.port(), "a.test", ca=env.ca)
        assert r.established and r.status == 200, r


@pytest.mark.tls_only
def test_certificate_on_a_plain_vhost_warns(env):
    """A virtual host with its own TLSCertificate that no TLSEngine address reaches serves plain
    HTTP: warned about, naming it; the TLS virtual host is not."""
    h = env.httpd("conf-warn-plaincert")
    h.listen("https")
    h.listen("plain", tls=None)
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.vhost("plain.test", port="plain", certs=[env.certs.leaf("b.test").pair])
    with running(h):
        lines = [l for l in h.error_log().splitlines() if "TLS0111" in l]
        assert len(lines) == 1 and "[tls:warn]" in lines[0] and "plain.test" in lines[0], \
            h.error_log()


# Who may read a private key (TLSCertificate): every user (o+r) is warned about (TLS0112);
# the user or group the child processes run as (TLS0113) too, when httpd starts as root and
# reads keys before it drops privileges; another group (Debian's ssl-cert, mode 640) is not.
# The server starts and serves in every case.
KEY_ACCESS = {
    # name: (mode, owner, group, expected tag or None)
    "world-readable": (0o644, None, None, "TLS0112"),
    "world-readable-only": (0o604, None, None, "TLS0112"),
    "child-group": (0o640, None, "www-data", "TLS0113"),
    "child-owner": (0o400, "www-data", None, "TLS0113"),
    "other-group": (0o640, None, "nogroup", None),
    "root-only": (0o600, None, None, None),
}


@pytest.mark.tls_only
@pytest.mark.parametrize("case", list(KEY_ACCESS))
def test_readable_private_key(env, case):
    mode, owner, group, tag = KEY_ACCESS[case]
    if (owner or group) and os.geteuid() != 0:
        pytest.skip("the children run as the parent's user unless httpd starts as root")
    leaf = env.certs.leaf("a.test")
    h = env.httpd("conf-keyaccess")
    key = h.write_file("keys/a.key", open(leaf.key, "rb").read(), mode=mode)
    if owner or group:
        shutil.chown(key, owner, group)
    _tls_case(env, h, {"certs": [(leaf.cert, key)]})
    with running(h):
        r = clients.s_client(h.port(), "a.test", ca=env.ca)
        assert r.established and r.status == 200, r
        lines = [l for l in h.error_log().splitlines() if key in l]
        if tag is None:
            assert lines == [], lines
        else:
            assert lines and all("[tls:warn]" in l and tag in l and "TLSCertificate" in l
                                 for l in lines), h.error_log()
            assert len(lines) == 1, lines    # once, not once per virtual host or pass
            if tag == "TLS0113":
                assert "www-data" in lines[0], lines


@pytest.mark.tls_only
def test_readable_proxy_machine_key(env):
    """The key mod_tls offers to backends is a private key like the server's."""
    alice = env.certs.client("alice")
    h = env.httpd("conf-keyaccess-proxy", modules=["proxy", "proxy_http"])
    key = h.write_file("keys/alice.key", open(alice.key, "rb").read(), mode=0o644)
    _tls_case(env, h, {"extra": "  TLSProxyEngine on\n  TLSProxyCA system\n"
                                "  TLSProxyMachineCertificate %s %s" % (alice.cert, key)})
    with running(h):
        lines = [l for l in h.error_log().splitlines() if key in l]
        assert len(lines) == 1 and "[tls:warn]" in lines[0] and "TLS0112" in lines[0] \
            and "TLSProxyMachineCertificate" in lines[0], h.error_log()


# ----------------------------------------------------- harness check (both backends)
def test_harness_reports_startup_failure(env):
    """The harness sees a refused configuration as such, with the message (here a core
    directive error, the same for every backend)."""
    h = env.httpd("conf-core")
    h.listen("https")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair],
            extra="  NoSuchDirectiveHere on")
    _assert_refused(h, ["NoSuchDirectiveHere"], where="NoSuchDirectiveHere on",
                    module_directives=False)
