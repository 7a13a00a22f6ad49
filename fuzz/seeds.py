#!/usr/bin/python3
"""Records real TLS flights and writes them as seeds into fuzz/corpus (fuzz/README.md).

    fuzz/seeds.py            (after make fuzz-build; needs openssl, curl, python3)

Not part of the build: the seeds it wrote are committed. It overwrites the files named
seed-rec-* and seed-hs-* in fuzz/corpus/{server,client,handshake}.

1. Real clients (openssl s_client, curl, Python's ssl) talk to openssl s_server through
   fuzz/record.py: what each client sent becomes a fuzz_server seed, what s_server answered a
   fuzz_client seed (TLS 1.2 answers carry the server's certificate in the clear).
2. fuzz_handshake seeds (operation sequences, see fuzz/fuzz_handshake.c) for each pair of
   configs; running them with FUZZ_RECORD set records what the crate's own client and server
   sent, and the session values stored: more fuzz_server and fuzz_client seeds, and
   fuzz_server seeds that look a session up in the store and get a real value.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

FUZZ = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(FUZZ, "data")
CORPUS = os.path.join(FUZZ, "corpus")
BUILD = os.path.join(os.path.dirname(FUZZ), "build", "fuzz")
REQUEST = b"GET / HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_seed(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def server_seed(name, flags, cut, stream, session=b""):
    """fuzz_server input: flags, cut, session length (2 bytes), session, client bytes."""
    head = bytes([flags, cut, len(session) >> 8, len(session) & 255])
    write_seed("server", "seed-" + name, head + session + stream)


def client_seed(name, flags, cut, stream):
    write_seed("client", "seed-" + name, bytes([flags, cut]) + trim(stream, 3000))


def trim(stream, limit):
    """The whole TLS records at the start of stream that fit in limit bytes (the handshake;
    not s_server's status page)."""
    end = 0
    while end + 5 <= len(stream):
        record = 5 + int.from_bytes(stream[end + 3:end + 5], "big")
        if end + record > limit:
            break
        end += record
    return stream[:end]


def record(tmp, name, server_args, client_cmd, stdin=b""):
    """Runs s_server, the recorder and one client; returns (c2s, s2c)."""
    sport, lport = free_port(), free_port()
    server = subprocess.Popen(
        ["openssl", "s_server", "-accept", str(sport), "-cert", f"{DATA}/server-ec.pem",
         "-key", f"{DATA}/server-ec.key", "-www", "-quiet"] + server_args,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prefix = os.path.join(tmp, name)
    recorder = subprocess.Popen([sys.executable, f"{FUZZ}/record.py", str(lport), str(sport),
                                 prefix], stdout=subprocess.PIPE)
    try:
        recorder.stdout.readline()  # "ready"
        time.sleep(0.3)
        cmd = [a.replace("PORT", str(lport)) for a in client_cmd]
        subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=20, check=False)
        recorder.wait(timeout=30)
    finally:
        server.kill()
        server.wait()
        recorder.kill()
    with open(prefix + ".c2s", "rb") as c2s, open(prefix + ".s2c", "rb") as s2c:
        return c2s.read(), s2c.read()


PY_CLIENT = """
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as s:
    with ctx.wrap_socket(s, server_hostname="fuzz.test") as t:
        t.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        t.recv(100)
"""

CLIENT_CERT = ["-cert", f"{DATA}/client.pem", "-key", f"{DATA}/client.key"]
S_CLIENT = ["openssl", "s_client", "-connect", "127.0.0.1:PORT", "-servername", "fuzz.test",
            "-CAfile", f"{DATA}/ca.pem", "-ign_eof"]
VERIFY = ["-verify", "2", "-CAfile", f"{DATA}/ca.pem"]
CURL = ["curl", "-s", "--cacert", f"{DATA}/ca.pem", "--resolve", "fuzz.test:PORT:127.0.0.1",
        "https://fuzz.test:PORT/"]

# name, s_server arguments, client command, server seed flags/cut, client seed flags (or None)
REAL = [
    ("openssl-tls13", [], S_CLIENT + ["-alpn", "h2,http/1.1"], 0x18, 0, 0x00),
    ("openssl-tls12", [], S_CLIENT + ["-tls1_2"], 0x18, 0, 0x11),
    ("openssl-tls12-clientcert", VERIFY, S_CLIENT + ["-tls1_2"] + CLIENT_CERT, 0x19, 0, 0x01),
    ("openssl-tls12-revoked", VERIFY,
     S_CLIENT + ["-tls1_2", "-cert", f"{DATA}/revoked.pem", "-key", f"{DATA}/revoked.key"],
     0x19, 0, None),
    ("openssl-tls13-clientcert", VERIFY, S_CLIENT + ["-tls1_3"] + CLIENT_CERT, 0x1a, 0, 0x02),
    ("openssl-tls12-noticket", [], S_CLIENT + ["-tls1_2", "-no_ticket", "-cipher",
                                                "ECDHE-ECDSA-CHACHA20-POLY1305"],
     0x1b, 7, None),
    ("openssl-tls11", [], S_CLIENT + ["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"], 0x00, 0,
     None),
    ("curl-h2", [], CURL, 0x18, 0, None),
    ("curl-tls12", [], CURL + ["--tlsv1.2", "--tls-max", "1.2"], 0x10, 130, 0x01),
    ("python", [], [sys.executable, "-c", PY_CLIENT, "PORT", f"{DATA}/ca.pem"], 0x18, 0,
     None),
]


def real_clients(tmp):
    hellos = {}
    for name, sargs, cmd, sflags, cut, cflags in REAL:
        stdin = REQUEST if cmd[0] == "openssl" else b""
        c2s, s2c = record(tmp, name, sargs, cmd, stdin)
        if not c2s:
            print(f"seeds: {name}: nothing recorded", file=sys.stderr)
            continue
        server_seed("rec-" + name, sflags, cut, c2s)
        hellos[name] = c2s
        if cflags is not None and s2c:
            client_seed("rec-" + name, cflags, cut, s2c)
        print(f"seeds: {name}: {len(c2s)} bytes from the client, {len(s2c)} from the server")
    return hellos


def op_pump():
    return bytes([11, 0])


def op_write(side, data):
    return bytes([side, len(data)]) + data


def op_close(side):
    return bytes([6 + side, 0])


def handshake_seeds(tmp, hellos):
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    talk = (op_write(0, REQUEST) + op_pump() + op_write(1, response) + op_pump()
            + op_close(0) + op_pump() + op_close(1) + op_pump())
    seeds = {}
    for server in range(4):
        for client in range(4):
            seeds[f"s{server}-c{client}"] = bytes([server | client << 2]) + talk
    # pieces: deliveries of 32 bytes, reads of 1 byte, a second request
    seeds["s0-c0-pieces"] = (bytes([0]) + op_write(0, REQUEST) + bytes([2, 0, 3, 0] * 12)
                             + bytes([4, 0]) + op_pump() + bytes([4, 0]) + op_write(1, response)
                             + op_pump() + bytes([5, 3]) + op_write(0, REQUEST) + op_pump())
    # tampering: a flipped byte on the way to the server after the handshake, then data
    seeds["s0-c0-flip"] = (bytes([0]) + op_pump() + op_write(0, REQUEST)
                           + bytes([8, 0, 20, 4]) + op_pump())
    seeds["s1-c1-inject"] = (bytes([1 | 1 << 2]) + op_pump()
                             + bytes([10, 0, 7]) + b"\x15\x03\x03\x00\x02\x01\x00" + op_pump())
    seeds["s2-c2-ip"] = bytes([2 | 2 << 2 | 2 << 4]) + talk
    seeds["s0-c0-wrong-name"] = bytes([1 << 4]) + talk
    for name, data in seeds.items():
        write_seed("handshake", "seed-hs-" + name, data)
    # record what the crate's client and server send in some of them
    binary = os.path.join(BUILD, "fuzz_handshake")
    for name in ["s0-c0", "s1-c1", "s2-c2", "s3-c0", "s3-c3", "s0-c0-pieces"]:
        path = os.path.join(CORPUS, "handshake", "seed-hs-" + name)
        prefix = os.path.join(tmp, "hs-" + name)
        subprocess.run([binary, path], env=dict(os.environ, FUZZ_RECORD=prefix),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        server, client = int(name[1]), int(name[4])
        with open(prefix + ".c2s", "rb") as f:
            c2s = f.read()
        with open(prefix + ".s2c", "rb") as f:
            s2c = f.read()
        server_seed("hs-" + name, server | 0x18, 0, c2s)
        client_seed("hs-" + name, client | 0x30, 0, s2c)
        with open(prefix + ".session", "rb") as f:
            session = f.read()
        if session and server in (0, 1):
            # the session value the server stored, offered back for whatever the client
            # names: a TLS 1.2 hello with a session id, or a TLS 1.3 one with a ticket
            first = session[:4096]
            server_seed("hs-" + name + "-session", server | 0x18, 0, c2s, first)
            # real clients whose hello carries a session id (TLS 1.3 middlebox
            # compatibility), against the TLS 1.2 config: it looks the id up
            for real in ("openssl-tls13", "curl-h2"):
                if real in hellos:
                    server_seed(f"hs-{name}-session-{real}", server | 0x18, 0, hellos[real],
                                first)
        print(f"seeds: handshake {name}: {len(c2s)} + {len(s2c)} bytes, "
              f"session values {len(session)} bytes")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        handshake_seeds(tmp, real_clients(tmp))
    server_seed("plain-http", 0x00, 0, REQUEST)
    server_seed("sslv2-hello", 0x00, 0, bytes.fromhex("802e0103010015000000100100800300800700c0"
                                                        "060040020080040080") + bytes(16))


if __name__ == "__main__":
    main()
