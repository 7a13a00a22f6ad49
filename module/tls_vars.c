/* tls_vars.c -- what requests see of TLS: the SSL_* variables and friends. */
#include <apr_strings.h>
#include <apr_optional.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_ssl.h>
#include <ap_expr.h>
#include <mod_log_config.h>

#include "tls_vars.h"
#include "tls_config.h"
#include "tls_conn.h"
#include "tls_proto.h"
#include "tls_server.h"
#include "tls_version.h"

/* --- certificate variables: the server's once per certificate, the client's per connection */

/* mod_ssl's DN component names (SSL_SERVER_S_DN_x). */
static const char *const DN_ATTRS[] = {
    "C", "ST", "SP", "L", "O", "OU", "CN", "T", "I", "G", "S", "D", "UID", "Email"
};

static void add_dn_attrs(apr_table_t *t, apr_pool_t *p, const char *prefix,
                         const tlsr_x509 *cert, int issuer)
{
    size_t a, i;
    const char *v;

    for (a = 0; a < sizeof(DN_ATTRS) / sizeof(DN_ATTRS[0]); ++a) {
        for (i = 0; (v = tls_ffi_x509_dn_attr(cert, issuer, DN_ATTRS[a], i, p)); ++i) {
            apr_table_setn(t, i ? apr_psprintf(p, "%s%s_DN_%s_%u", prefix, issuer ? "I" : "S",
                                               DN_ATTRS[a], (unsigned)i)
                                : apr_psprintf(p, "%s%s_DN_%s", prefix, issuer ? "I" : "S",
                                               DN_ATTRS[a]), v);
        }
    }
}

/* The variables of one certificate, named prefix + S_DN, I_DN, M_SERIAL, ..., CERT. */
static void add_cert_vars(apr_table_t *t, apr_pool_t *p, const char *prefix,
                          const tlsr_x509 *cert)
{
    static const struct {
        const char *name;
        int field;
    } FIELDS[] = {
        { "S_DN", TLS_FFI_X509_SUBJECT },
        { "I_DN", TLS_FFI_X509_ISSUER },
        { "M_SERIAL", TLS_FFI_X509_SERIAL },
        { "M_VERSION", TLS_FFI_X509_VERSION },
        { "V_START", TLS_FFI_X509_NOT_BEFORE },
        { "V_END", TLS_FFI_X509_NOT_AFTER },
        { "A_KEY", TLS_FFI_X509_KEY_ALG },
        { "A_SIG", TLS_FFI_X509_SIG_ALG },
        { "CERT", TLS_FFI_X509_PEM },
    };
    const char *v;
    size_t i;

    for (i = 0; i < sizeof(FIELDS) / sizeof(FIELDS[0]); ++i) {
        if ((v = tls_ffi_x509_text(cert, FIELDS[i].field, p))) {
            apr_table_setn(t, apr_pstrcat(p, prefix, FIELDS[i].name, NULL), v);
        }
    }
    add_dn_attrs(t, p, prefix, cert, 0);
    add_dn_attrs(t, p, prefix, cert, 1);
    for (i = 0; (v = tls_ffi_x509_san(cert, TLS_FFI_SAN_DNS, i, p)); ++i) {
        apr_table_setn(t, apr_psprintf(p, "%sSAN_DNS_%u", prefix, (unsigned)i), v);
    }
    for (i = 0; (v = tls_ffi_x509_san(cert, TLS_FFI_SAN_EMAIL, i, p)); ++i) {
        apr_table_setn(t, apr_psprintf(p, "%sSAN_Email_%u", prefix, (unsigned)i), v);
    }
}

apr_table_t *tls_vars_server_cert(apr_pool_t *p, const tlsr_certified_key *key)
{
    apr_pool_t *tmp;
    tlsr_x509 *cert;
    apr_table_t *t = NULL;

    if (apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return NULL;
    }
    if (tls_ffi_x509_of_key(tmp, key, 0, &cert) == APR_SUCCESS) {
        t = apr_table_make(p, 32);
        add_cert_vars(t, p, "SSL_SERVER_", cert);
    }
    apr_pool_destroy(tmp); /* the parsed certificate; the texts are in p */
    return t;
}

