//! Test helpers: call the C ABI the way the C module does, through raw pointers, and drive a
//! real rustls client against it in memory.
#![allow(dead_code)]

use rustls::client::{ServerCertVerified, ServerCertVerifier, WebPkiVerifier};
use rustls::{
    Certificate, ClientConfig, ClientConnection, RootCertStore, ServerName, SignatureScheme,
    SupportedCipherSuite, SupportedProtocolVersion,
};
use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::raw::c_char;
use std::ptr;
use std::sync::Arc;
use std::time::SystemTime;
use tlsr::*;

pub fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{}", env!("CARGO_MANIFEST_DIR"), name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path, e))
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The NUL-terminated string in a C buffer.
pub fn c_buf(buf: &[c_char]) -> String {
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(bytes).unwrap()
}

pub fn c_str(ptr: *const c_char) -> String {
    assert!(!ptr.is_null());
    // SAFETY: the crate returns static NUL-terminated strings.
    unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_owned()
}

/// A borrowed view handed out by the crate.
pub fn view<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        assert_eq!(len, 0);
        return None;
    }
    // SAFETY: the crate hands out ptr/len pairs valid until the next call on the handle.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A certified key handle, freed on drop.
pub struct Key(pub *const tlsr_certified_key);

impl Drop for Key {
    fn drop(&mut self) {
        tlsr_certified_key_free(self.0);
    }
}

pub fn load(cert: &[u8], key: Option<&[u8]>) -> Result<Key, (tlsr_status, String)> {
    let mut out: *const tlsr_certified_key = ptr::null();
    let mut err = [0 as c_char; 512];
    let (key_ptr, key_len) = key.map_or((ptr::null(), 0), |k| (k.as_ptr(), k.len()));
    let status = tlsr_certified_key_load(
        cert.as_ptr(),
        cert.len(),
        key_ptr,
        key_len,
        &mut out,
        err.as_mut_ptr(),
        err.len(),
    );
    if status == TLSR_OK {
        assert!(!out.is_null());
        Ok(Key(out))
    } else {
        assert!(out.is_null(), "out written on failure");
        let msg = c_buf(&err);
        assert!(!msg.is_empty(), "no message for {:?}", status);
        Err((status, msg))
    }
}

pub fn load_files(cert: &str, key: &str) -> Key {
    load(&data(cert), Some(&data(key))).unwrap_or_else(|e| panic!("{} {}: {:?}", cert, key, e))
}

/// A server config handle, freed on drop.
pub struct Config(pub *const tlsr_server_config);

impl Drop for Config {
    fn drop(&mut self) {
        tlsr_server_config_free(self.0);
    }
}

pub fn builder() -> *mut tlsr_server_config_builder {
    let mut b = ptr::null_mut();
    assert_eq!(tlsr_server_config_builder_new(&mut b), TLSR_OK);
    assert!(!b.is_null());
    b
}

/// Builds (consuming the builder).
pub fn build(b: *mut tlsr_server_config_builder) -> Result<Config, (tlsr_status, String)> {
    let mut out: *const tlsr_server_config = ptr::null();
    let mut err = [0 as c_char; 256];
    let status = tlsr_server_config_builder_build(b, &mut out, err.as_mut_ptr(), err.len());
    if status == TLSR_OK {
        assert!(!out.is_null());
        Ok(Config(out))
    } else {
        assert!(out.is_null());
        Err((status, c_buf(&err)))
    }
}

pub fn config_with(keys: &[&Key], setup: impl FnOnce(*mut tlsr_server_config_builder)) -> Config {
    let b = builder();
    for key in keys {
        assert_eq!(
            tlsr_server_config_builder_add_certified_key(b, key.0),
            TLSR_OK
        );
    }
    setup(b);
    build(b).expect("build")
}

pub fn set_alpn(b: *mut tlsr_server_config_builder, protos: &[&[u8]]) -> tlsr_status {
    let ptrs: Vec<*const u8> = protos.iter().map(|p| p.as_ptr()).collect();
    let lens: Vec<usize> = protos.iter().map(|p| p.len()).collect();
    tlsr_server_config_builder_set_alpn(b, ptrs.as_ptr(), lens.as_ptr(), protos.len())
}

