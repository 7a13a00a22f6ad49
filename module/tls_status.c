/* tls_status.c -- mod_tls in /server-status: counters summed over child processes, sessions,
 * ticket keys and certificate expiry. */
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <ap_mpm.h>
#include <ap_provider.h>
#include <ap_slotmem.h>
#include <scoreboard.h>
#include <apr_optional_hooks.h>
#include <mod_status.h>

#include "tls_cache.h"
#include "tls_cert.h"
#include "tls_config.h"
#include "tls_ffi.h"
#include "tls_proto.h"
#include "tls_server.h"
#include "tls_status.h"

APLOG_USE_MODULE(tls);

#define SHM_NAME "mod_tls-status"      /* in DefaultRuntimeDir; with ".persist" across restarts */
#define STARTED_NOTE "mod_tls-status-started" /* process pool: this parent has counted before */
#define MAX_SUITES 16                 /* rustls 0.20 implements 9 */

/* The counters of one process: one slot of the shared memory. */
enum {
    C_FULL,                           /* full handshakes */
    C_RESUMED,                        /* resumed handshakes */
    C_TLS12,
    C_TLS13,
    C_SUITE,                          /* MAX_SUITES: per suite, in `suites` order */
    C_FAIL = C_SUITE + MAX_SUITES,    /* TLS_FAIL_N: failed handshakes by reason */
    C_CACHE_HIT = C_FAIL + TLS_FAIL_N,
    C_CACHE_MISS,
    C_CACHE_STORE,
    C_N
};

/* Failure reasons: the key in ?auto (TLSFail<key>) and the words of the HTML page. */
static const struct {
    const char *key;
    const char *words;
} FAILS[TLS_FAIL_N] = {
    [TLS_FAIL_NO_PROTOCOL] = { "NoProtocol", "no protocol version in common" },
    [TLS_FAIL_NO_CIPHER] = { "NoCipher", "no cipher suite in common" },
    [TLS_FAIL_UNKNOWN_SNI] = { "UnknownSNI", "unknown server name (TLSStrictSNI)" },
    [TLS_FAIL_BAD_CERT] = { "BadCertificate", "client certificate missing or refused" },
    [TLS_FAIL_TIMEOUT] = { "Timeout", "timed out" },
    [TLS_FAIL_CLIENT_ALERT] = { "ClientAlert", "the client sent a fatal alert" },
    [TLS_FAIL_PLAIN_HTTP] = { "PlainHTTP", "plain HTTP to the TLS port" },
    [TLS_FAIL_MALFORMED] = { "Malformed", "not TLS, or malformed TLS" },
    [TLS_FAIL_CLOSED] = { "Closed", "the client closed the connection" },
    [TLS_FAIL_OTHER] = { "Other", "other reasons" },
};

/* Set at post_config in the parent (each generation), inherited by the children. */
static const ap_slotmem_provider_t *shm_provider; /* NULL: no shared counters */
static ap_slotmem_instance_t *shm;
static unsigned int shm_slots;
static apr_array_header_t *suites;     /* uint16_t ids rustls implements, counted per index */

/* This process's counters: its slot of the shared memory, or `local`. Set once, by the first
 * connection (tls_status_conn_start). */
static volatile void *mine;
static apr_uint64_t local[C_N];

static int tls_status_hook(request_rec *r, int flags);

void tls_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_OPTIONAL_HOOK(ap, status_hook, tls_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}

