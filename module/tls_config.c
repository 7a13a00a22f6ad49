/* tls_config.c -- mod_tls configuration: defaults, create/merge, directive handlers. */
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "tls_config.h"
#include "tls_proto.h"

APLOG_USE_MODULE(tls);

/* The defaults, in one place. A field not listed here defaults to "nothing" (NULL/empty). */
static const tls_conf_server DEFAULTS = {
    .min_version = TLS_VERSION_12,        /* TLSProtocol default: TLS 1.2 and 1.3 */
    .honor_client_order = 1,              /* TLSHonorClientOrder on */
    .session_tickets = 1,                 /* TLSSessionTickets on */
    .client_auth = TLS_CLIENT_NONE,       /* TLSClientCertificate none */
    .verify_depth = 1,                    /* TLSVerifyDepth 1, as mod_ssl */
};
static const tls_conf_global GLOBAL_DEFAULTS = {
    .strict_sni = 1,                      /* TLSStrictSNI on */
    .session_timeout = 300,               /* TLSSessionCacheTimeout 300 */
};

void *tls_config_server_create(apr_pool_t *p, server_rec *s)
{
    tls_conf_server *sc = apr_pcalloc(p, sizeof(*sc));

    sc->server = s;
    sc->min_version = TLS_UNSET;
    sc->honor_client_order = TLS_UNSET;
    sc->session_tickets = TLS_UNSET;
    sc->client_auth = TLS_UNSET;
    sc->verify_depth = TLS_UNSET;
    if (!s->is_virtual) {
        sc->global = apr_pcalloc(p, sizeof(*sc->global));
        sc->global->engine_addrs = apr_array_make(p, 4, sizeof(tls_engine_addr));
        sc->global->strict_sni = TLS_UNSET;
        sc->global->session_timeout = TLS_UNSET;
    }
    return sc;
}

/* Every field of a merged config goes through this one macro: the vhost's value if it set
 * one, else the base server's. */
#define TLS_MERGE(field, unset) nc->field = (add->field != (unset)) ? add->field : base->field

void *tls_config_server_merge(apr_pool_t *p, void *basev, void *addv)
{
    tls_conf_server *base = basev, *add = addv;
    tls_conf_server *nc = apr_pcalloc(p, sizeof(*nc));

    nc->server = add->server;
    TLS_MERGE(global, NULL);
    TLS_MERGE(certs, NULL);
    TLS_MERGE(min_version, TLS_UNSET);
    TLS_MERGE(ciphers_prefer, NULL);
    TLS_MERGE(ciphers_suppress, NULL);
    TLS_MERGE(honor_client_order, TLS_UNSET);
    TLS_MERGE(session_tickets, TLS_UNSET);
    TLS_MERGE(client_auth, TLS_UNSET);
    TLS_MERGE(client_ca, NULL);
    TLS_MERGE(client_ca_at, NULL);
    TLS_MERGE(client_crls, NULL);
    TLS_MERGE(client_crls_at, NULL);
    TLS_MERGE(verify_depth, TLS_UNSET);
    /* enabled and tls are results of check_config, never inherited */
    return nc;
}

void *tls_config_dir_create(apr_pool_t *p, char *dir)
{
    tls_conf_dir *dc = apr_pcalloc(p, sizeof(*dc));

    (void)dir;
    dc->options = TLS_OPT_RELATIVE; /* nothing given: inherit */
    dc->proxy.engine = TLS_UNSET;
    dc->proxy.min_version = TLS_UNSET;
    dc->proxy.session_cache = TLS_UNSET;
    return dc;
}

