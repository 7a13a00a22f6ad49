"""The values the SSL_SERVER_* (and SSL_CLIENT_*) variables must have for a certificate, taken
from the certificate the client received (or sent), in the forms `openssl x509` prints them
(which is what mod_ssl exports):

    subject / issuer   openssl x509 -noout -subject -issuer -nameopt RFC2253,-esc_msb
    serial             openssl x509 -noout -serial
    validity           openssl x509 -noout -startdate -enddate
    version, A_KEY, A_SIG   openssl x509 -noout -text
    components (_CN, _OU, _OU_1, ...), SAN DNS names   in certificate order
"""
import calendar
import re
import ssl
import subprocess
import time

from cryptography import x509
from cryptography.x509.oid import NameOID

OPENSSL = "/usr/bin/openssl"

# the component names of SSL_SERVER_S_DN_x (mod_ssl's table)
DN_TAGS = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
    NameOID.TITLE: "T",
    x509.ObjectIdentifier("2.5.4.43"): "I",
    NameOID.GIVEN_NAME: "G",
    NameOID.SURNAME: "S",
    x509.ObjectIdentifier("2.5.4.13"): "D",
    NameOID.USER_ID: "UID",
    NameOID.EMAIL_ADDRESS: "Email",
}


def pem_of(der):
    return ssl.DER_cert_to_PEM_cert(der)


def _openssl(pem, *args):
    p = subprocess.run([OPENSSL, "x509", "-noout"] + list(args), input=pem.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return p.stdout.decode("utf-8")


def _components(prefix, name):
    out = {}
    seen = {}
    for attr in name:
        tag = DN_TAGS.get(attr.oid)
        if tag is None:
            continue
        n = seen.get(tag, 0)
        seen[tag] = n + 1
        out["%s_%s" % (prefix, tag) if n == 0 else "%s_%s_%d" % (prefix, tag, n)] = attr.value
    return out


def server_cert_vars(der):
    """{variable: value} for every SSL_SERVER_* variable the certificate (DER) defines, plus
    SSL_SERVER_CERT (the PEM)."""
    return _cert_vars(der, "SSL_SERVER")


def client_cert_vars(der, chain=(), now=None):
    """{variable: value} for every SSL_CLIENT_* variable a verified client certificate (DER)
    defines: those of server_cert_vars under SSL_CLIENT_, SSL_CLIENT_S_DN_SP (mod_ssl's other
    name of ST), the e-mail SANs (SSL_CLIENT_SAN_Email_n), SSL_CLIENT_VERIFY = SUCCESS,
    SSL_CLIENT_V_REMAIN (whole days from ``now``, a POSIX time, until notAfter, as mod_ssl's
    ASN1_TIME_diff), SSL_CLIENT_CERT and SSL_CLIENT_CHAIN_n for the DER intermediates the
    client sent."""
    v = _cert_vars(der, "SSL_CLIENT", emails=True)
    for k in list(v):
        m = re.fullmatch(r"SSL_CLIENT_([SI])_DN_ST(_\d+)?", k)
        if m:
            v["SSL_CLIENT_%s_DN_SP%s" % (m.group(1), m.group(2) or "")] = v[k]
    v["SSL_CLIENT_VERIFY"] = "SUCCESS"
    v["SSL_CLIENT_V_REMAIN"] = str(v_remain(der, now))
    for i, c in enumerate(chain):
        v["SSL_CLIENT_CHAIN_%d" % i] = pem_of(c)
    return v


def v_remain(der, now=None):
    """Whole days from ``now`` (POSIX time, default: now) until the certificate expires; 0
    once expired."""
    cert = x509.load_der_x509_certificate(der)
    end = cert.not_valid_after.replace(tzinfo=None)
    end_ts = calendar.timegm(end.timetuple())
    left = end_ts - int(now if now is not None else time.time())
    return max(0, left // 86400)


def _cert_vars(der, prefix, emails=False):
    pem = pem_of(der)
    text = _openssl(pem, "-subject", "-issuer", "-serial", "-startdate", "-enddate",
                    "-nameopt", "RFC2253,-esc_msb")
    f = {}
    for line in text.splitlines():
        k, v = line.split("=", 1)
        f[k] = v
    full = _openssl(pem, "-text")
    v = {
        prefix + "_S_DN": f["subject"],
        prefix + "_I_DN": f["issuer"],
        prefix + "_M_SERIAL": f["serial"],
        prefix + "_V_START": f["notBefore"],
        prefix + "_V_END": f["notAfter"],
        prefix + "_M_VERSION": re.search(r"^\s*Version: (\d+)", full, re.M).group(1),
        prefix + "_A_KEY": re.search(r"^\s*Public Key Algorithm: (\S+)", full, re.M).group(1),
        prefix + "_A_SIG": re.search(r"^\s*Signature Algorithm: (\S+)", full, re.M).group(1),
        prefix + "_CERT": pem,
    }
    cert = x509.load_der_x509_certificate(der)
    v.update(_components(prefix + "_S_DN", cert.subject))
    v.update(_components(prefix + "_I_DN", cert.issuer))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for i, name in enumerate(san.get_values_for_type(x509.DNSName)):
            v[prefix + "_SAN_DNS_%d" % i] = name
        if emails:
            for i, name in enumerate(san.get_values_for_type(x509.RFC822Name)):
                v[prefix + "_SAN_Email_%d" % i] = name
    except x509.ExtensionNotFound:
        pass
    return v


def log_escape(value):
    """A value as it must appear in the access log: escaped with ap_escape_logitem, as
    mod_ssl's %{name}x handler does (quote and backslash escaped, control characters and bytes
    >= 0x7f as \\xhh, \\n, \\r, \\t, \\b, \\v by name), so that no certificate field can
    break a log line."""
    out = []
    named = {8: "\\b", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    for b in value.encode("utf-8"):
        if b in (0x22, 0x5c):
            out.append("\\" + chr(b))
        elif b in named:
            out.append(named[b])
        elif b < 0x20 or b >= 0x7f:
            out.append("\\x%02x" % b)
        else:
            out.append(chr(b))
    return "".join(out)
