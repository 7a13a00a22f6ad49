//! Loading certified keys: formats, key types, mismatches, bad input, validity.

mod common;

use common::*;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};
use tlsr::*;

fn load_err(cert: &[u8], key: Option<&[u8]>) -> (tlsr_status, String) {
    match load(cert, key) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    }
}

const LEAF_FROM: i64 = 1_704_067_200; // 2024-01-01 00:00:00Z, UTCTime
const LEAF_UNTIL: i64 = 4_859_740_800; // 2124-01-01 00:00:00Z, GeneralizedTime

fn validity(key: &Key) -> (i64, i64) {
    let (mut from, mut until) = (0, 0);
    assert_eq!(
        tlsr_certified_key_validity(key.0, &mut from, &mut until),
        TLSR_OK
    );
    (from, until)
}

#[test]
fn every_key_format_and_type_loads() {
    for (cert, key) in [
        ("ec256.pem", "ec256.pkcs8.key"),
        ("ec256.pem", "ec256.sec1.key"),
        ("ec384.pem", "ec384.pkcs8.key"),
        ("rsa2048.pem", "rsa2048.pkcs8.key"),
        ("rsa2048.pem", "rsa2048.pkcs1.key"),
        ("ed25519.pem", "ed25519.pkcs8.key"),
    ] {
        let key = load_files(cert, key);
        assert_eq!(tlsr_certified_key_chain_len(key.0), 1);
        assert_eq!(validity(&key), (LEAF_FROM, LEAF_UNTIL), "{}", cert);
    }
}

#[test]
fn key_in_the_certificate_file() {
    // key_pem NULL: the key comes from cert_pem, before or after the certificates.
    for pem in [
        cat(&[&data("rsa2048.chain.pem"), &data("rsa2048.pkcs1.key")]),
        cat(&[&data("ec256.sec1.key"), &data("ec256.chain.pem")]),
    ] {
        let key = load(&pem, None).unwrap();
        assert_eq!(tlsr_certified_key_chain_len(key.0), 2);
    }
}

#[test]
fn chain_order_and_der() {
    let key = load_files("ec256.chain.pem", "ec256.sec1.key");
    assert_eq!(tlsr_certified_key_chain_len(key.0), 2);
    let pem = data("ec256.chain.pem");
    let expected = rustls_pemfile::certs(&mut &pem[..]).unwrap();
    for (i, want) in expected.iter().enumerate() {
        let (mut p, mut len) = (null(), 0);
        assert_eq!(
            tlsr_certified_key_cert_der(key.0, i, &mut p, &mut len),
            TLSR_OK
        );
        assert_eq!(view(p, len).unwrap(), &want[..]);
    }
    let (mut p, mut len) = (null(), 0);
    assert_eq!(
        tlsr_certified_key_cert_der(key.0, 2, &mut p, &mut len),
        TLSR_INVALID_PARAM
    );
    assert!(p.is_null());
    // The parser agrees: the leaf's issuer is the intermediate's subject.
    let leaf = tlsr::x509::parse(&expected[0]).unwrap();
    let int = tlsr::x509::parse(&expected[1]).unwrap();
    assert_eq!(leaf.issuer, int.subject);
    assert_eq!(leaf.version, 3);
    assert!(leaf.extensions.is_some());
    assert_eq!(leaf.public_key.key_type(), "ECDSA P-256");
}

