"""Real TLS clients: curl, ``openssl s_client``, Python's ssl + http.client, h2load."""
import http.client
import re
import socket
import ssl
import subprocess
import tempfile
import os

from .certs import subject_of

CURL = "/usr/bin/curl"
OPENSSL = "/usr/bin/openssl"
H2LOAD = "/usr/bin/h2load"


# ---------------------------------------------------------------------------- curl
class CurlResult:
    def __init__(self, cmd, rc, stdout, stderr, body):
        self.cmd = cmd
        self.rc = rc
        self.stderr = stderr
        self.body = body
        self.status = None
        self.verify_result = None
        self.num_connects = None
        self.http_version = None
        self.headers = {}
        m = re.search(r"##(\d+) (\d+) (\d+) (\S+)##", stdout)
        if m:
            self.status = int(m.group(1))
            self.verify_result = int(m.group(2))
            self.num_connects = int(m.group(3))
            self.http_version = m.group(4)
        m = re.search(r"SSL connection using (\S+) / (\S+)", stderr)
        self.protocol = m.group(1) if m else None
        self.cipher = m.group(2) if m else None
        m = re.search(r"^\*\s+subject: (.*)$", stderr, re.M)
        self.subject = m.group(1).strip() if m else None
        for line in stderr.splitlines():
            if line.startswith("< ") and ":" in line:
                k, v = line[2:].split(":", 1)
                self.headers[k.strip().lower()] = v.strip()

    @property
    def peer_cn(self):
        m = re.search(r"CN\s*=\s*([^;,]+)", self.subject or "")
        return m.group(1).strip() if m else None

    @property
    def peer_ou(self):
        m = re.search(r"OU\s*=\s*([^;,]+)", self.subject or "")
        return m.group(1).strip() if m else None

    def __repr__(self):
        return ("<curl rc=%s status=%s verify=%s proto=%s cipher=%s subject=%s>\n%s\n%s" %
                (self.rc, self.status, self.verify_result, self.protocol, self.cipher,
                 self.subject, " ".join(self.cmd), self.stderr[-3000:]))


def curl(port, path="/", host="a.test", *, ca=None, tls=None, ciphers=None,
         tls13_ciphers=None, headers=(), args=(), timeout=60, scheme="https",
         addr="127.0.0.1", output=None, cert=None, key=None):
    """One curl request to https://host:port/path with host resolved to ``addr``.

    tls: None, "1.2" (exactly TLS 1.2) or "1.3" (exactly TLS 1.3).
    cert, key: a client certificate (--cert: the file's certificates are sent, leaf first)
    and its key (--key).
    The body is returned as bytes (or written to ``output``).
    """
    cmd = [CURL, "-sS", "-v", "--resolve",
           "%s:%d:%s" % (host, port, "[%s]" % addr if ":" in addr else addr),
           "--max-time", str(timeout), "-w", "##%{http_code} %{ssl_verify_result} "
           "%{num_connects} %{http_version}##"]
    if ca:
        cmd += ["--cacert", ca]
    if tls == "1.2":
        cmd += ["--tlsv1.2", "--tls-max", "1.2"]
    elif tls == "1.3":
        cmd += ["--tlsv1.3", "--tls-max", "1.3"]
    if ciphers:
        cmd += ["--ciphers", ciphers]
    if tls13_ciphers:
        cmd += ["--tls13-ciphers", tls13_ciphers]
    if cert:
        cmd += ["--cert", cert]
    if key:
        cmd += ["--key", key]
    for h in headers:
        cmd += ["-H", h]
    cmd += list(args)
    tmp = None
    if output is None:
        fd, tmp = tempfile.mkstemp(prefix="curl-")
        os.close(fd)
        output = tmp
    cmd += ["-o", output, "%s://%s:%d%s" % (scheme, host, port, path)]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout + 10)
        body = None
        if tmp:
            with open(tmp, "rb") as f:
                body = f.read()
    finally:
        if tmp:
            os.unlink(tmp)
    return CurlResult(cmd, p.returncode, p.stdout.decode(errors="replace"),
                      p.stderr.decode(errors="replace"), body)


