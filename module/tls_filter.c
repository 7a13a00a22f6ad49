/* tls_filter.c -- the connection filters: brigades <-> the crate's byte buffers. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <apr_portable.h>
#include <apr_strings.h>
#include <httpd.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <util_filter.h>

#include "tls_filter.h"

APLOG_USE_MODULE(tls);

/* Most TLS bytes to ask the network for in one read. */
#define TLS_NET_READ_SIZE (64 * 1024)
/* Plaintext is encrypted in chunks of at most this, so a large file bucket never makes the
 * engine buffer megabytes of records. */
#define TLS_WRITE_CHUNK (64 * 1024)
/* TLS bytes of one buffer taken from the engine: the records of a whole TLS_WRITE_CHUNK. */
#define TLS_OUT_BUF_SIZE TLS_RECORDS_SIZE(TLS_WRITE_CHUNK)
/* A whole TLS record: 16 KiB of plaintext and at most 256 bytes of header and protection. */
#define TLS_RECORD_MAX (16 * 1024 + 256)
/* The TLS bytes `n` bytes of plaintext become: every record of up to 16 KiB gains at most 29
 * bytes (a TLS 1.2 GCM header, explicit nonce and tag; TLS 1.3 adds 22). */
#define TLS_RECORDS_SIZE(n) ((n) + ((n) / (16 * 1024) + 1) * 32)
/* TLS bytes collected in one output call before they are passed down without waiting. */
#define TLS_PASS_THRESHOLD (128 * 1024)
/* Data buckets smaller than this are gathered into one record (up to a full record's
 * plaintext) instead of a record each: response headers and a small body go out together. */
#define TLS_COALESCE_SIZE (16 * 1024)

static ap_filter_rec_t *tls_in_handle;
static ap_filter_rec_t *tls_out_handle;

/* --- engine <-> bytes --------------------------------------------------------------------- */

/* Feeds bytes to whichever engine the connection is in. */
static apr_status_t engine_feed(tls_conn *tc, const char *data, apr_size_t len,
                                apr_size_t *consumed)
{
    if (tc->state == TLS_CONN_HELLO) {
        return tls_ffi_acceptor_feed(tc->acceptor, data, len, consumed);
    }
    return tls_ffi_conn_feed(tc->tls, data, len, consumed);
}

/* Memory for bucket data. Small buffers come from malloc: glibc never trims its heap when a
 * chunk below 64 KiB is freed, and what is freed serves every connection, so an idle keep-alive
 * connection holds none of it. Large ones come from the connection's bucket allocator, which
 * keeps freed memory for the next request: freeing buffers of 64 KiB and more to malloc made
 * glibc trim its heap and fault the pages back in, each trim a TLB flush across the server's
 * threads (it cost more than the AES in the 100 KiB profile). */
#define TLS_MALLOC_MAX (32 * 1024)

static char *data_alloc(tls_conn *tc, apr_size_t size, void (**free_fn)(void *))
{
    if (size < TLS_MALLOC_MAX) {
        *free_fn = free;
        return malloc(size);
    }
    *free_fn = apr_bucket_free;
    return apr_bucket_alloc(size, tc->c->bucket_alloc);
}

/* Moves every TLS byte the engine has ready to the end of tc->net_out. `expect` is how many
 * TLS bytes are about to come when the caller knows it (the records of plaintext it just
 * wrote), else 0. With `expect`, the engine writes straight into a buffer of that size, which
 * becomes the bucket (no second copy of bulk data); without it (handshake flights, tickets,
 * alerts: small), it writes into a buffer on the stack, copied into one of the right size. */
