/* tls_server.c -- which servers serve TLS, and building their rustls configs once. */
#include <apr_strings.h>
#include <apr_hash.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_listen.h>

#include "tls_server.h"
#include "tls_cert.h"
#include "tls_cache.h"
#include "tls_client.h"
#include "tls_md.h"
#include "tls_proto.h"

APLOG_USE_MODULE(tls);

/* What every vhost's build shares in one generation (pconf); kept for post_config. */
struct tls_server_build {
    tls_cert_registry *reg;               /* each certificate file pair parsed once */
    apr_array_header_t *supported;        /* uint16_t: the suites rustls implements */
    apr_hash_t *policies;                 /* client policies, shared by equal settings */
};

const char *tls_server_name(apr_pool_t *p, const server_rec *s)
{
    const char *name = s->server_hostname ? s->server_hostname : "(no ServerName)";

    apr_port_t port = s->port;

    if (!s->is_virtual) {
        return apr_psprintf(p, "main server %s", name);
    }
    /* a ServerName without a port leaves s->port 0: name the <VirtualHost>'s port instead */
    if (port == 0 && s->addrs) {
        port = s->addrs->host_port;
    }
    return apr_psprintf(p, "virtual host %s:%u (%s:%u)", name, (unsigned)port,
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}

/* Does a TLSEngine address cover this IP and port? A NULL ip stands for "every address". */
static int engine_covers(const tls_engine_addr *ea, const apr_sockaddr_t *ip, apr_port_t port)
{
    const apr_sockaddr_t *a;

    if (ea->port != port) {
        return 0;
    }
    if (!ea->host || !ip) {
        return 1;
    }
    for (a = ea->addrs; a; a = a->next) {
        if (apr_sockaddr_equal(a, ip)) {
            return 1;
        }
    }
    return 0;
}

int tls_server_is_tls_addr(server_rec *s, const apr_sockaddr_t *local)
{
    tls_conf_global *g = tls_config_server_get(s)->global;
    int i;

    for (i = 0; i < g->engine_addrs->nelts; ++i) {
        if (engine_covers(&APR_ARRAY_IDX(g->engine_addrs, i, tls_engine_addr), local,
                          local->port)) {
            return 1;
        }
    }
    return 0;
}

/* Does some Listen address receive connections for this TLSEngine address? */
static int engine_heard(const tls_engine_addr *ea)
{
    const ap_listen_rec *lr;

    for (lr = ap_listeners; lr; lr = lr->next) {
        const apr_sockaddr_t *la = lr->bind_addr;
        if (la && engine_covers(ea, apr_sockaddr_is_wildcard(la) ? NULL : la, la->port)) {
            return 1;
        }
    }
    return 0;
}

/* A vhost address as seen by httpd: a NULL ip for a wildcard (`*`, and `_default_`, which
 * httpd 2.4 parses the same), port 0 for "any port". */
static const apr_sockaddr_t *vhost_ip(const server_addr_rec *sar)
{
    return apr_sockaddr_is_wildcard(sar->host_addr) ? NULL : sar->host_addr;
}

/* A vhost serves TLS when one of its addresses is on a TLSEngine address. */
static int vhost_is_tls(const server_rec *s, const tls_conf_global *g)
{
    const server_addr_rec *sar;
    int i;

    for (sar = s->addrs; sar; sar = sar->next) {
        for (i = 0; i < g->engine_addrs->nelts; ++i) {
            const tls_engine_addr *ea = &APR_ARRAY_IDX(g->engine_addrs, i, tls_engine_addr);
            if (sar->host_port && sar->host_port != ea->port) {
                continue;
            }
            if (engine_covers(ea, vhost_ip(sar), ea->port)) {
                return 1;
            }
        }
    }
    return 0;
}

/* The main server serves TLS when some connection on a TLSEngine address can reach it, i.e.
 * when the address is listened on and no vhost claims every IP of it (httpd falls back to the
 * main server). */
static int main_server_is_tls(server_rec *main, const tls_conf_global *g)
{
    const server_rec *s;
    const server_addr_rec *sar;
    int i;

    for (i = 0; i < g->engine_addrs->nelts; ++i) {
        const tls_engine_addr *ea = &APR_ARRAY_IDX(g->engine_addrs, i, tls_engine_addr);
        int covered = !engine_heard(ea); /* no connection arrives there at all */
        for (s = main->next; s && !covered; s = s->next) {
            for (sar = s->addrs; sar && !covered; sar = sar->next) {
                if (sar->host_port && sar->host_port != ea->port) {
                    continue;
                }
                covered = !vhost_ip(sar) || (ea->host && engine_covers(ea, vhost_ip(sar), ea->port));
            }
        }
        if (!covered) {
            return 1;
        }
    }
    return 0;
}

/* The suites for a vhost: TLSCiphersPrefer first (in its order), then the rest in rustls'
 * order, without TLSCiphersSuppress and without suites rustls does not implement. */
static apr_array_header_t *vhost_suites(apr_pool_t *p, const tls_conf_server *sc,
                                        const apr_array_header_t *supported)
{
    apr_array_header_t *out = apr_array_make(p, supported->nelts, sizeof(uint16_t));
    const apr_array_header_t *lists[2];
    int l, i, j, k;

    lists[0] = sc->ciphers_prefer;
    lists[1] = supported;
    for (l = 0; l < 2; ++l) {
        for (i = 0; i < lists[l]->nelts; ++i) {
            uint16_t id = APR_ARRAY_IDX(lists[l], i, uint16_t);
            int skip = !tls_ffi_suite_version(id);
            for (j = 0; !skip && j < sc->ciphers_suppress->nelts; ++j) {
                skip = APR_ARRAY_IDX(sc->ciphers_suppress, j, uint16_t) == id;
            }
            for (k = 0; !skip && k < out->nelts; ++k) {
                skip = APR_ARRAY_IDX(out, k, uint16_t) == id;
            }
            if (!skip) {
                APR_ARRAY_PUSH(out, uint16_t) = id;
            }
        }
    }
    return out;
}

/* The versions rustls implements from TLSProtocol's minimum on. */
static const uint16_t RUSTLS_VERSIONS[] = { TLS_VERSION_12, TLS_VERSION_13 };

static int has_suite_for(const apr_array_header_t *suites, uint16_t version)
{
    int i;

    for (i = 0; i < suites->nelts; ++i) {
        if (tls_ffi_suite_version(APR_ARRAY_IDX(suites, i, uint16_t)) == version) {
            return 1;
        }
    }
    return 0;
}

/* The versions to enable: from TLSProtocol's minimum on, those that keep a suite. */
static const char *vhost_versions(const tls_conf_server *sc, const apr_array_header_t *suites,
                                  uint16_t *versions, int *n)
{
    int i;

    *n = 0;
    for (i = 0; i < 2; ++i) {
        if (RUSTLS_VERSIONS[i] >= sc->min_version && has_suite_for(suites, RUSTLS_VERSIONS[i])) {
            versions[(*n)++] = RUSTLS_VERSIONS[i];
        }
    }
    if (*n == 0) {
        return "TLSCiphersSuppress leaves no cipher suite for the protocol versions that "
               "TLSProtocol enables";
    }
    return NULL;
}

/* The protocols a vhost may select by ALPN: its `Protocols`, or http/1.1. */
static apr_array_header_t *vhost_protocols(apr_pool_t *p, server_rec *s)
{
    core_server_config *core = ap_get_core_module_config(s->module_config);
    apr_array_header_t *protos;

    if (core->protocols && core->protocols->nelts > 0) {
        return core->protocols;
    }
    protos = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(protos, const char *) = "http/1.1";
    return protos;
}

static int build_vhost(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, tls_conf_server *sc,
                       const apr_array_header_t *certs, struct tls_server_build *b)
{
    tls_cert_registry *reg = b->reg;
    const apr_array_header_t *supported = b->supported;
    apr_hash_t *policies = b->policies;
    tls_ffi_server_params params;
    apr_array_header_t *keys, *protos;
    tls_vhost_tls *tls;
    const char *err;
    int i, rv = OK;

    if (certs->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "TLS0105: %s serves TLS (TLSEngine) but has no TLSCertificate",
                     tls_server_name(ptemp, s));
        return !OK;
    }
    keys = apr_array_make(pconf, certs->nelts, sizeof(const tlsr_certified_key *));
    for (i = 0; i < certs->nelts; ++i) {
        const tlsr_certified_key **key = apr_array_push(keys);
        if (tls_cert_get(reg, &APR_ARRAY_IDX(certs, i, tls_cert_spec), s, key)
            != APR_SUCCESS) {
            rv = !OK;
        }
    }
    if (rv != OK) {
        return rv;
    }
    tls = apr_pcalloc(pconf, sizeof(*tls));
    tls->client = tls_client_policy_get(pconf, ptemp, s, sc, policies, &rv);
    if (rv != OK) {
        return !OK;
    }
    tls->keys = keys;
    tls->certs = certs;
    tls->key_vars = apr_array_make(pconf, keys->nelts, sizeof(const apr_table_t *));
    for (i = 0; i < keys->nelts; ++i) {
        APR_ARRAY_PUSH(tls->key_vars, const apr_table_t *) =
            tls_cert_vars(reg, APR_ARRAY_IDX(keys, i, const tlsr_certified_key *));
    }
    tls->suites = vhost_suites(pconf, sc, supported);
    if ((err = vhost_versions(sc, tls->suites, tls->versions, &tls->n_versions))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0106: %s: %s",
                     tls_server_name(ptemp, s), err);
        return !OK;
    }
    memset(&params, 0, sizeof(params));
    params.versions = tls->versions;
    params.n_versions = tls->n_versions;
    params.suites = (const uint16_t *)tls->suites->elts;
    params.n_suites = tls->suites->nelts;
    params.ignore_client_order = !sc->honor_client_order;
    params.keys = (const tlsr_certified_key *const *)keys->elts;
    params.n_keys = keys->nelts;
    tls_cache_params(sc->global->cache, sc->session_tickets, &params);
    params.client_auth = tls->client ? tls->client->auth : NULL;
    if (tls_ffi_server_config_build(pconf, &params, &tls->no_alpn, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "TLS0106: %s: cannot set up TLS: %s", tls_server_name(ptemp, s), err);
        return !OK;
    }
    protos = vhost_protocols(ptemp, s);
    tls->alpn = apr_array_make(pconf, protos->nelts, sizeof(tls_alpn_config));
    for (i = 0; i < protos->nelts; ++i) {
        tls_alpn_config *ac = apr_array_push(tls->alpn);
        ac->protocol = apr_pstrdup(pconf, APR_ARRAY_IDX(protos, i, const char *));
        if (tls_ffi_server_config_with_alpn(pconf, tls->no_alpn, ac->protocol, &ac->config)
            != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0106: %s: cannot set up ALPN "
                         "protocol '%s'", tls_server_name(ptemp, s), ac->protocol);
            return !OK;
        }
    }
    sc->tls = tls;
    sc->enabled = 1;
    return OK;
}

