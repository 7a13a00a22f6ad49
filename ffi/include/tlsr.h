/*
 * tlsr.h -- the C ABI of mod_tls's Rust crate over rustls 0.20.8.
 *
 * The crate knows nothing of httpd. docs/ffi.md states the whole contract; in short:
 *
 *  - Naming: every symbol starts with tlsr_. Types are opaque; C never sees a Rust type.
 *  - Shared, immutable objects (tlsr_certified_key, tlsr_server_config) are handed out as
 *    `const *` and are reference counted inside: a config keeps the keys it was built with
 *    alive. Free each handle you got exactly once. Mutable objects (builder, acceptor,
 *    connection) are plain `*` and owned by exactly one caller.
 *  - tlsr_*_free(NULL) is a no-op.
 *  - Every fallible call returns tlsr_status. Out-parameters are written only on TLSR_OK
 *    (or as documented for a call). TLSR_WOULD_BLOCK and TLSR_EOF are ordinary values.
 *  - Constructors that can fail take an optional `err`/`err_cap` buffer and write a
 *    NUL-terminated, possibly truncated message into it on failure. Calls on an existing
 *    handle keep the message of their last failure on the handle: tlsr_*_last_error().
 *    No thread-local state survives a call: a handle may move between threads, never be used
 *    by two at once.
 *  - Panics never cross the boundary: every function catches them and returns TLSR_PANIC.
 *  - Borrowed views (pointer + length) stay valid until the next mutating call on the same
 *    handle, or its free. Copy what you keep.
 *  - Byte buffers always come with their length; strings returned are NOT NUL-terminated
 *    unless the documentation says so.
 */
#ifndef TLSR_H
#define TLSR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Status                                                                                       */

typedef enum tlsr_status {
    TLSR_OK = 0,
    TLSR_WOULD_BLOCK = 1,          /* more input needed (incomplete ClientHello, no plaintext yet) */
    TLSR_EOF = 2,                  /* the peer sent close_notify; no more plaintext will come */
    TLSR_NOT_FOUND = 3,            /* no such entry (an absent certificate field, SAN, ...) */

    /* misuse of the API */
    TLSR_NULL_PARAM = 100,         /* a required pointer argument was NULL */
    TLSR_INVALID_PARAM = 101,      /* an argument value is not acceptable (unknown suite, bad ALPN) */
    TLSR_WRONG_STATE = 102,        /* call not valid now (acceptor already used, not accepted yet) */
    TLSR_PANIC = 103,              /* a bug: Rust code panicked; the handle must not be used again */

    /* loading certificates and keys, building configs */
    TLSR_PEM_ERROR = 200,          /* input is not PEM, or a PEM section is malformed */
    TLSR_NO_CERTIFICATE = 201,     /* no CERTIFICATE section found */
    TLSR_NO_PRIVATE_KEY = 202,     /* no usable PRIVATE KEY section found (encrypted keys included) */
    TLSR_UNSUPPORTED_KEY = 203,    /* the key's type or parameters cannot sign (e.g. RSA < 2048, DSA) */
    TLSR_KEY_MISMATCH = 204,       /* the private key does not belong to the first certificate */
    TLSR_BAD_CERTIFICATE = 205,    /* a certificate is not valid X.509 DER */
    TLSR_NO_CIPHER_SUITES = 206,   /* no cipher suite left for the enabled protocol versions */
    TLSR_CONFIG_ERROR = 207,       /* any other reason the config cannot be built */
    TLSR_BAD_CRL = 208,            /* a CRL is not valid, or not signed by one of the trusted CAs */

    /* the TLS peer: a failed handshake or connection; last_error has details */
    TLSR_NOT_TLS = 300,            /* the first bytes are not a TLS handshake record (e.g. plain HTTP) */
    TLSR_CORRUPT_MESSAGE = 301,    /* malformed record or handshake message, oversized record */
    TLSR_NO_SHARED_VERSION = 302,  /* no protocol version in common (TLS 1.0/1.1, SSLv3 clients) */
    TLSR_NO_SHARED_CIPHER = 303,   /* no cipher suite in common */
    TLSR_NO_SUITABLE_CERT = 304,   /* no certificate usable with what the client offers */
    TLSR_PEER_INCOMPATIBLE = 305,  /* other incompatibility (groups, signature schemes, ...) */
    TLSR_PEER_MISBEHAVED = 306,    /* protocol violation by the peer (unexpected message, ...) */
    TLSR_ALERT_RECEIVED = 307,     /* the peer sent a fatal alert */
    TLSR_DECRYPT_ERROR = 308,      /* a record failed to decrypt/authenticate */
    TLSR_BUFFER_LIMIT = 309,       /* a buffer limit was exceeded */
    TLSR_PEER_CERT_MISSING = 310,  /* client authentication is required; the client sent no certificate */
    TLSR_PEER_CERT_REFUSED = 311,  /* the client's certificate did not verify (untrusted, expired,
                                    * revoked, chain too long, ...): last_error says why */
    TLSR_TLS_ERROR = 399           /* any other TLS error */
} tlsr_status;

