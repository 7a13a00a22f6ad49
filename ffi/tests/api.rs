//! The C ABI's conventions: NULL arguments, free(NULL), versions, statuses, suites.

mod common;

use common::*;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};
use tlsr::*;

#[test]
fn versions() {
    assert_eq!(c_str(tlsr_version()), env!("CARGO_PKG_VERSION"));
    assert_eq!(c_str(tlsr_version()), "0.1.0");
    // The hardcoded rustls version agrees with what Cargo.lock resolved.
    let rustls = c_str(tlsr_rustls_version());
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    assert!(
        lock.contains(&format!("name = \"rustls\"\nversion = \"{}\"", rustls)),
        "{}",
        rustls
    );
}

#[test]
fn status_strings() {
    let all = [
        TLSR_OK,
        TLSR_WOULD_BLOCK,
        TLSR_EOF,
        TLSR_NOT_FOUND,
        TLSR_NULL_PARAM,
        TLSR_INVALID_PARAM,
        TLSR_WRONG_STATE,
        TLSR_PANIC,
        TLSR_PEM_ERROR,
        TLSR_NO_CERTIFICATE,
        TLSR_NO_PRIVATE_KEY,
        TLSR_UNSUPPORTED_KEY,
        TLSR_KEY_MISMATCH,
        TLSR_BAD_CERTIFICATE,
        TLSR_NO_CIPHER_SUITES,
        TLSR_CONFIG_ERROR,
        TLSR_BAD_CRL,
        TLSR_NOT_TLS,
        TLSR_CORRUPT_MESSAGE,
        TLSR_NO_SHARED_VERSION,
        TLSR_NO_SHARED_CIPHER,
        TLSR_NO_SUITABLE_CERT,
        TLSR_PEER_INCOMPATIBLE,
        TLSR_PEER_MISBEHAVED,
        TLSR_ALERT_RECEIVED,
        TLSR_DECRYPT_ERROR,
        TLSR_BUFFER_LIMIT,
        TLSR_PEER_CERT_MISSING,
        TLSR_PEER_CERT_REFUSED,
        TLSR_TLS_ERROR,
    ];
    let texts: Vec<String> = all
        .iter()
        .map(|&s| c_str(tlsr_status_str(s as i32)))
        .collect();
    for (status, text) in all.iter().zip(&texts) {
        assert!(!text.is_empty() && text != "unknown status", "{:?}", status);
    }
    let mut unique = texts.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), texts.len());
    assert_eq!(
        c_str(tlsr_status_str(TLSR_NO_SHARED_CIPHER as i32)),
        "no cipher suite in common"
    );
    for unknown in [-1, 4, 99, 104, 209, 312, 400, i32::MAX, i32::MIN] {
        assert_eq!(c_str(tlsr_status_str(unknown)), "unknown status");
    }
    // The values are the header's.
    assert_eq!(TLSR_TLS_ERROR as i32, 399);
    assert_eq!(TLSR_NOT_FOUND as i32, 3);
    assert_eq!(TLSR_NOT_TLS as i32, 300);
    assert_eq!(TLSR_BAD_CRL as i32, 208);
    assert_eq!(TLSR_PEER_CERT_MISSING as i32, 310);
    assert_eq!(TLSR_PEER_CERT_REFUSED as i32, 311);
    assert_eq!(
        std::mem::size_of::<tlsr_status>(),
        std::mem::size_of::<i32>()
    );
}

#[test]
fn supported_suites() {
    let n = tlsr_supported_suites(null_mut(), 0);
    assert_eq!(n, 9);
    let mut all = vec![0u16; n];
    assert_eq!(tlsr_supported_suites(all.as_mut_ptr(), all.len()), n);
    assert_eq!(&all[..3], &[0x1302, 0x1301, 0x1303]);
    let mut three = [0xffffu16; 4];
    assert_eq!(tlsr_supported_suites(three.as_mut_ptr(), 3), n);
    assert_eq!(three, [0x1302, 0x1301, 0x1303, 0xffff]);
    assert_eq!(tlsr_supported_suites(null_mut(), 5), n); // misuse: nothing written
    for &suite in &all {
        let expected = if suite >> 8 == 0x13 { 0x0304 } else { 0x0303 };
        assert_eq!(tlsr_suite_version(suite), expected, "{:04x}", suite);
    }
    assert!(all.contains(&0xc02b) && all.contains(&0xc02f) && all.contains(&0xcca8));
    assert_eq!(tlsr_suite_version(0x002f), 0); // TLS_RSA_WITH_AES_128_CBC_SHA
    assert_eq!(tlsr_suite_version(0), 0);
}