/* Warns about suites in a TLSCiphersPrefer/Suppress list that rustls does not implement, once
 * per list (vhosts that inherit a list share it). */
static void report_suites(apr_pool_t *ptemp, server_rec *s, const char *directive,
                          const apr_array_header_t *ids, apr_hash_t *seen)
{
    int i;

    if (apr_hash_get(seen, &ids, sizeof(ids))) {
        return;
    }
    apr_hash_set(seen, apr_pmemdup(ptemp, &ids, sizeof(ids)), sizeof(ids), "");
    for (i = 0; i < ids->nelts; ++i) {
        uint16_t id = APR_ARRAY_IDX(ids, i, uint16_t);
        if (!tls_ffi_suite_version(id)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "TLS0102: %s of %s: cipher suite %s is not implemented by rustls, "
                         "ignored", directive, tls_server_name(ptemp, s),
                         tls_proto_suite_name(ptemp, id));
        }
    }
}

static void report_server(apr_pool_t *ptemp, server_rec *s, const tls_conf_server *sc,
                          apr_hash_t *seen, apr_hash_t *keys_seen, apr_hash_t *certs_seen)
{
    const tls_vhost_tls *tls = sc->tls;
    int i;

    for (i = 0; i < tls->keys->nelts; ++i) {
        tls_cert_report(ptemp, s, &APR_ARRAY_IDX(tls->certs, i, tls_cert_spec),
                        APR_ARRAY_IDX(tls->keys, i, const tlsr_certified_key *),
                        APR_ARRAY_IDX(tls->key_vars, i, const apr_table_t *), certs_seen);
        tls_cert_check_key_access(ptemp, s, "TLSCertificate",
                                  &APR_ARRAY_IDX(tls->certs, i, tls_cert_spec), keys_seen);
    }
    if (sc->min_version < TLS_VERSION_12) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0101: TLSProtocol of %s: rustls implements no protocol older than "
                     "TLS 1.2; %s+ means TLSv1.2+", tls_server_name(ptemp, s),
                     tls_proto_version_name(sc->min_version));
    }
    tls_client_report(ptemp, s, tls->client);
    report_suites(ptemp, s, "TLSCiphersPrefer", sc->ciphers_prefer, seen);
    report_suites(ptemp, s, "TLSCiphersSuppress", sc->ciphers_suppress, seen);
    for (i = 0; i < 2; ++i) {
        if (RUSTLS_VERSIONS[i] >= sc->min_version && !has_suite_for(tls->suites,
                                                                   RUSTLS_VERSIONS[i])) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "TLS0109: %s: TLSCiphersSuppress leaves no cipher suite for %s, which "
                         "is therefore disabled", tls_server_name(ptemp, s),
                         tls_proto_version_name(RUSTLS_VERSIONS[i]));
        }
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "TLS0110: %s: TLS with %d certificate(s), %s and up, %d cipher suites, %s "
                 "order, %d ALPN protocol(s)", tls_server_name(ptemp, s), tls->keys->nelts,
                 tls_proto_version_name(tls->versions[0]), tls->suites->nelts,
                 sc->honor_client_order ? "client's" : "server's", tls->alpn->nelts);
}

