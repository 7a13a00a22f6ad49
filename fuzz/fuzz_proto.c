/* fuzz_proto.c -- the protocol and cipher suite parsers of module/tls_proto.c
 * (TLSProtocol, TLSProxyProtocol, TLSCiphersPrefer/Suppress and their TLSProxy* twins).
 *
 * Input: a directive's value (text; a NUL ends it). It goes to tls_proto_parse_min_version,
 * tls_proto_suite_id and tls_proto_parse_suites. Checks besides crashes: a parsed version is
 * one of TLS 1.0..1.3; a failed parse has a message; a successful suite list is not empty;
 * every suite id has a name that parses back to the same id (also for the ids made of the
 * input's first bytes). */
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "fuzz_common.h"
#include "tls_proto.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static void round_trip(apr_pool_t *p, uint16_t id)
{
    const char *name = tls_proto_suite_name(p, id);
    uint16_t back = 0;
    int bits = tls_proto_suite_key_bits(id);

    FUZZ_ASSERT(name && *name);
    FUZZ_ASSERT(tls_proto_suite_id(name, &back) && back == id);
    FUZZ_ASSERT(bits == 0 || bits == 128 || bits == 256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *arg = malloc(size + 1);  /* exactly the input: reading past its end is caught */
    apr_array_header_t *ids;
    const char *err, *name;
    uint16_t v = 0, id = 0;
    int i;

    if (!arg) abort();
    memcpy(arg, data, size);
    arg[size] = 0;
    apr_pool_create(&p, pool);

    err = tls_proto_parse_min_version(p, arg, &v);
    if (!err) {
        FUZZ_ASSERT(v >= 0x0301 && v <= 0x0304);
        name = tls_proto_version_name(v);
        FUZZ_ASSERT(strcmp(name, "UNKNOWN"));
    }

    if (tls_proto_suite_id(arg, &id)) {
        round_trip(p, id);
    }

    ids = apr_array_make(p, 4, sizeof(uint16_t));
    err = tls_proto_parse_suites(p, arg, ids);
    if (err) {
        FUZZ_ASSERT(*err);
    }
    else {
        FUZZ_ASSERT(ids->nelts > 0);
    }
    for (i = 0; i < ids->nelts; ++i) {
        round_trip(p, APR_ARRAY_IDX(ids, i, uint16_t));
    }

    if (size >= 2) {
        id = (uint16_t)(data[0] << 8 | data[1]);
        round_trip(p, id);
        (void)tls_proto_version_name(id);
    }
    apr_pool_destroy(p);
    free(arg);
    return 0;
}