// ---------------------------------------------------------------------------------------------
// Client side

pub fn ca_cert() -> Certificate {
    let pem = data("ca.pem");
    let certs = rustls_pemfile::certs(&mut &pem[..]).unwrap();
    Certificate(certs[0].clone())
}

pub fn roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.add(&ca_cert()).unwrap();
    roots
}

/// A verifier that checks properly but offers only the given signature schemes, the way an
/// older or restricted client would.
struct RestrictedSchemes {
    inner: WebPkiVerifier,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for RestrictedSchemes {
    fn verify_server_cert(
        &self,
        end_entity: &Certificate,
        intermediates: &[Certificate],
        server_name: &ServerName,
        scts: &mut dyn Iterator<Item = &[u8]>,
        ocsp_response: &[u8],
        now: SystemTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            scts,
            ocsp_response,
            now,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

pub struct ClientOptions {
    pub versions: Vec<&'static SupportedProtocolVersion>,
    pub suites: Vec<SupportedCipherSuite>,
    pub alpn: Vec<Vec<u8>>,
    pub schemes: Option<Vec<SignatureScheme>>,
    pub roots: RootCertStore,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            suites: rustls::ALL_CIPHER_SUITES.to_vec(),
            alpn: Vec::new(),
            schemes: None,
            roots: roots(),
        }
    }
}

pub fn client_config(opts: ClientOptions) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder()
        .with_cipher_suites(&opts.suites)
        .with_safe_default_kx_groups()
        .with_protocol_versions(&opts.versions)
        .unwrap()
        .with_root_certificates(opts.roots.clone())
        .with_no_client_auth();
    config.alpn_protocols = opts.alpn;
    if let Some(schemes) = opts.schemes {
        let verifier = RestrictedSchemes {
            inner: WebPkiVerifier::new(opts.roots, None),
            schemes,
        };
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(verifier));
    }
    Arc::new(config)
}

pub fn client(config: &Arc<ClientConfig>, name: &str) -> ClientConnection {
    ClientConnection::new(Arc::clone(config), name.try_into().unwrap()).unwrap()
}

/// Everything the client wants to send.
pub fn client_output(client: &mut ClientConnection) -> Vec<u8> {
    let mut out = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut out).unwrap();
    }
    out
}

/// Feeds TLS bytes to the client; its plaintext goes to `received`.
pub fn client_input(
    client: &mut ClientConnection,
    mut input: &[u8],
    received: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    while !input.is_empty() {
        if client.read_tls(&mut input).is_err() {
            drain_client_plaintext(client, received);
            continue;
        }
        client.process_new_packets()?;
        drain_client_plaintext(client, received);
    }
    Ok(())
}

pub fn drain_client_plaintext(client: &mut ClientConnection, received: &mut Vec<u8>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = client.reader().read(&mut buf) {
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
    }
}

// ---------------------------------------------------------------------------------------------
// Server side, through the C ABI

pub fn acceptor() -> *mut tlsr_acceptor {
    let mut a = ptr::null_mut();
    assert_eq!(tlsr_acceptor_new(&mut a), TLSR_OK);
    assert!(!a.is_null());
    a
}

pub fn acceptor_error(a: *mut tlsr_acceptor) -> String {
    let mut buf = [0 as c_char; 512];
    let mut len = 0;
    assert_eq!(
        tlsr_acceptor_last_error(a, buf.as_mut_ptr(), buf.len(), &mut len),
        TLSR_OK
    );
    let msg = c_buf(&buf);
    assert_eq!(msg.len(), len);
    msg
}

