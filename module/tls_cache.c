/* tls_cache.c -- TLS session resumption: the session cache on mod_socache, and ticket keys. */
#include <apr_strings.h>
#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_file_io.h>
#include <apr_global_mutex.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>

#include "tls_cache.h"
#include "tls_config.h"
#include "tls_status.h"

APLOG_USE_MODULE(tls);

#define MUTEX_TYPE "tls-session-cache"
#define DEFAULT_SHMCB "tls-session-cache(512000)" /* in DefaultRuntimeDir */
#define PER_PROCESS_ENTRIES 256  /* rustls' memory cache when there is no shared one */
#define PARENT_KEY_NOTE "mod_tls-ticket-key" /* process pool: the parent's own ticket key */

struct tls_cache {
    server_rec *server;                    /* main server, for the provider's logging */
    const char *spec;                      /* what TLSSessionCache said (or the default) */
    const ap_socache_provider_t *provider; /* NULL: no shared cache */
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;             /* NULL when the provider is thread/process safe */
    int disabled;                          /* TLSSessionCache none */
    apr_interval_time_t timeout;           /* TLSSessionCacheTimeout */
    unsigned char *ticket_keys;            /* n_ticket_keys * TLS_FFI_TICKET_KEY_LEN */
    int n_ticket_keys;
    const char *ticket_keys_from;          /* the key file, or NULL: made by this server */
    apr_time_t ticket_keys_since;          /* the key file's mtime, or when the parent made its
                                            * key (for server-status) */
};

/* The parent's own ticket key, kept in the process pool. */
typedef struct {
    unsigned char key[TLS_FFI_TICKET_KEY_LEN];
    apr_time_t made;
} parent_ticket_key;

int tls_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog; (void)ptemp;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0) == APR_SUCCESS
           ? OK : !OK;
}

/* --- the socache --------------------------------------------------------------------------- */

/* Sets cache->provider/instance from a spec "name[:args]". Returns an error text. */
static const char *create_socache(tls_cache *cache, apr_pool_t *pconf, apr_pool_t *ptemp,
                                  const char *spec)
{
    const char *name = spec, *args = ap_strchr_c(spec, ':'), *err;

    if (args) {
        name = apr_pstrmemdup(ptemp, spec, (apr_size_t)(args - spec));
        ++args;
    }
    cache->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (!cache->provider) {
        return apr_psprintf(ptemp, "no session cache provider '%s' (known: %s); load its "
                            "module, e.g. LoadModule socache_%s_module", name,
                            apr_array_pstrcat(ptemp, ap_list_provider_names(
                                ptemp, AP_SOCACHE_PROVIDER_GROUP,
                                AP_SOCACHE_PROVIDER_VERSION), ','), name);
    }
    err = cache->provider->create(&cache->instance, args, ptemp, pconf);
    if (err) {
        cache->provider = NULL;
        return apr_psprintf(ptemp, "provider '%s' refused '%s': %s", name, args ? args : "",
                            err);
    }
    return NULL;
}

static apr_status_t destroy_socache(void *data)
{
    tls_cache *cache = data;

    if (cache->provider && cache->instance) {
        cache->provider->destroy(cache->instance, cache->server);
        cache->instance = NULL;
    }
    return APR_SUCCESS;
}

/* --- ticket keys --------------------------------------------------------------------------- */

/* Reads TLSSessionTicketKeyFile: one base64 key of TLS_FFI_TICKET_KEY_LEN bytes per line,
 * '#' comments. Returns an error text. */
static const char *read_key_file(tls_cache *cache, apr_pool_t *pconf, apr_pool_t *ptemp,
                                 const char *path)
{
    apr_array_header_t *keys = apr_array_make(pconf, 4, TLS_FFI_TICKET_KEY_LEN);
    apr_file_t *f;
    apr_status_t rv;
    char line[512], err[256];
    int n = 0;
    apr_finfo_t finfo;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, ptemp);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(ptemp, "cannot read '%s': %s", path,
                            apr_strerror(rv, err, sizeof(err)));
    }
    if (apr_file_info_get(&finfo, APR_FINFO_MTIME, f) == APR_SUCCESS) {
        cache->ticket_keys_since = finfo.mtime;
    }
    while (apr_file_gets(line, sizeof(line), f) == APR_SUCCESS) {
        char *s = line, *e;
        unsigned char decoded[512];
        ++n;
        while (apr_isspace(*s)) ++s;
        for (e = s + strlen(s); e > s && apr_isspace(e[-1]); --e) ;
        *e = '\0';
        if (!*s || *s == '#') {
            continue;
        }
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
                != strlen(s)
            || apr_base64_decode_len(s) > (int)sizeof(decoded)
            || apr_base64_decode_binary(decoded, s) != TLS_FFI_TICKET_KEY_LEN) {
            apr_file_close(f);
            return apr_psprintf(ptemp, "line %d of '%s' is not a key: base64 of %d random "
                                "bytes expected (openssl rand -base64 %d)", n, path,
                                TLS_FFI_TICKET_KEY_LEN, TLS_FFI_TICKET_KEY_LEN);
        }
        memcpy(apr_array_push(keys), decoded, TLS_FFI_TICKET_KEY_LEN);
    }
    apr_file_close(f);
    if (keys->nelts == 0) {
        return apr_psprintf(ptemp, "'%s' holds no key (one per line: openssl rand -base64 %d)",
                            path, TLS_FFI_TICKET_KEY_LEN);
    }
    cache->ticket_keys = (unsigned char *)keys->elts;
    cache->n_ticket_keys = keys->nelts;
    cache->ticket_keys_from = path;
    return NULL;
}

