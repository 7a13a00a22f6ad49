/* tls_vars.h -- what requests see of TLS: ap_ssl_conn_is_ssl(), the SSL_* variables (for
 * ssl_var_lookup, ap_expr, LogFormat %{..}x and the subprocess environment), the https scheme
 * and port 443. docs/variables.md lists the variables. */
#ifndef TLS_VARS_H
#define TLS_VARS_H

#include <httpd.h>
#include <apr_tables.h>
#include <ap_expr.h>
#include "tls_ffi.h"

/* The SSL_SERVER_* variables of a certified key's leaf certificate, computed once (at
 * check_config) into p. NULL if the certificate cannot be parsed. */
apr_table_t *tls_vars_server_cert(apr_pool_t *p, const tlsr_certified_key *key);

/* The SSL_CLIENT_* variables of the certificate a client sent (with SSL_CLIENT_CERT and
 * SSL_CLIENT_CHAIN_n), computed once per connection when its handshake ends, and the
 * certificate's end of validity; NULL without a client certificate. */
apr_table_t *tls_vars_client_cert(apr_pool_t *p, const tlsr_conn *conn, apr_time_t *not_after);

/* pre_config: registers the LogFormat handler %{name}x. */
int tls_vars_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* ssl_conn_is_ssl hook */
int tls_vars_conn_is_ssl(conn_rec *c);
/* ssl_var_lookup hook */
const char *tls_vars_lookup(apr_pool_t *p, server_rec *s, conn_rec *c, request_rec *r,
                            const char *name);
/* expr_lookup hook: %{SSL_*} in <If>, Require expr, ... */
int tls_vars_expr_lookup(ap_expr_lookup_parms *parms);
/* http_scheme and default_port hooks */
const char *tls_vars_http_scheme(const request_rec *r);
apr_port_t tls_vars_default_port(const request_rec *r);
/* fixups hook: HTTPS=on, and SSL_* as TLSOptions says, for CGI, SSI and friends */
int tls_vars_fixups(request_rec *r);

#endif /* TLS_VARS_H */
