//! Certified keys: a certificate chain from PEM, its private key, and the checks rustls 0.20
//! does not do (the key belongs to the certificate; the certificates are X.509).

use crate::status::Failure;
use crate::*;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use rustls::sign::{self, CertifiedKey, SigningKey};
use rustls::{Certificate, PrivateKey, SignatureScheme};
use rustls_pemfile::Item;
use std::os::raw::c_char;
use std::sync::{Arc, RwLock};

/// tlsr.h `tlsr_certified_key`: shared, handed out as an `Arc`. Immutable but for its OCSP
/// response: rustls' `CertifiedKey` carries the staple, so the current one is swapped as a
/// whole (`tlsr_certified_key_set_ocsp`) while configs hold this object.
#[allow(non_camel_case_types)]
pub struct tlsr_certified_key {
    current: RwLock<Arc<CertifiedKey>>,
    /// The chain, leaf first: borrowed views (`tlsr_certified_key_cert_der`) point here, and
    /// this never changes, whatever happens to the staple.
    certs: Vec<Certificate>,
    /// The leaf's (notBefore, notAfter), or why its dates could not be read.
    validity: Result<(i64, i64), String>,
}

impl tlsr_certified_key {
    fn load(cert_pem: &[u8], key_pem: Option<&[u8]>) -> Result<Self, Failure> {
        let items = read_pem(cert_pem, "certificate")?;
        let certs: Vec<Certificate> = items
            .iter()
            .filter_map(|item| match item {
                Item::X509Certificate(der) => Some(Certificate(der.clone())),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(Failure::new(
                TLSR_NO_CERTIFICATE,
                "no CERTIFICATE section found",
            ));
        }

        let (key_items, key_text) = match key_pem {
            Some(pem) => (read_pem(pem, "private key")?, pem),
            None => (items, cert_pem),
        };
        let key_der = key_items.into_iter().find_map(|item| match item {
            Item::PKCS8Key(der) | Item::RSAKey(der) | Item::ECKey(der) => Some(der),
            _ => None,
        });
        let key_der = match key_der {
            Some(der) => der,
            None if is_encrypted(key_text) => {
                return Err(Failure::new(
                    TLSR_NO_PRIVATE_KEY,
                    "encrypted private keys are not supported; store the key unencrypted",
                ))
            }
            None => {
                return Err(Failure::new(
                    TLSR_NO_PRIVATE_KEY,
                    "no PRIVATE KEY section found",
                ))
            }
        };
        let key = sign::any_supported_type(&PrivateKey(key_der)).map_err(|_| {
            Failure::new(
                TLSR_UNSUPPORTED_KEY,
                "the private key is malformed or of an unsupported type \
                 (supported: RSA 2048-8192 bits, ECDSA P-256 and P-384, Ed25519)",
            )
        })?;

        let parsed = certs
            .iter()
            .enumerate()
            .map(|(i, cert)| {
                x509::parse(&cert.0).map_err(|e| {
                    let which = match i {
                        0 => "the first certificate".to_string(),
                        _ => format!("certificate {}", i + 1),
                    };
                    Failure::new(
                        TLSR_BAD_CERTIFICATE,
                        format!("{} is not valid X.509 ({})", which, e),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let leaf = &parsed[0];
        check_key_matches(key.as_ref(), &leaf.public_key)?;
        let validity = leaf
            .validity()
            .map_err(|e| format!("the certificate's validity cannot be read ({})", e));
        drop(parsed);

        Ok(tlsr_certified_key {
            current: RwLock::new(Arc::new(CertifiedKey::new(certs.clone(), key))),
            certs,
            validity,
        })
    }

    /// The key as rustls should use it now, with the latest OCSP response.
    pub(crate) fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the stapled OCSP response (None: staple nothing). Handshakes that already
    /// resolved their certificate keep the one they got.
    pub(crate) fn set_ocsp(&self, der: Option<Vec<u8>>) {
        let mut guard = match self.current.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if guard.ocsp == der {
            return;
        }
        let mut next = CertifiedKey::clone(&guard);
        next.ocsp = der;
        *guard = Arc::new(next);
    }
}

/// The DER of every CERTIFICATE section of `pem` (possibly none).
pub(crate) fn read_certificates(pem: &[u8], what: &str) -> Result<Vec<Vec<u8>>, Failure> {
    Ok(read_pem(pem, what)?
        .into_iter()
        .filter_map(|item| match item {
            Item::X509Certificate(der) => Some(der),
            _ => None,
        })
        .collect())
}

/// All PEM sections of `pem`, with useful errors for input that is not PEM at all.
fn read_pem(pem: &[u8], what: &str) -> Result<Vec<Item>, Failure> {
    if !contains(pem, b"-----BEGIN ") {
        return Err(Failure::new(
            TLSR_PEM_ERROR,
            format!("no PEM data found in the {} input", what),
        ));
    }
    if is_legacy_encrypted(pem) {
        // rustls-pemfile would try to decode the "Proc-Type" header lines as base64.
        return Err(Failure::new(
            TLSR_NO_PRIVATE_KEY,
            "encrypted private keys are not supported; store the key unencrypted",
        ));
    }
    rustls_pemfile::read_all(&mut &*pem).map_err(|e| {
        Failure::new(
            TLSR_PEM_ERROR,
            format!("malformed PEM in the {} input: {}", what, e),
        )
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// PKCS#8 "ENCRYPTED PRIVATE KEY" (skipped by rustls-pemfile), or a legacy encrypted key.
fn is_encrypted(pem: &[u8]) -> bool {
    contains(pem, b"-----BEGIN ENCRYPTED PRIVATE KEY-----") || is_legacy_encrypted(pem)
}

/// OpenSSL's traditional encryption: "Proc-Type: 4,ENCRYPTED" inside a key section.
fn is_legacy_encrypted(pem: &[u8]) -> bool {
    contains(pem, b"Proc-Type: 4,ENCRYPTED")
}

/// rustls 0.20 never checks that the private key belongs to the certificate. We sign a fixed
/// message with the key and verify the signature with the certificate's public key (ring takes
/// the SubjectPublicKeyInfo's BIT STRING as is for RSA, ECDSA and Ed25519 keys).
fn check_key_matches(key: &dyn SigningKey, cert_key: &x509::PublicKeyInfo) -> Result<(), Failure> {
    const MESSAGE: &[u8] = b"tlsr: does this private key belong to the certificate?";
    let offered = [
        SignatureScheme::ED25519,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::ECDSA_NISTP384_SHA384,
        SignatureScheme::RSA_PSS_SHA256,
    ];
    let cannot_sign =
        |what: &str| Failure::new(TLSR_UNSUPPORTED_KEY, format!("the private key {}", what));
    let signer = key
        .choose_scheme(&offered)
        .ok_or_else(|| cannot_sign("cannot sign"))?;
    let (algorithm, key_type): (&'static dyn VerificationAlgorithm, &str) = match signer.scheme() {
        SignatureScheme::ED25519 => (&signature::ED25519, "Ed25519"),
        SignatureScheme::ECDSA_NISTP256_SHA256 => {
            (&signature::ECDSA_P256_SHA256_ASN1, "ECDSA P-256")
        }
        SignatureScheme::ECDSA_NISTP384_SHA384 => {
            (&signature::ECDSA_P384_SHA384_ASN1, "ECDSA P-384")
        }
        SignatureScheme::RSA_PSS_SHA256 => (&signature::RSA_PSS_2048_8192_SHA256, "RSA"),
        _ => return Err(cannot_sign("chose an unexpected signature scheme")),
    };
    let sig = signer
        .sign(MESSAGE)
        .map_err(|_| cannot_sign("failed to sign"))?;
    UnparsedPublicKey::new(algorithm, cert_key.key)
        .verify(MESSAGE, &sig)
        .map_err(|_| {
            Failure::new(
                TLSR_KEY_MISMATCH,
                format!(
                    "the private key ({}) does not belong to the certificate (which has a {} key)",
                    key_type,
                    cert_key.key_type()
                ),
            )
        })
}

#[no_mangle]
pub extern "C" fn tlsr_certified_key_load(
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
    out: *mut *const tlsr_certified_key,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "loading the key", || {
        if cert_pem.is_null() || out.is_null() {
            return Err(Failure::new(
                TLSR_NULL_PARAM,
                "NULL argument (cert_pem and out are required)",
            ));
        }
        let cert_pem = try_slice(cert_pem, cert_len)?;
        let key_pem = if key_pem.is_null() {
            None
        } else {
            Some(try_slice(key_pem, key_len)?)
        };
        let out = try_mut(out)?;
        *out = Arc::into_raw(Arc::new(tlsr_certified_key::load(cert_pem, key_pem)?));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_certified_key_free(key: *const tlsr_certified_key) {
    guard_value((), || arc_release(key))
}

#[no_mangle]
pub extern "C" fn tlsr_certified_key_validity(
    key: *const tlsr_certified_key,
    not_before: *mut i64,
    not_after: *mut i64,
) -> tlsr_status {
    guard(|| {
        let key = try_ref(key)?;
        let not_before = try_mut(not_before)?;
        let not_after = try_mut(not_after)?;
        let (from, until) = key.validity.clone().map_err(|_| TLSR_BAD_CERTIFICATE)?;
        *not_before = from;
        *not_after = until;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_certified_key_chain_len(key: *const tlsr_certified_key) -> usize {
    guard_value(0, || try_ref(key).map(|key| key.certs.len()).unwrap_or(0))
}

#[no_mangle]
pub extern "C" fn tlsr_certified_key_cert_der(
    key: *const tlsr_certified_key,
    index: usize,
    der: *mut *const u8,
    len: *mut usize,
) -> tlsr_status {
    guard(|| {
        let key = try_ref(key)?;
        let der = try_mut(der)?;
        let len = try_mut(len)?;
        let cert = key.certs.get(index).ok_or(TLSR_INVALID_PARAM)?;
        *der = cert.0.as_ptr();
        *len = cert.0.len();
        Ok(())
    })
}

/// Largest OCSP response accepted for stapling (a TLS 1.2 CertificateStatus carries at most
/// 2^24 - 1 bytes; real responses are a few KiB).
const OCSP_MAX: usize = 64 * 1024;

#[no_mangle]
pub extern "C" fn tlsr_certified_key_set_ocsp(
    key: *const tlsr_certified_key,
    der: *const u8,
    len: usize,
) -> tlsr_status {
    guard(|| {
        let key = try_ref(key)?;
        if len > OCSP_MAX {
            return Err(TLSR_INVALID_PARAM);
        }
        let der = try_slice(der, len)?;
        key.set_ocsp(if der.is_empty() {
            None
        } else {
            Some(der.to_vec())
        });
        Ok(())
    })
}
