/* tls_proxy.c -- outgoing connections for mod_proxy (see tls_proxy.h). */
#include <apr_strings.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <mod_ssl.h>

#include "tls_proxy.h"
#include "tls_cert.h"
#include "tls_config.h"
#include "tls_conn.h"
#include "tls_proto.h"
#include "tls_server.h"

APLOG_USE_MODULE(tls);

#define TLS_PROXY_DEFAULT_CACHE 256

typedef struct {
    const char *data;
    apr_size_t len;
} pem_file;

/* Per process, for the life of pconf. After startup only touched under the mutex (worker
 * threads may build a combination first seen at request time). */
static struct {
    apr_pool_t *pool;
    apr_thread_mutex_t *mutex;
    apr_hash_t *clients;              /* settings key -> tls_proxy_client */
    apr_hash_t *files;                /* path -> pem_file */
    apr_hash_t *keys;                 /* "cert\nkey" -> const tlsr_certified_key * */
    apr_array_header_t *supported;    /* uint16_t: the crate's suites */
} proxy;

static apr_status_t forget(void *unused)
{
    (void)unused;
    memset(&proxy, 0, sizeof(proxy));
    return APR_SUCCESS;
}

/* --- settings -> configs -------------------------------------------------------------------- */

static const char *ids_text(apr_pool_t *p, const apr_array_header_t *ids)
{
    const char *text = "";
    int i;

    for (i = 0; ids && i < ids->nelts; ++i) {
        text = apr_psprintf(p, "%s%04x,", text, APR_ARRAY_IDX(ids, i, uint16_t));
    }
    return text;
}

/* Everything that makes two contexts' client configs differ. */
static const char *settings_key(apr_pool_t *p, const tls_conf_proxy *pc)
{
    const char *certs = "";
    int i;

    for (i = 0; pc->machine_certs && i < pc->machine_certs->nelts; ++i) {
        const tls_cert_spec *spec = &APR_ARRAY_IDX(pc->machine_certs, i, tls_cert_spec);
        certs = apr_pstrcat(p, certs, spec->cert_file, "\n",
                            spec->key_file ? spec->key_file : "", "\n", NULL);
    }
    return apr_psprintf(p, "ca=%s|min=%d|prefer=%s|suppress=%s|certs=%s|cache=%d",
                        pc->ca ? pc->ca : "", pc->min_version,
                        ids_text(p, pc->ciphers_prefer), ids_text(p, pc->ciphers_suppress),
                        certs, pc->session_cache);
}

/* "<Proxy ...> (file:line) in virtual host ..." or the server, for messages. */
static const char *context_name(apr_pool_t *p, const tls_conf_proxy *pc, server_rec *s)
{
    if (pc->section) {
        return apr_psprintf(p, "%s (%s) in %s", pc->section,
                            pc->defined_at ? pc->defined_at : "?", tls_server_name(p, s));
    }
    return tls_server_name(p, s);
}

static const char *read_file(const char *what, const char *path, const pem_file **out)
{
    pem_file *f = apr_hash_get(proxy.files, path, APR_HASH_KEY_STRING);
    const char *err;

    if (!f) {
        f = apr_pcalloc(proxy.pool, sizeof(*f));
        if ((err = tls_cert_read_file(proxy.pool, what, path, &f->data, &f->len))) {
            return err;
        }
        apr_hash_set(proxy.files, apr_pstrdup(proxy.pool, path), APR_HASH_KEY_STRING, f);
    }
    *out = f;
    return NULL;
}

static const char *machine_key(const tls_cert_spec *spec, const tlsr_certified_key **key)
{
    const char *id = apr_pstrcat(proxy.pool, spec->cert_file, "\n",
                                 spec->key_file ? spec->key_file : "", NULL);
    const pem_file *cert, *keyf = NULL;
    const char *err;

    if ((*key = apr_hash_get(proxy.keys, id, APR_HASH_KEY_STRING))) {
        return NULL;
    }
    if ((err = read_file("certificate", spec->cert_file, &cert))
        || (spec->key_file && (err = read_file("key", spec->key_file, &keyf)))) {
        return apr_psprintf(proxy.pool, "%s (defined at %s)", err, spec->defined_at);
    }
    if (tls_ffi_certified_key_load(proxy.pool, cert->data, cert->len,
                                   keyf ? keyf->data : NULL, keyf ? keyf->len : 0,
                                   key, &err) != APR_SUCCESS) {
        return apr_psprintf(proxy.pool, "certificate '%s', key %s%s%s: %s (defined at %s)",
                            spec->cert_file, spec->key_file ? "'" : "in the certificate file",
                            spec->key_file ? spec->key_file : "", spec->key_file ? "'" : "",
                            err, spec->defined_at);
    }
    apr_hash_set(proxy.keys, id, APR_HASH_KEY_STRING, *key);
    return NULL;
}

