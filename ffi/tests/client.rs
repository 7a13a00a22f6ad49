//! Client connections to backends: a tlsr client config and connection against a tlsr server
//! (acceptor -> conn), both through the C ABI, in memory. Fixtures: data/proxy/make.sh.

mod common;

use common::*;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};
use tlsr::*;

fn backend_key() -> Key {
    load_files("proxy/backend.pem", "proxy/backend.key")
}

/// A client config handle, freed on drop.
struct ClientCfg(*const tlsr_client_config);

impl Drop for ClientCfg {
    fn drop(&mut self) {
        tlsr_client_config_free(self.0);
    }
}

fn client_builder(ca: Option<&str>) -> *mut tlsr_client_config_builder {
    let mut b = null_mut();
    assert_eq!(tlsr_client_config_builder_new(&mut b), TLSR_OK);
    if let Some(ca) = ca {
        let pem = data(ca);
        let mut added = 0;
        let mut err = [0 as c_char; 256];
        assert_eq!(
            tlsr_client_config_builder_add_ca_pem(
                b,
                pem.as_ptr(),
                pem.len(),
                &mut added,
                err.as_mut_ptr(),
                err.len()
            ),
            TLSR_OK,
            "{}",
            c_buf(&err)
        );
        assert_eq!(added, 1);
    }
    b
}

fn client_build(b: *mut tlsr_client_config_builder) -> Result<ClientCfg, (tlsr_status, String)> {
    let mut out = null();
    let mut err = [0 as c_char; 256];
    match tlsr_client_config_builder_build(b, &mut out, err.as_mut_ptr(), err.len()) {
        TLSR_OK => Ok(ClientCfg(out)),
        status => Err((status, c_buf(&err))),
    }
}

fn client_cfg(ca: Option<&str>, setup: impl FnOnce(*mut tlsr_client_config_builder)) -> ClientCfg {
    let b = client_builder(ca);
    setup(b);
    client_build(b).expect("client config")
}

/// A client connection, freed on drop.
struct Client(*mut tlsr_conn);

impl Drop for Client {
    fn drop(&mut self) {
        tlsr_conn_free(self.0);
    }
}

fn new_client(cfg: &ClientCfg, host: &str) -> Result<Client, String> {
    let host = std::ffi::CString::new(host).unwrap();
    let mut conn = null_mut();
    let mut err = [0 as c_char; 256];
    match tlsr_client_conn_new(cfg.0, host.as_ptr(), &mut conn, err.as_mut_ptr(), err.len()) {
        TLSR_OK => Ok(Client(conn)),
        _ => Err(c_buf(&err)),
    }
}

fn output(conn: *mut tlsr_conn) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let mut n = 0;
        assert_eq!(
            tlsr_conn_write_tls(conn, buf.as_mut_ptr(), buf.len(), &mut n),
            TLSR_OK
        );
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Feeds TLS bytes to the client; reads its plaintext into `received`.
fn client_input(conn: *mut tlsr_conn, mut input: &[u8], received: &mut Vec<u8>) -> tlsr_status {
    while !input.is_empty() {
        let mut consumed = 0;
        let status = tlsr_conn_read_tls(conn, input.as_ptr(), input.len(), &mut consumed);
        if status != TLSR_OK {
            return status;
        }
        input = &input[consumed..];
        let mut buf = vec![0u8; 4096];
        loop {
            let mut n = 0;
            match tlsr_conn_read(conn, buf.as_mut_ptr(), buf.len(), &mut n) {
                TLSR_OK => received.extend_from_slice(&buf[..n]),
                TLSR_WOULD_BLOCK | TLSR_EOF => break,
                status => return status,
            }
        }
    }
    TLSR_OK
}