/* mod_ssl's SSLOptions merge: relative settings adjust the parent's, absolute ones replace. */
void *tls_config_dir_merge(apr_pool_t *p, void *basev, void *addv)
{
    tls_conf_dir *base = basev, *add = addv, *nc = apr_pcalloc(p, sizeof(*nc));

    if (add->options & TLS_OPT_RELATIVE) {
        nc->options_add = (base->options_add & ~add->options_del) | add->options_add;
        nc->options_del = (base->options_del & ~add->options_add) | add->options_del;
        nc->options = (base->options & ~nc->options_del) | nc->options_add;
    }
    else {
        *nc = *add;
    }
    nc->user_name = add->user_name ? add->user_name : base->user_name;
    nc->proxy_registered = 0;
    {
        tls_conf_proxy *np = &nc->proxy;
        const tls_conf_proxy *bp = &base->proxy, *ap = &add->proxy;
#define TLS_MERGE_PROXY(field, unset) np->field = (ap->field != (unset)) ? ap->field : bp->field
        TLS_MERGE_PROXY(engine, TLS_UNSET);
        TLS_MERGE_PROXY(ca, NULL);
        np->ca_at = ap->ca ? ap->ca_at : bp->ca_at;
        TLS_MERGE_PROXY(min_version, TLS_UNSET);
        TLS_MERGE_PROXY(ciphers_prefer, NULL);
        TLS_MERGE_PROXY(ciphers_suppress, NULL);
        TLS_MERGE_PROXY(machine_certs, NULL);
        TLS_MERGE_PROXY(session_cache, TLS_UNSET);
        TLS_MERGE_PROXY(section, NULL);
        TLS_MERGE_PROXY(defined_at, NULL);
#undef TLS_MERGE_PROXY
    }
    return nc;
}

const char *tls_config_user_name(request_rec *r)
{
    tls_conf_dir *dc = ap_get_module_config(r->per_dir_config, &tls_module);

    return dc ? dc->user_name : NULL;
}

int tls_config_options(request_rec *r)
{
    tls_conf_dir *dc = ap_get_module_config(r->per_dir_config, &tls_module);

    return dc ? dc->options & ~TLS_OPT_RELATIVE : 0;
}

#define TLS_DEFAULT(obj, defaults, field, unset) \
    if ((obj)->field == (unset)) (obj)->field = (defaults).field

void tls_config_server_finalize(tls_conf_server *sc)
{
    apr_pool_t *p = sc->server->process->pconf;

    TLS_DEFAULT(sc, DEFAULTS, min_version, TLS_UNSET);
    if (sc->honor_client_order == TLS_UNSET && sc->ciphers_prefer && sc->ciphers_prefer->nelts) {
        sc->honor_client_order = 0; /* a preference means the server's order counts */
    }
    TLS_DEFAULT(sc, DEFAULTS, honor_client_order, TLS_UNSET);
    TLS_DEFAULT(sc, DEFAULTS, session_tickets, TLS_UNSET);
    TLS_DEFAULT(sc, DEFAULTS, client_auth, TLS_UNSET);
    TLS_DEFAULT(sc, DEFAULTS, verify_depth, TLS_UNSET);
    TLS_DEFAULT(sc->global, GLOBAL_DEFAULTS, strict_sni, TLS_UNSET);
    TLS_DEFAULT(sc->global, GLOBAL_DEFAULTS, session_timeout, TLS_UNSET);
    if (!sc->certs) sc->certs = apr_array_make(p, 1, sizeof(tls_cert_spec));
    if (!sc->ciphers_prefer) sc->ciphers_prefer = apr_array_make(p, 1, sizeof(uint16_t));
    if (!sc->ciphers_suppress) sc->ciphers_suppress = apr_array_make(p, 1, sizeof(uint16_t));
}

tls_conf_server *tls_config_server_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &tls_module);
}

/* ------------------------------------------------------------------------------------------ */
/* directive handlers                                                                         */

static const char *defined_at(cmd_parms *cmd)
{
    if (!cmd->directive) {
        return "command line";
    }
    return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
}

/* Prefixes an error text with the directive's name, as every message of ours reads. */
static const char *cmd_error(cmd_parms *cmd, const char *msg)
{
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", msg, NULL);
}

/* A host of digits and dots must be a whole dotted quad: getaddrinfo() would take "443" or
 * "127.1" for an IPv4 address, which is never what "TLSEngine 443:443" meant. */
static int valid_numeric_host(const char *host)
{
    int dots = 0;
    const char *c;

    if (host[strspn(host, "0123456789.")]) {
        return 1; /* a name or an IPv6 address: resolved later */
    }
    for (c = host; *c; ++c) {
        if (*c == '.' && (c == host || c[1] == '.' || !c[1])) {
            return 0;
        }
        dots += *c == '.';
    }
    return dots == 3;
}

/* The same address given twice is a mistake (an Include read twice, a copy left behind), as
 * httpd says of Listen; "*" and no host at all are the same. */
