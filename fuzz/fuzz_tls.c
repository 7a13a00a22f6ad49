/* fuzz_tls.c -- configs, session store and connection helpers of the connection targets
 * (see fuzz_tls.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_tls.h"

/* --- keys and configs ------------------------------------------------------------------- */

static const tlsr_certified_key *load_key(const char *cert, const char *key)
{
    const tlsr_certified_key *out = NULL;
    const uint8_t *c, *k;
    size_t clen, klen;
    char err[256];

    c = fuzz_data_file(cert, &clen);
    k = fuzz_data_file(key, &klen);
    if (tlsr_certified_key_load(c, clen, k, klen, &out, err, sizeof(err)) != TLSR_OK) {
        fprintf(stderr, "fuzz: cannot load %s: %s\n", cert, err);
        abort();
    }
    return out;
}

static tlsr_client_auth *client_auth(int mode, unsigned depth, int crl)
{
    tlsr_client_auth *auth = NULL;
    const uint8_t *pem;
    size_t len, added = 0;
    char err[256];

    pem = fuzz_data_file("ca.pem", &len);
    if (tlsr_client_auth_new(pem, len, mode, depth, &auth, err, sizeof(err)) != TLSR_OK) {
        fprintf(stderr, "fuzz: client auth: %s\n", err);
        abort();
    }
    if (crl) {
        pem = fuzz_data_file("ca.crl.pem", &len);
        if (tlsr_client_auth_add_crls(auth, pem, len, &added, err, sizeof(err)) != TLSR_OK
            || added != 1) {
            fprintf(stderr, "fuzz: CRL: %s\n", err);
            abort();
        }
    }
    return auth;
}

/* --- the session store ------------------------------------------------------------------ */

#define STORE_ENTRIES 16

typedef struct {
    uint8_t *key, *value;
    size_t key_len, value_len;
} store_entry;

/* One per server config, so that each learns its own session context. */
typedef struct {
    store_entry entries[STORE_ENTRIES];
    uint8_t context[32];
    int learned;
} fuzz_store;

static fuzz_store stores[FUZZ_SERVER_CONFIGS];
static const uint8_t *forced_value;
static size_t forced_len;

static int store_put(void *userdata, const uint8_t *key, size_t key_len, const uint8_t *value,
                     size_t value_len)
{
    fuzz_store *s = userdata;
    size_t i;

    fuzz_touch(key, key_len);
    fuzz_touch(value, value_len);
    if (!s->learned && value_len >= sizeof(s->context)) {
        memcpy(s->context, value, sizeof(s->context));
        s->learned = 1;
    }
    else if (value_len >= sizeof(s->context)) {
        fuzz_record(2, value + sizeof(s->context), value_len - sizeof(s->context));
    }
    for (i = 0; i < STORE_ENTRIES; ++i) {
        store_entry *e = &s->entries[i];
        if (!e->key) {
            e->key = malloc(key_len + 1);
            e->value = malloc(value_len + 1);
            if (!e->key || !e->value) abort();
            memcpy(e->key, key, key_len);
            memcpy(e->value, value, value_len);
            e->key_len = key_len;
            e->value_len = value_len;
            return 1;
        }
    }
    return 0;
}

static int store_get(void *userdata, const uint8_t *key, size_t key_len, int remove,
                     uint8_t *buf, size_t cap, size_t *out_len)
{
    fuzz_store *s = userdata;
    size_t i, n;

    fuzz_touch(key, key_len);
    for (i = 0; i < STORE_ENTRIES; ++i) {
        store_entry *e = &s->entries[i];
        if (e->key && e->key_len == key_len && !memcmp(e->key, key, key_len)) {
            if (e->value_len > cap) {
                return 0;
            }
            memcpy(buf, e->value, e->value_len);
            *out_len = e->value_len;
            if (remove) {
                free(e->key);
                free(e->value);
                memset(e, 0, sizeof(*e));
            }
            return 1;
        }
    }
    if (!forced_value) {
        return 0;
    }
    n = (s->learned ? sizeof(s->context) : 0) + forced_len;
    if (n > cap) {
        return 0;
    }
    if (s->learned) {
        memcpy(buf, s->context, sizeof(s->context));
    }
    memcpy(buf + (s->learned ? sizeof(s->context) : 0), forced_value, forced_len);
    *out_len = n;
    return 1;
}

