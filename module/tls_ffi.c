/* tls_ffi.c -- the module's only door to the Rust crate: status mapping, error texts, and
 * create-with-cleanup wrappers so that every crate object is freed with its pool. */
#include <apr_strings.h>
#include <string.h>

#include "tlsr.h"
#include "tls_ffi.h"

#define ERRBUF_SIZE 512

/* tls_ffi.h repeats a few of the crate's constants for the module: they must agree. */
_Static_assert(TLS_FFI_TICKET_KEY_LEN == TLSR_TICKET_KEY_LEN, "ticket key length");
_Static_assert(TLS_FFI_CLIENT_OPTIONAL == TLSR_CLIENT_AUTH_OPTIONAL
               && TLS_FFI_CLIENT_REQUIRED == TLSR_CLIENT_AUTH_REQUIRED, "client auth modes");
_Static_assert(TLS_FFI_PEER_CERT_MISSING == TLS_FFI_ERROR(TLSR_PEER_CERT_MISSING)
               && TLS_FFI_PEER_CERT_REFUSED == TLS_FFI_ERROR(TLSR_PEER_CERT_REFUSED),
               "peer certificate statuses");
_Static_assert(TLS_FFI_X509_SUBJECT == TLSR_X509_SUBJECT && TLS_FFI_X509_PEM == TLSR_X509_PEM
               && TLS_FFI_X509_SIG_ALG == TLSR_X509_SIG_ALG, "X.509 fields");
_Static_assert(TLS_FFI_SAN_DNS == TLSR_SAN_DNS && TLS_FFI_SAN_EMAIL == TLSR_SAN_EMAIL, "SANs");
_Static_assert(TLS_FFI_ALERT_UNRECOGNIZED_NAME == TLSR_ALERT_UNRECOGNIZED_NAME
               && TLS_FFI_ALERT_HANDSHAKE_FAILURE == TLSR_ALERT_HANDSHAKE_FAILURE, "alerts");

static apr_status_t status(tlsr_status st)
{
    switch (st) {
    case TLSR_OK: return APR_SUCCESS;
    case TLSR_WOULD_BLOCK: return APR_EAGAIN;
    case TLSR_EOF: return APR_EOF;
    default: return TLS_FFI_ERROR((int)st);
    }
}

