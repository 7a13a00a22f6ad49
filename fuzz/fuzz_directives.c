/* fuzz_directives.c -- every mod_tls directive handler (module/tls_config.c, through the
 * exported table tls_conf_cmds), fed a configuration text the way httpd would: the value
 * parsers of TLSEngine, TLSProtocol, TLSCiphersPrefer/Suppress, TLSOptions, TLSSessionCache,
 * TLSSessionCacheTimeout, TLSVerifyDepth, TLSClientCertificate, TLSUserName, the on/off
 * flags, the TLSProxy* directives, and the merge and defaults of what they set.
 *
 * Input: configuration lines ("TLSProtocol TLSv1.3+"), with <VirtualHost ...>, <Proxy ...>,
 * <ProxyMatch ...>, <Directory ...> and <Location ...> sections (and their end tags). A
 * directive runs only where httpd would let it (its req_override against the context, then
 * ap_check_cmd_context: fuzz/httpd_stubs.c), with its arguments split as httpd splits them
 * (TAKE1, TAKE12, RAW_ARGS). File arguments are checked against the real file system:
 * absolute paths, or relative to ServerRoot /etc/apache2. TLSEngine resolves numeric
 * addresses only. After the last line the virtual hosts and sections are merged and
 * finalized, and the results are read. Checks besides crashes: an error is a non-empty
 * message that names the directive; finalized values are in their documented ranges. */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>

#include "fuzz_common.h"
#include "tls_config.h"
#include "tls_proto.h"

#define MAX_VHOSTS 4
#define MAX_SECTIONS 8
#define MAX_LINES 64
#define FUZZ_OWN "[dispatcher] " /* errors of the stand-in dispatcher, not of a handler */

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

typedef struct {
    server_rec s;
    void *module_config[1];       /* tls_module.module_index is 0 */
    tls_conf_dir *dir;            /* the server's own per-directory defaults */
} server;

typedef struct {
    ap_directive_t node;          /* "<Proxy" ..., the parent of directives inside */
    char *path;
    tls_conf_dir *dir;
    server *srv;
} section;

static void new_server(apr_pool_t *p, process_rec *process, server *srv, int is_virtual)
{
    memset(srv, 0, sizeof(*srv));
    srv->s.process = process;
    srv->s.is_virtual = is_virtual;
    srv->s.module_config = (struct ap_conf_vector_t *)srv->module_config;
    srv->module_config[0] = tls_config_server_create(p, &srv->s);
    srv->dir = tls_config_dir_create(p, NULL);
}

static const command_rec *find_cmd(const char *name)
{
    const command_rec *c;

    for (c = tls_conf_cmds; c->name; ++c) {
        if (!strcasecmp(c->name, name)) return c;
    }
    return NULL;
}

/* Runs one directive as httpd's invoke_cmd would; returns its error or NULL. */
static const char *invoke(cmd_parms *cmd, void *mconfig, const char *args)
{
    const command_rec *c = cmd->cmd;
    const char *w, *w2;
    int allowed = cmd->path ? (ACCESS_CONF | OR_ALL)
                            : (RSRC_CONF | OR_OPTIONS | OR_FILEINFO | OR_INDEXES);

    if (!(c->req_override & allowed)) {
        return FUZZ_OWN "not allowed here";
    }
    switch (c->args_how) {
    case RAW_ARGS:
        return c->AP_RAW_ARGS(cmd, mconfig, args);
    case TAKE1:
        w = ap_getword_conf(cmd->pool, &args);
        if (!*w || *args) return FUZZ_OWN "takes one argument";
        return c->AP_TAKE1(cmd, mconfig, w);
    case TAKE12:
        w = ap_getword_conf(cmd->pool, &args);
        w2 = ap_getword_conf(cmd->pool, &args);
        if (!*w || *args) return FUZZ_OWN "takes one or two arguments";
        return c->AP_TAKE2(cmd, mconfig, w, *w2 ? w2 : NULL);
    default:
        FUZZ_ASSERT(!"a directive kind this target does not know");
        return NULL;
    }
}