# ------------------------------------------------------------------------ s_client
class SClientResult:
    def __init__(self, cmd, rc, stdout, stderr):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        text = stdout + "\n" + stderr
        self.established = "CONNECTION ESTABLISHED" in text

        def grab(rx):
            m = re.search(rx, text, re.M)
            return m.group(1).strip() if m else None
        self.protocol = grab(r"^Protocol version: (\S+)")
        self.cipher = grab(r"^Ciphersuite: (\S+)")
        self.peer = grab(r"^Peer certificate: (.*)$")
        self.verification = grab(r"^Verification(?: error)?: (.*)$")
        self.signature_type = grab(r"^Signature type: (.*)$")
        self.response = stdout

    @property
    def peer_cn(self):
        m = re.search(r"CN\s*=\s*([^,]+)", self.peer or "")
        return m.group(1).strip() if m else None

    @property
    def peer_ou(self):
        m = re.search(r"OU\s*=\s*([^,]+)", self.peer or "")
        return m.group(1).strip() if m else None

    @property
    def status(self):
        m = re.match(r"HTTP/1\.[01] (\d{3})", self.stdout)
        return int(m.group(1)) if m else None

    @property
    def body(self):
        parts = self.stdout.split("\r\n\r\n", 1)
        return parts[1] if len(parts) == 2 else None

    def alert(self):
        """The alert text OpenSSL reports, e.g. 'tlsv1 unrecognized name', or None."""
        m = re.search(r"(?:ssl3|tlsv1|tlsv13)? ?alert ([a-z ]+?)(?::|$)|"
                      r"(tlsv1 unrecognized name|unrecognized name)", self.stderr, re.M)
        return m.group(0) if m else None

    def __repr__(self):
        return ("<s_client rc=%s established=%s proto=%s cipher=%s peer=%s>\n%s\n--- stdout\n"
                "%s\n--- stderr\n%s" % (self.rc, self.established, self.protocol, self.cipher,
                                        self.peer, " ".join(self.cmd), self.stdout[-2000:],
                                        self.stderr[-3000:]))


def s_client(port, sni=None, *, ca=None, tls=None, cipher=None, ciphersuites=None,
             sigalgs=None, request=None, path="/whoami.txt", host=None, addr="127.0.0.1",
             timeout=30, args=(), cert=None, key=None, chain=None):
    """``openssl s_client -brief``; sends an HTTP/1.1 request with Connection: close unless
    request is False. sni=None sends no SNI. cert, key: a client certificate (-cert: the
    first certificate of the file) and its key; chain: a file with intermediates to send
    after it (-cert_chain)."""
    cmd = [OPENSSL, "s_client", "-connect",
           "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port), "-brief"]
    if sni:
        cmd += ["-servername", sni]
    else:
        cmd += ["-noservername"]
    if ca:
        cmd += ["-CAfile", ca]
    if tls == "1.2":
        cmd += ["-tls1_2"]
    elif tls == "1.3":
        cmd += ["-tls1_3"]
    if cipher:
        cmd += ["-cipher", cipher]
    if ciphersuites:
        cmd += ["-ciphersuites", ciphersuites]
    if sigalgs:
        cmd += ["-sigalgs", sigalgs]
    if cert:
        cmd += ["-cert", cert]
    if key:
        cmd += ["-key", key]
    if chain:
        cmd += ["-cert_chain", chain]
    cmd += list(args)
    if request is False:
        data = b""
    else:
        if request is None:
            request = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (path, host or sni or "localhost"))
        data = request.encode() if isinstance(request, str) else request
        cmd += ["-ign_eof"]   # read the response until the server closes
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return SClientResult(cmd, p.returncode, p.stdout.decode(errors="replace"),
                         p.stderr.decode(errors="replace"))


