//! Certificate revocation lists (RFC 5280 section 5): parsing, signature verification with a
//! CA's key, and the PEM envelope ("X509 CRL" sections). Built on der.rs and x509.rs; like them
//! it takes untrusted bytes and never panics: every length is checked, the work is linear in
//! the input.
//!
//! ```text
//! CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
//! TBSCertList ::= SEQUENCE {
//!     version INTEGER OPTIONAL (v2 = 1), signature AlgorithmIdentifier, issuer Name,
//!     thisUpdate Time, nextUpdate Time OPTIONAL,
//!     revokedCertificates SEQUENCE OF SEQUENCE {
//!         userCertificate INTEGER, revocationDate Time, crlEntryExtensions Extensions OPTIONAL
//!     } OPTIONAL,
//!     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
//! ```
//!
//! Only complete CRLs are understood: a critical extension this module does not handle (an
//! issuing distribution point, a delta CRL indicator, an indirect CRL's certificate issuer)
//! makes the CRL unusable, as RFC 5280 5.2 requires.

use crate::der::{self, DerError, Reader};
use crate::x509::{self, AlgorithmId, Error, PublicKeyInfo, Time};
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

/// Attaches the field name to a DER error.
fn at(field: &'static str) -> impl Fn(DerError) -> Error {
    move |e| Error {
        field,
        problem: e.0,
    }
}

fn error(field: &'static str, problem: &'static str) -> Error {
    Error { field, problem }
}

/// A parsed CRL. Slices borrow from the DER it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl<'a> {
    /// The whole TBSCertList element (tag, length, content): the signed bytes.
    pub tbs: &'a [u8],
    /// 1 or 2.
    pub version: u8,
    /// The content of the issuer Name SEQUENCE (its RDNs), as in x509::Certificate.
    pub issuer: &'a [u8],
    pub this_update: Time<'a>,
    pub next_update: Option<Time<'a>>,
    /// The revoked serial numbers: INTEGER contents, in the order listed.
    pub revoked: Vec<&'a [u8]>,
    /// The signatureAlgorithm (equal to the one inside the TBSCertList).
    pub signature_algorithm: AlgorithmId<'a>,
    /// The signature's bytes.
    pub signature: &'a [u8],
}

/// CRL extensions (content bytes of their OIDs) that may be critical: handled or harmless.
const OID_ISSUER_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x12];
const OID_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const OID_AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
/// CRL entry extensions that may be critical.
const OID_REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const OID_INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];

const BOOLEAN: u8 = 0x01;

/// Parses a DER CRL, strictly: one element, no trailing bytes anywhere, valid times, no
/// critical extension it does not know.
pub fn parse(crl_der: &[u8]) -> Result<Crl<'_>, Error> {
    let list = der::parse_one(crl_der, der::SEQUENCE).map_err(at("certificateList"))?;
    let mut list = Reader::new(list);
    let (tbs_tlv, tbs) = list.read_element().map_err(at("tbsCertList"))?;
    if tbs_tlv.tag != der::SEQUENCE {
        return Err(error("tbsCertList", "unexpected element"));
    }
    let signature_algorithm = x509::read_algorithm(&mut list).map_err(at("signatureAlgorithm"))?;
    let signature = list.read(der::BIT_STRING).map_err(at("signatureValue"))?;
    let signature = der::bit_string_bytes(signature).map_err(at("signatureValue"))?;
    list.finish().map_err(at("certificateList"))?;

    let mut tbs_reader = Reader::new(tbs_tlv.value);
    let version = match tbs_reader
        .read_optional(der::INTEGER)
        .map_err(at("version"))?
    {
        None => 1,
        Some(&[0]) => 1,
        Some(&[1]) => 2,
        Some(_) => return Err(error("version", "unknown version")),
    };
    let inner_algorithm = x509::read_algorithm(&mut tbs_reader).map_err(at("signature"))?;
    if inner_algorithm != signature_algorithm {
        return Err(error(
            "signature",
            "differs from the signatureAlgorithm outside the tbsCertList",
        ));
    }
    let issuer = tbs_reader.read(der::SEQUENCE).map_err(at("issuer"))?;
    let this_update = x509::read_time(&mut tbs_reader).map_err(at("thisUpdate"))?;
    this_update.unix().map_err(at("thisUpdate"))?;
    let next_update = match tbs_reader.peek_tag() {
        Some(der::UTC_TIME) | Some(der::GENERALIZED_TIME) => {
            let time = x509::read_time(&mut tbs_reader).map_err(at("nextUpdate"))?;
            time.unix().map_err(at("nextUpdate"))?;
            Some(time)
        }
        _ => None,
    };
    let mut revoked = Vec::new();
    if let Some(entries) = tbs_reader
        .read_optional(der::SEQUENCE)
        .map_err(at("revokedCertificates"))?
    {
        let mut entries = Reader::new(entries);
        while !entries.is_empty() {
            let mut entry = entries
                .nested(der::SEQUENCE)
                .map_err(at("revokedCertificates"))?;
            let serial = entry.read(der::INTEGER).map_err(at("userCertificate"))?;
            if serial.is_empty() {
                return Err(error("userCertificate", "empty integer"));
            }
            let date = x509::read_time(&mut entry).map_err(at("revocationDate"))?;
            date.unix().map_err(at("revocationDate"))?;
            if let Some(extensions) = entry
                .read_optional(der::SEQUENCE)
                .map_err(at("crlEntryExtensions"))?
            {
                check_extensions(
                    extensions,
                    &[OID_REASON_CODE, OID_INVALIDITY_DATE],
                    "crlEntryExtensions",
                )?;
            }
            entry.finish().map_err(at("revokedCertificates"))?;
            revoked.push(serial);
        }
    }
    if let Some(extensions) = tbs_reader
        .read_optional(der::explicit(0))
        .map_err(at("crlExtensions"))?
    {
        let extensions = der::parse_one(extensions, der::SEQUENCE).map_err(at("crlExtensions"))?;
        check_extensions(
            extensions,
            &[OID_CRL_NUMBER, OID_AUTHORITY_KEY_ID, OID_ISSUER_ALT_NAME],
            "crlExtensions",
        )?;
    }
    tbs_reader.finish().map_err(at("tbsCertList"))?;

    Ok(Crl {
        tbs,
        version,
        issuer,
        this_update,
        next_update,
        revoked,
        signature_algorithm,
        signature,
    })
}

