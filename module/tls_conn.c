/* tls_conn.c -- one TLS connection: ClientHello -> SNI -> vhost -> ALPN -> handshake. */
#include <apr_lib.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>
#include <http_vhost.h>

#include "tls_conn.h"
#include "tls_config.h"
#include "tls_filter.h"
#include "tls_md.h"
#include "tls_server.h"
#include "tls_proto.h"
#include "tls_proxy.h"
#include "tls_status.h"
#include "tls_vars.h"

APLOG_USE_MODULE(tls);

tls_conn *tls_conn_get(conn_rec *c)
{
    if (c->master) {
        c = c->master;
    }
    return ap_get_module_config(c->conn_config, &tls_module);
}

/* --- failures ------------------------------------------------------------------------------ */

/* A failure's cause in words, and whether the client caused it (logged at INFO) or we did:
 * TLS errors from the peer and anything the network reports are the client's side; misuse of
 * the crate and our own setup failures (APR_EGENERAL) are ours. */
static const char *failure_reason(tls_conn *tc, apr_status_t rv, int *by_client)
{
    apr_pool_t *p = tc->c->pool;
    const char *detail = NULL;
    const char *peer = tc->outgoing ? "backend" : "client";

    *by_client = 1;
    if (TLS_FFI_IS_ERROR(rv)) {
        *by_client = (rv - TLS_FFI_ERROR(0)) >= 300;
        if (tc->tls) {
            detail = tls_ffi_conn_error(tc->tls, p);
        }
        else if (tc->acceptor) {
            detail = tls_ffi_acceptor_error(tc->acceptor, p);
        }
        return (detail && *detail) ? detail : tls_ffi_strerror(p, rv);
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        return apr_pstrcat(p, "timed out waiting for the ", peer, NULL);
    }
    if (rv == APR_EOF) {
        return apr_pstrcat(p, "the ", peer, " closed the connection", NULL);
    }
    if (rv == APR_EGENERAL) {
        *by_client = 0;
        return "internal error";
    }
    return apr_psprintf(p, "connection lost (%s)", tls_ffi_strerror(p, rv));
}

/* Whether the client spoke plain HTTP to the TLS port: it began with a method's capital
 * letters, where TLS begins with a record type (0x16) or an SSLv2 header (0x80). */
static int spoke_plain_http(const tls_conn *tc)
{
    apr_size_t i;

    if (tc->outgoing || tc->state != TLS_CONN_HELLO || tc->first_len < 3) {
        return 0;
    }
    for (i = 0; i < 3; i++) {
        if (!apr_isupper(tc->first[i])) {
            return 0;
        }
    }
    return 1;
}

/* Answers a plain-HTTP client as mod_ssl does, with a 400 page in plain text that says why:
 * mod_tls leaves the connection (its output filter goes, no TLS variables), hands httpd a
 * stand-in request line, and tls_conn_post_read_request turns that request into the 400. The
 * client's own request is never parsed, and the connection closes after the answer. */
static apr_status_t answer_plain_http(tls_conn *tc)
{
    conn_rec *c = tc->c;
    static const char request[] = "GET / HTTP/1.0\r\n\r\n";

    tls_status_failure(TLS_FAIL_PLAIN_HTTP);
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                  "TLS0212: %s:%u spoke plain HTTP to a TLS port: answered 400 in plain text",
                  c->client_ip, c->client_addr ? (unsigned)c->client_addr->port : 0u);
    tc->plain_http = 1;
    tc->failed = 1;
    tc->state = TLS_CONN_CLOSED;
    c->keepalive = AP_CONN_CLOSE;
    ap_remove_output_filter(tc->out_filter);
    apr_brigade_cleanup(tc->net_in);
    APR_BRIGADE_INSERT_TAIL(tc->plain_in, apr_bucket_immortal_create(request, sizeof(request) - 1,
                                                                     c->bucket_alloc));
    return APR_SUCCESS;
}

