"""mod_md with mod_tls: certificates from a Managed Domain (MDCertificateFile), the fallback
certificate and 503 while an MDomain has none, a mod_md vhost next to a TLSCertificate one,
ACME tls-alpn-01 challenge answers, and OCSP stapling with a real responder (openssl ocsp).

No ACME server is reachable here: every MDomain has static certificate files or none
(MDRenewMode manual), and MDCertificateAuthority points at a closed local port."""
import datetime
import os
import re
import subprocess
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import server_fixture
from harness import clients, httpd
from harness.httpd import pick_port
from harness.ocsp import OcspPki

pytestmark = pytest.mark.tls_only

httpd.KNOWN_MODULES.setdefault("md", ("md_module", "mod_md.so"))

OPENSSL = "/usr/bin/openssl"
ACME_TLS_1 = "acme-tls/1"


def md_global(h, extra=""):
    """mod_md's server-wide settings: a store in the server root, no reachable CA."""
    return """MDStoreDir "{root}/md"
MDCertificateAuthority http://127.0.0.1:{port}/directory
MDCertificateAgreement accepted
MDBaseServer off
MDRenewMode manual
{extra}""".format(root=h.root, port=pick_port(), extra=extra)


def mdomain(name, leaf=None):
    lines = ["<MDomain %s>" % name]
    if leaf:
        lines += ['  MDCertificateFile "%s"' % leaf.chain,
                  '  MDCertificateKeyFile "%s"' % leaf.key]
    lines.append("</MDomain>")
    return "\n".join(lines)


