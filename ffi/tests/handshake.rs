//! Full handshakes in memory: a rustls client against acceptor -> into_conn -> conn, all
//! through the C ABI.

mod common;

use common::*;
use rustls::version::{TLS12, TLS13};
use rustls::{AlertDescription, ClientConnection, Error, RootCertStore, SignatureScheme};
use std::collections::HashMap;
use std::io::Read;
use std::os::raw::{c_int, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tlsr::*;

fn ec_key() -> Key {
    load_files("ec256.chain.pem", "ec256.sec1.key")
}

fn rsa_key() -> Key {
    load_files("rsa2048.chain.pem", "rsa2048.pkcs1.key")
}

fn only(version: &'static rustls::SupportedProtocolVersion) -> ClientOptions {
    ClientOptions {
        versions: vec![version],
        ..Default::default()
    }
}

const ALERT: [u8; 6] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02];

fn alert(description: u8) -> Vec<u8> {
    cat(&[&ALERT, &[description]])
}

/// The client's reaction to bytes from the server, expected to be a fatal alert.
fn client_sees_alert(client: &mut ClientConnection, bytes: &[u8], expected: AlertDescription) {
    let mut ignored = Vec::new();
    assert_eq!(
        client_input(client, bytes, &mut ignored),
        Err(Error::AlertReceived(expected))
    );
}

