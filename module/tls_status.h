/* tls_status.h -- what mod_tls shows in mod_status's /server-status: handshake counters
 * summed over all child processes, failed handshakes by reason, session cache and ticket
 * keys, and each certificate's expiry.
 *
 * Counters live in shared memory from httpd's mod_slotmem_shm: one slot per child process
 * (the process's scoreboard slot), written only by that process (atomic adds: its threads
 * share it), summed by the status page. Without mod_slotmem_shm each process counts on its
 * own and the page says that it shows one process. See docs/design.md, "server-status". */
#ifndef TLS_STATUS_H
#define TLS_STATUS_H

#include <httpd.h>
#include <stdint.h>

/* Why a handshake failed, as counted (and named in the status page). */
typedef enum {
    TLS_FAIL_NO_PROTOCOL,   /* no protocol version in common (e.g. a TLS 1.0 client) */
    TLS_FAIL_NO_CIPHER,     /* no cipher suite in common */
    TLS_FAIL_UNKNOWN_SNI,   /* a server name no vhost has, TLSStrictSNI on */
    TLS_FAIL_BAD_CERT,      /* client certificate required but missing, or refused */
    TLS_FAIL_TIMEOUT,       /* the client was too slow (Timeout, RequestReadTimeout) */
    TLS_FAIL_CLIENT_ALERT,  /* the client gave up with a fatal alert */
    TLS_FAIL_PLAIN_HTTP,    /* plain HTTP to the TLS port (answered 400) */
    TLS_FAIL_MALFORMED,     /* not TLS, malformed or unexpected messages, bad records */
    TLS_FAIL_CLOSED,        /* the client closed or reset the connection mid-handshake */
    TLS_FAIL_OTHER,         /* anything else: other incompatibilities, server-side errors */
    TLS_FAIL_N
} tls_fail_reason;

/* Session cache events (TLSSessionCache, counted by tls_cache.c). */
typedef enum {
    TLS_STATUS_CACHE_HIT,
    TLS_STATUS_CACHE_MISS,
    TLS_STATUS_CACHE_STORE
} tls_status_cache_event;

/* register_hooks: mod_status's optional status_hook. */
void tls_status_register_hooks(apr_pool_t *p);

/* post_config (the real pass, every (graceful) restart): the counters' shared memory. Logs
 * TLS0116 (warn) when mod_status is loaded but the counters cannot be shared. */
int tls_status_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* pre_connection of a client connection we handle: the first one tells this process which
 * slot is its own. */
void tls_status_conn_start(conn_rec *c);

/* The classification of a failed handshake's status (a crate error, a timeout, EOF...). */
tls_fail_reason tls_status_reason(apr_status_t rv);

/* Counting; cheap (one atomic add each), from any thread of a child process. */
void tls_status_handshake(uint16_t version, uint16_t suite, int resumed);
void tls_status_failure(tls_fail_reason why);
void tls_status_cache(tls_status_cache_event what);

#endif /* TLS_STATUS_H */