int tls_status_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const char *why = NULL, *path;
    void *started = NULL;
    int limit = 0;
    apr_status_t rv = APR_SUCCESS;

    shm_provider = NULL;
    shm = NULL;
    shm_slots = 0;
    suites = tls_ffi_supported_suites(pconf);
    if (!ap_find_linked_module("mod_status.c")
        || tls_config_server_get(s)->global->engine_addrs->nelts == 0) {
        return OK; /* nobody asks, or nothing to count: each process counts unseen */
    }
    if (ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &limit) != APR_SUCCESS || limit < 1) {
        limit = 1;
    }
    shm_provider = ap_lookup_provider(AP_SLOTMEM_PROVIDER_GROUP, "shm",
                                      AP_SLOTMEM_PROVIDER_VERSION);
    if (!shm_provider) {
        why = "mod_slotmem_shm is not loaded (LoadModule slotmem_shm_module)";
    }
    else {
        /* mod_slotmem_shm makes new memory for each generation and, with PERSIST, saves the
         * old one's content in a file when the generation ends and loads it into the new
         * one: the counts survive restarts. A new parent process starts from zero. */
        path = ap_runtime_dir_relative(ptemp, SHM_NAME);
        apr_pool_userdata_get(&started, STARTED_NOTE, s->process->pool);
        if (!started) {
            apr_file_remove(apr_pstrcat(ptemp, path, ".persist", NULL), ptemp);
            apr_pool_userdata_set((void *)1, STARTED_NOTE, apr_pool_cleanup_null,
                                  s->process->pool);
        }
        rv = shm_provider->create(&shm, path, sizeof(apr_uint64_t) * C_N, (unsigned int)limit,
                                  AP_SLOTMEM_TYPE_PERSIST, pconf);
    }
    if (!why && rv != APR_SUCCESS) {
        char err[256];
        why = apr_psprintf(ptemp, "its shared memory cannot be created: %s",
                           apr_strerror(rv, err, sizeof(err)));
        shm_provider = NULL;
        shm = NULL;
    }
    if (why) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "TLS0116: server-status shows the TLS "
                     "counters of one child process only, not of all: %s", why);
        return OK;
    }
    shm_slots = shm_provider->num_slots(shm);
    return OK;
}

/* The scoreboard slot of the process serving c (the same for all its connections). */
static unsigned int process_slot(conn_rec *c)
{
    worker_score *ws = c->sbh ? ap_get_scoreboard_worker(c->sbh) : NULL;
    int daemons = 0, threads = 0, i, t;

    if (!ws || ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &threads) != APR_SUCCESS) {
        return 0;
    }
    for (i = 0; i < daemons; ++i) {
        for (t = 0; t < threads; ++t) {
            if (ap_get_scoreboard_worker_from_indexes(i, t) == ws) {
                return (unsigned int)i;
            }
        }
    }
    return 0;
}

void tls_status_conn_start(conn_rec *c)
{
    void *slot = NULL;

    if (mine) {
        return;
    }
    if (shm && shm_provider->dptr(shm, process_slot(c) % shm_slots, &slot) == APR_SUCCESS) {
        apr_atomic_casptr(&mine, slot, NULL);
    }
    else {
        apr_atomic_casptr(&mine, local, NULL);
    }
}

static void count(int index)
{
    apr_uint64_t *counters = mine ? (apr_uint64_t *)mine : local;

    apr_atomic_inc64(&counters[index]);
}

void tls_status_handshake(uint16_t version, uint16_t suite, int resumed)
{
    int i;

    count(resumed ? C_RESUMED : C_FULL);
    if (version == TLS_VERSION_12 || version == TLS_VERSION_13) {
        count(version == TLS_VERSION_12 ? C_TLS12 : C_TLS13);
    }
    for (i = 0; suites && i < suites->nelts && i < MAX_SUITES; ++i) {
        if (APR_ARRAY_IDX(suites, i, uint16_t) == suite) {
            count(C_SUITE + i);
            break;
        }
    }
}

void tls_status_failure(tls_fail_reason why)
{
    count(C_FAIL + (why < TLS_FAIL_N ? why : TLS_FAIL_OTHER));
}

void tls_status_cache(tls_status_cache_event what)
{
    count(what == TLS_STATUS_CACHE_HIT ? C_CACHE_HIT
          : what == TLS_STATUS_CACHE_MISS ? C_CACHE_MISS : C_CACHE_STORE);
}