pub fn acceptor_output(a: *mut tlsr_acceptor) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 3];
    loop {
        let mut n = usize::MAX;
        assert_eq!(
            tlsr_acceptor_write_tls(a, buf.as_mut_ptr(), buf.len(), &mut n),
            TLSR_OK
        );
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Feeds bytes to the acceptor (in small pieces, like a network would) until accept() says
/// something other than WOULD_BLOCK; returns that.
pub fn feed_acceptor(a: *mut tlsr_acceptor, mut input: &[u8], piece: usize) -> tlsr_status {
    loop {
        let chunk = &input[..input.len().min(piece)];
        let mut consumed = usize::MAX;
        let status = tlsr_acceptor_read_tls(a, chunk.as_ptr(), chunk.len(), &mut consumed);
        if status != TLSR_OK {
            assert_eq!(consumed, usize::MAX, "consumed written on failure");
            return status;
        }
        assert!(consumed <= chunk.len());
        input = &input[consumed..];
        match tlsr_acceptor_accept(a) {
            TLSR_WOULD_BLOCK if !input.is_empty() => continue,
            status => return status,
        }
    }
}

pub fn conn_error(c: *mut tlsr_conn) -> String {
    let mut buf = [0 as c_char; 512];
    let mut len = 0;
    assert_eq!(
        tlsr_conn_last_error(c, buf.as_mut_ptr(), buf.len(), &mut len),
        TLSR_OK
    );
    c_buf(&buf)
}

/// A server connection with bookkeeping.
pub struct Server {
    pub conn: *mut tlsr_conn,
    /// Plaintext read from the client.
    pub received: Vec<u8>,
    /// How often read_tls took less than it was given.
    pub partial_reads: usize,
    pub eof: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        tlsr_conn_free(self.conn);
    }
}