apr_table_t *tls_vars_client_cert(apr_pool_t *p, const tlsr_conn *conn, apr_time_t *not_after)
{
    int i, n = tls_ffi_conn_peer_cert_count(conn);
    apr_time_t not_before;
    apr_pool_t *tmp;
    tlsr_x509 *cert;
    apr_table_t *t = NULL;
    const char *pem;

    if (n == 0 || apr_pool_create(&tmp, p) != APR_SUCCESS) {
        return NULL;
    }
    if (tls_ffi_x509_of_peer(tmp, conn, 0, &cert) == APR_SUCCESS) {
        t = apr_table_make(p, 32);
        add_cert_vars(t, p, "SSL_CLIENT_", cert);
        if (tls_ffi_x509_validity(cert, &not_before, not_after) != APR_SUCCESS) {
            *not_after = 0;
        }
        for (i = 1; i < n; ++i) { /* the chain the client sent: SSL_CLIENT_CHAIN_0, ... */
            if (tls_ffi_x509_of_peer(tmp, conn, (size_t)i, &cert) == APR_SUCCESS
                && (pem = tls_ffi_x509_text(cert, TLS_FFI_X509_PEM, p))) {
                /* mod_ssl's name, and the shorter one its documentation uses */
                apr_table_setn(t, apr_psprintf(p, "SSL_CLIENT_CERT_CHAIN_%d", i - 1), pem);
                apr_table_setn(t, apr_psprintf(p, "SSL_CLIENT_CHAIN_%d", i - 1), pem);
            }
        }
    }
    apr_pool_destroy(tmp);
    return t;
}

/* --- the connection's variables ---------------------------------------------------------- */

/* The TLS connection c runs on (its master's for an HTTP/2 stream), if mod_tls terminated it
 * and the handshake is done. */
static tls_conn *open_conn(conn_rec *c)
{
    tls_conn *tc = c ? tls_conn_get(c) : NULL;

    return (tc && !tc->failed && tc->state >= TLS_CONN_OPEN) ? tc : NULL;
}

typedef const char *conn_var_fn(apr_pool_t *p, const tls_conn *tc);

static const char *var_https(apr_pool_t *p, const tls_conn *tc) { (void)p; (void)tc; return "on"; }
static const char *var_false(apr_pool_t *p, const tls_conn *tc) { (void)p; (void)tc; return "false"; }
static const char *var_null(apr_pool_t *p, const tls_conn *tc) { (void)p; (void)tc; return "NULL"; }
static const char *var_protocol(apr_pool_t *p, const tls_conn *tc)
{
    (void)p;
    return tls_proto_version_name(tc->version);
}
static const char *var_cipher(apr_pool_t *p, const tls_conn *tc)
{
    return tls_proto_suite_name(p, tc->suite);
}
static const char *var_key_bits(apr_pool_t *p, const tls_conn *tc)
{
    return apr_itoa(p, tls_proto_suite_key_bits(tc->suite));
}
static const char *var_sni(apr_pool_t *p, const tls_conn *tc) { (void)p; return tc->sni; }
static const char *var_session_id(apr_pool_t *p, const tls_conn *tc)
{
    (void)p;
    return tc->session_id;
}
static const char *var_resumed(apr_pool_t *p, const tls_conn *tc)
{
    (void)p;
    return tc->resumed ? "Resumed" : "Initial";
}
static const char *var_interface(apr_pool_t *p, const tls_conn *tc)
{
    (void)p; (void)tc;
    return "mod_tls/" TLS_MODULE_VERSION;
}
static const char *var_library(apr_pool_t *p, const tls_conn *tc)
{
    (void)tc;
    return apr_pstrcat(p, "rustls/", tls_ffi_rustls_version(), NULL);
}

static const char *var_client_verify(apr_pool_t *p, const tls_conn *tc)
{
    (void)p;
    return tc->client_vars ? "SUCCESS" : "NONE";
}
static const char *var_client_remain(apr_pool_t *p, const tls_conn *tc)
{
    apr_time_t left = tc->client_not_after - apr_time_now();

    if (!tc->client_vars) {
        return NULL;
    }
    return apr_itoa(p, left > 0 ? (int)(apr_time_sec(left) / 86400) : 0);
}

static const struct {
    const char *name;
    conn_var_fn *fn;
} CONN_VARS[] = {
    { "HTTPS", var_https },
    { "SSL_PROTOCOL", var_protocol },
    { "SSL_CIPHER", var_cipher },
    { "SSL_CIPHER_USEKEYSIZE", var_key_bits },
    { "SSL_CIPHER_ALGKEYSIZE", var_key_bits },
    { "SSL_CIPHER_EXPORT", var_false },
    { "SSL_TLS_SNI", var_sni },
    { "SSL_SESSION_ID", var_session_id },
    { "SSL_SESSION_RESUMED", var_resumed },
    { "SSL_VERSION_INTERFACE", var_interface },
    { "SSL_VERSION_LIBRARY", var_library },
    { "SSL_SECURE_RENEG", var_false },
    { "SSL_COMPRESS_METHOD", var_null },
    { "SSL_CLIENT_VERIFY", var_client_verify },
    { "SSL_CLIENT_V_REMAIN", var_client_remain },
};
#define N_CONN_VARS (sizeof(CONN_VARS) / sizeof(CONN_VARS[0]))

/* The SSL_SERVER_* table of the certificate the handshake used. */
static const apr_table_t *server_cert_vars(const tls_conn *tc)
{
    const tls_conf_server *sc = tls_config_server_get(tc->server);

    if (!sc->tls || tc->key_index < 0 || tc->key_index >= sc->tls->key_vars->nelts) {
        return NULL;
    }
    return APR_ARRAY_IDX(sc->tls->key_vars, tc->key_index, const apr_table_t *);
}

