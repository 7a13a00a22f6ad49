//! OCSP stapling: tlsr_certified_key_set_ocsp, seen by a rustls client through the C ABI.

mod common;

use common::*;
use rustls::client::{ServerCertVerified, ServerCertVerifier, WebPkiVerifier};
use rustls::{Certificate, ServerName};
use std::ptr::null;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tlsr::*;

/// Verifies properly and records the OCSP response the server stapled.
struct Recorder {
    inner: WebPkiVerifier,
    seen: Mutex<Option<Vec<u8>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &Certificate,
        intermediates: &[Certificate],
        server_name: &ServerName,
        scts: &mut dyn Iterator<Item = &[u8]>,
        ocsp_response: &[u8],
        now: SystemTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(ocsp_response.to_vec());
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            scts,
            ocsp_response,
            now,
        )
    }
}

/// The OCSP response a client sees in a full handshake with `config` (empty: none stapled).
fn stapled(config: &Config, version: &'static rustls::SupportedProtocolVersion) -> Vec<u8> {
    let recorder = Arc::new(Recorder {
        inner: WebPkiVerifier::new(roots(), None),
        seen: Mutex::new(None),
    });
    let mut cc = rustls::ClientConfig::builder()
        .with_safe_default_cipher_suites()
        .with_safe_default_kx_groups()
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots())
        .with_no_client_auth();
    cc.dangerous().set_certificate_verifier(recorder.clone());
    let mut client = client(&Arc::new(cc), "test.example");
    let _server = connect(&mut client, config);
    let seen = recorder.seen.lock().unwrap().clone();
    seen.expect("certificate verified")
}

fn set_ocsp(key: &Key, der: &[u8]) -> tlsr_status {
    tlsr_certified_key_set_ocsp(key.0, der.as_ptr(), der.len())
}

#[test]
fn staple_is_set_replaced_and_removed_while_the_config_lives() {
    let key = load_files("ec256.chain.pem", "ec256.sec1.key");
    let config = config_with(&[&key], |_| {});
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        assert_eq!(set_ocsp(&key, b""), TLSR_OK);
        assert!(stapled(&config, version).is_empty());

        assert_eq!(set_ocsp(&key, b"first response"), TLSR_OK);
        assert_eq!(stapled(&config, version), b"first response");
        // the same again: nothing changes
        assert_eq!(set_ocsp(&key, b"first response"), TLSR_OK);
        assert_eq!(stapled(&config, version), b"first response");

        assert_eq!(set_ocsp(&key, b"second response"), TLSR_OK);
        assert_eq!(stapled(&config, version), b"second response");

        assert_eq!(set_ocsp(&key, b""), TLSR_OK);
        assert!(stapled(&config, version).is_empty());
    }
}

#[test]
fn staple_reaches_alpn_variants_and_keeps_the_chain_view() {
    let key = load_files("rsa2048.chain.pem", "rsa2048.pkcs1.key");
    let leaf = key_leaf(&key);
    let base = config_with(&[&key], |_| {});
    let mut variant = null();
    assert_eq!(
        tlsr_server_config_with_alpn(base.0, b"h2".as_ptr(), 2, &mut variant),
        TLSR_OK
    );
    let variant = Config(variant);
    assert_eq!(set_ocsp(&key, b"for every variant"), TLSR_OK);
    assert_eq!(
        stapled(&variant, &rustls::version::TLS13),
        b"for every variant"
    );
    assert_eq!(
        stapled(&base, &rustls::version::TLS12),
        b"for every variant"
    );
    // the chain did not change
    assert_eq!(key_leaf(&key), leaf);
    assert_eq!(tlsr_certified_key_chain_len(key.0), 2);
}

#[test]
fn set_ocsp_checks_its_arguments() {
    let key = load_files("ec256.pem", "ec256.pkcs8.key");
    assert_eq!(
        tlsr_certified_key_set_ocsp(null(), b"x".as_ptr(), 1),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_certified_key_set_ocsp(key.0, null(), 5),
        TLSR_NULL_PARAM
    );
    assert_eq!(tlsr_certified_key_set_ocsp(key.0, null(), 0), TLSR_OK);
    let huge = vec![0u8; 64 * 1024 + 1];
    assert_eq!(set_ocsp(&key, &huge), TLSR_INVALID_PARAM);
    let max = vec![0u8; 64 * 1024];
    assert_eq!(set_ocsp(&key, &max), TLSR_OK);
}
