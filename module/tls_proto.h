/* tls_proto.h -- protocol versions and cipher suites: names <-> IANA ids.
 *
 * Pure lookup code: no httpd state, no rustls. Used by the directive handlers (parse) and
 * by logging/variables (names). */
#ifndef TLS_PROTO_H
#define TLS_PROTO_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <stdint.h>

#define TLS_VERSION_12 0x0303
#define TLS_VERSION_13 0x0304

#define TLS_VERSION_10 0x0301
#define TLS_VERSION_11 0x0302

/* Parses a TLSProtocol value ("default", "TLSv1.2+", "v1.3+", "TLSv1.0+", ...) into the lowest
 * version to accept, as written (TLS 1.0 and 1.1 included: rustls starts at 1.2, which the
 * server setup applies and reports). Returns NULL, or an error text allocated from p. */
const char *tls_proto_parse_min_version(apr_pool_t *p, const char *arg, uint16_t *min_version);

/* "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3" -- mod_ssl's names in SSL_PROTOCOL; else "UNKNOWN". */
const char *tls_proto_version_name(uint16_t version);

/* One cipher suite name in any accepted form: IANA name, OpenSSL name, TLS13_ name or
 * TLS_CIPHER_0xNNNN. Returns 1 and sets *id if the name is known, 0 if not. */
int tls_proto_suite_id(const char *name, uint16_t *id);

/* Parses a cipher list ("A:B,C D"): appends the ids (uint16_t) to `ids`. Returns NULL or an
 * error text allocated from p naming the first unknown name. */
const char *tls_proto_parse_suites(apr_pool_t *p, const char *list, apr_array_header_t *ids);

/* The bits of a suite's symmetric key (128 for AES-128, 256 for AES-256 and ChaCha20), 0 if
 * not known. */
int tls_proto_suite_key_bits(uint16_t id);

/* The IANA name of a suite ("TLS_AES_128_GCM_SHA256"), or "TLS_CIPHER_0xNNNN" from p. */
const char *tls_proto_suite_name(apr_pool_t *p, uint16_t id);

#endif /* TLS_PROTO_H */
