//! Just enough X.509 (RFC 5280) to read what rustls and webpki do not expose: validity dates,
//! the subject public key, subject alternative names. Built on der.rs; it keeps the raw DER of
//! the other fields (serial, issuer, subject, extensions); names are read by dn.rs.
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
//! TBSCertificate ::= SEQUENCE {
//!     version [0] EXPLICIT INTEGER DEFAULT v1, serialNumber INTEGER,
//!     signature AlgorithmIdentifier, issuer Name, validity SEQUENCE { notBefore, notAfter },
//!     subject Name, subjectPublicKeyInfo SEQUENCE { algorithm, subjectPublicKey BIT STRING },
//!     issuerUniqueID [1] IMPLICIT OPTIONAL, subjectUniqueID [2] IMPLICIT OPTIONAL,
//!     extensions [3] EXPLICIT SEQUENCE OF Extension OPTIONAL }
//! ```

use crate::der::{self, DerError, Reader};
use std::fmt;

/// A parse failure: which part of the certificate, and what was wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    pub field: &'static str,
    pub problem: &'static str,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Attaches the field name to a DER error.
fn at(field: &'static str) -> impl Fn(DerError) -> Error {
    move |e| Error {
        field,
        problem: e.0,
    }
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlgorithmId<'a> {
    /// The OID's content bytes.
    pub oid: &'a [u8],
    pub params: Option<der::Tlv<'a>>,
}

/// The subject's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKeyInfo<'a> {
    pub algorithm: AlgorithmId<'a>,
    /// The BIT STRING's bytes: DER RSAPublicKey for RSA, the point for EC, 32 bytes Ed25519.
    pub key: &'a [u8],
}

/// A UTCTime or GeneralizedTime, still undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// A parsed certificate. Slices borrow from the DER it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// 1, 2 or 3.
    pub version: u8,
    /// The serial number's INTEGER content (big-endian, two's complement).
    pub serial: &'a [u8],
    pub signature_algorithm: AlgorithmId<'a>,
    /// The content of the issuer Name SEQUENCE (its RDNs).
    pub issuer: &'a [u8],
    pub not_before: Time<'a>,
    pub not_after: Time<'a>,
    /// The content of the subject Name SEQUENCE (its RDNs).
    pub subject: &'a [u8],
    pub public_key: PublicKeyInfo<'a>,
    /// The content of the Extensions SEQUENCE, if present.
    pub extensions: Option<&'a [u8]>,
    /// The Certificate's signatureAlgorithm (after the TBS; the one OpenSSL reports).
    pub outer_signature_algorithm: AlgorithmId<'a>,
}

/// Parses a DER certificate, strictly: no trailing bytes anywhere.
pub fn parse(cert_der: &[u8]) -> Result<Certificate<'_>, Error> {
    let cert = der::parse_one(cert_der, der::SEQUENCE).map_err(at("certificate"))?;
    let mut cert = Reader::new(cert);
    let mut tbs = cert.nested(der::SEQUENCE).map_err(at("tbsCertificate"))?;
    let outer_signature_algorithm = read_algorithm(&mut cert).map_err(at("signatureAlgorithm"))?;
    let signature = cert.read(der::BIT_STRING).map_err(at("signatureValue"))?;
    der::bit_string_bytes(signature).map_err(at("signatureValue"))?;
    cert.finish().map_err(at("certificate"))?;

    let version = match tbs.read_optional(der::explicit(0)).map_err(at("version"))? {
        None => 1,
        Some(v) => match der::parse_one(v, der::INTEGER).map_err(at("version"))? {
            &[n @ 0..=2] => n + 1,
            _ => {
                return Err(Error {
                    field: "version",
                    problem: "unknown version",
                })
            }
        },
    };
    let serial = tbs.read(der::INTEGER).map_err(at("serialNumber"))?;
    if serial.is_empty() {
        return Err(Error {
            field: "serialNumber",
            problem: "empty integer",
        });
    }
    let signature_algorithm = read_algorithm(&mut tbs).map_err(at("signature"))?;
    let issuer = tbs.read(der::SEQUENCE).map_err(at("issuer"))?;

    let mut validity = tbs.nested(der::SEQUENCE).map_err(at("validity"))?;
    let not_before = read_time(&mut validity).map_err(at("notBefore"))?;
    let not_after = read_time(&mut validity).map_err(at("notAfter"))?;
    validity.finish().map_err(at("validity"))?;

    let subject = tbs.read(der::SEQUENCE).map_err(at("subject"))?;

    let mut spki = tbs
        .nested(der::SEQUENCE)
        .map_err(at("subjectPublicKeyInfo"))?;
    let algorithm = read_algorithm(&mut spki).map_err(at("subjectPublicKeyInfo"))?;
    let key = spki.read(der::BIT_STRING).map_err(at("subjectPublicKey"))?;
    let key = der::bit_string_bytes(key).map_err(at("subjectPublicKey"))?;
    spki.finish().map_err(at("subjectPublicKeyInfo"))?;

    tbs.read_optional(der::implicit(1))
        .map_err(at("issuerUniqueID"))?;
    tbs.read_optional(der::implicit(2))
        .map_err(at("subjectUniqueID"))?;
    let extensions = match tbs
        .read_optional(der::explicit(3))
        .map_err(at("extensions"))?
    {
        Some(ext) => Some(der::parse_one(ext, der::SEQUENCE).map_err(at("extensions"))?),
        None => None,
    };
    tbs.finish().map_err(at("tbsCertificate"))?;

    Ok(Certificate {
        version,
        serial,
        signature_algorithm,
        issuer,
        not_before,
        not_after,
        subject,
        public_key: PublicKeyInfo { algorithm, key },
        extensions,
        outer_signature_algorithm,
    })
}