fn transfer_both_ways(version: &'static rustls::SupportedProtocolVersion, expect_version: u16) {
    let key = ec_key();
    let config = config_with(&[&key], |b| {
        assert_eq!(set_alpn(b, &[b"h2", b"http/1.1"]), TLSR_OK)
    });
    let opts = ClientOptions {
        versions: vec![version],
        alpn: vec![b"foo".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    let mut client = client(&client_config(opts), "test.example");

    let accepted = accept(&mut client);
    assert_eq!(accepted.sni().as_deref(), Some("test.example"));
    assert_eq!(accepted.alpn(), vec![b"foo".to_vec(), b"http/1.1".to_vec()]);
    let a = accepted.acceptor;
    let schemes = tlsr_acceptor_signature_schemes(a, null_mut(), 0);
    let mut list = vec![0u16; schemes];
    assert_eq!(
        tlsr_acceptor_signature_schemes(a, list.as_mut_ptr(), list.len()),
        schemes
    );
    assert!(
        list.contains(&0x0403) && list.contains(&0x0804),
        "{:04x?}",
        list
    );
    let suites = tlsr_acceptor_cipher_suites(a, null_mut(), 0);
    let mut list = vec![0u16; suites];
    assert_eq!(
        tlsr_acceptor_cipher_suites(a, list.as_mut_ptr(), list.len()),
        suites
    );
    let want = if expect_version == 0x0304 {
        0x1301
    } else {
        0xc02b
    };
    assert!(list.contains(&want), "{:04x?}", list);
    // accept() again is harmless
    assert_eq!(tlsr_acceptor_accept(a), TLSR_OK);

    let mut server = accepted.connect(&config).unwrap();
    assert_eq!(tlsr_conn_is_handshaking(server.conn), 1);
    assert_eq!(tlsr_conn_wants_write(server.conn), 1, "first flight ready");
    server.write(b"written during the handshake");
    let mut from_server = Vec::new();
    pump(&mut client, &mut server, &mut from_server);
    assert!(!client.is_handshaking());
    assert_eq!(tlsr_conn_is_handshaking(server.conn), 0);
    assert_eq!(from_server, b"written during the handshake");

    assert_eq!(tlsr_conn_protocol_version(server.conn), expect_version);
    let suite = tlsr_conn_cipher_suite(server.conn);
    assert_eq!(tlsr_suite_version(suite), expect_version);
    assert_eq!(
        Some(suite),
        client
            .negotiated_cipher_suite()
            .map(|s| s.suite().get_u16())
    );
    assert_eq!(server.alpn().as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(client.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(server.sni().as_deref(), Some("test.example"));
    assert_eq!(server_leaf(&client), key_leaf(&key));

    // plaintext pending, before it is read
    write_client(&mut client, &[7u8; 100]);
    let record = client_output(&mut client);
    let mut consumed = 0;
    assert_eq!(
        tlsr_conn_read_tls(server.conn, record.as_ptr(), record.len(), &mut consumed),
        TLSR_OK
    );
    assert_eq!(consumed, record.len());
    assert_eq!(tlsr_conn_plaintext_pending(server.conn), 100);
    assert_eq!(server.drain_plaintext(), TLSR_WOULD_BLOCK);
    assert_eq!(server.received, vec![7u8; 100]);
    assert_eq!(tlsr_conn_plaintext_pending(server.conn), 0);
    server.received.clear();

    // 1 MiB client -> server: the connection pushes back (partial consumed)
    let big: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut sent = 0;
    while sent < big.len() {
        sent += write_client(&mut client, &big[sent..]);
        pump(&mut client, &mut server, &mut from_server);
    }
    assert_eq!(server.received.len(), big.len());
    assert!(server.received == big);
    assert!(
        server.partial_reads > 0,
        "partial consume path not exercised"
    );

    // 1 MiB server -> client, all taken by one write
    from_server.clear();
    server.write(&big);
    assert_eq!(tlsr_conn_wants_write(server.conn), 1);
    pump(&mut client, &mut server, &mut from_server);
    assert!(from_server == big);

    // client close_notify -> EOF, repeatedly
    client.send_close_notify();
    pump(&mut client, &mut server, &mut from_server);
    assert!(server.eof);
    let mut buf = [0u8; 10];
    let mut n = usize::MAX;
    assert_eq!(
        tlsr_conn_read(server.conn, buf.as_mut_ptr(), 10, &mut n),
        TLSR_EOF
    );
    assert_eq!(n, usize::MAX);
    assert_eq!(conn_error(server.conn), "", "EOF is not an error");

    // server close_notify, idempotent
    assert_eq!(tlsr_conn_send_close_notify(server.conn), TLSR_OK);
    assert_eq!(tlsr_conn_send_close_notify(server.conn), TLSR_OK);
    let out = server.output();
    let record_len = if expect_version == 0x0304 {
        5 + 2 + 1 + 16
    } else {
        5 + 8 + 2 + 16
    };
    assert_eq!(out.len(), record_len, "exactly one close_notify");
    client_input(&mut client, &out, &mut from_server).unwrap();
    assert_eq!(client.reader().read(&mut buf).unwrap(), 0);
}

#[test]
fn tls13_handshake_and_transfer() {
    transfer_both_ways(&TLS13, 0x0304);
}

#[test]
fn tls12_handshake_and_transfer() {
    transfer_both_ways(&TLS12, 0x0303);
}

#[test]
fn every_key_type_handshakes() {
    for (cert, key, versions) in [
        ("ec256.chain.pem", "ec256.pkcs8.key", vec![&TLS12, &TLS13]),
        ("ec384.chain.pem", "ec384.pkcs8.key", vec![&TLS12, &TLS13]),
        (
            "rsa2048.chain.pem",
            "rsa2048.pkcs8.key",
            vec![&TLS12, &TLS13],
        ),
        (
            "ed25519.chain.pem",
            "ed25519.pkcs8.key",
            vec![&TLS12, &TLS13],
        ),
    ] {
        let key = load_files(cert, key);
        let config = config_with(&[&key], |_| {});
        for version in versions {
            let mut client = client(&client_config(only(version)), "localhost");
            let server = connect(&mut client, &config);
            assert_eq!(
                tlsr_conn_protocol_version(server.conn),
                version.version.get_u16()
            );
            assert_eq!(server_leaf(&client), key_leaf(&key), "{}", cert);
            assert_eq!(server.sni().as_deref(), Some("localhost"));
            assert_eq!(server.alpn(), None);
        }
    }
}

#[test]
fn ecdsa_for_modern_clients_rsa_for_others() {
    let ec = ec_key();
    let rsa = rsa_key();
    let config = config_with(&[&ec, &rsa], |_| {});
    let rsa_schemes = vec![
        SignatureScheme::RSA_PSS_SHA256,
        SignatureScheme::RSA_PKCS1_SHA256,
        SignatureScheme::RSA_PSS_SHA384,
        SignatureScheme::RSA_PKCS1_SHA384,
    ];
    for version in [&TLS13, &TLS12] {
        let mut modern = client(&client_config(only(version)), "localhost");
        let _s = connect(&mut modern, &config);
        assert_eq!(server_leaf(&modern), key_leaf(&ec));

        let opts = ClientOptions {
            schemes: Some(rsa_schemes.clone()),
            ..only(version)
        };
        let mut rsa_only = client(&client_config(opts), "localhost");
        let _s = connect(&mut rsa_only, &config);
        assert_eq!(server_leaf(&rsa_only), key_leaf(&rsa));
    }
    // A TLS 1.2 client with only RSA cipher suites, but every signature scheme.
    let opts = ClientOptions {
        suites: vec![rustls::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256],
        ..only(&TLS12)
    };
    let mut old = client(&client_config(opts), "localhost");
    let _s = connect(&mut old, &config);
    assert_eq!(server_leaf(&old), key_leaf(&rsa));
}

#[test]
fn no_suitable_certificate() {
    let ec = ec_key();
    let config = config_with(&[&ec], |_| {});
    let opts = ClientOptions {
        schemes: Some(vec![SignatureScheme::RSA_PSS_SHA256]),
        ..Default::default()
    };
    let mut client = client(&client_config(opts), "localhost");
    let accepted = accept(&mut client);
    assert_eq!(accepted.connect(&config).err(), Some(TLSR_NO_SUITABLE_CERT));
    assert_eq!(
        acceptor_error(accepted.acceptor),
        "no configured certificate has a key type the client accepts"
    );
    let out = acceptor_output(accepted.acceptor);
    assert_eq!(out, alert(40));
    client_sees_alert(&mut client, &out, AlertDescription::HandshakeFailure);
}

#[test]
fn no_shared_version() {
    let key = ec_key();
    let config = config_with(&[&key], |b| {
        assert_eq!(
            tlsr_server_config_builder_set_versions(b, [0x0304u16].as_ptr(), 1),
            TLSR_OK
        )
    });
    let mut client = client(&client_config(only(&TLS12)), "localhost");
    let accepted = accept(&mut client);
    assert_eq!(
        accepted.connect(&config).err(),
        Some(TLSR_NO_SHARED_VERSION)
    );
    assert_eq!(
        acceptor_error(accepted.acceptor),
        "no TLS version in common: the client offers none that the server enables"
    );
    let out = acceptor_output(accepted.acceptor);
    assert_eq!(out, alert(70));
    client_sees_alert(&mut client, &out, AlertDescription::ProtocolVersion);
    // spent: only write_tls, last_error, free
    let mut conn = null_mut();
    assert_eq!(
        tlsr_acceptor_into_conn(accepted.acceptor, config.0, &mut conn),
        TLSR_NO_SHARED_VERSION
    );
    assert_eq!(
        tlsr_acceptor_reject(accepted.acceptor, 40),
        TLSR_NO_SHARED_VERSION
    );
    assert!(acceptor_output(accepted.acceptor).is_empty());
}

#[test]
fn no_shared_cipher() {
    let rsa = rsa_key();
    let config = config_with(&[&rsa], |b| {
        assert_eq!(
            tlsr_server_config_builder_set_versions(b, [0x0303u16].as_ptr(), 1),
            TLSR_OK
        );
        assert_eq!(
            tlsr_server_config_builder_set_suites(b, [0xc02fu16].as_ptr(), 1),
            TLSR_OK
        );
    });
    let opts = ClientOptions {
        suites: vec![rustls::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256],
        ..only(&TLS12)
    };
    let mut client = client(&client_config(opts), "localhost");
    let accepted = accept(&mut client);
    assert_eq!(accepted.connect(&config).err(), Some(TLSR_NO_SHARED_CIPHER));
    assert_eq!(
        acceptor_error(accepted.acceptor),
        "no cipher suite in common with the client"
    );
    let out = acceptor_output(accepted.acceptor);
    assert_eq!(out, alert(40));
    client_sees_alert(&mut client, &out, AlertDescription::HandshakeFailure);
}

#[test]
fn alpn() {
    let key = ec_key();
    let base = config_with(&[&key], |b| {
        assert_eq!(set_alpn(b, &[b"h2", b"http/1.1"]), TLSR_OK)
    });
    let with = |proto: &[u8]| {
        let mut out = null();
        assert_eq!(
            tlsr_server_config_with_alpn(base.0, proto.as_ptr(), proto.len(), &mut out),
            TLSR_OK
        );
        Config(out)
    };
    let h2 = with(b"h2");
    let none = with(b"");
    let opts = || ClientOptions {
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    };
    for (config, expected) in [(&base, Some(&b"h2"[..])), (&h2, Some(b"h2")), (&none, None)] {
        let mut client = client(&client_config(opts()), "localhost");
        let server = connect(&mut client, config);
        assert_eq!(server.alpn().as_deref(), expected);
        assert_eq!(client.alpn_protocol(), expected);
    }
    // The client offers only what the config does not have.
    let opts = ClientOptions {
        alpn: vec![b"http/1.1".to_vec()],
        ..Default::default()
    };
    let mut client = client(&client_config(opts), "localhost");
    let accepted = accept(&mut client);
    assert_eq!(accepted.alpn(), vec![b"http/1.1".to_vec()]);
    assert_eq!(accepted.connect(&h2).err(), Some(TLSR_PEER_INCOMPATIBLE));
    assert_eq!(
        acceptor_error(accepted.acceptor),
        "the client offers no ALPN protocol that the server supports"
    );
    let out = acceptor_output(accepted.acceptor);
    assert_eq!(out, alert(120));
    client_sees_alert(&mut client, &out, AlertDescription::NoApplicationProtocol);
}

#[test]
fn no_sni_and_no_alpn() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    // rustls clients send no SNI for IP addresses.
    let mut client = client(&client_config(ClientOptions::default()), "127.0.0.1");
    let accepted = accept(&mut client);
    assert_eq!(accepted.sni(), None);
    assert_eq!(tlsr_acceptor_alpn_count(accepted.acceptor), 0);
    let (mut p, mut len) = (null(), 0);
    assert_eq!(
        tlsr_acceptor_alpn(accepted.acceptor, 0, &mut p, &mut len),
        TLSR_INVALID_PARAM
    );
    let server = accepted.connect(&config).unwrap();
    assert_eq!(server.sni(), None);
}

#[test]
fn acceptor_state_errors() {
    let a = acceptor();
    let (mut p, mut len) = (null(), 0);
    assert_eq!(tlsr_acceptor_sni(a, &mut p, &mut len), TLSR_WRONG_STATE);
    assert_eq!(tlsr_acceptor_alpn_count(a), 0);
    assert_eq!(tlsr_acceptor_signature_schemes(a, null_mut(), 0), 0);
    assert_eq!(tlsr_acceptor_cipher_suites(a, null_mut(), 0), 0);
    assert_eq!(tlsr_acceptor_accept(a), TLSR_WOULD_BLOCK);
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let mut conn = null_mut();
    assert_eq!(
        tlsr_acceptor_into_conn(a, config.0, &mut conn),
        TLSR_WRONG_STATE
    );
    assert_eq!(acceptor_error(a), "no ClientHello has been accepted yet");
    let mut n = 0;
    assert_eq!(tlsr_acceptor_write_tls(a, null_mut(), 0, &mut n), TLSR_OK);
    assert_eq!(n, 0);
    tlsr_acceptor_free(a);
}

#[test]
fn client_hello_byte_by_byte_and_in_several_records() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    // One byte at a time.
    let mut c = client(&client_config(ClientOptions::default()), "localhost");
    let a = acceptor();
    let hello = client_output(&mut c);
    assert_eq!(feed_acceptor(a, &hello, 1), TLSR_OK);
    tlsr_acceptor_free(a);

    // The ClientHello split over three handshake records, fed at once.
    let mut client = client(&client_config(ClientOptions::default()), "localhost");
    let hello = client_output(&mut client);
    let body = &hello[5..];
    let mut records = Vec::new();
    for part in body.chunks(body.len() / 3 + 1) {
        records.extend_from_slice(&[0x16, 0x03, 0x01]);
        records.extend_from_slice(&(part.len() as u16).to_be_bytes());
        records.extend_from_slice(part);
    }
    let a = acceptor();
    let mut consumed = 0;
    assert_eq!(
        tlsr_acceptor_read_tls(a, records.as_ptr(), records.len(), &mut consumed),
        TLSR_OK
    );
    assert_eq!(consumed, records.len());
    assert_eq!(tlsr_acceptor_accept(a), TLSR_OK, "{}", acceptor_error(a));
    let accepted = Accepted { acceptor: a };
    let mut server = accepted.connect(&config).unwrap();
    let mut ignored = Vec::new();
    pump(&mut client, &mut server, &mut ignored);
    assert!(!client.is_handshaking());
}

#[test]
fn plain_http_is_not_tls() {
    let a = acceptor();
    let get = b"GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    let mut consumed = usize::MAX;
    assert_eq!(
        tlsr_acceptor_read_tls(a, get.as_ptr(), get.len(), &mut consumed),
        TLSR_NOT_TLS
    );
    assert_eq!(consumed, usize::MAX);
    assert_eq!(
        acceptor_error(a),
        "client sent plain data, not TLS (first bytes 'GET / HTTP/1.1\\r\\n')"
    );
    assert_eq!(tlsr_acceptor_accept(a), TLSR_NOT_TLS);
    assert_eq!(
        tlsr_acceptor_read_tls(a, get.as_ptr(), get.len(), &mut consumed),
        TLSR_NOT_TLS
    );
    assert_eq!(acceptor_output(a), alert(50));
    assert!(acceptor_output(a).is_empty());
    tlsr_acceptor_free(a);
}

#[test]
fn garbage() {
    let cases: [(&[u8], tlsr_status, &str, u8); 4] = [
        (
            b"\x00\x01a'\\\xff",
            TLSR_NOT_TLS,
            "first bytes '\\x00\\x01a\\'\\\\\\xff'",
            50,
        ),
        (b"\x17\x03\x03\x00\x01x", TLSR_NOT_TLS, "not TLS", 50),
        (
            b"\x16\x99\x99\x00\x05hello",
            TLSR_CORRUPT_MESSAGE,
            "the client sent a malformed TLS record",
            50,
        ),
        (
            b"\x16\x03\x01\x00\x05hello",
            TLSR_CORRUPT_MESSAGE,
            "malformed handshake message",
            50,
        ),
    ];
    for (input, status, text, description) in cases {
        let a = acceptor();
        assert_eq!(feed_acceptor(a, input, 1000), status);
        let msg = acceptor_error(a);
        assert!(msg.contains(text), "{:?} lacks {:?}", msg, text);
        assert_eq!(acceptor_output(a), alert(description));
        tlsr_acceptor_free(a);
    }
}

/// A ClientHello as an old client would send it.
fn old_client_hello(legacy_version: u16, extensions: &[u8]) -> Vec<u8> {
    let mut body = legacy_version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2f, 0x00, 0x2f]); // two suites
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    if !extensions.is_empty() {
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(extensions);
    }
    let mut handshake = vec![0x01];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[test]
fn old_clients() {
    // TLS 1.0 without extensions fails in accept().
    let a = acceptor();
    assert_eq!(
        feed_acceptor(a, &old_client_hello(0x0301, &[]), 7),
        TLSR_NO_SHARED_VERSION
    );
    assert_eq!(
        acceptor_error(a),
        "the client supports only TLS 1.0 (TLS 1.2 or newer is required)"
    );
    assert_eq!(acceptor_output(a), alert(70));
    tlsr_acceptor_free(a);

    // TLS 1.1 with signature algorithms gets through accept(), and fails in into_conn.
    let sigalgs = [0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x01];
    let a = acceptor();
    assert_eq!(
        feed_acceptor(a, &old_client_hello(0x0302, &sigalgs), 1000),
        TLSR_OK
    );
    let key = rsa_key();
    let config = config_with(&[&key], |_| {});
    let accepted = Accepted { acceptor: a };
    assert_eq!(
        accepted.connect(&config).err(),
        Some(TLSR_NO_SHARED_VERSION)
    );
    assert_eq!(
        acceptor_error(a),
        "the client supports only TLS versions older than 1.2"
    );
    assert_eq!(acceptor_output(a), alert(70));

    // An SSL 2.0 compatible ClientHello.
    let a = acceptor();
    let sslv2 = [0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00];
    assert_eq!(feed_acceptor(a, &sslv2, 100), TLSR_NO_SHARED_VERSION);
    assert!(acceptor_error(a).contains("SSL 2.0"));
    assert_eq!(acceptor_output(a), alert(70));
    tlsr_acceptor_free(a);
}

#[test]
fn reject_with_unrecognized_name() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let mut client = client(&client_config(ClientOptions::default()), "unknown.example");
    let accepted = accept(&mut client);
    assert_eq!(accepted.sni().as_deref(), Some("unknown.example"));
    assert_eq!(tlsr_acceptor_reject(accepted.acceptor, 112), TLSR_OK);
    let out = acceptor_output(accepted.acceptor);
    assert_eq!(out, [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);
    client_sees_alert(&mut client, &out, AlertDescription::UnrecognisedName);
    assert_eq!(accepted.connect(&config).err(), Some(TLSR_WRONG_STATE));
    assert_eq!(acceptor_error(accepted.acceptor), "the acceptor is spent");
    let mut n = 0;
    assert_eq!(
        tlsr_acceptor_read_tls(accepted.acceptor, b"\x16".as_ptr(), 1, &mut n),
        TLSR_WRONG_STATE
    );
    assert_eq!(
        tlsr_acceptor_reject(accepted.acceptor, 112),
        TLSR_WRONG_STATE
    );
}

#[test]
fn client_rejects_the_certificate() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    for version in [&TLS13, &TLS12] {
        let opts = ClientOptions {
            roots: RootCertStore::empty(),
            ..only(version)
        };
        let mut client = client(&client_config(opts), "localhost");
        let mut server = accept(&mut client).connect(&config).unwrap();
        let flight = server.output();
        let mut ignored = Vec::new();
        assert!(client_input(&mut client, &flight, &mut ignored).is_err());
        let alert = client_output(&mut client);
        assert_eq!(server.input(&alert), TLSR_ALERT_RECEIVED);
        assert_eq!(
            conn_error(server.conn),
            "client sent fatal alert: bad certificate (it does not accept the server's \
             certificate)"
        );
        assert!(server.output().is_empty(), "no alert in reply to an alert");
    }
}

