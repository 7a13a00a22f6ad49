/* fuzz_common.h -- helpers shared by the fuzz targets (fuzz/fuzz_*.c).
 *
 * A crate call that returns TLSR_PANIC is a bug (tlsr.h: a panic is caught at the boundary),
 * and so is any panic at all: the targets link a crate built with panic=abort
 * (fuzz/fuzz.mk), so a panic that guard_value() would hide aborts too. FUZZ_CHECK turns
 * TLSR_PANIC and broken invariants into an abort that libFuzzer reports as a crash. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tlsr.h"

/* Aborts with a message: libFuzzer saves the input as a crash. */
void fuzz_fail(const char *file, int line, const char *what);

#define FUZZ_ASSERT(cond) do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond); } while (0)

/* A crate status: TLSR_PANIC is a bug. Returns the status for further checks. */
tlsr_status fuzz_status(tlsr_status st, const char *file, int line);
#define FUZZ_CHECK(call) fuzz_status((call), __FILE__, __LINE__)

/* The contents of FUZZ_DATA_DIR/name (keys and certificates made by fuzz/data/make.sh), read
 * once at start; aborts if missing. The buffer lives until exit. */
const uint8_t *fuzz_data_file(const char *name, size_t *len);

/* Reads every byte of a borrowed view, so that AddressSanitizer sees a view that is longer
 * than the memory behind it. A NULL view must have length 0. */
void fuzz_touch(const void *ptr, size_t len);

/* A reader over the fuzz input. */
typedef struct {
    const uint8_t *data;
    size_t len;
} fuzz_input;

/* The next byte, 0 once the input is used up. */
uint8_t fuzz_byte(fuzz_input *in);

/* The next n bytes (fewer if the input ends first); *got is how many. */
const uint8_t *fuzz_bytes(fuzz_input *in, size_t n, size_t *got);

/* The input up to (not including) the first `sep` byte, or all of it; the separator is
 * consumed. Returns a malloc'd, NUL-terminated copy (free it) and its length in *n. */
char *fuzz_string_until(fuzz_input *in, uint8_t sep, size_t *n);

#endif /* FUZZ_COMMON_H */
