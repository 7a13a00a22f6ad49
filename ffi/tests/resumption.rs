//! Session tickets with the caller's keys, resumption, session ids and the chosen key: full
//! in-memory handshakes with a rustls client, through the C ABI.

mod common;

use common::*;
use ring::digest;
use rustls::client::{ClientSessionMemoryCache, StoresClientSessions};
use rustls::version::{TLS12, TLS13};
use rustls::{ClientConfig, ClientConnection, SignatureScheme, SupportedProtocolVersion};
use std::collections::HashMap;
use std::os::raw::{c_int, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tlsr::*;

type Version = &'static SupportedProtocolVersion;

fn ec_key() -> Key {
    load_files("ec256.chain.pem", "ec256.sec1.key")
}

fn rsa_key() -> Key {
    load_files("rsa2048.chain.pem", "rsa2048.pkcs1.key")
}

/// A ticket key: the name is 16 times `name`, the secret 32 bytes derived from it.
fn ticket_key(name: u8) -> Vec<u8> {
    let mut key = vec![name; 16];
    key.extend((0..32u8).map(|i| i.wrapping_mul(31) ^ name));
    key
}

fn set_keys(b: *mut tlsr_server_config_builder, names: &[u8], lifetime: u32) {
    let keys: Vec<u8> = names.iter().flat_map(|&n| ticket_key(n)).collect();
    assert_eq!(
        tlsr_server_config_builder_set_ticket_keys(b, keys.as_ptr(), names.len(), lifetime),
        TLSR_OK
    );
}

/// A config with tickets under the given keys and no session cache: resumption only by ticket.
fn ticket_config(key: &Key, names: &[u8]) -> Config {
    config_with(&[key], |b| {
        set_keys(b, names, 300);
        assert_eq!(
            tlsr_server_config_builder_set_session_cache_size(b, 0),
            TLSR_OK
        );
    })
}

fn client_cfg(version: Version, tickets: bool) -> Arc<ClientConfig> {
    let base = client_config(ClientOptions {
        versions: vec![version],
        ..Default::default()
    });
    let mut config = ClientConfig::clone(&base);
    config.enable_tickets = tickets;
    Arc::new(config)
}

/// One handshake: the server connection, every byte it sent, and the size of its first flight
/// (much smaller when it resumes: no certificate).
struct Handshake {
    server: Server,
    sent: Vec<u8>,
    first_flight: usize,
}

/// A complete handshake; write_tls gets buffers of `chunk` bytes.
fn handshake_in(client: &mut ClientConnection, config: &Config, chunk: usize) -> Handshake {
    let accepted = accept(client);
    handshake_from(&accepted, client, config, chunk)
}

/// Continues a handshake whose ClientHello was accepted.
fn handshake_from(
    accepted: &Accepted,
    client: &mut ClientConnection,
    config: &Config,
    chunk: usize,
) -> Handshake {
    let mut server = accepted
        .connect(config)
        .unwrap_or_else(|s| panic!("{:?}: {}", s, acceptor_error(accepted.acceptor)));
    assert_eq!(
        tlsr_conn_is_resumed(server.conn),
        0,
        "not before the handshake"
    );
    let (mut p, mut len) = (null(), 0);
    assert_eq!(
        tlsr_conn_session_id(server.conn, &mut p, &mut len),
        TLSR_WRONG_STATE
    );
    let mut sent = Vec::new();
    let mut first_flight = 0;
    let mut ignored = Vec::new();
    loop {
        let out = output_in(&mut server, chunk);
        if first_flight == 0 {
            first_flight = out.len();
        }
        sent.extend_from_slice(&out);
        if !out.is_empty() {
            client_input(client, &out, &mut ignored).expect("client");
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
        if out.is_empty() && to_server.is_empty() {
            break;
        }
    }
    assert!(!client.is_handshaking());
    assert_eq!(tlsr_conn_is_handshaking(server.conn), 0);
    Handshake {
        server,
        sent,
        first_flight,
    }
}

fn handshake(client: &mut ClientConnection, config: &Config) -> Handshake {
    handshake_in(client, config, 5000)
}

fn output_in(server: &mut Server, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        let mut n = 0;
        assert_eq!(
            tlsr_conn_write_tls(server.conn, buf.as_mut_ptr(), buf.len(), &mut n),
            TLSR_OK
        );
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn connect_new(client_config: &Arc<ClientConfig>, config: &Config) -> Handshake {
    handshake(&mut client(client_config, "localhost"), config)
}

impl Handshake {
    fn resumed(&self) -> bool {
        tlsr_conn_is_resumed(self.server.conn) != 0
    }

    fn session_id(&self) -> Vec<u8> {
        let (mut p, mut len) = (null(), usize::MAX);
        assert_eq!(
            tlsr_conn_session_id(self.server.conn, &mut p, &mut len),
            TLSR_OK
        );
        view(p, len).map(<[u8]>::to_vec).unwrap_or_default()
    }

    fn key_index(&self) -> usize {
        let mut index = usize::MAX;
        assert_eq!(
            tlsr_conn_certified_key_index(self.server.conn, &mut index),
            TLSR_OK
        );
        index
    }

    /// The plaintext handshake messages the server sent (before its ChangeCipherSpec).
    fn plaintext_messages(&self) -> Vec<(u8, Vec<u8>)> {
        let mut body = Vec::new();
        let mut rest = &self.sent[..];
        while rest.len() >= 5 && rest[0] == 0x16 {
            let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            body.extend_from_slice(&rest[5..5 + len]);
            rest = &rest[5 + len..];
        }
        let mut messages = Vec::new();
        let mut rest = &body[..];
        while rest.len() >= 4 {
            let len =
                (usize::from(rest[1]) << 16) | (usize::from(rest[2]) << 8) | usize::from(rest[3]);
            messages.push((rest[0], rest[4..4 + len].to_vec()));
            rest = &rest[4 + len..];
        }
        messages
    }

    /// TLS 1.2: the session id in the ServerHello.
    fn hello_session_id(&self) -> Vec<u8> {
        let messages = self.plaintext_messages();
        let hello = &messages
            .iter()
            .find(|(t, _)| *t == 2)
            .expect("ServerHello")
            .1;
        let len = usize::from(hello[34]);
        hello[35..35 + len].to_vec()
    }

    /// TLS 1.2: the (lifetime, ticket) of the NewSessionTicket message, if one was sent.
    fn tls12_ticket(&self) -> Option<(u32, Vec<u8>)> {
        let messages = self.plaintext_messages();
        let body = &messages.iter().find(|(t, _)| *t == 4)?.1;
        let lifetime = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let len = usize::from(u16::from_be_bytes([body[4], body[5]]));
        Some((lifetime, body[6..6 + len].to_vec()))
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, data).as_ref().to_vec()
}

/// Both signals agree: the flag, and a first flight without certificate.
fn assert_resumed(h: &Handshake, expected: bool, full_flight: usize, what: &str) {
    assert_eq!(h.resumed(), expected, "{}", what);
    assert_eq!(
        h.first_flight * 2 < full_flight,
        expected,
        "{}: flight {} vs full {}",
        what,
        h.first_flight,
        full_flight
    );
}

// ---------------------------------------------------------------------------------------------
// Tickets

#[test]
fn a_ticket_from_one_config_resumes_on_another_with_the_same_keys() {
    let key = ec_key();
    for version in [&TLS13, &TLS12] {
        let a = ticket_config(&key, &[1]);
        let b = ticket_config(&key, &[1]);
        let cc = client_cfg(version, true);
        let first = connect_new(&cc, &a);
        assert!(!first.resumed());
        let id = first.session_id();
        assert_eq!(id.len(), 32);

        let second = connect_new(&cc, &b);
        assert_resumed(&second, true, first.first_flight, "fleet");
        assert_eq!(second.session_id(), id, "{:?}: same session", version);

        // Another client: another session.
        let other = connect_new(&client_cfg(version, true), &b);
        assert_resumed(&other, false, first.first_flight, "other client");
        assert_eq!(other.session_id().len(), 32);
        assert_ne!(other.session_id(), id);
    }
}

#[test]
fn tls12_ticket_on_the_wire() {
    // TLS 1.2 sends its NewSessionTicket in plaintext: check the format, lifetime and id.
    let key = ec_key();
    let config = config_with(&[&key], |b| {
        set_keys(b, &[7, 8], 4321);
        assert_eq!(
            tlsr_server_config_builder_set_session_cache_size(b, 0),
            TLSR_OK
        );
    });
    let cc = client_cfg(&TLS12, true);
    let first = connect_new(&cc, &config);
    assert_eq!(first.hello_session_id(), b"", "no cache: no session id");
    let (lifetime, ticket) = first.tls12_ticket().expect("ticket");
    assert_eq!(lifetime, 4321);
    assert_eq!(&ticket[..16], &[7u8; 16], "named by the first key");
    assert!(ticket.len() > 16 + 12 + 16);
    assert_eq!(first.session_id(), sha256(&ticket));

    // Resumed: the ServerHello echoes the client's fresh random session id (RFC 5077 3.4), the
    // id stays the ticket's.
    let second = connect_new(&cc, &config);
    assert_resumed(&second, true, first.first_flight, "resumed by ticket");
    assert_eq!(second.hello_session_id().len(), 32);
    assert_eq!(second.session_id(), sha256(&ticket));
}

#[test]
fn tls12_tickets_win_over_the_session_id() {
    // With a cache and tickets, a full handshake sends both; the ticket names the session,
    // since a client that has it resumes with it (and a new random session id).
    let key = ec_key();
    let config = config_with(&[&key], |b| set_keys(b, &[1], 300));
    let cc = client_cfg(&TLS12, true);
    let first = connect_new(&cc, &config);
    assert_eq!(first.hello_session_id().len(), 32);
    let (_, ticket) = first.tls12_ticket().unwrap();
    assert_eq!(first.session_id(), sha256(&ticket));
    let second = connect_new(&cc, &config);
    assert_resumed(&second, true, first.first_flight, "ticket");
    assert_eq!(second.session_id(), sha256(&ticket));
}

#[test]
fn key_rotation() {
    let key = ec_key();
    for version in [&TLS13, &TLS12] {
        let old = ticket_config(&key, &[1]);
        let rotated = ticket_config(&key, &[2, 1]);
        let new_only = ticket_config(&key, &[2]);

        // [new, old] resumes a ticket made with [old].
        let cc = client_cfg(version, true);
        let first = connect_new(&cc, &old);
        let second = connect_new(&cc, &rotated);
        assert_resumed(&second, true, first.first_flight, "rotated");
        assert_eq!(second.session_id(), first.session_id());

        // Without the old key: a full handshake, a new session.
        let cc = client_cfg(version, true);
        let first = connect_new(&cc, &old);
        let second = connect_new(&cc, &new_only);
        assert_resumed(&second, false, first.first_flight, "old key dropped");
        assert_ne!(second.session_id(), first.session_id());
        // ... whose ticket (made with the new key) resumes on [new, old].
        let third = connect_new(&cc, &rotated);
        assert_resumed(&third, true, first.first_flight, "new key");
        assert_eq!(third.session_id(), second.session_id());
    }
}

#[test]
fn alpn_variants_share_the_ticket_keys() {
    let key = ec_key();
    let base = config_with(&[&key], |b| {
        set_keys(b, &[1], 300);
        assert_eq!(set_alpn(b, &[b"h2", b"http/1.1"]), TLSR_OK);
    });
    let mut variant = null();
    assert_eq!(
        tlsr_server_config_with_alpn(base.0, b"h2".as_ptr(), 2, &mut variant),
        TLSR_OK
    );
    let variant = Config(variant);
    for version in [&TLS13, &TLS12] {
        let cc = client_cfg(version, true);
        let first = connect_new(&cc, &base);
        let second = connect_new(&cc, &variant);
        assert_resumed(&second, true, first.first_flight, "variant");
        assert_eq!(second.session_id(), first.session_id());
    }
}

/// A client session store that can replace the ticket in what it hands back to the client,
/// so that the client offers garbage.
struct Tamper {
    inner: Arc<ClientSessionMemoryCache>,
    mode: AtomicUsize,
    /// The last ticket handed to the client instead of the real one.
    garbage: Mutex<Vec<u8>>,
}

const KEEP: usize = 0;

impl Tamper {
    /// `value` with the ticket (found by its key name, a u16-length-prefixed payload in
    /// rustls' encoding) replaced according to the mode.
    fn tamper(&self, value: Vec<u8>) -> Vec<u8> {
        let name = [1u8; 16];
        let at = match value.windows(16).position(|w| w == name) {
            Some(at) if at >= 2 => at,
            _ => return value,
        };
        let len = usize::from(u16::from_be_bytes([value[at - 2], value[at - 1]]));
        let ticket = &value[at..at + len];
        let garbage: Vec<u8> = match self.mode.load(Ordering::SeqCst) {
            1 => {
                let mut t = ticket.to_vec();
                let last = t.len() - 1;
                t[last] ^= 1; // the tag
                t
            }
            2 => {
                let mut t = ticket.to_vec();
                t[20] ^= 0x80; // the nonce
                t
            }
            3 => {
                let mut t = ticket.to_vec();
                t[..16].copy_from_slice(&[9; 16]); // an unknown key name
                t
            }
            4 => (0..len).map(|i| (i * 7) as u8).collect(),
            5 => ticket[..16 + 12].to_vec(), // shorter than a tag
            6 => ticket[..10].to_vec(),
            7 => vec![1u8],
            8 => {
                let mut t = ticket.to_vec();
                t.extend_from_slice(&[0; 100]);
                t
            }
            _ => return value,
        };
        *self.garbage.lock().unwrap() = garbage.clone();
        let mut out = value[..at - 2].to_vec();
        out.extend_from_slice(&(garbage.len() as u16).to_be_bytes());
        out.extend_from_slice(&garbage);
        out.extend_from_slice(&value[at + len..]);
        out
    }
}

impl StoresClientSessions for Tamper {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.inner.get(key).map(|v| self.tamper(v))
    }
}

#[test]
fn garbage_tickets_are_refused() {
    let key = ec_key();
    let config = ticket_config(&key, &[1]);
    for version in [&TLS13, &TLS12] {
        for mode in 1..=8 {
            let store = Arc::new(Tamper {
                inner: ClientSessionMemoryCache::new(16),
                mode: AtomicUsize::new(KEEP),
                garbage: Mutex::default(),
            });
            let mut cc = ClientConfig::clone(&client_cfg(version, true));
            cc.session_storage = Arc::clone(&store) as Arc<dyn StoresClientSessions>;
            let cc = Arc::new(cc);
            let first = connect_new(&cc, &config);
            store.mode.store(mode, Ordering::SeqCst);
            let mut c = client(&cc, "localhost");
            let hello = client_output(&mut c);
            let garbage = store.garbage.lock().unwrap().clone();
            assert!(
                hello.windows(garbage.len()).any(|w| w == garbage),
                "mode {}: the client offers the garbage",
                mode
            );
            let a = acceptor();
            assert_eq!(feed_acceptor(a, &hello, 1000), TLSR_OK);
            let accepted = Accepted { acceptor: a };
            let second = handshake_from(&accepted, &mut c, &config, 5000);
            let what = format!("{:?} mode {}", version, mode);
            assert_resumed(&second, false, first.first_flight, &what);
            assert_eq!(second.session_id().len(), 32, "{}", what);
            assert_ne!(second.session_id(), first.session_id(), "{}", what);
        }
    }
}

#[test]
fn hellos_with_mutated_tickets_never_panic() {
    let key = ec_key();
    let config = ticket_config(&key, &[1]);
    let mut seed = 0x0123_4567_89ab_cdefu64;
    for version in [&TLS13, &TLS12] {
        let cc = client_cfg(version, true);
        connect_new(&cc, &config);
        let hello = client_output(&mut client(&cc, "localhost"));
        let at = hello
            .windows(16)
            .position(|w| w == [1u8; 16])
            .expect("the ticket is in the ClientHello");
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut input = hello.clone();
            let i = at + (seed as usize % (input.len() - at));
            input[i] ^= (seed >> 32) as u8 | 1;
            let a = acceptor();
            if feed_acceptor(a, &input, 1000) == TLSR_OK {
                let mut conn = null_mut();
                let status = tlsr_acceptor_into_conn(a, config.0, &mut conn);
                assert_ne!(status, TLSR_PANIC);
                tlsr_conn_free(conn);
            }
            tlsr_acceptor_free(a);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Session ids and resumption without tickets

#[test]
fn tls12_session_ids() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    // The server has no ticket keys, so the default cache and session ids are used.
    for tickets in [true, false] {
        let cc = client_cfg(&TLS12, tickets);
        let first = connect_new(&cc, &config);
        assert!(!first.resumed());
        assert_eq!(first.tls12_ticket(), None);
        let id = first.hello_session_id();
        assert_eq!(id.len(), 32);
        assert_eq!(first.session_id(), id);

        let second = connect_new(&cc, &config);
        assert_resumed(&second, true, first.first_flight, "session id");
        assert_eq!(second.hello_session_id(), id);
        assert_eq!(second.session_id(), id);

        let other = connect_new(&client_cfg(&TLS12, tickets), &config);
        assert!(!other.resumed());
        assert_ne!(other.session_id(), id);
    }
    // A client without tickets resumes by session id even where tickets are on.
    let config = config_with(&[&key], |b| set_keys(b, &[1], 300));
    let cc = client_cfg(&TLS12, false);
    let first = connect_new(&cc, &config);
    assert_eq!(first.tls12_ticket(), None);
    let second = connect_new(&cc, &config);
    assert_resumed(&second, true, first.first_flight, "id with tickets on");
    assert_eq!(second.session_id(), first.hello_session_id());
}

#[test]
fn tls12_records_split_across_write_tls_calls() {
    let key = ec_key();
    for (config, tickets) in [
        (config_with(&[&key], |_| {}), false),
        (ticket_config(&key, &[1]), true),
    ] {
        for chunk in [1usize, 3, 7, 100] {
            let cc = client_cfg(&TLS12, true);
            let first = handshake_in(&mut client(&cc, "localhost"), &config, chunk);
            assert!(!first.resumed());
            let second = handshake_in(&mut client(&cc, "localhost"), &config, chunk);
            assert!(second.resumed(), "chunk {}", chunk);
            assert_eq!(second.session_id(), first.session_id());
            assert_eq!(first.session_id().len(), 32);
            if !tickets {
                assert_eq!(first.session_id(), first.hello_session_id());
            }
        }
    }
}

#[derive(Default)]
struct Store {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    puts: Mutex<Vec<Vec<u8>>>,
    takes: AtomicUsize,
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
    store.puts.lock().unwrap().push(bytes(key, klen).to_vec());
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
        map.get(key).cloned()
    };
    match value {
        Some(v) if v.len() <= cap => {
            // SAFETY: buf has cap bytes, out_len is valid (crate contract).
            unsafe {
                std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len());
                *out_len = v.len();
            }
            1
        }
        _ => 0,
    }
}

#[test]
fn tls13_stateful_tickets_through_the_callback_store() {
    let key = ec_key();
    let store = Store::default();
    let userdata = &store as *const Store as *mut c_void;
    let config = config_with(&[&key], |b| {
        let s = tlsr_server_config_builder_set_session_store(b, userdata, Some(put), Some(get));
        assert_eq!(s, TLSR_OK);
    });
    let cc = client_cfg(&TLS13, true);
    let first = connect_new(&cc, &config);
    assert!(!first.resumed());
    let ticket = store
        .puts
        .lock()
        .unwrap()
        .last()
        .cloned()
        .expect("ticket stored");
    assert_eq!(
        first.session_id(),
        sha256(&ticket),
        "the ticket is the store key"
    );

    let second = connect_new(&cc, &config);
    assert_resumed(&second, true, first.first_flight, "stateful");
    assert_eq!(store.takes.load(Ordering::SeqCst), 1);
    assert_eq!(second.session_id(), first.session_id());

    let other = connect_new(&client_cfg(&TLS13, true), &config);
    assert!(!other.resumed());
    assert_ne!(other.session_id(), first.session_id());

    // Single-use: a client that offers the same ticket again does not resume.
    let cc = replaying_client(&TLS13);
    let first = connect_new(&cc, &config);
    let second = connect_new(&cc, &config);
    assert!(second.resumed());
    assert_eq!(second.session_id(), first.session_id());
    let replayed = connect_new(&cc, &config);
    assert_resumed(&replayed, false, first.first_flight, "replayed ticket");
    assert_ne!(replayed.session_id(), first.session_id());
}

/// Keeps the first session a client stores under each key: the client offers that ticket
/// again and again.
struct FirstOnly(Mutex<HashMap<Vec<u8>, Vec<u8>>>);

impl StoresClientSessions for FirstOnly {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.0.lock().unwrap().entry(key).or_insert(value);
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

fn replaying_client(version: Version) -> Arc<ClientConfig> {
    let mut cc = ClientConfig::clone(&client_cfg(version, true));
    cc.session_storage = Arc::new(FirstOnly(Mutex::default()));
    Arc::new(cc)
}

#[test]
fn stateless_tickets_can_be_reused() {
    let key = ec_key();
    let config = ticket_config(&key, &[1]);
    for version in [&TLS13, &TLS12] {
        let cc = replaying_client(version);
        let first = connect_new(&cc, &config);
        for _ in 0..2 {
            let again = connect_new(&cc, &config);
            assert_resumed(&again, true, first.first_flight, "same ticket");
            assert_eq!(again.session_id(), first.session_id());
        }
    }
}

#[test]
fn tls13_with_the_default_cache_and_without_any() {
    let key = ec_key();
    let config = config_with(&[&key], |_| {});
    let cc = client_cfg(&TLS13, true);
    let first = connect_new(&cc, &config);
    let second = connect_new(&cc, &config);
    assert_resumed(&second, true, first.first_flight, "memory cache");
    assert_eq!(second.session_id(), first.session_id());
    assert_eq!(first.session_id().len(), 32);

    // No cache and no ticket keys: no tickets, no resumption, no session id.
    let none = config_with(&[&key], |b| {
        assert_eq!(
            tlsr_server_config_builder_set_session_cache_size(b, 0),
            TLSR_OK
        )
    });
    for version in [&TLS13, &TLS12] {
        let cc = client_cfg(version, true);
        let first = connect_new(&cc, &none);
        let second = connect_new(&cc, &none);
        assert_resumed(&second, false, first.first_flight, "nothing to resume");
        let (mut p, mut len) = (b"x".as_ptr(), usize::MAX);
        assert_eq!(
            tlsr_conn_session_id(second.server.conn, &mut p, &mut len),
            TLSR_OK
        );
        assert!(p.is_null());
        assert_eq!(len, 0);
    }
}

#[test]
fn tls13_stateless_tickets_chain() {
    // Each resumption issues a new ticket; a connection is named by the ticket it resumed with.
    let key = ec_key();
    let config = ticket_config(&key, &[1]);
    let cc = client_cfg(&TLS13, true);
    let first = connect_new(&cc, &config);
    let second = connect_new(&cc, &config);
    assert!(second.resumed());
    assert_eq!(second.session_id(), first.session_id());
    let third = connect_new(&cc, &config);
    assert!(third.resumed());
    assert_eq!(third.session_id().len(), 32);
}

// ---------------------------------------------------------------------------------------------
// The chosen certified key

#[test]
fn certified_key_index() {
    let ec = ec_key();
    let rsa = rsa_key();
    let both = config_with(&[&ec, &rsa], |_| {});
    let rsa_first = config_with(&[&rsa, &ec], |_| {});
    let rsa_schemes = vec![
        SignatureScheme::RSA_PSS_SHA256,
        SignatureScheme::RSA_PKCS1_SHA256,
    ];
    for version in [&TLS13, &TLS12] {
        let modern = client_config(ClientOptions {
            versions: vec![version],
            ..Default::default()
        });
        let old = client_config(ClientOptions {
            versions: vec![version],
            schemes: Some(rsa_schemes.clone()),
            ..Default::default()
        });
        for (config, cc, index, leaf) in [
            (&both, &modern, 0, &ec),
            (&both, &old, 1, &rsa),
            (&rsa_first, &modern, 0, &rsa),
            (&rsa_first, &old, 0, &rsa),
        ] {
            let mut c = client(cc, "localhost");
            let accepted = accept(&mut c);
            let server = accepted.connect(config).unwrap();
            // Known right after into_conn.
            let mut i = usize::MAX;
            assert_eq!(tlsr_conn_certified_key_index(server.conn, &mut i), TLSR_OK);
            assert_eq!(i, index, "{:?}", version);
            let mut server = server;
            let mut ignored = Vec::new();
            pump(&mut c, &mut server, &mut ignored);
            assert_eq!(server_leaf(&c), key_leaf(leaf));
            let mut i = usize::MAX;
            assert_eq!(tlsr_conn_certified_key_index(server.conn, &mut i), TLSR_OK);
            assert_eq!(i, index);
        }
        // Also on a resumed connection.
        let cc = client_cfg(version, true);
        connect_new(&cc, &both);
        let resumed = connect_new(&cc, &both);
        assert!(resumed.resumed());
        assert_eq!(resumed.key_index(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Threads: the observer lives for one call only

/// A handle that a test moves between threads (used by one at a time).
struct Moved<T>(*mut T);
// SAFETY: the crate allows acceptors and connections to move between threads between calls.
unsafe impl<T> Send for Moved<T> {}

#[test]
fn connections_move_between_threads_and_run_in_parallel() {
    let ec = ec_key();
    let rsa = rsa_key();
    let config = ticket_config_two(&ec, &rsa);
    let config_ptr = config.0 as usize; // shared and immutable: usable from any thread
    let results: Vec<(Vec<u8>, Vec<u8>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                scope.spawn(move || {
                    // Borrowed from the test, which frees it.
                    let config = std::mem::ManuallyDrop::new(Config(
                        config_ptr as *const tlsr_server_config,
                    ));
                    let version: Version = if t % 2 == 0 { &TLS13 } else { &TLS12 };
                    let schemes = (t % 4 >= 2).then(|| vec![SignatureScheme::RSA_PSS_SHA256]);
                    let cc = client_config(ClientOptions {
                        versions: vec![version],
                        schemes,
                        ..Default::default()
                    });
                    let mut ids = Vec::new();
                    let mut index = 0;
                    for _ in 0..3 {
                        let mut c = client(&cc, "localhost");
                        let h = handshake_across_threads(&mut c, &config);
                        ids.push(h.session_id());
                        index = h.key_index();
                        assert_eq!(index, usize::from(t % 4 >= 2), "thread {}", t);
                    }
                    (ids[0].clone(), ids[1].clone(), index)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, (first, second, _)) in results.iter().enumerate() {
        assert_eq!(first, second, "thread {} resumed its own session", i);
        for (j, (other, _, _)) in results.iter().enumerate() {
            if i != j {
                assert_ne!(first, other);
            }
        }
    }
}

fn ticket_config_two(a: &Key, b: &Key) -> Config {
    config_with(&[a, b], |b| set_keys(b, &[1], 300))
}

/// A handshake whose every server call runs on a new thread.
fn handshake_across_threads(client: &mut ClientConnection, config: &Config) -> Handshake {
    let accepted = accept(client);
    let acceptor = Moved(accepted.acceptor);
    let config_ptr = config.0 as usize; // shared and immutable
    let conn = std::thread::spawn(move || {
        let acceptor = acceptor;
        let mut conn = null_mut();
        let status = tlsr_acceptor_into_conn(
            acceptor.0,
            config_ptr as *const tlsr_server_config,
            &mut conn,
        );
        assert_eq!(status, TLSR_OK);
        Moved(conn)
    })
    .join()
    .unwrap();
    let server = Server {
        conn: conn.0,
        received: Vec::new(),
        partial_reads: 0,
        eof: false,
    };
    let mut first_flight = 0;
    let mut ignored = Vec::new();
    loop {
        let moved = Moved(server.conn);
        let out = std::thread::spawn(move || {
            let moved = moved;
            let mut s = Server {
                conn: moved.0,
                received: Vec::new(),
                partial_reads: 0,
                eof: false,
            };
            let out = s.output();
            std::mem::forget(s);
            out
        })
        .join()
        .unwrap();
        if first_flight == 0 {
            first_flight = out.len();
        }
        if !out.is_empty() {
            client_input(client, &out, &mut ignored).unwrap();
        }
        let to_server = client_output(client);
        let sent_to_server = !to_server.is_empty();
        if sent_to_server {
            let moved = Moved(server.conn);
            std::thread::spawn(move || {
                let moved = moved;
                let mut n = 0;
                let status =
                    tlsr_conn_read_tls(moved.0, to_server.as_ptr(), to_server.len(), &mut n);
                assert_eq!(status, TLSR_OK);
                assert_eq!(n, to_server.len());
            })
            .join()
            .unwrap();
        }
        if out.is_empty() && !sent_to_server {
            break;
        }
    }
    assert_eq!(tlsr_conn_is_handshaking(server.conn), 0);
    Handshake {
        server,
        sent: Vec::new(),
        first_flight,
    }
}
