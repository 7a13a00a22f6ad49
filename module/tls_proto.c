/* tls_proto.c -- protocol versions and cipher suites: names <-> IANA ids. */
#include <apr_strings.h>
#include <apr_lib.h>
#include <string.h>
#include <stdlib.h>

#include "tls_proto.h"

/* Cipher suites by IANA id, with their IANA and OpenSSL names. It lists the suites rustls
 * implements and the ones admins commonly find in mod_ssl configurations, so that a real but
 * unimplemented suite can be told apart from a typo. Which ones rustls implements is asked
 * from the crate at startup, not written here. */
typedef struct {
    uint16_t id;
    const char *iana;
    const char *openssl;
} tls_suite_name;

static const tls_suite_name SUITES[] = {
    /* TLS 1.3 (OpenSSL uses the IANA names; the old mod_tls also took TLS13_*) */
    { 0x1301, "TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256" },
    { 0x1302, "TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384" },
    { 0x1303, "TLS_CHACHA20_POLY1305_SHA256", "TLS13_CHACHA20_POLY1305_SHA256" },
    { 0x1304, "TLS_AES_128_CCM_SHA256", "TLS13_AES_128_CCM_SHA256" },
    { 0x1305, "TLS_AES_128_CCM_8_SHA256", "TLS13_AES_128_CCM_8_SHA256" },
    /* ECDHE */
    { 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256" },
    { 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384" },
    { 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256" },
    { 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384" },
    { 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305" },
    { 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305" },
    { 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256" },
    { 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384" },
    { 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256" },
    { 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384" },
    { 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA" },
    { 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA" },
    { 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA" },
    { 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA" },
    { 0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-ECDSA-DES-CBC3-SHA" },
    { 0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA" },
    { 0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA" },
    { 0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA" },
    { 0xc0ac, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ECDHE-ECDSA-AES128-CCM" },
    { 0xc0ad, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "ECDHE-ECDSA-AES256-CCM" },
    { 0xc0ae, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "ECDHE-ECDSA-AES128-CCM8" },
    { 0xc0af, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", "ECDHE-ECDSA-AES256-CCM8" },
    /* DHE */
    { 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256" },
    { 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384" },
    { 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305" },
    { 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256" },
    { 0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256" },
    { 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA" },
    { 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA" },
    { 0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "DHE-RSA-DES-CBC3-SHA" },
    { 0xc09e, "TLS_DHE_RSA_WITH_AES_128_CCM", "DHE-RSA-AES128-CCM" },
    { 0xc09f, "TLS_DHE_RSA_WITH_AES_256_CCM", "DHE-RSA-AES256-CCM" },
    { 0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", "DHE-RSA-CAMELLIA128-SHA" },
    { 0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", "DHE-RSA-CAMELLIA256-SHA" },
    { 0x00a2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", "DHE-DSS-AES128-GCM-SHA256" },
    { 0x00a3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", "DHE-DSS-AES256-GCM-SHA384" },
    { 0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", "DHE-DSS-AES128-SHA256" },
    { 0x006a, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "DHE-DSS-AES256-SHA256" },
    { 0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", "DHE-DSS-AES128-SHA" },
    { 0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "DHE-DSS-AES256-SHA" },
    /* static RSA key exchange */
    { 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256" },
    { 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384" },
    { 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256" },
    { 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256" },
    { 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA" },
    { 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA" },
    { 0xc09c, "TLS_RSA_WITH_AES_128_CCM", "AES128-CCM" },
    { 0xc09d, "TLS_RSA_WITH_AES_256_CCM", "AES256-CCM" },
    { 0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA128-SHA" },
    { 0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA256-SHA" },
    { 0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", "SEED-SHA" },
    { 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA" },
    { 0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA" },
    { 0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5" },
};

#define N_SUITES (sizeof(SUITES) / sizeof(SUITES[0]))

const char *tls_proto_parse_min_version(apr_pool_t *p, const char *arg, uint16_t *min_version)
{
    static const struct {
        const char *name;
        uint16_t min;
    } VERSIONS[] = {
        { "default", TLS_VERSION_12 },
        { "TLSv1.2+", TLS_VERSION_12 }, { "v1.2+", TLS_VERSION_12 },
        { "TLSv1.3+", TLS_VERSION_13 }, { "v1.3+", TLS_VERSION_13 },
        { "TLSv1.0+", TLS_VERSION_10 }, { "v1.0+", TLS_VERSION_10 },
        { "TLSv1.1+", TLS_VERSION_11 }, { "v1.1+", TLS_VERSION_11 },
    };
    size_t i;

    for (i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); ++i) {
        if (!strcasecmp(arg, VERSIONS[i].name)) {
            *min_version = VERSIONS[i].min;
            return NULL;
        }
    }
    return apr_psprintf(p, "unknown protocol version '%s' (use 'default', 'TLSv1.2+' or "
                        "'TLSv1.3+'; mod_tls sets the lowest version, never a list)", arg);
}

const char *tls_proto_version_name(uint16_t version)
{
    switch (version) {
    case TLS_VERSION_10: return "TLSv1";
    case TLS_VERSION_11: return "TLSv1.1";
    case TLS_VERSION_12: return "TLSv1.2";
    case TLS_VERSION_13: return "TLSv1.3";
    default: return "UNKNOWN";
    }
}

static int parse_numeric_suite(const char *name, uint16_t *id)
{
    static const char PREFIX[] = "TLS_CIPHER_0x";
    const char *digits;
    char *end;
    unsigned long v;

    if (strncasecmp(name, PREFIX, sizeof(PREFIX) - 1)) {
        return 0;
    }
    digits = name + sizeof(PREFIX) - 1;
    if (!*digits || strlen(digits) > 4 || !apr_isxdigit(*digits)) {
        return 0;
    }
    v = strtoul(digits, &end, 16);
    if (*end || v > 0xffff) {
        return 0;
    }
    *id = (uint16_t)v;
    return 1;
}

int tls_proto_suite_id(const char *name, uint16_t *id)
{
    size_t i;

    if (parse_numeric_suite(name, id)) {
        return 1;
    }
    for (i = 0; i < N_SUITES; ++i) {
        if (!strcasecmp(name, SUITES[i].iana) || !strcasecmp(name, SUITES[i].openssl)) {
            *id = SUITES[i].id;
            return 1;
        }
    }
    return 0;
}

const char *tls_proto_parse_suites(apr_pool_t *p, const char *list, apr_array_header_t *ids)
{
    char *copy = apr_pstrdup(p, list), *state = NULL, *name;
    uint16_t id;
    int n = 0;

    for (name = apr_strtok(copy, ":, \t", &state); name; name = apr_strtok(NULL, ":, \t", &state)) {
        if (!tls_proto_suite_id(name, &id)) {
            const char *hint = "";
            if (strchr("!+-@", name[0]) || !strcasecmp(name, "HIGH") || !strcasecmp(name, "ALL")
                || !strcasecmp(name, "DEFAULT") || !strcasecmp(name, "MEDIUM")) {
                hint = " (that is OpenSSL cipher-string syntax; mod_tls takes a list of suite "
                       "names, e.g. ECDHE-ECDSA-AES256-GCM-SHA384 or TLS_AES_128_GCM_SHA256)";
            }
            return apr_psprintf(p, "unknown cipher suite '%s'%s", name, hint);
        }
        APR_ARRAY_PUSH(ids, uint16_t) = id;
        ++n;
    }
    if (n == 0) {
        return "no cipher suite given";
    }
    return NULL;
}

const char *tls_proto_suite_name(apr_pool_t *p, uint16_t id)
{
    size_t i;

    for (i = 0; i < N_SUITES; ++i) {
        if (SUITES[i].id == id) {
            return SUITES[i].iana;
        }
    }
    return apr_psprintf(p, "TLS_CIPHER_0x%04x", id);
}

int tls_proto_suite_key_bits(uint16_t id)
{
    size_t i;

    for (i = 0; i < N_SUITES; ++i) {
        if (SUITES[i].id == id) {
            const char *name = SUITES[i].iana;
            return strstr(name, "_AES_128_") ? 128
                   : (strstr(name, "_AES_256_") || strstr(name, "_CHACHA20_")) ? 256 : 0;
        }
    }
    return 0;
}
