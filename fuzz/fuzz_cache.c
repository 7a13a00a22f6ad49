/* fuzz_cache.c -- the session cache setup of module/tls_cache.c: the TLSSessionCache spec
 * ("none", "provider:arguments") and the TLSSessionTicketKeyFile parser (one base64 key of
 * 48 bytes per line, '#' comments), through tls_cache_setup as check_config runs it, then
 * tls_cache_params as the config builds use it.
 *
 * Input: the first line is the TLSSessionCache value ("-" leaves it unset: the default
 * shmcb); the rest, if any, is written to a file given as TLSSessionTicketKeyFile (without a
 * rest, the server makes its own key). Providers: shmcb, memcache and redis exist
 * (fuzz/httpd_stubs.c). Checks besides crashes: setup succeeds exactly when the spec names a
 * provider that takes its arguments (or is "none") and the key file holds keys and nothing
 * else; then there is at least one key, and every parameter is set as documented. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>

#include "fuzz_common.h"
#include "tls_cache.h"
#include "tls_config.h"

static apr_pool_t *root;
static char key_path[64];

static void remove_key_file(void)
{
    unlink(key_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    apr_pool_create(&root, NULL);
    snprintf(key_path, sizeof(key_path), "%s/fuzz_cache_keys.%ld",
             access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (long)getpid());
    atexit(remove_key_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    size_t spec_len;
    char *spec = fuzz_string_until(&in, '\n', &spec_len);
    apr_pool_t *p, *ptemp;
    process_rec process;
    server_rec s;
    void *module_config[1];
    tls_conf_server *sc;
    tls_conf_global *g;
    tls_ffi_server_params params;
    int rv;

    apr_pool_create(&p, root);
    apr_pool_create(&ptemp, p);
    memset(&process, 0, sizeof(process));
    process.pool = process.pconf = p;
    memset(&s, 0, sizeof(s));
    s.process = &process;
    s.module_config = (struct ap_conf_vector_t *)module_config;
    module_config[0] = sc = tls_config_server_create(p, &s);
    g = sc->global;
    if (strcmp(spec, "-")) {
        g->session_cache = apr_pstrdup(p, spec);
        g->session_cache_at = "fuzz.conf:1";
    }
    if (in.len) {
        FILE *f = fopen(key_path, "wb");
        if (!f || fwrite(in.data, 1, in.len, f) != in.len || fclose(f)) abort();
        g->ticket_key_file = key_path;
        g->ticket_key_file_at = "fuzz.conf:2";
    }
    tls_config_server_finalize(sc);

    rv = tls_cache_setup(p, ptemp, &s);
    FUZZ_ASSERT(g->cache != NULL);
    if (rv == OK) {
        memset(&params, 0, sizeof(params));
        tls_cache_params(g->cache, 1, &params);
        FUZZ_ASSERT(params.n_ticket_keys >= 1 && params.ticket_keys);
        FUZZ_ASSERT(params.ticket_lifetime == (unsigned)g->session_timeout);
        fuzz_touch(params.ticket_keys, (size_t)params.n_ticket_keys * TLS_FFI_TICKET_KEY_LEN);
        if (g->session_cache && !strcasecmp(g->session_cache, "none")) {
            FUZZ_ASSERT(!params.session_store && params.session_cache_size == 0);
        }
        else if (g->session_cache) {
            FUZZ_ASSERT(params.session_store && params.session_put && params.session_get);
        }
        if (in.len) {
            /* each key is a line of its own */
            size_t lines = 1, i;
            for (i = 0; i < in.len; ++i) lines += in.data[i] == '\n';
            FUZZ_ASSERT((size_t)params.n_ticket_keys <= lines);
        }
    }
    apr_pool_destroy(p);
    free(spec);
    return 0;
}