/* The parent's own key: made once, before any child is forked, and kept in the process pool
 * so that a graceful restart does not invalidate the tickets clients hold. */
static const char *parent_key(tls_cache *cache, server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    void *data = NULL;
    parent_ticket_key *pk;

    apr_pool_userdata_get(&data, PARENT_KEY_NOTE, pp);
    if (!(pk = data)) {
        pk = apr_palloc(pp, sizeof(*pk));
        if (apr_generate_random_bytes(pk->key, TLS_FFI_TICKET_KEY_LEN) != APR_SUCCESS) {
            return "cannot get random bytes for the session ticket key";
        }
        pk->made = apr_time_now();
        apr_pool_userdata_set(pk, PARENT_KEY_NOTE, apr_pool_cleanup_null, pp);
    }
    cache->ticket_keys = pk->key;
    cache->ticket_keys_since = pk->made;
    cache->n_ticket_keys = 1;
    return NULL;
}

/* --- hooks --------------------------------------------------------------------------------- */

int tls_cache_setup(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    tls_conf_global *g = tls_config_server_get(s)->global;
    tls_cache *cache = apr_pcalloc(pconf, sizeof(*cache));
    const char *err;
    int rv = OK;

    cache->server = s;
    cache->timeout = apr_time_from_sec(g->session_timeout);
    cache->spec = g->session_cache ? g->session_cache : "shmcb:" DEFAULT_SHMCB;
    if (g->session_cache && !strcasecmp(g->session_cache, "none")) {
        cache->disabled = 1;
    }
    else if ((err = create_socache(cache, pconf, ptemp, cache->spec))) {
        if (g->session_cache) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0120: TLSSessionCache: %s "
                         "(defined at %s)", err, g->session_cache_at);
            rv = !OK;
        }
        /* the default needs mod_socache_shmcb; without it, tls_cache_init warns */
    }
    else {
        apr_pool_cleanup_register(pconf, cache, destroy_socache, apr_pool_cleanup_null);
    }
    err = g->ticket_key_file ? read_key_file(cache, pconf, ptemp, g->ticket_key_file)
                             : parent_key(cache, s);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS0121: TLSSessionTicketKeyFile: %s%s%s%s",
                     err, g->ticket_key_file_at ? " (defined at " : "",
                     g->ticket_key_file_at ? g->ticket_key_file_at : "",
                     g->ticket_key_file_at ? ")" : "");
        rv = !OK;
    }
    g->cache = cache;
    return rv;
}

int tls_cache_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, int trial)
{
    tls_conf_global *g = tls_config_server_get(s)->global;
    tls_cache *cache = g->cache;
    struct ap_socache_hints hints;
    apr_finfo_t finfo;
    apr_status_t rv;

    if (!cache) {
        return OK;
    }
    if (!trial && cache->ticket_keys_from
        && apr_stat(&finfo, cache->ticket_keys_from, APR_FINFO_PROT, ptemp) == APR_SUCCESS
        && (finfo.protection & (APR_WREAD | APR_WWRITE))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0122: TLSSessionTicketKeyFile '%s' "
                     "is readable by every user: anyone who reads it can decrypt the "
                     "sessions of this server's clients (chmod 600)", cache->ticket_keys_from);
    }
    if (cache->disabled) {
        return OK;
    }
    if (!cache->provider) {
        if (trial) {
            return OK;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0123: no shared TLS session cache "
                     "(mod_socache_shmcb is not loaded and TLSSessionCache is not set): "
                     "sessions without tickets resume only on the child process that made "
                     "them");
        return OK;
    }
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = 32;
    hints.avg_obj_size = 150;
    hints.expiry_interval = apr_time_from_sec(30);
    rv = cache->provider->init(cache->instance, "mod_tls-sess", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "TLS0124: TLSSessionCache '%s' cannot be initialized%s%s%s", cache->spec,
                     g->session_cache_at ? " (defined at " : " (the default)",
                     g->session_cache_at ? g->session_cache_at : "",
                     g->session_cache_at ? ")" : "");
        return !OK;
    }
    if (trial) {
        return OK; /* the instance goes with this pass's pconf */
    }
    if (cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&cache->mutex, NULL, MUTEX_TYPE, NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "TLS0125: cannot create the mutex of the TLS session cache");
            return !OK;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "TLS0126: TLS session cache '%s', timeout %"
                 APR_TIME_T_FMT " s, ticket keys: %d from %s", cache->spec,
                 apr_time_sec(cache->timeout), cache->n_ticket_keys,
                 cache->ticket_keys_from ? cache->ticket_keys_from : "this server");
    return OK;
}

