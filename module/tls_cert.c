/* tls_cert.c -- reading certificate and key files into crate objects, once each. */
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_file_io.h>
#include <apr_date.h>
#include <unistd.h>
#include <httpd.h>
#include <http_log.h>
#include <unixd.h>

#include "tls_cert.h"
#include "tls_vars.h"

APLOG_USE_MODULE(tls);

/* PEM files larger than this are refused: a certificate chain is a few KiB. */
#define TLS_PEM_MAX (32 * 1024 * 1024) /* large CRLs exist; certificates are small */

struct tls_cert_registry {
    apr_pool_t *pool;
    apr_hash_t *keys; /* "cert\nkey" -> const tlsr_certified_key * */
    apr_hash_t *vars; /* const tlsr_certified_key * -> apr_table_t * of SSL_SERVER_* */
};

tls_cert_registry *tls_cert_registry_create(apr_pool_t *p)
{
    tls_cert_registry *reg = apr_pcalloc(p, sizeof(*reg));

    reg->pool = p;
    reg->keys = apr_hash_make(p);
    reg->vars = apr_hash_make(p);
    return reg;
}

const apr_table_t *tls_cert_vars(tls_cert_registry *reg, const tlsr_certified_key *key)
{
    apr_table_t *vars = apr_hash_get(reg->vars, &key, sizeof(key));

    if (!vars && (vars = tls_vars_server_cert(reg->pool, key))) {
        apr_hash_set(reg->vars, apr_pmemdup(reg->pool, &key, sizeof(key)), sizeof(key), vars);
    }
    return vars;
}

const char *tls_cert_read_file(apr_pool_t *p, const char *what, const char *path,
                               const char **data, apr_size_t *len)
{
    apr_file_t *f = NULL;
    apr_finfo_t finfo;
    apr_status_t rv;
    char *buf, err[256];

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&finfo, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    }
    if (rv != APR_SUCCESS) {
        if (f) apr_file_close(f);
        return apr_psprintf(p, "cannot read %s file '%s': %s", what, path,
                            apr_strerror(rv, err, sizeof(err)));
    }
    if (finfo.filetype != APR_REG) {
        apr_file_close(f);
        return apr_psprintf(p, "%s file '%s' is not a regular file", what, path);
    }
    if (finfo.size == 0) {
        apr_file_close(f);
        return apr_psprintf(p, "%s file '%s' is empty", what, path);
    }
    if (finfo.size > TLS_PEM_MAX) {
        apr_file_close(f);
        return apr_psprintf(p, "%s file '%s' is too large (%" APR_OFF_T_FMT
                            " bytes; at most 32 MiB)", what, path, finfo.size);
    }
    buf = apr_palloc(p, (apr_size_t)finfo.size + 1);
    rv = apr_file_read_full(f, buf, (apr_size_t)finfo.size, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot read %s file '%s': %s", what, path,
                            apr_strerror(rv, err, sizeof(err)));
    }
    buf[*len] = '\0';
    *data = buf;
    return NULL;
}

void tls_cert_check_key_access(apr_pool_t *p, server_rec *s, const char *directive,
                               const tls_cert_spec *spec, apr_hash_t *seen)
{
    const char *path = spec->key_file ? spec->key_file : spec->cert_file;
    const unixd_config_rec *u = &ap_unixd_config;
    apr_finfo_t finfo;

    if (apr_hash_get(seen, path, APR_HASH_KEY_STRING)) {
        return;
    }
    apr_hash_set(seen, apr_pstrdup(p, path), APR_HASH_KEY_STRING, path);
    if (apr_stat(&finfo, path, APR_FINFO_PROT | APR_FINFO_OWNER, p) != APR_SUCCESS) {
        return;
    }
    if (finfo.protection & APR_WREAD) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0112: %s: the private key file '%s' "
                     "is readable by every user of this machine; anyone who reads it can "
                     "impersonate the server (chmod o-r, or 600) (defined at %s)", directive,
                     path, spec->defined_at);
    }
    else if (geteuid() == 0 && u->user_id != 0
             && ((finfo.user == u->user_id && (finfo.protection & APR_UREAD))
                 || (finfo.group == u->group_id && (finfo.protection & APR_GREAD)))) {
        /* the parent reads keys as root; the children need not, and should not, read them */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0113: %s: the private key file '%s' "
                     "is readable by the user or group the child processes run as (%s), so a "
                     "compromised child could read it; httpd reads keys as root at startup "
                     "(make it owned by root, mode 600) (defined at %s)", directive, path,
                     u->user_name ? u->user_name : "User", spec->defined_at);
    }
}

void tls_cert_report(server_rec *s, const tls_cert_spec *spec, const tlsr_certified_key *key)
{
    apr_time_t not_before, not_after, now = apr_time_now();
    char date[APR_RFC822_DATE_LEN];

    if (tls_ffi_certified_key_validity(key, &not_before, &not_after) != APR_SUCCESS) {
        return;
    }
    if (now > not_after) {
        apr_rfc822_date(date, not_after);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0107: TLSCertificate: certificate '%s' expired on %s; clients will "
                     "refuse it (defined at %s)", spec->cert_file, date, spec->defined_at);
    }
    else if (now < not_before) {
        apr_rfc822_date(date, not_before);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0108: TLSCertificate: certificate '%s' is not valid before %s; clients "
                     "will refuse it (defined at %s)", spec->cert_file, date, spec->defined_at);
    }
}

apr_status_t tls_cert_get(tls_cert_registry *reg, const tls_cert_spec *spec, server_rec *s,
                          const tlsr_certified_key **key)
{
    const char *id, *cert_pem, *key_pem = NULL, *err;
    apr_size_t cert_len, key_len = 0;
    apr_status_t rv;

    id = apr_pstrcat(reg->pool, spec->cert_file, "\n", spec->key_file ? spec->key_file : "", NULL);
    *key = apr_hash_get(reg->keys, id, APR_HASH_KEY_STRING);
    if (*key) {
        return APR_SUCCESS;
    }
    err = tls_cert_read_file(reg->pool, "certificate", spec->cert_file, &cert_pem, &cert_len);
    if (!err && spec->key_file) {
        err = tls_cert_read_file(reg->pool, "key", spec->key_file, &key_pem, &key_len);
    }
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0103: TLSCertificate: %s (defined at %s)",
                     err, spec->defined_at);
        return APR_EGENERAL;
    }
    rv = tls_ffi_certified_key_load(reg->pool, cert_pem, cert_len, key_pem, key_len, key, &err);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "TLS0104: TLSCertificate: %s (certificate '%s', key %s%s%s, defined at %s)",
                     err, spec->cert_file, spec->key_file ? "'" : "in the certificate file",
                     spec->key_file ? spec->key_file : "", spec->key_file ? "'" : "",
                     spec->defined_at);
        return rv;
    }
    apr_hash_set(reg->keys, id, APR_HASH_KEY_STRING, *key);
    return APR_SUCCESS;
}