void fuzz_store_reset(const uint8_t *forced, size_t len)
{
    size_t c, i;

    for (c = 0; c < FUZZ_SERVER_CONFIGS; ++c) {
        for (i = 0; i < STORE_ENTRIES; ++i) {
            free(stores[c].entries[i].key);
            free(stores[c].entries[i].value);
            memset(&stores[c].entries[i], 0, sizeof(stores[c].entries[i]));
        }
    }
    forced_value = forced;
    forced_len = len;
}

/* --- configs ---------------------------------------------------------------------------- */

static const tlsr_server_config *servers[FUZZ_SERVER_CONFIGS][3]; /* base, h2, http/1.1 */
static const tlsr_client_config *clients[FUZZ_CLIENT_CONFIGS];
static int configs_ready;

static const uint16_t V12[] = { TLSR_TLS12 }, V13[] = { TLSR_TLS13 };
static const uint16_t V_BOTH[] = { TLSR_TLS13, TLSR_TLS12 };
static const uint16_t SUITES_12[] = { 0xc02c, 0xcca9, 0xc02b, 0xc030 };
static const uint16_t SUITES_MIX[] = { 0x1303, 0x1301, 0x1302, 0xc02b, 0xc02f };

static void ok(tlsr_status st, const char *what)
{
    if (st != TLSR_OK) {
        fprintf(stderr, "fuzz: setting up %s: %s\n", what, tlsr_status_str(st));
        abort();
    }
}

static void build_server(unsigned which, const tlsr_certified_key *ec,
                         const tlsr_certified_key *rsa)
{
    static uint8_t TICKET_KEYS[2 * TLSR_TICKET_KEY_LEN];
    tlsr_server_config_builder *b = NULL;
    size_t i;
    tlsr_client_auth *auth = NULL;
    char err[256];

    for (i = 0; i < sizeof(TICKET_KEYS); ++i) {
        TICKET_KEYS[i] = (uint8_t)(i * 7 + 1); /* two keys with different names */
    }
    ok(tlsr_server_config_builder_new(&b), "builder");
    switch (which) {
    case 0:
        ok(tlsr_server_config_builder_add_certified_key(b, ec), "key");
        ok(tlsr_server_config_builder_add_certified_key(b, rsa), "key");
        ok(tlsr_server_config_builder_set_session_store(b, &stores[0], store_put, store_get),
           "store");
        break;
    case 1:
        ok(tlsr_server_config_builder_add_certified_key(b, ec), "key");
        ok(tlsr_server_config_builder_set_versions(b, V12, 1), "versions");
        ok(tlsr_server_config_builder_set_suites(b, SUITES_12, 4), "suites");
        ok(tlsr_server_config_builder_set_ignore_client_order(b, 1), "order");
        auth = client_auth(TLSR_CLIENT_AUTH_OPTIONAL, 2, 1);
        ok(tlsr_server_config_builder_set_session_store(b, &stores[1], store_put, store_get),
           "store");
        break;
    case 2:
        ok(tlsr_server_config_builder_add_certified_key(b, ec), "key");
        ok(tlsr_server_config_builder_add_certified_key(b, rsa), "key");
        ok(tlsr_server_config_builder_set_versions(b, V13, 1), "versions");
        ok(tlsr_server_config_builder_set_ticket_keys(b, TICKET_KEYS, 2, 300), "tickets");
        auth = client_auth(TLSR_CLIENT_AUTH_REQUIRED, 1, 1);
        break;
    default:
        ok(tlsr_server_config_builder_add_certified_key(b, rsa), "key");
        ok(tlsr_server_config_builder_set_versions(b, V_BOTH, 2), "versions");
        ok(tlsr_server_config_builder_set_ticket_keys(b, TICKET_KEYS + TLSR_TICKET_KEY_LEN, 1,
                                                      60), "tickets");
        ok(tlsr_server_config_builder_set_session_cache_size(b, 0), "cache");
        auth = client_auth(TLSR_CLIENT_AUTH_OPTIONAL, 3, 0);
        break;
    }
    if (auth) {
        ok(tlsr_server_config_builder_set_client_auth(b, auth), "client auth");
        tlsr_client_auth_free(auth);
    }
    if (tlsr_server_config_builder_build(b, &servers[which][0], err, sizeof(err)) != TLSR_OK) {
        fprintf(stderr, "fuzz: server config %u: %s\n", which, err);
        abort();
    }
    ok(tlsr_server_config_with_alpn(servers[which][0], (const uint8_t *)"h2", 2,
                                    &servers[which][1]), "alpn");
    ok(tlsr_server_config_with_alpn(servers[which][0], (const uint8_t *)"http/1.1", 8,
                                    &servers[which][2]), "alpn");
}