static const char *duplicate_engine(cmd_parms *cmd, const apr_array_header_t *addrs,
                                    const char *host, apr_port_t port, const char *arg)
{
    int i;

    if (host && !strcmp(host, "*")) {
        host = NULL;
    }
    for (i = 0; i < addrs->nelts; ++i) {
        const tls_engine_addr *a = &APR_ARRAY_IDX(addrs, i, tls_engine_addr);
        if (a->port == port && (a->host ? host && !strcasecmp(a->host, host) : !host)) {
            return cmd_error(cmd, apr_psprintf(cmd->pool, "address '%s' is given twice "
                             "(first as '%s' at %s)", arg, a->spec, a->defined_at));
        }
    }
    return NULL;
}

static const char *set_engine(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    tls_engine_addr *a;
    char *host = NULL, *scope = NULL;
    apr_port_t port = 0;
    apr_status_t rv;
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    rv = apr_parse_addr_port(&host, &scope, &port, arg, cmd->pool);
    if (rv != APR_SUCCESS || port == 0 || scope || (host && !valid_numeric_host(host))) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid address '%s' (expected "
                         "[address:]port with a port from 1 to 65535)", arg));
    }
    if ((err = duplicate_engine(cmd, sc->global->engine_addrs, host, port, arg))) {
        return err;
    }
    a = apr_array_push(sc->global->engine_addrs);
    memset(a, 0, sizeof(*a));
    a->spec = apr_pstrdup(cmd->pool, arg);
    a->defined_at = defined_at(cmd);
    a->port = port;
    if (host && strcmp(host, "*")) {
        a->host = host;
        rv = apr_sockaddr_info_get(&a->addrs, host, APR_UNSPEC, port, 0, cmd->pool);
        if (rv != APR_SUCCESS) {
            return cmd_error(cmd, apr_psprintf(cmd->pool, "cannot resolve the host of '%s'", arg));
        }
    }
    return NULL;
}

/* Resolves a file argument against ServerRoot and checks that it is a regular file now, so
 * that `apachectl -t` points at the line. Contents are checked at startup. */
static const char *file_arg(cmd_parms *cmd, const char *what, const char *arg, const char **path)
{
    apr_finfo_t finfo;
    apr_status_t rv;
    char buf[256];

    *path = ap_server_root_relative(cmd->pool, arg);
    if (!*path) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid %s path '%s'", what, arg));
    }
    rv = apr_stat(&finfo, *path, APR_FINFO_TYPE, cmd->pool);
    if (rv != APR_SUCCESS) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "cannot access %s file '%s': %s", what,
                         *path, apr_strerror(rv, buf, sizeof(buf))));
    }
    if (finfo.filetype != APR_REG) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "%s file '%s' is not a regular file", what,
                         *path));
    }
    return NULL;
}

static const char *set_certificate(cmd_parms *cmd, void *dc, const char *cert, const char *key)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    tls_cert_spec *spec;
    const char *err, *cert_path, *key_path = NULL;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    if ((err = file_arg(cmd, "certificate", cert, &cert_path))) {
        return err;
    }
    if (key && (err = file_arg(cmd, "key", key, &key_path))) {
        return err;
    }
    if (!sc->certs) {
        sc->certs = apr_array_make(cmd->pool, 2, sizeof(tls_cert_spec));
    }
    spec = apr_array_push(sc->certs);
    spec->cert_file = cert_path;
    spec->key_file = key_path;
    spec->defined_at = defined_at(cmd);
    return NULL;
}

static const char *set_protocol(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    const char *err;
    uint16_t v;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    if ((err = tls_proto_parse_min_version(cmd->pool, arg, &v))) {
        return cmd_error(cmd, err);
    }
    sc->min_version = v;
    return NULL;
}

/* Parses the arguments of a cipher suite directive (RAW_ARGS: any number of words, each
 * quoted or not, each a list of names) and appends them to *ids. */
static const char *suites_arg(cmd_parms *cmd, const char *arg, apr_array_header_t **ids)
{
    apr_array_header_t *parsed = apr_array_make(cmd->pool, 8, sizeof(uint16_t));
    const char *list = "", *err;

    while (*arg) {
        const char *w = ap_getword_conf(cmd->temp_pool, &arg);
        list = apr_pstrcat(cmd->temp_pool, list, ":", w, NULL);
    }
    if ((err = tls_proto_parse_suites(cmd->pool, list, parsed))) {
        return cmd_error(cmd, err);
    }
    if (!*ids) {
        *ids = parsed;
    }
    else {
        apr_array_cat(*ids, parsed);
    }
    return NULL;
}

