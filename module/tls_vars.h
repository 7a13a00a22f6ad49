/* tls_vars.h -- what requests see of TLS: ap_ssl_conn_is_ssl(), SSL_* variables, the https
 * scheme and port 443, HTTPS=on in the environment. */
#ifndef TLS_VARS_H
#define TLS_VARS_H

#include <httpd.h>

/* ssl_conn_is_ssl hook */
int tls_vars_conn_is_ssl(conn_rec *c);
/* ssl_var_lookup hook */
const char *tls_vars_lookup(apr_pool_t *p, server_rec *s, conn_rec *c, request_rec *r,
                            const char *name);
/* http_scheme and default_port hooks */
const char *tls_vars_http_scheme(const request_rec *r);
apr_port_t tls_vars_default_port(const request_rec *r);
/* fixups hook: HTTPS=on for CGI, SSI and friends */
int tls_vars_fixups(request_rec *r);

#endif /* TLS_VARS_H */