#[test]
fn free_null_is_a_no_op() {
    tlsr_certified_key_free(null());
    tlsr_server_config_builder_free(null_mut());
    tlsr_server_config_free(null());
    tlsr_acceptor_free(null_mut());
    tlsr_conn_free(null_mut());
}

#[test]
fn null_arguments() {
    let key = load_files("ec256.chain.pem", "ec256.pkcs8.key");
    let mut out_key: *const tlsr_certified_key = null();
    let (mut p, mut len) = (null::<u8>(), 0usize);
    let (mut cp, mut cl) = (null::<c_char>(), 0usize);
    let mut i64s = (0i64, 0i64);
    let mut n = 0usize;
    let pem = data("ec256.chain.pem");

    // keys
    let mut err = [1 as c_char; 64];
    let s = tlsr_certified_key_load(
        null(),
        0,
        null(),
        0,
        &mut out_key,
        err.as_mut_ptr(),
        err.len(),
    );
    assert_eq!(s, TLSR_NULL_PARAM);
    assert!(c_buf(&err).contains("NULL"));
    let s = tlsr_certified_key_load(
        pem.as_ptr(),
        pem.len(),
        null(),
        0,
        null_mut(),
        null_mut(),
        0,
    );
    assert_eq!(s, TLSR_NULL_PARAM);
    let s = tlsr_certified_key_load(null(), 5, null(), 0, &mut out_key, null_mut(), 0);
    assert_eq!(s, TLSR_NULL_PARAM);
    assert!(out_key.is_null());
    assert_eq!(
        tlsr_certified_key_validity(null(), &mut i64s.0, &mut i64s.1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_certified_key_validity(key.0, null_mut(), &mut i64s.1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_certified_key_validity(key.0, &mut i64s.0, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(i64s, (0, 0));
    assert_eq!(tlsr_certified_key_chain_len(null()), 0);
    assert_eq!(
        tlsr_certified_key_cert_der(null(), 0, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_certified_key_cert_der(key.0, 0, null_mut(), &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_certified_key_cert_der(key.0, 0, &mut p, null_mut()),
        TLSR_NULL_PARAM
    );
    assert!(p.is_null() && len == 0);

    // builder
    let mut b: *mut tlsr_server_config_builder = null_mut();
    assert_eq!(tlsr_server_config_builder_new(null_mut()), TLSR_NULL_PARAM);
    let v = [0x0304u16];
    assert_eq!(
        tlsr_server_config_builder_set_versions(null_mut(), v.as_ptr(), 1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_suites(null_mut(), v.as_ptr(), 1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_ignore_client_order(null_mut(), 1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(null_mut(), key.0),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_alpn(null_mut(), null(), null(), 0),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_session_store(null_mut(), null_mut(), None, None),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_session_cache_size(null_mut(), 1),
        TLSR_NULL_PARAM
    );
    let mut out_cfg: *const tlsr_server_config = null();
    assert_eq!(
        tlsr_server_config_builder_build(null_mut(), &mut out_cfg, null_mut(), 0),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_server_config_builder_new(&mut b), TLSR_OK);
    assert_eq!(
        tlsr_server_config_builder_set_versions(b, null(), 1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_suites(b, null(), 2),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(b, null()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_alpn(b, null(), null(), 1),
        TLSR_NULL_PARAM
    );
    let lens = [2usize];
    let protos = [null::<u8>()];
    assert_eq!(
        tlsr_server_config_builder_set_alpn(b, protos.as_ptr(), lens.as_ptr(), 1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_session_store(b, null_mut(), None, None),
        TLSR_NULL_PARAM
    );
    let keys = [7u8; 96];
    assert_eq!(
        tlsr_server_config_builder_set_ticket_keys(null_mut(), keys.as_ptr(), 2, 300),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_ticket_keys(b, null(), 1, 300),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_ticket_keys(b, keys.as_ptr(), usize::MAX / 8, 300),
        TLSR_INVALID_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_ticket_keys(b, keys.as_ptr(), 2, 300),
        TLSR_OK
    );
    // n == 0 turns tickets off again; keys may be NULL then.
    assert_eq!(
        tlsr_server_config_builder_set_ticket_keys(b, null(), 0, 0),
        TLSR_OK
    );
    // out NULL: still consumes the builder (no leak, no double free afterwards)
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(b, key.0),
        TLSR_OK
    );
    let mut err = [1 as c_char; 64];
    assert_eq!(
        tlsr_server_config_builder_build(b, null_mut(), err.as_mut_ptr(), 64),
        TLSR_NULL_PARAM
    );
    assert!(c_buf(&err).contains("NULL"));

    let config = config_with(&[&key], |_| {});
    assert_eq!(
        tlsr_server_config_with_alpn(null(), b"h2".as_ptr(), 2, &mut out_cfg),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_with_alpn(config.0, b"h2".as_ptr(), 2, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_server_config_with_alpn(config.0, null(), 2, &mut out_cfg),
        TLSR_NULL_PARAM
    );
    assert!(out_cfg.is_null());

    // acceptor
    assert_eq!(tlsr_acceptor_new(null_mut()), TLSR_NULL_PARAM);
    let a = acceptor();
    let bytes = [0x16u8];
    assert_eq!(
        tlsr_acceptor_read_tls(null_mut(), bytes.as_ptr(), 1, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_read_tls(a, null(), 1, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_read_tls(a, bytes.as_ptr(), 1, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_acceptor_read_tls(a, null(), 0, &mut n), TLSR_OK); // empty input may be NULL
    assert_eq!(n, 0);
    assert_eq!(tlsr_acceptor_accept(null_mut()), TLSR_NULL_PARAM);
    assert_eq!(tlsr_acceptor_sni(null(), &mut cp, &mut cl), TLSR_NULL_PARAM);
    assert_eq!(tlsr_acceptor_alpn_count(null()), 0);
    assert_eq!(
        tlsr_acceptor_alpn(null(), 0, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_acceptor_signature_schemes(null(), null_mut(), 0), 0);
    assert_eq!(tlsr_acceptor_cipher_suites(null(), null_mut(), 0), 0);
    let mut conn: *mut tlsr_conn = null_mut();
    assert_eq!(
        tlsr_acceptor_into_conn(null_mut(), config.0, &mut conn),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_into_conn(a, null(), &mut conn),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_into_conn(a, config.0, null_mut()),
        TLSR_NULL_PARAM
    );
    assert!(conn.is_null());
    assert_eq!(tlsr_acceptor_reject(null_mut(), 112), TLSR_NULL_PARAM);
    let mut buf = [0u8; 16];
    assert_eq!(
        tlsr_acceptor_write_tls(null_mut(), buf.as_mut_ptr(), 16, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_write_tls(a, null_mut(), 16, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_write_tls(a, buf.as_mut_ptr(), 16, null_mut()),
        TLSR_NULL_PARAM
    );
    let mut ebuf = [0 as c_char; 16];
    assert_eq!(
        tlsr_acceptor_last_error(null(), ebuf.as_mut_ptr(), 16, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_last_error(a, null_mut(), 16, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_acceptor_last_error(a, ebuf.as_mut_ptr(), 16, null_mut()),
        TLSR_NULL_PARAM
    );
    tlsr_acceptor_free(a);

    // connection
    let c: *mut tlsr_conn = null_mut();
    assert_eq!(
        tlsr_conn_read_tls(c, bytes.as_ptr(), 1, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_conn_write_tls(c, buf.as_mut_ptr(), 16, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_conn_read(c, buf.as_mut_ptr(), 16, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_conn_write(c, bytes.as_ptr(), 1, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_conn_send_close_notify(c), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_is_handshaking(c), 0);
    assert_eq!(tlsr_conn_wants_write(c), 0);
    assert_eq!(tlsr_conn_plaintext_pending(c), 0);
    assert_eq!(tlsr_conn_protocol_version(c), 0);
    assert_eq!(tlsr_conn_cipher_suite(c), 0);
    assert_eq!(tlsr_conn_alpn(c, &mut p, &mut len), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_sni(c, &mut cp, &mut cl), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_is_resumed(c), 0);
    assert_eq!(tlsr_conn_session_id(c, &mut p, &mut len), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_certified_key_index(c, &mut n), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_conn_last_error(c, ebuf.as_mut_ptr(), 16, &mut n),
        TLSR_NULL_PARAM
    );
}

#[test]
fn null_arguments_on_a_live_connection() {
    let key = load_files("ec256.chain.pem", "ec256.pkcs8.key");
    let config = config_with(&[&key], |_| {});
    let mut client = client(&client_config(ClientOptions::default()), "localhost");
    let server = connect(&mut client, &config);
    let c = server.conn;
    let mut n = 0usize;
    let (mut p, mut len) = (null::<u8>(), 0usize);
    let (mut cp, mut cl) = (null::<c_char>(), 0usize);
    assert_eq!(tlsr_conn_read_tls(c, null(), 5, &mut n), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_conn_read_tls(c, b"x".as_ptr(), 1, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_conn_write_tls(c, null_mut(), 5, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_conn_write_tls(c, [0u8; 1].as_mut_ptr(), 1, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_conn_read(c, null_mut(), 5, &mut n), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_conn_read(c, [0u8; 1].as_mut_ptr(), 1, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_conn_write(c, null(), 5, &mut n), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_conn_write(c, b"x".as_ptr(), 1, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_conn_alpn(c, null_mut(), &mut len), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_alpn(c, &mut p, null_mut()), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_sni(c, null_mut(), &mut cl), TLSR_NULL_PARAM);
    assert_eq!(tlsr_conn_sni(c, &mut cp, null_mut()), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_conn_session_id(c, null_mut(), &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_conn_session_id(c, &mut p, null_mut()), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_conn_certified_key_index(c, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_conn_is_resumed(c), 0);
    let mut index = usize::MAX;
    assert_eq!(tlsr_conn_certified_key_index(c, &mut index), TLSR_OK);
    assert_eq!(index, 0);
    assert_eq!(tlsr_conn_session_id(c, &mut p, &mut len), TLSR_OK);
    assert_eq!(len, 32, "a ticket from the default cache");
    assert_eq!(
        tlsr_conn_last_error(c, null_mut(), 1, &mut n),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_conn_last_error(c, null_mut(), 0, null_mut()),
        TLSR_NULL_PARAM
    );
    // Zero-length I/O is fine, with NULL buffers too.
    assert_eq!(tlsr_conn_read_tls(c, null(), 0, &mut n), TLSR_OK);
    assert_eq!(n, 0);
    assert_eq!(tlsr_conn_write(c, null(), 0, &mut n), TLSR_OK);
    assert_eq!(n, 0);
    n = 7;
    assert_eq!(tlsr_conn_write_tls(c, null_mut(), 0, &mut n), TLSR_OK);
    assert_eq!(n, 0);
    assert_eq!(tlsr_conn_read(c, null_mut(), 0, &mut n), TLSR_INVALID_PARAM);
    assert_eq!(conn_error(c), "read with a buffer of size 0");
    assert_eq!(tlsr_conn_last_error(c, null_mut(), 0, &mut n), TLSR_OK);
    assert_eq!(n, "read with a buffer of size 0".len());
}

#[test]
fn last_error_truncates() {
    let a = acceptor();
    let get = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    let mut n = 0;
    assert_eq!(
        tlsr_acceptor_read_tls(a, get.as_ptr(), get.len(), &mut n),
        TLSR_NOT_TLS
    );
    let full = acceptor_error(a);
    for cap in [0usize, 1, 2, 10] {
        let mut buf = [b'#' as c_char; 12];
        let mut len = 0;
        assert_eq!(
            tlsr_acceptor_last_error(a, buf.as_mut_ptr(), cap, &mut len),
            TLSR_OK
        );
        assert_eq!(len, full.len());
        if cap == 0 {
            assert!(buf.iter().all(|&c| c == b'#' as c_char));
        } else {
            assert_eq!(c_buf(&buf[..cap]), full[..cap - 1]);
            assert_eq!(buf[cap - 1], 0);
            assert!(
                buf[cap..].iter().all(|&c| c == b'#' as c_char),
                "wrote past cap {}",
                cap
            );
        }
    }
    tlsr_acceptor_free(a);
}
