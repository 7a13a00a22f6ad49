/* fuzz_client.c -- the client side (connections to backends, client.rs) fed with arbitrary
 * bytes from a hostile backend: tlsr_client_conn_new, the ClientHello taken with
 * tlsr_conn_write_tls, then the backend's bytes through tlsr_conn_read_tls, with plaintext
 * read (and written back), accessors called after each step (fuzz_tls.c: fuzz_conn_drive).
 * TLS 1.2 sends the backend's certificates in the clear, so recorded TLS 1.2 flights reach
 * the backend certificate verification (chain length bound, names, anchors).
 *
 * Input:
 *   byte 0   bits 0-1: client config (fuzz_tls.h); bits 2-3: the backend's name
 *            (fuzz.test, 127.0.0.1, [::1], other.fuzz.test); bit 4: echo plaintext; bit 5:
 *            close_notify at the end; bits 6-7: plaintext read size
 *   byte 1   how the bytes are cut into reads (fuzz_chunk_size)
 *   rest     what the backend sends */
#include "fuzz_tls.h"

static const char *const HOSTS[4] = { "fuzz.test", "127.0.0.1", "[::1]", "other.fuzz.test" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    uint8_t flags = fuzz_byte(&in), cut = fuzz_byte(&in);
    tlsr_conn *conn = NULL;
    char err[256];

    err[0] = 0;
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_client_conn_new(fuzz_client_config(flags & 3),
                                                HOSTS[(flags >> 2) & 3], &conn, err,
                                                sizeof(err))) == TLSR_OK);
    FUZZ_ASSERT(tlsr_conn_is_client(conn) == 1);
    FUZZ_ASSERT(tlsr_conn_wants_write(conn));
    fuzz_conn_drive(conn, in.data, in.len, fuzz_chunk_size(cut, in.len), flags >> 6,
                    flags & 0x10, flags & 0x20);
    tlsr_conn_free(conn);
    return 0;
}