/* TLSProxyCiphersPrefer first, then the crate's order, without TLSProxyCiphersSuppress. */
static apr_array_header_t *client_suites(apr_pool_t *p, const tls_conf_proxy *pc)
{
    apr_array_header_t *out = apr_array_make(p, proxy.supported->nelts, sizeof(uint16_t));
    const apr_array_header_t *lists[2];
    int l, i, j;

    lists[0] = pc->ciphers_prefer;
    lists[1] = proxy.supported;
    for (l = 0; l < 2; ++l) {
        for (i = 0; lists[l] && i < lists[l]->nelts; ++i) {
            uint16_t id = APR_ARRAY_IDX(lists[l], i, uint16_t);
            int skip = !tls_ffi_suite_version(id);
            for (j = 0; !skip && pc->ciphers_suppress && j < pc->ciphers_suppress->nelts; ++j) {
                skip = APR_ARRAY_IDX(pc->ciphers_suppress, j, uint16_t) == id;
            }
            for (j = 0; !skip && j < out->nelts; ++j) {
                skip = APR_ARRAY_IDX(out, j, uint16_t) == id;
            }
            if (!skip) {
                APR_ARRAY_PUSH(out, uint16_t) = id;
            }
        }
    }
    return out;
}

/* Builds the configs for pc (with its settings key) into proxy.pool. Never NULL: a failure
 * is in ->error. */
static tls_proxy_client *build_client(const tls_conf_proxy *pc, const char *key,
                                      const char *where)
{
    apr_pool_t *p = proxy.pool;
    tls_proxy_client *client = apr_pcalloc(p, sizeof(*client));
    tls_ffi_client_params params;
    apr_array_header_t *suites, *keys;
    uint16_t versions[2];
    const uint16_t all[2] = { TLS_VERSION_12, TLS_VERSION_13 };
    int min = pc->min_version == TLS_UNSET ? TLS_VERSION_12 : pc->min_version;
    const tlsr_client_config *base;
    const char *err = NULL, *http1[] = { "http/1.1" }, *h2[] = { "h2" };
    size_t anchors = 0;
    int i, j, n = 0;

    client->where = apr_pstrdup(p, where);
    memset(&params, 0, sizeof(params));
    suites = client_suites(p, pc);
    for (i = 0; i < 2; ++i) {
        int has = 0;
        for (j = 0; j < suites->nelts && !has; ++j) {
            has = tls_ffi_suite_version(APR_ARRAY_IDX(suites, j, uint16_t)) == all[i];
        }
        if (all[i] >= min && has) {
            versions[n++] = all[i];
        }
    }
    if (n == 0) {
        client->error = "TLSProxyCiphersSuppress leaves no cipher suite for the protocol "
                        "versions that TLSProxyProtocol enables";
        goto done;
    }
    params.versions = versions;
    params.n_versions = n;
    params.suites = (const uint16_t *)suites->elts;
    params.n_suites = suites->nelts;
    params.session_cache_size = pc->session_cache == TLS_UNSET ? TLS_PROXY_DEFAULT_CACHE
                                                               : (size_t)pc->session_cache;
    if (pc->ca) {
        const char *path = strcmp(pc->ca, "system") ? pc->ca : TLS_PROXY_SYSTEM_CA;
        const pem_file *f;
        if ((err = read_file("CA", path, &f))) {
            client->error = apr_pstrcat(p, "TLSProxyCA: ", err, " (defined at ", pc->ca_at,
                                        ")", NULL);
            goto done;
        }
        params.ca_pem = f->data;
        params.ca_len = f->len;
    }
    client->no_ca = !pc->ca;
    keys = apr_array_make(p, 2, sizeof(const tlsr_certified_key *));
    for (i = 0; pc->machine_certs && i < pc->machine_certs->nelts; ++i) {
        const tlsr_certified_key *k;
        if ((err = machine_key(&APR_ARRAY_IDX(pc->machine_certs, i, tls_cert_spec), &k))) {
            client->error = apr_pstrcat(p, "TLSProxyMachineCertificate: ", err, NULL);
            goto done;
        }
        APR_ARRAY_PUSH(keys, const tlsr_certified_key *) = k;
    }
    params.keys = (const tlsr_certified_key *const *)keys->elts;
    params.n_keys = keys->nelts;
    if (tls_ffi_client_config_build(p, &params, &base, &anchors, &err) != APR_SUCCESS) {
        client->error = pc->ca ? apr_pstrcat(p, "TLSProxyCA: '", pc->ca, "': ", err,
                                             " (defined at ", pc->ca_at, ")", NULL) : err;
        goto done;
    }
    if (tls_ffi_client_config_with_alpn(p, base, http1, 1, &client->http1) != APR_SUCCESS
        || tls_ffi_client_config_with_alpn(p, base, h2, 1, &client->h2) != APR_SUCCESS) {
        client->error = "cannot set up ALPN for backend connections";
    }
done:
    apr_hash_set(proxy.clients, apr_pstrdup(p, key), APR_HASH_KEY_STRING, client);
    return client;
}

