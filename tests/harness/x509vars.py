"""The values the SSL_SERVER_* variables must have for a certificate, taken from the certificate
the client received, in the forms `openssl x509` prints them (which is what mod_ssl exports):

    subject / issuer   openssl x509 -noout -subject -issuer -nameopt RFC2253,-esc_msb
    serial             openssl x509 -noout -serial
    validity           openssl x509 -noout -startdate -enddate
    version, A_KEY, A_SIG   openssl x509 -noout -text
    components (_CN, _OU, _OU_1, ...), SAN DNS names   in certificate order
"""
import re
import ssl
import subprocess

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
    pem = pem_of(der)
    text = _openssl(pem, "-subject", "-issuer", "-serial", "-startdate", "-enddate",
                    "-nameopt", "RFC2253,-esc_msb")
    f = {}
    for line in text.splitlines():
        k, v = line.split("=", 1)
        f[k] = v
    full = _openssl(pem, "-text")
    v = {
        "SSL_SERVER_S_DN": f["subject"],
        "SSL_SERVER_I_DN": f["issuer"],
        "SSL_SERVER_M_SERIAL": f["serial"],
        "SSL_SERVER_V_START": f["notBefore"],
        "SSL_SERVER_V_END": f["notAfter"],
        "SSL_SERVER_M_VERSION": re.search(r"^\s*Version: (\d+)", full, re.M).group(1),
        "SSL_SERVER_A_KEY": re.search(r"^\s*Public Key Algorithm: (\S+)", full, re.M).group(1),
        "SSL_SERVER_A_SIG": re.search(r"^\s*Signature Algorithm: (\S+)", full, re.M).group(1),
        "SSL_SERVER_CERT": pem,
    }
    cert = x509.load_der_x509_certificate(der)
    v.update(_components("SSL_SERVER_S_DN", cert.subject))
    v.update(_components("SSL_SERVER_I_DN", cert.issuer))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for i, name in enumerate(san.get_values_for_type(x509.DNSName)):
            v["SSL_SERVER_SAN_DNS_%d" % i] = name
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
