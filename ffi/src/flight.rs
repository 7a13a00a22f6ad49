//! Watches the server's plaintext handshake as write_tls hands it out, for two things rustls
//! 0.20.8 does not tell about TLS 1.2:
//!
//! - the session id of the ServerHello (tlsr_conn_session_id);
//! - whether the handshake was abbreviated (resumed). rustls sets
//!   `received_resumption_data()` only for TLS 1.3 (server/tls13.rs; server/tls12.rs never
//!   does). A resumed TLS 1.2 server sends ServerHello, [NewSessionTicket,] ChangeCipherSpec,
//!   Finished at once; a full handshake sends ServerHello, Certificate, ServerKeyExchange,
//!   ServerHelloDone, and its ChangeCipherSpec only after the client's flight. So: a
//!   ChangeCipherSpec record before any Certificate message means resumed.
//!
//! Records and handshake messages may be split anywhere between write_tls calls, and a message
//! may span records: both layers are parsed as streams. Watching ends at the first record that
//! is neither plaintext handshake nor ChangeCipherSpec, or at the ChangeCipherSpec (everything
//! after it is encrypted). Only the ServerHello's body is kept (a few dozen bytes).

const CHANGE_CIPHER_SPEC: u8 = 0x14;
const HANDSHAKE: u8 = 0x16;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE: u8 = 11;
/// rustls' ServerHellos are far smaller; a larger one is not kept (no session id then).
const MAX_SERVER_HELLO: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct FlightWatch {
    done: bool,
    record_header: Vec<u8>,
    record_type: u8,
    record_left: usize,
    message_header: Vec<u8>,
    message_type: u8,
    message_left: usize,
    server_hello: Vec<u8>,
    server_hello_too_big: bool,
    /// The session id of the first ServerHello (None before it was seen; may be empty).
    session_id: Option<Vec<u8>>,
    certificate_sent: bool,
    /// A ChangeCipherSpec went out before any Certificate message.
    ccs_before_certificate: bool,
}

impl FlightWatch {
    pub fn session_id(&self) -> Option<&[u8]> {
        self.session_id.as_deref()
    }

    /// Meaningful for TLS 1.2 only (TLS 1.3 servers may send a compatibility
    /// ChangeCipherSpec right after the ServerHello).
    pub fn abbreviated(&self) -> bool {
        self.ccs_before_certificate
    }

    /// Looks at bytes on their way to the client.
    pub fn watch(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.done {
            if self.record_header.len() < 5 {
                let (&byte, rest) = match bytes.split_first() {
                    Some(split) => split,
                    None => break,
                };
                bytes = rest;
                self.record_header.push(byte);
                if self.record_header.len() == 5 {
                    self.start_record();
                }
                continue;
            }
            let n = self.record_left.min(bytes.len());
            let (body, rest) = bytes.split_at(n);
            bytes = rest;
            self.record_left -= n;
            self.handshake_bytes(body);
            if self.record_left == 0 {
                self.record_header.clear();
            }
        }
    }

    fn start_record(&mut self) {
        self.record_type = self.record_header[0];
        self.record_left = usize::from(u16::from_be_bytes([
            self.record_header[3],
            self.record_header[4],
        ]));
        match self.record_type {
            HANDSHAKE => {}
            CHANGE_CIPHER_SPEC => {
                self.ccs_before_certificate = !self.certificate_sent;
                self.done = true;
            }
            _ => self.done = true,
        }
        if self.record_left == 0 {
            self.record_header.clear();
        }
    }

    fn handshake_bytes(&mut self, mut body: &[u8]) {
        while !body.is_empty() {
            if self.message_header.len() < 4 {
                let (&byte, rest) = match body.split_first() {
                    Some(split) => split,
                    None => break,
                };
                body = rest;
                self.message_header.push(byte);
                if self.message_header.len() == 4 {
                    self.start_message();
                }
                continue;
            }
            let n = self.message_left.min(body.len());
            let (part, rest) = body.split_at(n);
            body = rest;
            self.message_left -= n;
            if self.message_type == SERVER_HELLO && !self.server_hello_too_big {
                if self.server_hello.len() + part.len() > MAX_SERVER_HELLO {
                    self.server_hello_too_big = true;
                    self.server_hello.clear();
                } else {
                    self.server_hello.extend_from_slice(part);
                }
            }
            if self.message_left == 0 {
                self.end_message();
            }
        }
    }

