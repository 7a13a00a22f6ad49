#!/usr/bin/python3
"""Relays one TCP connection and records both directions (for fuzz/seeds.py).

    record.py LISTEN_PORT TARGET_PORT OUT_PREFIX

Accepts one connection on 127.0.0.1:LISTEN_PORT, connects to 127.0.0.1:TARGET_PORT, passes
bytes both ways until either side closes, and writes what the client sent to OUT_PREFIX.c2s
and what the server sent to OUT_PREFIX.s2c. Prints "ready" once it listens.
"""
import select
import socket
import sys


def main():
    listen_port, target_port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(1)
    print("ready", flush=True)
    server.settimeout(20)
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
    recorded = {client: bytearray(), upstream: bytearray()}
    peer = {client: upstream, upstream: client}
    open_ = [client, upstream]
    while open_:
        ready, _, _ = select.select(open_, [], [], 5)
        if not ready:
            break
        for sock in ready:
            try:
                data = sock.recv(65536)
            except ConnectionError:
                data = b""
            if not data:
                open_ = []
                break
            recorded[sock] += data
            peer[sock].sendall(data)
    for sock in (client, upstream):
        sock.close()
    with open(prefix + ".c2s", "wb") as f:
        f.write(recorded[client])
    with open(prefix + ".s2c", "wb") as f:
        f.write(recorded[upstream])


if __name__ == "__main__":
    main()
