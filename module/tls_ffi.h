/* tls_ffi.h -- the module's only door to the Rust crate (ffi/include/tlsr.h).
 *
 * Only tls_ffi.c includes tlsr.h. Everything here speaks APR:
 *  - statuses are apr_status_t: APR_SUCCESS, APR_EAGAIN ("would block": more input needed or
 *    no plaintext yet), APR_EOF (peer sent close_notify), or TLS_FFI_ERROR(n) for a crate
 *    error n, described by tls_ffi_strerror();
 *  - every object is created with its free registered as a cleanup on the pool passed in
 *    (configs and keys on pconf, acceptors and connections on c->pool), so no other file ever
 *    frees a crate object;
 *  - error details are copied into the given pool.
 * Crate handles are opaque pointers; the typedefs repeat those of tlsr.h (allowed in C11). */
#ifndef TLS_FFI_H
#define TLS_FFI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_errno.h>
#include <stdint.h>

typedef struct tlsr_certified_key tlsr_certified_key;
typedef struct tlsr_server_config tlsr_server_config;
typedef struct tlsr_acceptor tlsr_acceptor;
typedef struct tlsr_conn tlsr_conn;
typedef struct tlsr_x509 tlsr_x509;
typedef struct tlsr_client_auth tlsr_client_auth;
typedef struct tlsr_client_config tlsr_client_config;

/* Crate status n as an apr_status_t, and the statuses callers test for by name. */
#define TLS_FFI_ERROR(n) (APR_OS_START_USERERR + 7000 + (n))
#define TLS_FFI_IS_ERROR(rv) ((rv) >= TLS_FFI_ERROR(0) && (rv) < TLS_FFI_ERROR(1000))
#define TLS_FFI_NOT_TLS TLS_FFI_ERROR(300)
#define TLS_FFI_CORRUPT_MESSAGE TLS_FFI_ERROR(301)
#define TLS_FFI_NO_SHARED_VERSION TLS_FFI_ERROR(302)
#define TLS_FFI_NO_SHARED_CIPHER TLS_FFI_ERROR(303)
#define TLS_FFI_PEER_MISBEHAVED TLS_FFI_ERROR(306)
#define TLS_FFI_ALERT_RECEIVED TLS_FFI_ERROR(307)
#define TLS_FFI_DECRYPT_ERROR TLS_FFI_ERROR(308)
#define TLS_FFI_BUFFER_LIMIT TLS_FFI_ERROR(309)
#define TLS_FFI_PEER_CERT_MISSING TLS_FFI_ERROR(310)
#define TLS_FFI_PEER_CERT_REFUSED TLS_FFI_ERROR(311)

/* A short English description of rv, for crate errors as for APR ones. */
const char *tls_ffi_strerror(apr_pool_t *p, apr_status_t rv);

const char *tls_ffi_crate_version(void);
const char *tls_ffi_rustls_version(void);

/* --- cipher suites ------------------------------------------------------------------------ */

/* The protocol version of a suite rustls implements, or 0. */
uint16_t tls_ffi_suite_version(uint16_t suite);
/* The suites rustls implements (uint16_t ids), in its default preference order. */
apr_array_header_t *tls_ffi_supported_suites(apr_pool_t *p);

/* --- certified keys (pconf) --------------------------------------------------------------- */

/* Parses PEM cert chain + key (key_pem NULL: the key is in cert_pem). On failure *err
 * explains, and the status says what kind of failure (TLS_FFI_ERROR(201) no certificate...). */
apr_status_t tls_ffi_certified_key_load(apr_pool_t *p, const char *cert_pem, apr_size_t cert_len,
                                        const char *key_pem, apr_size_t key_len,
                                        const tlsr_certified_key **key, const char **err);
/* The leaf certificate's validity period. */
apr_status_t tls_ffi_certified_key_validity(const tlsr_certified_key *key,
                                            apr_time_t *not_before, apr_time_t *not_after);
/* The number of certificates in the key's chain, and the DER of one (0: the leaf), borrowed
 * from the key (valid as long as it is). */
apr_size_t tls_ffi_certified_key_chain_len(const tlsr_certified_key *key);
apr_status_t tls_ffi_certified_key_der(const tlsr_certified_key *key, apr_size_t index,
                                       const unsigned char **der, apr_size_t *len);
/* Sets the OCSP response the key staples from now on (len 0: none); any thread. */
apr_status_t tls_ffi_certified_key_set_ocsp(const tlsr_certified_key *key,
                                            const unsigned char *der, apr_size_t len);

/* --- server configs (pconf) --------------------------------------------------------------- */

/* Session store callbacks, called by the crate from the thread driving a connection (same
 * signatures as tlsr.h's). put: store value under key, 1 if stored. get: copy the value into
 * buf (cap bytes), set *out_len, and delete it if `remove`; 1 if found. */
typedef int tls_ffi_session_put(void *userdata, const uint8_t *key, size_t key_len,
                                const uint8_t *value, size_t value_len);