apr_status_t tls_conn_fail(tls_conn *tc, apr_status_t rv, const char *during)
{
    conn_rec *c = tc->c;
    int by_client, level;
    const char *reason;

    if (tc->failed) {
        return rv;
    }
    if (spoke_plain_http(tc)) {
        return answer_plain_http(tc);
    }
    reason = failure_reason(tc, rv, &by_client);
    if (tc->outgoing) {
        /* mod_proxy answers 502 (c->aborted); this line says why */
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c, "TLS0501: %s backend %s failed: %s",
                      !strcmp(during, "reading") ? "reading from"
                      : !strcmp(during, "writing") ? "writing to" : during,
                      tc->backend ? tc->backend : c->client_ip, reason);
        if (!c->aborted) {
            tls_filter_net_flush(tc);
        }
        tc->failed = 1;
        tc->state = TLS_CONN_CLOSED;
        c->aborted = 1;
        return rv;
    }
    if (tc->state < TLS_CONN_OPEN) {
        /* counted before the client hears of it (the alert, the close) */
        tls_status_failure(tls_status_reason(rv));
    }
    /* a client that connects and leaves without a byte is a health check, not news */
    level = !by_client ? APLOG_ERR : (rv == APR_EOF && tc->state == TLS_CONN_HELLO)
                                     ? APLOG_DEBUG : APLOG_INFO;
    ap_log_cerror(APLOG_MARK, level, by_client ? 0 : rv, c,
                  "TLS0201: %s %s:%u %s%s%s failed: %s", during, c->client_ip,
                  c->client_addr ? (unsigned)c->client_addr->port : 0u,
                  tc->sni ? "for '" : "without SNI", tc->sni ? tc->sni : "",
                  tc->sni ? "'" : "", reason);
    /* tell the client why, if the engine has an alert for it */
    if (!c->aborted) {
        tls_filter_net_flush(tc);
    }
    tc->failed = 1;
    tc->state = TLS_CONN_CLOSED;
    c->aborted = 1;
    return rv;
}

/* --- ClientHello: choose the vhost and the config ----------------------------------------- */

static int server_has_name(const server_rec *s, const char *name)
{
    const apr_array_header_t *names;
    int i;

    if (s->server_hostname && !strcasecmp(name, s->server_hostname)) {
        return 1;
    }
    if ((names = s->names)) {
        for (i = 0; i < names->nelts; ++i) {
            const char *alias = APR_ARRAY_IDX(names, i, const char *);
            if (alias && !strcasecmp(name, alias)) {
                return 1;
            }
        }
    }
    if ((names = s->wild_names)) {
        for (i = 0; i < names->nelts; ++i) {
            const char *pattern = APR_ARRAY_IDX(names, i, const char *);
            if (pattern && !ap_strcasecmp_match(name, pattern)) {
                return 1;
            }
        }
    }
    return 0;
}

typedef struct {
    const char *name;
    server_rec *found;
} vhost_search;

static int match_vhost(void *baton, conn_rec *c, server_rec *s)
{
    vhost_search *search = baton;

    (void)c;
    if (tls_config_server_get(s)->enabled && server_has_name(s, search->name)) {
        search->found = s;
        return 1;
    }
    return 0;
}

/* The vhost for the client's server name among those on the connection's address; the
 * address's default vhost without SNI, or for an unknown name unless TLSStrictSNI is on. */
static server_rec *select_vhost(tls_conn *tc)
{
    vhost_search search;

    if (!tc->sni) {
        return tc->c->base_server;
    }
    search.name = tc->sni;
    search.found = NULL;
    ap_vhost_iterate_given_conn(tc->c, match_vhost, &search);
    if (search.found) {
        return search.found;
    }
    return tls_config_server_get(tc->c->base_server)->global->strict_sni ? NULL
                                                                        : tc->c->base_server;
}

/* The protocol the vhost selects among those the client offers by ALPN, or NULL. */
static const char *select_alpn(tls_conn *tc, server_rec *s)
{
    apr_array_header_t *offered = tls_ffi_acceptor_alpn(tc->acceptor, tc->c->pool);
    const char *proto;
    int i;

    if (!offered) {
        return NULL;
    }
    proto = ap_select_protocol(tc->c, NULL, s, offered);
    for (i = 0; proto && i < offered->nelts; ++i) {
        if (!strcmp(proto, APR_ARRAY_IDX(offered, i, const char *))) {
            return proto;
        }
    }
    return NULL;
}

