/* tls_config.h -- mod_tls configuration: structs, defaults, create/merge, directives.
 *
 * Directive handlers only parse and check their arguments; files are read and rustls objects
 * are built in post_config (tls_server.c). Every field starts "unset"; merge takes the vhost's
 * value if set, else the base server's; tls_config_server_finalize() then replaces what is
 * still unset with the default from one table, so no caller ever sees "unset". */
#ifndef TLS_CONFIG_H
#define TLS_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <apr_network_io.h>
#include <stdint.h>

struct tls_vhost_tls; /* tls_server.h: what check_config built for a TLS virtual host */
struct tls_cache;     /* tls_cache.h: session cache and ticket keys */

#define TLS_UNSET (-1)

/* One TLSEngine address. */
typedef struct {
    const char *spec;        /* as written, for messages */
    const char *defined_at;  /* "file:line" of the directive, for messages */
    const char *host;        /* NULL: every local address */
    apr_port_t port;
    apr_sockaddr_t *addrs;   /* resolved host (list), NULL when host is NULL */
} tls_engine_addr;

/* One TLSCertificate. */
typedef struct {
    const char *cert_file;   /* absolute path */
    const char *key_file;    /* absolute path, or NULL: the key is in cert_file */
    const char *defined_at;  /* "file:line" of the directive, for messages */
} tls_cert_spec;

/* Settings that exist once per server (not per vhost). Owned by the main server's config,
 * shared by pointer with every vhost (set in merge). Lives in pconf. */
typedef struct {
    apr_array_header_t *engine_addrs; /* tls_engine_addr, from TLSEngine */
    int strict_sni;                   /* TLSStrictSNI; TLS_UNSET until finalized */
    const char *session_cache;        /* TLSSessionCache spec; NULL: the default */
    const char *session_cache_at;     /* where TLSSessionCache was given, for messages */
    int session_timeout;              /* TLSSessionCacheTimeout, seconds; TLS_UNSET */
    const char *ticket_key_file;      /* TLSSessionTicketKeyFile (absolute); NULL: none */
    const char *ticket_key_file_at;   /* where it was given */
    struct tls_cache *cache;          /* set up at check_config (tls_cache.c) */
    struct tls_server_build *build;   /* set at check_config: what every vhost's build shares,
                                       * kept for the builds at post_config (tls_md.c) */
} tls_conf_global;

/* Per server (main server and each vhost). */
typedef struct {
    server_rec *server;               /* the server this config belongs to */
    tls_conf_global *global;          /* shared, see above */
    apr_array_header_t *certs;        /* tls_cert_spec; NULL: unset */
    int min_version;                  /* TLSProtocol: 0x0303/0x0304; TLS_UNSET */
    apr_array_header_t *ciphers_prefer;   /* uint16_t ids; NULL: unset */
    apr_array_header_t *ciphers_suppress; /* uint16_t ids; NULL: unset */
    int honor_client_order;           /* TLSHonorClientOrder: 0/1; TLS_UNSET */
    int session_tickets;              /* TLSSessionTickets: 0/1; TLS_UNSET */
    int client_auth;                  /* TLSClientCertificate: TLS_CLIENT_*; TLS_UNSET */
    const char *client_ca;            /* TLSClientCA (absolute); NULL: unset */
    const char *client_ca_at;         /* where it was given */
    apr_array_header_t *client_crls;  /* TLSClientCRL files (absolute, const char *); NULL */
    const char *client_crls_at;       /* where the (last) TLSClientCRL was given */
    int verify_depth;                 /* TLSVerifyDepth; TLS_UNSET */
    /* set at check_config: */
    int is_tls;                       /* on a TLSEngine address; its certificates may still
                                       * come from mod_md at post_config (tls_md.c) */
    int enabled;                      /* serves connections on a TLSEngine address */
    struct tls_vhost_tls *tls;        /* built rustls configs, NULL unless enabled */
} tls_conf_server;

/* TLSClientCertificate */
#define TLS_CLIENT_NONE     0
#define TLS_CLIENT_OPTIONAL 1
#define TLS_CLIENT_REQUIRED 2

/* TLSOptions bits. */
#define TLS_OPT_STD_ENV_VARS     0x01
#define TLS_OPT_EXPORT_CERT_DATA 0x02
#define TLS_OPT_RELATIVE         0x40000000 /* only +/- given: relative to the parent */

/* TLSProxy* settings: in the server and vhost defaults and in <Proxy> sections (so they live in
 * the per-directory config that mod_proxy hands to ssl_bind_outgoing). Every field starts
 * unset; a merge takes the inner context's value if set. */
typedef struct {
    int engine;                       /* TLSProxyEngine 0/1; TLS_UNSET */
    const char *ca;                   /* TLSProxyCA: absolute path, or "system"; NULL: unset */
    const char *ca_at;                /* where that TLSProxyCA was given, for messages */
    int min_version;                  /* TLSProxyProtocol: 0x0303/0x0304; TLS_UNSET */
    apr_array_header_t *ciphers_prefer;   /* TLSProxyCiphersPrefer, uint16_t; NULL: unset */
    apr_array_header_t *ciphers_suppress; /* TLSProxyCiphersSuppress, uint16_t; NULL: unset */
    apr_array_header_t *machine_certs;    /* TLSProxyMachineCertificate, tls_cert_spec; NULL */
    int session_cache;                /* TLSProxySessionCache entries, 0: off; TLS_UNSET */
    const char *section;              /* "<Proxy path>" where set, or NULL (server/vhost) */
    const char *defined_at;           /* "file:line" of the first TLSProxy* directive here */
} tls_conf_proxy;

#define TLS_PROXY_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

/* One <Proxy> section that has TLSProxy* directives, and the server it appears in. */
typedef struct {
    struct tls_conf_dir *dc;
    server_rec *server;
} tls_proxy_section;

/* Per directory (and server/vhost defaults): TLSOptions, with mod_ssl's SSLOptions semantics. */
typedef struct tls_conf_dir {
    int options;                      /* options in effect (+ TLS_OPT_RELATIVE) */
    int options_add;                  /* added with + */
    int options_del;                  /* removed with - */
    const char *user_name;            /* TLSUserName: the variable for r->user; NULL: unset */
    tls_conf_proxy proxy;             /* TLSProxy* (server, vhost, <Proxy>) */
    int proxy_registered;             /* listed in tls_config_proxy_sections() */
} tls_conf_dir;

extern module AP_MODULE_DECLARE_DATA tls_module;

extern const command_rec tls_conf_cmds[];

void *tls_config_server_create(apr_pool_t *p, server_rec *s);
void *tls_config_server_merge(apr_pool_t *p, void *basev, void *addv);
void *tls_config_dir_create(apr_pool_t *p, char *dir);
void *tls_config_dir_merge(apr_pool_t *p, void *basev, void *addv);

/* The TLSOptions in effect for a request (TLS_OPT_* bits). */
int tls_config_options(request_rec *r);

/* TLSUserName in effect for a request, or NULL. */
const char *tls_config_user_name(request_rec *r);

/* Replaces every still-unset field of sc (and of its global part) with its default. */
void tls_config_server_finalize(tls_conf_server *sc);

/* The <Proxy> sections with TLSProxy* directives (tls_proxy_section), in config order; an
 * empty array when there are none. Lives in pconf. */
apr_array_header_t *tls_config_proxy_sections(void);

/* The config of s; never NULL. */
tls_conf_server *tls_config_server_get(server_rec *s);

#endif /* TLS_CONFIG_H */