static void build_client(unsigned which, const tlsr_certified_key *client,
                         const tlsr_certified_key *revoked, const tlsr_client_config **out)
{
    static const uint8_t *const PROTOS[] = { (const uint8_t *)"h2", (const uint8_t *)"http/1.1" };
    static const size_t LENS[] = { 2, 8 };
    tlsr_client_config_builder *b = NULL;
    const uint8_t *ca;
    size_t ca_len, added = 0;
    char err[256];

    ok(tlsr_client_config_builder_new(&b), "client builder");
    ca = fuzz_data_file("ca.pem", &ca_len);
    ok(tlsr_client_config_builder_add_ca_pem(b, ca, ca_len, &added, err, sizeof(err)), "CA");
    /* the learner (which 4) resumes, so that servers store sessions for it */
    ok(tlsr_client_config_builder_set_session_cache_size(b, which == 4 ? 8 : 0), "client cache");
    switch (which) {
    case 0:
        ok(tlsr_client_config_builder_set_alpn(b, PROTOS, LENS, 2), "client alpn");
        break;
    case 1:
        ok(tlsr_client_config_builder_set_versions(b, V12, 1), "client versions");
        ok(tlsr_client_config_builder_add_certified_key(b, client), "client key");
        break;
    case 2:
        ok(tlsr_client_config_builder_set_versions(b, V13, 1), "client versions");
        ok(tlsr_client_config_builder_add_certified_key(b, client), "client key");
        ok(tlsr_client_config_builder_set_alpn(b, PROTOS + 1, LENS + 1, 1), "client alpn");
        break;
    case 4:
        ok(tlsr_client_config_builder_add_certified_key(b, client), "client key");
        break;
    default:
        ok(tlsr_client_config_builder_add_certified_key(b, revoked), "client key");
        ok(tlsr_client_config_builder_set_suites(b, SUITES_MIX, 5), "client suites");
        break;
    }
    if (tlsr_client_config_builder_build(b, out, err, sizeof(err)) != TLSR_OK) {
        fprintf(stderr, "fuzz: client config %u: %s\n", which, err);
        abort();
    }
}

/* One complete handshake in memory, so that the session stores learn their context. */
static void learn_context(const tlsr_client_config *client, unsigned server)
{
    tlsr_acceptor *a = NULL;
    tlsr_conn *c = NULL, *s = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, used, round;

    ok(tlsr_client_conn_new(client, "fuzz.test", &c, NULL, 0), "client conn");
    fuzz_conn_flush(c, &buf, &len);
    ok(tlsr_acceptor_new(&a), "acceptor");
    ok(tlsr_acceptor_read_tls(a, buf, len, &used), "hello");
    ok(tlsr_acceptor_accept(a), "accept");
    ok(tlsr_acceptor_into_conn(a, servers[server][0], &s), "into_conn");
    tlsr_acceptor_free(a);
    for (round = 0; round < 8; ++round) {
        len = 0;
        fuzz_conn_flush(s, &buf, &len);
        if (len) ok(tlsr_conn_read_tls(c, buf, len, &used), "client read");
        len = 0;
        fuzz_conn_flush(c, &buf, &len);
        if (len) ok(tlsr_conn_read_tls(s, buf, len, &used), "server read");
    }
    free(buf);
    if (!stores[server].learned) {
        fprintf(stderr, "fuzz: the session store of server config %u saw no session\n", server);
        abort();
    }
    tlsr_conn_free(c);
    tlsr_conn_free(s);
}