void tls_cache_child_init(apr_pool_t *p, server_rec *s)
{
    tls_cache *cache = tls_config_server_get(s)->global->cache;
    apr_status_t rv;

    if (cache && cache->mutex) {
        rv = apr_global_mutex_child_init(&cache->mutex, apr_global_mutex_lockfile(cache->mutex),
                                         p);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "TLS0127: cannot reopen the mutex of "
                         "the TLS session cache in the child process");
        }
    }
}

/* --- the session store the crate calls ----------------------------------------------------- */

static int lock(tls_cache *cache)
{
    return !cache->mutex || apr_global_mutex_lock(cache->mutex) == APR_SUCCESS;
}

static void unlock(tls_cache *cache)
{
    if (cache->mutex) {
        apr_global_mutex_unlock(cache->mutex);
    }
}

/* The key as the provider sees it: the first byte moved to the end (one to one, so keys stay
 * distinct). rustls' TLS 1.2 keys are the session id with its length in front, 0x20 for all of
 * them, and shmcb chooses an entry's subcache by the key's first byte: unchanged, every session
 * would land in the same subcache, and the cache would keep 1/32 to 1/256 of what its size
 * allows. */
static const unsigned char *socache_key(const uint8_t *key, size_t key_len, apr_pool_t *p)
{
    unsigned char *k = apr_palloc(p, key_len ? key_len : 1);

    if (key_len > 0) {
        memcpy(k, key + 1, key_len - 1);
        k[key_len - 1] = key[0];
    }
    return k;
}

static int session_put(void *userdata, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    tls_cache *cache = userdata;
    apr_pool_t *p;
    apr_status_t rv = APR_EGENERAL;

    if (key_len > UINT_MAX || value_len > UINT_MAX || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (lock(cache)) {
        rv = cache->provider->store(cache->instance, cache->server,
                                    socache_key(key, key_len, p), (unsigned)key_len,
                                    apr_time_now() + cache->timeout, (unsigned char *)value,
                                    (unsigned)value_len, p);
        unlock(cache);
    }
    apr_pool_destroy(p);
    if (rv == APR_SUCCESS) {
        tls_status_cache(TLS_STATUS_CACHE_STORE);
    }
    return rv == APR_SUCCESS;
}

static int session_get(void *userdata, const uint8_t *key, size_t key_len, int remove,
                       uint8_t *buf, size_t cap, size_t *out_len)
{
    tls_cache *cache = userdata;
    unsigned len = cap > UINT_MAX ? UINT_MAX : (unsigned)cap;
    apr_pool_t *p;
    apr_status_t rv = APR_EGENERAL;

    if (key_len > UINT_MAX || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        return 0;
    }
    if (lock(cache)) {
        const unsigned char *k = socache_key(key, key_len, p);

        rv = cache->provider->retrieve(cache->instance, cache->server, k, (unsigned)key_len, buf,
                                       &len, p);
        if (rv == APR_SUCCESS && remove) {
            cache->provider->remove(cache->instance, cache->server, k, (unsigned)key_len, p);
        }
        unlock(cache);
    }
    apr_pool_destroy(p);
    tls_status_cache(rv == APR_SUCCESS ? TLS_STATUS_CACHE_HIT : TLS_STATUS_CACHE_MISS);
    if (rv != APR_SUCCESS) {
        return 0;
    }
    *out_len = len;
    return 1;
}

void tls_cache_params(const tls_cache *cache, int tickets, tls_ffi_server_params *params)
{
    if (tickets) {
        params->ticket_keys = cache->ticket_keys;
        params->n_ticket_keys = cache->n_ticket_keys;
        params->ticket_lifetime = (unsigned)apr_time_sec(cache->timeout);
    }
    if (cache->provider) {
        params->session_store = (void *)cache;
        params->session_put = session_put;
        params->session_get = session_get;
    }
    else {
        params->session_cache_size = cache->disabled ? 0 : PER_PROCESS_ENTRIES;
    }
}

void tls_cache_describe(const tls_cache *cache, const char **spec, const char **keys_from,
                        apr_time_t *keys_since)
{
    *spec = cache->disabled ? "none" : cache->provider ? cache->spec : NULL;
    *keys_from = cache->ticket_keys_from;
    *keys_since = cache->ticket_keys_since;
}