tls_fail_reason tls_status_reason(apr_status_t rv)
{
    switch (rv) {
    case TLS_FFI_NO_SHARED_VERSION: return TLS_FAIL_NO_PROTOCOL;
    case TLS_FFI_NO_SHARED_CIPHER: return TLS_FAIL_NO_CIPHER;
    case TLS_FFI_ALERT_RECEIVED: return TLS_FAIL_CLIENT_ALERT;
    case TLS_FFI_PEER_CERT_MISSING:
    case TLS_FFI_PEER_CERT_REFUSED: return TLS_FAIL_BAD_CERT;
    case TLS_FFI_NOT_TLS:
    case TLS_FFI_CORRUPT_MESSAGE:
    case TLS_FFI_PEER_MISBEHAVED:
    case TLS_FFI_DECRYPT_ERROR:
    case TLS_FFI_BUFFER_LIMIT: return TLS_FAIL_MALFORMED;
    default: break;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        return TLS_FAIL_TIMEOUT;
    }
    if (rv == APR_EOF || APR_STATUS_IS_ECONNRESET(rv) || APR_STATUS_IS_ECONNABORTED(rv)
        || APR_STATUS_IS_EPIPE(rv)) {
        return TLS_FAIL_CLOSED;
    }
    return TLS_FAIL_OTHER;
}

/* --- the page ------------------------------------------------------------------------------ */

/* The sums over all processes' slots (or this process's counters). */
static void sum_counters(apr_uint64_t *sum)
{
    unsigned int i;
    int k;

    memset(sum, 0, sizeof(apr_uint64_t) * C_N);
    if (!shm) {
        for (k = 0; k < C_N; ++k) {
            sum[k] = apr_atomic_read64(&local[k]);
        }
        return;
    }
    for (i = 0; i < shm_slots; ++i) {
        void *slot;
        if (shm_provider->dptr(shm, i, &slot) == APR_SUCCESS) {
            for (k = 0; k < C_N; ++k) {
                sum[k] += apr_atomic_read64((apr_uint64_t *)slot + k);
            }
        }
    }
}

static const char *iso_date(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;
    char buf[32];
    apr_size_t len;

    apr_time_exp_gmt(&tm, t);
    apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return apr_pstrmemdup(p, buf, len);
}

/* Whole days from now until t (negative: t is past). */
static long days_until(apr_time_t t, apr_time_t now)
{
    apr_interval_time_t d = t - now;
    apr_interval_time_t day = apr_time_from_sec(86400);

    return (long)(d >= 0 ? d / day : -((-d + day - 1) / day));
}

typedef struct {
    request_rec *r;
    int flags;
} page;

static void head(page *pg, const char *title)
{
    if (!(pg->flags & AP_STATUS_SHORT)) {
        ap_rprintf(pg->r, "<h3>%s</h3>\n%s", title,
                   (pg->flags & AP_STATUS_NOTABLE) ? "" : "<table>\n");
    }
}

static void foot(page *pg)
{
    if (!(pg->flags & (AP_STATUS_SHORT | AP_STATUS_NOTABLE))) {
        ap_rputs("</table>\n", pg->r);
    }
}

/* One counter: "key: n" in ?auto, a row with its label in HTML. */
static void number(page *pg, const char *key, const char *label, apr_uint64_t n)
{
    if (pg->flags & AP_STATUS_SHORT) {
        ap_rprintf(pg->r, "%s: %" APR_UINT64_T_FMT "\n", key, n);
    }
    else if (pg->flags & AP_STATUS_NOTABLE) {
        ap_rprintf(pg->r, "%s: %" APR_UINT64_T_FMT "<br />\n", ap_escape_html(pg->r->pool, label),
                   n);
    }
    else {
        ap_rprintf(pg->r, "<tr><td>%s</td><td align=\"right\">%" APR_UINT64_T_FMT "</td></tr>\n",
                   ap_escape_html(pg->r->pool, label), n);
    }
}

