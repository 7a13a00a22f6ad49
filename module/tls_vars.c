/* tls_vars.c -- what requests see of TLS. */
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>

#include "tls_vars.h"
#include "tls_conn.h"
#include "tls_proto.h"

/* The TLS connection a request or connection runs on, if mod_tls terminated it. */
static tls_conn *open_conn(conn_rec *c)
{
    tls_conn *tc = c ? tls_conn_get(c) : NULL;

    return (tc && !tc->failed) ? tc : NULL;
}

int tls_vars_conn_is_ssl(conn_rec *c)
{
    return open_conn(c) ? OK : DECLINED;
}

const char *tls_vars_lookup(apr_pool_t *p, server_rec *s, conn_rec *c, request_rec *r,
                            const char *name)
{
    tls_conn *tc;

    (void)s;
    if (r) {
        c = r->connection;
    }
    if (!name || !(tc = open_conn(c))) {
        return NULL;
    }
    if (!strcasecmp(name, "HTTPS")) {
        return "on";
    }
    if (tc->state != TLS_CONN_OPEN && tc->state != TLS_CONN_CLOSED) {
        return NULL;
    }
    if (!strcasecmp(name, "SSL_PROTOCOL")) {
        return tls_proto_version_name(tc->version);
    }
    if (!strcasecmp(name, "SSL_CIPHER")) {
        return tls_proto_suite_name(p, tc->suite);
    }
    if (!strcasecmp(name, "SSL_TLS_SNI")) {
        return tc->sni;
    }
    return NULL;
}

const char *tls_vars_http_scheme(const request_rec *r)
{
    return open_conn(r->connection) ? "https" : NULL;
}

apr_port_t tls_vars_default_port(const request_rec *r)
{
    return open_conn(r->connection) ? 443 : 0;
}

int tls_vars_fixups(request_rec *r)
{
    if (open_conn(r->connection)) {
        apr_table_setn(r->subprocess_env, "HTTPS", "on");
    }
    return DECLINED;
}
