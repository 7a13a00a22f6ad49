/* fuzz_handshake.c -- a real client and a real server of the crate talking in memory (the
 * server through the acceptor, as the module runs it), driven by a sequence of operations
 * from the input: writes and reads of plaintext in pieces of any size, delivery of the TLS
 * bytes in pieces, close_notify on either side, and tampering with the bytes on the wire
 * (flipping, dropping, injecting). It reaches the states past the handshake (application
 * data, tickets, key updates the peer sends, closing) that random bytes alone never reach.
 *
 * Input:
 *   byte 0   bits 0-1: server config, bits 2-3: client config (fuzz_tls.h), bits 4-5: the
 *            name the client connects to (fuzz.test, fuzz.invalid: not the certificate's,
 *            127.0.0.1, x.fuzz.test)
 *   then     operations, one byte each (mod 12) with their argument bytes:
 *            0 n data: the client writes n bytes     1 n data: the server writes n bytes
 *            2 k: deliver up to (k+1)*32 bytes to the server   3 k: ... to the client
 *            4 k: the server reads (pieces of k+1)   5 k: the client reads
 *            6: the client sends close_notify        7: the server sends close_notify
 *            8 d p x: flip bits x|1 of byte p of the bytes in flight (d&1: to the client)
 *            9 d k: drop k bytes in flight           10 d n data: inject n bytes
 *            11: deliver everything both ways until nothing moves
 * Checks besides crashes: what each side reads is always a prefix of what the other wrote
 * (also after tampering: records are authenticated); without tampering, a peer's EOF comes
 * only after its close_notify (and then with every byte written before it read, unless it
 * closed during the handshake or wrote after closing), and when nobody closed, every byte
 * written has been read at the end; config 0 with client 0 always completes the handshake.
 * With FUZZ_RECORD set, what each side sends is recorded (fuzz/seeds.py). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_tls.h"

typedef struct {
    uint8_t *data;
    size_t len;
} buf;

typedef struct {
    tlsr_conn *client, *server;
    tlsr_acceptor *acceptor;
    unsigned server_config;
    buf to_server, to_client;        /* TLS bytes in flight */
    buf client_sent, server_got;     /* plaintext client -> server */
    buf server_sent, client_got;     /* plaintext server -> client */
    int tampered, client_closed, server_closed, server_failed, client_failed;
    int inexact;                     /* a close during the handshake, a write after a close:
                                      * what arrives may then be less than what was written */
} pair;

static void buf_add(buf *b, const uint8_t *data, size_t n)
{
    uint8_t *grown;

    if (!n) return;
    if (!(grown = realloc(b->data, b->len + n + 1))) abort();
    memcpy(grown + b->len, data, n);
    b->data = grown;
    b->len += n;
}