/// Reads an `AlgorithmIdentifier` SEQUENCE.
pub fn read_algorithm<'a>(reader: &mut Reader<'a>) -> Result<AlgorithmId<'a>, DerError> {
    let mut alg = reader.nested(der::SEQUENCE)?;
    let oid = alg.read(der::OID)?;
    let params = if alg.is_empty() {
        None
    } else {
        Some(alg.read_any()?)
    };
    alg.finish()?;
    Ok(AlgorithmId { oid, params })
}

/// Reads a `Time` (UTCTime or GeneralizedTime; checked only by [`Time::unix`]).
pub fn read_time<'a>(reader: &mut Reader<'a>) -> Result<Time<'a>, DerError> {
    let tlv = reader.read_any()?;
    match tlv.tag {
        der::UTC_TIME | der::GENERALIZED_TIME => Ok(Time {
            tag: tlv.tag,
            value: tlv.value,
        }),
        _ => Err(DerError("not a time")),
    }
}

impl Certificate<'_> {
    /// (notBefore, notAfter) in seconds since the Unix epoch.
    pub fn validity(&self) -> Result<(i64, i64), Error> {
        let not_before = self.not_before.unix().map_err(at("notBefore"))?;
        let not_after = self.not_after.unix().map_err(at("notAfter"))?;
        Ok((not_before, not_after))
    }
}

/// OID content bytes of the subjectAltName extension (2.5.29.17).
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// GeneralName tags: rfc822Name [1] and dNSName [2], both IMPLICIT IA5String.
pub const SAN_EMAIL: u8 = 0x81;
pub const SAN_DNS: u8 = 0x82;

impl<'a> Certificate<'a> {
    /// The names of the subjectAltName extension, in order, as (GeneralName tag, content).
    /// Empty when there is no such extension, or when it cannot be read or appears twice
    /// (OpenSSL's X509_get_ext_d2i, which mod_ssl uses, gives no names then either).
    pub fn subject_alt_names(&self) -> Vec<(u8, &'a [u8])> {
        self.read_subject_alt_names().unwrap_or_default()
    }

    fn read_subject_alt_names(&self) -> Result<Vec<(u8, &'a [u8])>, DerError> {
        let mut extensions = Reader::new(self.extensions.unwrap_or(&[]));
        let mut found = None;
        while !extensions.is_empty() {
            let mut extension = extensions.nested(der::SEQUENCE)?;
            if extension.read(der::OID)? != OID_SUBJECT_ALT_NAME {
                continue;
            }
            if found.is_some() {
                return Err(DerError("duplicate subjectAltName"));
            }
            extension.read_optional(BOOLEAN)?;
            found = Some(extension.read(der::OCTET_STRING)?);
            extension.finish()?;
        }
        let mut names = Reader::new(der::parse_one(found.unwrap_or(&[0x30, 0]), der::SEQUENCE)?);
        let mut out = Vec::new();
        while !names.is_empty() {
            let name = names.read_any()?;
            out.push((name.tag, name.value));
        }
        Ok(out)
    }
}

const BOOLEAN: u8 = 0x01;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Time<'_> {
    /// As OpenSSL's ASN1_TIME_print: "Nov  8 03:16:00 2026 GMT".
    pub fn openssl_text(&self) -> Result<String, DerError> {
        let (year, month, day, hour, minute, second) = self.fields()?;
        Ok(format!(
            "{} {:2} {:02}:{:02}:{:02} {} GMT",
            MONTHS[(month - 1) as usize],
            day,
            hour,
            minute,
            second,
            year
        ))
    }

    /// Seconds since the Unix epoch. RFC 5280 4.1.2.5: UTCTime is YYMMDDHHMMSSZ with YY < 50
    /// meaning 20YY, GeneralizedTime is YYYYMMDDHHMMSSZ; both in UTC, no fractions.
    pub fn unix(&self) -> Result<i64, DerError> {
        let (year, month, day, hour, minute, second) = self.fields()?;
        let days = days_from_civil(year, month, day);
        Ok(days * 86_400 + hour * 3_600 + minute * 60 + second)
    }

    /// (year, month, day, hour, minute, second), validated.
    fn fields(&self) -> Result<(i64, i64, i64, i64, i64, i64), DerError> {
        let mut digits = Digits(self.value);
        let year = match (self.tag, self.value.len()) {
            (der::UTC_TIME, 13) => match digits.take(2)? {
                yy if yy < 50 => 2000 + yy,
                yy => 1900 + yy,
            },
            (der::GENERALIZED_TIME, 15) => digits.take(4)?,
            _ => return Err(DerError("time is not in the form RFC 5280 requires")),
        };
        let month = digits.take(2)?;
        let day = digits.take(2)?;
        let hour = digits.take(2)?;
        let minute = digits.take(2)?;
        let second = digits.take(2)?;
        if digits.0 != b"Z" {
            return Err(DerError("time is not in UTC (Z)"));
        }
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(DerError("invalid date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(DerError("invalid time of day"));
        }
        Ok((year, month, day, hour, minute, second))
    }
}

