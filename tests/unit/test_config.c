/* Unit test of the configuration merge: every field of tls_conf_server must survive a merge
 * from the base server and be overridden by a vhost that sets it, and finalize must turn every
 * "unset" into its default. The fields are listed below; a static assertion on the struct's
 * size makes sure a field added later is listed (and merged) too. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "tls_config.h"
#include "tls_proto.h"

/* The module record and the few httpd functions tls_config.c refers to (in directive
 * handlers this test never calls): the test runs without httpd. */
module AP_MODULE_DECLARE_DATA tls_module;
AP_DECLARE(const char *) ap_check_cmd_context(cmd_parms *cmd, unsigned forbidden)
{ (void)cmd; (void)forbidden; return "not in a test"; }
AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname)
{ (void)p; return (char *)fname; }
AP_DECLARE(char *) ap_getword_conf(apr_pool_t *p, const char **line)
{ (void)p; (void)line; return ""; }

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { ++failures; printf("FAIL %s:%d: ", __FILE__, \
    __LINE__); printf(__VA_ARGS__); printf("\n"); } } while (0)

/* The fields a merge must carry over. If this assertion fails, a field was added to
 * tls_conf_server: merge it in tls_config_server_merge() and list it here. */
#define FIELD(f) { #f, offsetof(tls_conf_server, f), sizeof(((tls_conf_server *)0)->f) }
static const struct { const char *name; size_t off, size; } MERGED[] = {
    FIELD(global), FIELD(certs), FIELD(min_version), FIELD(ciphers_prefer),
    FIELD(ciphers_suppress), FIELD(honor_client_order), FIELD(session_tickets),
    FIELD(client_auth), FIELD(client_ca), FIELD(client_ca_at), FIELD(client_crls),
    FIELD(client_crls_at), FIELD(verify_depth),
};
/* not merged: server (whose config it is), is_tls, enabled and tls (check_config results) */
_Static_assert(sizeof(void *) != 8 || sizeof(tls_conf_server) == 120,
               "tls_conf_server changed: update the merge and this test");

static void check_same(const char *what, const tls_conf_server *got, const tls_conf_server *want)
{
    size_t i;

    for (i = 0; i < sizeof(MERGED) / sizeof(MERGED[0]); ++i) {
        CHECK(!memcmp((const char *)got + MERGED[i].off, (const char *)want + MERGED[i].off,
                      MERGED[i].size), "%s: field %s not merged", what, MERGED[i].name);
    }
}

/* TLSOptions merges like mod_ssl's SSLOptions: relative (+/-) adjusts the parent, a bare
 * option replaces it. */
static tls_conf_dir *dir(apr_pool_t *p, int options, int add, int del)
{
    tls_conf_dir *d = tls_config_dir_create(p, NULL);
    d->options = options;
    d->options_add = add;
    d->options_del = del;
    return d;
}