typedef int tls_ffi_session_get(void *userdata, const uint8_t *key, size_t key_len, int remove,
                                uint8_t *buf, size_t cap, size_t *out_len);

#define TLS_FFI_TICKET_KEY_LEN 48  /* 16-byte key name + 32-byte AES-256-GCM secret */

typedef struct {
    const uint16_t *versions; int n_versions;          /* protocol versions to enable */
    const uint16_t *suites; int n_suites;              /* suites, in preference order */
    int ignore_client_order;                           /* server's order decides */
    const tlsr_certified_key *const *keys; int n_keys; /* in order of preference */
    const unsigned char *ticket_keys; int n_ticket_keys; /* first encrypts; 0: no tickets */
    unsigned ticket_lifetime;                          /* seconds */
    void *session_store;                               /* userdata of the callbacks, or NULL: */
    tls_ffi_session_put *session_put;
    tls_ffi_session_get *session_get;
    size_t session_cache_size;                         /* per-process cache entries, 0: none */
    const tlsr_client_auth *client_auth;               /* client certificates, or NULL */
} tls_ffi_server_params;

apr_status_t tls_ffi_server_config_build(apr_pool_t *p, const tls_ffi_server_params *params,
                                         const tlsr_server_config **config, const char **err);
/* A variant of base offering exactly one ALPN protocol (proto NULL: none). */
apr_status_t tls_ffi_server_config_with_alpn(apr_pool_t *p, const tlsr_server_config *base,
                                             const char *proto,
                                             const tlsr_server_config **config);

/* --- client authentication policies (pconf) ----------------------------------------------- */

#define TLS_FFI_CLIENT_OPTIONAL 1
#define TLS_FFI_CLIENT_REQUIRED 2

/* A policy from PEM trust anchors, a mode and mod_ssl's verify depth. */
apr_status_t tls_ffi_client_auth_create(apr_pool_t *p, const char *ca_pem, apr_size_t ca_len,
                                        int mode, unsigned depth, tlsr_client_auth **auth,
                                        const char **err);
/* Adds the CRLs of one file's contents (PEM, or one DER CRL); *added: how many. */
apr_status_t tls_ffi_client_auth_add_crls(apr_pool_t *p, tlsr_client_auth *auth,
                                          const char *data, apr_size_t len, apr_size_t *added,
                                          const char **err);
/* The index-th CRL added: issuer (copied into p), thisUpdate, nextUpdate (0: none), the
 * number of revoked serials. An error past the last. */
apr_status_t tls_ffi_client_auth_crl(apr_pool_t *p, const tlsr_client_auth *auth, size_t index,
                                     const char **issuer, apr_time_t *this_update,
                                     apr_time_t *next_update, apr_size_t *revoked);

/* --- acceptor (c->pool): reads the ClientHello ---------------------------------------------- */

apr_status_t tls_ffi_acceptor_create(apr_pool_t *p, tlsr_acceptor **acceptor);
/* Feeds TLS bytes; *consumed may be less than len. */
apr_status_t tls_ffi_acceptor_feed(tlsr_acceptor *a, const char *buf, apr_size_t len,
                                   apr_size_t *consumed);
/* APR_SUCCESS when the ClientHello is complete, APR_EAGAIN when more bytes are needed. */
apr_status_t tls_ffi_acceptor_accept(tlsr_acceptor *a);
/* The client's server name (NULL if none) and ALPN protocols (array of const char *, NULL if
 * the client sent no ALPN), copied into p. */
const char *tls_ffi_acceptor_sni(tlsr_acceptor *a, apr_pool_t *p);
apr_array_header_t *tls_ffi_acceptor_alpn(tlsr_acceptor *a, apr_pool_t *p);
/* Continues into a connection (its free registered on p). */
apr_status_t tls_ffi_acceptor_into_conn(tlsr_acceptor *a, const tlsr_server_config *config,
                                        apr_pool_t *p, tlsr_conn **conn);
/* Frees a spent acceptor now rather than with p. */
void tls_ffi_acceptor_destroy(apr_pool_t *p, tlsr_acceptor *a);
/* Refuses with a fatal alert (e.g. TLS_FFI_ALERT_UNRECOGNIZED_NAME). */
#define TLS_FFI_ALERT_HANDSHAKE_FAILURE 40
#define TLS_FFI_ALERT_UNRECOGNIZED_NAME 112
apr_status_t tls_ffi_acceptor_reject(tlsr_acceptor *a, int alert);
/* Queued TLS bytes (alerts) to send: copies up to cap into buf. */
apr_status_t tls_ffi_acceptor_take_tls(tlsr_acceptor *a, char *buf, apr_size_t cap,
                                       apr_size_t *produced);
const char *tls_ffi_acceptor_error(tlsr_acceptor *a, apr_pool_t *p);

/* --- connection (c->pool) ------------------------------------------------------------------- */

apr_status_t tls_ffi_conn_feed(tlsr_conn *conn, const char *buf, apr_size_t len,
                               apr_size_t *consumed);