/* A short, static, NUL-terminated English description of a status ("no cipher suite in common"). */
const char *tlsr_status_str(tlsr_status status);

/* Static NUL-terminated version strings: this crate ("0.1.0") and rustls ("0.20.8"). */
const char *tlsr_version(void);
const char *tlsr_rustls_version(void);

/* Protocol versions, as on the wire. */
#define TLSR_TLS12 0x0303
#define TLSR_TLS13 0x0304

/* Alert descriptions the caller may want to send (RFC 8446 section 6). */
#define TLSR_ALERT_HANDSHAKE_FAILURE 40
#define TLSR_ALERT_INTERNAL_ERROR 80
#define TLSR_ALERT_UNRECOGNIZED_NAME 112

/* ------------------------------------------------------------------------------------------ */
/* Cipher suites                                                                              */

/* Writes the IANA ids of the suites rustls supports, in rustls' default preference order, into
 * out[0..cap) and returns how many there are (which may exceed cap). out may be NULL if cap 0. */
size_t tlsr_supported_suites(uint16_t *out, size_t cap);

/* The protocol version (TLSR_TLS12/13) a supported suite belongs to, 0 if not supported. */
uint16_t tlsr_suite_version(uint16_t suite);

/* ------------------------------------------------------------------------------------------ */
/* Certified keys: a certificate chain and its private key                                    */

typedef struct tlsr_certified_key tlsr_certified_key;

/* Parses `cert_pem`: all CERTIFICATE sections, leaf first, then its chain. The private key is
 * the first key in `key_pem`, or in `cert_pem` if key_pem is NULL. Keys may be PKCS#8
 * ("PRIVATE KEY"), PKCS#1 RSA ("RSA PRIVATE KEY") or SEC1 EC ("EC PRIVATE KEY"). Fails with
 * TLSR_KEY_MISMATCH if the key does not match the leaf certificate. */
tlsr_status tlsr_certified_key_load(const uint8_t *cert_pem, size_t cert_len,
                                    const uint8_t *key_pem, size_t key_len,
                                    const tlsr_certified_key **out,
                                    char *err, size_t err_cap);

void tlsr_certified_key_free(const tlsr_certified_key *key);

/* The leaf certificate's validity, as seconds since the Unix epoch (UTC). */
tlsr_status tlsr_certified_key_validity(const tlsr_certified_key *key,
                                        int64_t *not_before, int64_t *not_after);

/* The number of certificates in the chain (leaf included) and the DER of one of them. */
size_t tlsr_certified_key_chain_len(const tlsr_certified_key *key);
tlsr_status tlsr_certified_key_cert_der(const tlsr_certified_key *key, size_t index,
                                        const uint8_t **der, size_t *len);

/* Sets the OCSP response (DER) that handshakes choosing this key staple from now on; len 0
 * removes it. The one mutation of a certified key: safe while configs use it and from any
 * thread (handshakes already past certificate selection keep what they had). Setting the
 * response already set costs a comparison. TLSR_INVALID_PARAM if longer than 64 KiB. */
tlsr_status tlsr_certified_key_set_ocsp(const tlsr_certified_key *key, const uint8_t *der,
                                        size_t len);

/* ------------------------------------------------------------------------------------------ */
/* Server configs                                                                             */

typedef struct tlsr_server_config_builder tlsr_server_config_builder;
typedef struct tlsr_server_config tlsr_server_config;

/* Session storage supplied by the caller (e.g. a cache shared by processes). Called from the
 * thread that drives a connection, inside tlsr_acceptor_into_conn/tlsr_conn_read_tls (the
 * crate relies on that to attribute stored and taken sessions to that connection).
 * put: store value under key; return 1 if stored, 0 if not.
 * get: look key up; if found and it fits, copy it into buf, set *out_len, return 1; when
 *      `remove` is non-zero the entry must also be deleted (single-use). Return 0 otherwise. */
typedef int (*tlsr_session_put_cb)(void *userdata, const uint8_t *key, size_t key_len,
                                   const uint8_t *value, size_t value_len);
