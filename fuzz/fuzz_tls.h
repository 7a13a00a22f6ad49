/* fuzz_tls.h -- what the connection targets share: the server and client configs they run
 * (built once, from fuzz/data), a session store whose contents the fuzz input may supply, and
 * helpers to drive and inspect connections through the C ABI.
 *
 * Server configs (fuzz_server_config):
 *   0  ECDSA + RSA keys, TLS 1.2 and 1.3, ticket keys (two), session store, OCSP staple on the
 *      ECDSA key
 *   1  ECDSA key, TLS 1.2 only, four ECDHE suites in the server's order, optional client
 *      certificates (fuzz CA, its CRL, depth 2), session store, no tickets
 *   2  ECDSA + RSA keys, TLS 1.3 only, required client certificates (depth 1), ticket keys
 *   3  RSA key, TLS 1.2 and 1.3, optional client certificates without CRL, no session cache
 * Each also exists with ALPN "h2" and "http/1.1" (tlsr_server_config_with_alpn).
 *
 * Client configs (fuzz_client_config): all trust fuzz/data/ca.pem and resume nothing (so a
 * run does not depend on the ones before it).
 *   0  TLS 1.2 and 1.3, ALPN h2 and http/1.1
 *   1  TLS 1.2 only, a client certificate (fuzz/data/client.pem)
 *   2  TLS 1.3 only, a client certificate, ALPN http/1.1
 *   3  TLS 1.2 and 1.3, the revoked client certificate, two CBC-free TLS 1.2 suites and all
 *      TLS 1.3 ones */
#ifndef FUZZ_TLS_H
#define FUZZ_TLS_H

#include "fuzz_common.h"

#define FUZZ_SERVER_CONFIGS 4
#define FUZZ_CLIENT_CONFIGS 4

/* Server config `which` (mod FUZZ_SERVER_CONFIGS), its variant for the first ALPN protocol of
 * the client's list that it knows (h2, http/1.1), or the base config. */
const tlsr_server_config *fuzz_server_config(unsigned which, const tlsr_acceptor *hello);

const tlsr_client_config *fuzz_client_config(unsigned which);

/* The session store of the server configs holds what the connections of one input put there
 * (fuzz_store_reset empties it). When `forced` is given, a look-up of a key it does not hold
 * finds the session context the store has seen in front of values ("learned" at start) and
 * then the forced bytes: the input decides what the crate and rustls get back for a session
 * id or stateful ticket the client names. */
void fuzz_store_reset(const uint8_t *forced, size_t forced_len);

/* Calls every state and info accessor of a connection and checks what the contract
 * promises (views readable, statuses from the documented set); certificates the peer sent
 * go through tlsr_x509_parse. */
void fuzz_conn_inspect(const tlsr_conn *conn);

/* The same for an acceptor that has accepted a ClientHello. */
void fuzz_acceptor_inspect(const tlsr_acceptor *acceptor);

/* Takes every TLS byte a connection has to send; appends to *out (grown with realloc) when
 * out is not NULL, else discards. Returns the number of bytes. */
size_t fuzz_conn_flush(tlsr_conn *conn, uint8_t **out, size_t *out_len);

/* The same for an acceptor (its alert). */
size_t fuzz_acceptor_flush(tlsr_acceptor *acceptor);

/* Reads plaintext until there is none (at most `limit` bytes in pieces of at most `cap`);
 * appends it to *out (if not NULL). Returns the last status: TLSR_WOULD_BLOCK, TLSR_EOF or
 * the connection's error (TLSR_OK when the limit was reached first). */
tlsr_status fuzz_conn_read_all(tlsr_conn *conn, size_t cap, size_t limit, uint8_t **out,
                               size_t *out_len);

/* How a byte of the input cuts the network bytes into reads: 0 all at once (`all`), 1..127
 * that many bytes, 128..255 (b - 127) * 64 bytes. */
size_t fuzz_chunk_size(uint8_t b, size_t all);

/* Feeds the n bytes from the peer to a connection, `chunk` bytes per tlsr_conn_read_tls,
 * reading the plaintext after each (in reads of one of 8 sizes, read_cap), writing it back
 * when `echo` once the handshake is done, flushing what the connection sends and inspecting
 * it after each step; at the end a close_notify when `close`. Checks that consumed never
 * exceeds what was offered and that a dead connection repeats its error on read_tls and
 * read. Stops when the connection takes nothing twice. With FUZZ_DEBUG set in the
 * environment, it prints how far the connection got and its last error (to see what a seed
 * reaches). */
void fuzz_conn_drive(tlsr_conn *conn, const uint8_t *net, size_t n, size_t chunk,
                     unsigned read_cap, int echo, int close);

/* Records, when the environment variable FUZZ_RECORD names a path prefix, what a server sends
 * to a client (what 0: PREFIX.s2c), a client to a server (1: PREFIX.c2s) in fuzz_handshake
 * runs, and the last session value a server stored (2: PREFIX.session, without the context):
 * fuzz/seeds.py turns them into seeds for fuzz_server and fuzz_client. */
void fuzz_record(int what, const uint8_t *data, size_t len);

#endif /* FUZZ_TLS_H */
