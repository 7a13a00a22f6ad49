//! The acceptor: reads a ClientHello before the host chooses a config (by SNI, ALPN, ...).

use crate::observe::observe;
use crate::status::{
    alert_for, alert_record, status_of, Failure, ALERT_DECODE_ERROR, ALERT_HANDSHAKE_FAILURE,
    ALERT_PROTOCOL_VERSION,
};
use crate::*;
use rustls::server::{Accepted, Acceptor, ClientHello};
use std::mem;
use std::os::raw::c_char;

/// The content type of a handshake record: every TLS connection starts with one.
const HANDSHAKE_RECORD: u8 = 0x16;
/// How many of the first bytes we keep, for messages and the client version.
const HEAD_LEN: usize = 16;
/// The smallest possible TLS record (5 byte header and 1 byte of content).
const MIN_RECORD: usize = 6;

enum State {
    /// Waiting for the complete ClientHello.
    Reading(Box<Acceptor>),
    Accepted(Box<Accepted>),
    /// The handshake failed with this status (message in last_error); an alert may be queued.
    Failed(tlsr_status),
    /// into_conn or reject was called.
    Spent,
}

/// What the client asked for, copied out of the ClientHello so views can be handed out.
struct Hello {
    sni: Option<String>,
    alpn: Vec<Vec<u8>>,
    signature_schemes: Vec<u16>,
    cipher_suites: Vec<u16>,
}

impl Hello {
    fn new(hello: &ClientHello) -> Self {
        Hello {
            sni: hello.server_name().map(str::to_owned),
            alpn: hello
                .alpn()
                .map(|ids| ids.map(<[u8]>::to_vec).collect())
                .unwrap_or_default(),
            signature_schemes: hello
                .signature_schemes()
                .iter()
                .map(|s| s.get_u16())
                .collect(),
            cipher_suites: hello.cipher_suites().iter().map(|s| s.get_u16()).collect(),
        }
    }
}

/// tlsr.h `tlsr_acceptor`.
#[allow(non_camel_case_types)]
pub struct tlsr_acceptor {
    state: State,
    hello: Option<Hello>,
    /// The first bytes the client sent.
    head: Vec<u8>,
    fed: usize,
    /// TLS bytes for the client: the fatal alert, when the handshake fails here.
    out: Vec<u8>,
    last_error: String,
}

impl tlsr_acceptor {
    fn new() -> Self {
        tlsr_acceptor {
            state: State::Reading(Box::default()),
            hello: None,
            head: Vec::with_capacity(HEAD_LEN),
            fed: 0,
            out: Vec::new(),
            last_error: String::new(),
        }
    }

    /// Keeps a failure's message (not for the ordinary WOULD_BLOCK); returns its status.
    fn record(&mut self, failure: Failure) -> tlsr_status {
        if failure.status != TLSR_WOULD_BLOCK {
            self.last_error = failure.message;
        }
        failure.status
    }

    /// Why a call is not valid in the current state. After a failed handshake every call
    /// repeats that failure.
    fn state_error(&self) -> Failure {
        match self.state {
            State::Reading(_) => {
                Failure::new(TLSR_WRONG_STATE, "no ClientHello has been accepted yet")
            }
            State::Accepted(_) => {
                Failure::new(TLSR_WRONG_STATE, "the ClientHello was already accepted")
            }
            State::Failed(status) => Failure::new(status, self.last_error.clone()),
            State::Spent => Failure::new(TLSR_WRONG_STATE, "the acceptor is spent"),
        }
    }

    /// Ends the handshake: queues the alert for the client (if any).
    fn fail(&mut self, failure: Failure, alert: Option<u8>) -> Failure {
        if let Some(description) = alert {
            self.out.extend_from_slice(&alert_record(description));
        }
        self.state = State::Failed(failure.status);
        failure
    }

    /// Ends the handshake after a rustls error, which dropped the alert it had queued.
    fn fail_tls(&mut self, err: &rustls::Error) -> Failure {
        self.fail(Failure::from(err), alert_for(err))
    }

    /// A pre-TLS 1.2 client fails accept() on something else first: rustls finds no signature
    /// algorithms, or (without any extension) calls the ClientHello corrupt. The failure that
    /// tells the administrator what the real problem is.
    fn old_client(&self, err: &rustls::Error) -> Option<Failure> {
        let version = self.client_version().filter(|&v| v < 0x0303)?;
        match err {
            rustls::Error::PeerIncompatibleError(_)
            | rustls::Error::CorruptMessagePayload(rustls::ContentType::Handshake) => {
                Some(Failure::new(
                    TLSR_NO_SHARED_VERSION,
                    format!(
                        "the client supports only {} (TLS 1.2 or newer is required)",
                        version_name(version)
                    ),
                ))
            }
            _ => None,
        }
    }

