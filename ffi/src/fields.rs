//! tlsr.h `tlsr_x509`: one certificate's fields as text, in the forms OpenSSL prints them and
//! mod_ssl exports them (SSL_CLIENT_S_DN, SSL_CLIENT_M_SERIAL, SSL_CLIENT_V_START, ...).
//! Everything is computed once by tlsr_x509_parse, so the views handed out stay valid until
//! tlsr_x509_free. Names: dn.rs; OID names: oids.rs; the certificate itself: x509.rs.

use crate::der;
use crate::dn::{self, Attribute};
use crate::oids;
use crate::x509::{self, AlgorithmId, SAN_DNS, SAN_EMAIL};
use crate::*;
use std::os::raw::{c_char, c_int};

/// tlsr.h `tlsr_x509_field`, in order.
const FIELDS: usize = 9;

/// tlsr.h `TLSR_SAN_EMAIL`, `TLSR_SAN_DNS`.
const TLSR_SAN_EMAIL: c_int = 1;
const TLSR_SAN_DNS: c_int = 2;

/// tlsr.h `tlsr_x509`.
#[allow(non_camel_case_types)]
pub struct tlsr_x509 {
    /// Indexed by tlsr_x509_field.
    texts: [String; FIELDS],
    /// (dotted OID, unescaped value) of the subject's and the issuer's attributes, in order.
    subject: Vec<(String, String)>,
    issuer: Vec<(String, String)>,
    /// (GeneralName tag, name) of the subjectAltName extension, in order.
    sans: Vec<(u8, String)>,
    /// (notBefore, notAfter) in seconds since the epoch.
    validity: (i64, i64),
}

impl tlsr_x509 {
    /// None for anything OpenSSL would not load either (or x509.rs cannot read).
    fn parse(der_bytes: &[u8]) -> Option<tlsr_x509> {
        let cert = x509::parse(der_bytes).ok()?;
        let subject = dn::parse(cert.subject).ok()?;
        let issuer = dn::parse(cert.issuer).ok()?;
        let texts = [
            dn::rfc2253(&subject),
            dn::rfc2253(&issuer),
            serial_text(cert.serial)?,
            cert.version.to_string(),
            cert.not_before.openssl_text().ok()?,
            cert.not_after.openssl_text().ok()?,
            algorithm_text(&cert.public_key.algorithm)?,
            algorithm_text(&cert.outer_signature_algorithm)?,
            pem(der_bytes),
        ];
        let values = |attributes: Vec<Attribute>| {
            attributes
                .into_iter()
                .map(|a| {
                    let value = a.value();
                    (a.oid, value)
                })
                .collect()
        };
        let sans = cert
            .subject_alt_names()
            .into_iter()
            .filter(|(tag, _)| *tag == SAN_DNS || *tag == SAN_EMAIL)
            .map(|(tag, name)| (tag, name.iter().map(|&b| char::from(b)).collect()))
            .collect();
        let validity = cert.validity().ok()?;
        Some(tlsr_x509 {
            texts,
            subject: values(subject),
            issuer: values(issuer),
            sans,
            validity,
        })
    }
}

/// OpenSSL's long name of an algorithm, or its dotted OID.
fn algorithm_text(algorithm: &AlgorithmId) -> Option<String> {
    let oid = der::oid_text(algorithm.oid)?;
    Some(oids::algorithm_name(&oid).map_or(oid, str::to_owned))
}

/// As OpenSSL's i2a_ASN1_INTEGER: "-" if negative, the magnitude in upper-case hex (two digits
/// a byte, "00" for zero), a backslash-newline after every 35 bytes. None for an INTEGER that
/// is not minimally encoded (OpenSSL does not load those).
fn serial_text(content: &[u8]) -> Option<String> {
    let (&first, rest) = content.split_first()?;
    let negative = first & 0x80 != 0;
    let digits = match rest.first() {
        None => content,
        Some(&second) => {
            let padded = first == 0 || (first == 0xff && rest.iter().any(|&b| b != 0));
            if padded && (second & 0x80 != 0) == negative {
                return None;
            }
            if padded {
                rest
            } else {
                content
            }
        }
    };
    let mut magnitude = digits.to_vec();
    if negative {
        // Two's complement: invert, add one.
        let mut carry = true;
        for byte in magnitude.iter_mut().rev() {
            let (sum, overflow) = (!*byte).overflowing_add(u8::from(carry));
            *byte = sum;
            carry = overflow;
        }
    }
    let mut out = String::with_capacity(1 + magnitude.len() * 2);
    if negative {
        out.push('-');
    }
    for (i, byte) in magnitude.iter().enumerate() {
        if i != 0 && i % 35 == 0 {
            out.push_str("\\\n");
        }
        out.push_str(&format!("{:02X}", byte));
    }
    Some(out)
}