/// Reads `Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
/// extnValue OCTET STRING }` (the content of the outer SEQUENCE); fails on a critical one whose
/// OID is not in `handled`.
fn check_extensions(content: &[u8], handled: &[&[u8]], field: &'static str) -> Result<(), Error> {
    let mut extensions = Reader::new(content);
    while !extensions.is_empty() {
        let mut extension = extensions.nested(der::SEQUENCE).map_err(at(field))?;
        let oid = extension.read(der::OID).map_err(at(field))?;
        let critical = match extension.read_optional(BOOLEAN).map_err(at(field))? {
            None => false,
            Some(&[0x00]) => false,
            Some(&[0xff]) => true,
            Some(_) => return Err(error(field, "invalid BOOLEAN")),
        };
        extension.read(der::OCTET_STRING).map_err(at(field))?;
        extension.finish().map_err(at(field))?;
        if critical && !handled.contains(&oid) {
            return Err(error(
                field,
                match oid {
                    [0x55, 0x1d, 0x1c] => {
                        "critical issuingDistributionPoint (partitioned CRLs are not supported)"
                    }
                    [0x55, 0x1d, 0x1b] => {
                        "critical deltaCRLIndicator (delta CRLs are not supported)"
                    }
                    [0x55, 0x1d, 0x1d] => {
                        "critical certificateIssuer (indirect CRLs are not supported)"
                    }
                    _ => "unsupported critical extension",
                },
            ));
        }
    }
    Ok(())
}

/// A serial number as compared: the INTEGER's content without leading zero bytes (so "00 80"
/// and "80" are the same serial; a CA that forgot the sign byte still matches).
pub fn normalize_serial(serial: &[u8]) -> &[u8] {
    let zeros = serial.iter().take_while(|&&b| b == 0).count();
    &serial[zeros..]
}

/// A serial number for messages: upper-case hex, two digits a byte, as OpenSSL prints
/// positive serials ("1A2B", "0100"); "00" for zero.
pub fn serial_hex(serial: &[u8]) -> String {
    let bytes = normalize_serial(serial);
    if bytes.is_empty() {
        return "00".into();
    }
    bytes.iter().map(|b| format!("{:02X}", b)).collect()
}