    /// The legacy_version of the ClientHello, if the first record holds its beginning.
    fn client_version(&self) -> Option<u16> {
        match self.head.get(..11)? {
            [HANDSHAKE_RECORD, _, _, _, _, 0x01, _, _, _, major, minor] => {
                Some(u16::from_be_bytes([*major, *minor]))
            }
            _ => None,
        }
    }

    fn read_tls(&mut self, input: &[u8]) -> Result<usize, Failure> {
        if !matches!(self.state, State::Reading(_)) {
            return Err(self.state_error());
        }
        if self.fed == 0 {
            if let Some((failure, alert)) = not_tls(input) {
                return Err(self.fail(failure, Some(alert)));
            }
        }
        let acceptor = match &mut self.state {
            State::Reading(acceptor) => acceptor,
            _ => return Err(self.state_error()),
        };
        let mut used = 0;
        while let Some(mut rest) = input.get(used..).filter(|rest| !rest.is_empty()) {
            match acceptor.read_tls(&mut rest) {
                Ok(n) if n > 0 => used += n,
                // 0 or "message buffer full": accept() must take records out first.
                _ => break,
            }
        }
        let keep = used.min(HEAD_LEN.saturating_sub(self.head.len()));
        self.head.extend_from_slice(&input[..keep]);
        self.fed += used;
        Ok(used)
    }

    fn accept(&mut self) -> Result<(), Failure> {
        match self.state {
            State::Reading(_) => {}
            State::Accepted(_) => return Ok(()),
            _ => return Err(self.state_error()),
        }
        // rustls' accept() takes one record per call: a ClientHello may span several.
        for _ in 0..=self.fed / MIN_RECORD {
            let acceptor = match &mut self.state {
                State::Reading(acceptor) => acceptor,
                _ => break,
            };
            match acceptor.accept() {
                Ok(None) => {}
                Ok(Some(accepted)) => {
                    self.hello = Some(Hello::new(&accepted.client_hello()));
                    self.state = State::Accepted(Box::new(accepted));
                    return Ok(());
                }
                Err(err) => {
                    return Err(match self.old_client(&err) {
                        Some(failure) => self.fail(failure, Some(ALERT_PROTOCOL_VERSION)),
                        None => self.fail_tls(&err),
                    })
                }
            }
        }
        Err(Failure::new(TLSR_WOULD_BLOCK, ""))
    }

    fn connect(&mut self, config: &tlsr_server_config) -> Result<tlsr_conn, Failure> {
        let accepted = match mem::replace(&mut self.state, State::Spent) {
            State::Accepted(accepted) => accepted,
            other => {
                self.state = other;
                return Err(self.state_error());
            }
        };
        let (result, observed) = observe(|| accepted.into_connection(Arc::clone(&config.rustls)));
        match result {
            Ok(tls) => {
                let mut conn = tlsr_conn::new(tls, observed);
                match conn.process() {
                    Ok(()) => Ok(conn),
                    Err(failure) => {
                        // The connection has queued its first flight and the alert: pass on.
                        conn.write_all_tls(&mut self.out);
                        Err(self.fail(failure, None))
                    }
                }
            }
            Err(err) => {
                let offered = self
                    .hello
                    .as_ref()
                    .map_or(&[][..], |h| &h.cipher_suites[..]);
                let common_suite = offered.iter().any(|id| config.suites.contains(id));
                if status_of(&err) == TLSR_NO_SUITABLE_CERT && !common_suite {
                    // rustls narrowed the client's signature schemes by the common suites
                    // (none), so the resolver found no key: the real problem is the suites.
                    let failure = Failure::new(
                        TLSR_NO_SHARED_CIPHER,
                        "no cipher suite in common with the client",
                    );
                    return Err(self.fail(failure, Some(ALERT_HANDSHAKE_FAILURE)));
                }
                Err(self.fail_tls(&err))
            }
        }
    }

    fn reject(&mut self, alert: u8) -> Result<(), Failure> {
        match self.state {
            State::Reading(_) | State::Accepted(_) => {
                self.out.extend_from_slice(&alert_record(alert));
                self.state = State::Spent;
                Ok(())
            }
            _ => Err(self.state_error()),
        }
    }

    fn write_tls(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.out.len());
        buf[..n].copy_from_slice(&self.out[..n]);
        self.out.drain(..n);
        n
    }
}

