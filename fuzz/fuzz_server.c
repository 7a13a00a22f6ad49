/* fuzz_server.c -- the server side of a connection, as the module drives it, fed with
 * arbitrary bytes from the network: tlsr_acceptor_read_tls/accept until a ClientHello is in,
 * the accessors on it, a config chosen by the client's ALPN (tlsr_acceptor_into_conn), then
 * tlsr_conn_read_tls with the rest, draining tlsr_conn_write_tls and tlsr_conn_read and
 * calling every accessor after each step (fuzz_tls.h lists the configs).
 *
 * Input:
 *   byte 0   bits 0-1: server config; bit 2: reject the ClientHello (unrecognized_name) instead
 *            of continuing; bit 3: echo the plaintext back; bit 4: send close_notify at the
 *            end; bits 5-7: plaintext read size (1, 7, 100, 4096, 16384, ...)
 *   byte 1   how the network bytes are cut into reads: 0 all at once, 1..127 that many bytes,
 *            128..255 (n - 127) * 64 bytes
 *   byte 2,3 length L (big-endian, mod 4096) of a session value: the session store answers a
 *            look-up of an unknown session id or ticket with it (fuzz_store_reset)
 *   L bytes  that session value
 *   rest     what the client sends
 * Checks, besides crashes, panics and leaks: consumed never exceeds what was offered, a
 * connection that failed repeats its error on read_tls and read, and what the contract says
 * of each accessor (fuzz_conn_inspect). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    uint8_t flags = fuzz_byte(&in), cut = fuzz_byte(&in), hi = fuzz_byte(&in), lo = fuzz_byte(&in);
    size_t forced_len = (size_t)(hi << 8 | lo) % 4096, got;
    const uint8_t *forced = fuzz_bytes(&in, forced_len, &got);
    const uint8_t *net = in.data;
    size_t n = in.len, pos = 0, chunk = fuzz_chunk_size(cut, in.len), used = 0;
    tlsr_acceptor *a = NULL;
    tlsr_conn *conn = NULL;
    tlsr_status st = TLSR_WOULD_BLOCK;
    char msg[128];
    size_t msg_len;

    /* the configs are built on first use: before the store is reset for this input */
    (void)fuzz_server_config(0, NULL);
    fuzz_store_reset(got ? forced : NULL, got);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_acceptor_new(&a)) == TLSR_OK);
    while (pos < n) {
        size_t len = n - pos < chunk ? n - pos : chunk;
        st = FUZZ_CHECK(tlsr_acceptor_read_tls(a, net + pos, len, &used));
        if (st != TLSR_OK) {
            break;
        }
        FUZZ_ASSERT(used <= len);
        pos += used;
        st = FUZZ_CHECK(tlsr_acceptor_accept(a));
        if (st != TLSR_WOULD_BLOCK || used == 0) {
            break;
        }
    }
    if (st == TLSR_OK) {
        fuzz_acceptor_inspect(a);
        if (flags & 0x04) {
            FUZZ_ASSERT(FUZZ_CHECK(tlsr_acceptor_reject(a, TLSR_ALERT_UNRECOGNIZED_NAME))
                        == TLSR_OK);
            FUZZ_ASSERT(fuzz_acceptor_flush(a) > 0);
        }
        else {
            st = FUZZ_CHECK(tlsr_acceptor_into_conn(a, fuzz_server_config(flags & 3, a), &conn));
            if (st == TLSR_OK) {
                FUZZ_ASSERT(conn != NULL);
                fuzz_conn_drive(conn, net + pos, n - pos, chunk, flags >> 5, flags & 0x08,
                                flags & 0x10);
                tlsr_conn_free(conn);
            }
            else {
                FUZZ_ASSERT(conn == NULL);
                fuzz_acceptor_flush(a);
            }
        }
    }
    else if (st != TLSR_WOULD_BLOCK) {
        /* a failed handshake: every further call repeats the failure */
        FUZZ_ASSERT(FUZZ_CHECK(tlsr_acceptor_accept(a)) == st);
        fuzz_acceptor_flush(a);
    }
    FUZZ_CHECK(tlsr_acceptor_last_error(a, msg, sizeof(msg), &msg_len));
    if (getenv("FUZZ_DEBUG")) {
        fprintf(stderr, "fuzz: acceptor: %s, %zu of %zu bytes; last error: %s\n",
                tlsr_status_str(st), pos, n, msg);
    }
    tlsr_acceptor_free(a);
    fuzz_store_reset(NULL, 0);
    return 0;
}