static void setup(void)
{
    const tlsr_certified_key *ec, *rsa, *client, *revoked;
    const tlsr_client_config *learner;
    static const uint8_t OCSP[] = "\x30\x03\x0a\x01\x00"; /* not a real response; stapled as is */
    unsigned i;

    if (configs_ready) {
        return;
    }
    ec = load_key("server-ec.pem", "server-ec.key");
    rsa = load_key("server-rsa.pem", "server-rsa.key");
    client = load_key("client.pem", "client.key");
    revoked = load_key("revoked.pem", "revoked.key");
    ok(tlsr_certified_key_set_ocsp(ec, OCSP, sizeof(OCSP) - 1), "ocsp");
    for (i = 0; i < FUZZ_SERVER_CONFIGS; ++i) {
        build_server(i, ec, rsa);
    }
    for (i = 0; i < FUZZ_CLIENT_CONFIGS; ++i) {
        build_client(i, client, revoked, &clients[i]);
    }
    build_client(4, client, revoked, &learner);
    tlsr_certified_key_free(ec);
    tlsr_certified_key_free(rsa);
    tlsr_certified_key_free(client);
    tlsr_certified_key_free(revoked);
    configs_ready = 1;
    learn_context(learner, 0);
    learn_context(learner, 1);
    tlsr_client_config_free(learner);
    fuzz_store_reset(NULL, 0);
}

const tlsr_server_config *fuzz_server_config(unsigned which, const tlsr_acceptor *hello)
{
    size_t i, n, len;
    const uint8_t *proto;

    setup();
    which %= FUZZ_SERVER_CONFIGS;
    n = hello ? tlsr_acceptor_alpn_count(hello) : 0;
    for (i = 0; i < n; ++i) {
        if (FUZZ_CHECK(tlsr_acceptor_alpn(hello, i, &proto, &len)) != TLSR_OK) {
            continue;
        }
        if (len == 2 && !memcmp(proto, "h2", 2)) {
            return servers[which][1];
        }
        if (len == 8 && !memcmp(proto, "http/1.1", 8)) {
            return servers[which][2];
        }
    }
    return servers[which][0];
}

const tlsr_client_config *fuzz_client_config(unsigned which)
{
    setup();
    return clients[which % FUZZ_CLIENT_CONFIGS];
}

/* --- inspection --------------------------------------------------------------------------- */

void fuzz_conn_inspect(const tlsr_conn *conn)
{
    const uint8_t *p;
    const char *name;
    size_t len, n, i, index;
    char msg[64];
    uint16_t version = tlsr_conn_protocol_version(conn);
    int handshaking = tlsr_conn_is_handshaking(conn);
    tlsr_status st;

    FUZZ_ASSERT(version == 0 || version == TLSR_TLS12 || version == TLSR_TLS13);
    FUZZ_ASSERT(handshaking == 0 || handshaking == 1);
    (void)tlsr_conn_wants_write(conn);
    (void)tlsr_conn_plaintext_pending(conn);
    n = tlsr_conn_cipher_suite(conn);
    FUZZ_ASSERT(n == 0 || tlsr_suite_version((uint16_t)n) != 0);
    if (FUZZ_CHECK(tlsr_conn_alpn(conn, &p, &len)) == TLSR_OK) {
        fuzz_touch(p, len);
    }
    if (FUZZ_CHECK(tlsr_conn_sni(conn, &name, &len)) == TLSR_OK) {
        fuzz_touch(name, len);
    }
    (void)tlsr_conn_is_resumed(conn);
    st = FUZZ_CHECK(tlsr_conn_session_id(conn, &p, &len));
    FUZZ_ASSERT(st == (handshaking ? TLSR_WRONG_STATE : TLSR_OK));
    if (st == TLSR_OK) {
        fuzz_touch(p, len);
        FUZZ_ASSERT(len <= 32);
    }
    st = FUZZ_CHECK(tlsr_conn_certified_key_index(conn, &index));
    if (st == TLSR_OK) {
        FUZZ_ASSERT(index < 2);
    }
    n = tlsr_conn_peer_cert_count(conn);
    FUZZ_ASSERT(n <= 16);
    for (i = 0; i <= n; ++i) {
        st = FUZZ_CHECK(tlsr_conn_peer_cert_der(conn, i, &p, &len));
        if (i == n) {
            FUZZ_ASSERT(st == TLSR_NOT_FOUND);
            break;
        }
        FUZZ_ASSERT(st == TLSR_OK);
        fuzz_touch(p, len);
        {
            tlsr_x509 *x = NULL;
            if (FUZZ_CHECK(tlsr_x509_parse(p, len, &x)) == TLSR_OK) {
                const char *text;
                size_t tlen;
                int f;
                for (f = 0; f <= TLSR_X509_PEM; ++f) {
                    if (FUZZ_CHECK(tlsr_x509_text(x, (tlsr_x509_field)f, &text, &tlen))
                        == TLSR_OK) {
                        fuzz_touch(text, tlen);
                    }
                }
                tlsr_x509_free(x);
            }
        }
    }
    FUZZ_CHECK(tlsr_conn_last_error(conn, msg, sizeof(msg), &len));
    FUZZ_ASSERT(strlen(msg) <= len && strlen(msg) < sizeof(msg));
    (void)tlsr_conn_is_client(conn);
}