static apr_status_t collect_tls(tls_conn *tc, apr_size_t expect)
{
    apr_size_t n, size;
    apr_status_t rv;
    char *buf, small[TLS_RECORD_MAX];
    void (*free_fn)(void *) = free;

    for (;;) {
        int hello = tc->state == TLS_CONN_HELLO || !tc->tls;

        if (hello ? !tc->acceptor : !tls_ffi_conn_wants_write(tc->tls)) {
            return APR_SUCCESS;
        }
        size = expect == 0 ? sizeof(small) : expect < TLS_OUT_BUF_SIZE ? expect
                                                                        : TLS_OUT_BUF_SIZE;
        buf = expect == 0 ? small : data_alloc(tc, size, &free_fn);
        if (!buf) {
            return APR_ENOMEM;
        }
        rv = hello ? tls_ffi_acceptor_take_tls(tc->acceptor, buf, size, &n)
                   : tls_ffi_conn_take_tls(tc->tls, buf, size, &n);
        if (rv == APR_SUCCESS && n > 0 && buf == small) {
            if (!(buf = data_alloc(tc, n, &free_fn))) {
                return APR_ENOMEM;
            }
            memcpy(buf, small, n);
        }
        if (rv != APR_SUCCESS || n == 0) {
            if (buf != small) {
                free_fn(buf);
            }
            return rv;
        }
        APR_BRIGADE_INSERT_TAIL(tc->net_out,
                                apr_bucket_heap_create(buf, n, free_fn, tc->c->bucket_alloc));
        expect = 0;
    }
}

/* Passes tc->net_out down (with a FLUSH if asked) and empties it. */
static apr_status_t pass_net_out(tls_conn *tc, int flush)
{
    apr_status_t rv;

    if (flush) {
        APR_BRIGADE_INSERT_TAIL(tc->net_out, apr_bucket_flush_create(tc->c->bucket_alloc));
    }
    if (APR_BRIGADE_EMPTY(tc->net_out)) {
        return APR_SUCCESS;
    }
    rv = ap_pass_brigade(tc->out_filter->next, tc->net_out);
    apr_brigade_cleanup(tc->net_out);
    return rv;
}

apr_status_t tls_filter_net_collect(tls_conn *tc)
{
    return collect_tls(tc, 0);
}

int tls_filter_net_input_waiting(tls_conn *tc)
{
    apr_off_t len = 0;

    if (!APR_BRIGADE_EMPTY(tc->net_in)) {
        return 1;
    }
    /* speculative: the core input filter keeps what it read for the next real read; the
     * copy it gives lands in the (empty) net_in and is dropped again */
    if (ap_get_brigade(tc->in_filter->next, tc->net_in, AP_MODE_SPECULATIVE, APR_NONBLOCK_READ,
                       1) == APR_SUCCESS) {
        apr_brigade_length(tc->net_in, 0, &len);
    }
    apr_brigade_cleanup(tc->net_in);
    return len > 0;
}

void tls_filter_net_ack_now(tls_conn *tc)
{
#ifdef TCP_QUICKACK
    apr_socket_t *sock = ap_get_conn_socket(tc->c);
    apr_os_sock_t fd;
    int on = 1;

    /* Linux: leaving delayed-ACK mode sends the ACK that is due at once */
    if (sock && apr_os_sock_get(&fd, sock) == APR_SUCCESS) {
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof(on));
    }
#else
    (void)tc;
#endif
}

apr_status_t tls_filter_net_flush(tls_conn *tc)
{
    apr_status_t rv = collect_tls(tc, 0);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    return pass_net_out(tc, 1);
}

/* Follows the TLS record framing of the bytes fed to the engine, so that tls_filter_net_read
 * knows how many bytes complete the current record. */
static void track_records(tls_conn *tc, const char *data, apr_size_t len)
{
    while (len > 0) {
        if (tc->rec_left > 0) {
            apr_size_t n = len < tc->rec_left ? len : tc->rec_left;
            tc->rec_left -= n;
            data += n;
            len -= n;
            continue;
        }
        tc->rec_hdr[tc->rec_hdr_len++] = (unsigned char)*data++;
        len--;
        if (tc->rec_hdr_len == sizeof(tc->rec_hdr)) {
            tc->rec_left = ((apr_size_t)tc->rec_hdr[3] << 8) | tc->rec_hdr[4];
            tc->rec_hdr_len = 0;
        }
    }
}

/* How many TLS bytes to ask the network for: what completes the current record (or its
 * header). The core input filter, asked for more than it has, tries another non-blocking read
 * of the socket to be greedy; asked for no more than a record, it reads the socket once (up to
 * 8000 bytes) and serves the rest of what it read from memory. On a keep-alive connection that
 * saves a failing read() per request. */
