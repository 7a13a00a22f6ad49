/* mod_tls.c -- the module record and its hooks. Wiring only: each hook calls one subsystem. */
#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>

#include "tls_cache.h"
#include "tls_client.h"
#include "tls_config.h"
#include "tls_conn.h"
#include "tls_ffi.h"
#include "tls_md.h"
#include "tls_filter.h"
#include "tls_proxy.h"
#include "tls_server.h"
#include "tls_status.h"
#include "tls_vars.h"
#include "tls_version.h"

static int tls_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    if (tls_cache_pre_config(pconf, plog, ptemp) != OK) {
        return !OK;
    }
    return tls_vars_pre_config(pconf, plog, ptemp);
}

static int tls_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    /* after mod_md's first post_config hook (it names mod_tls.c as its successor); on both
     * passes, so that a server without any certificate stops `apache2 -k start` at once */
    if (tls_md_post_config(pconf, ptemp, s) != OK) {
        return !OK;
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        /* the first of two startup passes: set up and say it once, on the real one; only
         * try the session cache, so that `apache2 -k start` fails if it cannot be opened */
        return tls_cache_init(pconf, ptemp, s, 1);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "TLS0001: mod_tls/%s (crate tlsr/%s, rustls/%s) configured",
                 TLS_MODULE_VERSION, tls_ffi_crate_version(), tls_ffi_rustls_version());
    tls_server_report(ptemp, s);
    tls_proxy_report(ptemp, s);
    tls_status_post_config(pconf, ptemp, s);
    return tls_cache_init(pconf, ptemp, s, 0);
}

static void tls_hooks(apr_pool_t *pool)
{
    /* mod_ssl decides first; a connection it took is not ours (see tls_conn.c) */
    static const char *const after_ssl[] = { "mod_ssl.c", NULL };
    /* asked before mod_ssl for backend connections: we claim only where TLSProxyEngine is on */
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };

    /* last: our LogFormat %{..}x, which serves every module's connections, wins over mod_ssl's */
    ap_hook_pre_config(tls_pre_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_check_config(tls_server_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(tls_proxy_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(tls_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tls_cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);

    ap_hook_pre_connection(tls_conn_pre_connection, after_ssl, NULL, APR_HOOK_MIDDLE);
    ap_hook_process_connection(tls_conn_process_connection, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_post_read_request(tls_conn_post_read_request, NULL, NULL, APR_HOOK_MIDDLE);
    tls_filter_register(pool);
    ap_hook_ssl_bind_outgoing(tls_proxy_bind_outgoing, NULL, before_ssl, APR_HOOK_MIDDLE);

    ap_hook_ssl_conn_is_ssl(tls_vars_conn_is_ssl, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_var_lookup(tls_vars_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_http_scheme(tls_vars_http_scheme, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_default_port(tls_vars_default_port, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(tls_vars_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_access_checker(tls_client_user_name, NULL, NULL, APR_HOOK_MIDDLE);
    /* Before mod_ssl's (MIDDLE), whose SSL_* lookup only knows its own connections; ours asks
     * every TLS module through ap_ssl_var_lookup. */
    ap_hook_expr_lookup(tls_vars_expr_lookup, NULL, NULL, APR_HOOK_FIRST);
    tls_status_register_hooks(pool);
}

AP_DECLARE_MODULE(tls) = {
    STANDARD20_MODULE_STUFF,
    tls_config_dir_create,      /* per-directory config: TLSOptions */
    tls_config_dir_merge,       /* merge per-directory */
    tls_config_server_create,   /* per-server config */
    tls_config_server_merge,    /* merge per-server */
    tls_conf_cmds,              /* directives */
    tls_hooks,
    AP_MODULE_FLAG_ALWAYS_MERGE /* every vhost its own config: mod_md certificates differ */
};