typedef int (*tlsr_session_get_cb)(void *userdata, const uint8_t *key, size_t key_len,
                                   int remove, uint8_t *buf, size_t cap, size_t *out_len);

tlsr_status tlsr_server_config_builder_new(tlsr_server_config_builder **out);
void tlsr_server_config_builder_free(tlsr_server_config_builder *builder);

/* Protocol versions to enable (TLSR_TLS12, TLSR_TLS13). Default: both. */
tlsr_status tlsr_server_config_builder_set_versions(tlsr_server_config_builder *builder,
                                                    const uint16_t *versions, size_t n);

/* Cipher suites (IANA ids) in preference order. Default: all supported, rustls' order.
 * TLSR_INVALID_PARAM for an id that tlsr_suite_version() does not know. */
tlsr_status tlsr_server_config_builder_set_suites(tlsr_server_config_builder *builder,
                                                  const uint16_t *suites, size_t n);

/* Non-zero: choose by the server's suite order, not the client's. Default: 0. */
tlsr_status tlsr_server_config_builder_set_ignore_client_order(tlsr_server_config_builder *builder,
                                                               int ignore);

/* Adds a certified key (the builder takes its own reference). With several, each handshake
 * uses the first whose key can sign with a scheme the client offers (e.g. ECDSA, then RSA). */
tlsr_status tlsr_server_config_builder_add_certified_key(tlsr_server_config_builder *builder,
                                                         const tlsr_certified_key *key);

/* ALPN protocols to offer, most preferred first (protos[i] of lens[i] bytes, 1..255). Default:
 * none. See also tlsr_server_config_with_alpn(). */
tlsr_status tlsr_server_config_builder_set_alpn(tlsr_server_config_builder *builder,
                                                const uint8_t *const *protos, const size_t *lens,
                                                size_t n);

/* Sessions (TLS 1.2 ids, TLS 1.3 stateful tickets) go to these callbacks instead of the default
 * per-process in-memory cache. userdata must outlive every config built from this builder. */
tlsr_status tlsr_server_config_builder_set_session_store(tlsr_server_config_builder *builder,
                                                         void *userdata,
                                                         tlsr_session_put_cb put,
                                                         tlsr_session_get_cb get);

/* Size of the default per-process in-memory session cache (entries); 0 disables resumption by
 * session id. Default: 256. Ignored when a session store is set. */
tlsr_status tlsr_server_config_builder_set_session_cache_size(tlsr_server_config_builder *builder,
                                                              size_t entries);

/* Stateless session tickets (RFC 5077 for TLS 1.2, and TLS 1.3 tickets) encrypted with the
 * caller's keys: n keys of TLSR_TICKET_KEY_LEN bytes each at `keys` (a 16-byte key name, then a
 * 32-byte AES-256-GCM secret). The first key encrypts new tickets; every key decrypts, so a
 * fleet can rotate keys. `lifetime` (seconds) is announced to clients and enforced (rustls
 * does not check ticket ages): a ticket issued more than `lifetime` seconds ago, or more than
 * 60 seconds in the future (clock skew in a fleet), does not open and the client does a full
 * handshake. The keys are copied; ALPN variants of the config share them.
 * n == 0: no tickets (the default); sessions then go to the session store or cache.
 * A ticket is: key name (16) || random nonce (12) || AES-256-GCM(time of issue, 8 bytes
 * big-endian seconds since the epoch || session context (32) || session state) || tag (16),
 * with the key name as additional authenticated data. The session context is SHA-256 of the
 * config's client authentication policy (see tlsr_server_config_builder_set_client_auth). */
#define TLSR_TICKET_KEY_LEN 48
tlsr_status tlsr_server_config_builder_set_ticket_keys(tlsr_server_config_builder *builder,
                                                       const uint8_t *keys, size_t n,
                                                       uint32_t lifetime);

/* Client certificates (see "Client authentication" below): the builder takes its own
 * reference to `auth`. Default: no client certificate is asked for. NULL resets to that.
 * Sessions are bound to the policy: tickets and the values given to the session store or kept
 * in the cache carry a context (SHA-256 of the mode, max_depth and trust anchors, or of "no
 * client authentication"), and a session made under another context is not resumed (the
 * client does a full handshake). So a session made on a virtual host without client
 * authentication, or under another policy, never skips the certificate check, although all
 * configs share the ticket keys and the store; configs with the same policy (a fleet) resume
 * each other's sessions. CRLs are not part of the context: as with mod_ssl, a resumed session
 * is not checked again. */