static apr_off_t net_want(const tls_conn *tc)
{
    apr_size_t want = tc->rec_left > 0 ? tc->rec_left : sizeof(tc->rec_hdr) - tc->rec_hdr_len;

    return want < TLS_NET_READ_SIZE ? (apr_off_t)want : TLS_NET_READ_SIZE;
}

apr_status_t tls_filter_net_read(tls_conn *tc, apr_read_type_e block, apr_size_t *fed)
{
    apr_status_t rv;
    int eof = 0;

    *fed = 0;
    if (APR_BRIGADE_EMPTY(tc->net_in)) {
        rv = ap_get_brigade(tc->in_filter->next, tc->net_in, AP_MODE_READBYTES, block,
                            net_want(tc));
        if (APLOGctrace2(tc->c)) {
            apr_off_t len = 0;
            apr_brigade_length(tc->net_in, 0, &len);
            ap_log_cerror(APLOG_MARK, APLOG_TRACE2, rv, tc->c,
                          "TLS0305: read %" APR_OFF_T_FMT " TLS bytes from the network (%s)",
                          len, block == APR_BLOCK_READ ? "blocking" : "non-blocking");
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (APR_BRIGADE_EMPTY(tc->net_in)) {
            return block == APR_BLOCK_READ ? APR_EOF : APR_EAGAIN;
        }
    }
    while (!APR_BRIGADE_EMPTY(tc->net_in)) {
        apr_bucket *b = APR_BRIGADE_FIRST(tc->net_in);
        const char *data;
        apr_size_t len, consumed = 0;

        if (APR_BUCKET_IS_METADATA(b)) {
            eof = eof || APR_BUCKET_IS_EOS(b);
            apr_bucket_delete(b);
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, block);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (len == 0) {
            apr_bucket_delete(b);
            continue;
        }
        while (tc->state == TLS_CONN_HELLO && tc->first_len < sizeof(tc->first)
               && tc->first_len < len) {
            tc->first[tc->first_len] = data[tc->first_len];
            tc->first_len++;
        }
        rv = engine_feed(tc, data, len, &consumed);
        track_records(tc, data, consumed);
        *fed += consumed;
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (consumed < len) {
            /* the engine is full (plaintext waiting): keep the rest for later */
            if (consumed > 0) {
                apr_bucket_split(b, consumed);
                apr_bucket_delete(b);
            }
            break;
        }
        apr_bucket_delete(b);
    }
    return (*fed == 0 && eof) ? APR_EOF : APR_SUCCESS;
}

/* --- input ------------------------------------------------------------------------------- */

/* Moves all plaintext the engine has decrypted into tc->plain_in, read straight into the
 * buffers that become its buckets (from data_alloc, like collect_tls's). APR_EOF
 * when the peer's close_notify was seen and nothing more is there. */
static apr_status_t drain_plaintext(tls_conn *tc)
{
    apr_size_t n, want;
    apr_status_t rv;
    apr_bucket *b;
    char probe[256], *buf;
    void (*free_fn)(void *) = free;

    for (;;) {
        want = tls_ffi_conn_plaintext_pending(tc->tls);
        if (want == 0) {
            /* nothing announced: ask anyway, to learn EOF (close_notify) from WOULD_BLOCK */
            rv = tls_ffi_conn_read(tc->tls, probe, sizeof(probe), &n);
            b = rv == APR_SUCCESS ? apr_bucket_heap_create(probe, n, NULL, tc->c->bucket_alloc)
                                  : NULL;
        }
        else {
            want = want < TLS_NET_READ_SIZE ? want : TLS_NET_READ_SIZE;
            if (!(buf = data_alloc(tc, want, &free_fn))) {
                return APR_ENOMEM;
            }
            rv = tls_ffi_conn_read(tc->tls, buf, want, &n);
            if (rv != APR_SUCCESS) {
                free_fn(buf);
            }
            b = rv == APR_SUCCESS ? apr_bucket_heap_create(buf, n, free_fn, tc->c->bucket_alloc)
                                  : NULL;
        }
        if (rv != APR_SUCCESS) {
            return rv == APR_EAGAIN ? APR_SUCCESS : rv;
        }
        APR_BRIGADE_INSERT_TAIL(tc->plain_in, b);
    }
}

/* Whether tc->plain_in holds no bytes. Drops empty buckets on the way: splitting a line at the
 * end of a bucket leaves one, and a brigade of empty buckets must not look like data (httpd's
 * keep-alive check would then wait for a request instead of flushing the response). */
static int plain_empty(tls_conn *tc)
{
    while (!APR_BRIGADE_EMPTY(tc->plain_in)) {
        apr_bucket *b = APR_BRIGADE_FIRST(tc->plain_in);
        if (b->length != 0) {
            return 0;
        }
        apr_bucket_delete(b);
    }
    return 1;
}

/* Makes sure tc->plain_in holds some plaintext, reading the network as needed. */
static apr_status_t fill_plain(tls_conn *tc, apr_read_type_e block)
{
    apr_status_t rv, frv;
    apr_size_t fed;

    while (plain_empty(tc)) {
        if (tc->state != TLS_CONN_OPEN) {
            return tc->failed ? APR_ECONNABORTED : APR_EOF;
        }
        rv = drain_plaintext(tc);
        if (!plain_empty(tc)) {
            break;
        }
        if (rv != APR_SUCCESS) {
            if (rv == APR_EOF) {
                ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, tc->c,
                              "TLS0301: client sent close_notify");
            }
            return rv;
        }
        rv = tls_filter_net_read(tc, block, &fed);
        /* the engine may have answered (alerts, key updates, tickets): send it now */
        if (tls_ffi_conn_wants_write(tc->tls)) {
            frv = tls_filter_net_flush(tc);
            if (rv == APR_SUCCESS) {
                rv = frv;
            }
        }
        if (rv == APR_EAGAIN) {
            return rv;
        }
        if (rv == APR_EOF) {
            ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, tc->c,
                          "TLS0302: client closed the connection without close_notify");
            return rv;
        }
        if (rv != APR_SUCCESS) {
            return tls_conn_fail(tc, rv, "reading");
        }
    }
    return APR_SUCCESS;
}