/* The configs for pc: built already, or now (under the mutex after startup). */
static const tls_proxy_client *get_client(const tls_conf_proxy *pc, server_rec *s,
                                          apr_pool_t *tmp, int *built)
{
    const char *key = settings_key(tmp, pc);
    tls_proxy_client *client;

    if (proxy.mutex) apr_thread_mutex_lock(proxy.mutex);
    client = apr_hash_get(proxy.clients, key, APR_HASH_KEY_STRING);
    *built = !client;
    if (!client) {
        client = build_client(pc, key, context_name(tmp, pc, s));
    }
    if (proxy.mutex) apr_thread_mutex_unlock(proxy.mutex);
    return client;
}

/* --- startup ------------------------------------------------------------------------------- */

static int prepare(const tls_conf_proxy *pc, server_rec *s, apr_pool_t *ptemp)
{
    const tls_proxy_client *client;
    int built;

    if (pc->engine != 1) {
        return OK;
    }
    client = get_client(pc, s, ptemp, &built);
    if (client->error) {
        if (built) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "TLS0507: %s: cannot set up TLS to backends: %s",
                         context_name(ptemp, pc, s), client->error);
        }
        return !OK;
    }
    return OK;
}

/* Calls fn for the TLSProxy* settings of every server and of every <Proxy> section merged
 * into the server it applies to (its own, or every one for the main server's). */
static int each_context(apr_pool_t *ptemp, server_rec *base,
                        int (*fn)(const tls_conf_proxy *, server_rec *, apr_pool_t *))
{
    apr_array_header_t *sections = tls_config_proxy_sections();
    server_rec *s;
    int i, rv = OK;

    for (s = base; s; s = s->next) {
        tls_conf_dir *dc = ap_get_module_config(s->lookup_defaults, &tls_module);
        if (!dc) {
            continue;
        }
        if (fn(&dc->proxy, s, ptemp) != OK) {
            rv = !OK;
        }
        for (i = 0; i < sections->nelts; ++i) {
            const tls_proxy_section *sec = &APR_ARRAY_IDX(sections, i, tls_proxy_section);
            if (sec->server == s || sec->server == base) {
                tls_conf_dir *merged = tls_config_dir_merge(ptemp, dc, sec->dc);
                if (fn(&merged->proxy, s, ptemp) != OK) {
                    rv = !OK;
                }
            }
        }
    }
    return rv;
}

int tls_proxy_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *s)
{
    (void)plog;
    memset(&proxy, 0, sizeof(proxy));
    apr_pool_create(&proxy.pool, pconf);
    apr_pool_tag(proxy.pool, "tls_proxy");
    apr_pool_cleanup_register(pconf, NULL, forget, apr_pool_cleanup_null);
    if (apr_thread_mutex_create(&proxy.mutex, APR_THREAD_MUTEX_DEFAULT, pconf) != APR_SUCCESS) {
        proxy.mutex = NULL; /* no threads then */
    }
    proxy.clients = apr_hash_make(proxy.pool);
    proxy.files = apr_hash_make(proxy.pool);
    proxy.keys = apr_hash_make(proxy.pool);
    proxy.supported = tls_ffi_supported_suites(proxy.pool);
    return each_context(ptemp, s, prepare);
}

static apr_hash_t *warned, *keys_seen;

/* Startup warnings of one context: machine keys others can read (TLS0112/0113), and
 * TLSProxyEngine on without TLSProxyCA (TLS0502), once per place in the configuration. */
