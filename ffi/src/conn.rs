//! A server connection, driven with buffers: TLS bytes in and out, plaintext in and out.
//!
//! rustls 0.20.8 semantics this relies on (src/conn.rs, src/vecbuf.rs):
//! - `read_tls` refuses input (io error "received plaintext buffer full") while more than
//!   16 KiB of decrypted plaintext waits; we then report a partial `consumed` and TLSR_OK.
//! - `process_new_packets` decrypts every complete record; after an error it queues the alert
//!   it sends (except for record-framing errors, where it sends none) and the connection is
//!   dead. rustls forgets some of those errors on the next call; we keep the first one.
//! - The plaintext `Reader` returns `Ok(n > 0)` with data; `Err(WouldBlock)` when none is
//!   buffered yet; `Ok(0)` once the peer's close_notify was processed and every byte before
//!   it was read; `Err(UnexpectedEof)` only after `read_tls` saw a 0-byte read, which we never
//!   do (the host learns of TCP EOF itself). An empty buffer also gives `Ok(0)`: we refuse it.
//! - Writes are limited to 64 KiB of pending TLS by default; we lift that limit so that a
//!   write always takes everything (the host flushes with write_tls and bounds its own data).
//! - The resolver, ticketer and session store run inside `process_new_packets` (and
//!   `Accepted::into_connection`, acceptor.rs): `process` observes them (observe.rs).
//! - A plaintext alert from a TLS 1.3 client during the handshake (OpenSSL refusing our
//!   certificate) fails to decrypt in rustls: reported as the alert it is (inbound.rs).
//! - TLS 1.3 resumption: `received_resumption_data()` is Some exactly when the server accepted
//!   a ticket (server/tls13.rs), whatever data the ticket carries. TLS 1.2 never sets it: we
//!   read resumption and the session id off the outgoing handshake (flight.rs).

use crate::flight::FlightWatch;
use crate::inbound::AlertWatch;
use crate::observe::{observe, Observed, TicketHash};
use crate::status::Failure;
use crate::*;
use rustls::{
    AlertDescription, ClientConnection, Connection, Error, ProtocolVersion, ServerConnection,
};
use std::io::{self, Read, Write};
use std::os::raw::{c_char, c_int};

/// tlsr.h `tlsr_conn`.
#[allow(non_camel_case_types)]
pub struct tlsr_conn {
    /// A server connection (from the acceptor) or a client one (to a backend, client.rs).
    tls: Connection,
    /// Decrypted bytes not yet read (rustls tells only through process_new_packets).
    plaintext: usize,
    /// The error that killed the connection; repeated by read_tls and read.
    failed: Option<tlsr_status>,
    /// send_close_notify was called.
    closed: bool,
    last_error: String,
    /// What the resolver, ticketer and session store did for this connection.
    observed: Observed,
    /// The server's handshake on its way out.
    flight: FlightWatch,
    /// The peer's records during the handshake (a plaintext alert).
    inbound: AlertWatch,
}

impl tlsr_conn {
    /// A connection fresh from into_connection, with what was observed during that call.
    pub(crate) fn new(tls: ServerConnection, observed: Observed) -> Self {
        Self::with(Connection::Server(tls), observed)
    }

    /// A connection to a backend, fresh from ClientConnection::new.
    pub(crate) fn new_client(tls: ClientConnection) -> Self {
        Self::with(Connection::Client(tls), Observed::default())
    }

    fn with(mut tls: Connection, observed: Observed) -> Self {
        tls.set_buffer_limit(None);
        tlsr_conn {
            tls,
            plaintext: 0,
            failed: None,
            closed: false,
            last_error: String::new(),
            observed,
            flight: FlightWatch::default(),
            inbound: AlertWatch::default(),
        }
    }

    fn is_server(&self) -> bool {
        matches!(self.tls, Connection::Server(_))
    }

    fn version(&self) -> Option<ProtocolVersion> {
        self.tls.protocol_version()
    }

    /// False while handshaking (see tlsr.h).
    fn is_resumed(&self) -> bool {
        if self.tls.is_handshaking() {
            return false;
        }
        match self.version() {
            // rustls 0.20 does not tell a client whether the server resumed: 0 there.
            Some(ProtocolVersion::TLSv1_3) => match &self.tls {
                Connection::Server(server) => server.received_resumption_data().is_some(),
                Connection::Client(_) => false,
            },
            Some(ProtocolVersion::TLSv1_2) => self.is_server() && self.flight.abbreviated(),
            _ => false,
        }
    }