typedef struct tlsr_client_auth tlsr_client_auth;
tlsr_status tlsr_server_config_builder_set_client_auth(tlsr_server_config_builder *builder,
                                                       const tlsr_client_auth *auth);

/* Builds the config. The builder is consumed, on success and on failure: do not use or free it
 * afterwards. Fails without certified keys, or when no suite is left for the versions. */
tlsr_status tlsr_server_config_builder_build(tlsr_server_config_builder *builder,
                                             const tlsr_server_config **out,
                                             char *err, size_t err_cap);

/* A new config that shares everything with `base` but offers only the one ALPN protocol
 * `proto` (or no ALPN at all when proto_len is 0). Cheap; meant to be done once per protocol
 * at startup, so the protocol chosen by the host per connection needs no per-connection config. */
tlsr_status tlsr_server_config_with_alpn(const tlsr_server_config *base,
                                         const uint8_t *proto, size_t proto_len,
                                         const tlsr_server_config **out);

void tlsr_server_config_free(const tlsr_server_config *config);

/* ------------------------------------------------------------------------------------------ */
/* Acceptor: reads a ClientHello before the config is chosen                                  */

typedef struct tlsr_acceptor tlsr_acceptor;
typedef struct tlsr_conn tlsr_conn;

tlsr_status tlsr_acceptor_new(tlsr_acceptor **out);
void tlsr_acceptor_free(tlsr_acceptor *acceptor);

/* Feeds TLS bytes from the network. *consumed may be less than len: call
 * tlsr_acceptor_accept() and feed the rest afterwards if it says TLSR_WOULD_BLOCK.
 * TLSR_NOT_TLS if the very first byte cannot start a TLS handshake record (TLSR_NO_SHARED_VERSION
 * for an SSL 2.0 style ClientHello); a fatal alert is queued then, as for a failed accept. */
tlsr_status tlsr_acceptor_read_tls(tlsr_acceptor *acceptor, const uint8_t *buf, size_t len,
                                   size_t *consumed);

/* TLSR_OK once the complete ClientHello is in; TLSR_WOULD_BLOCK if more bytes are needed; any
 * other status is a failed handshake, and a fatal alert for the peer is queued (read it with
 * tlsr_acceptor_write_tls). */
tlsr_status tlsr_acceptor_accept(tlsr_acceptor *acceptor);

/* After TLSR_OK from accept: what the client asked for. Borrowed views.
 * sni: *name and *len are NULL and 0 when the client sent no server name (still TLSR_OK).
 * alpn: the i-th protocol the client offered; tlsr_acceptor_alpn_count() of them.
 * signature schemes and cipher suites: written to out[0..cap), the total count returned
 * (0 before a ClientHello was accepted). */
tlsr_status tlsr_acceptor_sni(const tlsr_acceptor *acceptor, const char **name, size_t *len);
size_t tlsr_acceptor_alpn_count(const tlsr_acceptor *acceptor);
tlsr_status tlsr_acceptor_alpn(const tlsr_acceptor *acceptor, size_t i,
                               const uint8_t **proto, size_t *len);
size_t tlsr_acceptor_signature_schemes(const tlsr_acceptor *acceptor, uint16_t *out, size_t cap);
size_t tlsr_acceptor_cipher_suites(const tlsr_acceptor *acceptor, uint16_t *out, size_t cap);

/* Continues the handshake with the chosen config. On TLSR_OK *out is a new connection (owned
 * by the caller) that has processed everything fed so far and has the server's first flight
 * ready (tlsr_conn_write_tls). On failure, a fatal alert is queued on the acceptor. Either way
 * the acceptor is spent: only write_tls, last_error and free remain valid. */
tlsr_status tlsr_acceptor_into_conn(tlsr_acceptor *acceptor, const tlsr_server_config *config,
                                    tlsr_conn **out);

/* Refuses the handshake: queues a fatal alert with the given description (e.g.
 * TLSR_ALERT_UNRECOGNIZED_NAME). The acceptor is spent. */
tlsr_status tlsr_acceptor_reject(tlsr_acceptor *acceptor, uint8_t alert);

/* Takes queued TLS bytes (alerts) to send to the peer; *produced is 0 when none are left. */
tlsr_status tlsr_acceptor_write_tls(tlsr_acceptor *acceptor, uint8_t *buf, size_t cap,
                                    size_t *produced);

/* Copies the message of the last failure into buf (NUL-terminated, truncated to cap) and sets
 * *len to the untruncated length (without NUL). An empty string when there was none. */
