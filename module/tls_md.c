/* tls_md.c -- certificates from mod_md: files, fallback, tls-alpn-01, OCSP stapling. */
#include <apr_base64.h>
#include <apr_sha1.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <http_protocol.h>
#include <http_ssl.h>

#include "tls_md.h"
#include "tls_proto.h"
#include "tls_server.h"

APLOG_USE_MODULE(tls);

int tls_md_provides_certs(void)
{
    return ap_find_linked_module("mod_md.c") != NULL;
}

/* --- certificate files ---------------------------------------------------------------------- */

/* Appends one tls_cert_spec per file another module gave: key_files may be shorter than
 * cert_files (or name the certificate file itself) when the key is in the certificate file. */
static void add_specs(apr_array_header_t *certs, const apr_array_header_t *cert_files,
                      const apr_array_header_t *key_files, const char *from)
{
    int i;

    for (i = 0; i < cert_files->nelts; ++i) {
        tls_cert_spec *spec = apr_array_push(certs);
        const char *key = i < key_files->nelts ? APR_ARRAY_IDX(key_files, i, const char *)
                                               : NULL;
        spec->cert_file = APR_ARRAY_IDX(cert_files, i, const char *);
        spec->key_file = (key && strcmp(key, spec->cert_file)) ? key : NULL;
        spec->defined_at = from;
    }
}

/* The certificates of one TLS server: mod_md's (preferred, first), then its TLSCertificate
 * ones; with none at all, mod_md's fallback certificate. */
static int add_certificates(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                            tls_conf_server *sc, int real_pass)
{
    apr_array_header_t *cert_files = apr_array_make(pconf, 2, sizeof(const char *));
    apr_array_header_t *key_files = apr_array_make(pconf, 2, sizeof(const char *));
    apr_array_header_t *certs;
    const char *name = tls_server_name(ptemp, s);
    int fallback = 0;

    /* What the calls return says nothing: mod_md answers DONE when it added files, which
     * httpd reports as an error; what counts is what the arrays hold. */
    ap_ssl_add_cert_files(s, pconf, cert_files, key_files);
    if (cert_files->nelts == 0) {
        if (sc->certs->nelts > 0) {
            return OK; /* TLSCertificate only: built at check_config */
        }
        ap_ssl_add_fallback_cert_files(s, pconf, cert_files, key_files);
        if (cert_files->nelts == 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "TLS0401: %s serves TLS (TLSEngine) but has no certificate: no "
                         "TLSCertificate, and no module (mod_md: MDomain, MDCertificateFile) "
                         "provides one", name);
            return !OK;
        }
        fallback = 1;
    }
    certs = apr_array_make(pconf, cert_files->nelts + sc->certs->nelts, sizeof(tls_cert_spec));
    add_specs(certs, cert_files, key_files,
              apr_pstrcat(pconf, fallback ? "mod_md's fallback for " : "mod_md for ", name,
                          NULL));
    apr_array_cat(certs, sc->certs);
    if (tls_server_build(pconf, ptemp, s, certs) != OK) {
        return !OK;
    }
    sc->tls->service_unavailable = fallback;
    if (!real_pass) {
        return OK; /* say it once, on the pass that serves */
    }
    if (fallback) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0402: %s has no certificate yet: it serves mod_md's temporary "
                     "fallback certificate and answers every request with 503 Service "
                     "Unavailable until its Managed Domain has one", name);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     "TLS0404: %s: %d certificate(s) from mod_md (first: '%s'), %d from "
                     "TLSCertificate", name, cert_files->nelts,
                     APR_ARRAY_IDX(cert_files, 0, const char *), sc->certs->nelts);
    }
    return OK;
}

/* --- OCSP stapling ------------------------------------------------------------------------- */