/// OpenSSL's TLS 1.3 client refuses the server's certificate with a plaintext alert (it has
/// not switched to the handshake keys yet); rustls cannot decrypt it, the crate reports it as
/// the alert it is. Also when the record comes in pieces, after a ChangeCipherSpec.
#[test]
fn plaintext_alert_during_a_tls13_handshake() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    for piece in [100, 3, 1] {
        let mut client = client(&client_config(only(&TLS13)), "localhost");
        let mut server = accept(&mut client).connect(&config).unwrap();
        let _flight = server.output();
        let bytes = cat(&[&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01], &alert(48)]);
        let mut status = TLSR_OK;
        for part in bytes.chunks(piece) {
            status = server.input(part);
            if status != TLSR_OK {
                break;
            }
        }
        assert_eq!(status, TLSR_ALERT_RECEIVED, "pieces of {}", piece);
        assert_eq!(
            conn_error(server.conn),
            "client sent fatal alert: unknown ca (it does not accept the server's certificate)"
        );
    }
    // a record that really fails to decrypt is still reported as such
    let mut client = client(&client_config(only(&TLS13)), "localhost");
    let mut server = accept(&mut client).connect(&config).unwrap();
    let _flight = server.output();
    let junk = cat(&[&[0x17, 0x03, 0x03, 0x00, 0x20], &[0x99u8; 32]]);
    assert_eq!(server.input(&junk), TLSR_DECRYPT_ERROR);
    assert!(conn_error(server.conn).contains("failed to decrypt"));
}