/* A TLSEngine address that no Listen covers serves nothing: most likely a typo, which would
 * leave the intended port serving plain HTTP. */
static void report_engine_addrs(server_rec *base, const tls_conf_global *g)
{
    int i;

    for (i = 0; i < g->engine_addrs->nelts; ++i) {
        const tls_engine_addr *ea = &APR_ARRAY_IDX(g->engine_addrs, i, tls_engine_addr);
        if (!engine_heard(ea)) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, "TLS0114: TLSEngine '%s' matches "
                         "no Listen address: mod_tls serves nothing there (defined at %s)",
                         ea->spec, ea->defined_at);
        }
    }
}

void tls_server_report(apr_pool_t *ptemp, server_rec *base)
{
    apr_hash_t *seen = apr_hash_make(ptemp), *keys_seen = apr_hash_make(ptemp);
    apr_hash_t *certs_seen = apr_hash_make(ptemp);
    const tls_conf_server *bsc = tls_config_server_get(base);
    int engines = bsc->global->engine_addrs->nelts;
    server_rec *s;

    report_engine_addrs(base, bsc->global);
    for (s = base; s; s = s->next) {
        tls_conf_server *sc = tls_config_server_get(s);
        int own = s == base || sc->certs != bsc->certs; /* say it once per list */
        if (sc->enabled) {
            report_server(ptemp, s, sc, seen, keys_seen, certs_seen);
        }
        else if (!engines && sc->certs->nelts && own) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "TLS0111: %s has a TLSCertificate, but no TLSEngine directive names "
                         "an address for mod_tls: it serves no TLS", tls_server_name(ptemp, s));
        }
        else if (engines && s->is_virtual && !sc->is_tls && sc->certs->nelts && own) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "TLS0111: %s has a TLSCertificate, but none of its addresses is a "
                         "TLSEngine address: it serves no TLS", tls_server_name(ptemp, s));
        }
    }
}