/* The chain of a key as PEM, leaf first (what ap_ssl_ocsp_prime expects). */
static const char *chain_pem(apr_pool_t *p, const tlsr_certified_key *key)
{
    apr_size_t i, n = tls_ffi_certified_key_chain_len(key);
    struct iovec *parts = apr_pcalloc(p, sizeof(*parts) * n);

    for (i = 0; i < n; ++i) {
        const unsigned char *der;
        apr_size_t len, k, b64_len;
        char *b64, *out;

        if (tls_ffi_certified_key_der(key, i, &der, &len) != APR_SUCCESS) {
            return NULL;
        }
        b64 = apr_palloc(p, apr_base64_encode_len((int)len));
        apr_base64_encode_binary(b64, der, (int)len);
        b64_len = strlen(b64);
        out = apr_palloc(p, b64_len + b64_len / 64 + 2 + 64);
        parts[i].iov_base = out;
        out += sprintf(out, "-----BEGIN CERTIFICATE-----\n");
        for (k = 0; k < b64_len; k += 64) {
            apr_size_t line = (b64_len - k) < 64 ? (b64_len - k) : 64;
            memcpy(out, b64 + k, line);
            out += line;
            *out++ = '\n';
        }
        out += sprintf(out, "-----END CERTIFICATE-----\n");
        parts[i].iov_len = (apr_size_t)(out - (char *)parts[i].iov_base);
    }
    return apr_pstrcatv(p, parts, n, NULL);
}

/* Asks for OCSP stapling of each key of a TLS server that has its issuer in its chain. */
static void prime_ocsp(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                       struct tls_vhost_tls *tls)
{
    apr_array_header_t *ids = apr_array_make(pconf, tls->keys->nelts,
                                             sizeof(const unsigned char *));
    int i, primed = 0;

    for (i = 0; i < tls->keys->nelts; ++i) {
        const tlsr_certified_key *key = APR_ARRAY_IDX(tls->keys, i, const tlsr_certified_key *);
        const tls_cert_spec *spec = &APR_ARRAY_IDX(tls->certs, i, tls_cert_spec);
        unsigned char *id = NULL;
        const unsigned char *der;
        const char *pem;
        apr_size_t len;

        if (tls_ffi_certified_key_chain_len(key) < 2) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "TLS0406: %s: no OCSP stapling for "
                         "'%s': its file holds no issuer certificate",
                         tls_server_name(ptemp, s), spec->cert_file);
        }
        else if (tls_ffi_certified_key_der(key, 0, &der, &len) == APR_SUCCESS
                 && (pem = chain_pem(ptemp, key))) {
            apr_sha1_ctx_t sha1;

            id = apr_palloc(pconf, TLS_MD_OCSP_ID_LEN);
            apr_sha1_init(&sha1);
            apr_sha1_update_binary(&sha1, der, (unsigned int)len);
            apr_sha1_final(id, &sha1);
            if (ap_ssl_ocsp_prime(s, pconf, (const char *)id, TLS_MD_OCSP_ID_LEN, pem)
                == APR_SUCCESS) {
                ++primed;
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "TLS0405: %s: OCSP stapling for "
                             "'%s' (responses from mod_md)", tls_server_name(ptemp, s),
                             spec->cert_file);
            }
            else {
                id = NULL; /* nobody staples it (e.g. MDStapling off) */
            }
        }
        APR_ARRAY_PUSH(ids, const unsigned char *) = id;
    }
    tls->ocsp_ids = primed ? ids : NULL;
}

int tls_md_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *base)
{
    int real_pass = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
    server_rec *s;
    int rv = OK;

    for (s = base; s; s = s->next) {
        tls_conf_server *sc = tls_config_server_get(s);
        if (!sc->is_tls) {
            continue;
        }
        if (add_certificates(pconf, ptemp, s, sc, real_pass) != OK) {
            rv = !OK; /* go on, to name every server without a certificate */
            continue;
        }
        if (sc->tls && real_pass) {
            prime_ocsp(pconf, ptemp, s, sc->tls); /* on the real pass, which mod_md serves */
        }
    }
    return rv;
}