/* One text value. */
static void text(page *pg, const char *key, const char *label, const char *value)
{
    apr_pool_t *p = pg->r->pool;

    if (pg->flags & AP_STATUS_SHORT) {
        ap_rprintf(pg->r, "%s: %s\n", key, value);
    }
    else if (pg->flags & AP_STATUS_NOTABLE) {
        ap_rprintf(pg->r, "%s: %s<br />\n", ap_escape_html(p, label), ap_escape_html(p, value));
    }
    else {
        ap_rprintf(pg->r, "<tr><td>%s</td><td>%s</td></tr>\n", ap_escape_html(p, label),
                   ap_escape_html(p, value));
    }
}

static void show_handshakes(page *pg, const apr_uint64_t *sum)
{
    apr_pool_t *p = pg->r->pool;
    int i;

    head(pg, "Handshakes");
    number(pg, "TLSHandshakesFull", "full handshakes", sum[C_FULL]);
    number(pg, "TLSHandshakesResumed", "resumed sessions", sum[C_RESUMED]);
    number(pg, "TLSHandshakes_TLSv1.2", "TLSv1.2", sum[C_TLS12]);
    number(pg, "TLSHandshakes_TLSv1.3", "TLSv1.3", sum[C_TLS13]);
    for (i = 0; suites && i < suites->nelts && i < MAX_SUITES; ++i) {
        const char *name = tls_proto_suite_name(p, APR_ARRAY_IDX(suites, i, uint16_t));
        number(pg, apr_pstrcat(p, "TLSHandshakes_", name, NULL), name, sum[C_SUITE + i]);
    }
    foot(pg);
}

static void show_failures(page *pg, const apr_uint64_t *sum)
{
    apr_uint64_t total = 0;
    int i;

    for (i = 0; i < TLS_FAIL_N; ++i) {
        total += sum[C_FAIL + i];
    }
    head(pg, "Failed handshakes");
    number(pg, "TLSFailures", "all failed handshakes", total);
    for (i = 0; i < TLS_FAIL_N; ++i) {
        number(pg, apr_pstrcat(pg->r->pool, "TLSFail", FAILS[i].key, NULL), FAILS[i].words,
               sum[C_FAIL + i]);
    }
    foot(pg);
}

static void show_sessions(page *pg, const apr_uint64_t *sum, server_rec *s)
{
    const tls_cache *cache = tls_config_server_get(s)->global->cache;
    const char *spec = NULL, *keys_from = NULL;
    apr_time_t keys_since = 0;

    if (cache) {
        tls_cache_describe(cache, &spec, &keys_from, &keys_since);
    }
    head(pg, "Sessions");
    text(pg, "TLSSessionCache", "session cache (TLSSessionCache)",
         spec ? spec : "none shared (each child process its own)");
    number(pg, "TLSSessionCacheHits", "cache hits (sessions found)", sum[C_CACHE_HIT]);
    number(pg, "TLSSessionCacheMisses", "cache misses (sessions asked for, not found)",
           sum[C_CACHE_MISS]);
    number(pg, "TLSSessionCacheStores", "sessions stored", sum[C_CACHE_STORE]);
    if (keys_since) {
        text(pg, "TLSTicketKeys", "ticket keys from", keys_from ? keys_from : "this server");
        number(pg, "TLSTicketKeyAge", "ticket key age (seconds)",
               (apr_uint64_t)apr_time_sec(apr_time_now() - keys_since));
    }
    foot(pg);
}

