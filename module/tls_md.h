/* tls_md.h -- certificates from mod_md (or any module using httpd's ap_ssl_* certificate
 * hooks): certificate files, fallback certificates, ACME tls-alpn-01 challenges and OCSP
 * stapling.
 *
 * Phases: tls_md_provides_certs() at check_config (tls_server.c), tls_md_post_config() at
 * post_config (after mod_md's first post_config hook, which names mod_tls.c as its successor;
 * before its second, which names mod_tls.c as its predecessor), the rest per connection. */
#ifndef TLS_MD_H
#define TLS_MD_H

#include <httpd.h>
#include "tls_config.h"
#include "tls_ffi.h"

struct tls_vhost_tls;

#define TLS_MD_OCSP_ID_LEN 20            /* SHA-1 of the leaf certificate's DER */
#define TLS_MD_ACME_TLS_1 "acme-tls/1"   /* RFC 8737 ALPN protocol of tls-alpn-01 */

/* Non-zero if a module may provide certificates at post_config (mod_md is loaded): a TLS
 * server without TLSCertificate is then not an error at check_config. */
int tls_md_provides_certs(void);

/* post_config, both startup passes: for every TLS server, adds the certificates other
 * modules provide (ap_ssl_add_cert_files) and builds its configs with them; a server with
 * none gets a fallback certificate (ap_ssl_add_fallback_cert_files) and answers 503, or stops
 * startup naming it. On the real pass, then primes OCSP stapling (ap_ssl_ocsp_prime) for every certificate
 * with an issuer in its chain. pconf: the generation's pool; ptemp: scratch. */
int tls_md_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *base);

/* In a handshake, after the vhost s was chosen: sets the current OCSP response of each of
 * its keys (ap_ssl_ocsp_get_resp), before rustls picks one. */
void tls_md_staple(conn_rec *c, server_rec *s, const struct tls_vhost_tls *tls);

/* In a handshake whose ALPN chose acme-tls/1 for vhost s: switches the connection to that
 * protocol (mod_md needs it) and asks for the challenge certificate of `sni`. APR_SUCCESS:
 * *config (on c->pool) holds only that certificate, ALPN acme-tls/1 and no client
 * authentication. APR_ENOENT: no challenge for that name (go on as usual). Other: failure,
 * logged. */
apr_status_t tls_md_challenge(conn_rec *c, server_rec *s, const char *sni,
                              const tlsr_server_config **config);

#endif /* TLS_MD_H */