/// The outcome of a handshake between a tlsr client and a tlsr server.
struct Outcome {
    client: Client,
    server: Option<Server>,
    /// Err: which side failed, and its message.
    result: Result<(), (&'static str, tlsr_status, String)>,
}

fn handshake(cfg: &ClientCfg, host: &str, server_cfg: &Config) -> Outcome {
    let client = new_client(cfg, host).expect("client conn");
    assert_eq!(tlsr_conn_is_client(client.0), 1);
    assert_eq!(tlsr_conn_is_handshaking(client.0), 1);
    let a = acceptor();
    let hello = output(client.0);
    assert!(!hello.is_empty());
    assert_eq!(
        feed_acceptor(a, &hello, 1000),
        TLSR_OK,
        "{}",
        acceptor_error(a)
    );
    let mut conn = null_mut();
    assert_eq!(tlsr_acceptor_into_conn(a, server_cfg.0, &mut conn), TLSR_OK);
    tlsr_acceptor_free(a);
    let mut server = Server {
        conn,
        received: Vec::new(),
        partial_reads: 0,
        eof: false,
    };
    let mut received = Vec::new();
    for _ in 0..20 {
        let to_client = server.output();
        if !to_client.is_empty() {
            let status = client_input(client.0, &to_client, &mut received);
            if status != TLSR_OK {
                let msg = conn_error(client.0);
                // the client's alert, for the server to see
                let alert = output(client.0);
                let _ = server.input(&alert);
                return Outcome {
                    client,
                    server: Some(server),
                    result: Err(("client", status, msg)),
                };
            }
        }
        let to_server = output(client.0);
        if !to_server.is_empty() {
            let status = server.input(&to_server);
            if status != TLSR_OK {
                let msg = conn_error(server.conn);
                let alert = server.output();
                let status_c = client_input(client.0, &alert, &mut received);
                let client_msg = conn_error(client.0);
                let _ = status_c;
                return Outcome {
                    client,
                    server: Some(server),
                    result: Err((
                        "server",
                        status,
                        format!("{} / client: {}", msg, client_msg),
                    )),
                };
            }
        }
        if to_client.is_empty() && to_server.is_empty() {
            break;
        }
    }
    Outcome {
        client,
        server: Some(server),
        result: Ok(()),
    }
}

fn server_config(setup: impl FnOnce(*mut tlsr_server_config_builder)) -> Config {
    config_with(&[&backend_key()], setup)
}

fn exchange(outcome: &mut Outcome) {
    let client = outcome.client.0;
    let server = outcome.server.as_mut().unwrap();
    let mut n = 0;
    let request = b"GET / HTTP/1.1\r\nHost: backend.example\r\n\r\n";
    assert_eq!(
        tlsr_conn_write(client, request.as_ptr(), request.len(), &mut n),
        TLSR_OK
    );
    assert_eq!(server.input(&output(client)), TLSR_OK);
    assert_eq!(&server.received[..], &request[..]);
    server.write(b"HTTP/1.1 204 No Content\r\n\r\n");
    let mut received = Vec::new();
    assert_eq!(
        client_input(client, &server.output(), &mut received),
        TLSR_OK
    );
    assert_eq!(&received[..], b"HTTP/1.1 204 No Content\r\n\r\n");
}

#[test]
fn trusted_backend_by_dns_name() {
    let cfg = client_cfg(Some("proxy/ca.pem"), |_| {});
    let mut outcome = handshake(&cfg, "backend.example", &server_config(|_| {}));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(tlsr_conn_is_handshaking(outcome.client.0), 0);
    assert_eq!(tlsr_conn_protocol_version(outcome.client.0), 0x0304);
    assert_eq!(
        outcome.server.as_ref().unwrap().sni().as_deref(),
        Some("backend.example")
    );
    assert_eq!(tlsr_conn_peer_cert_count(outcome.client.0), 1);
    exchange(&mut outcome);
}

#[test]
fn trusted_backend_by_ip_address() {
    let cfg = client_cfg(Some("proxy/ca.pem"), |_| {});
    for ip in ["127.0.0.1", "::1", "[::1]"] {
        let outcome = handshake(&cfg, ip, &server_config(|_| {}));
        assert!(outcome.result.is_ok(), "{}: {:?}", ip, outcome.result);
        // no SNI for an IP address
        assert_eq!(outcome.server.as_ref().unwrap().sni(), None);
    }
    let outcome = handshake(&cfg, "127.0.0.2", &server_config(|_| {}));
    let (side, status, msg) = outcome.result.unwrap_err();
    assert_eq!((side, status), ("client", TLSR_PEER_CERT_REFUSED));
    assert!(
        msg.contains("not valid for IP address 127.0.0.2"),
        "{}",
        msg
    );
}

#[test]
fn wrong_name_is_refused_with_a_sentence() {
    let cfg = client_cfg(Some("proxy/ca.pem"), |_| {});
    let outcome = handshake(&cfg, "other.example", &server_config(|_| {}));
    let (side, status, msg) = outcome.result.unwrap_err();
    assert_eq!((side, status), ("client", TLSR_PEER_CERT_REFUSED));
    assert_eq!(
        msg,
        "backend certificate is not valid for name other.example (its names do not match)"
    );
}

#[test]
fn untrusted_backend_is_refused() {
    let cfg = client_cfg(Some("proxy/ca.pem"), |_| {});
    let untrusted = config_with(
        &[&load_files("proxy/untrusted.pem", "proxy/untrusted.key")],
        |_| {},
    );
    let outcome = handshake(&cfg, "backend.example", &untrusted);
    let (_, status, msg) = outcome.result.unwrap_err();
    assert_eq!(status, TLSR_PEER_CERT_REFUSED);
    assert_eq!(
        msg,
        "backend certificate of backend.example not trusted (unknown issuer)"
    );

    let no_ca = client_cfg(None, |_| {});
    let outcome = handshake(&no_ca, "backend.example", &server_config(|_| {}));
    let (_, _, msg) = outcome.result.unwrap_err();
    assert!(
        msg.contains("no trust anchors configured (TLSProxyCA)"),
        "{}",
        msg
    );
}

#[test]
fn ca_files_are_checked() {
    let b = client_builder(None);
    let mut err = [0 as c_char; 256];
    let not_pem = b"hello";
    assert_eq!(
        tlsr_client_config_builder_add_ca_pem(
            b,
            not_pem.as_ptr(),
            not_pem.len(),
            null_mut(),
            err.as_mut_ptr(),
            err.len()
        ),
        TLSR_PEM_ERROR
    );
    let key_only = data("proxy/ca.key");
    assert_eq!(
        tlsr_client_config_builder_add_ca_pem(
            b,
            key_only.as_ptr(),
            key_only.len(),
            null_mut(),
            err.as_mut_ptr(),
            err.len()
        ),
        TLSR_NO_CERTIFICATE
    );
    tlsr_client_config_builder_free(b);
    // the system store, when there is one, loads
    if let Ok(pem) = std::fs::read("/etc/ssl/certs/ca-certificates.crt") {
        let b = client_builder(None);
        let mut added = 0;
        assert_eq!(
            tlsr_client_config_builder_add_ca_pem(
                b,
                pem.as_ptr(),
                pem.len(),
                &mut added,
                err.as_mut_ptr(),
                err.len()
            ),
            TLSR_OK
        );
        assert!(added > 10);
        client_build(b).expect("system store config");
    }
}

fn client_auth(mode: i32) -> *mut tlsr_client_auth {
    let ca = data("proxy/ca.pem");
    let mut auth = null_mut();
    let mut err = [0 as c_char; 256];
    assert_eq!(
        tlsr_client_auth_new(
            ca.as_ptr(),
            ca.len(),
            mode,
            5,
            &mut auth,
            err.as_mut_ptr(),
            err.len()
        ),
        TLSR_OK,
        "{}",
        c_buf(&err)
    );
    auth
}

#[test]
fn machine_certificate_answers_client_auth() {
    let auth = client_auth(2);
    let server_cfg =
        server_config(|b| assert_eq!(tlsr_server_config_builder_set_client_auth(b, auth), TLSR_OK));
    tlsr_client_auth_free(auth);

    // without a machine certificate the backend refuses us
    let plain = client_cfg(Some("proxy/ca.pem"), |_| {});
    let outcome = handshake(&plain, "backend.example", &server_cfg);
    let (side, status, msg) = outcome.result.unwrap_err();
    assert_eq!(
        (side, status),
        ("server", TLSR_PEER_CERT_MISSING),
        "{}",
        msg
    );
    assert!(msg.contains("backend sent fatal alert"), "{}", msg);

    // with one it is accepted; of two, the one that can sign with the offered schemes and
    // whose issuer the backend names is chosen
    let machine = load_files("proxy/machine.pem", "proxy/machine.key");
    let other = load_files("ec256.chain.pem", "ec256.sec1.key");
    let cfg = client_cfg(Some("proxy/ca.pem"), |b| {
        assert_eq!(
            tlsr_client_config_builder_add_certified_key(b, other.0),
            TLSR_OK
        );
        assert_eq!(
            tlsr_client_config_builder_add_certified_key(b, machine.0),
            TLSR_OK
        );
    });
    let mut outcome = handshake(&cfg, "backend.example", &server_cfg);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let server = outcome.server.as_ref().unwrap();
    assert_eq!(tlsr_conn_peer_cert_count(server.conn), 1);
    exchange(&mut outcome);
}

#[test]
fn sessions_resume_unless_the_store_is_off() {
    let server_cfg = server_config(|_| {});
    for (size, tls12) in [(256usize, false), (256, true), (0, false), (0, true)] {
        let cfg = client_cfg(Some("proxy/ca.pem"), |b| {
            assert_eq!(
                tlsr_client_config_builder_set_session_cache_size(b, size),
                TLSR_OK
            );
            if tls12 {
                let v = [0x0303u16];
                assert_eq!(
                    tlsr_client_config_builder_set_versions(b, v.as_ptr(), 1),
                    TLSR_OK
                );
            }
        });
        let mut resumed = 0;
        for _ in 0..4 {
            let mut outcome = handshake(&cfg, "backend.example", &server_cfg);
            assert!(outcome.result.is_ok(), "{:?}", outcome.result);
            // TLS 1.3 tickets arrive after the handshake: exchange data to receive them
            exchange(&mut outcome);
            resumed += tlsr_conn_is_resumed(outcome.server.as_ref().unwrap().conn);
            assert_eq!(tlsr_conn_is_resumed(outcome.client.0), 0); // the client cannot tell
        }
        let expected = if size > 0 { 3 } else { 0 };
        assert_eq!(resumed, expected, "cache {} tls12 {}", size, tls12);
    }
}

#[test]
fn alpn_variants_offer_their_protocols() {
    let server_cfg = server_config(|b| assert_eq!(set_alpn(b, &[b"h2", b"http/1.1"]), TLSR_OK));
    let base = client_cfg(Some("proxy/ca.pem"), |_| {});
    for protos in [&[&b"h2"[..]][..], &[&b"http/1.1"[..]][..], &[][..]] {
        let ptrs: Vec<*const u8> = protos.iter().map(|p| p.as_ptr()).collect();
        let lens: Vec<usize> = protos.iter().map(|p| p.len()).collect();
        let mut out = null();
        assert_eq!(
            tlsr_client_config_with_alpn(
                base.0,
                ptrs.as_ptr(),
                lens.as_ptr(),
                protos.len(),
                &mut out
            ),
            TLSR_OK
        );
        let variant = ClientCfg(out);
        let outcome = handshake(&variant, "backend.example", &server_cfg);
        assert!(outcome.result.is_ok(), "{:?}", outcome.result);
        let (mut p, mut len) = (null(), 0);
        assert_eq!(tlsr_conn_alpn(outcome.client.0, &mut p, &mut len), TLSR_OK);
        assert_eq!(view(p, len), protos.first().copied());
    }
}

#[test]
fn protocol_and_suite_settings_apply() {
    let cfg = client_cfg(Some("proxy/ca.pem"), |b| {
        let v = [0x0303u16];
        assert_eq!(
            tlsr_client_config_builder_set_versions(b, v.as_ptr(), 1),
            TLSR_OK
        );
        let s = [0xc02bu16]; // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        assert_eq!(
            tlsr_client_config_builder_set_suites(b, s.as_ptr(), 1),
            TLSR_OK
        );
    });
    let outcome = handshake(&cfg, "backend.example", &server_config(|_| {}));
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    assert_eq!(tlsr_conn_protocol_version(outcome.client.0), 0x0303);
    assert_eq!(tlsr_conn_cipher_suite(outcome.client.0), 0xc02b);