/* Parses a suite list into *ids, appending to what earlier lines of the same context gave.
 * Suites rustls does not implement are kept here and reported at startup (tls_server.c). */
static const char *set_suites(cmd_parms *cmd, apr_array_header_t **ids, const char *arg)
{
    const char *err;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    return suites_arg(cmd, arg, ids);
}

static const char *set_ciphers_prefer(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_suites(cmd, &tls_config_server_get(cmd->server)->ciphers_prefer, arg);
}

static const char *set_ciphers_suppress(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_suites(cmd, &tls_config_server_get(cmd->server)->ciphers_suppress, arg);
}

/* on|off, strictly: httpd's FLAG would silently ignore further arguments. */
static const char *flag_arg(cmd_parms *cmd, const char *arg, int *flag)
{
    if (!strcasecmp(arg, "on")) {
        *flag = 1;
    }
    else if (!strcasecmp(arg, "off")) {
        *flag = 0;
    }
    else {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is neither 'on' nor 'off'", arg));
    }
    return NULL;
}

static const char *set_honor_client_order(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    return flag_arg(cmd, arg, &tls_config_server_get(cmd->server)->honor_client_order);
}

static const char *set_strict_sni(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    return flag_arg(cmd, arg, &tls_config_server_get(cmd->server)->global->strict_sni);
}

static const char *set_session_tickets(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    return flag_arg(cmd, arg, &tls_config_server_get(cmd->server)->session_tickets);
}

static const char *set_client_certificate(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    if (!strcasecmp(arg, "none")) {
        sc->client_auth = TLS_CLIENT_NONE;
    }
    else if (!strcasecmp(arg, "optional")) {
        sc->client_auth = TLS_CLIENT_OPTIONAL;
    }
    else if (!strcasecmp(arg, "required") || !strcasecmp(arg, "require")) {
        sc->client_auth = TLS_CLIENT_REQUIRED;
    }
    else {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "unknown value '%s' (use none, optional "
                         "or required)%s", arg, !strcasecmp(arg, "optional_no_ca")
                         ? "; optional_no_ca is not supported: a certificate a client sends "
                           "must verify" : ""));
    }
    return NULL;
}

static const char *set_client_ca(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))
        || (err = file_arg(cmd, "CA", arg, &sc->client_ca))) {
        return err;
    }
    sc->client_ca_at = defined_at(cmd);
    return NULL;
}

static const char *set_client_crl(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    const char *err, *path;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))
        || (err = file_arg(cmd, "CRL", arg, &path))) {
        return err;
    }
    if (!sc->client_crls) {
        sc->client_crls = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->client_crls, const char *) = path;
    sc->client_crls_at = defined_at(cmd);
    return NULL;
}

/* A whole decimal number from min to max into *out; 0 if arg is not one. */
static int int_arg(const char *arg, long min, long max, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (end == arg || *end || v < min || v > max) {
        return 0;
    }
    *out = (int)v;
    return 1;
}

static const char *set_verify_depth(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_server *sc = tls_config_server_get(cmd->server);
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    if (!int_arg(arg, 0, 100, &sc->verify_depth)) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is not a depth from 0 to 100 "
                         "(1: client certificates issued directly by a TLSClientCA)", arg));
    }
    return NULL;
}

static const char *set_user_name(cmd_parms *cmd, void *dcv, const char *arg)
{
    tls_conf_dir *dc = dcv;

    if ((strncasecmp(arg, "SSL_", 4) || !arg[4]
         || arg[4 + strspn(arg + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789_")])
        && strcasecmp(arg, "HTTPS")) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is not an SSL_* variable "
                         "(e.g. SSL_CLIENT_S_DN_CN)", arg));
    }
    dc->user_name = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_session_cache(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_global *g = tls_config_server_get(cmd->server)->global;
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    if (!*arg) {
        return cmd_error(cmd, "needs 'none' or a cache provider, e.g. shmcb:path(size)");
    }
    g->session_cache = arg; /* the provider is looked up at startup (tls_cache.c) */
    g->session_cache_at = defined_at(cmd);
    return NULL;
}

static const char *set_session_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_global *g = tls_config_server_get(cmd->server)->global;
    const char *err;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    if (!int_arg(arg, 1, 7 * 24 * 3600, &g->session_timeout)) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is not a number of seconds "
                         "from 1 to 604800 (7 days)", arg));
    }
    return NULL;
}

