/* fuzz_pem.c -- the PEM loaders of the crate: certificate chains and private keys
 * (tlsr_certified_key_load: PKCS#8, PKCS#1, SEC1, key/certificate match), trust anchors for
 * client certificates (tlsr_client_auth_new) and for backends
 * (tlsr_client_config_builder_add_ca_pem), and what is built from a loaded key.
 *
 * Input:
 *   byte 0     bits 0-2, what to load: 0 certificate + key in one file; 1 certificate file
 *              and key file (split at the offset in bytes 1-2); 2 client CA file (optional);
 *              3 client CA file (required); 4-7 backend CA file. Bits 3-7: the depth for 2, 3
 *   bytes 1,2  the split offset (big-endian), for 1
 *   rest       the file(s)
 * A loaded key: its validity, every certificate of its chain (through tlsr_x509_parse), an
 * OCSP response set and removed, and a server config built with it. Checks besides crashes:
 * a failure writes a message; a key has at least one certificate; a CA file that loads has
 * at least one anchor. */
#include <string.h>

#include "fuzz_common.h"

static void use_key(const tlsr_certified_key *key, const uint8_t *data, size_t size)
{
    int64_t nb, na;
    size_t n = tlsr_certified_key_chain_len(key), i, len;
    const uint8_t *der;
    tlsr_server_config_builder *b = NULL;
    const tlsr_server_config *config = NULL;
    char err[256];
    tlsr_status st;

    /* the crate's own reading of the validity is stricter than webpki's loading */
    st = FUZZ_CHECK(tlsr_certified_key_validity(key, &nb, &na));
    FUZZ_ASSERT(st == TLSR_OK || st == TLSR_BAD_CERTIFICATE);
    FUZZ_ASSERT(n >= 1);
    for (i = 0; i <= n; ++i) {
        st = FUZZ_CHECK(tlsr_certified_key_cert_der(key, i, &der, &len));
        if (i == n) {
            FUZZ_ASSERT(st != TLSR_OK);
            break;
        }
        FUZZ_ASSERT(st == TLSR_OK);
        fuzz_touch(der, len);
        {
            tlsr_x509 *x = NULL;
            if (FUZZ_CHECK(tlsr_x509_parse(der, len, &x)) == TLSR_OK) tlsr_x509_free(x);
        }
    }
    FUZZ_CHECK(tlsr_certified_key_set_ocsp(key, data, size < 100 ? size : 100));
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_certified_key_set_ocsp(key, NULL, 0)) == TLSR_OK);

    FUZZ_ASSERT(FUZZ_CHECK(tlsr_server_config_builder_new(&b)) == TLSR_OK);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_server_config_builder_add_certified_key(b, key)) == TLSR_OK);
    err[0] = 0;
    st = FUZZ_CHECK(tlsr_server_config_builder_build(b, &config, err, sizeof(err)));
    if (st == TLSR_OK) {
        tlsr_server_config_free(config);
    }
    else {
        FUZZ_ASSERT(err[0] && config == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = { data, size };
    uint8_t what = fuzz_byte(&in), hi = fuzz_byte(&in), lo = fuzz_byte(&in);
    size_t split = (size_t)(hi << 8 | lo);
    const uint8_t *file = in.data;
    size_t len = in.len, added = 0;
    char err[256];
    tlsr_status st;

    err[0] = 0;
    switch (what & 7) {
    case 0:
    case 1: {
        const tlsr_certified_key *key = NULL;
        const uint8_t *key_pem = NULL;
        size_t cert_len = len, key_len = 0;
        if ((what & 7) == 1) {
            cert_len = split < len ? split : len;
            key_pem = file + cert_len;
            key_len = len - cert_len;
        }
        st = FUZZ_CHECK(tlsr_certified_key_load(file, cert_len, key_pem, key_len, &key, err,
                                                sizeof(err)));
        if (st == TLSR_OK) {
            FUZZ_ASSERT(key != NULL);
            use_key(key, file, len);
            tlsr_certified_key_free(key);
        }
        else {
            FUZZ_ASSERT(key == NULL && err[0]);
        }
        break;
    }
    case 2:
    case 3: {
        tlsr_client_auth *auth = NULL;
        int mode = (what & 7) == 2 ? TLSR_CLIENT_AUTH_OPTIONAL : TLSR_CLIENT_AUTH_REQUIRED;
        st = FUZZ_CHECK(tlsr_client_auth_new(file, len, mode, what >> 3, &auth, err,
                                             sizeof(err)));
        if (st == TLSR_OK) {
            FUZZ_ASSERT(auth != NULL && tlsr_client_auth_crl_count(auth) == 0);
            tlsr_client_auth_free(auth);
        }
        else {
            FUZZ_ASSERT(auth == NULL && err[0]);
        }
        break;
    }
    default: {
        tlsr_client_config_builder *b = NULL;
        FUZZ_ASSERT(FUZZ_CHECK(tlsr_client_config_builder_new(&b)) == TLSR_OK);
        st = FUZZ_CHECK(tlsr_client_config_builder_add_ca_pem(b, file, len, &added, err,
                                                              sizeof(err)));
        if (st == TLSR_OK) {
            FUZZ_ASSERT(added >= 1);
        }
        else {
            FUZZ_ASSERT(err[0]);
        }
        tlsr_client_config_builder_free(b);
        break;
    }
    }
    return 0;
}