/* --- hooks ------------------------------------------------------------------------------- */

int tls_vars_conn_is_ssl(conn_rec *c)
{
    tls_conn *tc = c ? tls_conn_get(c) : NULL;

    return (tc && !tc->failed) ? OK : DECLINED;
}

const char *tls_vars_lookup(apr_pool_t *p, server_rec *s, conn_rec *c, request_rec *r,
                            const char *name)
{
    const apr_table_t *cert;
    tls_conn *tc;
    size_t i;

    (void)s;
    if (r) {
        c = r->connection;
    }
    if (!name || !(tc = open_conn(c))) {
        return NULL;
    }
    for (i = 0; i < N_CONN_VARS; ++i) {
        if (!strcasecmp(name, CONN_VARS[i].name)) {
            return CONN_VARS[i].fn(p, tc);
        }
    }
    if (!strncasecmp(name, "SSL_SERVER_", 11) && (cert = server_cert_vars(tc))) {
        return apr_table_get(cert, name);
    }
    if (!strncasecmp(name, "SSL_CLIENT_", 11) && tc->client_vars) {
        return apr_table_get(tc->client_vars, name);
    }
    return NULL;
}

static const char *expr_var(ap_expr_eval_ctx_t *ctx, const void *data)
{
    return ap_ssl_var_lookup(ctx->p, ctx->s, ctx->c, ctx->r, data);
}

int tls_vars_expr_lookup(ap_expr_lookup_parms *parms)
{
    if (parms->type == AP_EXPR_FUNC_VAR && !strncasecmp(parms->name, "SSL_", 4)) {
        *parms->func = expr_var;
        *parms->data = parms->name;
        return OK;
    }
    return DECLINED;
}

/* LogFormat %{name}x: any module's SSL variables, through httpd's ssl_var_lookup. */
static const char *log_var(request_rec *r, char *name)
{
    const char *v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r, name);

    /* Certificate names may hold any byte: escape as mod_ssl's handler does. */
    return (v && *v) ? ap_escape_logitem(r->pool, v) : NULL;
}

int tls_vars_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    APR_OPTIONAL_FN_TYPE(ap_register_log_handler) *reg =
        APR_RETRIEVE_OPTIONAL_FN(ap_register_log_handler);

    (void)plog; (void)ptemp;
    if (reg) {
        reg(pconf, "x", log_var, 0);
    }
    return OK;
}

const char *tls_vars_http_scheme(const request_rec *r)
{
    return open_conn(r->connection) ? "https" : NULL;
}

apr_port_t tls_vars_default_port(const request_rec *r)
{
    return open_conn(r->connection) ? 443 : 0;
}

/* Whether a certificate variable is PEM data (ExportCertData) rather than a field
 * (StdEnvVars). */
static int is_cert_data(const char *name)
{
    return !strcmp(name, "SSL_SERVER_CERT") || !strcmp(name, "SSL_CLIENT_CERT")
           || !strncmp(name, "SSL_CLIENT_CHAIN_", 17)
           || !strncmp(name, "SSL_CLIENT_CERT_CHAIN_", 22);
}

/* apr_table_do callbacks: copy certificate variables into the environment. */
static int export_field(void *env, const char *name, const char *value)
{
    if (!is_cert_data(name)) {
        apr_table_setn(env, name, value);
    }
    return 1;
}

static int export_data(void *env, const char *name, const char *value)
{
    if (is_cert_data(name)) {
        apr_table_setn(env, name, value);
    }
    return 1;
}

int tls_vars_fixups(request_rec *r)
{
    tls_conn *tc = open_conn(r->connection);
    apr_table_t *env = r->subprocess_env;
    const apr_table_t *cert;
    int options;
    size_t i;

    if (!tc) {
        return DECLINED;
    }
    apr_table_setn(env, "HTTPS", "on");
    options = tls_config_options(r);
    cert = server_cert_vars(tc);
    if (options & TLS_OPT_STD_ENV_VARS) {
        for (i = 0; i < N_CONN_VARS; ++i) {
            const char *v = CONN_VARS[i].fn(r->pool, tc);
            if (v) {
                apr_table_setn(env, CONN_VARS[i].name, v);
            }
        }
        if (cert) {
            apr_table_do(export_field, env, cert, NULL);
        }
        if (tc->client_vars) {
            apr_table_do(export_field, env, tc->client_vars, NULL);
        }
    }
    if (options & TLS_OPT_EXPORT_CERT_DATA) {
        if (cert) {
            apr_table_do(export_data, env, cert, NULL);
        }
        if (tc->client_vars) {
            apr_table_do(export_data, env, tc->client_vars, NULL);
        }
    }
    return DECLINED;
}
