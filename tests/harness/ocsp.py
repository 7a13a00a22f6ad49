"""A small PKI with a real OCSP responder: ``openssl ocsp`` answering from an index of the
certificates it issued, at http://127.0.0.1:PORT/ as every leaf's AIA extension says (OpenSSL
3.0's ``-port`` takes a number only: the responder listens on every address).

    pki = OcspPki(directory)
    leaf = pki.leaf("a.test")                  # leaf.chain: leaf + CA (PEM), leaf.key
    gone = pki.leaf("b.test", revoked=True)
    pki.start(minutes=1)                       # responses valid for one minute (-nmin)
    pki.stop()

The CA signs the responses itself (``-rsigner`` is the CA), which every OCSP client accepts.
"""
import datetime
import os
import subprocess
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from .httpd import pick_port

OPENSSL = "/usr/bin/openssl"
ORG = "mod_tls tests"


def _now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _index_time(t):
    return t.strftime("%y%m%d%H%M%SZ")


class OcspLeaf:
    def __init__(self, host, cert_path, chain_path, key_path, cert, revoked):
        self.host = host
        self.cert = cert_path     # the leaf alone
        self.chain = chain_path   # leaf, then the CA: what mod_md needs to ask for OCSP
        self.key = key_path
        self.x509 = cert
        self.revoked = revoked
        self.serial = "%X" % cert.serial_number


class OcspPki:
    def __init__(self, directory, cn="mod_tls OCSP test CA"):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)
        self.port = pick_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        self.ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(self.ca_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                   .add_extension(x509.KeyUsage(True, False, False, False, False, True, True,
                                                False, False), True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                       self.ca_key.public_key()), False)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = self._write("ca.pem", _pem(self.ca))
        self.ca_key_file = self._write("ca.key", _key_pem(self.ca_key), private=True)
        self.index = os.path.join(directory, "index.txt")
        self.leaves = []
        self._write_index()
        self.proc = None
        self.log = os.path.join(directory, "responder.log")

    def _write(self, fname, data, private=False):
        p = os.path.join(self.dir, fname)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o600 if private else 0o644)
        return p

    def _write_index(self):
        lines = []
        for leaf in self.leaves:
            expiry = _index_time(leaf.x509.not_valid_after)
            revoked = _index_time(_now() - datetime.timedelta(hours=1)) if leaf.revoked else ""
            dn = "/O=%s/CN=%s" % (ORG, leaf.host)
            serial = leaf.serial if len(leaf.serial) % 2 == 0 else "0" + leaf.serial
            lines.append("\t".join(["R" if leaf.revoked else "V", expiry, revoked, serial,
                                    "unknown", dn]))
        with open(self.index, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        with open(self.index + ".attr", "w") as f:
            f.write("unique_subject = no\n")

    def leaf(self, host, revoked=False, kind="ecdsa"):
        key = (ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa"
               else rsa.generate_private_key(public_exponent=65537, key_size=2048))
        now = _now()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
                                         x509.NameAttribute(NameOID.COMMON_NAME, host)]))
                .issuer_name(self.ca.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=90))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                    AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier(self.url))]), False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.ca_key.public_key()), False)
                .sign(self.ca_key, hashes.SHA256()))
        stem = host + (".revoked" if revoked else "")
        cert_path = self._write(stem + ".pem", _pem(cert))
        chain_path = self._write(stem + ".chain.pem", _pem(cert) + _pem(self.ca))
        key_path = self._write(stem + ".key", _key_pem(key), private=True)
        leaf = OcspLeaf(host, cert_path, chain_path, key_path, cert, revoked)
        self.leaves.append(leaf)
        self._write_index()
        return leaf

    def start(self, minutes=None):
        """Starts the responder; its responses say nextUpdate = now + ``minutes``."""
        cmd = [OPENSSL, "ocsp", "-index", self.index, "-port", str(self.port),
               "-rsigner", self.ca_file, "-rkey", self.ca_key_file, "-CA", self.ca_file,
               "-ignore_err"]
        if minutes:
            cmd += ["-nmin", str(minutes)]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        # wait for its "waiting for OCSP client connections" line: a probing connection
        # without a request would make OpenSSL 3.0's responder spin
        deadline = time.time() + 10
        while time.time() < deadline:
            with open(self.log, "rb") as f:
                if b"waiting for OCSP client" in f.read():
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("OCSP responder did not start: %s" % " ".join(cmd))

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.logf.close()

    def query(self, leaf):
        """Asks the responder directly (``openssl ocsp -url``): its text output."""
        p = subprocess.run([OPENSSL, "ocsp", "-issuer", self.ca_file, "-cert", leaf.cert,
                            "-url", self.url, "-CAfile", self.ca_file, "-resp_text"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.stdout.decode(errors="replace")
