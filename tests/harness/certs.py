"""Test PKI, generated once per session with `cryptography`.

Every leaf certificate names itself: CN and SAN carry the host name, OU the key type
(``ecdsa``, ``rsa``, ``p384``, ``ed25519``), so a client can tell which one it got.
"""
import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
import ipaddress

ORG = "mod_tls tests"

# host -> (file stem, SAN names)
HOSTS = {
    "localhost": ["localhost", "127.0.0.1"],
    "a.test": ["a.test", "alt.a.test"],
    "b.test": ["b.test"],
    "wild.test": ["wild.test", "*.wild.test"],
}
KEY_TYPES = ("ecdsa", "rsa")


def _now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def _name(cn, ou=None):
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _new_key(kind):
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def _sign_hash(issuer_key):
    return None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key, fmt="pkcs8"):
    if fmt == "pkcs8":
        f = serialization.PrivateFormat.PKCS8
    elif fmt in ("pkcs1", "sec1"):
        # TraditionalOpenSSL: "BEGIN RSA PRIVATE KEY" for RSA, "BEGIN EC PRIVATE KEY" for EC
        f = serialization.PrivateFormat.TraditionalOpenSSL
    else:
        raise ValueError(fmt)
    return key.private_bytes(serialization.Encoding.PEM, f, serialization.NoEncryption())


class Leaf:
    """A generated certificate: .cert (PEM file: leaf [+ chain]), .key (PKCS#8 PEM file)."""

    def __init__(self, name, host, kind, cert_path, key_path, cert):
        self.name = name
        self.host = host
        self.kind = kind
        self.cert = cert_path
        self.key = key_path
        self.x509 = cert

    @property
    def pair(self):
        return (self.cert, self.key)

    def __repr__(self):
        return "Leaf(%s)" % self.name