/// The failure (and the alert to send) when the first bytes cannot start a TLS handshake.
fn not_tls(input: &[u8]) -> Option<(Failure, u8)> {
    let first = *input.first()?;
    if first == HANDSHAKE_RECORD {
        return None;
    }
    if first & 0x80 != 0 && input.get(2) == Some(&0x01) {
        let failure = Failure::new(
            TLSR_NO_SHARED_VERSION,
            "the client sent an SSL 2.0 compatible ClientHello, as only clients older than \
             TLS 1.2 do (TLS 1.2 or newer is required)",
        );
        return Some((failure, ALERT_PROTOCOL_VERSION));
    }
    let head = &input[..input.len().min(HEAD_LEN)];
    let failure = Failure::new(
        TLSR_NOT_TLS,
        format!(
            "client sent plain data, not TLS (first bytes '{}')",
            escape(head)
        ),
    );
    Some((failure, ALERT_DECODE_ERROR))
}

/// Bytes as printable ASCII, with C-style escapes for everything else.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{:02x}", b)),
        }
    }
    out
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_new(out: *mut *mut tlsr_acceptor) -> tlsr_status {
    guard(|| {
        let out = try_mut(out)?;
        *out = box_into_raw(tlsr_acceptor::new());
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_free(acceptor: *mut tlsr_acceptor) {
    guard_value((), || drop(box_from_raw(acceptor)))
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_read_tls(
    acceptor: *mut tlsr_acceptor,
    buf: *const u8,
    len: usize,
    consumed: *mut usize,
) -> tlsr_status {
    guard(|| {
        let acceptor = try_mut(acceptor)?;
        let input = try_slice(buf, len)?;
        let consumed = try_mut(consumed)?;
        *consumed = acceptor.read_tls(input).map_err(|f| acceptor.record(f))?;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_accept(acceptor: *mut tlsr_acceptor) -> tlsr_status {
    guard(|| {
        let acceptor = try_mut(acceptor)?;
        acceptor.accept().map_err(|f| acceptor.record(f))
    })
}

fn hello<'a>(acceptor: *const tlsr_acceptor) -> Result<&'a Hello, tlsr_status> {
    try_ref(acceptor)?.hello.as_ref().ok_or(TLSR_WRONG_STATE)
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_sni(
    acceptor: *const tlsr_acceptor,
    name: *mut *const c_char,
    len: *mut usize,
) -> tlsr_status {
    // c_char and u8 have the same layout: the name is handed out as bytes.
    guard(|| {
        let sni = hello(acceptor)?.sni.as_deref().map(str::as_bytes);
        view_out(sni, name as *mut *const u8, len)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_alpn_count(acceptor: *const tlsr_acceptor) -> usize {
    guard_value(0, || hello(acceptor).map_or(0, |h| h.alpn.len()))
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_alpn(
    acceptor: *const tlsr_acceptor,
    i: usize,
    proto: *mut *const u8,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let hello = hello(acceptor)?;
        if proto.is_null() || len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let id = hello.alpn.get(i).ok_or(TLSR_INVALID_PARAM)?;
        view_out(Some(id), proto, len)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_signature_schemes(
    acceptor: *const tlsr_acceptor,
    out: *mut u16,
    cap: usize,
) -> usize {
    guard_value(0, || {
        hello(acceptor).map_or(0, |h| copy_list(&h.signature_schemes, out, cap))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_cipher_suites(
    acceptor: *const tlsr_acceptor,
    out: *mut u16,
    cap: usize,
) -> usize {
    guard_value(0, || {
        hello(acceptor).map_or(0, |h| copy_list(&h.cipher_suites, out, cap))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_into_conn(
    acceptor: *mut tlsr_acceptor,
    config: *const tlsr_server_config,
    out: *mut *mut tlsr_conn,
) -> tlsr_status {
    guard(|| {
        let acceptor = try_mut(acceptor)?;
        let config = try_ref(config)?;
        let out = try_mut(out)?;
        let conn = acceptor.connect(config).map_err(|f| acceptor.record(f))?;
        *out = box_into_raw(conn);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_reject(acceptor: *mut tlsr_acceptor, alert: u8) -> tlsr_status {
    guard(|| {
        let acceptor = try_mut(acceptor)?;
        acceptor.reject(alert).map_err(|f| acceptor.record(f))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_write_tls(
    acceptor: *mut tlsr_acceptor,
    buf: *mut u8,
    cap: usize,
    produced: *mut usize,
) -> tlsr_status {
    guard(|| {
        let acceptor = try_mut(acceptor)?;
        let buf = try_mut_slice(buf, cap)?;
        let produced = try_mut(produced)?;
        *produced = acceptor.write_tls(buf);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_acceptor_last_error(
    acceptor: *const tlsr_acceptor,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> tlsr_status {
    guard(|| last_error_out(&try_ref(acceptor)?.last_error, buf, cap, len))
}
