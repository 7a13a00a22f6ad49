/* tls_config.c -- mod_tls configuration: defaults, create/merge, directive handlers. */
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
};
static const tls_conf_global GLOBAL_DEFAULTS = {
    .strict_sni = 1,                      /* TLSStrictSNI on */
};

void *tls_config_server_create(apr_pool_t *p, server_rec *s)
{
    tls_conf_server *sc = apr_pcalloc(p, sizeof(*sc));

    sc->server = s;
    sc->min_version = TLS_UNSET;
    sc->honor_client_order = TLS_UNSET;
    if (!s->is_virtual) {
        sc->global = apr_pcalloc(p, sizeof(*sc->global));
        sc->global->engine_addrs = apr_array_make(p, 4, sizeof(tls_engine_addr));
        sc->global->strict_sni = TLS_UNSET;
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
    /* enabled and tls are results of post_config, never inherited */
    return nc;
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
    TLS_DEFAULT(sc->global, GLOBAL_DEFAULTS, strict_sni, TLS_UNSET);
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
    if (rv != APR_SUCCESS || port == 0 || scope) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid address '%s' (expected "
                         "[address:]port with a port from 1 to 65535)", arg));
    }
    a = apr_array_push(sc->global->engine_addrs);
    memset(a, 0, sizeof(*a));
    a->spec = apr_pstrdup(cmd->pool, arg);
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

/* Parses a suite list into *ids, appending to what earlier lines of the same context gave.
 * Suites rustls does not implement are kept here and reported at startup (tls_server.c). */
static const char *set_suites(cmd_parms *cmd, apr_array_header_t **ids, const char *arg)
{
    apr_array_header_t *parsed = apr_array_make(cmd->pool, 8, sizeof(uint16_t));
    const char *err;

    if ((err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT))) {
        return err;
    }
    if ((err = tls_proto_parse_suites(cmd->pool, arg, parsed))) {
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

const command_rec tls_conf_cmds[] = {
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
    AP_INIT_TAKE1(NULL, NULL, NULL, RSRC_CONF, NULL)
};