tlsr_status tlsr_acceptor_last_error(const tlsr_acceptor *acceptor, char *buf, size_t cap,
                                     size_t *len);

/* ------------------------------------------------------------------------------------------ */
/* Connection: buffer based, no callbacks on the I/O path                                     */

void tlsr_conn_free(tlsr_conn *conn);

/* Feeds TLS bytes from the network and processes every complete record. *consumed may be
 * less than len (also 0) while decrypted plaintext waits: read it with tlsr_conn_read, then
 * feed the rest. On a TLS error the status says why, a fatal alert is queued (write_tls; rustls
 * 0.20.8 queues none after the peer's own alert and for some malformed records), and the
 * connection is dead for further reads: read_tls repeats the error, and so does read once the
 * plaintext received before the error was read. */
tlsr_status tlsr_conn_read_tls(tlsr_conn *conn, const uint8_t *buf, size_t len, size_t *consumed);

/* Takes TLS bytes to send into buf; *produced is 0 when nothing is pending. */
tlsr_status tlsr_conn_write_tls(tlsr_conn *conn, uint8_t *buf, size_t cap, size_t *produced);

/* Reads decrypted plaintext: TLSR_OK with *n > 0; TLSR_WOULD_BLOCK when none is available yet;
 * TLSR_EOF once the peer's close_notify was received and all plaintext was read. */
tlsr_status tlsr_conn_read(tlsr_conn *conn, uint8_t *buf, size_t cap, size_t *n);

/* Writes plaintext to be encrypted. All of it is taken (*n == len) unless a buffer limit is
 * set; the resulting records are then waiting for tlsr_conn_write_tls. Before the handshake
 * completes the data is buffered and sent once it does. */
tlsr_status tlsr_conn_write(tlsr_conn *conn, const uint8_t *buf, size_t len, size_t *n);

/* Queues a close_notify alert (write_tls sends it). Idempotent. */
tlsr_status tlsr_conn_send_close_notify(tlsr_conn *conn);

/* State: non-zero if true. */
int tlsr_conn_is_handshaking(const tlsr_conn *conn);
int tlsr_conn_wants_write(const tlsr_conn *conn);     /* TLS bytes are waiting for write_tls */
size_t tlsr_conn_plaintext_pending(const tlsr_conn *conn); /* decrypted bytes waiting for read */

/* Negotiated values; 0 / empty before they are known. */
uint16_t tlsr_conn_protocol_version(const tlsr_conn *conn);   /* TLSR_TLS12 or TLSR_TLS13 */
uint16_t tlsr_conn_cipher_suite(const tlsr_conn *conn);       /* IANA id */
tlsr_status tlsr_conn_alpn(const tlsr_conn *conn, const uint8_t **proto, size_t *len);
tlsr_status tlsr_conn_sni(const tlsr_conn *conn, const char **name, size_t *len);

/* After the handshake: non-zero if this connection resumed an earlier session (by TLS 1.2
 * session id or ticket, or a TLS 1.3 ticket) rather than doing a full handshake. 0 while
 * handshaking. */
int tlsr_conn_is_resumed(const tlsr_conn *conn);

/* After the handshake (TLSR_WRONG_STATE while handshaking): an identifier of the TLS session,
 * the same on the connection that made the session and on every connection that resumes it
 * (*id NULL and *len 0 if there is none, e.g. without cache and tickets). Whenever a ticket is
 * involved (TLS 1.3 always; TLS 1.2 when the client resumed with a ticket or was issued one):
 * SHA-256 (32 bytes) of the ticket the client resumed with, or else of the first ticket this
 * connection issued. A resumed connection issues new tickets, so a client that resumes again
 * with one of those gets a new id. TLS 1.2 without tickets: the session id of the ServerHello
 * (with tickets it is not stable: a client resuming by ticket sends a fresh random one, which
 * the server echoes, RFC 5077 3.4). Borrowed view. */
tlsr_status tlsr_conn_session_id(const tlsr_conn *conn, const uint8_t **id, size_t *len);

/* After into_conn: which of the config's certified keys (in the order they were added) the
 * handshake uses. */
tlsr_status tlsr_conn_certified_key_index(const tlsr_conn *conn, size_t *index);

/* After the handshake: the certificates the client sent and that verified, its own first,
 * then the intermediates it sent, in its order (as on the wire; the trust anchor is not
 * included unless the client sent it). Count 0 without a client certificate (and while
 * handshaking). On a resumed connection, those of the session's original handshake.
 * peer_cert_der: a borrowed view; TLSR_NOT_FOUND for index >= count. */