def s_client_text(port, sni, args=(), timeout=30):
    """``openssl s_client`` (not brief) without a request: its whole output."""
    cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", sni] + \
        list(args)
    p = subprocess.run(cmd, input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.stdout.decode(errors="replace")


def subject_cn(text):
    m = re.search(r"^subject=.*?CN\s*=\s*([^,\n]+)", text, re.M)
    return m.group(1).strip() if m else None


def write_challenge(store, domain):
    """A tls-alpn-01 challenge certificate where mod_md keeps a pending one
    (<MDStoreDir>/challenges/<domain>/acme-tls-alpn-01-{pubcert,privkey}.pem, RSA key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.utcnow()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme challenge " + domain)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), False)
            .sign(key, hashes.SHA256()))
    d = os.path.join(store, "challenges", domain)
    os.makedirs(d, exist_ok=True)
    for p in (store, os.path.join(store, "challenges"), d):
        os.chmod(p, 0o755)
    files = {"acme-tls-alpn-01-pubcert.pem": cert.public_bytes(serialization.Encoding.PEM),
             "acme-tls-alpn-01-privkey.pem": key.private_bytes(
                 serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                 serialization.NoEncryption())}
    for fname, data in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(d, fname), 0o644)


# --------------------------------------------------------------------------------------------
# certificates, fallback, challenges


@pytest.fixture(scope="module")
def pki(env):
    p = OcspPki(os.path.join(env.workdir, "md-pki"), cn="mod_md test CA")
    p.md = p.leaf("md.test")
    p.chall = p.leaf("chall.test")
    p.both = p.leaf("b.test")
    return p


@pytest.fixture(scope="module")
def server(env, pki):
    h = env.httpd("md", modules=["md"], log_level="warn md:info %s:debug" % env.log_module)
    h.listen("https")
    h.global_extra = "\n".join([md_global(h), mdomain("md.test", pki.md),
                                mdomain("chall.test", pki.chall), mdomain("fallback.test"),
                                mdomain("b.test", pki.both)])
    h.vhost("md.test")
    h.vhost("fallback.test")
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.vhost("b.test", certs=[env.certs.leaf("b.test", "rsa").pair])
    h.vhost("chall.test", extra="  Protocols http/1.1 acme-tls/1",
            tls_extra="TLSClientCertificate required\nTLSClientCA %s" % env.ca)
    write_challenge(os.path.join(h.root, "md"), "chall.test")
    h.start()
    yield from server_fixture(h)


def test_certificate_from_mod_md(env, server, pki):
    status, _, body = clients.get(server.port(), host="md.test", ca=pki.ca_file)
    assert status == 200 and body == b"md.test\n"
    with clients.tls_connect(server.port(), "md.test",
                             clients.context(pki.ca_file)) as s:
        assert clients.peer_name(s)[0] == "md.test"


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_mod_md_vhost_next_to_tlscertificate_vhost(env, server, pki, tls):
    r = clients.s_client(server.port(), "a.test", ca=env.ca, tls=tls)
    assert r.established and r.peer_cn == "a.test" and r.verification == "OK", r
    assert r.status == 200 and r.body == "a.test\n", r
    r = clients.s_client(server.port(), "md.test", ca=pki.ca_file, tls=tls)
    assert r.established and r.peer_cn == "md.test" and r.verification == "OK", r
    assert r.status == 200 and r.body == "md.test\n", r


def test_mod_md_certificate_first_then_tlscertificate(env, server, pki):
    """A vhost with an MDomain and a TLSCertificate: mod_md's certificate (ECDSA) is preferred;
    a client that cannot use it gets the configured one (RSA)."""
    r = clients.s_client(server.port(), "b.test", ca=pki.ca_file, tls="1.3")
    assert r.established and r.verification == "OK", r
    assert r.peer_cn == "b.test" and r.peer_ou is None, r   # the mod_md CA's leaf
    r = clients.s_client(server.port(), "b.test", ca=env.ca, tls="1.2",
                         cipher="ECDHE-RSA-AES128-GCM-SHA256")
    assert r.established and r.verification == "OK" and r.peer_ou == "rsa", r
    assert r.status == 200 and r.body == "b.test\n", r


def test_host_of_other_vhost_is_misdirected(env, server, pki):
    """md.test and a.test have different certificates: 421 across them, as for any vhosts."""
    r = clients.s_client(server.port(), "md.test", ca=pki.ca_file, host="a.test")
    assert r.established and r.status == 421, r


def test_fallback_certificate_and_503(env, server):
    r = clients.s_client(server.port(), "fallback.test", args=["-verify_quiet"])
    assert r.established, r
    assert "Apache Managed Domain Fallback" in (r.peer or ""), r
    assert r.status == 503, r
    assert server.wait_log(r"TLS0402: virtual host fallback\.test")
    assert server.wait_log(r"TLS0403: 503 Service Unavailable")


@pytest.mark.parametrize("tls", ["-tls1_2", "-tls1_3"])
def test_tls_alpn_01_challenge_answered(env, server, tls):
    out = s_client_text(server.port(), "chall.test", ["-alpn", ACME_TLS_1, "-msg", tls])
    assert "ALPN protocol: acme-tls/1" in out, out
    assert subject_cn(out) == "acme challenge chall.test", out
    # never a CertificateRequest there, although the vhost requires client certificates
    assert "CertificateRequest" not in out, out
    assert server.wait_log(r"TLS0408: answering the ACME tls-alpn-01 challenge for "
                           r"'chall\.test'")


def test_tls_alpn_01_needs_the_alpn(env, server, pki):
    """Without acme-tls/1 the same vhost serves its certificate and asks for the client's."""
    out = s_client_text(server.port(), "chall.test", ["-alpn", "http/1.1", "-msg"])
    assert subject_cn(out) == "chall.test", out
    assert "CertificateRequest" in out, out


def test_tls_alpn_01_unknown_name_gets_the_vhost_certificate(env, server, pki):
    """acme-tls/1 offered for a name with no pending challenge: no challenge certificate."""
    out = s_client_text(server.port(), "md.test", ["-alpn", ACME_TLS_1])
    assert subject_cn(out) == "md.test", out


# --------------------------------------------------------------------------------------------
# OCSP stapling

OCSP_MINUTES = 1           # responses valid for a minute (openssl ocsp -nmin)


@pytest.fixture(scope="module")
def ocsp_pki(env):
    p = OcspPki(os.path.join(env.workdir, "ocsp-pki"))
    p.good = p.leaf("ocsp.test")
    p.bad = p.leaf("revoked.test", revoked=True)
    p.other = p.leaf("other.test")
    p.start(minutes=OCSP_MINUTES)
    yield p
    p.stop()


@pytest.fixture(scope="module")
def ocsp_server(env, ocsp_pki):
    h = env.httpd("md-ocsp", modules=["md"], log_level="warn md:info %s:debug" % env.log_module)
    h.listen("https")
    # renew a response when 90% of its validity is left: every few seconds here
    h.global_extra = "\n".join([
        md_global(h, "MDStapling on\nMDStapleOthers on\nMDStaplingRenewWindow 90%"),
        mdomain("ocsp.test", ocsp_pki.good), mdomain("revoked.test", ocsp_pki.bad)])
    h.vhost("ocsp.test")
    h.vhost("revoked.test")
    h.vhost("other.test", certs=[(ocsp_pki.other.chain, ocsp_pki.other.key)])
    h.start()
    yield from server_fixture(h)


def stapled(port, sni, ca, tls=None):
    """The OCSP part of ``s_client -status``: {"status", "cert_status", "this_update",
    "produced_at"} (None where absent)."""
    args = ["-status", "-CAfile", ca]
    if tls:
        args.append("-tls1_2" if tls == "1.2" else "-tls1_3")
    out = s_client_text(port, sni, args)

    def grab(rx):
        m = re.search(rx, out, re.M)
        return m.group(1).strip() if m else None
    return {"status": grab(r"OCSP Response Status: (\w+)"),
            "cert_status": grab(r"Cert Status: (\w+)"),
            "this_update": grab(r"This Update: (.*)$"),
            "produced_at": grab(r"Produced At: (.*)$"),
            "none": "no response sent" in out.lower(), "text": out}


def wait_stapled(port, sni, ca, timeout=30, tls=None, newer_than=None):
    """Polls until a response is stapled (and, with newer_than, one produced later)."""
    deadline = time.monotonic() + timeout
    while True:
        r = stapled(port, sni, ca, tls=tls)
        if r["status"] == "successful" and (newer_than is None or
                                            _when(r["this_update"]) > _when(newer_than)):
            return r
        if time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def _when(text):
    return datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y GMT")


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_ocsp_good_is_stapled(env, ocsp_server, ocsp_pki, tls):
    r = wait_stapled(ocsp_server.port(), "ocsp.test", ocsp_pki.ca_file, tls=tls)
    assert r["status"] == "successful", r["text"]
    assert r["cert_status"] == "good", r["text"]


def test_ocsp_revoked_is_stapled_as_revoked(env, ocsp_server, ocsp_pki):
    r = wait_stapled(ocsp_server.port(), "revoked.test", ocsp_pki.ca_file)
    assert r["status"] == "successful", r["text"]
    assert r["cert_status"] == "revoked", r["text"]


def test_ocsp_stapled_for_tlscertificate_vhost(env, ocsp_server, ocsp_pki):
    """MDStapleOthers: mod_md also staples certificates it does not manage."""
    r = wait_stapled(ocsp_server.port(), "other.test", ocsp_pki.ca_file)
    assert r["status"] == "successful" and r["cert_status"] == "good", r["text"]


def test_ocsp_response_is_refreshed(env, ocsp_server, ocsp_pki):
    first = wait_stapled(ocsp_server.port(), "ocsp.test", ocsp_pki.ca_file)
    assert first["status"] == "successful", first["text"]
    later = wait_stapled(ocsp_server.port(), "ocsp.test", ocsp_pki.ca_file, timeout=45,
                         newer_than=first["this_update"])
    assert later["status"] == "successful" and later["cert_status"] == "good", later["text"]
    print("OCSP This Update: first %s, later %s" % (first["this_update"], later["this_update"]))
    assert _when(later["this_update"]) > _when(first["this_update"]), \
        (first["this_update"], later["text"])


def test_graceful_restart_keeps_certificates_and_stapling(env, ocsp_server, ocsp_pki):
    """post_config runs again: mod_md's certificates are added and primed anew."""
    ocsp_server.graceful()
    r = wait_stapled(ocsp_server.port(), "ocsp.test", ocsp_pki.ca_file)
    assert r["status"] == "successful" and r["cert_status"] == "good", r["text"]
    assert subject_cn(r["text"]) == "ocsp.test", r["text"]
    r = wait_stapled(ocsp_server.port(), "other.test", ocsp_pki.ca_file)
    assert r["status"] == "successful" and r["cert_status"] == "good", r["text"]


# --------------------------------------------------------------------------------------------
# no certificate from anywhere


def test_tls_vhost_without_any_certificate_names_it(env):
    """mod_md loaded, but the vhost is in no MDomain and has no TLSCertificate: startup stops
    and says which vhost (at post_config: `apache2 -t` cannot know what mod_md provides)."""
    h = env.httpd("md-nocert", modules=["md"])
    h.listen("https")
    h.global_extra = md_global(h)
    h.vhost("a.test", certs=[env.certs.leaf("a.test").pair])
    h.vhost("nocert.test")
    assert h.configtest().ok
    res = h.start(check=False, wait_timeout=10)
    assert not res.ok and res.returncode != 0, res
    assert re.search(r"TLS0401: virtual host nocert\.test.* has no certificate", res.output), res