static void check_options(apr_pool_t *p)
{
    const int STD = TLS_OPT_STD_ENV_VARS, CERT = TLS_OPT_EXPORT_CERT_DATA,
              REL = TLS_OPT_RELATIVE;
    tls_conf_dir *none = tls_config_dir_create(p, NULL), *m;

    m = tls_config_dir_merge(p, none, none);
    CHECK((m->options & ~REL) == 0, "nothing set: no options");
    /* parent "StdEnvVars", child "+ExportCertData": both */
    m = tls_config_dir_merge(p, dir(p, STD, STD, 0), dir(p, REL | CERT, CERT, 0));
    CHECK((m->options & ~REL) == (STD | CERT), "+ adds to the parent's (%x)", m->options);
    /* parent both, child "-StdEnvVars": ExportCertData */
    m = tls_config_dir_merge(p, dir(p, STD | CERT, STD | CERT, 0), dir(p, REL, 0, STD));
    CHECK((m->options & ~REL) == CERT, "- removes from the parent's (%x)", m->options);
    /* parent both, child bare "ExportCertData": only that */
    m = tls_config_dir_merge(p, dir(p, STD | CERT, STD | CERT, 0), dir(p, CERT, CERT, 0));
    CHECK((m->options & ~REL) == CERT, "a bare option replaces (%x)", m->options);
    /* a child that says nothing inherits */
    m = tls_config_dir_merge(p, dir(p, STD, STD, 0), none);
    CHECK((m->options & ~REL) == STD, "unset inherits (%x)", m->options);
    /* three levels: +Cert at the middle, -Std at the bottom */
    m = tls_config_dir_merge(p, tls_config_dir_merge(p, dir(p, STD, STD, 0),
                                                     dir(p, REL | CERT, CERT, 0)),
                             dir(p, REL, 0, STD));
    CHECK((m->options & ~REL) == CERT, "relative changes accumulate (%x)", m->options);
    /* TLSUserName: the innermost that sets it */
    m = dir(p, STD, STD, 0);
    m->user_name = "SSL_CLIENT_S_DN_CN";
    CHECK(!strcmp(((tls_conf_dir *)tls_config_dir_merge(p, m, none))->user_name, "SSL_CLIENT_S_DN_CN"),
          "TLSUserName inherited");
    none->user_name = "SSL_CLIENT_S_DN_Email";
    CHECK(!strcmp(((tls_conf_dir *)tls_config_dir_merge(p, m, none))->user_name, "SSL_CLIENT_S_DN_Email"),
          "TLSUserName overridden");
}

/* TLSProxy* (per directory: server, vhost, <Proxy>): every field starts unset, an inner
 * context's set fields win, unset ones are inherited. A static assertion makes sure a field
 * added later is merged (and listed) too. */
_Static_assert(sizeof(void *) != 8 || sizeof(tls_conf_proxy) == 80,
               "tls_conf_proxy changed: update tls_config_dir_merge and check_proxy");

static void check_proxy(apr_pool_t *p)
{
    tls_conf_dir *outer = tls_config_dir_create(p, NULL), *inner = tls_config_dir_create(p, NULL);
    tls_conf_dir *m;
    apr_array_header_t *ids = apr_array_make(p, 1, sizeof(uint16_t));

    CHECK(outer->proxy.engine == TLS_UNSET && outer->proxy.min_version == TLS_UNSET
          && outer->proxy.session_cache == TLS_UNSET && !outer->proxy.ca
          && !outer->proxy.machine_certs, "TLSProxy* start unset");
    outer->proxy.engine = 1;
    outer->proxy.ca = "system";
    outer->proxy.ca_at = "outer.conf:1";
    outer->proxy.min_version = 0x0303;
    outer->proxy.ciphers_prefer = ids;
    outer->proxy.session_cache = 256;
    inner->proxy.engine = 0;
    inner->proxy.session_cache = 0;
    inner->proxy.ciphers_suppress = ids;
    inner->proxy.machine_certs = apr_array_make(p, 1, sizeof(tls_cert_spec));
    inner->proxy.section = "<Proxy x>";
    m = tls_config_dir_merge(p, outer, inner);
    CHECK(m->proxy.engine == 0 && m->proxy.session_cache == 0, "inner values win");
    CHECK(m->proxy.ca && !strcmp(m->proxy.ca, "system") && m->proxy.min_version == 0x0303
          && m->proxy.ciphers_prefer == ids, "outer values are inherited");
    CHECK(m->proxy.ca_at && !strcmp(m->proxy.ca_at, "outer.conf:1"),
          "where TLSProxyCA was given goes with it");
    CHECK(m->proxy.ciphers_suppress == ids && m->proxy.machine_certs
          && m->proxy.section && !m->proxy_registered, "inner lists and section");
    m = tls_config_dir_merge(p, outer, tls_config_dir_create(p, NULL));
    CHECK(m->proxy.engine == 1 && m->proxy.session_cache == 256, "an empty context inherits");
}