size_t tlsr_conn_peer_cert_count(const tlsr_conn *conn);
tlsr_status tlsr_conn_peer_cert_der(const tlsr_conn *conn, size_t index, const uint8_t **der,
                                    size_t *len);

/* As tlsr_acceptor_last_error. */
tlsr_status tlsr_conn_last_error(const tlsr_conn *conn, char *buf, size_t cap, size_t *len);

/* ------------------------------------------------------------------------------------------ */
/* X.509 certificates: fields in the text forms OpenSSL prints them (and mod_ssl exports)     */

typedef struct tlsr_x509 tlsr_x509;

/* Parses one DER certificate. The result owns what it needs (the input may go right away).
 * TLSR_BAD_CERTIFICATE for what OpenSSL would not load either, e.g. a name with an invalid
 * string or a value of a type OpenSSL refuses (INTEGER, VisibleString, ...). */
tlsr_status tlsr_x509_parse(const uint8_t *der, size_t len, tlsr_x509 **out);
void tlsr_x509_free(tlsr_x509 *cert);

typedef enum tlsr_x509_field {
    TLSR_X509_SUBJECT = 0,   /* RFC 2253 order and escaping, UTF-8 kept: "CN=a.test,O=Example";
                              * attributes OpenSSL does not know: "1.2.3.4=#0C0178" */
    TLSR_X509_ISSUER = 1,    /* same form */
    TLSR_X509_SERIAL = 2,    /* upper-case hex, two digits per byte: "0A1B" ("-" if negative;
                              * as OpenSSL, "\\\n" after every 35 bytes of longer serials) */
    TLSR_X509_VERSION = 3,   /* "1", "2" or "3" */
    TLSR_X509_NOT_BEFORE = 4,/* "Nov  8 03:16:00 2026 GMT" (day padded with a space) */
    TLSR_X509_NOT_AFTER = 5, /* same form */
    TLSR_X509_KEY_ALG = 6,   /* OpenSSL long name: "rsaEncryption", "id-ecPublicKey", "ED25519" */
    TLSR_X509_SIG_ALG = 7,   /* "sha256WithRSAEncryption", "ecdsa-with-SHA256", "rsassaPss", ... */
    TLSR_X509_PEM = 8        /* "-----BEGIN CERTIFICATE-----\n", 64-column base64, END line + \n */
} tlsr_x509_field;

/* One field as text (borrowed view, valid until the certificate is freed). TLSR_INVALID_PARAM
 * for a field not in tlsr_x509_field. All text is UTF-8. */
tlsr_status tlsr_x509_text(const tlsr_x509 *cert, tlsr_x509_field field, const char **text,
                           size_t *len);

/* The index-th (0-based) value of a DN attribute of the subject (issuer == 0) or the issuer,
 * in the order the attributes appear in the certificate. `attr` is the OpenSSL short name or
 * one of mod_ssl's: "C", "ST" (also "SP"), "L", "O", "OU", "CN", "T" (title), "I" (initials),
 * "G" (givenName), "S" (surname), "D" (description), "UID", "Email" (emailAddress),
 * "serialNumber", "DC" (names are case-sensitive, as in mod_ssl). The value is not escaped
 * (control characters included); a value that is not a string is "#" and its DER in hex.
 * TLSR_NOT_FOUND when there is no such value, also for a name the crate does not know. */
tlsr_status tlsr_x509_dn_attr(const tlsr_x509 *cert, int issuer, const char *attr, size_t index,
                              const char **text, size_t *len);

/* Validity as seconds since the Unix epoch (UTC). */
tlsr_status tlsr_x509_validity(const tlsr_x509 *cert, int64_t *not_before, int64_t *not_after);

/* Subject alternative names of one type, in order. TLSR_NOT_FOUND past the last (and when the
 * extension is absent, unreadable or present twice); TLSR_INVALID_PARAM for another type. */
#define TLSR_SAN_EMAIL 1
#define TLSR_SAN_DNS 2
tlsr_status tlsr_x509_san(const tlsr_x509 *cert, int type, size_t index, const char **text,
                          size_t *len);

/* ------------------------------------------------------------------------------------------ */
/* Client authentication: trust anchors, revocation lists, verification depth                 */

/* Whether a client may connect without a certificate. A certificate it does send must always
 * verify, or the handshake fails (TLSR_PEER_CERT_REFUSED). */
#define TLSR_CLIENT_AUTH_OPTIONAL 1
#define TLSR_CLIENT_AUTH_REQUIRED 2  /* none sent: TLSR_PEER_CERT_MISSING */

