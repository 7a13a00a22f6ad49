/* fuzz_x509.c -- the crate's own X.509/DER parser (der.rs, x509.rs, dn.rs, fields.rs) through
 * tlsr_x509_parse, and every accessor on what it accepts.
 *
 * Input: one DER certificate. Whatever parses must give every text field, every DN attribute
 * of subject and issuer (all names mod_ssl and OpenSSL use, several indices), the subject
 * alternative names and the validity, as views that are readable over their whole length. */
#include <string.h>

#include "fuzz_common.h"

static const char *const DN_NAMES[] = {
    "C", "ST", "SP", "L", "O", "OU", "CN", "T", "title", "I", "initials", "G", "GN",
    "givenName", "S", "SN", "surname", "D", "description", "UID", "uid", "Email",
    "emailAddress", "serialNumber", "DC", "street", "postalCode", "name", "pseudonym",
    "", "cn", "no such name",
};

static void exercise(const tlsr_x509 *cert)
{
    const char *text;
    size_t len, i, k;
    int64_t nb, na;
    int field, issuer, type;

    for (field = -1; field <= TLSR_X509_PEM + 1; ++field) {
        tlsr_status st = FUZZ_CHECK(tlsr_x509_text(cert, (tlsr_x509_field)field, &text, &len));
        if (field < 0 || field > TLSR_X509_PEM) {
            FUZZ_ASSERT(st == TLSR_INVALID_PARAM);
            continue;
        }
        FUZZ_ASSERT(st == TLSR_OK);
        fuzz_touch(text, len);
        if (field == TLSR_X509_VERSION) {
            FUZZ_ASSERT(len == 1 && text[0] >= '1' && text[0] <= '3');
        }
    }
    for (issuer = 0; issuer <= 1; ++issuer) {
        for (i = 0; i < sizeof(DN_NAMES) / sizeof(DN_NAMES[0]); ++i) {
            for (k = 0; k < 4; ++k) {
                tlsr_status st = FUZZ_CHECK(tlsr_x509_dn_attr(cert, issuer, DN_NAMES[i], k,
                                                               &text, &len));
                if (st != TLSR_OK) {
                    FUZZ_ASSERT(st == TLSR_NOT_FOUND);
                    break;
                }
                fuzz_touch(text, len);
            }
        }
    }
    for (type = 0; type <= 3; ++type) {
        for (k = 0; k < 64; ++k) {
            tlsr_status st = FUZZ_CHECK(tlsr_x509_san(cert, type, k, &text, &len));
            if (st != TLSR_OK) {
                FUZZ_ASSERT(st == (type == TLSR_SAN_EMAIL || type == TLSR_SAN_DNS
                                   ? TLSR_NOT_FOUND : TLSR_INVALID_PARAM));
                break;
            }
            fuzz_touch(text, len);
        }
    }
    FUZZ_ASSERT(FUZZ_CHECK(tlsr_x509_validity(cert, &nb, &na)) == TLSR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlsr_x509 *cert = NULL;
    tlsr_status st = FUZZ_CHECK(tlsr_x509_parse(data, size, &cert));

    if (st == TLSR_OK) {
        FUZZ_ASSERT(cert != NULL);
        exercise(cert);
        tlsr_x509_free(cert);
    }
    else {
        FUZZ_ASSERT(st == TLSR_BAD_CERTIFICATE || (st == TLSR_NULL_PARAM && size == 0));
        FUZZ_ASSERT(cert == NULL);
    }
    return 0;
}