/* Each certificate file once: the configured ones, and those mod_md provides. */
static void show_certificates(page *pg, server_rec *base)
{
    request_rec *r = pg->r;
    apr_hash_t *seen = apr_hash_make(r->pool);
    apr_time_t now = apr_time_now();
    server_rec *s;
    int n = 0, i;

    if (!(pg->flags & AP_STATUS_SHORT)) {
        ap_rputs("<h3>Certificates</h3>\n", r);
        if (!(pg->flags & AP_STATUS_NOTABLE)) {
            ap_rputs("<table>\n<tr><th>file</th><th>subject</th><th>names</th>"
                     "<th>valid until</th><th>days left</th></tr>\n", r);
        }
    }
    for (s = base; s; s = s->next) {
        const tls_conf_server *sc = tls_config_server_get(s);
        if (!sc->enabled || !sc->tls) {
            continue;
        }
        for (i = 0; i < sc->tls->keys->nelts && i < sc->tls->certs->nelts; ++i) {
            const tls_cert_spec *spec = &APR_ARRAY_IDX(sc->tls->certs, i, tls_cert_spec);
            const tlsr_certified_key *key = APR_ARRAY_IDX(sc->tls->keys, i,
                                                          const tlsr_certified_key *);
            const apr_table_t *vars = APR_ARRAY_IDX(sc->tls->key_vars, i, const apr_table_t *);
            apr_time_t nb, na;
            const char *subject, *names, *until;
            long left;

            if (apr_hash_get(seen, spec->cert_file, APR_HASH_KEY_STRING)
                || tls_ffi_certified_key_validity(key, &nb, &na) != APR_SUCCESS) {
                continue;
            }
            apr_hash_set(seen, spec->cert_file, APR_HASH_KEY_STRING, spec);
            ++n;
            subject = vars ? apr_table_get(vars, "SSL_SERVER_S_DN") : NULL;
            names = tls_cert_dns_names(r->pool, vars);
            until = iso_date(r->pool, na);
            left = days_until(na, now);
            if (pg->flags & AP_STATUS_SHORT) {
                ap_rprintf(r, "TLSCertificate%d: %s\nTLSCertificate%dSubject: %s\n"
                           "TLSCertificate%dNames: %s\nTLSCertificate%dNotAfter: %s\n"
                           "TLSCertificate%dDaysLeft: %ld\n", n, spec->cert_file, n,
                           subject ? subject : "", n, names, n, until, n, left);
            }
            else if (pg->flags & AP_STATUS_NOTABLE) {
                ap_rprintf(r, "%s: %s, %s, valid until %s (%ld days left)<br />\n",
                           ap_escape_html(r->pool, spec->cert_file),
                           ap_escape_html(r->pool, subject ? subject : ""),
                           ap_escape_html(r->pool, names), until, left);
            }
            else {
                ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                           "<td align=\"right\">%ld%s</td></tr>\n",
                           ap_escape_html(r->pool, spec->cert_file),
                           ap_escape_html(r->pool, subject ? subject : ""),
                           ap_escape_html(r->pool, names), until, left,
                           left < 0 ? " (expired)" : left < TLS_CERT_EXPIRY_WARN_DAYS
                                                     ? " (renew!)" : "");
            }
        }
    }
    if (pg->flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "TLSCertificates: %d\n", n);
    }
    else if (!(pg->flags & AP_STATUS_NOTABLE)) {
        ap_rputs("</table>\n", r);
    }
}

static int tls_status_hook(request_rec *r, int flags)
{
    server_rec *base = ap_server_conf;
    const tls_conf_global *g = tls_config_server_get(base)->global;
    apr_uint64_t sum[C_N];
    page pg;

    if (!g || g->engine_addrs->nelts == 0) {
        return OK; /* mod_tls serves nothing here */
    }
    pg.r = r;
    pg.flags = flags;
    sum_counters(sum);
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "TLSCounters: %s\n", shm ? "all child processes" : "this child process");
    }
    else {
        ap_rprintf(r, "<hr />\n<h2>mod_tls</h2>\n<p>Counted %s since the server started "
                   "(restarts keep the counts).</p>\n",
                   shm ? "over all child processes"
                       : "<b>by this child process only</b> (load mod_slotmem_shm to see all)");
    }
    show_handshakes(&pg, sum);
    show_failures(&pg, sum);
    show_sessions(&pg, sum, base);
    show_certificates(&pg, base);
    return OK;
}