/* The ClientHello is in: pick vhost, protocol and config, and turn into a connection. */
static apr_status_t start_handshake(tls_conn *tc)
{
    conn_rec *c = tc->c;
    const tlsr_server_config *config;
    tls_conf_server *sc;
    server_rec *s;
    apr_status_t rv;

    tc->sni = tls_ffi_acceptor_sni(tc->acceptor, c->pool);
    s = select_vhost(tc);
    if (!s) {
        tls_status_failure(TLS_FAIL_UNKNOWN_SNI);
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS0203: handshake from %s:%u refused: no virtual host for server name "
                      "'%s' on this address (TLSStrictSNI on)", c->client_ip,
                      c->client_addr ? (unsigned)c->client_addr->port : 0u, tc->sni);
        tls_ffi_acceptor_reject(tc->acceptor, TLS_FFI_ALERT_UNRECOGNIZED_NAME);
        tls_filter_net_flush(tc);
        tc->failed = 1;
        tc->state = TLS_CONN_CLOSED;
        c->aborted = 1;
        return APR_ECONNABORTED;
    }
    sc = tls_config_server_get(s);
    if (!sc->enabled) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "TLS0204: %s has no TLS configuration but receives TLS connections",
                      tls_server_name(c->pool, s));
        tls_ffi_acceptor_reject(tc->acceptor, TLS_FFI_ALERT_HANDSHAKE_FAILURE);
        return tls_conn_fail(tc, APR_EGENERAL, "handshake with");
    }
    tc->alpn = select_alpn(tc, s);
    config = NULL;
    if (tc->alpn && !strcmp(tc->alpn, TLS_MD_ACME_TLS_1)) {
        rv = tls_md_challenge(c, s, tc->sni, &config);
        if (rv != APR_SUCCESS && rv != APR_ENOENT) {
            tls_ffi_acceptor_reject(tc->acceptor, TLS_FFI_ALERT_HANDSHAKE_FAILURE);
            return tls_conn_fail(tc, rv, "handshake with");
        }
        tc->service_unavailable = (rv == APR_SUCCESS); /* a challenge, not a client */
    }
    if (!config) {
        tls_md_staple(c, s, sc->tls);
        config = tls_server_config_for(sc, tc->alpn);
        tc->service_unavailable = sc->tls->service_unavailable;
    }
    rv = tls_ffi_acceptor_into_conn(tc->acceptor, config, c->pool, &tc->tls);
    if (rv != APR_SUCCESS) {
        return tls_conn_fail(tc, rv, "handshake with");
    }
    tc->server = s;
    tc->state = TLS_CONN_HANDSHAKE;
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "TLS0205: ClientHello for '%s': %s, ALPN %s",
                  tc->sni ? tc->sni : "(no SNI)", tls_server_name(c->pool, s),
                  tc->alpn ? tc->alpn : "none");
    return APR_SUCCESS;
}

/* What the engine has left to send when the handshake is done. After a full TLS 1.2
 * handshake, its last flight: the client waits for it. After TLS 1.3 on our side, only session
 * tickets, which no client waits for: when the request is already here they go out with the
 * first response instead of in a write (and a wake-up) of their own. When it is not, the
 * client's last flight must be acknowledged now: a client that wrote its Finished and holds
 * its request back until that is acknowledged (Nagle's algorithm, no TCP_NODELAY) would
 * otherwise wait for our delayed ACK, 40 ms on Linux. TLS 1.3 tickets carry that ACK; after a
 * resumed TLS 1.2 handshake the client's Finished is the last message, nothing is left to
 * send, and the ACK goes alone. */
static apr_status_t send_after_handshake(tls_conn *tc)
{
    if (tc->outgoing
        || (tc->version != TLS_VERSION_13 && tls_ffi_conn_wants_write(tc->tls))) {
        return tls_filter_net_flush(tc);
    }
    if (tls_filter_net_input_waiting(tc)) {
        return tls_filter_net_collect(tc);
    }
    if (!tls_ffi_conn_wants_write(tc->tls)) {
        tls_filter_net_ack_now(tc);
        return APR_SUCCESS;
    }
    return tls_filter_net_flush(tc);
}

