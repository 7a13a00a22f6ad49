//! Building server configs.

mod common;

use common::*;
use std::ptr::null;
use tlsr::*;

fn ec_key() -> Key {
    load_files("ec256.chain.pem", "ec256.pkcs8.key")
}

#[test]
fn builds_with_defaults() {
    let key = ec_key();
    let _config = config_with(&[&key], |_| {});
}

#[test]
fn build_without_keys_fails_and_consumes_the_builder() {
    let b = builder();
    let (status, msg) = build(b).err().unwrap();
    assert_eq!(status, TLSR_NO_CERTIFICATE);
    assert_eq!(msg, "no certificate configured");
    // The builder is gone; freeing it again would be a double free (not done here).
}

#[test]
fn versions() {
    let key = ec_key();
    let b = builder();
    let bad: [&[u16]; 4] = [&[], &[0x0302], &[0x0304, 0x0301], &[0x0305]];
    for versions in bad {
        assert_eq!(
            tlsr_server_config_builder_set_versions(b, versions.as_ptr(), versions.len()),
            TLSR_INVALID_PARAM,
            "{:?}",
            versions
        );
    }
    for versions in [&[0x0303u16][..], &[0x0304], &[0x0303, 0x0304, 0x0303]] {
        assert_eq!(
            tlsr_server_config_builder_set_versions(b, versions.as_ptr(), versions.len()),
            TLSR_OK
        );
    }
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(b, key.0),
        TLSR_OK
    );
    build(b).unwrap();
}

#[test]
fn suites() {
    let key = ec_key();
    let b = builder();
    let unknown = [0x1301u16, 0x002f];
    assert_eq!(
        tlsr_server_config_builder_set_suites(b, unknown.as_ptr(), 2),
        TLSR_INVALID_PARAM
    );
    assert_eq!(
        tlsr_server_config_builder_set_suites(b, null(), 0),
        TLSR_INVALID_PARAM
    );
    let ok = [0x1303u16, 0xc02b, 0x1303];
    assert_eq!(
        tlsr_server_config_builder_set_suites(b, ok.as_ptr(), ok.len()),
        TLSR_OK
    );
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(b, key.0),
        TLSR_OK
    );
    build(b).unwrap();
}

#[test]
fn no_suite_left_for_a_version() {
    let key = ec_key();
    let cases: [(&[u16], &[u16], &str); 3] = [
        (
            &[0xc02b, 0xc02f],
            &[0x0303, 0x0304],
            "no cipher suite left for TLS 1.3",
        ),
        (
            &[0x1301],
            &[0x0303, 0x0304],
            "no cipher suite left for TLS 1.2",
        ),
        (&[0x1301], &[0x0303], "no cipher suite left for TLS 1.2"),
    ];
    for (suites, versions, text) in cases {
        let b = builder();
        assert_eq!(
            tlsr_server_config_builder_add_certified_key(b, key.0),
            TLSR_OK
        );
        assert_eq!(
            tlsr_server_config_builder_set_suites(b, suites.as_ptr(), suites.len()),
            TLSR_OK
        );
        assert_eq!(
            tlsr_server_config_builder_set_versions(b, versions.as_ptr(), versions.len()),
            TLSR_OK
        );
        let (status, msg) = build(b).err().unwrap();
        assert_eq!(status, TLSR_NO_CIPHER_SUITES);
        assert_eq!(msg, text);
    }
    // TLS 1.2 suites only, TLS 1.2 only: fine.
    let b = builder();
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(b, key.0),
        TLSR_OK
    );
    assert_eq!(
        tlsr_server_config_builder_set_suites(b, [0xc02bu16].as_ptr(), 1),
        TLSR_OK
    );
    assert_eq!(
        tlsr_server_config_builder_set_versions(b, [0x0303u16].as_ptr(), 1),
        TLSR_OK
    );
    build(b).unwrap();
}

#[test]
fn alpn_values() {
    let b = builder();
    assert_eq!(set_alpn(b, &[b"h2", b"http/1.1"]), TLSR_OK);
    assert_eq!(set_alpn(b, &[b"h2", b""]), TLSR_INVALID_PARAM);
    assert_eq!(set_alpn(b, &[&[b'x'; 256][..]]), TLSR_INVALID_PARAM);
    assert_eq!(set_alpn(b, &[&[b'x'; 255][..]]), TLSR_OK);
    assert_eq!(set_alpn(b, &[]), TLSR_OK);
    tlsr_server_config_builder_free(b);

    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let mut out = null();
    assert_eq!(
        tlsr_server_config_with_alpn(config.0, b"x".as_ptr(), 0, &mut out),
        TLSR_OK
    );
    let none = Config(out);
    assert_eq!(
        tlsr_server_config_with_alpn(none.0, [b'x'; 256].as_ptr(), 256, &mut out),
        TLSR_INVALID_PARAM
    );
    assert_eq!(out, none.0, "out written on failure");
}

#[test]
fn config_outlives_builder_and_base() {
    let key = ec_key();
    let base = config_with(&[&key], |b| assert_eq!(set_alpn(b, &[b"h2"]), TLSR_OK));
    let mut out = null();
    assert_eq!(
        tlsr_server_config_with_alpn(base.0, b"http/1.1".as_ptr(), 8, &mut out),
        TLSR_OK
    );
    let derived = Config(out);
    drop(base);
    drop(key);
    let opts = ClientOptions {
        alpn: vec![b"http/1.1".to_vec()],
        ..Default::default()
    };
    let mut client = client(&client_config(opts), "localhost");
    let server = connect(&mut client, &derived);
    assert_eq!(server.alpn().as_deref(), Some(&b"http/1.1"[..]));
}