static const char *set_ticket_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_global *g = tls_config_server_get(cmd->server)->global;
    const char *err, *path;

    (void)dc;
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY))) {
        return err;
    }
    if ((err = file_arg(cmd, "key", arg, &path))) {
        return err;
    }
    g->ticket_key_file = path;
    g->ticket_key_file_at = defined_at(cmd);
    return NULL;
}

static const char *set_options(cmd_parms *cmd, void *dcv, const char *arg)
{
    tls_conf_dir *dc = dcv;
    int first = 1, relative = 0, absolute = 0;

    if (!*arg) {
        return cmd_error(cmd, "needs at least one option (StdEnvVars, ExportCertData or "
                         "Defaults, with + or -)");
    }
    while (*arg) {
        const char *w = ap_getword_conf(cmd->temp_pool, &arg);
        char action = 0;
        int opt;

        if (*w == '+' || *w == '-') {
            action = *w++;
            relative = 1;
        }
        else {
            absolute = 1;
        }
        if (relative && absolute) {
            /* mod_ssl accepts this and makes the result depend on the order; core's Options
             * refuses it, and so do we. */
            return cmd_error(cmd, "either all options must start with + or -, or none may");
        }
        if (!action && first) {
            dc->options = 0; /* a bare option: absolute, start from nothing */
            first = 0;
        }
        if (!strcasecmp(w, "StdEnvVars")) {
            opt = TLS_OPT_STD_ENV_VARS;
        }
        else if (!strcasecmp(w, "ExportCertData")) {
            opt = TLS_OPT_EXPORT_CERT_DATA;
        }
        else if (!strcasecmp(w, "Defaults") && !action) {
            dc->options = dc->options_add = dc->options_del = 0;
            continue;
        }
        else {
            return cmd_error(cmd, apr_psprintf(cmd->pool, "unknown option '%s' (use "
                             "StdEnvVars, ExportCertData or Defaults, with + or -)", w));
        }
        if (action == '-') {
            dc->options_add &= ~opt;
            dc->options_del |= opt;
            dc->options &= ~opt;
        }
        else if (action == '+') {
            dc->options_add |= opt;
            dc->options_del &= ~opt;
            dc->options |= opt;
        }
        else {
            dc->options |= opt;
            dc->options_add |= opt;
            dc->options_del = 0;
        }
    }
    return NULL;
}

/* --- TLSProxy*: server, vhost and <Proxy> context ---------------------------------------- */

static apr_array_header_t *proxy_sections;

static apr_status_t forget_proxy_sections(void *unused)
{
    (void)unused;
    proxy_sections = NULL;
    return APR_SUCCESS;
}

apr_array_header_t *tls_config_proxy_sections(void)
{
    static apr_array_header_t empty; /* nelts 0 */

    return proxy_sections ? proxy_sections : &empty;
}

/* Whether the directive is inside a <Proxy> or <ProxyMatch> section. */
static int in_proxy_section(cmd_parms *cmd)
{
    const ap_directive_t *d;

    for (d = cmd->directive ? cmd->directive->parent : NULL; d; d = d->parent) {
        if (!strcasecmp(d->directive, "<Proxy") || !strcasecmp(d->directive, "<ProxyMatch")) {
            return 1;
        }
    }
    return 0;
}

/* Checks the context of a TLSProxy* directive and returns its settings: those of the server
 * or vhost, or of the <Proxy> section it is in (which is then listed for startup). */
static const char *proxy_context(cmd_parms *cmd, void *dcv, tls_conf_proxy **pc)
{
    tls_conf_dir *dc = dcv;
    const char *err;

    /* (all three NOT_IN_* bits together would refuse <Proxy> too) */
    err = ap_check_cmd_context(cmd, NOT_IN_DIRECTORY | NOT_IN_LOCATION);
    if (!err && cmd->path && !in_proxy_section(cmd)) {
        err = apr_pstrcat(cmd->pool, cmd->cmd->name, " cannot occur within <Files> or "
                          "other directory sections", NULL);
    }
    if (err) {
        return apr_pstrcat(cmd->pool, err, " (TLSProxy* directives belong in the server "
                           "config, a <VirtualHost> or a <Proxy> section)", NULL);
    }
    *pc = &dc->proxy;
    if (!dc->proxy.defined_at) {
        dc->proxy.defined_at = defined_at(cmd);
    }
    if (cmd->path && !dc->proxy_registered) {
        tls_proxy_section *sec;
        if (!proxy_sections) {
            proxy_sections = apr_array_make(cmd->pool, 4, sizeof(tls_proxy_section));
            apr_pool_cleanup_register(cmd->pool, NULL, forget_proxy_sections,
                                      apr_pool_cleanup_null);
        }
        sec = apr_array_push(proxy_sections);
        sec->dc = dc;
        sec->server = cmd->server;
        dc->proxy_registered = 1;
        dc->proxy.section = apr_pstrcat(cmd->pool, "<Proxy ", cmd->path, ">", NULL);
    }
    return NULL;
}

