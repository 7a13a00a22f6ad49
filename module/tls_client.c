/* tls_client.c -- client certificate authentication policies, their report, TLSUserName. */
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_ssl.h>

#include "tls_client.h"
#include "tls_cert.h"
#include "tls_server.h"
#include "tls_vars.h"

APLOG_USE_MODULE(tls);

static const char *mode_name(int mode)
{
    return mode == TLS_CLIENT_REQUIRED ? "required" : "optional";
}

/* The identity of a policy: everything it is built from. */
static const char *policy_key(apr_pool_t *p, const tls_conf_server *sc)
{
    const char *key = apr_psprintf(p, "%d|%d|%s", sc->client_auth, sc->verify_depth,
                                   sc->client_ca);
    int i;

    for (i = 0; sc->client_crls && i < sc->client_crls->nelts; ++i) {
        key = apr_pstrcat(p, key, "|", APR_ARRAY_IDX(sc->client_crls, i, const char *), NULL);
    }
    return key;
}

static int load_crls(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                     const tls_conf_server *sc, tls_client_policy *pol)
{
    int i, rv = OK;

    for (i = 0; sc->client_crls && i < sc->client_crls->nelts; ++i) {
        const char *file = APR_ARRAY_IDX(sc->client_crls, i, const char *), *data, *err;
        apr_size_t len, added = 0;

        err = tls_cert_read_file(ptemp, "CRL", file, &data, &len);
        if (!err && tls_ffi_client_auth_add_crls(ptemp, pol->auth, data, len, &added, &err)
                    != APR_SUCCESS) {
            err = apr_psprintf(ptemp, "'%s': %s", file, err);
        }
        else if (!err && added == 0) {
            err = apr_psprintf(ptemp, "'%s' holds no CRL (PEM \"X509 CRL\" sections or one "
                               "DER CRL expected)", file);
        }
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0132: TLSClientCRL of %s: %s "
                         "(defined at %s)", tls_server_name(ptemp, s), err, sc->client_crls_at);
            rv = !OK;
        }
    }
    (void)pconf;
    return rv;
}

const tls_client_policy *tls_client_policy_get(apr_pool_t *pconf, apr_pool_t *ptemp,
                                               server_rec *s, const tls_conf_server *sc,
                                               apr_hash_t *policies, int *failed)
{
    tls_client_policy *pol;
    const char *key, *pem, *err;
    apr_size_t len;
    /* With TLSClientCertificate none, a TLSClientCA (and its CRLs) is still read and checked,
     * as mod_ssl does: a broken file shows now, not the day client certificates are asked. */
    int unused = sc->client_auth == TLS_CLIENT_NONE;

    if (unused && !sc->client_ca) {
        return NULL;
    }
    if (!sc->client_ca) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0130: %s: TLSClientCertificate %s "
                     "needs TLSClientCA, the file of the CAs that client certificates must "
                     "chain to", tls_server_name(ptemp, s), mode_name(sc->client_auth));
        *failed = 1;
        return NULL;
    }
    key = policy_key(ptemp, sc);
    if ((pol = apr_hash_get(policies, key, APR_HASH_KEY_STRING))) {
        return unused ? NULL : pol;
    }
    pol = apr_pcalloc(pconf, sizeof(*pol));
    pol->mode = sc->client_auth;
    pol->depth = sc->verify_depth;
    pol->ca_file = sc->client_ca;
    pol->crl_files = sc->client_crls;
    err = tls_cert_read_file(ptemp, "CA", sc->client_ca, &pem, &len);
    if (!err && tls_ffi_client_auth_create(pconf, pem, len, sc->client_auth == TLS_CLIENT_REQUIRED
                                           ? TLS_FFI_CLIENT_REQUIRED : TLS_FFI_CLIENT_OPTIONAL,
                                           (unsigned)sc->verify_depth, &pol->auth, &err)
                != APR_SUCCESS) {
        err = apr_psprintf(ptemp, "'%s': %s", sc->client_ca, err);
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0131: TLSClientCA of %s: %s (defined "
                     "at %s)", tls_server_name(ptemp, s), err, sc->client_ca_at);
        *failed = 1;
        return NULL;
    }
    if (load_crls(pconf, ptemp, s, sc, pol) != OK) {
        *failed = 1;
        return NULL;
    }
    apr_hash_set(policies, apr_pstrdup(pconf, key), APR_HASH_KEY_STRING, pol);
    return unused ? NULL : pol;
}

void tls_client_report(apr_pool_t *ptemp, server_rec *s, const tls_client_policy *policy)
{
    tls_client_policy *pol = (tls_client_policy *)policy;
    apr_time_t now = apr_time_now(), this_update, next_update;
    char date[APR_RFC822_DATE_LEN];
    const char *issuer, *files = "";
    apr_size_t revoked;
    size_t i;
    int n;

    if (!pol || pol->reported) {
        return;
    }
    pol->reported = 1;
    for (n = 0; pol->crl_files && n < pol->crl_files->nelts; ++n) {
        files = apr_pstrcat(ptemp, files, n ? ", " : "",
                            APR_ARRAY_IDX(pol->crl_files, n, const char *), NULL);
    }
    for (i = 0; tls_ffi_client_auth_crl(ptemp, pol->auth, i, &issuer, &this_update,
                                        &next_update, &revoked) == APR_SUCCESS; ++i) {
        if (next_update && next_update < now) {
            apr_rfc822_date(date, next_update);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0133: TLSClientCRL (%s): the "
                         "CRL of '%s' expired on %s: every client certificate that CA issued "
                         "is refused until a current CRL is installed (then apachectl "
                         "graceful)", files, issuer, date);
        }
        else if (this_update > now) {
            apr_rfc822_date(date, this_update);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0133: TLSClientCRL (%s): the "
                         "CRL of '%s' is not valid before %s (is the clock right?)", files,
                         issuer, date);
        }
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "TLS0134: client certificates %s, CAs "
                     "from '%s', depth %d: CRL of '%s' with %" APR_SIZE_T_FMT " revoked "
                     "serial(s)", mode_name(pol->mode), pol->ca_file, pol->depth, issuer,
                     revoked);
    }
}

int tls_client_user_name(request_rec *r)
{
    const char *var = tls_config_user_name(r), *v;

    if (!var || tls_vars_conn_is_ssl(r->connection) != OK) {
        return DECLINED; /* not ours (mod_ssl's SSLUserName serves its own connections) */
    }
    v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r, var);
    if (v && *v) {
        r->user = (char *)v;
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "TLS0211: TLSUserName %s: the variable is "
                      "empty on this connection, the request has no user", var);
    }
    return DECLINED;
}