// Signature algorithm OIDs (content bytes).
const OID_SHA256_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
const NULL: u8 = 0x05;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_oid(oid: &[u8]) -> Option<Hash> {
        match oid {
            OID_SHA256 => Some(Hash::Sha256),
            OID_SHA384 => Some(Hash::Sha384),
            OID_SHA512 => Some(Hash::Sha512),
            _ => None,
        }
    }

    fn len(self) -> u8 {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

/// Why a CRL's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The algorithm (its OpenSSL name or dotted OID) is not one we verify.
    Unsupported(String),
    /// The algorithm does not fit the CA's key (key type in words).
    KeyMismatch(String, &'static str),
    /// It does not verify.
    Invalid,
}

/// The algorithm's name for messages.
fn algorithm_name(algorithm: &AlgorithmId) -> String {
    match der::oid_text(algorithm.oid) {
        Some(dotted) => crate::oids::algorithm_name(&dotted).map_or(dotted, str::to_owned),
        None => "an invalid OID".into(),
    }
}

/// An AlgorithmIdentifier whose parameters are absent or NULL.
fn no_params(algorithm: &AlgorithmId) -> bool {
    match algorithm.params {
        None => true,
        Some(tlv) => tlv.tag == NULL && tlv.value.is_empty(),
    }
}

/// The hash of `AlgorithmIdentifier` content read from an EXPLICIT tag's content.
fn hash_algorithm(explicit_content: &[u8]) -> Option<Hash> {
    let mut reader = Reader::new(explicit_content);
    let algorithm = x509::read_algorithm(&mut reader).ok()?;
    reader.finish().ok()?;
    if !no_params(&algorithm) {
        return None;
    }
    Hash::from_oid(algorithm.oid)
}

/// RSASSA-PSS-params with the same hash for the message and MGF1, a salt as long as the hash
/// and the standard trailer: the only form ring verifies (and every CA makes).
fn pss_hash(params: Option<der::Tlv>) -> Option<Hash> {
    let params = params?;
    if params.tag != der::SEQUENCE {
        return None;
    }
    let mut reader = Reader::new(params.value);
    let hash = hash_algorithm(reader.read(der::explicit(0)).ok()?)?;
    let mut mgf = Reader::new(reader.read(der::explicit(1)).ok()?);
    let mgf_algorithm = x509::read_algorithm(&mut mgf).ok()?;
    mgf.finish().ok()?;
    if mgf_algorithm.oid != OID_MGF1 {
        return None;
    }
    let mgf_hash = mgf_algorithm.params.filter(|p| p.tag == der::SEQUENCE)?;
    let mut mgf_hash_reader = Reader::new(mgf_hash.value);
    let inner = x509::AlgorithmId {
        oid: mgf_hash_reader.read(der::OID).ok()?,
        params: if mgf_hash_reader.is_empty() {
            None
        } else {
            Some(mgf_hash_reader.read_any().ok()?)
        },
    };
    mgf_hash_reader.finish().ok()?;
    if !no_params(&inner) || Hash::from_oid(inner.oid) != Some(hash) {
        return None;
    }
    let salt = der::parse_one(reader.read(der::explicit(2)).ok()?, der::INTEGER).ok()?;
    if salt != [hash.len()] {
        return None;
    }
    if let Some(trailer) = reader.read_optional(der::explicit(3)).ok()? {
        if der::parse_one(trailer, der::INTEGER).ok()? != [1] {
            return None;
        }
    }
    reader.finish().ok()?;
    Some(hash)
}

/// The CA key's kind, as far as the verification algorithms care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
    Other,
}

fn key_kind(key: &PublicKeyInfo) -> KeyKind {
    let curve = match key.algorithm.params {
        Some(der::Tlv {
            tag: der::OID,
            value,
        }) => value,
        _ => &[],
    };
    match key.algorithm.oid {
        x509::OID_RSA | x509::OID_RSA_PSS => KeyKind::Rsa,
        x509::OID_EC if curve == x509::OID_P256 => KeyKind::P256,
        x509::OID_EC if curve == x509::OID_P384 => KeyKind::P384,
        x509::OID_ED25519 => KeyKind::Ed25519,
        _ => KeyKind::Other,
    }
}