static int same_ids(const apr_array_header_t *a, const apr_array_header_t *b, int elt_size)
{
    return a->nelts == b->nelts && !memcmp(a->elts, b->elts, (size_t)a->nelts * elt_size);
}

int tls_server_compatible(const server_rec *a, const server_rec *b)
{
    const tls_conf_server *sa = tls_config_server_get((server_rec *)a);
    const tls_conf_server *sb = tls_config_server_get((server_rec *)b);

    if (a == b) {
        return 1;
    }
    if (!sa->tls || !sb->tls) {
        return 0;
    }
    return same_ids(sa->tls->keys, sb->tls->keys, sizeof(const tlsr_certified_key *))
           && same_ids(sa->tls->suites, sb->tls->suites, sizeof(uint16_t))
           && sa->tls->n_versions == sb->tls->n_versions
           && !memcmp(sa->tls->versions, sb->tls->versions, sizeof(sa->tls->versions))
           && sa->honor_client_order == sb->honor_client_order
           && sa->tls->client == sb->tls->client;
}

int tls_server_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                            server_rec *base)
{
    tls_conf_global *g = tls_config_server_get(base)->global;
    struct tls_server_build *b;
    server_rec *s;
    int rv = OK;

    (void)plog;
    for (s = base; s; s = s->next) {
        tls_config_server_finalize(tls_config_server_get(s));
    }
    if (g->engine_addrs->nelts == 0) {
        return OK;
    }
    if (tls_cache_setup(pconf, ptemp, base) != OK) {
        rv = !OK;
    }
    b = apr_pcalloc(pconf, sizeof(*b));
    b->supported = tls_ffi_supported_suites(pconf);
    b->reg = tls_cert_registry_create(pconf);
    b->policies = apr_hash_make(pconf);
    g->build = b;
    for (s = base; s; s = s->next) {
        tls_conf_server *sc = tls_config_server_get(s);
        sc->is_tls = s->is_virtual ? vhost_is_tls(s, g) : main_server_is_tls(base, g);
        if (!sc->is_tls || (sc->certs->nelts == 0 && tls_md_provides_certs())) {
            continue; /* no TLS, or certificates from mod_md at post_config (tls_md.c) */
        }
        if (build_vhost(pconf, ptemp, s, sc, sc->certs, b) != OK) {
            rv = !OK; /* go on, to report every mistake at once */
        }
    }
    return rv;
}

int tls_server_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                     const apr_array_header_t *certs)
{
    tls_conf_server *sc = tls_config_server_get(s);

    return build_vhost(pconf, ptemp, s, sc, certs, sc->global->build);
}

const tlsr_server_config *tls_server_config_for(const tls_conf_server *sc, const char *protocol)
{
    int i;

    if (!sc->tls) {
        return NULL;
    }
    for (i = 0; protocol && i < sc->tls->alpn->nelts; ++i) {
        const tls_alpn_config *ac = &APR_ARRAY_IDX(sc->tls->alpn, i, tls_alpn_config);
        if (!strcmp(ac->protocol, protocol)) {
            return ac->config;
        }
    }
    return sc->tls->no_alpn;
}