class CertStore:
    """Writes every file once into ``directory`` and gives access by name.

    ``store.leaf("a.test", "ecdsa")`` -> Leaf; ``store.path("name")`` -> a file path.
    """

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        os.chmod(directory, 0o755)
        self.leaves = {}
        self.files = {}
        self._build()

    # -- files ------------------------------------------------------------
    def _write(self, fname, data, private=False):
        p = os.path.join(self.dir, fname)
        with open(p, "wb") as f:
            f.write(data)
        # Keys: root only when we are root (httpd reads them before dropping privileges).
        os.chmod(p, 0o600 if private else 0o644)
        self.files[fname] = p
        return p

    def path(self, fname):
        return self.files[fname]

    # -- building -----------------------------------------------------------
    def _ca(self, cn, key, issuer=None, issuer_key=None, path_len=None):
        now = _now()
        subject = _name(cn)
        b = (x509.CertificateBuilder()
             .subject_name(subject)
             .issuer_name(issuer.subject if issuer else subject)
             .public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=3650))
             .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False))
        if issuer is not None:
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
        return b.sign(issuer_key or key, hashes.SHA256())

    def _leaf_cert(self, host, sans, kind, key, issuer, issuer_key, not_before=None,
                   not_after=None, subject=None, serial=None):
        now = _now()
        nb = not_before or now - datetime.timedelta(days=1)
        na = not_after or now + datetime.timedelta(days=365)
        alt = []
        for s in sans:
            if isinstance(s, x509.GeneralName):
                alt.append(s)
                continue
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                alt.append(x509.DNSName(s))
        b = (x509.CertificateBuilder()
             .subject_name(subject or _name(host, kind))
             .issuer_name(issuer.subject)
             .public_key(key.public_key())
             .serial_number(serial or x509.random_serial_number())
             .not_valid_before(nb)
             .not_valid_after(na)
             .add_extension(x509.SubjectAlternativeName(alt), critical=False)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_key.public_key()), critical=False))
        return b.sign(issuer_key, _sign_hash(issuer_key))

    def _add_leaf(self, name, host, sans, kind, issuer=None, issuer_key=None, chain=(),
                  subject=None, serial=None, **validity):
        issuer = issuer or self.ca
        issuer_key = issuer_key or self.ca_key
        key = _new_key(kind)
        cert = self._leaf_cert(host, sans, kind, key, issuer, issuer_key, subject=subject,
                               serial=serial, **validity)
        cert_pem = _pem_cert(cert) + b"".join(_pem_cert(c) for c in chain)
        cp = self._write(name + ".pem", cert_pem)
        kp = self._write(name + ".key", _pem_key(key), private=True)
        leaf = Leaf(name, host, kind, cp, kp, cert)
        leaf.key_obj = key
        leaf.leaf_pem = _pem_cert(cert)
        self.leaves[name] = leaf
        return leaf

    def _build(self):
        self.ca_key = _new_key("ecdsa")
        self.ca = self._ca("mod_tls test root CA", self.ca_key)
        self.ca_file = self._write("ca.pem", _pem_cert(self.ca))
        self.int_key = _new_key("ecdsa")
        self.int = self._ca("mod_tls test intermediate CA", self.int_key, issuer=self.ca,
                            issuer_key=self.ca_key, path_len=0)
        self._write("intermediate.pem", _pem_cert(self.int))

        for host, sans in HOSTS.items():
            for kind in KEY_TYPES:
                self._add_leaf("%s-%s" % (host, kind), host, sans, kind)
        for kind in ("p384", "ed25519"):
            self._add_leaf("a.test-%s" % kind, "a.test", HOSTS["a.test"], kind)

        now = _now()
        self._add_leaf("expired.test-ecdsa", "expired.test", ["expired.test"], "ecdsa",
                       not_before=now - datetime.timedelta(days=60),
                       not_after=now - datetime.timedelta(days=30))
        self._add_leaf("notyet.test-ecdsa", "notyet.test", ["notyet.test"], "ecdsa",
                       not_before=now + datetime.timedelta(days=30),
                       not_after=now + datetime.timedelta(days=400))
        # expires within the 14 days mod_tls warns about at each (re)start
        self._add_leaf("soon.test-ecdsa", "soon.test", ["soon.test", "www.soon.test"], "ecdsa",
                       not_before=now - datetime.timedelta(days=60),
                       not_after=now + datetime.timedelta(days=3, hours=12))

        # Chain: leaf signed by the intermediate; the .pem holds leaf + intermediate.
        chained = self._add_leaf("chain.test-ecdsa", "chain.test", ["chain.test"], "ecdsa",
                                 issuer=self.int, issuer_key=self.int_key, chain=[self.int])
        # the same leaf without its intermediate (a negative control)
        self._write("chain.test-ecdsa.leafonly.pem", chained.leaf_pem)

        # A subject with everything the SSL_SERVER_S_DN_* variables must get right: several
        # OUs (_OU, _OU_1, _OU_2), an e-mail address (_Email), UTF-8 (CN), characters RFC 2253
        # escapes (O, ST, L); SANs of other types between the DNS names (SAN_DNS_n counts DNS
        # names only). Issued by the intermediate: the issuer DN differs from the other leaves.
        self._add_leaf("dn.test-ecdsa", "dn.test", [
            "dn.test", "127.0.0.1", x509.RFC822Name("tls@dn.test"), "www.dn.test",
            "*.x.dn.test"], "ecdsa", issuer=self.int, issuer_key=self.int_key, chain=[self.int],
            # a first byte below 0x10: upper-case hex, two digits per byte, gives "0A1B..."
            serial=0x0A1B2C3D4E5F60718293A4B5C6D7E8F9,
            subject=x509.Name([
                x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "#Hash State"),
                x509.NameAttribute(NameOID.LOCALITY_NAME, " Berlin "),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                   'Example, Inc. "q" +plus <lt> >gt ;semi \\back =eq'),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "alpha"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "beta"),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "gamma"),
                x509.NameAttribute(NameOID.COMMON_NAME, "dn.test Zürich \u2713 Ωμέγα"),
                x509.NameAttribute(NameOID.EMAIL_ADDRESS, "tls@dn.test"),
            ]))

        # Other algorithms for the SSL_SERVER_A_KEY / A_SIG variables: an Ed25519 leaf, and an
        # RSA leaf issued by an RSA intermediate (sha256WithRSAEncryption)
        self._add_leaf("ed.test-ed25519", "ed.test", ["ed.test"], "ed25519")
        self.int_rsa_key = _new_key("rsa")
        self.int_rsa = self._ca("mod_tls test RSA intermediate CA", self.int_rsa_key,
                                issuer=self.ca, issuer_key=self.ca_key, path_len=0)
        self._add_leaf("rsaca.test-rsa", "rsaca.test", ["rsaca.test"], "rsa",
                       issuer=self.int_rsa, issuer_key=self.int_rsa_key, chain=[self.int_rsa])

        # Key formats for a.test
        a_rsa = self.leaves["a.test-rsa"]
        a_ec = self.leaves["a.test-ecdsa"]
        self._write("a.test-rsa.pkcs1.key", _pem_key(a_rsa.key_obj, "pkcs1"), private=True)
        self._write("a.test-ecdsa.sec1.key", _pem_key(a_ec.key_obj, "sec1"), private=True)
        # key inside the certificate file (cert first, then key)
        self._write("a.test-ecdsa.withkey.pem", a_ec.leaf_pem + _pem_key(a_ec.key_obj),
                    private=True)
        self._write("a.test-rsa.withkey.pem",
                    a_rsa.leaf_pem + _pem_key(a_rsa.key_obj, "pkcs1"), private=True)

        # an encrypted key (not supported: nothing could type the passphrase)
        self._write("a.test-ecdsa.encrypted.key", a_ec.key_obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret")), private=True)

        # Broken material
        self._write("empty.pem", b"")
        self._write("garbage.pem", os.urandom(600))
        self._write("text.pem", b"this is not a certificate\nnor a key\n")
        # a "key file" that holds only a certificate
        self._write("nokey.key", a_ec.leaf_pem, private=True)
        other = _new_key("ecdsa")
        self._write("mismatch.key", _pem_key(other), private=True)
        d = os.path.join(self.dir, "a-directory.pem")
        os.makedirs(d, exist_ok=True)
        self.files["a-directory.pem"] = d

        self._build_client_pki()

    # -- client certificates ------------------------------------------------
    def _client_cert(self, subject, sans, key, issuer, issuer_key, not_before=None,
                     not_after=None, serial=None):
        now = _now()
        nb = not_before or now - datetime.timedelta(days=1)
        # half a day more than whole days: SSL_CLIENT_V_REMAIN is a whole number of days,
        # so the value does not depend on the second the test runs
        na = not_after or now + datetime.timedelta(days=400, hours=12)
        b = (x509.CertificateBuilder()
             .subject_name(subject)
             .issuer_name(issuer.subject)
             .public_key(key.public_key())
             .serial_number(serial or x509.random_serial_number())
             .not_valid_before(nb)
             .not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=False,
                                          crl_sign=False, encipher_only=False,
                                          decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_key.public_key()), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        return b.sign(issuer_key, _sign_hash(issuer_key))

    def _add_client(self, name, subject, sans=(), kind="ecdsa", issuer=None, issuer_key=None,
                    chain=(), **kw):
        issuer = issuer or self.client_ca
        issuer_key = issuer_key or self.client_ca_key
        key = _new_key(kind)
        cert = self._client_cert(subject, sans, key, issuer, issuer_key, **kw)
        cp = self._write("client-%s.pem" % name,
                         _pem_cert(cert) + b"".join(_pem_cert(c) for c in chain))
        kp = self._write("client-%s.key" % name, _pem_key(key), private=True)
        leaf = Leaf(name, None, kind, cp, kp, cert)
        leaf.key_obj = key
        leaf.leaf_pem = _pem_cert(cert)
        leaf.chain = list(chain)
        self.clients[name] = leaf
        return leaf

    def _crl(self, issuer, issuer_key, revoked=(), this_update=None, next_update=None,
             number=1):
        now = _now()
        b = (x509.CertificateRevocationListBuilder()
             .issuer_name(issuer.subject)
             .last_update(this_update or now - datetime.timedelta(hours=1))
             .next_update(next_update or now + datetime.timedelta(days=30))
             .add_extension(x509.CRLNumber(number), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_key.public_key()), critical=False))
        for serial in revoked:
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial)
                .revocation_date(now - datetime.timedelta(hours=2)).build())
        return b.sign(issuer_key, hashes.SHA256())

    def _build_client_pki(self):
        """Client authentication: a client root CA of its own (not the server CA), an
        intermediate under it, an untrusted CA; client certificates (EKU clientAuth) and
        CRLs. Files are named client-*.pem / .key / *.crl.*; ``store.client("alice")``."""
        self.clients = {}
        now = _now()
        self.client_ca_key = _new_key("ecdsa")
        self.client_ca = self._ca("mod_tls test client root CA", self.client_ca_key)
        self.client_ca_file = self._write("client-ca.pem", _pem_cert(self.client_ca))
        self.client_int_key = _new_key("ecdsa")
        self.client_int = self._ca("mod_tls test client intermediate CA", self.client_int_key,
                                   issuer=self.client_ca, issuer_key=self.client_ca_key,
                                   path_len=0)
        self._write("client-intermediate.pem", _pem_cert(self.client_int))
        # root and intermediate as trust anchors (the intermediate's CRL needs its issuer
        # among the configured CAs)
        self._write("client-ca-bundle.pem", _pem_cert(self.client_ca) + _pem_cert(self.client_int))
        self.other_ca_key = _new_key("ecdsa")
        self.other_ca = self._ca("mod_tls test untrusted client CA", self.other_ca_key)
        self._write("client-other-ca.pem", _pem_cert(self.other_ca))
        # the server certificate of the client authentication tests: every name they use
        self._add_leaf("auth.test-ecdsa", "auth.test",
                       ["auth.test", "*.auth.test", "a.test", "b.test"], "ecdsa")

        def name(*attrs):
            return x509.Name([x509.NameAttribute(oid, v) for oid, v in attrs])

        # alice: what the SSL_CLIENT_* variables show. Two OUs (_OU, _OU_1), e-mail in the
        # subject, SANs of three types (e-mail and DNS names counted separately)
        self._add_client("alice", name(
            (NameOID.COUNTRY_NAME, "DE"),
            (NameOID.STATE_OR_PROVINCE_NAME, "Berlin"),
            (NameOID.LOCALITY_NAME, "Kreuzberg"),
            (NameOID.ORGANIZATION_NAME, ORG),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "people"),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "admins"),
            (NameOID.COMMON_NAME, "alice"),
            (NameOID.EMAIL_ADDRESS, "alice@example.org")), sans=[
            x509.RFC822Name("alice@example.org"),
            x509.DNSName("alice.clients.test"),
            x509.UniformResourceIdentifier("https://alice.clients.test/"),
            x509.RFC822Name("alice@clients.test"),
            x509.DNSName("www.alice.clients.test")],
            serial=0x0C1E47A11CE0000000000000000000A1)
        # bob: RSA key, the rarer subject components (T, G, S, UID, D), no SANs
        self._add_client("bob", name(
            (NameOID.ORGANIZATION_NAME, ORG),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, "people"),
            (NameOID.TITLE, "Dr"),
            (NameOID.GIVEN_NAME, "Bob"),
            (NameOID.SURNAME, "Builder"),
            (NameOID.USER_ID, "bob42"),
            (x509.ObjectIdentifier("2.5.4.13"), "the second user"),
            (NameOID.COMMON_NAME, "bob")), kind="rsa")
        self._add_client("expired", _name("expired client", "people"),
                         not_before=now - datetime.timedelta(days=60),
                         not_after=now - datetime.timedelta(days=30))
        self._add_client("notyet", _name("not yet valid client", "people"),
                         not_before=now + datetime.timedelta(days=30),
                         not_after=now + datetime.timedelta(days=400))
        self._add_client("mallory", _name("mallory", "people"), issuer=self.other_ca,
                         issuer_key=self.other_ca_key)
        revoked = self._add_client("revoked", _name("revoked client", "people"))
        # carol: issued by the intermediate, the file holds leaf + intermediate
        carol = self._add_client("carol", _name("carol", "people"),
                                 sans=[x509.RFC822Name("carol@example.org")],
                                 issuer=self.client_int, issuer_key=self.client_int_key,
                                 chain=[self.client_int])
        self._write("client-carol.leafonly.pem", carol.leaf_pem)
        # dave: issued by the intermediate, revoked by the intermediate's CRL
        dave = self._add_client("dave", _name("dave", "people"), issuer=self.client_int,
                                issuer_key=self.client_int_key, chain=[self.client_int])

        der = serialization.Encoding.DER
        pem = serialization.Encoding.PEM
        root_crl = self._crl(self.client_ca, self.client_ca_key,
                             [revoked.x509.serial_number, 0x1234567])
        int_crl = self._crl(self.client_int, self.client_int_key, [dave.x509.serial_number])
        self._write("client-root.crl.pem", root_crl.public_bytes(pem))
        self._write("client-root.crl.der", root_crl.public_bytes(der))
        self._write("client-int.crl.pem", int_crl.public_bytes(pem))
        self._write("client-both.crl.pem", root_crl.public_bytes(pem) + int_crl.public_bytes(pem))
        self._write("client-root-empty.crl.pem",
                    self._crl(self.client_ca, self.client_ca_key, number=2).public_bytes(pem))
        self._write("client-root-expired.crl.pem", self._crl(
            self.client_ca, self.client_ca_key, this_update=now - datetime.timedelta(days=10),
            next_update=now - datetime.timedelta(days=1), number=3).public_bytes(pem))
        # a CRL of the untrusted CA (its issuer is no configured CA)
        self._write("client-other.crl.pem",
                    self._crl(self.other_ca, self.other_ca_key).public_bytes(pem))
        # the client root's name, signed by another key
        self._write("client-root-forged.crl.pem",
                    self._crl(self.client_ca, self.other_ca_key,
                              [revoked.x509.serial_number]).public_bytes(pem))

    def client(self, name):
        """A client certificate: Leaf with .cert (leaf [+ intermediate]), .key, .x509,
        .leaf_pem, .chain (the intermediates in .cert, x509 objects)."""
        return self.clients[name]

    def leaf(self, host, kind="ecdsa"):
        return self.leaves["%s-%s" % (host, kind)]


def subject_of(der):
    """(CN, OU) of a DER certificate."""
    c = x509.load_der_x509_certificate(der)
    cn = c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    ou = c.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return (cn[0].value if cn else None, ou[0].value if ou else None)