/* A new client authentication policy. ca_pem: the trust anchors, every CERTIFICATE section
 * (at least one: TLSR_NO_CERTIFICATE otherwise; TLSR_PEM_ERROR when it is not PEM;
 * TLSR_BAD_CERTIFICATE for one webpki cannot use as an anchor). Their subject names are the CA
 * names the server announces (in the CertificateRequest). mode: TLSR_CLIENT_AUTH_OPTIONAL or
 * _REQUIRED (TLSR_INVALID_PARAM otherwise). The result is handed out as non-const so CRLs can
 * be added; once given to a builder it is shared and immutable.
 * max_depth: mod_ssl's SSLVerifyDepth. In the verified path, the client's certificate is at
 * depth 0, its issuer at 1, and so on up to and including the trust anchor; the anchor must be
 * at depth <= max_depth. So 1 accepts certificates issued directly by a trusted CA, 2 allows
 * one intermediate, and so on; 0 accepts nothing but is allowed (mod_ssl's meaning, a
 * self-signed client certificate, is not supported by webpki). Intermediates the client sends
 * are used to build the path to an anchor.
 * Verification (webpki 0.22): signatures, validity at the time of the handshake, key usage
 * for client authentication (extendedKeyUsage clientAuth, if present), CA basic and name
 * constraints; then depth, then revocation (below). The path is followed by names: from the
 * client's certificate, each issuer name is looked up among the anchors' subjects, then among
 * the subjects of the certificates the client sent (each used once), until an anchor is
 * reached; webpki verifies the certificates of one such path at a time (a few are tried, in
 * the order webpki itself would), and the first that verifies is the one whose depth and
 * revocation are checked. At most 6 certificates between the client's and the anchor.
 * A refused certificate fails the handshake with TLSR_PEER_CERT_REFUSED and a message in
 * tlsr_conn_last_error, e.g. "client certificate revoked (serial 1A2B, CRL of CN=CA,O=Example)"
 * (docs/ffi.md lists them); rustls 0.20.8 sends the client a handshake_failure alert then
 * (certificate_required when a required certificate is missing: TLSR_PEER_CERT_MISSING). */
tlsr_status tlsr_client_auth_new(const uint8_t *ca_pem, size_t ca_len, int mode,
                                 unsigned max_depth, tlsr_client_auth **out,
                                 char *err, size_t err_cap);

/* Adds certificate revocation lists (RFC 5280 v1/v2 CRLs): every "X509 CRL" PEM section of
 * `data`, or `data` as one DER CRL when it is not PEM. Each CRL must be signed by one of the
 * trust anchors (matched by the CRL's issuer name, verified with that anchor's key; RSA
 * PKCS#1 v1.5 and PSS with SHA-256/384/512, ECDSA P-256/P-384, Ed25519): TLSR_BAD_CRL
 * otherwise, or when one cannot be parsed, with the CRL's issuer (RFC 2253) and the reason in
 * err; nothing of `data` is added then. Only complete CRLs: one with a critical extension the
 * crate does not handle (issuing distribution point, delta CRL indicator, an indirect CRL's
 * certificate issuer) is TLSR_BAD_CRL too. *added (may be NULL): how many CRLs were added.
 * May be called several times (several files). Only before the policy is given to a builder
 * (WRONG_STATE after, also once that builder is gone: policies are immutable once shared).
 * Revocation check during verification: for every certificate of the verified path below the
 * anchor (the client's certificate and each intermediate), the CRLs whose issuer is that
 * certificate's issuer are consulted: a listed serial refuses the certificate ("revoked");
 * a CRL whose nextUpdate has passed refuses every certificate of that issuer ("CRL expired",
 * as OpenSSL does); an issuer without a CRL is not checked. thisUpdate is not checked.
 * Issuer names are compared as DER bytes, serials as unsigned numbers (leading zero bytes
 * ignored). Since every CRL is signed by an anchor, only certificates issued by an anchor can
 * be found revoked: to check the certificates an intermediate CA issued, configure that
 * intermediate as a trust anchor too and add its CRL. */
tlsr_status tlsr_client_auth_add_crls(tlsr_client_auth *auth, const uint8_t *data, size_t len,
                                      size_t *added, char *err, size_t err_cap);

/* The CRLs added so far, in order, for startup reports: the issuer (RFC 2253 form, borrowed
 * until the policy is freed), and thisUpdate / nextUpdate as seconds since the epoch
 * (next_update 0 when the CRL has none), the number of (distinct) revoked serials.
 * TLSR_NOT_FOUND past the last. Every out-parameter is required. */