    /// tlsr_conn_session_id, after the handshake. A TLS 1.2 ServerHello that resumes by ticket
    /// echoes the client's new random session id (RFC 5077 3.4), so sessions that involve a
    /// ticket are named by the ticket on both versions; only TLS 1.2 sessions without tickets
    /// by their session id.
    fn session_id(&self) -> Option<&[u8]> {
        let o = &self.observed;
        let tls12 = self.version() == Some(ProtocolVersion::TLSv1_2);
        let (issued, resumed_with): (Option<&TicketHash>, Option<&TicketHash>) = if tls12 {
            (o.ticket_issued.as_ref(), o.ticket_opened.as_ref())
        } else {
            (
                o.ticket_issued.as_ref().or(o.stored.as_ref()),
                o.ticket_opened.as_ref().or(o.taken.as_ref()),
            )
        };
        let session_id = self
            .flight
            .session_id()
            .filter(|id| tls12 && !id.is_empty());
        if self.is_resumed() {
            // rustls tries the ticket first, and the session id only when no ticket was sent.
            resumed_with.map(|h| &h[..]).or(session_id)
        } else {
            issued.map(|h| &h[..]).or(session_id)
        }
    }

    /// Keeps a failure's message (not for the ordinary WOULD_BLOCK, EOF); returns its status.
    fn record(&mut self, failure: Failure) -> tlsr_status {
        if failure.status != TLSR_WOULD_BLOCK && failure.status != TLSR_EOF {
            self.last_error = failure.message;
        }
        failure.status
    }

    fn dead(&self) -> Option<Failure> {
        self.failed
            .map(|status| Failure::new(status, self.last_error.clone()))
    }

    /// Processes the records read so far; a failure kills the connection.
    pub(crate) fn process(&mut self) -> Result<(), Failure> {
        let tls = &mut self.tls;
        let (result, observed) = observe(|| tls.process_new_packets());
        self.observed.merge(observed);
        match result {
            Ok(state) => {
                self.plaintext = state.plaintext_bytes_to_read();
                Ok(())
            }
            Err(err) => {
                let err = match (&err, self.inbound.last_alert()) {
                    (Error::DecryptError, Some(alert)) if self.tls.is_handshaking() => {
                        Error::AlertReceived(AlertDescription::from(alert))
                    }
                    _ => err,
                };
                let mut failure = Failure::from(&err);
                if !self.is_server() {
                    failure.message = for_backend(&failure.message);
                }
                self.failed = Some(failure.status);
                self.last_error = failure.message.clone();
                Err(failure)
            }
        }
    }

