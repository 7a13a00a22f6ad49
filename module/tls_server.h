/* tls_server.h -- the TLS virtual hosts: which servers serve TLS, and their rustls configs.
 *
 * Runs at check_config (startup, every restart, and `apachectl -t`), so that every mistake
 * stops `-t` too: finalizes every server's config, decides which servers serve TLS (those
 * matching a TLSEngine address), loads their certificates and builds each one's immutable
 * rustls server configs once. Connections only pick among what was built here. */
#ifndef TLS_SERVER_H
#define TLS_SERVER_H

#include <httpd.h>
#include "tls_config.h"
#include "tls_ffi.h"

/* One rustls config per ALPN protocol the vhost may select, all sharing keys and sessions. */
typedef struct {
    const char *protocol;                 /* "h2", "http/1.1", ... */
    const tlsr_server_config *config;     /* offers exactly this protocol */
} tls_alpn_config;

/* What a TLS virtual host needs per connection; built once, read-only afterwards. */
typedef struct tls_vhost_tls {
    const tlsr_server_config *no_alpn;    /* for clients that offer no protocol we pick */
    apr_array_header_t *alpn;             /* tls_alpn_config */
    /* the settings it was built from, to compare vhosts (421) and to report: */
    apr_array_header_t *keys;             /* const tlsr_certified_key *, TLSCertificate order */
    apr_array_header_t *key_vars;         /* const apr_table_t *: SSL_SERVER_* of each key */
    apr_array_header_t *suites;           /* uint16_t, in preference order */
    uint16_t versions[2];                 /* enabled protocol versions, lowest first */
    int n_versions;
    const struct tls_client_policy *client; /* client certificates, or NULL (none) */
    const apr_array_header_t *certs;      /* tls_cert_spec each key was loaded from */
    /* set at post_config by tls_md.c: */
    int service_unavailable;              /* mod_md's fallback certificate: every request 503 */
    apr_array_header_t *ocsp_ids;         /* per key: const unsigned char * (SHA-1 of the leaf,
                                           * TLS_MD_OCSP_ID_LEN bytes) primed for stapling, or
                                           * NULL; the array is NULL when nothing is stapled */
} tls_vhost_tls;

/* At post_config (tls_md.c): builds the TLS setup of server s, which serves TLS, from these
 * certificates (tls_cert_spec), sharing the registry, session setup and client policies of
 * check_config's builds. Logs why on failure. */
int tls_server_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                     const apr_array_header_t *certs);

/* The check_config hook: validates and builds (errors stop startup and `apachectl -t`). */
int tls_server_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *s);

/* At post_config of the real startup pass: warnings and a summary per TLS server, once
 * (check_config's output may go to a terminal or nowhere; this goes to the error log). */
void tls_server_report(apr_pool_t *ptemp, server_rec *s);

/* Non-zero if a request for vhost b may be served on a connection set up for vhost a: both
 * serve TLS with the same certificates, protocol versions, cipher suites and client
 * certificate settings. */
int tls_server_compatible(const server_rec *a, const server_rec *b);

/* Non-zero if mod_tls terminates TLS for connections on this local address. */
int tls_server_is_tls_addr(server_rec *s, const apr_sockaddr_t *local);

/* The rustls config of a TLS vhost for the protocol chosen by ALPN (NULL: none). */
const tlsr_server_config *tls_server_config_for(const tls_conf_server *sc, const char *protocol);

/* "name:port (file:line)" for messages about a server. */
const char *tls_server_name(apr_pool_t *p, const server_rec *s);

#endif /* TLS_SERVER_H */