#[test]
fn mismatched_keys() {
    let pairs = [
        ("ec256.pem", "ec384.pkcs8.key", "ECDSA P-384", "ECDSA P-256"),
        ("ec256.pem", "expired.key", "ECDSA P-256", "ECDSA P-256"),
        ("ec256.pem", "rsa2048.pkcs1.key", "RSA", "ECDSA P-256"),
        ("rsa2048.pem", "ec256.sec1.key", "ECDSA P-256", "RSA"),
        ("rsa2048.pem", "ed25519.pkcs8.key", "Ed25519", "RSA"),
        ("ed25519.pem", "ec256.pkcs8.key", "ECDSA P-256", "Ed25519"),
        ("ec384.pem", "ec256.pkcs8.key", "ECDSA P-256", "ECDSA P-384"),
        (
            "expired.pem",
            "ec256.sec1.key",
            "ECDSA P-256",
            "ECDSA P-256",
        ),
    ];
    for (cert, key, key_type, cert_type) in pairs {
        let (status, msg) = load_err(&data(cert), Some(&data(key)));
        assert_eq!(status, TLSR_KEY_MISMATCH, "{} {}: {}", cert, key, msg);
        assert_eq!(
            msg,
            format!(
                "the private key ({}) does not belong to the certificate (which has a {} key)",
                key_type, cert_type
            )
        );
    }
    // Also an RSA key of the same size that is not the certificate's.
    let other_rsa = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-quiet",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output();
    if let Ok(out) = other_rsa {
        if out.status.success() {
            assert_eq!(
                load_err(&data("rsa2048.pem"), Some(&out.stdout)).0,
                TLSR_KEY_MISMATCH
            );
        }
    }
    // The match is against the leaf, not the intermediate that follows it.
    assert_eq!(
        load_err(&data("rsa2048.chain.pem"), Some(&data("int.key"))).0,
        TLSR_KEY_MISMATCH
    );
}

#[test]
fn expired_certificate_loads() {
    let key = load_files("expired.pem", "expired.key");
    assert_eq!(validity(&key), (946_684_799, 978_307_200)); // 1999-12-31 23:59:59Z .. 2001
}

#[test]
fn validity_of_the_ca_certificates() {
    for (cert, key) in [("ca.pem", "ca.key"), ("int.pem", "int.key")] {
        assert_eq!(validity(&load_files(cert, key)), (LEAF_FROM, LEAF_UNTIL));
    }
}