const char *tls_ffi_strerror(apr_pool_t *p, apr_status_t rv)
{
    char buf[256];

    if (TLS_FFI_IS_ERROR(rv)) {
        return tlsr_status_str((tlsr_status)(rv - TLS_FFI_ERROR(0)));
    }
    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

const char *tls_ffi_crate_version(void)
{
    return tlsr_version();
}

const char *tls_ffi_rustls_version(void)
{
    return tlsr_rustls_version();
}

uint16_t tls_ffi_suite_version(uint16_t suite)
{
    return tlsr_suite_version(suite);
}

apr_array_header_t *tls_ffi_supported_suites(apr_pool_t *p)
{
    size_t n = tlsr_supported_suites(NULL, 0);
    apr_array_header_t *a = apr_array_make(p, (int)n, sizeof(uint16_t));

    a->nelts = (int)tlsr_supported_suites((uint16_t *)a->elts, n);
    return a;
}

/* Cleanups: each frees one kind of crate object when its pool goes. */
static apr_status_t free_certified_key(void *o) { tlsr_certified_key_free(o); return APR_SUCCESS; }
static apr_status_t free_server_config(void *o) { tlsr_server_config_free(o); return APR_SUCCESS; }
static apr_status_t free_acceptor(void *o) { tlsr_acceptor_free(o); return APR_SUCCESS; }
static apr_status_t free_conn(void *o) { tlsr_conn_free(o); return APR_SUCCESS; }
static apr_status_t free_x509(void *o) { tlsr_x509_free(o); return APR_SUCCESS; }
static apr_status_t free_client_auth(void *o) { tlsr_client_auth_free(o); return APR_SUCCESS; }
static apr_status_t free_client_config(void *o) { tlsr_client_config_free(o); return APR_SUCCESS; }

/* Registers a cleanup for a crate object, casting away the const of shared handles: the
 * cleanup is the one place that releases them. */
static void on_pool(apr_pool_t *p, const void *obj, apr_status_t (*fn)(void *))
{
    apr_pool_cleanup_register(p, (void *)obj, fn, apr_pool_cleanup_null);
}

apr_status_t tls_ffi_certified_key_load(apr_pool_t *p, const char *cert_pem, apr_size_t cert_len,
                                        const char *key_pem, apr_size_t key_len,
                                        const tlsr_certified_key **key, const char **err)
{
    char errbuf[ERRBUF_SIZE] = "";
    tlsr_status st;

    st = tlsr_certified_key_load((const uint8_t *)cert_pem, cert_len, (const uint8_t *)key_pem,
                                 key_pem ? key_len : 0, key, errbuf, sizeof(errbuf));
    if (st != TLSR_OK) {
        *err = apr_pstrdup(p, errbuf[0] ? errbuf : tlsr_status_str(st));
        return status(st);
    }
    on_pool(p, *key, free_certified_key);
    return APR_SUCCESS;
}

apr_size_t tls_ffi_certified_key_chain_len(const tlsr_certified_key *key)
{
    return tlsr_certified_key_chain_len(key);
}

apr_status_t tls_ffi_certified_key_der(const tlsr_certified_key *key, apr_size_t index,
                                       const unsigned char **der, apr_size_t *len)
{
    const uint8_t *p;
    size_t n;
    tlsr_status st = tlsr_certified_key_cert_der(key, index, &p, &n);

    if (st == TLSR_OK) {
        *der = p;
        *len = n;
    }
    return status(st);
}

apr_status_t tls_ffi_certified_key_set_ocsp(const tlsr_certified_key *key,
                                            const unsigned char *der, apr_size_t len)
{
    return status(tlsr_certified_key_set_ocsp(key, der, len));
}

apr_status_t tls_ffi_certified_key_validity(const tlsr_certified_key *key,
                                            apr_time_t *not_before, apr_time_t *not_after)
{
    int64_t nb, na;
    tlsr_status st = tlsr_certified_key_validity(key, &nb, &na);

    if (st == TLSR_OK) {
        *not_before = apr_time_from_sec(nb);
        *not_after = apr_time_from_sec(na);
    }
    return status(st);
}

apr_status_t tls_ffi_server_config_build(apr_pool_t *p, const tls_ffi_server_params *params,
                                         const tlsr_server_config **config, const char **err)
{
    tlsr_server_config_builder *b = NULL;
    char errbuf[ERRBUF_SIZE] = "";
    tlsr_status st;
    int i;

    if ((st = tlsr_server_config_builder_new(&b)) != TLSR_OK
        || (st = tlsr_server_config_builder_set_versions(b, params->versions,
                                                         (size_t)params->n_versions)) != TLSR_OK
        || (st = tlsr_server_config_builder_set_suites(b, params->suites,
                                                       (size_t)params->n_suites)) != TLSR_OK
        || (st = tlsr_server_config_builder_set_ignore_client_order(
                     b, params->ignore_client_order)) != TLSR_OK) {
        goto cleanup;
    }
    for (i = 0; i < params->n_keys; ++i) {
        if ((st = tlsr_server_config_builder_add_certified_key(b, params->keys[i])) != TLSR_OK) {
            goto cleanup;
        }
    }
    if (params->n_ticket_keys > 0
        && (st = tlsr_server_config_builder_set_ticket_keys(
                b, params->ticket_keys, (size_t)params->n_ticket_keys,
                params->ticket_lifetime)) != TLSR_OK) {
        goto cleanup;
    }
    if (params->client_auth
        && (st = tlsr_server_config_builder_set_client_auth(b, params->client_auth)) != TLSR_OK) {
        goto cleanup;
    }
    st = params->session_store
         ? tlsr_server_config_builder_set_session_store(b, params->session_store,
                                                        params->session_put,
                                                        params->session_get)
         : tlsr_server_config_builder_set_session_cache_size(b, params->session_cache_size);
    if (st != TLSR_OK) {
        goto cleanup;
    }
    st = tlsr_server_config_builder_build(b, config, errbuf, sizeof(errbuf));
    b = NULL; /* consumed by build, on success and on failure */
    if (st == TLSR_OK) {
        on_pool(p, *config, free_server_config);
    }
cleanup:
    tlsr_server_config_builder_free(b);
    if (st != TLSR_OK) {
        *err = apr_pstrdup(p, errbuf[0] ? errbuf : tlsr_status_str(st));
    }
    return status(st);
}

apr_status_t tls_ffi_server_config_with_alpn(apr_pool_t *p, const tlsr_server_config *base,
                                             const char *proto,
                                             const tlsr_server_config **config)
{
    tlsr_status st = tlsr_server_config_with_alpn(base, (const uint8_t *)proto,
                                                  proto ? strlen(proto) : 0, config);
    if (st == TLSR_OK) {
        on_pool(p, *config, free_server_config);
    }
    return status(st);
}

/* --- client authentication policies ------------------------------------------------------- */

apr_status_t tls_ffi_client_auth_create(apr_pool_t *p, const char *ca_pem, apr_size_t ca_len,
                                        int mode, unsigned depth, tlsr_client_auth **auth,
                                        const char **err)
{
    char errbuf[ERRBUF_SIZE] = "";
    tlsr_status st = tlsr_client_auth_new((const uint8_t *)ca_pem, ca_len, mode, depth, auth,
                                          errbuf, sizeof(errbuf));

    if (st == TLSR_OK) {
        on_pool(p, *auth, free_client_auth);
    }
    else {
        *err = apr_pstrdup(p, errbuf[0] ? errbuf : tlsr_status_str(st));
    }
    return status(st);
}

apr_status_t tls_ffi_client_auth_add_crls(apr_pool_t *p, tlsr_client_auth *auth,
                                          const char *data, apr_size_t len, apr_size_t *added,
                                          const char **err)
{
    char errbuf[ERRBUF_SIZE] = "";
    size_t n = 0;
    tlsr_status st = tlsr_client_auth_add_crls(auth, (const uint8_t *)data, len, &n, errbuf,
                                               sizeof(errbuf));

    *added = n;
    if (st != TLSR_OK) {
        *err = apr_pstrdup(p, errbuf[0] ? errbuf : tlsr_status_str(st));
    }
    return status(st);
}

apr_status_t tls_ffi_client_auth_crl(apr_pool_t *p, const tlsr_client_auth *auth, size_t index,
                                     const char **issuer, apr_time_t *this_update,
                                     apr_time_t *next_update, apr_size_t *revoked)
{
    const char *s = NULL;
    size_t len = 0, n = 0;
    int64_t tu = 0, nu = 0;
    tlsr_status st = tlsr_client_auth_crl_info(auth, index, &s, &len, &tu, &nu, &n);

    if (st == TLSR_OK) {
        *issuer = apr_pstrmemdup(p, s, len);
        *this_update = apr_time_from_sec(tu);
        *next_update = nu ? apr_time_from_sec(nu) : 0;
        *revoked = n;
    }
    return status(st);
}

/* --- acceptor ------------------------------------------------------------------------------ */

apr_status_t tls_ffi_acceptor_create(apr_pool_t *p, tlsr_acceptor **acceptor)
{
    tlsr_status st = tlsr_acceptor_new(acceptor);

    if (st == TLSR_OK) {
        on_pool(p, *acceptor, free_acceptor);
    }
    return status(st);
}

apr_status_t tls_ffi_acceptor_feed(tlsr_acceptor *a, const char *buf, apr_size_t len,
                                   apr_size_t *consumed)
{
    return status(tlsr_acceptor_read_tls(a, (const uint8_t *)buf, len, consumed));
}

apr_status_t tls_ffi_acceptor_accept(tlsr_acceptor *a)
{
    return status(tlsr_acceptor_accept(a));
}

const char *tls_ffi_acceptor_sni(tlsr_acceptor *a, apr_pool_t *p)
{
    const char *name = NULL;
    size_t len = 0;

    if (tlsr_acceptor_sni(a, &name, &len) != TLSR_OK || !name || !len) {
        return NULL;
    }
    return apr_pstrmemdup(p, name, len);
}

apr_array_header_t *tls_ffi_acceptor_alpn(tlsr_acceptor *a, apr_pool_t *p)
{
    size_t i, n = tlsr_acceptor_alpn_count(a);
    apr_array_header_t *protos;

    if (!n) {
        return NULL;
    }
    protos = apr_array_make(p, (int)n, sizeof(const char *));
    for (i = 0; i < n; ++i) {
        const uint8_t *proto;
        size_t len;
        if (tlsr_acceptor_alpn(a, i, &proto, &len) == TLSR_OK) {
            APR_ARRAY_PUSH(protos, const char *) = apr_pstrmemdup(p, (const char *)proto, len);
        }
    }
    return protos;
}

apr_status_t tls_ffi_acceptor_into_conn(tlsr_acceptor *a, const tlsr_server_config *config,
                                        apr_pool_t *p, tlsr_conn **conn)
{
    tlsr_status st = tlsr_acceptor_into_conn(a, config, conn);

    if (st == TLSR_OK) {
        on_pool(p, *conn, free_conn);
    }
    return status(st);
}

void tls_ffi_acceptor_destroy(apr_pool_t *p, tlsr_acceptor *a)
{
    apr_pool_cleanup_run(p, a, free_acceptor);
}

apr_status_t tls_ffi_acceptor_reject(tlsr_acceptor *a, int alert)
{
    return status(tlsr_acceptor_reject(a, (uint8_t)alert));
}

apr_status_t tls_ffi_acceptor_take_tls(tlsr_acceptor *a, char *buf, apr_size_t cap,
                                       apr_size_t *produced)
{
    return status(tlsr_acceptor_write_tls(a, (uint8_t *)buf, cap, produced));
}

const char *tls_ffi_acceptor_error(tlsr_acceptor *a, apr_pool_t *p)
{
    char buf[ERRBUF_SIZE] = "";
    size_t len;

    tlsr_acceptor_last_error(a, buf, sizeof(buf), &len);
    return apr_pstrdup(p, buf);
}

/* --- connection ---------------------------------------------------------------------------- */

apr_status_t tls_ffi_conn_feed(tlsr_conn *conn, const char *buf, apr_size_t len,
                               apr_size_t *consumed)
{
    return status(tlsr_conn_read_tls(conn, (const uint8_t *)buf, len, consumed));
}

apr_status_t tls_ffi_conn_take_tls(tlsr_conn *conn, char *buf, apr_size_t cap,
                                   apr_size_t *produced)
{
    return status(tlsr_conn_write_tls(conn, (uint8_t *)buf, cap, produced));
}

apr_status_t tls_ffi_conn_read(tlsr_conn *conn, char *buf, apr_size_t cap, apr_size_t *n)
{
    return status(tlsr_conn_read(conn, (uint8_t *)buf, cap, n));
}

apr_status_t tls_ffi_conn_write(tlsr_conn *conn, const char *buf, apr_size_t len)
{
    size_t n = 0;
    tlsr_status st = tlsr_conn_write(conn, (const uint8_t *)buf, len, &n);

    if (st == TLSR_OK && n != len) {
        st = TLSR_BUFFER_LIMIT;
    }
    return status(st);
}

apr_status_t tls_ffi_conn_close_notify(tlsr_conn *conn)
{
    return status(tlsr_conn_send_close_notify(conn));
}

int tls_ffi_conn_is_handshaking(const tlsr_conn *conn)
{
    return tlsr_conn_is_handshaking(conn);
}

int tls_ffi_conn_wants_write(const tlsr_conn *conn)
{
    return tlsr_conn_wants_write(conn);
}

apr_size_t tls_ffi_conn_plaintext_pending(const tlsr_conn *conn)
{
    return tlsr_conn_plaintext_pending(conn);
}

uint16_t tls_ffi_conn_version(const tlsr_conn *conn)
{
    return tlsr_conn_protocol_version(conn);
}

uint16_t tls_ffi_conn_suite(const tlsr_conn *conn)
{
    return tlsr_conn_cipher_suite(conn);
}

const char *tls_ffi_conn_alpn(const tlsr_conn *conn, apr_pool_t *p)
{
    const uint8_t *proto = NULL;
    size_t len = 0;

    if (tlsr_conn_alpn(conn, &proto, &len) != TLSR_OK || !proto || !len) {
        return NULL;
    }
    return apr_pstrmemdup(p, (const char *)proto, len);
}

const char *tls_ffi_conn_error(tlsr_conn *conn, apr_pool_t *p)
{
    char buf[ERRBUF_SIZE] = "";
    size_t len;

    tlsr_conn_last_error(conn, buf, sizeof(buf), &len);
    return apr_pstrdup(p, buf);
}

int tls_ffi_conn_is_resumed(const tlsr_conn *conn)
{
    return tlsr_conn_is_resumed(conn);
}

const char *tls_ffi_conn_session_id(const tlsr_conn *conn, apr_pool_t *p)
{
    const uint8_t *id = NULL;
    size_t len = 0, i;
    char *hex;

    if (tlsr_conn_session_id(conn, &id, &len) != TLSR_OK || !len) {
        return NULL;
    }
    hex = apr_palloc(p, 2 * len + 1);
    for (i = 0; i < len; ++i) {
        apr_snprintf(hex + 2 * i, 3, "%02x", id[i]);
    }
    return hex;
}

int tls_ffi_conn_peer_cert_count(const tlsr_conn *conn)
{
    size_t n = tlsr_conn_peer_cert_count(conn);

    return n > 64 ? 64 : (int)n;
}

int tls_ffi_conn_key_index(const tlsr_conn *conn)
{
    size_t index = 0;

    return tlsr_conn_certified_key_index(conn, &index) == TLSR_OK ? (int)index : 0;
}

/* --- X.509 --------------------------------------------------------------------------------- */

apr_status_t tls_ffi_x509_of_key(apr_pool_t *p, const tlsr_certified_key *key, size_t index,
                                 tlsr_x509 **cert)
{
    const uint8_t *der;
    size_t len;
    tlsr_status st = tlsr_certified_key_cert_der(key, index, &der, &len);

    if (st == TLSR_OK) {
        st = tlsr_x509_parse(der, len, cert);
    }
    if (st == TLSR_OK) {
        on_pool(p, *cert, free_x509);
    }
    return status(st);
}

/* A borrowed crate text copied into p, or NULL. The crate call must be made before this one
 * (not as its argument): C leaves the order in which arguments are evaluated open. */
static const char *text(tlsr_status st, const char *s, size_t len, apr_pool_t *p)
{
    return st == TLSR_OK ? apr_pstrmemdup(p, s, len) : NULL;
}

const char *tls_ffi_x509_text(const tlsr_x509 *cert, int field, apr_pool_t *p)
{
    const char *s = NULL;
    size_t len = 0;

    tlsr_status st = tlsr_x509_text(cert, (tlsr_x509_field)field, &s, &len);

    return text(st, s, len, p);
}

const char *tls_ffi_x509_dn_attr(const tlsr_x509 *cert, int issuer, const char *attr,
                                 size_t index, apr_pool_t *p)
{
    const char *s = NULL;
    size_t len = 0;

    tlsr_status st = tlsr_x509_dn_attr(cert, issuer, attr, index, &s, &len);

    return text(st, s, len, p);
}

const char *tls_ffi_x509_san(const tlsr_x509 *cert, int type, size_t index, apr_pool_t *p)
{
    const char *s = NULL;
    size_t len = 0;

    tlsr_status st = tlsr_x509_san(cert, type, index, &s, &len);

    return text(st, s, len, p);
}

apr_status_t tls_ffi_x509_of_peer(apr_pool_t *p, const tlsr_conn *conn, size_t index,
                                  tlsr_x509 **cert)
{
    const uint8_t *der;
    size_t len;
    tlsr_status st = tlsr_conn_peer_cert_der(conn, index, &der, &len);

    if (st == TLSR_OK) {
        st = tlsr_x509_parse(der, len, cert);
    }
    if (st == TLSR_OK) {
        on_pool(p, *cert, free_x509);
    }
    return status(st);
}

apr_status_t tls_ffi_x509_validity(const tlsr_x509 *cert, apr_time_t *not_before,
                                   apr_time_t *not_after)
{
    int64_t nb, na;
    tlsr_status st = tlsr_x509_validity(cert, &nb, &na);

    if (st == TLSR_OK) {
        *not_before = apr_time_from_sec(nb);
        *not_after = apr_time_from_sec(na);
    }
    return status(st);
}

/* --- client configs and connections to backends (proxy) ----------------------------------- */

apr_status_t tls_ffi_client_config_build(apr_pool_t *p, const tls_ffi_client_params *params,
                                         const tlsr_client_config **config, size_t *n_anchors,
                                         const char **err)
{
    tlsr_client_config_builder *b = NULL;
    char errbuf[ERRBUF_SIZE] = "";
    tlsr_status st;
    int i;

    *n_anchors = 0;
    if ((st = tlsr_client_config_builder_new(&b)) != TLSR_OK
        || (st = tlsr_client_config_builder_set_versions(b, params->versions,
                                                         (size_t)params->n_versions)) != TLSR_OK
        || (st = tlsr_client_config_builder_set_suites(b, params->suites,
                                                       (size_t)params->n_suites)) != TLSR_OK
        || (st = tlsr_client_config_builder_set_session_cache_size(
                     b, params->session_cache_size)) != TLSR_OK) {
        goto cleanup;
    }
    if (params->ca_pem
        && (st = tlsr_client_config_builder_add_ca_pem(b, (const uint8_t *)params->ca_pem,
                                                       params->ca_len, n_anchors, errbuf,
                                                       sizeof(errbuf))) != TLSR_OK) {
        goto cleanup;
    }
    for (i = 0; i < params->n_keys; ++i) {
        if ((st = tlsr_client_config_builder_add_certified_key(b, params->keys[i])) != TLSR_OK) {
            goto cleanup;
        }
    }
    st = tlsr_client_config_builder_build(b, config, errbuf, sizeof(errbuf));
    b = NULL; /* consumed by build, on success and on failure */
    if (st == TLSR_OK) {
        on_pool(p, *config, free_client_config);
    }
cleanup:
    tlsr_client_config_builder_free(b);
    if (st != TLSR_OK) {
        *err = apr_pstrdup(p, errbuf[0] ? errbuf : tlsr_status_str(st));
    }
    return status(st);
}

apr_status_t tls_ffi_client_config_with_alpn(apr_pool_t *p, const tlsr_client_config *base,
                                             const char *const *protos, int n,
                                             const tlsr_client_config **config)
{
    const uint8_t *ptrs[8];
    size_t lens[8];
    tlsr_status st;
    int i;

    if (n > 8) {
        n = 8;
    }
    for (i = 0; i < n; ++i) {
        ptrs[i] = (const uint8_t *)protos[i];
        lens[i] = strlen(protos[i]);
    }
    st = tlsr_client_config_with_alpn(base, ptrs, lens, (size_t)n, config);
    if (st == TLSR_OK) {
        on_pool(p, *config, free_client_config);
    }
    return status(st);
}

apr_status_t tls_ffi_client_conn_create(apr_pool_t *p, const tlsr_client_config *config,
                                        const char *host, tlsr_conn **conn, const char **err)
{
    char errbuf[ERRBUF_SIZE] = "";
    tlsr_status st = tlsr_client_conn_new(config, host, conn, errbuf, sizeof(errbuf));

    if (st != TLSR_OK) {
        *err = apr_pstrdup(p, errbuf[0] ? errbuf : tlsr_status_str(st));
        return status(st);
    }
    on_pool(p, *conn, free_conn);
    return APR_SUCCESS;
}
