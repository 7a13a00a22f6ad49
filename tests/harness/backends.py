"""Render the TLS part of a configuration for mod_tls (the module under test) or for mod_ssl
(used to validate the harness and the tests: where behaviour is the same, both must pass)."""
import base64
import os

from .httpd import MODULES_DIR, SUITES, hostport, suite, openssl_name


def _split(cipher_list):
    if not cipher_list:
        return []
    out = []
    for part in cipher_list.replace(",", ":").replace(" ", ":").split(":"):
        if part:
            out.append(part)
    return out


def write_ticket_keys(path, keys, mode=0o600):
    """A TLSSessionTicketKeyFile: one base64 line per 48-byte key, the first encrypts.
    Also writes ``path + ".bin"``, the first key as the 48 raw bytes mod_ssl's
    SSLSessionTicketKeyFile reads (mod_ssl knows a single key only)."""
    with open(path, "w") as f:
        f.write("# session ticket keys, newest first\n")
        for k in keys:
            f.write(base64.b64encode(k).decode() + "\n")
    os.chmod(path, mode)
    with open(path + ".bin", "wb") as f:
        f.write(keys[0])
    os.chmod(path + ".bin", mode)
    return path


def _indent(lines, indent):
    return "\n".join(indent + l for l in lines)


class TlsBackend:
    name = "tls"
    log_module = "tls"   # the module tag in error-log lines: [tls:info]
    options_directive = "TLSOptions"
    user_name_directive = "TLSUserName"

    def client_auth(self, h, mode=None, ca=None, crls=(), depth=None, user_name=None,
                    indent="  "):
        """Client certificate settings as configuration text (a vhost's ``extra``, or
        ``global_extra`` for the server config). mode: "none", "optional", "required";
        ca: a PEM file of trust anchors; crls: CRL files (PEM with one or several, or one
        DER), each its own directive; depth: TLSVerifyDepth; user_name: TLSUserName."""
        lines = []
        if mode is not None:
            lines.append("TLSClientCertificate %s" % mode)
        if ca is not None:
            lines.append('TLSClientCA "%s"' % ca)
        for crl in crls:
            lines.append('TLSClientCRL "%s"' % crl)
        if depth is not None:
            lines.append("TLSVerifyDepth %s" % depth)
        if user_name is not None:
            lines.append("TLSUserName %s" % user_name)
        return _indent(lines, indent)

    def __init__(self, so_path):
        self.so = so_path

    def global_lines(self, h):
        lines = []
        if h.load_tls:
            lines.append("LoadModule tls_module %s" % self.so)
        for key, addrs, tls in h.listens:
            port = h.ports[key]
            if tls is None or key in h.no_engine_line:
                continue
            if tls == "port":
                lines.append("TLSEngine %d" % port)
            elif tls == "addr":
                for a in addrs:
                    lines.append("TLSEngine %s" % hostport(a, port))
            else:
                lines.append("TLSEngine %s" % hostport(tls, port))
        if h.strict_sni is not None:
            lines.append("TLSStrictSNI %s" % ("on" if h.strict_sni else "off"))
        if h.session_cache is not None:
            lines.append('TLSSessionCache "%s"' % h._subst(h.session_cache))
        if h.session_cache_timeout is not None:
            lines.append("TLSSessionCacheTimeout %d" % h.session_cache_timeout)
        if h.session_tickets is not None:
            lines.append("TLSSessionTickets %s" % ("on" if h.session_tickets else "off"))
        if h.ticket_key_file is not None:
            lines.append('TLSSessionTicketKeyFile "%s"' % h.ticket_key_file)
        return lines

    def vhost_lines(self, vh, h):
        lines = []
        for cert, key in vh.certs:
            lines.append("TLSCertificate %s%s" % (cert, (" " + key) if key else ""))
        if vh.protocol:
            lines.append("TLSProtocol %s" % vh.protocol)
        if vh.prefer:
            lines.append("TLSCiphersPrefer %s" % vh.prefer)
        if vh.suppress:
            lines.append("TLSCiphersSuppress %s" % vh.suppress)
        if vh.honor_order is not None:
            lines.append("TLSHonorClientOrder %s" % ("on" if vh.honor_order else "off"))
        if vh.tls_extra:
            lines.append(h._subst(vh.tls_extra))
        return lines