/* The handshake finished: note what was negotiated and switch protocol if ALPN says so. */
static apr_status_t finish_handshake(tls_conn *tc)
{
    conn_rec *c = tc->c;
    apr_status_t rv;

    tc->state = TLS_CONN_OPEN;
    tc->version = tls_ffi_conn_version(tc->tls);
    tc->suite = tls_ffi_conn_suite(tc->tls);
    tc->resumed = tls_ffi_conn_is_resumed(tc->tls);
    tc->session_id = tls_ffi_conn_session_id(tc->tls, c->pool);
    tc->key_index = tc->outgoing ? -1 : tls_ffi_conn_key_index(tc->tls);
    tc->client_vars = tls_vars_client_cert(c->pool, tc->tls, &tc->client_not_after);
    rv = send_after_handshake(tc);
    if (rv != APR_SUCCESS) {
        return tls_conn_fail(tc, rv, "handshake with");
    }
    if (tc->outgoing) {
        tc->alpn = tls_ffi_conn_alpn(tc->tls, c->pool);
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                      "TLS0504: handshake with backend %s done: %s, %s, ALPN %s",
                      tc->backend, tls_proto_version_name(tc->version),
                      tls_proto_suite_name(c->pool, tc->suite), tc->alpn ? tc->alpn : "none");
        return APR_SUCCESS;
    }
    tls_status_handshake(tc->version, tc->suite, tc->resumed);
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                  "TLS0202: handshake with %s:%u %s%s%s done: vhost %s, %s, %s, ALPN %s, %s "
                  "session", c->client_ip, c->client_addr ? (unsigned)c->client_addr->port : 0u,
                  tc->sni ? "for '" : "without SNI", tc->sni ? tc->sni : "", tc->sni ? "'" : "",
                  tls_server_name(c->pool, tc->server),
                  tls_proto_version_name(tc->version), tls_proto_suite_name(c->pool, tc->suite),
                  tc->alpn ? tc->alpn : "none", tc->resumed ? "resumed" : "new");
    if (tc->alpn && strcmp(tc->alpn, ap_get_protocol(c))) {
        rv = ap_switch_protocol(c, NULL, tc->server, tc->alpn);
        if (rv != APR_SUCCESS) {
            ap_log_cerror(APLOG_MARK, APLOG_ERR, rv, c,
                          "TLS0206: cannot switch the connection to protocol '%s'", tc->alpn);
            return tls_conn_fail(tc, rv, "handshake with");
        }
    }
    return APR_SUCCESS;
}

apr_status_t tls_conn_handshake(tls_conn *tc, apr_read_type_e block)
{
    apr_status_t rv;
    apr_size_t fed;

    if (tc->outgoing && !tc->tls && !tc->failed) {
        if ((rv = tls_proxy_start(tc)) != APR_SUCCESS) {
            return rv; /* logged and failed there */
        }
    }
    while (tc->state < TLS_CONN_OPEN) {
        if (tc->state == TLS_CONN_HELLO) {
            rv = tls_ffi_acceptor_accept(tc->acceptor);
            if (rv == APR_SUCCESS) {
                if ((rv = start_handshake(tc)) != APR_SUCCESS) {
                    return rv;
                }
                tls_ffi_acceptor_destroy(tc->c->pool, tc->acceptor);
                tc->acceptor = NULL;
                continue;
            }
            if (rv != APR_EAGAIN) {
                return tls_conn_fail(tc, rv, "handshake with");
            }
        }
        else {
            if (!tls_ffi_conn_is_handshaking(tc->tls)) {
                return finish_handshake(tc);
            }
            if ((rv = tls_filter_net_flush(tc)) != APR_SUCCESS) {
                return tls_conn_fail(tc, rv, "handshake with");
            }
        }
        rv = tls_filter_net_read(tc, block, &fed);
        if (rv == APR_EAGAIN) {
            return rv;
        }
        if (rv == APR_SUCCESS && fed == 0) {
            rv = APR_EGENERAL; /* the engine took nothing and wants more: cannot go on */
        }
        if (rv != APR_SUCCESS) {
            return tls_conn_fail(tc, rv, "handshake with");
        }
    }
    return tc->failed ? APR_ECONNABORTED : APR_SUCCESS;
}

/* --- hooks --------------------------------------------------------------------------------- */