/// Verifies the CRL's signature with the CA's public key (RSA PKCS#1 v1.5 and PSS with
/// SHA-256/384/512, ECDSA P-256 and P-384 with SHA-256/384, Ed25519).
pub fn verify_signature(crl: &Crl, ca_key: &PublicKeyInfo) -> Result<(), SignatureError> {
    let algorithm = &crl.signature_algorithm;
    let unsupported = || SignatureError::Unsupported(algorithm_name(algorithm));
    let kind = key_kind(ca_key);
    let mismatch = || SignatureError::KeyMismatch(algorithm_name(algorithm), ca_key.key_type());
    let ring_algorithm: &'static dyn VerificationAlgorithm = match algorithm.oid {
        OID_SHA256_RSA | OID_SHA384_RSA | OID_SHA512_RSA => {
            if !no_params(algorithm) {
                return Err(unsupported());
            }
            if kind != KeyKind::Rsa {
                return Err(mismatch());
            }
            match algorithm.oid {
                OID_SHA256_RSA => &signature::RSA_PKCS1_2048_8192_SHA256,
                OID_SHA384_RSA => &signature::RSA_PKCS1_2048_8192_SHA384,
                _ => &signature::RSA_PKCS1_2048_8192_SHA512,
            }
        }
        x509::OID_RSA_PSS => {
            let hash = pss_hash(algorithm.params).ok_or_else(|| {
                SignatureError::Unsupported(
                    "rsassaPss with parameters other than the same SHA-2 hash for message \
                     and MGF1 and a salt as long as the hash"
                        .into(),
                )
            })?;
            if kind != KeyKind::Rsa {
                return Err(mismatch());
            }
            match hash {
                Hash::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
                Hash::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
                Hash::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
            }
        }
        OID_ECDSA_SHA256 | OID_ECDSA_SHA384 => {
            if algorithm.params.is_some() {
                return Err(unsupported());
            }
            let sha256 = algorithm.oid == OID_ECDSA_SHA256;
            match (kind, sha256) {
                (KeyKind::P256, true) => &signature::ECDSA_P256_SHA256_ASN1,
                (KeyKind::P256, false) => &signature::ECDSA_P256_SHA384_ASN1,
                (KeyKind::P384, true) => &signature::ECDSA_P384_SHA256_ASN1,
                (KeyKind::P384, false) => &signature::ECDSA_P384_SHA384_ASN1,
                _ => return Err(mismatch()),
            }
        }
        x509::OID_ED25519 => {
            if algorithm.params.is_some() {
                return Err(unsupported());
            }
            if kind != KeyKind::Ed25519 {
                return Err(mismatch());
            }
            &signature::ED25519
        }
        _ => return Err(unsupported()),
    };
    UnparsedPublicKey::new(ring_algorithm, ca_key.key)
        .verify(crl.tbs, crl.signature)
        .map_err(|_| SignatureError::Invalid)
}

// ---------------------------------------------------------------------------------------------
// PEM

/// What was wrong with PEM input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemError(pub String);

/// Whether `data` looks like PEM (has a BEGIN line) rather than DER.
pub fn is_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The decoded contents of every `label` section ("X509 CRL") of PEM text, in order. Text
/// outside sections and sections with other labels are ignored (as OpenSSL does); a section
/// of ours that is not closed or not valid base64 is an error.
pub fn pem_sections(data: &[u8], label: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let begin = format!("-----BEGIN {}-----", label);
    let end = format!("-----END {}-----", label);
    let mut sections = Vec::new();
    // Some(base64 so far) while inside one of our sections; `other` inside another section.
    let mut inside: Option<Vec<u8>> = None;
    let mut other: Option<Vec<u8>> = None;
    for line in data.split(|&b| b == b'\n') {
        let line = trim(line);
        if let Some(closing) = &other {
            if line == &closing[..] {
                other = None;
            }
            continue;
        }
        match inside.as_mut() {
            None if line == begin.as_bytes() => inside = Some(Vec::new()),
            None => {
                if let Some(name) = line
                    .strip_prefix(b"-----BEGIN ")
                    .and_then(|rest| rest.strip_suffix(b"-----"))
                {
                    other = Some([&b"-----END "[..], name, b"-----"].concat());
                }
            }
            Some(text) if line == end.as_bytes() => {
                let n = sections.len() + 1;
                let der = base64_decode(text).ok_or_else(|| {
                    PemError(format!("{} section {} is not valid base64", label, n))
                })?;
                sections.push(der);
                inside = None;
            }
            Some(_) if line.starts_with(b"-----") => {
                return Err(PemError(format!(
                    "{} section {} is not closed by an END line",
                    label,
                    sections.len() + 1
                )))
            }
            Some(text) => text.extend_from_slice(line),
        }
    }
    if inside.is_some() {
        return Err(PemError(format!(
            "{} section {} is not closed by an END line",
            label,
            sections.len() + 1
        )));
    }
    Ok(sections)
}

fn trim(mut line: &[u8]) -> &[u8] {
    while let Some((last, rest)) = line.split_last() {
        if last.is_ascii_whitespace() {
            line = rest;
        } else {
            break;
        }
    }
    while let Some((first, rest)) = line.split_first() {
        if first.is_ascii_whitespace() {
            line = rest;
        } else {
            break;
        }
    }
    line
}