/* Splits tc->plain_in after `bytes` bytes: the first part stays in plain_in, the rest goes to
 * tc->tmp. */
static apr_status_t split_plain(tls_conn *tc, apr_off_t bytes)
{
    apr_bucket *e;
    apr_status_t rv = apr_brigade_partition(tc->plain_in, bytes, &e);

    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        return rv;
    }
    apr_brigade_split_ex(tc->plain_in, e, tc->tmp);
    return APR_SUCCESS;
}

static apr_status_t read_line(tls_conn *tc, apr_bucket_brigade *bb, apr_read_type_e block)
{
    apr_status_t rv;
    apr_off_t len;

    for (;;) {
        rv = fill_plain(tc, block);
        if (rv != APR_SUCCESS) {
            if (rv == APR_EOF && !APR_BRIGADE_EMPTY(bb)) {
                return APR_SUCCESS; /* the last line, without LF */
            }
            if (rv == APR_EAGAIN && !APR_BRIGADE_EMPTY(bb)) {
                APR_BRIGADE_PREPEND(tc->plain_in, bb); /* keep the partial line for later */
            }
            return rv;
        }
        rv = apr_brigade_split_line(bb, tc->plain_in, block, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!plain_empty(tc)) {
            return APR_SUCCESS; /* stopped at the LF or at the limit */
        }
        apr_brigade_length(bb, 0, &len);
        if (len >= HUGE_STRING_LEN) {
            return APR_SUCCESS;
        }
        if (!APR_BRIGADE_EMPTY(bb)) {
            const char *data;
            apr_size_t n;
            apr_bucket *last = APR_BRIGADE_LAST(bb);
            if (apr_bucket_read(last, &data, &n, APR_BLOCK_READ) == APR_SUCCESS && n > 0
                && data[n - 1] == APR_ASCII_LF) {
                return APR_SUCCESS;
            }
        }
    }
}

static apr_status_t filter_in_modes(tls_conn *tc, apr_bucket_brigade *bb, ap_input_mode_t mode,
                                    apr_read_type_e block, apr_off_t readbytes);

