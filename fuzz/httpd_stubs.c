/* httpd_stubs.c -- stand-ins for the few httpd functions that module/tls_config.c and
 * module/tls_cache.c call (and tls_status_cache()), so the C fuzz targets run their parsers with APR only (as
 * tests/unit/test_config.c does). They behave like httpd's where it matters to the callers:
 * ap_getword_conf splits words and quotes as the config reader does, ap_check_cmd_context
 * refuses what httpd refuses (so a handler never runs where httpd would not run it), and
 * ap_server_root_relative resolves like httpd against a fixed ServerRoot. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <util_mutex.h>

#include "tls_status.h"

module AP_MODULE_DECLARE_DATA tls_module;

#define SERVER_ROOT "/etc/apache2"

AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    char *path = NULL;

    return apr_filepath_merge(&path, SERVER_ROOT, fname, APR_FILEPATH_TRUENAME, p)
           == APR_SUCCESS ? path : NULL;
}

/* A word: leading white space skipped, "..." or '...' quoted (a backslash escapes the quote
 * character inside), the white space after it consumed too. */
AP_DECLARE(char *) ap_getword_conf(apr_pool_t *p, const char **line)
{
    const char *s = *line, *start;
    char *word, *w;
    char quote;

    while (apr_isspace(*s)) ++s;
    if (*s == '"' || *s == '\'') {
        quote = *s++;
        start = s;
        while (*s && *s != quote) {
            s += (*s == '\\' && s[1]) ? 2 : 1;
        }
        word = w = apr_pcalloc(p, (apr_size_t)(s - start) + 1);
        for (; start < s; ++start) {
            if (*start == '\\' && start + 1 < s && start[1] == quote) ++start;
            *w++ = *start;
        }
        if (*s) ++s;
    }
    else {
        start = s;
        while (*s && !apr_isspace(*s)) ++s;
        word = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
    }
    while (apr_isspace(*s)) ++s;
    *line = s;
    return word;
}

static int in_section(const ap_directive_t *d, const char *name)
{
    for (; d; d = d->parent) {
        if (!strcasecmp(d->directive, name)) return 1;
    }
    return 0;
}

AP_DECLARE(const char *) ap_check_cmd_context(cmd_parms *cmd, unsigned forbidden)
{
    const ap_directive_t *parent = cmd->directive ? cmd->directive->parent : NULL;

    if ((forbidden & NOT_IN_VIRTUALHOST) && cmd->server->is_virtual) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " cannot occur within <VirtualHost> section", NULL);
    }
    if ((forbidden & NOT_IN_DIR_CONTEXT) == NOT_IN_DIR_CONTEXT && cmd->path) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " cannot occur within directory context", NULL);
    }
    if (((forbidden & NOT_IN_DIRECTORY) && in_section(parent, "<Directory"))
        || ((forbidden & NOT_IN_LOCATION) && in_section(parent, "<Location"))
        || ((forbidden & NOT_IN_FILES) && in_section(parent, "<Files"))
        || ((forbidden & NOT_IN_PROXY) && in_section(parent, "<Proxy"))) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " cannot occur within a section", NULL);
    }
    return NULL;
}

/* Formats the message (so a bad format argument shows), writes nothing. */
AP_DECLARE(void) ap_log_error_(const char *file, int line, int module_index, int level,
                               apr_status_t status, const server_rec *s, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    (void)file; (void)line; (void)module_index; (void)level; (void)status; (void)s;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
}

/* --- socache providers: "shmcb", "memcache", "redis" exist; their create() takes any
 * arguments except that memcache and redis need some, as the real ones do. -------------- */

static const char *fake_create(ap_socache_instance_t **instance, const char *arg,
                               apr_pool_t *tmp, apr_pool_t *p)
{
    (void)tmp;
    if (!arg || !*arg) {
        return "needs a server list";
    }
    *instance = apr_pcalloc(p, 1);
    return NULL;
}

static const char *shmcb_create(ap_socache_instance_t **instance, const char *arg,
                                apr_pool_t *tmp, apr_pool_t *p)
{
    (void)arg; (void)tmp;
    *instance = apr_pcalloc(p, 1);
    return NULL;
}

static void fake_destroy(ap_socache_instance_t *instance, server_rec *s)
{
    (void)instance; (void)s;
}

static const ap_socache_provider_t SHMCB = {
    .name = "shmcb", .create = shmcb_create, .destroy = fake_destroy };
static const ap_socache_provider_t NET = {
    .name = "memcache", .create = fake_create, .destroy = fake_destroy };

AP_DECLARE(void *) ap_lookup_provider(const char *group, const char *name, const char *version)
{
    (void)version;
    if (strcmp(group, AP_SOCACHE_PROVIDER_GROUP)) return NULL;
    if (!strcmp(name, "shmcb")) return (void *)&SHMCB;
    if (!strcmp(name, "memcache") || !strcmp(name, "redis")) return (void *)&NET;
    return NULL;
}

AP_DECLARE(apr_array_header_t *) ap_list_provider_names(apr_pool_t *pool, const char *group,
                                                        const char *version)
{
    apr_array_header_t *names = apr_array_make(pool, 3, sizeof(ap_list_provider_names_t));

    (void)group; (void)version;
    ((ap_list_provider_names_t *)apr_array_push(names))->provider_name = "shmcb";
    ((ap_list_provider_names_t *)apr_array_push(names))->provider_name = "memcache";
    ((ap_list_provider_names_t *)apr_array_push(names))->provider_name = "redis";
    return names;
}

AP_DECLARE(apr_status_t) ap_mutex_register(apr_pool_t *pconf, const char *type,
                                           const char *default_dir, apr_lockmech_e default_mech,
                                           apr_int32_t options)
{
    (void)pconf; (void)type; (void)default_dir; (void)default_mech; (void)options;
    return APR_ENOTIMPL;
}

AP_DECLARE(apr_status_t) ap_global_mutex_create(apr_global_mutex_t **mutex, const char **name,
                                                const char *type, const char *instance_id,
                                                server_rec *server, apr_pool_t *pool,
                                                apr_int32_t options)
{
    (void)mutex; (void)name; (void)type; (void)instance_id; (void)server; (void)pool;
    (void)options;
    return APR_ENOTIMPL;
}

/* TLSEngine resolves its host: numeric addresses only here, so that a fuzz run never asks
 * DNS. Any other name is "not found", as for a name that does not resolve. */
APR_DECLARE(apr_status_t) apr_sockaddr_info_get(apr_sockaddr_t **sa, const char *hostname,
                                                apr_int32_t family, apr_port_t port,
                                                apr_int32_t flags, apr_pool_t *p)
{
    typedef apr_status_t (*real_fn)(apr_sockaddr_t **, const char *, apr_int32_t, apr_port_t,
                                    apr_int32_t, apr_pool_t *);
    static real_fn real;
    unsigned char addr[16];

    if (hostname && inet_pton(AF_INET, hostname, addr) != 1
        && inet_pton(AF_INET6, hostname, addr) != 1) {
        return APR_EGENERAL;
    }
    if (!real) {
        real = (real_fn)dlsym(RTLD_NEXT, "apr_sockaddr_info_get");
    }
    return real(sa, hostname, family, port, flags, p);
}

/* module/tls_status.c counts cache hits, misses and stores in mod_slotmem_shm slots of a
 * running server; the cache target has no server, so the count goes nowhere. */
void tls_status_cache(tls_status_cache_event what)
{
    (void)what;
}
