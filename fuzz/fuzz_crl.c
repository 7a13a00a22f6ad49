/* fuzz_crl.c -- the crate's CRL loader (crl.rs on der.rs/x509.rs, the PEM envelope, the
 * signature check against the anchors) through tlsr_client_auth_add_crls, and the CRL
 * accessors on what it accepts.
 *
 * Input: a TLSClientCRL file (PEM "X509 CRL" sections, or one DER CRL). The anchors are
 * fuzz/data/crl-anchors.pem: the fuzz CA and the ECDSA, RSA and Ed25519 CAs of the crate's
 * tests, whose real CRLs are seeds. Checks besides crashes: a refused file writes a message
 * and adds nothing; an accepted one adds at least one CRL, each with an issuer; a policy given
 * to a builder refuses more CRLs. */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *ca;
    size_t ca_len, added = 99, n, i;
    tlsr_client_auth *auth = NULL;
    tlsr_server_config_builder *b = NULL;
    char err[256];
    tlsr_status st;

    ca = fuzz_data_file("crl-anchors.pem", &ca_len);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_client_auth_new(ca, ca_len, TLSR_CLIENT_AUTH_OPTIONAL, 2, &auth,
                                                err, sizeof(err))) == TLSR_OK);
    err[0] = 0;
    st = FUZZ_CHECK(tlsr_client_auth_add_crls(auth, data, size, &added, err, sizeof(err)));
    n = tlsr_client_auth_crl_count(auth);
    if (st == TLSR_OK) {
        FUZZ_ASSERT(added >= 1 && n == added);
    }
    else {
        FUZZ_ASSERT(err[0] && n == 0);
    }
    for (i = 0; i <= n; ++i) {
        const char *issuer;
        size_t issuer_len, revoked;
        int64_t this_update, next_update;
        st = FUZZ_CHECK(tlsr_client_auth_crl_info(auth, i, &issuer, &issuer_len, &this_update,
                                                  &next_update, &revoked));
        if (i == n) {
            FUZZ_ASSERT(st == TLSR_NOT_FOUND);
            break;
        }
        FUZZ_ASSERT(st == TLSR_OK);
        fuzz_touch(issuer, issuer_len);
        FUZZ_ASSERT(issuer_len > 0);
    }
    /* once shared, the policy is immutable */
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_server_config_builder_new(&b)) == TLSR_OK);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_server_config_builder_set_client_auth(b, auth)) == TLSR_OK);
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_client_auth_add_crls(auth, data, size, NULL, NULL, 0))
                == TLSR_WRONG_STATE);
    tlsr_server_config_builder_free(b);
    tlsr_client_auth_free(auth);
    return 0;
}