apr_status_t tls_ffi_conn_take_tls(tlsr_conn *conn, char *buf, apr_size_t cap,
                                   apr_size_t *produced);
/* Plaintext out: APR_SUCCESS (*n > 0), APR_EAGAIN (none yet), APR_EOF (close_notify seen). */
apr_status_t tls_ffi_conn_read(tlsr_conn *conn, char *buf, apr_size_t cap, apr_size_t *n);
apr_status_t tls_ffi_conn_write(tlsr_conn *conn, const char *buf, apr_size_t len);
apr_status_t tls_ffi_conn_close_notify(tlsr_conn *conn);
int tls_ffi_conn_is_handshaking(const tlsr_conn *conn);
int tls_ffi_conn_wants_write(const tlsr_conn *conn);
apr_size_t tls_ffi_conn_plaintext_pending(const tlsr_conn *conn);
uint16_t tls_ffi_conn_version(const tlsr_conn *conn);
uint16_t tls_ffi_conn_suite(const tlsr_conn *conn);
/* The negotiated ALPN protocol copied into p, or NULL. */
const char *tls_ffi_conn_alpn(const tlsr_conn *conn, apr_pool_t *p);
const char *tls_ffi_conn_error(tlsr_conn *conn, apr_pool_t *p);
/* After the handshake: resumed or full; the session id as lower-case hex (NULL if none);
 * which of the config's keys the handshake used. */
int tls_ffi_conn_is_resumed(const tlsr_conn *conn);
const char *tls_ffi_conn_session_id(const tlsr_conn *conn, apr_pool_t *p);
int tls_ffi_conn_key_index(const tlsr_conn *conn);
/* After the handshake: how many certificates the client sent (0: none; its own first). */
int tls_ffi_conn_peer_cert_count(const tlsr_conn *conn);

/* --- X.509 fields (tlsr.h documents the text forms) --------------------------------------- */

#define TLS_FFI_X509_SUBJECT 0
#define TLS_FFI_X509_ISSUER 1
#define TLS_FFI_X509_SERIAL 2
#define TLS_FFI_X509_VERSION 3
#define TLS_FFI_X509_NOT_BEFORE 4
#define TLS_FFI_X509_NOT_AFTER 5
#define TLS_FFI_X509_KEY_ALG 6
#define TLS_FFI_X509_SIG_ALG 7
#define TLS_FFI_X509_PEM 8
#define TLS_FFI_SAN_EMAIL 1
#define TLS_FFI_SAN_DNS 2

/* The index-th certificate of a key's chain (0: the leaf), parsed; freed with p. */
apr_status_t tls_ffi_x509_of_key(apr_pool_t *p, const tlsr_certified_key *key, size_t index,
                                 tlsr_x509 **cert);
/* The index-th certificate the client sent (0: its own), parsed; freed with p. */
apr_status_t tls_ffi_x509_of_peer(apr_pool_t *p, const tlsr_conn *conn, size_t index,
                                  tlsr_x509 **cert);
/* A certificate's validity period. */
apr_status_t tls_ffi_x509_validity(const tlsr_x509 *cert, apr_time_t *not_before,
                                   apr_time_t *not_after);
/* Texts copied into p; NULL when absent. */
const char *tls_ffi_x509_text(const tlsr_x509 *cert, int field, apr_pool_t *p);
const char *tls_ffi_x509_dn_attr(const tlsr_x509 *cert, int issuer, const char *attr,
                                 size_t index, apr_pool_t *p);
const char *tls_ffi_x509_san(const tlsr_x509 *cert, int type, size_t index, apr_pool_t *p);

/* --- client configs and connections to backends (proxy) ----------------------------------- */

typedef struct {
    const uint16_t *versions; int n_versions;          /* protocol versions to enable */
    const uint16_t *suites; int n_suites;              /* suites, in preference order */
    const char *ca_pem; apr_size_t ca_len;             /* trust anchors (PEM), NULL: none */
    const tlsr_certified_key *const *keys; int n_keys; /* machine certificates */
    size_t session_cache_size;                         /* client session store, 0: none */
} tls_ffi_client_params;

/* Builds a client config (freed with p); *n_anchors: trust anchors taken from ca_pem. */
apr_status_t tls_ffi_client_config_build(apr_pool_t *p, const tls_ffi_client_params *params,
                                         const tlsr_client_config **config, size_t *n_anchors,
                                         const char **err);
/* A variant of base offering the n ALPN protocols (sharing its session store). */
apr_status_t tls_ffi_client_config_with_alpn(apr_pool_t *p, const tlsr_client_config *base,
                                             const char *const *protos, int n,
                                             const tlsr_client_config **config);
/* A connection to backend `host` (DNS name or IP address), freed with p. */
apr_status_t tls_ffi_client_conn_create(apr_pool_t *p, const tlsr_client_config *config,
                                        const char *host, tlsr_conn **conn, const char **err);

#endif /* TLS_FFI_H */