/* ap_ssl_ocsp_copy_resp: the response (NULL, 0: none) for the key in userdata. */
static void copy_resp(const unsigned char *der, apr_size_t der_len, void *userdata)
{
    tls_ffi_certified_key_set_ocsp(userdata, der, der ? der_len : 0);
}

void tls_md_staple(conn_rec *c, server_rec *s, const struct tls_vhost_tls *tls)
{
    int i;

    if (!tls || !tls->ocsp_ids) {
        return;
    }
    for (i = 0; i < tls->ocsp_ids->nelts; ++i) {
        const unsigned char *id = APR_ARRAY_IDX(tls->ocsp_ids, i, const unsigned char *);
        const tlsr_certified_key *key = APR_ARRAY_IDX(tls->keys, i, const tlsr_certified_key *);
        apr_status_t rv;

        if (!id) {
            continue;
        }
        rv = ap_ssl_ocsp_get_resp(s, c, (const char *)id, TLS_MD_OCSP_ID_LEN, copy_resp,
                                  (void *)key);
        ap_log_cerror(APLOG_MARK, APLOG_TRACE2, 0, c, "TLS0407: OCSP response for certificate "
                      "%d of %s: %s", i + 1, tls_server_name(c->pool, s),
                      rv == APR_SUCCESS ? "stapled" : "none available, the last one stays");
    }
}

/* --- ACME tls-alpn-01 ---------------------------------------------------------------------- */

apr_status_t tls_md_challenge(conn_rec *c, server_rec *s, const char *sni,
                              const tlsr_server_config **config)
{
    static const uint16_t versions[] = { TLS_VERSION_12, TLS_VERSION_13 };
    const char *cert_pem = NULL, *key_pem = NULL, *err = NULL;
    const tlsr_certified_key *key;
    const tlsr_server_config *base;
    tls_ffi_server_params params;
    apr_array_header_t *suites;
    apr_status_t rv;

    if (!sni) {
        return APR_ENOENT;
    }
    /* mod_md answers only on a connection switched to acme-tls/1 (as mod_ssl does in its
     * ALPN callback, before the handshake goes on) */
    if (strcmp(ap_get_protocol(c), TLS_MD_ACME_TLS_1)
        && ap_switch_protocol(c, NULL, s, TLS_MD_ACME_TLS_1) != APR_SUCCESS) {
        return APR_ENOENT;
    }
    if (!ap_ssl_answer_challenge(c, sni, &cert_pem, &key_pem) || !cert_pem) {
        return APR_ENOENT;
    }
    rv = tls_ffi_certified_key_load(c->pool, cert_pem, strlen(cert_pem), key_pem,
                                    key_pem ? strlen(key_pem) : 0, &key, &err);
    if (rv == APR_SUCCESS) {
        suites = tls_ffi_supported_suites(c->pool);
        memset(&params, 0, sizeof(params));
        params.versions = versions;
        params.n_versions = 2;
        params.suites = (const uint16_t *)suites->elts;
        params.n_suites = suites->nelts;
        params.keys = &key;
        params.n_keys = 1;
        params.session_cache_size = 0; /* nothing to resume: one handshake, then it is over */
        rv = tls_ffi_server_config_build(c->pool, &params, &base, &err);
    }
    if (rv == APR_SUCCESS) {
        rv = tls_ffi_server_config_with_alpn(c->pool, base, TLS_MD_ACME_TLS_1, config);
    }
    if (rv != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c, "TLS0409: the ACME tls-alpn-01 challenge "
                      "certificate for '%s' is unusable: %s", sni,
                      err ? err : tls_ffi_strerror(c->pool, rv));
        return rv;
    }
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, "TLS0408: answering the ACME tls-alpn-01 "
                  "challenge for '%s' from %s with mod_md's challenge certificate", sni,
                  c->client_ip);
    return APR_SUCCESS;
}
