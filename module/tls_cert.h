/* tls_cert.h -- reading certificate and key files into crate objects.
 *
 * A registry, created per configuration generation on pconf, makes sure each (certificate,
 * key) pair is read and parsed once, however many virtual hosts use it. */
#ifndef TLS_CERT_H
#define TLS_CERT_H

#include <httpd.h>
#include "tls_config.h"
#include "tls_ffi.h"

typedef struct tls_cert_registry tls_cert_registry;

/* Reads a whole (PEM or DER) file of at most TLS_PEM_MAX bytes into p, NUL-terminated. On
 * failure returns a message for the admin that names `what` and the file. */
const char *tls_cert_read_file(apr_pool_t *p, const char *what, const char *path,
                               const char **data, apr_size_t *len);

/* A registry whose keys live as long as p (pconf). */
tls_cert_registry *tls_cert_registry_create(apr_pool_t *p);

/* The certified key for spec, loading it on first use. On failure logs why at EMERG on s
 * (naming TLSCertificate, the file(s) and where the directive is) and returns an error.
 * A certificate outside its validity period loads (see tls_cert_report). */
apr_status_t tls_cert_get(tls_cert_registry *reg, const tls_cert_spec *spec, server_rec *s,
                          const tlsr_certified_key **key);

/* The SSL_SERVER_* variables of a key's certificate, computed once per key (NULL if its
 * certificate cannot be parsed). */
const apr_table_t *tls_cert_vars(tls_cert_registry *reg, const tlsr_certified_key *key);

/* Warns on s, once per file (seen: paths already checked, in a pool that lasts the report),
 * if the file holding spec's private key can be read by every user (TLS0112), or by the user
 * or group the child processes run as while the parent reads keys as root (TLS0113).
 * `directive` names the directive in the message. */
void tls_cert_check_key_access(apr_pool_t *p, server_rec *s, const char *directive,
                               const tls_cert_spec *spec, apr_hash_t *seen);

/* A certificate that expires in fewer days than this is warned about at each (re)start. */
#define TLS_CERT_EXPIRY_WARN_DAYS 14

/* Once per certificate file (seen: files reported, keys in a pool that lasts the report, p):
 * an error on s if the certificate has expired (TLS0107; the server starts), a warning if it
 * is not valid yet (TLS0108) or expires within TLS_CERT_EXPIRY_WARN_DAYS (TLS0115). The
 * message names the file, the subject and DNS names (from vars, its SSL_SERVER_* table) and
 * the date. */
void tls_cert_report(apr_pool_t *p, server_rec *s, const tls_cert_spec *spec,
                     const tlsr_certified_key *key, const apr_table_t *vars, apr_hash_t *seen);

/* The DNS names of a certificate (SSL_SERVER_SAN_DNS_n of its vars), ", "-separated; "" if
 * none. */
const char *tls_cert_dns_names(apr_pool_t *p, const apr_table_t *vars);

#endif /* TLS_CERT_H */