# ------------------------------------------------------------------------- python
def context(ca=None, tls=None, verify=True, ciphers=None, cert=None, key=None):
    """An ssl.SSLContext for a client. tls: None, "1.2" or "1.3" (exactly that version).
    cert, key: a client certificate (load_cert_chain: the file's certificates are sent, leaf
    first)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cert:
        ctx.load_cert_chain(cert, key)
    if verify:
        ctx.load_verify_locations(ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls == "1.2":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif tls == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def tls_connect(port, sni, ctx, addr="127.0.0.1", timeout=30):
    """A connected, handshaken SSLSocket (raises ssl.SSLError / OSError)."""
    s = socket.create_connection((addr, port), timeout=timeout)
    try:
        return ctx.wrap_socket(s, server_hostname=sni)
    except BaseException:
        s.close()
        raise


def peer_name(sslsock):
    """(CN, OU) of the server certificate of an SSLSocket."""
    return subject_of(sslsock.getpeercert(binary_form=True))


class HTTPSConnection(http.client.HTTPSConnection):
    """http.client over TLS to ``addr`` with SNI and Host set to ``host``."""

    def __init__(self, host, port, context, addr="127.0.0.1", timeout=60):
        super().__init__(host, port, context=context, timeout=timeout)
        self._addr = addr
        self._ctx = context
        self.connects = 0

    def connect(self):
        s = socket.create_connection((self._addr, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(s, server_hostname=self.host)
        self.connects += 1


def get(port, path="/whoami.txt", host="a.test", ctx=None, ca=None, headers=None,
        method="GET", addr="127.0.0.1", body=None):
    """One request on a fresh connection: (status, headers dict, body bytes)."""
    ctx = ctx or context(ca)
    c = HTTPSConnection(host, port, ctx, addr=addr)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def plain_get(port, path="/whoami.txt", host="localhost", addr="127.0.0.1", headers=None):
    c = http.client.HTTPConnection(addr, port, timeout=30)
    try:
        h = {"Host": host}
        h.update(headers or {})
        c.request("GET", path, headers=h)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


# -------------------------------------------------------------------------- h2load
def h2load(url, requests, clients, args=(), timeout=300, h1=True):
    """h2load over HTTP/1.1 (h1=False: the protocol ALPN negotiates, h2 first); returns
    (rc, output, dict of counters; "protocol": the application protocol negotiated)."""
    cmd = [H2LOAD] + (["--h1"] if h1 else []) + ["-n", str(requests), "-c", str(clients)] \
        + list(args) + [url]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode(errors="replace")
    counts = {}
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    if m:
        for i, k in enumerate(("total", "started", "done", "succeeded", "failed", "errored",
                               "timeout")):
            counts[k] = int(m.group(i + 1))
    m = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if m:
        counts["2xx"] = int(m.group(1))
        counts["4xx"] = int(m.group(3))
        counts["5xx"] = int(m.group(4))
    m = re.search(r"Application protocol: (\S+)", out)
    counts["protocol"] = m.group(1) if m else None
    return p.returncode, out, counts


# ------------------------------------------------------------------ session resumption
class Exchange:
    """One request on a new connection (see ``resume``)."""

    def __init__(self, reused, session, version, cipher, status, headers, body):
        self.reused = reused
        self.session = session
        self.version = version
        self.cipher = cipher
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self):
        return "<Exchange reused=%s %s %s status=%s headers=%s>" % (
            self.reused, self.version, self.cipher, self.status, self.headers)


def resume(port, sni, ctx, session=None, path="/whoami.txt", headers=None, addr="127.0.0.1",
           timeout=30):
    """A new connection offering ``session`` (an ssl.SSLSession, or None), one HTTP/1.1
    request with Connection: close, read to the end. The session returned is the one the
    client holds afterwards (with TLS 1.3 the tickets arrive after the handshake)."""
    s = socket.create_connection((addr, port), timeout=timeout)
    try:
        ss = ctx.wrap_socket(s, server_hostname=sni, session=session)
    except BaseException:
        s.close()
        raise
    try:
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, sni)
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        ss.sendall((req + "\r\n").encode())
        data = b""
        while True:
            chunk = ss.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else None
        hdrs = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        return Exchange(ss.session_reused, ss.session, ss.version(), ss.cipher()[0], status,
                        hdrs, body)
    finally:
        ss.close()


def s_client_session(port, sni, ca, sess_out=None, sess_in=None, args=(), addr="127.0.0.1",
                     timeout=30):
    """The check of docs/fleet.md: ``openssl s_client`` with -sess_out / -sess_in, a HEAD
    request and -ign_eof (a TLS 1.3 ticket arrives after the handshake). Returns ("New" or
    "Reused" or None, the protocol, the whole output)."""
    cmd = [OPENSSL, "s_client", "-connect", "%s:%d" % (addr, port), "-servername", sni,
           "-CAfile", ca, "-verify_return_error", "-ign_eof"] + list(args)
    if sess_out:
        cmd += ["-sess_out", sess_out]
    if sess_in:
        cmd += ["-sess_in", sess_in]
    req = "HEAD / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % sni
    p = subprocess.run(cmd, input=req.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    m = re.search(r"^(New|Reused), (\S+), Cipher is", out, re.M)
    return (m.group(1), m.group(2), out) if m else (None, None, out)


def _der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _der_items(data):
    """(tag byte, content) of each TLV in ``data`` (single-byte tags, definite lengths)."""
    out = []
    i = 0
    while i < len(data):
        tag = data[i]
        n = data[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7f
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        out.append((tag, data[i:i + n]))
        i += n
    return out


def stretch_session_lifetime(pem_path, seconds):
    """Rewrite an OpenSSL session file (``s_client -sess_out``) so that the client believes
    the server announced a ticket lifetime (and session timeout) of ``seconds``: the client
    then offers the ticket however old it is, and only the server can refuse it. (OpenSSL's
    SSL_SESSION_ASN1: [2] timeout, [9] ticket lifetime hint (only with a ticket), both
    INTEGERs.)"""
    import base64 as b64
    with open(pem_path) as f:
        text = f.read()
    m = re.search(r"-----BEGIN SSL SESSION PARAMETERS-----(.*?)-----END SSL SESSION "
                  r"PARAMETERS-----", text, re.S)
    der = b64.b64decode("".join(m.group(1).split()))
    (tag, body), = _der_items(der)
    assert tag == 0x30
    v = seconds.to_bytes((seconds.bit_length() + 8) // 8, "big")
    integer = b"\x02" + _der_len(len(v)) + v
    items = []
    seen = set()
    for t, c in _der_items(body):
        if t in (0xa2, 0xa9):
            c = integer
            seen.add(t)
        items.append((t, c))
    assert 0xa2 in seen, "session without a timeout field"
    body = b"".join(bytes([t]) + _der_len(len(c)) + c for t, c in items)
    der = b"\x30" + _der_len(len(body)) + body
    pem = b64.encodebytes(der).decode()
    with open(pem_path, "w") as f:
        f.write("-----BEGIN SSL SESSION PARAMETERS-----\n%s-----END SSL SESSION "
                "PARAMETERS-----\n" % pem)


# ------------------------------------------------------------- attempts that may be refused
class Attempt:
    """One connection and request that the server may refuse (client certificates): either
    a response (status, headers, body) or an error (handshake or read failure, or the
    connection closed before a response). local_port tells the server's log line apart."""

    def __init__(self, local_port):
        self.local_port = local_port
        self.error = None
        self.status = None
        self.headers = {}
        self.body = b""
        self.reused = None
        self.session = None
        self.version = None

    @property
    def refused(self):
        return self.status is None

    def __repr__(self):
        return "<Attempt port=%s status=%s error=%s reused=%s %s headers=%s body=%r>" % (
            self.local_port, self.status, self.error, self.reused, self.version, self.headers,
            self.body[:200])