class SslBackend:
    name = "ssl"
    log_module = "ssl"
    options_directive = "SSLOptions"
    user_name_directive = "SSLUserName"

    def client_auth(self, h, mode=None, ca=None, crls=(), depth=None, user_name=None,
                    indent="  "):
        """The mod_ssl equivalent of TlsBackend.client_auth: SSLVerifyClient
        none|optional|require, SSLCACertificateFile, SSLVerifyDepth, SSLUserName; CRLs with
        SSLCARevocationCheck chain no_crl_for_cert_ok (mod_tls checks every certificate of the
        path whose issuer has a CRL). mod_ssl reads a single SSLCARevocationFile, in PEM: several
        files, or a DER one, are written as one PEM file into the server root (a single PEM
        file is used as it is, so that replacing it is seen on a graceful restart)."""
        lines = []
        if mode is not None:
            lines.append("SSLVerifyClient %s" % {"required": "require"}.get(mode, mode))
        if ca is not None:
            lines.append('SSLCACertificateFile "%s"' % ca)
        if crls:
            crls = list(crls)
            if len(crls) == 1 and _is_pem(crls[0]):
                path = crls[0]
            else:
                path = h.write_file("ssl-crls/crls-%d.pem" % _next_crl_id(), b"".join(
                    _crl_pem(f) for f in crls))
            lines.append('SSLCARevocationFile "%s"' % path)
            lines.append("SSLCARevocationCheck chain no_crl_for_cert_ok")
        if depth is not None:
            lines.append("SSLVerifyDepth %s" % depth)
        if user_name is not None:
            lines.append("SSLUserName %s" % user_name)
        return _indent(lines, indent)

    def global_lines(self, h):
        lines = []
        if "ssl" not in h.modules:
            lines.append("LoadModule ssl_module %s/mod_ssl.so" % MODULES_DIR)
        if "socache_shmcb" not in h.modules:
            lines.append("LoadModule socache_shmcb_module %s/mod_socache_shmcb.so"
                         % MODULES_DIR)
        if h.session_cache is None:
            lines.append('SSLSessionCache "shmcb:%s/run/ssl_scache(512000)"' % h.root)
        else:
            lines.append('SSLSessionCache "%s"' % h._subst(h.session_cache))
        if h.session_cache_timeout is not None:
            lines.append("SSLSessionCacheTimeout %d" % h.session_cache_timeout)
        if h.session_tickets is not None:
            lines.append("SSLSessionTickets %s" % ("on" if h.session_tickets else "off"))
        # mod_tls answers requests without SNI on an address with name-based vhosts with 403;
        # mod_ssl does so with this (and logs AH02033 at level error)
        lines.append("SSLStrictSNIVHostCheck on")
        return lines

    def vhost_lines(self, vh, h):
        if not vh.is_tls():
            return []
        lines = ["SSLEngine on"]
        if h.ticket_key_file is not None:
            lines.append('SSLSessionTicketKeyFile "%s.bin"' % h.ticket_key_file)
        for cert, key in vh.certs:
            lines.append("SSLCertificateFile %s" % cert)
            if key:
                lines.append("SSLCertificateKeyFile %s" % key)
        if vh.protocol:
            p = vh.protocol.lower()
            if p in ("tlsv1.3+", "v1.3+"):
                lines.append("SSLProtocol -all +TLSv1.3")
            else:
                lines.append("SSLProtocol -all +TLSv1.2 +TLSv1.3")
        if vh.prefer or vh.suppress or vh.honor_order is not None:
            prefer = [suite(n) for n in _split(vh.prefer)]
            suppress = [suite(n) for n in _split(vh.suppress)]
            order = prefer + [s for s in SUITES if s not in prefer]
            order = [s for s in order if s not in suppress]
            t12 = [openssl_name(s[0]) for s in order if not s[3]]
            t13 = [openssl_name(s[0]) for s in order if s[3]]
            lines.append("SSLCipherSuite %s" % ":".join(t12))
            lines.append("SSLCipherSuite TLSv1.3 %s" % ":".join(t13))
            off = vh.honor_order is False or bool(prefer)
            lines.append("SSLHonorCipherOrder %s" % ("on" if off else "off"))
        if vh.ssl_extra:
            lines.append(h._subst(vh.ssl_extra))
        return lines


_crl_ids = [0]


def _next_crl_id():
    _crl_ids[0] += 1
    return _crl_ids[0]


def _is_pem(path):
    with open(path, "rb") as f:
        return b"-----BEGIN" in f.read()


def _crl_pem(path):
    """The CRLs of a file as PEM (a DER file converted)."""
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN" in data:
        return data if data.endswith(b"\n") else data + b"\n"
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    return x509.load_der_x509_crl(data).public_bytes(serialization.Encoding.PEM)


def make_backend(name, so_path):
    if name == "tls":
        return TlsBackend(so_path)
    if name == "ssl":
        return SslBackend()
    raise ValueError("unknown backend %r (use tls or ssl)" % name)