int tls_conn_pre_connection(conn_rec *c, void *csd)
{
    tls_conn *tc;

    (void)csd;
    if (c->outgoing) {
        /* ours only if ssl_bind_outgoing gave it to us (tls_proxy.c) */
        tc = tls_conn_get(c);
        if (!tc || !tc->outgoing || tc->in_filter) {
            return DECLINED;
        }
        tls_filter_add(tc);
        return OK;
    }
    if (c->master || !tls_server_is_tls_addr(c->base_server, c->local_addr)) {
        return DECLINED;
    }
    if (ap_ssl_conn_is_ssl(c)) {
        static int warned; /* once per process: it is the configuration, not the client */
        if (!warned) {
            warned = 1;
            ap_log_cerror(APLOG_MARK, APLOG_WARNING, 0, c,
                          "TLS0207: mod_ssl already handles this connection, although "
                          "TLSEngine names its address: use only one of them per address");
        }
        return DECLINED;
    }
    tls_status_conn_start(c);
    tc = apr_pcalloc(c->pool, sizeof(*tc));
    tc->c = c;
    tc->state = TLS_CONN_HELLO;
    if (tls_ffi_acceptor_create(c->pool, &tc->acceptor) != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c, "TLS0208: cannot set up TLS for connection");
        c->aborted = 1;
        return DONE;
    }
    tc->net_in = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->net_out = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->plain_in = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->tmp = apr_brigade_create(c->pool, c->bucket_alloc);
    ap_set_module_config(c->conn_config, &tls_module, tc);
    tls_filter_add(tc);
    return OK;
}

tls_conn *tls_conn_create_outgoing(conn_rec *c, const struct tls_proxy_client *proxy)
{
    tls_conn *tc = apr_pcalloc(c->pool, sizeof(*tc));

    tc->c = c;
    tc->outgoing = 1;
    tc->proxy = proxy;
    tc->state = TLS_CONN_HANDSHAKE; /* the connection itself starts at the first I/O */
    tc->server = c->base_server;
    tc->key_index = -1;
    tc->net_in = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->net_out = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->plain_in = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->tmp = apr_brigade_create(c->pool, c->bucket_alloc);
    ap_set_module_config(c->conn_config, &tls_module, tc);
    return tc;
}

int tls_conn_post_read_request(request_rec *r)
{
    tls_conn *tc = tls_conn_get(r->connection);

    if (tc && tc->plain_http) {
        apr_table_setn(r->notes, "error-notes",
                       "Reason: You are speaking plain HTTP to a TLS-enabled server port.<br />\n"
                       "Use the https:// scheme to reach this address, please.<br />\n");
        return HTTP_BAD_REQUEST;
    }
    if (!tc || !tc->server || tc->outgoing) {
        return DECLINED;
    }
    if (tc->service_unavailable) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "TLS0403: 503 Service Unavailable: %s has no certificate of its own yet "
                      "(mod_md's fallback certificate) or this is an ACME challenge connection",
                      tls_server_name(r->pool, tc->server));
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!tc->sni) {
        if (!tc->c->vhost_lookup_data) {
            return DECLINED; /* one vhost on this address: it is the one the client gets */
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "TLS0210: request without SNI on an address with name-based virtual "
                      "hosts: the client did not say which site it wants (403)");
        return HTTP_FORBIDDEN;
    }
    if (tls_server_compatible(tc->server, r->server)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "TLS0209: request for host '%s' on a connection for server name '%s': their "
                  "virtual hosts differ in TLS settings (421 Misdirected Request)",
                  r->hostname ? r->hostname : "", tc->sni);
    return HTTP_MISDIRECTED_REQUEST;
}

int tls_conn_process_connection(conn_rec *c)
{
    tls_conn *tc = c->master ? NULL : tls_conn_get(c);
    apr_bucket_brigade *bb;
    apr_status_t rv;

    if (!tc || tc->state >= TLS_CONN_OPEN) {
        return DECLINED;
    }
    bb = apr_brigade_create(c->pool, c->bucket_alloc);
    rv = ap_get_brigade(c->input_filters, bb, AP_MODE_INIT, APR_BLOCK_READ, 0);
    apr_brigade_destroy(bb);
    if (rv != APR_SUCCESS) {
        /* failure logged where it happened; the connection is done */
        if (c->cs) {
            c->cs->state = CONN_STATE_LINGER;
        }
        return OK;
    }
    return DECLINED;
}