static const char *set_proxy_engine(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_proxy *pc;
    const char *err;

    if ((err = proxy_context(cmd, dc, &pc)) || (err = flag_arg(cmd, arg, &pc->engine))) {
        return err;
    }
    return NULL;
}

static const char *set_proxy_ca(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_proxy *pc;
    const char *err, *path;

    if ((err = proxy_context(cmd, dc, &pc))) {
        return err;
    }
    if (!strcasecmp(arg, "system")) {
        path = "system";
    }
    else if ((err = file_arg(cmd, "CA", arg, &path))) {
        return err;
    }
    pc->ca = path;
    pc->ca_at = defined_at(cmd);
    return NULL;
}

static const char *set_proxy_protocol(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_proxy *pc;
    const char *err;
    uint16_t v;

    if ((err = proxy_context(cmd, dc, &pc))) {
        return err;
    }
    if ((err = tls_proto_parse_min_version(cmd->pool, arg, &v))) {
        return cmd_error(cmd, err);
    }
    pc->min_version = v;
    return NULL;
}

static const char *set_proxy_suites(cmd_parms *cmd, void *dc, const char *arg, int prefer)
{
    tls_conf_proxy *pc;
    const char *err;

    if ((err = proxy_context(cmd, dc, &pc))) {
        return err;
    }
    return suites_arg(cmd, arg, prefer ? &pc->ciphers_prefer : &pc->ciphers_suppress);
}

static const char *set_proxy_ciphers_prefer(cmd_parms *cmd, void *dc, const char *arg)
{
    return set_proxy_suites(cmd, dc, arg, 1);
}

static const char *set_proxy_ciphers_suppress(cmd_parms *cmd, void *dc, const char *arg)
{
    return set_proxy_suites(cmd, dc, arg, 0);
}

static const char *set_proxy_machine_cert(cmd_parms *cmd, void *dc, const char *cert,
                                          const char *key)
{
    tls_conf_proxy *pc;
    tls_cert_spec *spec;
    const char *err, *cert_path, *key_path = NULL;

    if ((err = proxy_context(cmd, dc, &pc))
        || (err = file_arg(cmd, "certificate", cert, &cert_path))
        || (key && (err = file_arg(cmd, "key", key, &key_path)))) {
        return err;
    }
    if (!pc->machine_certs) {
        pc->machine_certs = apr_array_make(cmd->pool, 2, sizeof(tls_cert_spec));
    }
    spec = apr_array_push(pc->machine_certs);
    spec->cert_file = cert_path;
    spec->key_file = key_path;
    spec->defined_at = defined_at(cmd);
    return NULL;
}

static const char *set_proxy_session_cache(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_conf_proxy *pc;
    const char *err;

    if ((err = proxy_context(cmd, dc, &pc))) {
        return err;
    }
    if (!strcasecmp(arg, "off") || !strcasecmp(arg, "none")) {
        pc->session_cache = 0;
        return NULL;
    }
    if (!int_arg(arg, 0, 1000000, &pc->session_cache)) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is neither a number of sessions "
                         "from 0 to 1000000 nor 'off'", arg));
    }
    return NULL;
}

#define TLS_PROXY_CONF (RSRC_CONF | ACCESS_CONF)