static void check_server(const tls_conf_server *sc)
{
    int i;

    FUZZ_ASSERT(sc->min_version >= 0x0301 && sc->min_version <= 0x0304);
    FUZZ_ASSERT(sc->honor_client_order == 0 || sc->honor_client_order == 1);
    FUZZ_ASSERT(sc->session_tickets == 0 || sc->session_tickets == 1);
    FUZZ_ASSERT(sc->client_auth >= TLS_CLIENT_NONE && sc->client_auth <= TLS_CLIENT_REQUIRED);
    FUZZ_ASSERT(sc->verify_depth >= 0 && sc->verify_depth <= 100);
    FUZZ_ASSERT(sc->global->strict_sni == 0 || sc->global->strict_sni == 1);
    FUZZ_ASSERT(sc->global->session_timeout >= 1 && sc->global->session_timeout <= 604800);
    FUZZ_ASSERT(sc->certs && sc->ciphers_prefer && sc->ciphers_suppress);
    for (i = 0; i < sc->ciphers_prefer->nelts; ++i) {
        (void)tls_proto_suite_name(sc->server->process->pconf,
                                   APR_ARRAY_IDX(sc->ciphers_prefer, i, uint16_t));
    }
    for (i = 0; i < sc->certs->nelts; ++i) {
        const tls_cert_spec *spec = &APR_ARRAY_IDX(sc->certs, i, tls_cert_spec);
        FUZZ_ASSERT(spec->cert_file && spec->cert_file[0] == '/');
    }
    for (i = 0; i < sc->global->engine_addrs->nelts; ++i) {
        const tls_engine_addr *a = &APR_ARRAY_IDX(sc->global->engine_addrs, i, tls_engine_addr);
        FUZZ_ASSERT(a->port > 0 && a->spec);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p, *ptemp;
    process_rec process;
    static server servers[1 + MAX_VHOSTS];
    static section sections[MAX_SECTIONS];
    int n_vhosts = 0, n_sections = 0, lines = 0, i;
    server *cur = &servers[0];
    section *sec = NULL;
    char *text = malloc(size + 1), *line, *next;
    apr_array_header_t *proxies;

    if (!text) abort();
    memcpy(text, data, size);
    text[size] = 0;
    apr_pool_create(&p, root);
    apr_pool_create(&ptemp, p);
    memset(&process, 0, sizeof(process));
    process.pool = process.pconf = p;
    new_server(p, &process, &servers[0], 0);

    for (line = text; line && lines < MAX_LINES; line = next, ++lines) {
        char *end, *name;
        const char *args, *err;
        cmd_parms cmd;
        ap_directive_t directive;
        const command_rec *c;

        next = strchr(line, '\n');
        if (next) *next++ = 0;
        end = line + strlen(line);
        while (end > line && apr_isspace(end[-1])) *--end = 0;
        args = line;
        name = ap_getword_conf(ptemp, &args);
        if (!*name || *name == '#') continue;

        if (!strcasecmp(name, "<VirtualHost") || !strcasecmp(name, "<VirtualHost>")) {
            if (n_vhosts < MAX_VHOSTS && !sec) {
                cur = &servers[1 + n_vhosts++];
                new_server(p, &process, cur, 1);
            }
            continue;
        }
        if (!strcasecmp(name, "</VirtualHost>")) {
            cur = &servers[0];
            sec = NULL;
            continue;
        }
        if (!strcasecmp(name, "<Proxy") || !strcasecmp(name, "<ProxyMatch")
            || !strcasecmp(name, "<Directory") || !strcasecmp(name, "<Location")) {
            if (n_sections < MAX_SECTIONS) {
                char *path = apr_pstrdup(p, args), *gt = strrchr(path, '>');
                if (gt) *gt = 0;
                sec = &sections[n_sections++];
                memset(sec, 0, sizeof(*sec));
                sec->node.directive = apr_pstrdup(p, name);
                sec->node.args = path;
                sec->path = *path ? path : "/";
                sec->dir = tls_config_dir_create(p, sec->path);
                sec->srv = cur;
            }
            continue;
        }
        if (name[0] == '<' && name[1] == '/') {
            sec = NULL;
            continue;
        }
        if (!(c = find_cmd(name))) continue;

        memset(&cmd, 0, sizeof(cmd));
        memset(&directive, 0, sizeof(directive));
        directive.directive = c->name;
        directive.args = args;
        directive.filename = "fuzz.conf";
        directive.line_num = lines + 1;
        directive.parent = sec ? &sec->node : NULL;
        cmd.directive = &directive;
        cmd.pool = p;
        cmd.temp_pool = ptemp;
        cmd.server = &cur->s;
        cmd.cmd = c;
        cmd.limited = -1;
        cmd.path = sec ? sec->path : NULL;
        cmd.override = cmd.path ? (ACCESS_CONF | OR_ALL) : (RSRC_CONF | OR_ALL);
        err = invoke(&cmd, sec ? (void *)sec->dir : (void *)cur->dir, args);
        if (err && strncmp(err, FUZZ_OWN, strlen(FUZZ_OWN))) {
            FUZZ_ASSERT(!strncmp(err, c->name, strlen(c->name)));
        }
    }

    /* startup: merge the virtual hosts into the main server, finalize, read the results */
    tls_config_server_finalize(servers[0].module_config[0]);
    check_server(servers[0].module_config[0]);
    for (i = 1; i <= n_vhosts; ++i) {
        tls_conf_server *merged = tls_config_server_merge(p, servers[0].module_config[0],
                                                          servers[i].module_config[0]);
        tls_config_server_finalize(merged);
        check_server(merged);
    }
    for (i = 0; i < n_sections; ++i) {
        tls_conf_dir *merged = tls_config_dir_merge(p, sections[i].srv->dir, sections[i].dir);
        FUZZ_ASSERT(merged->proxy.engine >= TLS_UNSET && merged->proxy.engine <= 1);
        FUZZ_ASSERT(merged->proxy.session_cache == TLS_UNSET
                    || (merged->proxy.session_cache >= 0
                        && merged->proxy.session_cache <= 1000000));
        FUZZ_ASSERT(merged->options & TLS_OPT_RELATIVE
                    || !(merged->options & ~(TLS_OPT_STD_ENV_VARS | TLS_OPT_EXPORT_CERT_DATA)));
    }
    proxies = tls_config_proxy_sections();
    FUZZ_ASSERT(proxies->nelts <= n_sections);
    for (i = 0; i < proxies->nelts; ++i) {
        const tls_proxy_section *ps = &APR_ARRAY_IDX(proxies, i, tls_proxy_section);
        FUZZ_ASSERT(ps->dc->proxy.section && ps->server);
    }
    apr_pool_destroy(p);
    FUZZ_ASSERT(tls_config_proxy_sections()->nelts == 0);
    free(text);
    return 0;
}