#[test]
fn corrupted_record_after_the_handshake() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    for version in [&TLS13, &TLS12] {
        let mut client = client(&client_config(only(version)), "localhost");
        let mut server = connect(&mut client, &config);
        write_client(&mut client, b"hello");
        let mut record = client_output(&mut client);
        let last = record.len() - 1;
        record[last] ^= 1;
        assert_eq!(server.input(&record), TLSR_DECRYPT_ERROR);
        assert!(conn_error(server.conn).contains("failed to decrypt"));
        // rustls queued an encrypted bad_record_mac alert
        let out = server.output();
        client_sees_alert(&mut client, &out, AlertDescription::BadRecordMac);
        // dead for reads
        let mut n = 0;
        assert_eq!(
            tlsr_conn_read_tls(server.conn, record.as_ptr(), 5, &mut n),
            TLSR_DECRYPT_ERROR
        );
        assert_eq!(
            tlsr_conn_read(server.conn, [0u8; 4].as_mut_ptr(), 4, &mut n),
            TLSR_DECRYPT_ERROR
        );
    }
}

#[test]
fn broken_framing_after_the_handshake() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let mut client = client(&client_config(ClientOptions::default()), "localhost");
    let mut server = connect(&mut client, &config);
    // Plaintext processed before the error is still readable, then the error repeats.
    write_client(&mut client, b"before");
    let record = client_output(&mut client);
    let mut n = 0;
    assert_eq!(
        tlsr_conn_read_tls(server.conn, record.as_ptr(), record.len(), &mut n),
        TLSR_OK
    );
    let input = b"\x17\x03\x03\xff\xff";
    assert_eq!(
        tlsr_conn_read_tls(server.conn, input.as_ptr(), input.len(), &mut n),
        TLSR_CORRUPT_MESSAGE
    );
    assert_eq!(
        conn_error(server.conn),
        "the client sent a malformed TLS record"
    );
    assert_eq!(server.drain_plaintext(), TLSR_CORRUPT_MESSAGE);
    assert_eq!(server.received, b"before");
    assert_eq!(
        tlsr_conn_read_tls(server.conn, input.as_ptr(), 1, &mut n),
        TLSR_CORRUPT_MESSAGE
    );
    // rustls 0.20.8 sends no alert for broken record framing.
    assert!(server.output().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Session resumption

#[derive(Default)]
struct Store {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    puts: AtomicUsize,
    gets: AtomicUsize,
    takes: AtomicUsize,
    hits: AtomicUsize,
}

fn store_of<'a>(userdata: *mut c_void) -> &'a Store {
    // SAFETY: the test passes a &Store that outlives the config.
    unsafe { &*(userdata as *const Store) }
}

fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: the crate passes valid pointer/length pairs.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

extern "C" fn put(
    ud: *mut c_void,
    key: *const u8,
    klen: usize,
    value: *const u8,
    vlen: usize,
) -> c_int {
    let store = store_of(ud);
    store.puts.fetch_add(1, Ordering::SeqCst);
    store
        .map
        .lock()
        .unwrap()
        .insert(bytes(key, klen).to_vec(), bytes(value, vlen).to_vec());
    1
}

extern "C" fn get(
    ud: *mut c_void,
    key: *const u8,
    klen: usize,
    remove: c_int,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int {
    let store = store_of(ud);
    let key = bytes(key, klen);
    let mut map = store.map.lock().unwrap();
    let value = if remove != 0 {
        store.takes.fetch_add(1, Ordering::SeqCst);
        map.remove(key)
    } else {
        store.gets.fetch_add(1, Ordering::SeqCst);
        map.get(key).cloned()
    };
    match value {
        Some(v) if v.len() <= cap => {
            // SAFETY: buf has cap bytes, out_len is valid (crate contract).
            unsafe {
                std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len());
                *out_len = v.len();
            }
            store.hits.fetch_add(1, Ordering::SeqCst);
            1
        }
        _ => 0,
    }
}

/// Connects and returns the size of the server's first flight (smaller when resumed).
fn first_flight(client: &mut ClientConnection, config: &Config) -> usize {
    let mut server = accept(client).connect(config).unwrap();
    let flight = server.output();
    let mut ignored = Vec::new();
    client_input(client, &flight, &mut ignored).unwrap();
    pump(client, &mut server, &mut ignored);
    assert!(!client.is_handshaking());
    flight.len()
}

#[test]
fn resumption_through_the_callback_store() {
    let key = ec_key();
    for (version, via_take) in [(&TLS13, true), (&TLS12, false)] {
        let store = Store::default();
        let userdata = &store as *const Store as *mut c_void;
        let config = config_with(&[&key], |b| {
            let s = tlsr_server_config_builder_set_session_store(b, userdata, Some(put), Some(get));
            assert_eq!(s, TLSR_OK);
        });
        let client_config = client_config(only(version));
        let full = first_flight(&mut client(&client_config, "localhost"), &config);
        assert!(store.puts.load(Ordering::SeqCst) >= 1, "session stored");
        assert_eq!(store.hits.load(Ordering::SeqCst), 0);

        let resumed = first_flight(&mut client(&client_config, "localhost"), &config);
        assert_eq!(store.hits.load(Ordering::SeqCst), 1, "session found");
        let (gets, takes) = (
            store.gets.load(Ordering::SeqCst),
            store.takes.load(Ordering::SeqCst),
        );
        if via_take {
            assert_eq!(
                (gets, takes),
                (0, 1),
                "TLS 1.3 tickets are single-use: take"
            );
        } else {
            // TLS 1.2 session ids: get (the first connection's random session id missed too).
            assert!(gets >= 1 && takes == 0, "{} {}", gets, takes);
        }
        assert!(
            resumed * 2 < full,
            "resumed flight {} vs full {}: no certificate sent",
            resumed,
            full
        );
    }
}

#[test]
fn resumption_with_the_default_cache_and_without() {
    let key = ec_key();
    for version in [&TLS13, &TLS12] {
        for (size, resumes) in [(256usize, true), (0, false)] {
            let config = config_with(&[&key], |b| {
                assert_eq!(
                    tlsr_server_config_builder_set_session_cache_size(b, size),
                    TLSR_OK
                )
            });
            let client_config = client_config(only(version));
            let full = first_flight(&mut client(&client_config, "localhost"), &config);
            let second = first_flight(&mut client(&client_config, "localhost"), &config);
            assert_eq!(
                second * 2 < full,
                resumes,
                "{:?} cache {}: {} {}",
                version,
                size,
                full,
                second
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input never panics

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_client_hellos() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let hello = client_output(&mut client(
        &client_config(ClientOptions::default()),
        "localhost",
    ));
    for round in 0..3000 {
        let mut input = hello.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(input.len());
            input[i] = rng.next() as u8;
        }
        if round % 10 == 0 {
            input.truncate(rng.below(input.len()));
        }
        let a = acceptor();
        let status = feed_acceptor(a, &input, 1 + rng.below(300));
        assert_ne!(status, TLSR_PANIC);
        if status == TLSR_OK {
            let mut conn = null_mut();
            let status = tlsr_acceptor_into_conn(a, config.0, &mut conn);
            assert_ne!(status, TLSR_PANIC);
            assert_eq!(status == TLSR_OK, !conn.is_null());
            tlsr_conn_free(conn);
        } else if status != TLSR_WOULD_BLOCK {
            assert!(!acceptor_error(a).is_empty(), "{:?}", status);
            acceptor_output(a);
        }
        tlsr_acceptor_free(a);
    }
}

#[test]
fn mutated_records_after_the_handshake() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let client_config = client_config(ClientOptions::default());
    for _ in 0..200 {
        let mut client = client(&client_config, "localhost");
        let mut server = connect(&mut client, &config);
        write_client(&mut client, &vec![1u8; rng.below(40_000)]);
        let mut input = client_output(&mut client);
        let i = rng.below(input.len());
        input[i] ^= 1 + rng.below(255) as u8;
        let status = server.input(&input);
        assert!(
            [
                TLSR_OK,
                TLSR_DECRYPT_ERROR,
                TLSR_CORRUPT_MESSAGE,
                TLSR_PEER_MISBEHAVED
            ]
            .contains(&status),
            "{:?}: {}",
            status,
            conn_error(server.conn)
        );
        server.output();
    }
}
