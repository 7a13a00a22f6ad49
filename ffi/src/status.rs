//! Statuses, and the one place that maps rustls errors to statuses, messages and alerts.

use rustls::{AlertDescription, Error};
use std::fmt;
use std::os::raw::{c_char, c_int};

/// tlsr.h `tlsr_status`. Only returned to C, never taken from it (C may pass any int; see
/// tlsr_status_str).
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum tlsr_status {
    TLSR_OK = 0,
    TLSR_WOULD_BLOCK = 1,
    TLSR_EOF = 2,
    TLSR_NOT_FOUND = 3,
    TLSR_NULL_PARAM = 100,
    TLSR_INVALID_PARAM = 101,
    TLSR_WRONG_STATE = 102,
    TLSR_PANIC = 103,
    TLSR_PEM_ERROR = 200,
    TLSR_NO_CERTIFICATE = 201,
    TLSR_NO_PRIVATE_KEY = 202,
    TLSR_UNSUPPORTED_KEY = 203,
    TLSR_KEY_MISMATCH = 204,
    TLSR_BAD_CERTIFICATE = 205,
    TLSR_NO_CIPHER_SUITES = 206,
    TLSR_CONFIG_ERROR = 207,
    TLSR_BAD_CRL = 208,
    TLSR_NOT_TLS = 300,
    TLSR_CORRUPT_MESSAGE = 301,
    TLSR_NO_SHARED_VERSION = 302,
    TLSR_NO_SHARED_CIPHER = 303,
    TLSR_NO_SUITABLE_CERT = 304,
    TLSR_PEER_INCOMPATIBLE = 305,
    TLSR_PEER_MISBEHAVED = 306,
    TLSR_ALERT_RECEIVED = 307,
    TLSR_DECRYPT_ERROR = 308,
    TLSR_BUFFER_LIMIT = 309,
    TLSR_PEER_CERT_MISSING = 310,
    TLSR_PEER_CERT_REFUSED = 311,
    TLSR_TLS_ERROR = 399,
}
pub use tlsr_status::*;

/// NUL-terminated descriptions, for tlsr_status_str.
fn describe(status: c_int) -> &'static str {
    match status {
        0 => "success\0",
        1 => "more data needed\0",
        2 => "the peer closed the connection\0",
        3 => "no such entry\0",
        100 => "a required argument was NULL\0",
        101 => "invalid argument\0",
        102 => "call not valid in this state\0",
        103 => "internal error (panic)\0",
        200 => "malformed PEM data\0",
        201 => "no certificate found\0",
        202 => "no usable private key found\0",
        203 => "unsupported private key type\0",
        204 => "private key does not match the certificate\0",
        205 => "invalid X.509 certificate\0",
        206 => "no cipher suite left for the enabled TLS versions\0",
        207 => "invalid TLS configuration\0",
        208 => "invalid CRL, or not signed by a trusted CA\0",
        300 => "client did not speak TLS\0",
        301 => "malformed TLS message\0",
        302 => "no TLS version in common\0",
        303 => "no cipher suite in common\0",
        304 => "no certificate suitable for the client\0",
        305 => "client is incompatible\0",
        306 => "client violated the TLS protocol\0",
        307 => "client sent a fatal alert\0",
        308 => "TLS record failed to decrypt\0",
        309 => "buffer limit exceeded\0",
        310 => "client sent no certificate\0",
        311 => "client certificate refused\0",
        399 => "TLS error\0",
        _ => "unknown status\0",
    }
}

#[no_mangle]
pub extern "C" fn tlsr_status_str(status: c_int) -> *const c_char {
    describe(status).as_ptr() as *const c_char
}

/// A failed call: its status and a message for the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: tlsr_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: tlsr_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

/// A bare status (from the pointer helpers) with its standard description.
impl From<tlsr_status> for Failure {
    fn from(status: tlsr_status) -> Self {
        let text = describe(status as c_int);
        Failure::new(status, &text[..text.len() - 1])
    }
}