    // TLS 1.3 only, with only a TLS 1.2 suite: refused at build
    let b = client_builder(None);
    let v = [0x0304u16];
    assert_eq!(
        tlsr_client_config_builder_set_versions(b, v.as_ptr(), 1),
        TLSR_OK
    );
    let s = [0xc02bu16];
    assert_eq!(
        tlsr_client_config_builder_set_suites(b, s.as_ptr(), 1),
        TLSR_OK
    );
    let (status, msg) = client_build(b).err().unwrap();
    assert_eq!(status, TLSR_NO_CIPHER_SUITES);
    assert_eq!(msg, "no cipher suite left for TLS 1.3");
}

#[test]
fn bad_names_and_null_arguments() {
    let cfg = client_cfg(None, |_| {});
    let err = new_client(&cfg, "not a name!").err().unwrap();
    assert_eq!(err, "'not a name!' is neither a DNS name nor an IP address");
    let mut conn = null_mut();
    assert_eq!(
        tlsr_client_conn_new(null(), null(), &mut conn, null_mut(), 0),
        TLSR_NULL_PARAM
    );
    assert!(conn.is_null());
    tlsr_client_config_free(null());
    tlsr_client_config_builder_free(null_mut());
    assert_eq!(tlsr_conn_is_client(null()), 0);
}

#[test]
fn long_chains_are_refused_before_path_building() {
    // RUSTSEC-2023-0052: at most 5 certificates besides the backend's own
    let int = data("int.pem");
    let key = data("ec256.sec1.key");
    let chain = |copies: usize| {
        let mut pem = data("ec256.chain.pem"); // leaf + intermediate
        for _ in 1..copies {
            pem.extend_from_slice(&int);
        }
        load(&pem, Some(&key)).unwrap()
    };
    let cfg = client_cfg(Some("ca.pem"), |_| {});
    let five = config_with(&[&chain(5)], |_| {});
    let outcome = handshake(&cfg, "test.example", &five);
    assert!(outcome.result.is_ok(), "{:?}", outcome.result);
    let six = config_with(&[&chain(6)], |_| {});
    let outcome = handshake(&cfg, "test.example", &six);
    let (_, status, msg) = outcome.result.unwrap_err();
    assert_eq!(status, TLSR_PEER_CERT_REFUSED);
    assert_eq!(
        msg,
        "backend test.example sent 6 intermediate certificates; at most 5 are accepted"
    );
}