    /// Moves every pending TLS byte to `out`.
    pub(crate) fn write_all_tls(&mut self, out: &mut Vec<u8>) {
        while self.tls.wants_write() {
            match self.tls.write_tls(out) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }

    fn read_tls(&mut self, input: &[u8]) -> Result<usize, Failure> {
        if let Some(failure) = self.dead() {
            return Err(failure);
        }
        let mut used = 0;
        while let Some(chunk) = input.get(used..).filter(|rest| !rest.is_empty()) {
            let mut rest = chunk;
            match self.tls.read_tls(&mut rest) {
                Ok(n) if n > 0 => {
                    if self.tls.is_handshaking() {
                        self.inbound.watch(&chunk[..n]);
                    }
                    used += n
                }
                Ok(_) => break,
                // "received plaintext buffer full": the host must read plaintext first.
                Err(_) if self.plaintext > 0 => break,
                Err(err) => return Err(Failure::new(TLSR_TLS_ERROR, err.to_string())),
            }
            self.process()?;
        }
        Ok(used)
    }

    fn write_tls(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        let mut produced = 0;
        while produced < buf.len() && self.tls.wants_write() {
            let mut rest = &mut buf[produced..];
            match self.tls.write_tls(&mut rest) {
                Ok(0) => break,
                Ok(n) => produced += n,
                Err(err) => return Err(Failure::new(TLSR_TLS_ERROR, err.to_string())),
            }
        }
        self.flight.watch(&buf[..produced]);
        Ok(produced)
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        if buf.is_empty() {
            return Err(Failure::new(
                TLSR_INVALID_PARAM,
                "read with a buffer of size 0",
            ));
        }
        match self.tls.reader().read(buf) {
            Ok(0) => Err(Failure::new(TLSR_EOF, "")),
            Ok(n) => {
                self.plaintext = self.plaintext.saturating_sub(n);
                Ok(n)
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Err(self
                .dead()
                .unwrap_or_else(|| Failure::new(TLSR_WOULD_BLOCK, ""))),
            Err(err) => Err(Failure::new(TLSR_TLS_ERROR, err.to_string())),
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<usize, Failure> {
        self.tls
            .writer()
            .write_all(data)
            .map_err(|e| Failure::new(TLSR_BUFFER_LIMIT, format!("write failed: {}", e)))?;
        Ok(data.len())
    }
}

/// The crate's messages speak of "the client" (the peer of a server): on a connection to a
/// backend, the peer is the backend.
fn for_backend(message: &str) -> String {
    message
        .replace("the client", "the backend")
        .replace("client sent", "backend sent")
        .replace("from the client", "from the backend")
}

#[no_mangle]
pub extern "C" fn tlsr_conn_is_client(conn: *const tlsr_conn) -> c_int {
    guard_value(0, || {
        try_ref(conn).map_or(0, |c| c_int::from(!c.is_server()))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_free(conn: *mut tlsr_conn) {
    guard_value((), || drop(box_from_raw(conn)))
}

#[no_mangle]
pub extern "C" fn tlsr_conn_read_tls(
    conn: *mut tlsr_conn,
    buf: *const u8,
    len: usize,
    consumed: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_mut(conn)?;
        let input = try_slice(buf, len)?;
        let consumed = try_mut(consumed)?;
        *consumed = conn.read_tls(input).map_err(|f| conn.record(f))?;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_write_tls(
    conn: *mut tlsr_conn,
    buf: *mut u8,
    cap: usize,
    produced: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_mut(conn)?;
        let buf = try_mut_slice(buf, cap)?;
        let produced = try_mut(produced)?;
        *produced = conn.write_tls(buf).map_err(|f| conn.record(f))?;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_read(
    conn: *mut tlsr_conn,
    buf: *mut u8,
    cap: usize,
    n: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_mut(conn)?;
        let buf = try_mut_slice(buf, cap)?;
        let n = try_mut(n)?;
        *n = conn.read(buf).map_err(|f| conn.record(f))?;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_write(
    conn: *mut tlsr_conn,
    buf: *const u8,
    len: usize,
    n: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_mut(conn)?;
        let data = try_slice(buf, len)?;
        let n = try_mut(n)?;
        *n = conn.write(data).map_err(|f| conn.record(f))?;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_send_close_notify(conn: *mut tlsr_conn) -> tlsr_status {
    guard(|| {
        let conn = try_mut(conn)?;
        if !conn.closed {
            conn.tls.send_close_notify();
            conn.closed = true;
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_is_handshaking(conn: *const tlsr_conn) -> c_int {
    guard_value(0, || {
        try_ref(conn).map_or(0, |c| c_int::from(c.tls.is_handshaking()))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_wants_write(conn: *const tlsr_conn) -> c_int {
    guard_value(0, || {
        try_ref(conn).map_or(0, |c| c_int::from(c.tls.wants_write()))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_plaintext_pending(conn: *const tlsr_conn) -> usize {
    guard_value(0, || try_ref(conn).map_or(0, |c| c.plaintext))
}

#[no_mangle]
pub extern "C" fn tlsr_conn_protocol_version(conn: *const tlsr_conn) -> u16 {
    guard_value(0, || {
        try_ref(conn)
            .ok()
            .and_then(|c| c.tls.protocol_version())
            .map_or(0, |v| v.get_u16())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_cipher_suite(conn: *const tlsr_conn) -> u16 {
    guard_value(0, || {
        try_ref(conn)
            .ok()
            .and_then(|c| c.tls.negotiated_cipher_suite())
            .map_or(0, |s| s.suite().get_u16())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_alpn(
    conn: *const tlsr_conn,
    proto: *mut *const u8,
    len: *mut usize,
) -> tlsr_status {
    guard(|| view_out(try_ref(conn)?.tls.alpn_protocol(), proto, len))
}

#[no_mangle]
pub extern "C" fn tlsr_conn_sni(
    conn: *const tlsr_conn,
    name: *mut *const c_char,
    len: *mut usize,
) -> tlsr_status {
    // c_char and u8 have the same layout: the name is handed out as bytes.
    guard(|| {
        view_out(
            match &try_ref(conn)?.tls {
                Connection::Server(server) => server.sni_hostname().map(str::as_bytes),
                Connection::Client(_) => None,
            },
            name as *mut *const u8,
            len,
        )
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_is_resumed(conn: *const tlsr_conn) -> c_int {
    guard_value(0, || {
        try_ref(conn).map_or(0, |c| c_int::from(c.is_resumed()))
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_session_id(
    conn: *const tlsr_conn,
    id: *mut *const u8,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_ref(conn)?;
        if id.is_null() || len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        if conn.tls.is_handshaking() {
            return Err(TLSR_WRONG_STATE);
        }
        view_out(conn.session_id(), id, len)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_certified_key_index(
    conn: *const tlsr_conn,
    index: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_ref(conn)?;
        let index = try_mut(index)?;
        *index = conn.observed.key_index.ok_or(TLSR_WRONG_STATE)?;
        Ok(())
    })
}

impl tlsr_conn {
    /// The client's certificates after the handshake (rustls restores them on resumption).
    fn peer_certs(&self) -> &[rustls::Certificate] {
        if self.tls.is_handshaking() {
            return &[];
        }
        self.tls.peer_certificates().unwrap_or(&[])
    }
}

#[no_mangle]
pub extern "C" fn tlsr_conn_peer_cert_count(conn: *const tlsr_conn) -> usize {
    guard_value(0, || try_ref(conn).map_or(0, |c| c.peer_certs().len()))
}

#[no_mangle]
pub extern "C" fn tlsr_conn_peer_cert_der(
    conn: *const tlsr_conn,
    index: usize,
    der: *mut *const u8,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let conn = try_ref(conn)?;
        if der.is_null() || len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let cert = conn.peer_certs().get(index).ok_or(TLSR_NOT_FOUND)?;
        view_out(Some(&cert.0), der, len)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_conn_last_error(
    conn: *const tlsr_conn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> tlsr_status {
    guard(|| last_error_out(&try_ref(conn)?.last_error, buf, cap, len))
}