def client_hello(sni="a.test"):
    """The bytes of a real ClientHello for ``sni``, made by Python's ssl over memory BIOs (for
    tests that send it by hand, then stall, drip it, or cut it)."""
    obj_in, obj_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context(verify=False).wrap_bio(obj_in, obj_out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = obj_out.read()
    assert hello[0] == 0x16 and len(hello) > 100, hello[:16]
    return hello


def attempt(port, sni, ctx, path="/whoami.txt", host=None, headers=None, session=None,
            addr="127.0.0.1", timeout=30):
    """A new connection (SNI ``sni``, offering ``session``) and one HTTP/1.1 request with
    Connection: close (Host ``host`` or ``sni``), read to the end. Never raises for what the
    server does: a refused handshake (TLS 1.2: during the handshake; TLS 1.3: the alert
    arrives after the client's Finished, on the first read) is an Attempt without status."""
    s = socket.create_connection((addr, port), timeout=timeout)
    a = Attempt(s.getsockname()[1])
    try:
        ss = ctx.wrap_socket(s, server_hostname=sni, session=session)
    except (ssl.SSLError, OSError) as e:
        s.close()
        a.error = "handshake: %s" % e
        return a
    data = b""
    try:
        a.version = ss.version()
        req = "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, host or sni)
        for k, v in (headers or {}).items():
            req += "%s: %s\r\n" % (k, v)
        ss.sendall((req + "\r\n").encode())
        while True:
            chunk = ss.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ssl.SSLError, OSError) as e:
        a.error = "after handshake: %s" % e
    finally:
        a.reused = ss.session_reused
        try:
            a.session = ss.session
        except (ssl.SSLError, OSError):
            pass
        ss.close()
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if sep and lines[0].startswith("HTTP/"):
        a.status = int(lines[0].split()[1])
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                a.headers[k.strip().lower()] = v.strip()
        a.body = body
    elif a.error is None:
        a.error = "closed without a response (%d bytes)" % len(data)
    return a