static apr_status_t filter_in(ap_filter_t *f, apr_bucket_brigade *bb, ap_input_mode_t mode,
                              apr_read_type_e block, apr_off_t readbytes)
{
    tls_conn *tc = f->ctx;
    apr_status_t rv;
    apr_off_t len = 0;

    if (f->c->aborted) {
        return APR_ECONNABORTED;
    }
    rv = filter_in_modes(tc, bb, mode, block, readbytes);
    if (APLOGctrace2(f->c)) {
        apr_brigade_length(bb, 0, &len);
        ap_log_cerror(APLOG_MARK, APLOG_TRACE2, rv, f->c,
                      "TLS0304: input mode %d, %s, %" APR_OFF_T_FMT " bytes asked: %"
                      APR_OFF_T_FMT " returned", (int)mode,
                      block == APR_BLOCK_READ ? "blocking" : "non-blocking", readbytes, len);
    }
    return rv;
}

static apr_status_t filter_in_modes(tls_conn *tc, apr_bucket_brigade *bb, ap_input_mode_t mode,
                                    apr_read_type_e block, apr_off_t readbytes)
{
    apr_bucket *b, *copy;
    apr_status_t rv;

    if (tc->state < TLS_CONN_OPEN) {
        rv = tls_conn_handshake(tc, block);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    switch (mode) {
    case AP_MODE_INIT:
        return APR_SUCCESS;
    case AP_MODE_GETLINE:
        return read_line(tc, bb, block);
    case AP_MODE_READBYTES:
    case AP_MODE_SPECULATIVE:
    case AP_MODE_EXHAUSTIVE:
        break;
    default:
        return APR_ENOTIMPL;
    }
    rv = fill_plain(tc, block);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (mode == AP_MODE_EXHAUSTIVE) {
        APR_BRIGADE_CONCAT(bb, tc->plain_in);
        return APR_SUCCESS;
    }
    if ((rv = split_plain(tc, readbytes)) != APR_SUCCESS) {
        return rv;
    }
    if (mode == AP_MODE_READBYTES) {
        APR_BRIGADE_CONCAT(bb, tc->plain_in);
    }
    else { /* SPECULATIVE: hand up copies, keep the data */
        for (b = APR_BRIGADE_FIRST(tc->plain_in); b != APR_BRIGADE_SENTINEL(tc->plain_in);
             b = APR_BUCKET_NEXT(b)) {
            apr_bucket_copy(b, &copy);
            APR_BRIGADE_INSERT_TAIL(bb, copy);
        }
    }
    APR_BRIGADE_CONCAT(tc->plain_in, tc->tmp);
    return APR_SUCCESS;
}

/* --- output ------------------------------------------------------------------------------ */

/* Plaintext of small buckets, gathered to be written to the engine as one record. */
typedef struct {
    apr_size_t len;
    char data[TLS_COALESCE_SIZE];
} coalesced;

/* Encrypts plaintext, passing TLS bytes down whenever enough have collected. */
static apr_status_t encrypt(tls_conn *tc, const char *data, apr_size_t len)
{
    apr_size_t n;
    apr_off_t pending;
    apr_status_t rv;

    while (len > 0) {
        n = len < TLS_WRITE_CHUNK ? len : TLS_WRITE_CHUNK;
        rv = tls_ffi_conn_write(tc->tls, data, n);
        if (rv == APR_SUCCESS) {
            rv = collect_tls(tc, TLS_RECORDS_SIZE(n));
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        data += n;
        len -= n;
        apr_brigade_length(tc->net_out, 0, &pending);
        if (pending >= TLS_PASS_THRESHOLD && (rv = pass_net_out(tc, 0)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t encrypt_coalesced(tls_conn *tc, coalesced *co)
{
    apr_status_t rv = encrypt(tc, co->data, co->len);

    co->len = 0;
    return rv;
}

/* Encrypts one data bucket. A small one of known length is only gathered into co; a bucket
 * that may block (a pipe from a CGI, a socket) is read without blocking first, and when it
 * has nothing yet, what came before goes out with a FLUSH so the client is not kept waiting. */
static apr_status_t write_bucket(tls_conn *tc, apr_bucket *b, coalesced *co)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    if (APR_BUCKET_IS_FILE(b)) {
        /* read(), in large pieces, not mmap(): the engine copies the plaintext anyway, and
         * unmapping a file after each response flushes the TLB of every server thread */
        apr_bucket_file_enable_mmap(b, 0);
        apr_bucket_file_set_buf_size(b, TLS_WRITE_CHUNK);
    }
    if (b->length != (apr_size_t)-1 && b->length < sizeof(co->data)) {
        if (co->len + b->length > sizeof(co->data)
            && (rv = encrypt_coalesced(tc, co)) != APR_SUCCESS) {
            return rv;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv == APR_SUCCESS && len <= sizeof(co->data) - co->len) {
            memcpy(co->data + co->len, data, len);
            co->len += len;
            return APR_SUCCESS;
        }
    }
    else {
        if ((rv = encrypt_coalesced(tc, co)) != APR_SUCCESS) {
            return rv;
        }
        rv = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            if ((rv = pass_net_out(tc, 1)) != APR_SUCCESS) {
                return rv;
            }
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if ((rv = encrypt_coalesced(tc, co)) != APR_SUCCESS) {
        return rv;
    }
    return encrypt(tc, data, len);
}

static apr_status_t filter_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    tls_conn *tc = f->ctx;
    apr_status_t rv = APR_SUCCESS;
    coalesced co;

    if (f->c->aborted) {
        apr_brigade_cleanup(bb);
        return APR_ECONNABORTED;
    }
    if (tc->state < TLS_CONN_OPEN && !tc->failed) {
        rv = tls_conn_handshake(tc, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            apr_brigade_cleanup(bb);
            return rv;
        }
    }
    co.len = 0;
    while (rv == APR_SUCCESS && !APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);

        if (APR_BUCKET_IS_METADATA(b)) {
            int pass = APR_BUCKET_IS_FLUSH(b) || AP_BUCKET_IS_EOC(b);
            if (co.len > 0 && (rv = encrypt_coalesced(tc, &co)) != APR_SUCCESS) {
                break;
            }
            if (AP_BUCKET_IS_EOC(b) && tc->state == TLS_CONN_OPEN) {
                tls_ffi_conn_close_notify(tc->tls);
                tc->state = TLS_CONN_CLOSED;
                ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, tc->c,
                              "TLS0303: sending close_notify");
            }
            if (tc->tls && (rv = collect_tls(tc, 0)) != APR_SUCCESS) {
                break;
            }
            if (AP_BUCKET_IS_EOC(b)) {
                /* httpd shuts the socket down right after the EOC: without a flush the core
                 * output filter may still hold the close_notify (it sets small writes aside),
                 * and the client sees a truncated connection it will not resume. */
                APR_BRIGADE_INSERT_TAIL(tc->net_out,
                                        apr_bucket_flush_create(tc->c->bucket_alloc));
            }
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(tc->net_out, b);
            if (pass) {
                rv = pass_net_out(tc, 0);
            }
            continue;
        }
        if (tc->state == TLS_CONN_OPEN) {
            rv = write_bucket(tc, b, &co);
        }
        apr_bucket_delete(b); /* after close or failure, data has nowhere to go */
    }
    if (rv == APR_SUCCESS && co.len > 0) {
        rv = encrypt_coalesced(tc, &co);
    }
    if (rv == APR_SUCCESS) {
        rv = pass_net_out(tc, 0);
    }
    else {
        apr_brigade_cleanup(bb);
        apr_brigade_cleanup(tc->net_out);
        if (TLS_FFI_IS_ERROR(rv)) {
            rv = tls_conn_fail(tc, rv, "writing");
        }
    }
    return rv;
}

/* --- registration ------------------------------------------------------------------------ */

void tls_filter_register(apr_pool_t *p)
{
    (void)p;
    /* like mod_ssl: between the HTTP filters and mod_reqtimeout/core */
    tls_in_handle = ap_register_input_filter("TLS_IN", filter_in, NULL,
                                             AP_FTYPE_CONNECTION + 5);
    tls_out_handle = ap_register_output_filter("TLS_OUT", filter_out, NULL,
                                               AP_FTYPE_CONNECTION + 5);
}

void tls_filter_add(tls_conn *tc)
{
    tc->in_filter = ap_add_input_filter_handle(tls_in_handle, tc, NULL, tc->c);
    tc->out_filter = ap_add_output_filter_handle(tls_out_handle, tc, NULL, tc->c);
}
