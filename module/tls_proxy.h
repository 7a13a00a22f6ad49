/* tls_proxy.h -- outgoing connections for mod_proxy: TLS to https:// (and h2://, wss://)
 * backends where TLSProxyEngine is on.
 *
 * The TLSProxy* settings live in the per-directory config (server/vhost defaults and <Proxy>
 * sections), which mod_proxy hands to the ssl_bind_outgoing hook. Each distinct combination of
 * settings gets one set of immutable client configs (one per ALPN offer, sharing one client
 * session store), built at check_config for every server's defaults and every <Proxy> section
 * merged into them, and -- for a combination a request's merge produces that startup did not
 * see -- once, on first use, from files read at startup. */
#ifndef TLS_PROXY_H
#define TLS_PROXY_H

#include <httpd.h>
#include <http_config.h>
#include "tls_ffi.h"

struct tls_conn;

/* The client configs for one combination of TLSProxy* settings. */
typedef struct tls_proxy_client {
    const char *where;                 /* the context, for messages */
    const char *error;                 /* why it could not be built, or NULL */
    const tlsr_client_config *http1;   /* offers ALPN http/1.1 */
    const tlsr_client_config *h2;      /* offers ALPN h2 (mod_proxy_http2) */
    int no_ca;                         /* no TLSProxyCA: every backend is refused */
} tls_proxy_client;

/* check_config: reads the files of every TLSProxy* context and builds the client configs.
 * Errors stop startup (and `apachectl -t`). */
int tls_proxy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s);

/* post_config of the real startup pass: warns about contexts with TLSProxyEngine on but no
 * TLSProxyCA. */
void tls_proxy_report(apr_pool_t *ptemp, server_rec *s);

/* The ssl_bind_outgoing hook: claims c where TLSProxyEngine is on in dir_conf. */
int tls_proxy_bind_outgoing(conn_rec *c, ap_conf_vector_t *dir_conf, int enable_ssl);

/* The first I/O on a claimed connection: the client connection for the backend named by
 * mod_proxy's notes (proxy-request-hostname: SNI and name check; proxy-request-alpn-protos:
 * ALPN). Logs and fails the connection on error. */
apr_status_t tls_proxy_start(struct tls_conn *tc);

#endif /* TLS_PROXY_H */