const command_rec tls_conf_cmds[] = {
    AP_INIT_TAKE1("TLSProxyEngine", set_proxy_engine, NULL, TLS_PROXY_CONF,
                  "on: mod_tls speaks TLS to https:// backends here (default off)"),
    AP_INIT_TAKE1("TLSProxyCA", set_proxy_ca, NULL, TLS_PROXY_CONF,
                  "PEM file of the CAs backend certificates must chain to, or 'system'"),
    AP_INIT_TAKE1("TLSProxyProtocol", set_proxy_protocol, NULL, TLS_PROXY_CONF,
                  "lowest TLS version to use with backends: default, TLSv1.2+ or TLSv1.3+"),
    AP_INIT_RAW_ARGS("TLSProxyCiphersPrefer", set_proxy_ciphers_prefer, NULL, TLS_PROXY_CONF,
                     "cipher suites to prefer with backends, in order"),
    AP_INIT_RAW_ARGS("TLSProxyCiphersSuppress", set_proxy_ciphers_suppress, NULL,
                     TLS_PROXY_CONF, "cipher suites never to use with backends"),
    AP_INIT_TAKE12("TLSProxyMachineCertificate", set_proxy_machine_cert, NULL, TLS_PROXY_CONF,
                   "PEM certificate (+chain) file and optional key file offered to backends "
                   "that ask for a client certificate (repeatable)"),
    AP_INIT_TAKE1("TLSProxySessionCache", set_proxy_session_cache, NULL, TLS_PROXY_CONF,
                  "sessions kept per backend config for resumption (default 256), or off"),
    AP_INIT_TAKE1("TLSEngine", set_engine, NULL, RSRC_CONF,
                  "[address:]port on which mod_tls terminates TLS (repeatable)"),
    AP_INIT_TAKE12("TLSCertificate", set_certificate, NULL, RSRC_CONF,
                   "PEM certificate (+chain) file and optional key file (repeatable)"),
    AP_INIT_TAKE1("TLSProtocol", set_protocol, NULL, RSRC_CONF,
                  "lowest TLS version to accept: default, TLSv1.2+ or TLSv1.3+"),
    AP_INIT_RAW_ARGS("TLSCiphersPrefer", set_ciphers_prefer, NULL, RSRC_CONF,
                     "cipher suites to prefer, in order"),
    AP_INIT_RAW_ARGS("TLSCiphersSuppress", set_ciphers_suppress, NULL, RSRC_CONF,
                     "cipher suites never to use"),
    AP_INIT_TAKE1("TLSHonorClientOrder", set_honor_client_order, NULL, RSRC_CONF,
                  "on: use the client's cipher preference (default); off: the server's"),
    AP_INIT_TAKE1("TLSStrictSNI", set_strict_sni, NULL, RSRC_CONF,
                  "on: refuse handshakes whose server name matches no virtual host (default)"),
    AP_INIT_RAW_ARGS("TLSOptions", set_options, NULL, RSRC_CONF | OR_OPTIONS,
                     "[+|-]StdEnvVars, ExportCertData, Defaults: SSL_* variables in the "
                     "environment"),
    AP_INIT_TAKE1("TLSSessionCache", set_session_cache, NULL, RSRC_CONF,
                  "none, or a mod_socache provider spec (shmcb:path(size), memcache:host:port, "
                  "redis:host:port, ...)"),
    AP_INIT_TAKE1("TLSSessionCacheTimeout", set_session_timeout, NULL, RSRC_CONF,
                  "seconds a session can be resumed (default 300)"),
    AP_INIT_TAKE1("TLSSessionTickets", set_session_tickets, NULL, RSRC_CONF,
                  "on: stateless session tickets (default); off: the session cache only"),
    AP_INIT_TAKE1("TLSSessionTicketKeyFile", set_ticket_key_file, NULL, RSRC_CONF,
                  "file of ticket keys (base64 of 48 bytes per line) shared by a fleet"),
    AP_INIT_TAKE1("TLSClientCertificate", set_client_certificate, NULL, RSRC_CONF,
                  "none (default), optional or required: client certificates"),
    AP_INIT_TAKE1("TLSClientCA", set_client_ca, NULL, RSRC_CONF,
                  "PEM file of the CAs that client certificates must chain to"),
    AP_INIT_TAKE1("TLSClientCRL", set_client_crl, NULL, RSRC_CONF,
                  "PEM or DER file of CRLs of the client CAs (repeatable)"),
    AP_INIT_TAKE1("TLSVerifyDepth", set_verify_depth, NULL, RSRC_CONF,
                  "longest client certificate chain: the CA at this depth (default 1)"),
    AP_INIT_TAKE1("TLSUserName", set_user_name, NULL, RSRC_CONF | OR_AUTHCFG,
                  "SSL variable whose value becomes the request's user (e.g. "
                  "SSL_CLIENT_S_DN_CN)"),
    AP_INIT_TAKE1(NULL, NULL, NULL, RSRC_CONF, NULL)
};