/// Standard base64 (RFC 4648 section 4) with optional padding; whitespace is ignored. None
/// for anything else, also for data after the padding and non-zero trailing bits.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = 0usize;
    let mut digits = 0usize;
    for &c in text {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return None;
        }
        let v = value(c)?;
        digits += 1;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero; 1 leftover digit (6 bits) cannot encode a byte.
    if acc != 0 || digits % 4 == 1 {
        return None;
    }
    if padding > 0 && (digits + padding) % 4 != 0 || padding > 2 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if value.len() < 0x80 {
            out.push(value.len() as u8);
        } else if value.len() < 0x100 {
            out.push(0x81);
            out.push(value.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    fn ecdsa256() -> Vec<u8> {
        tlv(der::SEQUENCE, &tlv(der::OID, OID_ECDSA_SHA256))
    }

    fn name() -> Vec<u8> {
        let cn = tlv(
            der::SEQUENCE,
            &[tlv(der::OID, &[0x55, 0x04, 0x03]), tlv(0x0c, b"ca")].concat(),
        );
        tlv(der::SEQUENCE, &tlv(der::SET, &cn))
    }

    fn utc(s: &str) -> Vec<u8> {
        tlv(der::UTC_TIME, s.as_bytes())
    }

    fn entry(serial: &[u8], extensions: Option<Vec<u8>>) -> Vec<u8> {
        let mut parts = vec![tlv(der::INTEGER, serial), utc("240101000000Z")];
        if let Some(e) = extensions {
            parts.push(e);
        }
        tlv(der::SEQUENCE, &parts.concat())
    }

    fn extension(oid: &[u8], critical: bool) -> Vec<u8> {
        let mut parts = vec![tlv(der::OID, oid)];
        if critical {
            parts.push(vec![BOOLEAN, 1, 0xff]);
        }
        parts.push(tlv(der::OCTET_STRING, &[0x02, 0x01, 0x01]));
        tlv(der::SEQUENCE, &parts.concat())
    }

    /// A CRL with the given TBS parts (between version and the end) and a dummy signature.
    fn crl(tbs_parts: &[Vec<u8>]) -> Vec<u8> {
        let tbs = tlv(der::SEQUENCE, &tbs_parts.concat());
        tlv(
            der::SEQUENCE,
            &[tbs, ecdsa256(), tlv(der::BIT_STRING, &[0, 1, 2, 3])].concat(),
        )
    }

    fn full() -> Vec<u8> {
        crl(&[
            tlv(der::INTEGER, &[1]),
            ecdsa256(),
            name(),
            utc("240101000000Z"),
            tlv(der::GENERALIZED_TIME, b"20990101000000Z"),
            tlv(
                der::SEQUENCE,
                &[
                    entry(&[0x1a, 0x2b], None),
                    entry(
                        &[0x00, 0x80],
                        Some(tlv(der::SEQUENCE, &extension(OID_REASON_CODE, false))),
                    ),
                ]
                .concat(),
            ),
            tlv(
                der::explicit(0),
                &tlv(der::SEQUENCE, &extension(OID_CRL_NUMBER, false)),
            ),
        ])
    }

    #[test]
    fn parses_all_fields() {
        let der = full();
        let list = parse(&der).unwrap();
        assert_eq!(list.version, 2);
        assert_eq!(list.this_update.unix(), Ok(1_704_067_200));
        assert_eq!(list.next_update.unwrap().unix(), Ok(4_070_908_800));
        assert_eq!(list.revoked, vec![&[0x1a, 0x2b][..], &[0x00, 0x80][..]]);
        assert_eq!(list.signature, &[1, 2, 3]);
        assert_eq!(list.signature_algorithm.oid, OID_ECDSA_SHA256);
        assert_eq!(&name()[2..], list.issuer);
        assert_eq!(list.tbs.first(), Some(&der::SEQUENCE));

        // v1: no version, no nextUpdate, no entries, no extensions
        let der = crl(&[ecdsa256(), name(), utc("240101000000Z")]);
        let v1 = parse(&der).unwrap();
        assert_eq!((v1.version, v1.next_update, v1.revoked.len()), (1, None, 0));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let base = |extra: Vec<Vec<u8>>| {
            let mut parts = vec![ecdsa256(), name(), utc("240101000000Z")];
            parts.extend(extra);
            crl(&parts)
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                base(vec![tlv(
                    der::explicit(0),
                    &tlv(der::SEQUENCE, &extension(&[0x55, 0x1d, 0x1c], true)),
                )]),
                "issuingDistributionPoint",
            ),
            (
                base(vec![tlv(
                    der::explicit(0),
                    &tlv(der::SEQUENCE, &extension(&[0x55, 0x1d, 0x1b], true)),
                )]),
                "delta",
            ),
            (
                base(vec![tlv(
                    der::SEQUENCE,
                    &entry(
                        &[1],
                        Some(tlv(der::SEQUENCE, &extension(&[0x55, 0x1d, 0x1d], true))),
                    ),
                )]),
                "indirect",
            ),
            (base(vec![utc("241301000000Z")]), "invalid date"),
            (base(vec![tlv(der::SEQUENCE, &entry(&[], None))]), "empty"),
            (base(vec![vec![0x05, 0x00]]), "trailing"),
            (
                crl(&[
                    tlv(der::INTEGER, &[2]),
                    ecdsa256(),
                    name(),
                    utc("240101000000Z"),
                ]),
                "version",
            ),
            (
                crl(&[
                    tlv(der::SEQUENCE, &tlv(der::OID, OID_ECDSA_SHA384)),
                    name(),
                    utc("240101000000Z"),
                ]),
                "differs",
            ),
        ];
        for (der, why) in cases {
            let err = parse(&der).unwrap_err();
            assert!(err.to_string().contains(why), "{}: {}", why, err);
        }
        // A non-critical unknown extension is fine.
        let der = base(vec![tlv(
            der::explicit(0),
            &tlv(der::SEQUENCE, &extension(&[0x55, 0x1d, 0x1c], false)),
        )]);
        assert!(parse(&der).is_ok());
    }

    #[test]
    fn never_panics_on_truncated_or_mutated_input() {
        let der = full();
        for len in 0..der.len() {
            assert!(parse(&der[..len]).is_err());
        }
        for i in 0..der.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = der.clone();
                bad[i] ^= flip;
                let _ = parse(&bad);
            }
        }
    }

    #[test]
    fn serials() {
        assert_eq!(normalize_serial(&[0, 0x80]), &[0x80]);
        assert_eq!(normalize_serial(&[0x1a, 0x2b]), &[0x1a, 0x2b]);
        assert_eq!(normalize_serial(&[0, 0, 1]), &[1]);
        assert_eq!(normalize_serial(&[0]), &[] as &[u8]);
        assert_eq!(serial_hex(&[0x1a, 0x2b]), "1A2B");
        assert_eq!(serial_hex(&[0x01, 0x00]), "0100");
        assert_eq!(serial_hex(&[0x00, 0x80]), "80");
        assert_eq!(serial_hex(&[0x00]), "00");
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(base64_decode(b"YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode(b"YWI=").as_deref(), Some(&b"ab"[..]));
        assert_eq!(base64_decode(b"YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(base64_decode(b"YW\r\n Jj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(base64_decode(b"YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(
            base64_decode(b"AP/+").as_deref(),
            Some(&[0, 0xff, 0xfe][..])
        );
        for bad in [
            &b"Y"[..],
            b"YQ==YQ==",
            b"YR==",
            b"Y===",
            b"YQ=",
            b"a!bc",
            b"YWJjZ",
        ] {
            assert_eq!(base64_decode(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn pem() {
        let text = b"junk\n-----BEGIN X509 CRL-----\r\nYWJj\r\n-----END X509 CRL-----\r\n\
            -----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n\
            -----BEGIN X509 CRL-----\nYQ==\n-----END X509 CRL-----";
        assert!(is_pem(text));
        assert_eq!(
            pem_sections(text, "X509 CRL"),
            Ok(vec![b"abc".to_vec(), b"a".to_vec()])
        );
        assert_eq!(pem_sections(b"nothing", "X509 CRL"), Ok(vec![]));
        assert!(pem_sections(b"-----BEGIN X509 CRL-----\nYWJj\n", "X509 CRL").is_err());
        assert!(pem_sections(
            b"-----BEGIN X509 CRL-----\n!!\n-----END X509 CRL-----",
            "X509 CRL"
        )
        .is_err());
        assert!(pem_sections(
            b"-----BEGIN X509 CRL-----\nYWJj\n-----BEGIN X509 CRL-----\n",
            "X509 CRL"
        )
        .is_err());
        assert!(!is_pem(&full()));
    }
}