int main(void)
{
    apr_pool_t *p;
    process_rec process;
    server_rec main_s, vhost_s;
    tls_conf_server *base, *add, *merged, *fresh;

    apr_initialize();
    apr_pool_create(&p, NULL);
    memset(&process, 0, sizeof(process));
    process.pconf = p;
    memset(&main_s, 0, sizeof(main_s));
    main_s.process = &process;
    vhost_s = main_s;
    vhost_s.is_virtual = 1;

    /* a vhost that sets nothing inherits every field of the base, whatever it holds */
    base = tls_config_server_create(p, &main_s);
    memset(base, 0x5a, sizeof(*base));
    add = tls_config_server_create(p, &vhost_s);
    merged = tls_config_server_merge(p, base, add);
    check_same("unset vhost", merged, base);
    CHECK(merged->server == &vhost_s, "merged config belongs to the vhost");

    /* a vhost that sets every field keeps each of them */
    base = tls_config_server_create(p, &main_s);
    add = tls_config_server_create(p, &vhost_s);
    memset(add, 0x3c, sizeof(*add));
    merged = tls_config_server_merge(p, base, add);
    check_same("vhost that sets all", merged, add);

    /* defaults: what finalize makes of a config where nothing was set */
    fresh = tls_config_server_create(p, &main_s);
    tls_config_server_finalize(fresh);
    CHECK(fresh->min_version == TLS_VERSION_12, "TLSProtocol default is TLS 1.2+ (%x)",
          fresh->min_version);
    CHECK(fresh->honor_client_order == 1, "TLSHonorClientOrder default on");
    CHECK(fresh->global->strict_sni == 1, "TLSStrictSNI default on");
    CHECK(fresh->certs && fresh->certs->nelts == 0, "no certificates by default");
    CHECK(fresh->ciphers_prefer && fresh->ciphers_prefer->nelts == 0, "no preferred suites");
    CHECK(fresh->ciphers_suppress && fresh->ciphers_suppress->nelts == 0, "no suppressed suites");
    CHECK(fresh->global->engine_addrs && fresh->global->engine_addrs->nelts == 0,
          "no TLSEngine addresses");
    CHECK(fresh->session_tickets == 1, "TLSSessionTickets default on");
    CHECK(fresh->global->session_timeout == 300, "TLSSessionCacheTimeout default 300");
    CHECK(fresh->global->session_cache == NULL, "TLSSessionCache default (NULL: shmcb)");
    CHECK(fresh->client_auth == TLS_CLIENT_NONE, "TLSClientCertificate default none");
    CHECK(fresh->verify_depth == 1, "TLSVerifyDepth default 1, as SSLVerifyDepth");
    CHECK(fresh->client_ca == NULL && fresh->client_crls == NULL, "no client CA, no CRL");

    /* a preference without TLSHonorClientOrder means the server's order */
    fresh = tls_config_server_create(p, &main_s);
    fresh->ciphers_prefer = apr_array_make(p, 1, sizeof(uint16_t));
    APR_ARRAY_PUSH(fresh->ciphers_prefer, uint16_t) = 0x1302;
    tls_config_server_finalize(fresh);
    CHECK(fresh->honor_client_order == 0, "TLSCiphersPrefer implies the server's order");

    /* an explicit TLSHonorClientOrder on wins over that */
    fresh = tls_config_server_create(p, &main_s);
    fresh->ciphers_prefer = apr_array_make(p, 1, sizeof(uint16_t));
    APR_ARRAY_PUSH(fresh->ciphers_prefer, uint16_t) = 0x1302;
    fresh->honor_client_order = 1;
    tls_config_server_finalize(fresh);
    CHECK(fresh->honor_client_order == 1, "explicit TLSHonorClientOrder on is kept");

    check_options(p);
    check_proxy(p);

    apr_pool_destroy(p);
    apr_terminate();
    printf("test_config: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
