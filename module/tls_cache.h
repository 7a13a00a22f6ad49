/* tls_cache.h -- TLS session resumption: the session cache on mod_socache, and ticket keys.
 *
 * One cache per server (TLSSessionCache), shared by every child process under a global
 * mutex when the provider needs one, and the keys that encrypt session tickets: read from
 * TLSSessionTicketKeyFile (shared by a fleet) or made once by the parent process before it
 * forks (shared by its children, kept across graceful restarts). The rustls configs get the
 * cache as session-store callbacks and the keys as ticket keys (tls_cache_params). */
#ifndef TLS_CACHE_H
#define TLS_CACHE_H

#include <httpd.h>
#include "tls_ffi.h"

typedef struct tls_cache tls_cache;

/* pre_config: registers the global mutex type "tls-session-cache" (Mutex directive). */
int tls_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* check_config: sets up the cache of the server's TLSSessionCache and the ticket keys.
 * Logs EMERG and returns !OK for an unknown provider, a provider that will not create, or an
 * unusable key file. */
int tls_cache_setup(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* post_config: initializes the socache instance and its mutex; reports. On the first of the
 * two startup passes (trial), only the instance, so that a cache that cannot be opened stops
 * `apache2 -k start` with an exit status before it detaches; that pass's pconf is cleared. */
int tls_cache_init(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, int trial);

/* child_init: reopens the mutex in the child. */
void tls_cache_child_init(apr_pool_t *p, server_rec *s);

/* Fills the session parts of a config's parameters: ticket keys (when `tickets`), and the
 * session store callbacks or the size of a per-process cache. */
void tls_cache_params(const tls_cache *cache, int tickets, tls_ffi_server_params *params);

/* For server-status: the session cache ("none", the provider's spec, or NULL: each process
 * its own), where the ticket keys come from (the file, or NULL: made by this server) and
 * since when (the file's modification time, or when the parent made its key). */
void tls_cache_describe(const tls_cache *cache, const char **spec, const char **keys_from,
                        apr_time_t *keys_since);

#endif /* TLS_CACHE_H */
