/* fuzz_common.c -- helpers shared by the fuzz targets (see fuzz_common.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#ifndef FUZZ_DATA_DIR
#error "FUZZ_DATA_DIR must name fuzz/data (fuzz/fuzz.mk sets it)"
#endif

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "FUZZ FAILURE %s:%d: %s\n", file, line, what);
    abort();
}

tlsr_status fuzz_status(tlsr_status st, const char *file, int line)
{
    if (st == TLSR_PANIC) {
        fuzz_fail(file, line, "the crate returned TLSR_PANIC");
    }
    return st;
}

const uint8_t *fuzz_data_file(const char *name, size_t *len)
{
    /* kept for the whole run (and reachable, for LeakSanitizer) */
    static struct { const char *name; uint8_t *buf; size_t len; } files[32];
    char path[1024];
    FILE *f;
    uint8_t *buf;
    long size;
    size_t i;

    for (i = 0; i < sizeof(files) / sizeof(files[0]) && files[i].name; ++i) {
        if (!strcmp(files[i].name, name)) {
            *len = files[i].len;
            return files[i].buf;
        }
    }
    if (i == sizeof(files) / sizeof(files[0])) {
        abort();
    }
    snprintf(path, sizeof(path), "%s/%s", FUZZ_DATA_DIR, name);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        abort();
    }
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        abort();
    }
    fclose(f);
    buf[size] = 0;
    files[i].name = name;
    files[i].buf = buf;
    files[i].len = (size_t)size;
    *len = (size_t)size;
    return buf;
}

void fuzz_touch(const void *ptr, size_t len)
{
    const volatile uint8_t *p = ptr;
    volatile uint8_t sum = 0;
    size_t i;

    if (!ptr) {
        FUZZ_ASSERT(len == 0);
        return;
    }
    for (i = 0; i < len; ++i) {
        sum ^= p[i];
    }
    (void)sum;
}

uint8_t fuzz_byte(fuzz_input *in)
{
    uint8_t b;

    if (!in->len) {
        return 0;
    }
    b = in->data[0];
    ++in->data;
    --in->len;
    return b;
}

const uint8_t *fuzz_bytes(fuzz_input *in, size_t n, size_t *got)
{
    const uint8_t *p = in->data;

    if (n > in->len) {
        n = in->len;
    }
    in->data += n;
    in->len -= n;
    *got = n;
    return p;
}

char *fuzz_string_until(fuzz_input *in, uint8_t sep, size_t *n)
{
    const uint8_t *end = memchr(in->data, sep, in->len);
    size_t len = end ? (size_t)(end - in->data) : in->len;
    char *s = malloc(len + 1);

    if (!s) {
        abort();
    }
    memcpy(s, in->data, len);
    s[len] = 0;
    in->data += len + (end ? 1 : 0);
    in->len -= len + (end ? 1 : 0);
    *n = len;
    return s;
}