/// PEM: BEGIN line, base64 in lines of 64 characters, END line; each line ends with "\n".
fn pem(der_bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut base64 = Vec::with_capacity((der_bytes.len() + 2) / 3 * 4);
    for chunk in der_bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                base64.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]);
            } else {
                base64.push(b'=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in base64.chunks(64) {
        out.extend(line.iter().map(|&c| char::from(c)));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn text_out(text: &str, ptr: *mut *const c_char, len: *mut usize) -> Result<(), tlsr_status> {
    // c_char and u8 have the same layout: the text is handed out as bytes.
    view_out(Some(text.as_bytes()), ptr as *mut *const u8, len)
}

#[no_mangle]
pub extern "C" fn tlsr_x509_parse(
    der: *const u8,
    len: usize,
    out: *mut *mut tlsr_x509,
) -> tlsr_status {
    guard(|| {
        if der.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let der = try_slice(der, len)?;
        let out = try_mut(out)?;
        let cert = tlsr_x509::parse(der).ok_or(TLSR_BAD_CERTIFICATE)?;
        *out = box_into_raw(cert);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_x509_free(cert: *mut tlsr_x509) {
    guard_value((), || drop(box_from_raw(cert)))
}

#[no_mangle]
pub extern "C" fn tlsr_x509_text(
    cert: *const tlsr_x509,
    field: c_int,
    text: *mut *const c_char,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let cert = try_ref(cert)?;
        if text.is_null() || len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let index = usize::try_from(field).map_err(|_| TLSR_INVALID_PARAM)?;
        let value = cert.texts.get(index).ok_or(TLSR_INVALID_PARAM)?;
        text_out(value, text, len)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_x509_dn_attr(
    cert: *const tlsr_x509,
    issuer: c_int,
    attr: *const c_char,
    index: usize,
    text: *mut *const c_char,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let cert = try_ref(cert)?;
        let attr = try_c_str(attr)?;
        if text.is_null() || len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let oid = std::str::from_utf8(attr)
            .ok()
            .and_then(oids::dn_attribute_oid)
            .ok_or(TLSR_NOT_FOUND)?;
        let name = if issuer != 0 {
            &cert.issuer
        } else {
            &cert.subject
        };
        let (_, value) = name
            .iter()
            .filter(|(o, _)| o == oid)
            .nth(index)
            .ok_or(TLSR_NOT_FOUND)?;
        text_out(value, text, len)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_x509_validity(
    cert: *const tlsr_x509,
    not_before: *mut i64,
    not_after: *mut i64,
) -> tlsr_status {
    guard(|| {
        let cert = try_ref(cert)?;
        let not_before = try_mut(not_before)?;
        let not_after = try_mut(not_after)?;
        *not_before = cert.validity.0;
        *not_after = cert.validity.1;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_x509_san(
    cert: *const tlsr_x509,
    kind: c_int,
    index: usize,
    text: *mut *const c_char,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let cert = try_ref(cert)?;
        if text.is_null() || len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let tag = match kind {
            TLSR_SAN_EMAIL => SAN_EMAIL,
            TLSR_SAN_DNS => SAN_DNS,
            _ => return Err(TLSR_INVALID_PARAM),
        };
        let (_, name) = cert
            .sans
            .iter()
            .filter(|(t, _)| *t == tag)
            .nth(index)
            .ok_or(TLSR_NOT_FOUND)?;
        text_out(name, text, len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        for (content, text) in [
            (&[0x00][..], Some("00")),
            (&[0x05], Some("05")),
            (&[0x00, 0x80], Some("80")),
            (&[0x7f, 0xff], Some("7FFF")),
            (&[0xfb], Some("-05")),
            (&[0xff], Some("-01")),
            (&[0x80], Some("-80")),
            (&[0xff, 0x7f], Some("-81")),
            (&[0xff, 0x00], Some("-0100")),
            (&[0x80, 0x00], Some("-8000")),
            (&[0x00, 0x05], None),
            (&[0xff, 0x80], None),
            (&[], None),
        ] {
            assert_eq!(serial_text(content).as_deref(), text, "{:02x?}", content);
        }
        let long = [&[0u8][..], &[0xab; 40]].concat();
        assert_eq!(
            serial_text(&long).unwrap(),
            format!("{}\\\n{}", "AB".repeat(35), "AB".repeat(5))
        );
        assert_eq!(serial_text(&[0x12; 35]).unwrap(), "12".repeat(35));
    }

    #[test]
    fn pem_lines() {
        assert_eq!(
            pem(b""),
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(
            pem(b"\x00\xff\xfe"),
            "-----BEGIN CERTIFICATE-----\nAP/+\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(pem(b"ab").lines().nth(1), Some("YWI="));
        assert_eq!(pem(b"a").lines().nth(1), Some("YQ=="));
        let text = pem(&[7u8; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            [lines[1].len(), lines[2].len(), lines[3].len()],
            [64, 64, 8]
        );
    }
}