/// cert PEM, key PEM, expected status, text the message contains
type Case = (Vec<u8>, Option<Vec<u8>>, tlsr_status, &'static str);

#[test]
fn bad_pem() {
    let cert = data("ec256.pem");
    let key = data("ec256.pkcs8.key");
    let cases: Vec<Case> = vec![
        (
            b"".to_vec(),
            None,
            TLSR_PEM_ERROR,
            "no PEM data found in the certificate input",
        ),
        (
            b"hello world\n".to_vec(),
            None,
            TLSR_PEM_ERROR,
            "no PEM data found",
        ),
        (
            vec![0xff, 0xfe, 0x00, 0x80],
            None,
            TLSR_PEM_ERROR,
            "no PEM data found",
        ),
        (
            cert.clone(),
            Some(b"garbage".to_vec()),
            TLSR_PEM_ERROR,
            "no PEM data found in the private key input",
        ),
        (
            cert.clone(),
            Some(Vec::new()),
            TLSR_PEM_ERROR,
            "no PEM data found in the private key input",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nnot*base64!\n-----END CERTIFICATE-----\n".to_vec(),
            None,
            TLSR_PEM_ERROR,
            "malformed PEM in the certificate input",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
            None,
            TLSR_PEM_ERROR,
            "malformed PEM in the certificate input",
        ),
        (
            cat(&[&cert[..40], b"\xff\xff\n", &cert[40..]]),
            None,
            TLSR_PEM_ERROR,
            "malformed PEM",
        ),
        (
            key.clone(),
            None,
            TLSR_NO_CERTIFICATE,
            "no CERTIFICATE section found",
        ),
        (
            key.clone(),
            Some(key.clone()),
            TLSR_NO_CERTIFICATE,
            "no CERTIFICATE section found",
        ),
        (
            cert.clone(),
            None,
            TLSR_NO_PRIVATE_KEY,
            "no PRIVATE KEY section found",
        ),
        (
            cert.clone(),
            Some(cert.clone()),
            TLSR_NO_PRIVATE_KEY,
            "no PRIVATE KEY section found",
        ),
        (
            cert.clone(),
            Some(data("ec256.enc.key")),
            TLSR_NO_PRIVATE_KEY,
            "encrypted private keys are not supported",
        ),
        (
            cat(&[&cert, &data("ec256.enc.key")]),
            None,
            TLSR_NO_PRIVATE_KEY,
            "encrypted private keys are not supported",
        ),
        (
            data("rsa2048.pem"),
            Some(data("rsa2048.enc.key")),
            TLSR_NO_PRIVATE_KEY,
            "encrypted private keys are not supported",
        ),
        (
            data("rsa2048.pem"),
            Some(data("rsa1024.key")),
            TLSR_UNSUPPORTED_KEY,
            "unsupported type",
        ),
        (
            cert.clone(),
            Some(data("ec521.key")),
            TLSR_UNSUPPORTED_KEY,
            "unsupported type",
        ),
        (
            cert.clone(),
            Some(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec()),
            TLSR_UNSUPPORTED_KEY,
            "malformed or of an unsupported type",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n".to_vec(),
            Some(key.clone()),
            TLSR_BAD_CERTIFICATE,
            "the first certificate is not valid X.509",
        ),
        (
            cat(&[
                &cert,
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ]),
            Some(key.clone()),
            TLSR_BAD_CERTIFICATE,
            "certificate 2 is not valid X.509",
        ),
    ];
    for (cert_pem, key_pem, status, text) in cases {
        let (got, msg) = load_err(&cert_pem, key_pem.as_deref());
        assert_eq!(got, status, "{}", msg);
        assert!(msg.contains(text), "{:?} does not contain {:?}", msg, text);
    }
}

#[test]
fn certificate_with_trailing_garbage_is_rejected() {
    let pem = data("ec256.pem");
    let mut der = rustls_pemfile::certs(&mut &pem[..]).unwrap().remove(0);
    assert!(tlsr::x509::parse(&der).is_ok());
    der.push(0);
    assert!(tlsr::x509::parse(&der).is_err());
    // Every truncation and every single-byte corruption of the header fails cleanly.
    let der = &der[..der.len() - 1];
    for len in 0..der.len() {
        assert!(
            tlsr::x509::parse(&der[..len]).is_err(),
            "truncated to {}",
            len
        );
    }
    for i in 0..der.len() {
        for b in [0x00u8, 0x80, 0xff] {
            let mut bad = der.to_vec();
            bad[i] = b;
            let _ = tlsr::x509::parse(&bad); // must not panic
        }
    }
}

#[test]
fn error_buffer_truncation() {
    let garbage = b"garbage";
    let full = "no PEM data found in the certificate input";
    let mut out: *const tlsr_certified_key = null();
    for cap in [0usize, 1, 2, 8, 100] {
        let mut err = [b'#' as c_char; 110];
        let status = tlsr_certified_key_load(
            garbage.as_ptr(),
            garbage.len(),
            null(),
            0,
            &mut out,
            err.as_mut_ptr(),
            cap,
        );
        assert_eq!(status, TLSR_PEM_ERROR);
        assert!(out.is_null());
        if cap == 0 {
            assert!(err.iter().all(|&c| c == b'#' as c_char));
            continue;
        }
        let want = &full[..full.len().min(cap - 1)];
        assert_eq!(c_buf(&err[..cap]), want);
        assert_eq!(err[want.len()], 0);
        assert!(err[want.len() + 1..].iter().all(|&c| c == b'#' as c_char));
    }
    // err NULL with a capacity: ignored, no crash.
    let status = tlsr_certified_key_load(garbage.as_ptr(), 7, null(), 0, &mut out, null_mut(), 64);
    assert_eq!(status, TLSR_PEM_ERROR);
}

#[test]
fn keys_are_shared() {
    // A config keeps the key alive after the caller freed its handle.
    let key = load_files("ec256.chain.pem", "ec256.pkcs8.key");
    let b = builder();
    assert_eq!(
        tlsr_server_config_builder_add_certified_key(b, key.0),
        TLSR_OK
    );
    let leaf = key_leaf(&key);
    drop(key);
    let config = build(b).unwrap();
    let mut client = client(&client_config(ClientOptions::default()), "localhost");
    let _server = connect(&mut client, &config);
    assert_eq!(server_leaf(&client), leaf);
}