void fuzz_acceptor_inspect(const tlsr_acceptor *a)
{
    const char *name;
    const uint8_t *proto;
    size_t len, i, n;
    uint16_t list[8];

    FUZZ_ASSERT(FUZZ_CHECK(tlsr_acceptor_sni(a, &name, &len)) == TLSR_OK);
    fuzz_touch(name, len);
    n = tlsr_acceptor_alpn_count(a);
    for (i = 0; i <= n; ++i) {
        tlsr_status st = FUZZ_CHECK(tlsr_acceptor_alpn(a, i, &proto, &len));
        FUZZ_ASSERT(st == (i < n ? TLSR_OK : TLSR_INVALID_PARAM));
        if (st == TLSR_OK) {
            fuzz_touch(proto, len); /* may be empty: rustls 0.20 passes "" on (RFC 7301
                                     * forbids it; the module ignores it) */
        }
    }
    n = tlsr_acceptor_signature_schemes(a, list, 8);
    FUZZ_ASSERT(tlsr_acceptor_signature_schemes(a, NULL, 0) == n);
    n = tlsr_acceptor_cipher_suites(a, list, 8);
    FUZZ_ASSERT(tlsr_acceptor_cipher_suites(a, NULL, 0) == n);
}

/* --- I/O ----------------------------------------------------------------------------------- */

static void append(uint8_t **out, size_t *out_len, const uint8_t *data, size_t n)
{
    uint8_t *grown = realloc(*out, *out_len + n + 1);

    if (!grown) abort();
    memcpy(grown + *out_len, data, n);
    *out = grown;
    *out_len += n;
}

size_t fuzz_conn_flush(tlsr_conn *conn, uint8_t **out, size_t *out_len)
{
    uint8_t buf[4096];
    size_t total = 0, produced;

    for (;;) {
        tlsr_status st = FUZZ_CHECK(tlsr_conn_write_tls(conn, buf, sizeof(buf), &produced));
        if (st != TLSR_OK || produced == 0) {
            break;
        }
        FUZZ_ASSERT(produced <= sizeof(buf));
        if (out) {
            append(out, out_len, buf, produced);
        }
        total += produced;
    }
    return total;
}

size_t fuzz_acceptor_flush(tlsr_acceptor *a)
{
    uint8_t buf[512];
    size_t total = 0, produced;

    while (FUZZ_CHECK(tlsr_acceptor_write_tls(a, buf, sizeof(buf), &produced)) == TLSR_OK
           && produced > 0) {
        FUZZ_ASSERT(produced <= sizeof(buf));
        total += produced;
    }
    return total;
}

tlsr_status fuzz_conn_read_all(tlsr_conn *conn, size_t cap, size_t limit, uint8_t **out,
                               size_t *out_len)
{
    uint8_t buf[16384];
    size_t n, total = 0;
    tlsr_status st = TLSR_OK;

    if (cap == 0 || cap > sizeof(buf)) {
        cap = sizeof(buf);
    }
    while (total < limit) {
        st = FUZZ_CHECK(tlsr_conn_read(conn, buf, cap, &n));
        if (st != TLSR_OK) {
            break;
        }
        FUZZ_ASSERT(n > 0 && n <= cap);
        if (out) {
            append(out, out_len, buf, n);
        }
        total += n;
    }
    return st;
}