impl From<&Error> for Failure {
    fn from(err: &Error) -> Self {
        Failure::new(status_of(err), message_of(err))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// rustls' text for "the cert resolver returned nothing" (server/hs.rs).
const NO_CERT_RESOLVED: &str = "no server certificate chain resolved";

/// What a PeerIncompatibleError (rustls 0.20.8 server/*.rs) is about.
#[derive(PartialEq)]
enum Incompatible {
    Version,
    Cipher,
    Other,
}

fn incompatible(why: &str) -> Incompatible {
    // "TLS1.2 not offered/enabled", "Client does not support TLSv1_2",
    // "Server requires TLS1.3, but client omitted versions ext"
    if why.contains("TLS1") || why.contains("TLSv1") {
        Incompatible::Version
    } else if why.contains("ciphersuites") {
        Incompatible::Cipher
    } else {
        Incompatible::Other
    }
}

/// The status for a rustls error.
pub(crate) fn status_of(err: &Error) -> tlsr_status {
    match err {
        Error::PeerIncompatibleError(why) => match incompatible(why) {
            Incompatible::Version => TLSR_NO_SHARED_VERSION,
            Incompatible::Cipher => TLSR_NO_SHARED_CIPHER,
            Incompatible::Other => TLSR_PEER_INCOMPATIBLE,
        },
        Error::General(why) if why == NO_CERT_RESOLVED => TLSR_NO_SUITABLE_CERT,
        Error::NoApplicationProtocol => TLSR_PEER_INCOMPATIBLE,
        Error::CorruptMessage
        | Error::CorruptMessagePayload(_)
        | Error::PeerSentOversizedRecord => TLSR_CORRUPT_MESSAGE,
        Error::InappropriateMessage { .. }
        | Error::InappropriateHandshakeMessage { .. }
        | Error::PeerMisbehavedError(_) => TLSR_PEER_MISBEHAVED,
        Error::AlertReceived(_) => TLSR_ALERT_RECEIVED,
        Error::DecryptError => TLSR_DECRYPT_ERROR,
        Error::NoCertificatesPresented => TLSR_PEER_CERT_MISSING,
        // On a server these come only from the client's certificate: our verifier
        // (clientauth.rs: InvalidCertificateData with its message) and rustls' check of the
        // client's CertificateVerify signature.
        Error::InvalidCertificateData(_)
        | Error::InvalidCertificateEncoding
        | Error::InvalidCertificateSignature
        | Error::InvalidCertificateSignatureType => TLSR_PEER_CERT_REFUSED,
        _ => TLSR_TLS_ERROR,
    }
}

/// A message in plain words for a rustls error.
pub(crate) fn message_of(err: &Error) -> String {
    match err {
        Error::PeerIncompatibleError(why) => match why.as_str() {
            "TLS1.2 not offered/enabled" => {
                "no TLS version in common: the client offers none that the server enables".into()
            }
            "Client does not support TLSv1_2" => {
                "the client supports only TLS versions older than 1.2".into()
            }
            "Server requires TLS1.3, but client omitted versions ext" => {
                "the server requires TLS 1.3, which the client does not offer".into()
            }
            "no ciphersuites in common" => "no cipher suite in common with the client".into(),
            "client didn't describe signature schemes" => {
                "the client sent no signature algorithms (is it older than TLS 1.2?)".into()
            }
            "no supported group" | "no kx group overlap with client" => {
                "no key exchange group in common with the client".into()
            }
            "no overlapping sigschemes" => "no signature scheme in common with the client".into(),
            "client did not offer Null compression" => {
                "the client requires TLS compression, which is not supported".into()
            }
            _ => format!("the client is incompatible: {}", why),
        },
        Error::General(why) if why == NO_CERT_RESOLVED => {
            "no configured certificate has a key type the client accepts".into()
        }
        Error::NoApplicationProtocol => {
            "the client offers no ALPN protocol that the server supports".into()
        }
        Error::CorruptMessage => "the client sent a malformed TLS record".into(),
        Error::CorruptMessagePayload(typ) => {
            format!("the client sent a malformed {} message", words(typ))
        }
        Error::PeerSentOversizedRecord => "the client sent an oversized TLS record".into(),
        Error::InappropriateMessage {
            expect_types,
            got_type,
        } => format!(
            "the client sent an unexpected {} message (expected {})",
            words(got_type),
            any_of(expect_types)
        ),
        Error::InappropriateHandshakeMessage {
            expect_types,
            got_type,
        } => format!(
            "the client sent an unexpected {} handshake message (expected {})",
            words(got_type),
            any_of(expect_types)
        ),
        Error::PeerMisbehavedError(why) => format!("the client violated the TLS protocol: {}", why),
        Error::AlertReceived(alert) if refuses_certificate(alert) => format!(
            "client sent fatal alert: {} (it does not accept the server's certificate)",
            words(alert)
        ),
        Error::AlertReceived(alert) => format!("client sent fatal alert: {}", words(alert)),
        Error::DecryptError => {
            "a TLS record from the client failed to decrypt (corrupted or forged)".into()
        }
        Error::NoCertificatesPresented => {
            "client authentication is required, but the client sent no certificate".into()
        }
        Error::InvalidCertificateData(why) => why.clone(),
        Error::InvalidCertificateEncoding => "client certificate is not valid DER".into(),
        Error::InvalidCertificateSignature => {
            "the client's signature with its certificate's key (CertificateVerify) does not verify"
                .into()
        }
        Error::InvalidCertificateSignatureType => {
            "the client signed with a scheme its certificate's key does not support".into()
        }
        other => other.to_string(),
    }
}

/// Whether an alert says that the peer refuses the certificate it was shown (untrusted CA,
/// expired, wrong name, ...), which an admin wants told apart from other alerts.
fn refuses_certificate(alert: &AlertDescription) -> bool {
    matches!(
        alert,
        AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
    )
}

/// The fatal alert description to send for an error, for the cases where rustls 0.20.8 drops
/// the connection (and its queued alert) itself: Acceptor::accept and Accepted::into_connection.
/// Mirrors what rustls would have sent. None after the client's own fatal alert.
pub(crate) fn alert_for(err: &Error) -> Option<u8> {
    Some(match err {
        Error::AlertReceived(_) => return None,
        Error::PeerIncompatibleError(why) if incompatible(why) == Incompatible::Version => {
            ALERT_PROTOCOL_VERSION
        }
        Error::PeerIncompatibleError(why) if why.contains("compression") => ALERT_ILLEGAL_PARAMETER,
        Error::PeerIncompatibleError(_) => ALERT_HANDSHAKE_FAILURE,
        Error::General(why) if why == NO_CERT_RESOLVED => ALERT_HANDSHAKE_FAILURE,
        Error::NoApplicationProtocol => ALERT_NO_APPLICATION_PROTOCOL,
        Error::CorruptMessage | Error::CorruptMessagePayload(_) => ALERT_DECODE_ERROR,
        Error::PeerSentOversizedRecord => ALERT_RECORD_OVERFLOW,
        Error::DecryptError => ALERT_BAD_RECORD_MAC,
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            ALERT_UNEXPECTED_MESSAGE
        }
        Error::PeerMisbehavedError(why) if why.contains("duplicate") || why.contains("binder") => {
            ALERT_DECODE_ERROR
        }
        Error::PeerMisbehavedError(why) if why.contains("pending fragment") => {
            ALERT_UNEXPECTED_MESSAGE
        }
        Error::PeerMisbehavedError(_) => ALERT_ILLEGAL_PARAMETER,
        Error::NoCertificatesPresented => ALERT_CERTIFICATE_REQUIRED,
        Error::InvalidCertificateData(_)
        | Error::InvalidCertificateEncoding
        | Error::InvalidCertificateSignature
        | Error::InvalidCertificateSignatureType => ALERT_HANDSHAKE_FAILURE,
        _ => ALERT_INTERNAL_ERROR,
    })
}

// Alert descriptions (RFC 8446 section 6).
pub(crate) const ALERT_UNEXPECTED_MESSAGE: u8 = 10;
pub(crate) const ALERT_BAD_RECORD_MAC: u8 = 20;
pub(crate) const ALERT_RECORD_OVERFLOW: u8 = 22;
pub(crate) const ALERT_HANDSHAKE_FAILURE: u8 = 40;
pub(crate) const ALERT_ILLEGAL_PARAMETER: u8 = 47;
pub(crate) const ALERT_DECODE_ERROR: u8 = 50;
pub(crate) const ALERT_PROTOCOL_VERSION: u8 = 70;
pub(crate) const ALERT_INTERNAL_ERROR: u8 = 80;
pub(crate) const ALERT_NO_APPLICATION_PROTOCOL: u8 = 120;
pub(crate) const ALERT_CERTIFICATE_REQUIRED: u8 = 116;

/// A plaintext fatal alert record, as sent before any keys are agreed.
pub(crate) fn alert_record(description: u8) -> [u8; 7] {
    [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
}

/// rustls enum values in words: `HandshakeFailure` -> "handshake failure",
/// `UnknownPSKIdentity` -> "unknown psk identity", `Unknown(99)` -> "unknown (99)".
/// "a or b or c", in words.
fn any_of<T: fmt::Debug>(values: &[T]) -> String {
    values.iter().map(words).collect::<Vec<_>>().join(" or ")
}

pub(crate) fn words(value: &impl fmt::Debug) -> String {
    let name = format!("{:?}", value);
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 {
            chars.get(i - 1).copied()
        } else {
            None
        };
        let next = chars.get(i + 1).copied();
        let starts_word = c.is_ascii_uppercase()
            && match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.map_or(false, |n| n.is_ascii_lowercase()),
                _ => false,
            };
        if starts_word || (c == '(' && prev.is_some()) {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{AlertDescription, ContentType, HandshakeType};

    #[test]
    fn words_reads_well() {
        assert_eq!(
            words(&AlertDescription::HandshakeFailure),
            "handshake failure"
        );
        assert_eq!(words(&AlertDescription::UnknownCA), "unknown ca");
        assert_eq!(
            words(&AlertDescription::UnknownPSKIdentity),
            "unknown psk identity"
        );
        assert_eq!(words(&AlertDescription::Unknown(99)), "unknown (99)");
        assert_eq!(words(&ContentType::ApplicationData), "application data");
        assert_eq!(words(&HandshakeType::ClientHello), "client hello");
    }

    #[test]
    fn alert_message() {
        let err = Error::AlertReceived(AlertDescription::HandshakeFailure);
        assert_eq!(status_of(&err), TLSR_ALERT_RECEIVED);
        assert_eq!(
            message_of(&err),
            "client sent fatal alert: handshake failure"
        );
        assert_eq!(alert_for(&err), None);
        // a client that refuses our certificate says so with an alert: the message tells
        for (alert, name) in [
            (AlertDescription::UnknownCA, "unknown ca"),
            (AlertDescription::BadCertificate, "bad certificate"),
            (AlertDescription::CertificateExpired, "certificate expired"),
        ] {
            let err = Error::AlertReceived(alert);
            assert_eq!(status_of(&err), TLSR_ALERT_RECEIVED);
            assert_eq!(
                message_of(&err),
                format!(
                    "client sent fatal alert: {} (it does not accept the server's certificate)",
                    name
                )
            );
        }
        let err = Error::AlertReceived(AlertDescription::ProtocolVersion);
        assert_eq!(
            message_of(&err),
            "client sent fatal alert: protocol version"
        );
    }

    #[test]
    fn rustls_texts_map_to_statuses() {
        let cases = [
            ("TLS1.2 not offered/enabled", TLSR_NO_SHARED_VERSION, 70),
            (
                "Client does not support TLSv1_2",
                TLSR_NO_SHARED_VERSION,
                70,
            ),
            (
                "Server requires TLS1.3, but client omitted versions ext",
                TLSR_NO_SHARED_VERSION,
                70,
            ),
            ("no ciphersuites in common", TLSR_NO_SHARED_CIPHER, 40),
            (
                "client didn't describe signature schemes",
                TLSR_PEER_INCOMPATIBLE,
                40,
            ),
            (
                "client did not offer Null compression",
                TLSR_PEER_INCOMPATIBLE,
                47,
            ),
        ];
        for (why, status, alert) in cases {
            let err = Error::PeerIncompatibleError(why.into());
            assert_eq!(status_of(&err), status, "{}", why);
            assert_eq!(alert_for(&err), Some(alert), "{}", why);
            assert!(
                !message_of(&err).contains("TLSv1_2"),
                "{}",
                message_of(&err)
            );
        }
        let err = Error::General(NO_CERT_RESOLVED.into());
        assert_eq!(status_of(&err), TLSR_NO_SUITABLE_CERT);
        assert_eq!(alert_for(&err), Some(40));
        assert_eq!(status_of(&Error::CorruptMessage), TLSR_CORRUPT_MESSAGE);
        assert_eq!(
            status_of(&Error::PeerSentOversizedRecord),
            TLSR_CORRUPT_MESSAGE
        );
        assert_eq!(status_of(&Error::DecryptError), TLSR_DECRYPT_ERROR);
        let err = Error::InappropriateHandshakeMessage {
            expect_types: vec![HandshakeType::ClientHello],
            got_type: HandshakeType::Finished,
        };
        assert_eq!(status_of(&err), TLSR_PEER_MISBEHAVED);
        assert_eq!(
            message_of(&err),
            "the client sent an unexpected finished handshake message (expected client hello)"
        );
        assert_eq!(status_of(&Error::FailedToGetRandomBytes), TLSR_TLS_ERROR);
    }

    #[test]
    fn client_certificate_errors() {
        let err = Error::NoCertificatesPresented;
        assert_eq!(status_of(&err), TLSR_PEER_CERT_MISSING);
        assert_eq!(
            message_of(&err),
            "client authentication is required, but the client sent no certificate"
        );
        assert_eq!(alert_for(&err), Some(116));
        let err = Error::InvalidCertificateData("client certificate revoked (serial 01)".into());
        assert_eq!(status_of(&err), TLSR_PEER_CERT_REFUSED);
        assert_eq!(message_of(&err), "client certificate revoked (serial 01)");
        assert_eq!(alert_for(&err), Some(40));
        for err in [
            Error::InvalidCertificateEncoding,
            Error::InvalidCertificateSignature,
            Error::InvalidCertificateSignatureType,
        ] {
            assert_eq!(status_of(&err), TLSR_PEER_CERT_REFUSED);
            assert!(message_of(&err).contains("client"), "{}", message_of(&err));
        }
    }
}