/// Consumes ASCII digits from the front of a slice.
struct Digits<'a>(&'a [u8]);

impl Digits<'_> {
    fn take(&mut self, n: usize) -> Result<i64, DerError> {
        if self.0.len() < n {
            return Err(DerError("time too short"));
        }
        let (digits, rest) = self.0.split_at(n);
        self.0 = rest;
        digits.iter().try_fold(0i64, |acc, &d| match d {
            b'0'..=b'9' => Ok(acc * 10 + i64::from(d - b'0')),
            _ => Err(DerError("time contains a non-digit")),
        })
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

// Public key algorithm OIDs (content bytes).
pub(crate) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
pub(crate) const OID_RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
pub(crate) const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
pub(crate) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
pub(crate) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
pub(crate) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_ED448: &[u8] = &[0x2b, 0x65, 0x71];

impl PublicKeyInfo<'_> {
    /// The key type in words, for messages: "RSA", "ECDSA P-256", "Ed25519", ...
    pub fn key_type(&self) -> &'static str {
        let curve = match self.algorithm.params {
            Some(der::Tlv {
                tag: der::OID,
                value,
            }) => value,
            _ => &[],
        };
        match self.algorithm.oid {
            OID_RSA => "RSA",
            OID_RSA_PSS => "RSA-PSS",
            OID_EC if curve == OID_P256 => "ECDSA P-256",
            OID_EC if curve == OID_P384 => "ECDSA P-384",
            OID_EC if curve == OID_P521 => "ECDSA P-521",
            OID_EC => "ECDSA",
            OID_ED25519 => "Ed25519",
            OID_ED448 => "Ed448",
            _ => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(tag: u8, s: &str) -> Result<i64, DerError> {
        Time {
            tag,
            value: s.as_bytes(),
        }
        .unix()
    }

    #[test]
    fn times() {
        assert_eq!(time(der::UTC_TIME, "700101000000Z"), Ok(0));
        assert_eq!(time(der::UTC_TIME, "240101000000Z"), Ok(1_704_067_200));
        assert_eq!(time(der::UTC_TIME, "991231235959Z"), Ok(946_684_799));
        assert_eq!(time(der::UTC_TIME, "491231235959Z"), Ok(2_524_607_999));
        assert_eq!(time(der::UTC_TIME, "500101000000Z"), Ok(-631_152_000));
        assert_eq!(time(der::UTC_TIME, "000229120000Z"), Ok(951_825_600));
        assert_eq!(
            time(der::GENERALIZED_TIME, "21240101000000Z"),
            Ok(4_859_740_800)
        );
        assert_eq!(
            time(der::GENERALIZED_TIME, "99991231235959Z"),
            Ok(253_402_300_799)
        );
        assert_eq!(
            time(der::GENERALIZED_TIME, "19000101000000Z"),
            Ok(-2_208_988_800)
        );
        for bad in [
            "240101000000",
            "240101000000+0100",
            "241301000000Z",
            "240132000000Z",
            "230229000000Z",
            "240101240000Z",
            "240101006000Z",
            "2401010000a0Z",
            "24010100000Z",
            "",
        ] {
            assert!(time(der::UTC_TIME, bad).is_err(), "{}", bad);
        }
        assert!(time(der::GENERALIZED_TIME, "20240101000000.5Z").is_err());
        assert!(time(der::GENERALIZED_TIME, "240101000000Z").is_err());
        assert!(time(der::OCTET_STRING, "240101000000Z").is_err());
    }

    #[test]
    fn openssl_time_text() {
        let text = |tag, s: &str| {
            Time {
                tag,
                value: s.as_bytes(),
            }
            .openssl_text()
        };
        assert_eq!(
            text(der::UTC_TIME, "261108031600Z").as_deref(),
            Ok("Nov  8 03:16:00 2026 GMT")
        );
        assert_eq!(
            text(der::UTC_TIME, "991231235959Z").as_deref(),
            Ok("Dec 31 23:59:59 1999 GMT")
        );
        assert_eq!(
            text(der::GENERALIZED_TIME, "21240101000000Z").as_deref(),
            Ok("Jan  1 00:00:00 2124 GMT")
        );
        assert_eq!(
            text(der::GENERALIZED_TIME, "09990101000000Z").as_deref(),
            Ok("Jan  1 00:00:00 999 GMT")
        );
        assert!(text(der::UTC_TIME, "261308031600Z").is_err());
    }

    #[test]
    fn days_from_civil_matches_day_counting() {
        let mut days = 0;
        for year in 1970..2400 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), days);
                    days += 1;
                }
            }
        }
    }
}