size_t fuzz_chunk_size(uint8_t b, size_t all)
{
    if (b == 0) return all ? all : 1;
    if (b < 128) return b;
    return (size_t)(b - 127) * 64;
}

void fuzz_conn_drive(tlsr_conn *conn, const uint8_t *net, size_t n, size_t chunk,
                     unsigned read_cap, int echo, int close)
{
    static const size_t READ_CAPS[8] = { 1, 7, 100, 4096, 16384, 3, 512, 16384 };
    size_t cap = READ_CAPS[read_cap & 7], pos = 0, used = 0, stalls = 0;
    tlsr_status st = TLSR_OK, rst;

    fuzz_conn_flush(conn, NULL, NULL);
    fuzz_conn_inspect(conn);
    while (pos < n) {
        size_t len = n - pos < chunk ? n - pos : chunk;
        uint8_t *plain = NULL;
        size_t plain_len = 0;

        st = FUZZ_CHECK(tlsr_conn_read_tls(conn, net + pos, len, &used));
        if (st == TLSR_OK) {
            FUZZ_ASSERT(used <= len);
            pos += used;
        }
        rst = fuzz_conn_read_all(conn, cap, 1 << 20, &plain, &plain_len);
        if (st != TLSR_OK) {
            /* a dead connection says why on every read_tls, and on read once the plaintext
             * before the error is read (EOF if the peer had closed before) */
            size_t again;
            FUZZ_ASSERT(FUZZ_CHECK(tlsr_conn_read_tls(conn, net + pos, n - pos, &again)) == st);
            FUZZ_ASSERT(rst == st || rst == TLSR_EOF);
        }
        if (echo && plain_len && !tlsr_conn_is_handshaking(conn)) {
            size_t written;
            if (FUZZ_CHECK(tlsr_conn_write(conn, plain, plain_len, &written)) == TLSR_OK) {
                FUZZ_ASSERT(written == plain_len);
            }
        }
        free(plain);
        fuzz_conn_flush(conn, NULL, NULL);
        fuzz_conn_inspect(conn);
        if (st != TLSR_OK) {
            break;
        }
        /* nothing taken although all plaintext was read: as the module, give up */
        stalls = used ? 0 : stalls + 1;
        if (stalls > 1) {
            break;
        }
    }
    if (close) {
        FUZZ_CHECK(tlsr_conn_send_close_notify(conn));
        fuzz_conn_flush(conn, NULL, NULL);
    }
    fuzz_conn_read_all(conn, cap, 1 << 20, NULL, NULL);
    fuzz_conn_inspect(conn);
    if (getenv("FUZZ_DEBUG")) {
        char msg[512];
        size_t len;
        tlsr_conn_last_error(conn, msg, sizeof(msg), &len);
        fprintf(stderr, "fuzz: %zu of %zu bytes taken, last status %s, %s, version %04x, "
                "suite %04x, %zu peer certificates; last error: %s\n", pos, n,
                tlsr_status_str(st), tlsr_conn_is_handshaking(conn) ? "handshaking" : "open",
                tlsr_conn_protocol_version(conn), tlsr_conn_cipher_suite(conn),
                tlsr_conn_peer_cert_count(conn), msg);
    }
}

void fuzz_record(int what, const uint8_t *data, size_t len)
{
    static const char *const SUFFIX[3] = { "s2c", "c2s", "session" };
    static FILE *files[3];
    static int opened;
    const char *prefix;
    int i;

    if (!opened) {
        opened = 1;
        if ((prefix = getenv("FUZZ_RECORD"))) {
            for (i = 0; i < 3; ++i) {
                char path[1024];
                snprintf(path, sizeof(path), "%s.%s", prefix, SUFFIX[i]);
                files[i] = fopen(path, "wb");
            }
        }
    }
    if (what >= 0 && what < 3 && files[what]) {
        if (what == 2) {
            /* one session value: the last */
            rewind(files[what]);
            if (ftruncate(fileno(files[what]), 0)) abort();
        }
        fwrite(data, 1, len, files[what]);
        fflush(files[what]);
    }
}
