/* tls_conn.h -- one TLS connection: its state machine and what it negotiated.
 *
 *   HELLO ──ClientHello──> HANDSHAKE ──finished──> OPEN ──close_notify/EOC──> CLOSED
 *     │  (acceptor reads it;   (vhost chosen from SNI,   (application data)
 *     │   no vhost known yet)   ALPN via ap_select_protocol,
 *     └──────── any failure: alert sent, CLOSED, c->aborted ────────────────┘
 *
 * The state lives in c->conn_config, allocated from c->pool; the crate objects it holds are
 * freed by cleanups on c->pool (tls_ffi.c). Only one thread drives a connection at a time,
 * though not always the same one (event MPM). */
#ifndef TLS_CONN_H
#define TLS_CONN_H

#include <httpd.h>
#include <util_filter.h>
#include "tls_ffi.h"

typedef enum {
    TLS_CONN_HELLO,      /* reading the ClientHello with the acceptor */
    TLS_CONN_HANDSHAKE,  /* vhost and config chosen, handshake under way */
    TLS_CONN_OPEN,       /* handshake done: application data */
    TLS_CONN_CLOSED      /* close_notify sent, or failed: no more TLS I/O */
} tls_conn_state;

struct tls_proxy_client; /* tls_proxy.h: the client configs for a backend connection */

typedef struct tls_conn {
    conn_rec *c;
    int outgoing;                  /* a connection to a backend (mod_proxy), we are the client */
    const struct tls_proxy_client *proxy; /* outgoing: its configs (NULL: could not be built) */
    const char *backend;           /* outgoing: "host:port" for messages, once started */
    tls_conn_state state;
    int failed;                    /* the handshake or the connection failed */
    server_rec *server;            /* vhost selected by SNI, set when HANDSHAKE starts */
    tlsr_acceptor *acceptor;       /* in HELLO only */
    tlsr_conn *tls;                /* from HANDSHAKE on */
    ap_filter_t *in_filter;        /* our input filter: network bytes come from its next */
    ap_filter_t *out_filter;       /* our output filter: network bytes go to its next */
    apr_bucket_brigade *net_in;    /* TLS bytes read from the network, not yet fed */
    apr_bucket_brigade *net_out;   /* TLS bytes on their way down (reused, emptied each pass) */
    apr_bucket_brigade *plain_in;  /* decrypted plaintext not yet handed up */
    apr_bucket_brigade *tmp;       /* scratch brigade for splits */
    char first[5];                 /* the client's first bytes (to recognize plain HTTP) */
    apr_size_t first_len;
    int plain_http;                /* the client spoke plain HTTP: it is answered 400 */
    unsigned char rec_hdr[5];      /* input framing: header bytes of the next record so far */
    apr_size_t rec_hdr_len;
    apr_size_t rec_left;           /* input framing: body bytes of this record not yet read */
    const char *sni;               /* the server name the client sent, or NULL */
    const char *alpn;              /* the protocol selected by ALPN, or NULL */
    uint16_t version;              /* negotiated protocol version, when OPEN */
    uint16_t suite;                /* negotiated cipher suite, when OPEN */
    int resumed;                   /* the handshake resumed a session, when OPEN */
    const char *session_id;        /* hex of the session's id, when OPEN (NULL if none) */
    int key_index;                 /* which of the vhost's TLSCertificate was used */
    apr_table_t *client_vars;      /* SSL_CLIENT_* of a verified client certificate, or NULL */
    apr_time_t client_not_after;   /* its end of validity (SSL_CLIENT_V_REMAIN) */
    int service_unavailable;       /* every request 503: mod_md's fallback certificate, or an
                                    * ACME tls-alpn-01 challenge connection (tls_md.c) */
} tls_conn;

/* The TLS state of c (of its master for an HTTP/2 stream), or NULL when mod_tls does not
 * handle it. */
tls_conn *tls_conn_get(conn_rec *c);

/* pre_connection: take connections on TLSEngine addresses, install the filters. */
int tls_conn_pre_connection(conn_rec *c, void *csd);

/* process_connection (first): run the handshake before any protocol handler reads, so ALPN
 * can switch the connection to h2. */
int tls_conn_process_connection(conn_rec *c);

/* post_read_request: 421 when the request's Host selects a vhost whose TLS settings differ
 * from those of the vhost the client's SNI selected. */
int tls_conn_post_read_request(request_rec *r);

/* ssl_bind_outgoing (tls_proxy.c): makes c, a backend connection of mod_proxy, ours; the
 * filters follow at pre_connection and the handshake starts with the first I/O. */
tls_conn *tls_conn_create_outgoing(conn_rec *c, const struct tls_proxy_client *proxy);

/* Drives the handshake as far as the network allows: APR_SUCCESS once OPEN, APR_EAGAIN when
 * a non-blocking read found nothing, or an error after which the connection is CLOSED. */
apr_status_t tls_conn_handshake(tls_conn *tc, apr_read_type_e block);

/* Logs a failed connection once, at a level that fits who failed (a bad client is INFO), and
 * marks it failed and aborted. Returns rv. */
apr_status_t tls_conn_fail(tls_conn *tc, apr_status_t rv, const char *during);

#endif /* TLS_CONN_H */