size_t tlsr_client_auth_crl_count(const tlsr_client_auth *auth);
tlsr_status tlsr_client_auth_crl_info(const tlsr_client_auth *auth, size_t index,
                                      const char **issuer, size_t *issuer_len,
                                      int64_t *this_update, int64_t *next_update,
                                      size_t *revoked);

void tlsr_client_auth_free(const tlsr_client_auth *auth);

/* ------------------------------------------------------------------------------------------ */
/* Client configs: connections to backends (mod_proxy)                                        */

typedef struct tlsr_client_config_builder tlsr_client_config_builder;
typedef struct tlsr_client_config tlsr_client_config;

tlsr_status tlsr_client_config_builder_new(tlsr_client_config_builder **out);
void tlsr_client_config_builder_free(tlsr_client_config_builder *builder);

/* Protocol versions and cipher suites, as for server configs. Default: all. */
tlsr_status tlsr_client_config_builder_set_versions(tlsr_client_config_builder *builder,
                                                    const uint16_t *versions, size_t n);
tlsr_status tlsr_client_config_builder_set_suites(tlsr_client_config_builder *builder,
                                                  const uint16_t *suites, size_t n);

/* Adds every CERTIFICATE section of `pem` as a trust anchor for backend certificates (may be
 * called several times). Certificates webpki cannot use as anchors are skipped; fails when
 * there is no certificate or none is usable. *added (may be NULL): anchors added. Without any
 * anchor, every backend certificate is refused ("no trust anchors configured"). */
tlsr_status tlsr_client_config_builder_add_ca_pem(tlsr_client_config_builder *builder,
                                                  const uint8_t *pem, size_t len, size_t *added,
                                                  char *err, size_t err_cap);

/* Adds a machine certificate (the builder takes its own reference), offered to a backend that
 * asks for a client certificate: the first key that can sign with a scheme the backend
 * accepts and whose chain names an issuer the backend lists, else the first that can sign. */
tlsr_status tlsr_client_config_builder_add_certified_key(tlsr_client_config_builder *builder,
                                                         const tlsr_certified_key *key);

/* Size of the per-config in-memory client session store (entries; TLS 1.2 ids and tickets,
 * TLS 1.3 tickets); 0 disables resumption. Default: 256. ALPN variants share the store. */
tlsr_status tlsr_client_config_builder_set_session_cache_size(tlsr_client_config_builder *builder,
                                                              size_t entries);

/* ALPN protocols to offer, most preferred first. Default: none. */
tlsr_status tlsr_client_config_builder_set_alpn(tlsr_client_config_builder *builder,
                                                const uint8_t *const *protos,
                                                const size_t *lens, size_t n);

/* Builds the config; the builder is consumed in every case. */
tlsr_status tlsr_client_config_builder_build(tlsr_client_config_builder *builder,
                                             const tlsr_client_config **out,
                                             char *err, size_t err_cap);

/* A config sharing everything with `base` (the session store included) but offering the n
 * ALPN protocols given (none for n 0). Meant to be done once per protocol list at startup. */
tlsr_status tlsr_client_config_with_alpn(const tlsr_client_config *base,
                                         const uint8_t *const *protos, const size_t *lens,
                                         size_t n, const tlsr_client_config **out);

void tlsr_client_config_free(const tlsr_client_config *config);

/* A new connection to the backend `host` (NUL-terminated): a DNS name (sent as SNI, checked
 * against the certificate's DNS names) or an IP address, IPv6 possibly in brackets (no SNI;
 * checked against the certificate's iPAddress names). The connection is a tlsr_conn: drive it
 * with the tlsr_conn_* calls, starting with tlsr_conn_write_tls (the ClientHello is pending).
 * Its certificate errors are sentences naming the backend ("backend certificate of NAME not
 * trusted (unknown issuer)", "backend certificate is not valid for name NAME ..."). A backend
 * may send at most 5 certificates besides its own (bounds webpki 0.22.0's path building,
 * RUSTSEC-2023-0052). On a client connection tlsr_conn_sni gives no name,
 * tlsr_conn_is_resumed is always 0 (rustls 0.20 does not tell), tlsr_conn_peer_cert_* give the
 * backend's chain. */
tlsr_status tlsr_client_conn_new(const tlsr_client_config *config, const char *host,
                                 tlsr_conn **out, char *err, size_t err_cap);

/* 1 for a connection made by tlsr_client_conn_new, 0 for a server connection (or NULL). */
int tlsr_conn_is_client(const tlsr_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* TLSR_H */
