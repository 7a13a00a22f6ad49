/* tls_client.h -- client certificate authentication: one policy per distinct combination of
 * TLSClientCertificate, TLSClientCA, TLSClientCRL and TLSVerifyDepth, built at check_config
 * and shared by the vhosts that have it (so "same client-auth settings" is pointer equality,
 * for the 421 check); the startup report of its CRLs; TLSUserName. */
#ifndef TLS_CLIENT_H
#define TLS_CLIENT_H

#include <httpd.h>
#include <apr_hash.h>
#include "tls_config.h"
#include "tls_ffi.h"

typedef struct tls_client_policy {
    int mode;                          /* TLS_CLIENT_OPTIONAL or TLS_CLIENT_REQUIRED */
    int depth;                         /* TLSVerifyDepth */
    const char *ca_file;
    const apr_array_header_t *crl_files; /* const char *, may be NULL */
    tlsr_client_auth *auth;            /* the crate's policy, freed with pconf */
    int reported;                      /* the post_config report was written */
} tls_client_policy;

/* The policy of a TLS vhost: NULL with TLSClientCertificate none (whose TLSClientCA and
 * TLSClientCRL files, if any, are still read and checked); on a configuration mistake logs it
 * (naming directive, file and vhost), sets *failed and returns NULL. `policies` (in pconf)
 * shares policies between vhosts of one generation. */
const tls_client_policy *tls_client_policy_get(apr_pool_t *pconf, apr_pool_t *ptemp,
                                               server_rec *s, const tls_conf_server *sc,
                                               apr_hash_t *policies, int *failed);

/* post_config: CRLs that have expired or are not yet valid, once per policy. */
void tls_client_report(apr_pool_t *ptemp, server_rec *s, const tls_client_policy *policy);

/* access_checker: TLSUserName sets r->user from an SSL variable, as mod_ssl's SSLUserName. */
int tls_client_user_name(request_rec *r);

#endif /* TLS_CLIENT_H */