    fn start_message(&mut self) {
        let h = &self.message_header;
        self.message_type = h[0];
        self.message_left = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        match self.message_type {
            CERTIFICATE => self.certificate_sent = true,
            SERVER_HELLO => {
                self.server_hello.clear();
                self.server_hello_too_big = false;
            }
            _ => {}
        }
        if self.message_left == 0 {
            self.end_message();
        }
    }

    fn end_message(&mut self) {
        if self.message_type == SERVER_HELLO && self.session_id.is_none() {
            self.session_id = Some(server_hello_session_id(&self.server_hello).unwrap_or_default());
        }
        self.message_header.clear();
    }
}

/// `ServerHello { legacy_version(2), random(32), session_id<0..32>, ... }`
fn server_hello_session_id(body: &[u8]) -> Option<Vec<u8>> {
    let (&len, rest) = body.get(34..)?.split_first()?;
    let len = usize::from(len);
    if len > 32 {
        return None;
    }
    rest.get(..len).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![typ, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn message(typ: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![typ];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn server_hello(session_id: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[0x5a; 32]);
        body.push(session_id.len() as u8);
        body.extend_from_slice(session_id);
        body.extend_from_slice(&[0xc0, 0x2b, 0, 0, 0]);
        message(SERVER_HELLO, &body)
    }

    /// Every way of cutting `stream` in two, and byte by byte, gives `check` the same result.
    fn each_split(stream: &[u8], check: impl Fn(&FlightWatch)) {
        for cut in 0..=stream.len() {
            let mut w = FlightWatch::default();
            w.watch(&stream[..cut]);
            w.watch(&stream[cut..]);
            check(&w);
        }
        let mut w = FlightWatch::default();
        for b in stream {
            w.watch(std::slice::from_ref(b));
        }
        check(&w);
    }

    #[test]
    fn full_handshake() {
        let mut stream = record(HANDSHAKE, &server_hello(&[7; 32]));
        stream.extend(record(HANDSHAKE, &message(CERTIFICATE, &[1; 300])));
        stream.extend(record(HANDSHAKE, &message(14, &[])));
        stream.extend(record(HANDSHAKE, &message(4, &[9; 100]))); // NewSessionTicket
        stream.extend(record(CHANGE_CIPHER_SPEC, &[1]));
        stream.extend(record(HANDSHAKE, &[0xee; 40])); // encrypted Finished
        each_split(&stream, |w| {
            assert_eq!(w.session_id(), Some(&[7u8; 32][..]));
            assert!(!w.abbreviated());
        });
    }

    #[test]
    fn abbreviated_handshake() {
        let mut stream = record(HANDSHAKE, &server_hello(&[3; 5]));
        stream.extend(record(HANDSHAKE, &message(4, &[9; 100])));
        stream.extend(record(CHANGE_CIPHER_SPEC, &[1]));
        stream.extend(record(HANDSHAKE, &[0xee; 40]));
        each_split(&stream, |w| {
            assert_eq!(w.session_id(), Some(&[3u8; 5][..]));
            assert!(w.abbreviated());
        });
    }

    #[test]
    fn messages_spanning_records_and_records_holding_several() {
        let mut messages = server_hello(&[]);
        messages.extend(message(CERTIFICATE, &[1; 40]));
        let mut stream = Vec::new();
        for chunk in messages.chunks(7) {
            stream.extend(record(HANDSHAKE, chunk));
        }
        stream.extend(record(CHANGE_CIPHER_SPEC, &[1]));
        each_split(&stream, |w| {
            assert_eq!(w.session_id(), Some(&[][..]));
            assert!(!w.abbreviated());
        });
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            let mut w = FlightWatch::default();
            for _ in 0..20 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let len = (seed % 64) as usize;
                let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 8 * 8)) as u8 % 24).collect();
                w.watch(&bytes);
            }
        }
        // A ServerHello too short for its session id.
        let mut w = FlightWatch::default();
        let mut hello = server_hello(&[1; 32]);
        hello.truncate(40);
        hello[3] = 36;
        w.watch(&record(HANDSHAKE, &hello));
        assert_eq!(w.session_id(), Some(&[][..]));
        assert_eq!(server_hello_session_id(&[0; 34]), None);
        let mut body = vec![0; 34];
        body.push(33);
        body.extend_from_slice(&[0; 40]);
        assert_eq!(server_hello_session_id(&body), None);
    }
}
