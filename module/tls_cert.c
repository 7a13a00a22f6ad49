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

const char *tls_cert_dns_names(apr_pool_t *p, const apr_table_t *vars)
{
    const char *names = "", *name;
    int i;

    for (i = 0; vars && (name = apr_table_get(vars, apr_psprintf(p, "SSL_SERVER_SAN_DNS_%d", i)));
         ++i) {
        names = i ? apr_pstrcat(p, names, ", ", name, NULL) : name;
    }
    return names;
}

/* "subject CN=a.test,O=Example; names a.test, www.a.test" for messages. */
static const char *describe(apr_pool_t *p, const apr_table_t *vars)
{
    const char *subject = vars ? apr_table_get(vars, "SSL_SERVER_S_DN") : NULL;
    const char *names = tls_cert_dns_names(p, vars);

    return apr_pstrcat(p, "subject ", subject && *subject ? subject : "(empty)",
                       *names ? "; names " : "; no DNS names", names, NULL);
}

void tls_cert_report(apr_pool_t *p, server_rec *s, const tls_cert_spec *spec,
                     const tlsr_certified_key *key, const apr_table_t *vars, apr_hash_t *seen)
{
    apr_time_t not_before, not_after, now = apr_time_now();
    apr_interval_time_t left;
    char date[APR_RFC822_DATE_LEN];
    long days;

    if (apr_hash_get(seen, spec->cert_file, APR_HASH_KEY_STRING)) {
        return;
    }
    apr_hash_set(seen, apr_pstrdup(p, spec->cert_file), APR_HASH_KEY_STRING, "");
    if (tls_ffi_certified_key_validity(key, &not_before, &not_after) != APR_SUCCESS) {
        return;
    }
    left = not_after - now;
    days = (long)((left < 0 ? -left : left) / apr_time_from_sec(86400));
    apr_rfc822_date(date, not_after);
    if (left < 0) {
        /* an error for the admin to act on, but no reason to stop the server (mod_ssl starts
         * too): clients that do not check, and the other certificates, still work */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "TLS0107: TLSCertificate: certificate '%s' (%s) expired on %s, %ld day(s) "
                     "ago; clients refuse it: renew it (defined at %s)", spec->cert_file,
                     describe(p, vars), date, days, spec->defined_at);
    }
    else if (now < not_before) {
        apr_rfc822_date(date, not_before);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0108: TLSCertificate: certificate '%s' (%s) is not valid before %s; "
                     "clients will refuse it (defined at %s)", spec->cert_file,
                     describe(p, vars), date, spec->defined_at);
    }
    else if (left < apr_time_from_sec(86400 * TLS_CERT_EXPIRY_WARN_DAYS)) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0115: TLSCertificate: certificate '%s' (%s) expires on %s, in %ld "
                     "day(s): renew it (defined at %s)", spec->cert_file, describe(p, vars),
                     date, days, spec->defined_at);
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