static int report_context(const tls_conf_proxy *pc, server_rec *s, apr_pool_t *ptemp)
{
    const char *at = pc->defined_at ? pc->defined_at : "";
    int i;

    for (i = 0; pc->engine == 1 && pc->machine_certs && i < pc->machine_certs->nelts; ++i) {
        tls_cert_check_key_access(ptemp, s, "TLSProxyMachineCertificate",
                                  &APR_ARRAY_IDX(pc->machine_certs, i, tls_cert_spec),
                                  keys_seen);
    }

    if (pc->engine == 1 && !pc->ca && !apr_hash_get(warned, at, APR_HASH_KEY_STRING)) {
        apr_hash_set(warned, at, APR_HASH_KEY_STRING, at);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "TLS0502: %s: TLSProxyEngine on without TLSProxyCA: backends will not be "
                     "trusted and every TLS connection to a backend will fail (set TLSProxyCA "
                     "to a CA file or 'system')", context_name(ptemp, pc, s));
    }
    return OK;
}

void tls_proxy_report(apr_pool_t *ptemp, server_rec *s)
{
    warned = apr_hash_make(ptemp);
    keys_seen = apr_hash_make(ptemp);
    each_context(ptemp, s, report_context);
    warned = keys_seen = NULL;
}

/* --- connections --------------------------------------------------------------------------- */

int tls_proxy_bind_outgoing(conn_rec *c, ap_conf_vector_t *dir_conf, int enable_ssl)
{
    const tls_conf_dir *dc;
    const tls_proxy_client *client;
    int built;

    if (!enable_ssl || !proxy.clients) {
        return DECLINED;
    }
    if (!dir_conf) {
        dir_conf = c->base_server->lookup_defaults;
    }
    dc = ap_get_module_config(dir_conf, &tls_module);
    if (!dc || dc->proxy.engine != 1) {
        return DECLINED; /* TLSProxyEngine is not on here: mod_ssl may take it */
    }
    client = get_client(&dc->proxy, c->base_server, c->pool, &built);
    if (built && client->error) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "TLS0508: %s: cannot set up TLS to backends: %s", client->where,
                      client->error);
    }
    tls_conn_create_outgoing(c, client);
    /* mod_ssl's bind hook did not run: tell it the connection is not its own (its
     * pre_connection looks at the vhost's SSLEngine for connections it knows nothing of) */
    {
        APR_OPTIONAL_FN_TYPE(ssl_engine_disable) *disable;
        disable = APR_RETRIEVE_OPTIONAL_FN(ssl_engine_disable);
        if (disable) {
            disable(c);
        }
    }
    ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c,
                  "TLS0505: backend connection to %s taken by mod_tls (settings of %s)",
                  c->client_ip, client->where);
    return OK;
}

/* Whether mod_proxy asks for h2 (the note is a list separated by commas or spaces). */
static int wants_h2(apr_pool_t *p, const char *note)
{
    char *list, *tok, *last;

    if (!note) {
        return 0;
    }
    list = apr_pstrdup(p, note);
    for (tok = apr_strtok(list, ", ", &last); tok; tok = apr_strtok(NULL, ", ", &last)) {
        if (!strcmp(tok, "h2")) {
            return 1;
        }
    }
    return 0;
}

apr_status_t tls_proxy_start(tls_conn *tc)
{
    conn_rec *c = tc->c;
    const char *host = apr_table_get(c->notes, "proxy-request-hostname");
    const char *alpn = apr_table_get(c->notes, "proxy-request-alpn-protos");
    const tlsr_client_config *config;
    const char *err = NULL;
    unsigned port = c->client_addr ? (unsigned)c->client_addr->port : 0u;
    apr_status_t rv = APR_EGENERAL;
    int h2;

    if (!host || !*host) {
        host = c->client_ip;
    }
    tc->backend = apr_psprintf(c->pool, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    if (!tc->proxy || tc->proxy->error) {
        err = tc->proxy ? tc->proxy->error : "no configuration";
    }
    else {
        h2 = wants_h2(c->pool, alpn);
        config = h2 ? tc->proxy->h2 : tc->proxy->http1;
        rv = tls_ffi_client_conn_create(c->pool, config, host, &tc->tls, &err);
        if (rv == APR_SUCCESS) {
            ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c,
                          "TLS0506: handshake with backend %s (ALPN %s) for %s", tc->backend,
                          h2 ? "h2" : "http/1.1", tc->proxy->where);
            return APR_SUCCESS;
        }
    }
    ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                  "TLS0503: cannot start TLS to backend %s: %s", tc->backend, err);
    tc->failed = 1;
    tc->state = TLS_CONN_CLOSED;
    c->aborted = 1;
    return rv == APR_SUCCESS ? APR_EGENERAL : rv;
}