static void buf_drop(buf *b, size_t n)
{
    if (n > b->len) n = b->len;
    if (!n) return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

/* Moves what a side has to send into flight (and to the recording). */
static void flush(pair *p, int server)
{
    tlsr_conn *conn = server ? p->server : p->client;
    buf *out = server ? &p->to_client : &p->to_server;
    size_t before = out->len;

    if (!conn) {
        if (server && p->acceptor) {
            uint8_t alert[64];
            size_t n;
            while (FUZZ_CHECK(tlsr_acceptor_write_tls(p->acceptor, alert, sizeof(alert), &n))
                   == TLSR_OK && n) {
                buf_add(out, alert, n);
            }
        }
    }
    else {
        fuzz_conn_flush(conn, &out->data, &out->len);
    }
    if (out->len > before) {
        fuzz_record(!server, out->data + before, out->len - before);
    }
}

static void check_prefix(const buf *got, const buf *sent)
{
    FUZZ_ASSERT(got->len <= sent->len);
    FUZZ_ASSERT(!got->len || !memcmp(got->data, sent->data, got->len));
}

static void read_side(pair *p, int server, size_t cap)
{
    tlsr_conn *conn = server ? p->server : p->client;
    buf *got = server ? &p->server_got : &p->client_got;
    tlsr_status st;

    if (!conn) return;
    st = fuzz_conn_read_all(conn, cap, 1 << 20, &got->data, &got->len);
    check_prefix(got, server ? &p->client_sent : &p->server_sent);
    if (st == TLSR_EOF && !p->tampered) {
        /* only after the other side's close_notify, and with everything before it read */
        FUZZ_ASSERT(server ? p->client_closed : p->server_closed);
        if (!p->inexact) {
            FUZZ_ASSERT(got->len == (server ? p->client_sent.len : p->server_sent.len));
        }
    }
}

/* The server side of delivery: the acceptor until it yields a connection. */
static size_t deliver_to_server(pair *p, const uint8_t *data, size_t n)
{
    size_t used = 0;
    tlsr_status st;

    if (p->server) {
        st = FUZZ_CHECK(tlsr_conn_read_tls(p->server, data, n, &used));
        if (st != TLSR_OK) {
            p->server_failed = 1;
            return 0;
        }
        return used;
    }
    if (!p->acceptor || p->server_failed) return 0;
    st = FUZZ_CHECK(tlsr_acceptor_read_tls(p->acceptor, data, n, &used));
    if (st == TLSR_OK) st = FUZZ_CHECK(tlsr_acceptor_accept(p->acceptor));
    if (st == TLSR_OK) {
        fuzz_acceptor_inspect(p->acceptor);
        st = FUZZ_CHECK(tlsr_acceptor_into_conn(
            p->acceptor, fuzz_server_config(p->server_config, p->acceptor), &p->server));
    }
    if (st != TLSR_OK && st != TLSR_WOULD_BLOCK) {
        p->server_failed = 1;
    }
    return st == TLSR_OK || st == TLSR_WOULD_BLOCK ? used : 0;
}

/* Delivers up to max bytes in flight to one side; returns how many it took. */
static size_t deliver(pair *p, int to_server, size_t max)
{
    buf *in = to_server ? &p->to_server : &p->to_client;
    size_t n = in->len < max ? in->len : max, used = 0;

    if (!n) return 0;
    if (to_server) {
        used = deliver_to_server(p, in->data, n);
    }
    else if (!p->client_failed) {
        if (FUZZ_CHECK(tlsr_conn_read_tls(p->client, in->data, n, &used)) != TLSR_OK) {
            p->client_failed = 1;
            used = 0;
        }
    }
    FUZZ_ASSERT(used <= n);
    buf_drop(in, used);
    flush(p, to_server);
    return used;
}

static void pump(pair *p)
{
    int round;

    for (round = 0; round < 32; ++round) {
        size_t moved = deliver(p, 1, (size_t)-1);
        read_side(p, 1, 0);
        moved += deliver(p, 0, (size_t)-1);
        read_side(p, 0, 0);
        if (!moved) break;
    }
}

static void write_side(pair *p, int server, const uint8_t *data, size_t n)
{
    tlsr_conn *conn = server ? p->server : p->client;
    size_t written = 0;

    if (!conn || !n) return;
    if (server ? p->server_closed : p->client_closed) {
        p->inexact = 1;
    }
    if (FUZZ_CHECK(tlsr_conn_write(conn, data, n, &written)) == TLSR_OK) {
        FUZZ_ASSERT(written == n);
        buf_add(server ? &p->server_sent : &p->client_sent, data, n);
    }
    flush(p, server);
}

static void free_pair(pair *p)
{
    tlsr_conn_free(p->client);
    tlsr_conn_free(p->server);
    tlsr_acceptor_free(p->acceptor);
    free(p->to_server.data);
    free(p->to_client.data);
    free(p->client_sent.data);
    free(p->server_got.data);
    free(p->server_sent.data);
    free(p->client_got.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const HOSTS[4] = { "fuzz.test", "fuzz.invalid", "127.0.0.1",
                                          "x.fuzz.test" };
    fuzz_input in = { data, size };
    uint8_t head = fuzz_byte(&in);
    pair p;
    int ops = 0;

    memset(&p, 0, sizeof(p));
    p.server_config = head & 3;
    (void)fuzz_server_config(0, NULL); /* build the configs before resetting the store */
    fuzz_store_reset(NULL, 0);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_client_conn_new(fuzz_client_config((head >> 2) & 3),
                                                HOSTS[(head >> 4) & 3], &p.client, NULL, 0))
                == TLSR_OK);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_acceptor_new(&p.acceptor)) == TLSR_OK);
    flush(&p, 0);

    while (in.len && ops++ < 64) {
        uint8_t op = fuzz_byte(&in) % 12, arg = fuzz_byte(&in);
        const uint8_t *bytes;
        size_t n;
        buf *b = (arg & 1) ? &p.to_client : &p.to_server;

        switch (op) {
        case 0:
        case 1:
            bytes = fuzz_bytes(&in, arg, &n);
            write_side(&p, op == 1, bytes, n);
            break;
        case 2:
        case 3:
            deliver(&p, op == 2, ((size_t)arg + 1) * 32);
            break;
        case 4:
        case 5:
            read_side(&p, op == 4, (size_t)arg + 1);
            break;
        case 6:
        case 7:
            if (op == 6 || p.server) {
                tlsr_conn *conn = op == 6 ? p.client : p.server;
                if (tlsr_conn_is_handshaking(conn)) {
                    p.inexact = 1;
                }
                FUZZ_CHECK(tlsr_conn_send_close_notify(conn));
                *(op == 6 ? &p.client_closed : &p.server_closed) = 1;
                flush(&p, op == 7);
            }
            break;
        case 8: {
            uint8_t pos = fuzz_byte(&in), x = fuzz_byte(&in);
            if (b->len) {
                b->data[pos % b->len] ^= (uint8_t)(x | 1);
                p.tampered = 1;
            }
            break;
        }
        case 9:
            buf_drop(b, fuzz_byte(&in));
            p.tampered = 1;
            break;
        case 10:
            bytes = fuzz_bytes(&in, fuzz_byte(&in), &n);
            buf_add(b, bytes, n);
            p.tampered = 1;
            break;
        default:
            pump(&p);
            break;
        }
        if (p.client) fuzz_conn_inspect(p.client);
        if (p.server) fuzz_conn_inspect(p.server);
    }

    pump(&p);
    read_side(&p, 1, 0);
    read_side(&p, 0, 0);
    if (!p.tampered && !p.client_closed && !p.server_closed && p.server_config == 0
        && ((head >> 2) & 3) == 0 && ((head >> 4) & 3) != 1) {
        /* the plain pair: nothing may keep it from completing the handshake */
        FUZZ_ASSERT(p.server && !tlsr_conn_is_handshaking(p.server));
        FUZZ_ASSERT(!tlsr_conn_is_handshaking(p.client));
    }
    if (!p.tampered && !p.client_closed && !p.server_closed && !p.client_failed
        && !p.server_failed && p.server && !tlsr_conn_is_handshaking(p.server)
        && !tlsr_conn_is_handshaking(p.client)) {
        /* everything written has arrived */
        FUZZ_ASSERT(p.server_got.len == p.client_sent.len);
        FUZZ_ASSERT(p.client_got.len == p.server_sent.len);
    }
    free_pair(&p);
    fuzz_store_reset(NULL, 0);
    return 0;
}