impl Server {
    pub fn output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 5000];
        loop {
            let mut n = 0;
            assert_eq!(
                tlsr_conn_write_tls(self.conn, buf.as_mut_ptr(), buf.len(), &mut n),
                TLSR_OK
            );
            if n == 0 {
                assert_eq!(tlsr_conn_wants_write(self.conn), 0);
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads all plaintext available now.
    pub fn drain_plaintext(&mut self) -> tlsr_status {
        let mut buf = vec![0u8; 7000];
        loop {
            let mut n = usize::MAX;
            match tlsr_conn_read(self.conn, buf.as_mut_ptr(), buf.len(), &mut n) {
                TLSR_OK => {
                    assert!(n > 0 && n <= buf.len());
                    self.received.extend_from_slice(&buf[..n]);
                }
                TLSR_EOF => {
                    assert_eq!(n, usize::MAX);
                    self.eof = true;
                    return TLSR_EOF;
                }
                status => {
                    assert_eq!(n, usize::MAX);
                    assert_eq!(tlsr_conn_plaintext_pending(self.conn), 0);
                    return status;
                }
            }
        }
    }

    /// Feeds all of `input`, reading plaintext whenever the connection pushes back.
    pub fn input(&mut self, mut input: &[u8]) -> tlsr_status {
        while !input.is_empty() {
            let mut consumed = usize::MAX;
            let status = tlsr_conn_read_tls(self.conn, input.as_ptr(), input.len(), &mut consumed);
            if status != TLSR_OK {
                assert_eq!(consumed, usize::MAX);
                return status;
            }
            assert!(consumed <= input.len());
            if consumed < input.len() {
                self.partial_reads += 1;
                assert!(tlsr_conn_plaintext_pending(self.conn) > 0);
            }
            input = &input[consumed..];
            let status = self.drain_plaintext();
            if status != TLSR_WOULD_BLOCK && status != TLSR_EOF {
                return status;
            }
        }
        TLSR_OK
    }

    /// Writes plaintext; all of it must be taken.
    pub fn write(&mut self, data: &[u8]) {
        let mut n = 0;
        assert_eq!(
            tlsr_conn_write(self.conn, data.as_ptr(), data.len(), &mut n),
            TLSR_OK
        );
        assert_eq!(n, data.len());
    }

    pub fn alpn(&self) -> Option<Vec<u8>> {
        let (mut p, mut len) = (ptr::null(), usize::MAX);
        assert_eq!(tlsr_conn_alpn(self.conn, &mut p, &mut len), TLSR_OK);
        view(p, len).map(<[u8]>::to_vec)
    }

    pub fn sni(&self) -> Option<String> {
        let (mut p, mut len) = (ptr::null(), usize::MAX);
        assert_eq!(tlsr_conn_sni(self.conn, &mut p, &mut len), TLSR_OK);
        view(p as *const u8, len).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }
}

/// Moves bytes both ways until neither side has anything to send. Client plaintext is
/// collected into `client_received`.
pub fn pump(client: &mut ClientConnection, server: &mut Server, client_received: &mut Vec<u8>) {
    loop {
        let to_client = server.output();
        if !to_client.is_empty() {
            client_input(client, &to_client, client_received).expect("client");
        }
        let to_server = client_output(client);
        if !to_server.is_empty() {
            assert_eq!(
                server.input(&to_server),
                TLSR_OK,
                "{}",
                conn_error(server.conn)
            );
        }
        if to_client.is_empty() && to_server.is_empty() {
            return;
        }
    }
}

/// Result of a handshake attempt up to the acceptor stage.
pub struct Accepted {
    pub acceptor: *mut tlsr_acceptor,
}

impl Drop for Accepted {
    fn drop(&mut self) {
        tlsr_acceptor_free(self.acceptor);
    }
}

/// Sends the client's ClientHello to a new acceptor; panics unless it is accepted.
pub fn accept(client: &mut ClientConnection) -> Accepted {
    let a = acceptor();
    let hello = client_output(client);
    assert_eq!(
        feed_acceptor(a, &hello, 100),
        TLSR_OK,
        "{}",
        acceptor_error(a)
    );
    Accepted { acceptor: a }
}

impl Accepted {
    pub fn connect(&self, config: &Config) -> Result<Server, tlsr_status> {
        let mut conn = ptr::null_mut();
        match tlsr_acceptor_into_conn(self.acceptor, config.0, &mut conn) {
            TLSR_OK => {
                assert!(!conn.is_null());
                Ok(Server {
                    conn,
                    received: Vec::new(),
                    partial_reads: 0,
                    eof: false,
                })
            }
            status => {
                assert!(conn.is_null());
                Err(status)
            }
        }
    }

    pub fn sni(&self) -> Option<String> {
        let (mut p, mut len) = (ptr::null(), usize::MAX);
        assert_eq!(tlsr_acceptor_sni(self.acceptor, &mut p, &mut len), TLSR_OK);
        view(p as *const u8, len).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    pub fn alpn(&self) -> Vec<Vec<u8>> {
        let n = tlsr_acceptor_alpn_count(self.acceptor);
        (0..n)
            .map(|i| {
                let (mut p, mut len) = (ptr::null(), 0);
                assert_eq!(
                    tlsr_acceptor_alpn(self.acceptor, i, &mut p, &mut len),
                    TLSR_OK
                );
                view(p, len).unwrap().to_vec()
            })
            .collect()
    }
}

/// A complete handshake: the client's first flight through an acceptor, then pumping.
pub fn connect(client: &mut ClientConnection, config: &Config) -> Server {
    let accepted = accept(client);
    let mut server = accepted
        .connect(config)
        .unwrap_or_else(|s| panic!("into_conn: {:?}: {}", s, acceptor_error(accepted.acceptor)));
    let mut ignored = Vec::new();
    pump(client, &mut server, &mut ignored);
    assert!(!client.is_handshaking());
    assert_eq!(tlsr_conn_is_handshaking(server.conn), 0);
    server
}

/// The DER of the end-entity certificate the client received.
pub fn server_leaf(client: &ClientConnection) -> Vec<u8> {
    client.peer_certificates().expect("peer certificates")[0]
        .0
        .clone()
}

/// The DER of a certified key's leaf.
pub fn key_leaf(key: &Key) -> Vec<u8> {
    let (mut p, mut len) = (ptr::null(), 0);
    assert_eq!(
        tlsr_certified_key_cert_der(key.0, 0, &mut p, &mut len),
        TLSR_OK
    );
    view(p, len).unwrap().to_vec()
}

pub fn write_client(client: &mut ClientConnection, data: &[u8]) -> usize {
    client.writer().write(data).unwrap()
}
