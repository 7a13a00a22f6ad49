//! Client authentication (tlsr.h `tlsr_client_auth`): trust anchors, revocation lists, the
//! verification depth, and the rustls `ClientCertVerifier` that applies them.
//!
//! A client's certificate is verified in three steps:
//!
//! 1. Paths by names: from the client's certificate, the issuer name of each certificate is
//!    looked up among the anchors' subjects (a path is found) and among the subjects of the
//!    other certificates the client sent (each used once per path), depth first, in the order
//!    webpki would try them; the search is bounded (name_paths). The anchor's depth is the
//!    number of certificates walked.
//! 2. webpki 0.22 against the anchors, given the certificates of one such path at a time
//!    until one verifies: signatures, validity at the time of the handshake,
//!    extendedKeyUsage clientAuth, CA constraints, name constraints. (Given all the client's
//!    certificates at once, webpki 0.22.0 would search every combination itself, in time
//!    exponential in their number: RUSTSEC-2023-0052.) Then the verified path's depth: more
//!    than `max_depth` refuses.
//! 3. Revocation: each certificate of that path below the anchor is looked up in the CRLs of
//!    its issuer (issuer names compared as DER bytes, serials as unsigned numbers). A listed
//!    serial refuses it; so does an expired CRL of its issuer (as OpenSSL does). An issuer
//!    without a CRL is not checked.
//!
//! CRLs are checked when they are added: each must be signed by a trust anchor whose subject
//! is the CRL's issuer (crl.rs verifies the signature with ring). So CRLs of an intermediate
//! CA can be used only when that intermediate is itself configured as a trust anchor.
//!
//! A failure reaches rustls as `Error::InvalidCertificateData(message)`; status.rs maps it to
//! TLSR_PEER_CERT_REFUSED and passes the message on as the connection's last error.

use crate::certkey;
use crate::crl::{self, SignatureError};
use crate::dn;
use crate::status;
use crate::status::Failure;
use crate::x509::{self, Certificate};
use crate::*;
use rustls::server::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedNames, OwnedTrustAnchor, RootCertStore};
use std::os::raw::{c_char, c_int, c_uint};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// tlsr.h `TLSR_CLIENT_AUTH_OPTIONAL`, `TLSR_CLIENT_AUTH_REQUIRED`.
const TLSR_CLIENT_AUTH_OPTIONAL: c_int = 1;
const TLSR_CLIENT_AUTH_REQUIRED: c_int = 2;

/// The signature algorithms webpki may use for certificates: the ones rustls 0.20.8 uses.
static SIGNATURE_ALGORITHMS: &[&webpki::SignatureAlgorithm] = &[
    &webpki::ECDSA_P256_SHA256,
    &webpki::ECDSA_P256_SHA384,
    &webpki::ECDSA_P384_SHA256,
    &webpki::ECDSA_P384_SHA384,
    &webpki::ED25519,
    &webpki::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    &webpki::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    &webpki::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    &webpki::RSA_PKCS1_2048_8192_SHA256,
    &webpki::RSA_PKCS1_2048_8192_SHA384,
    &webpki::RSA_PKCS1_2048_8192_SHA512,
    &webpki::RSA_PKCS1_3072_8192_SHA384,
];

/// A trust anchor: what webpki needs, and what CRL checks and messages need.
struct Anchor {
    /// The DER certificate.
    der: Vec<u8>,
    /// webpki's parts: the subject Name's content, the SubjectPublicKeyInfo's content, the
    /// name constraints.
    subject: Vec<u8>,
    spki: Vec<u8>,
    name_constraints: Option<Vec<u8>>,
    subject_text: String,
}

impl Anchor {
    fn webpki(&self) -> webpki::TrustAnchor<'_> {
        webpki::TrustAnchor {
            subject: &self.subject,
            spki: &self.spki,
            name_constraints: self.name_constraints.as_deref(),
        }
    }
}

/// A CRL that was added: only what the checks and tlsr_client_auth_crl_info need.
struct Crl {
    /// The issuer Name's content (DER).
    issuer: Vec<u8>,
    issuer_text: String,
    this_update: i64,
    /// nextUpdate: seconds since the epoch, and the time as OpenSSL prints it.
    next_update: Option<(i64, String)>,
    /// Normalized serials (crl::normalize_serial), sorted, without duplicates.
    revoked: Vec<Vec<u8>>,
}

impl Crl {
    fn lists(&self, serial: &[u8]) -> bool {
        let serial = crl::normalize_serial(serial);
        self.revoked
            .binary_search_by(|s| s.as_slice().cmp(serial))
            .is_ok()
    }
}

/// A path by names from a client's certificate to an anchor: the indexes of the client's
/// other certificates walked (from its own certificate's issuer up) and the anchor reached.
struct NamePath<'s> {
    via: Vec<usize>,
    anchor: &'s Anchor,
}

/// The state of name_paths' search.
struct Search<'i, 'c, 's> {
    intermediates: &'i [Option<Certificate<'c>>],
    used: Vec<bool>,
    via: Vec<usize>,
    steps: usize,
    found: Vec<NamePath<'s>>,
}

/// Bounds of the path search (name_paths).
const MAX_PATHS: usize = 4;
const MAX_STEPS: usize = 256;
const MAX_INTERMEDIATES: usize = 6;

/// tlsr.h `tlsr_client_auth`: made by tlsr_client_auth_new, completed by add_crls, then shared
/// (an `Arc`) by the builders and configs it is given to, immutable from then on.
#[allow(non_camel_case_types)]
pub struct tlsr_client_auth {
    anchors: Vec<Anchor>,
    /// The anchors' subjects as rustls sends them in a CertificateRequest.
    subjects: DistinguishedNames,
    mandatory: bool,
    max_depth: u32,
    crls: Vec<Crl>,
    /// Given to a builder: add_crls is refused from then on.
    shared: AtomicBool,
}

/// A Name's content in RFC 2253 form, for messages.
fn name_text(content: &[u8]) -> String {
    match dn::parse(content) {
        Ok(attributes) if attributes.is_empty() => "an empty name".into(),
        Ok(attributes) => dn::rfc2253(&attributes),
        Err(_) => "an unreadable name".into(),
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn time_text(time: &x509::Time) -> String {
    time.openssl_text()
        .unwrap_or_else(|_| "an unreadable time".into())
}

impl tlsr_client_auth {
    fn new(ca_pem: &[u8], mode: c_int, max_depth: c_uint) -> Result<Self, Failure> {
        let mandatory = match mode {
            TLSR_CLIENT_AUTH_OPTIONAL => false,
            TLSR_CLIENT_AUTH_REQUIRED => true,
            _ => {
                return Err(Failure::new(
                    TLSR_INVALID_PARAM,
                    format!("unknown client authentication mode {}", mode),
                ))
            }
        };
        let certs = certkey::read_certificates(ca_pem, "CA certificate")?;
        if certs.is_empty() {
            return Err(Failure::new(
                TLSR_NO_CERTIFICATE,
                "no CERTIFICATE section found in the CA certificates",
            ));
        }
        let mut anchors = Vec::with_capacity(certs.len());
        let mut store = RootCertStore::empty();
        for (i, der) in certs.into_iter().enumerate() {
            let bad = |why: String| {
                Failure::new(
                    TLSR_BAD_CERTIFICATE,
                    format!(
                        "CA certificate {} cannot be used as a trust anchor ({})",
                        i + 1,
                        why
                    ),
                )
            };
            let parsed = x509::parse(&der).map_err(|e| bad(e.to_string()))?;
            let subject_text = name_text(parsed.subject);
            let anchor = webpki::TrustAnchor::try_from_cert_der(&der)
                .map_err(|e| bad(format!("{}: {}", subject_text, status::words(&e))))?;
            store.add_server_trust_anchors(std::iter::once(
                OwnedTrustAnchor::from_subject_spki_name_constraints(
                    anchor.subject,
                    anchor.spki,
                    anchor.name_constraints,
                ),
            ));
            let anchor = Anchor {
                subject: anchor.subject.to_vec(),
                spki: anchor.spki.to_vec(),
                name_constraints: anchor.name_constraints.map(<[u8]>::to_vec),
                subject_text,
                der: der.clone(),
            };
            anchors.push(anchor);
        }
        #[allow(deprecated)] // OwnedTrustAnchor::subject() would need the SEQUENCE wrapping
        let subjects = store.subjects();
        Ok(tlsr_client_auth {
            anchors,
            subjects,
            mandatory,
            max_depth,
            crls: Vec::new(),
            shared: AtomicBool::new(false),
        })
    }

    /// Parses and checks every CRL of `data`; adds all or none. Returns how many.
    fn add_crls(&mut self, data: &[u8]) -> Result<usize, Failure> {
        let bad = |message: String| Failure::new(TLSR_BAD_CRL, message);
        let ders = if crl::is_pem(data) {
            let sections = crl::pem_sections(data, "X509 CRL").map_err(|e| bad(e.0))?;
            if sections.is_empty() {
                return Err(bad("no X509 CRL section found".into()));
            }
            sections
        } else if data.is_empty() {
            return Err(bad("no CRL found (the input is empty)".into()));
        } else {
            vec![data.to_vec()]
        };
        let several = ders.len() > 1;
        let mut added = Vec::with_capacity(ders.len());
        for (i, der) in ders.iter().enumerate() {
            let which = if several {
                format!("CRL {}", i + 1)
            } else {
                "CRL".to_string()
            };
            added.push(
                self.check_crl(der)
                    .map_err(|why| bad(format!("{} {}", which, why)))?,
            );
        }
        let n = added.len();
        self.crls.extend(added);
        Ok(n)
    }

    /// One DER CRL, verified with the key of an anchor named as its issuer. The error is the
    /// rest of a message that starts with "CRL".
    fn check_crl(&self, der: &[u8]) -> Result<Crl, String> {
        let parsed = crl::parse(der).map_err(|e| format!("is not a valid CRL ({})", e))?;
        let issuer_text = name_text(parsed.issuer);
        let candidates: Vec<&Anchor> = self
            .anchors
            .iter()
            .filter(|a| a.subject == parsed.issuer)
            .collect();
        if candidates.is_empty() {
            return Err(format!(
                "of {} is not issued by one of the trusted CAs (no CA certificate has that subject)",
                issuer_text
            ));
        }
        let mut failure = None;
        for anchor in candidates {
            let cert = match x509::parse(&anchor.der) {
                Ok(cert) => cert,
                Err(e) => {
                    failure = Some(format!("CA certificate unreadable: {}", e));
                    continue;
                }
            };
            match crl::verify_signature(&parsed, &cert.public_key) {
                Ok(()) => {
                    failure = None;
                    break;
                }
                Err(SignatureError::Invalid) => {
                    failure = Some("its signature does not verify with the CA's key".into())
                }
                Err(SignatureError::Unsupported(alg)) => {
                    failure = Some(format!("its signature algorithm {} is not supported", alg))
                }
                Err(SignatureError::KeyMismatch(alg, key)) => {
                    failure = Some(format!(
                        "its signature algorithm {} does not fit the CA's {} key",
                        alg, key
                    ))
                }
            }
        }
        if let Some(why) = failure {
            return Err(format!("of {}: {}", issuer_text, why));
        }
        let unix = |time: &x509::Time| {
            time.unix()
                .map_err(|e| format!("of {}: {}", issuer_text, e))
        };
        let this_update = unix(&parsed.this_update)?;
        let next_update = match &parsed.next_update {
            Some(time) => Some((unix(time)?, time_text(time))),
            None => None,
        };
        let mut revoked: Vec<Vec<u8>> = parsed
            .revoked
            .iter()
            .map(|s| crl::normalize_serial(s).to_vec())
            .collect();
        revoked.sort_unstable();
        revoked.dedup();
        Ok(Crl {
            issuer: parsed.issuer.to_vec(),
            issuer_text,
            this_update,
            next_update,
            revoked,
        })
    }

    fn anchor_named(&self, name: &[u8]) -> Option<&Anchor> {
        self.anchors.iter().find(|a| a.subject == name)
    }

    /// Verifies a client's certificate chain at `now`. The error is the message for the
    /// administrator.
    pub(crate) fn verify(
        &self,
        end_entity: &[u8],
        intermediates: &[&[u8]],
        now: SystemTime,
    ) -> Result<(), String> {
        let webpki_ee = webpki::EndEntityCert::try_from(end_entity).map_err(|e| {
            format!(
                "client certificate is not a valid X.509 certificate ({})",
                status::words(&e)
            )
        })?;
        let ee = x509::parse(end_entity)
            .map_err(|e| format!("client certificate is malformed ({})", e))?;
        let time = webpki::Time::try_from(now)
            .map_err(|_| "the current time is not available".to_string())?;
        let anchors: Vec<webpki::TrustAnchor> = self.anchors.iter().map(Anchor::webpki).collect();
        let webpki_verify = |chain: &[&[u8]]| {
            webpki_ee.verify_is_valid_tls_client_cert(
                SIGNATURE_ALGORITHMS,
                &webpki::TlsClientTrustAnchors(&anchors),
                chain,
                time,
            )
        };
        let parsed: Vec<Option<Certificate>> = intermediates
            .iter()
            .map(|der| x509::parse(der).ok())
            .collect();
        let now = unix_seconds(now);

        // webpki sees the certificates of one path by names at a time (see name_paths).
        let paths = self.name_paths(&ee, &parsed);
        let mut first_failure: Option<(webpki::Error, &NamePath)> = None;
        let mut verified = None;
        for path in &paths {
            let chain: Vec<&[u8]> = path
                .via
                .iter()
                .filter_map(|&i| intermediates.get(i).copied())
                .collect();
            match webpki_verify(&chain) {
                Ok(()) => {
                    verified = Some(path);
                    break;
                }
                Err(e) => {
                    first_failure.get_or_insert((e, path));
                }
            }
        }
        let path = match (verified, first_failure) {
            (Some(path), _) => path,
            (None, Some((e, path))) => return Err(self.explain(e, &ee, &parsed, Some(path), now)),
            // No path by names: webpki still tells what is wrong with the certificate itself.
            (None, None) => {
                let e = webpki_verify(&[])
                    .err()
                    .unwrap_or(webpki::Error::UnknownIssuer);
                return Err(self.explain(e, &ee, &parsed, None, now));
            }
        };

        let depth = path.via.len() + 1;
        if depth > self.max_depth as usize {
            return Err(format!(
                "client certificate chain longer than the maximum depth {} (the trusted CA {} is at depth {})",
                self.max_depth, path.anchor.subject_text, depth
            ));
        }
        self.check_revocation(&ee, true, now)?;
        for &i in &path.via {
            if let Some(Some(cert)) = parsed.get(i) {
                self.check_revocation(cert, false, now)?;
            }
        }
        Ok(())
    }

    /// Paths by names from `ee` to an anchor, in the order webpki would try them (at each
    /// step an anchor first, then the client's certificates in the order sent, each used once
    /// per path). webpki 0.22.0 searches every combination of candidates itself, which takes
    /// time exponential in their number (RUSTSEC-2023-0052) and the client chooses them: so
    /// webpki is given the certificates of one of these paths at a time, and the search here
    /// is bounded: at most MAX_PATHS paths, MAX_STEPS steps, MAX_INTERMEDIATES certificates
    /// between the client's and the anchor (webpki's own limit).
    fn name_paths(
        &self,
        ee: &Certificate,
        intermediates: &[Option<Certificate>],
    ) -> Vec<NamePath<'_>> {
        let mut search = Search {
            intermediates,
            used: vec![false; intermediates.len()],
            via: Vec::new(),
            steps: 0,
            found: Vec::new(),
        };
        self.walk(ee.issuer, &mut search);
        search.found
    }

    fn walk<'s>(&'s self, issuer: &[u8], search: &mut Search<'_, '_, 's>) {
        if search.found.len() >= MAX_PATHS || search.steps >= MAX_STEPS {
            return;
        }
        search.steps += 1;
        if let Some(anchor) = self.anchor_named(issuer) {
            search.found.push(NamePath {
                via: search.via.clone(),
                anchor,
            });
        }
        if search.via.len() >= MAX_INTERMEDIATES {
            return;
        }
        let intermediates = search.intermediates;
        for (i, cert) in intermediates.iter().enumerate() {
            let cert = match cert {
                Some(cert) if cert.subject == issuer => cert,
                _ => continue,
            };
            if search.used.get(i) != Some(&false) {
                continue;
            }
            search.used[i] = true;
            search.via.push(i);
            self.walk(cert.issuer, search);
            search.via.pop();
            search.used[i] = false;
            if search.found.len() >= MAX_PATHS || search.steps >= MAX_STEPS {
                return;
            }
        }
    }

    /// For messages when no path reaches an anchor: the issuer where following the names
    /// (first match, each certificate once) ends.
    fn dead_end<'c>(
        &self,
        ee: &'c Certificate,
        intermediates: &'c [Option<Certificate>],
    ) -> &'c [u8] {
        let mut used = vec![false; intermediates.len()];
        let mut issuer = ee.issuer;
        loop {
            if self.anchor_named(issuer).is_some() {
                return issuer;
            }
            let next = intermediates
                .iter()
                .enumerate()
                .find_map(|(i, cert)| match cert {
                    Some(cert) if !used[i] && cert.subject == issuer => Some((i, cert)),
                    _ => None,
                });
            match next {
                Some((i, cert)) => {
                    used[i] = true;
                    issuer = cert.issuer;
                }
                None => return issuer,
            }
        }
    }

    fn check_revocation(
        &self,
        cert: &Certificate,
        is_client: bool,
        now: i64,
    ) -> Result<(), String> {
        let crls: Vec<&Crl> = self
            .crls
            .iter()
            .filter(|c| c.issuer == cert.issuer)
            .collect();
        for crl in &crls {
            if crl.lists(cert.serial) {
                let serial = crl::serial_hex(cert.serial);
                return Err(if is_client {
                    format!(
                        "client certificate revoked (serial {}, CRL of {})",
                        serial, crl.issuer_text
                    )
                } else {
                    format!(
                        "client certificate chain: CA {} revoked (serial {}, CRL of {})",
                        name_text(cert.subject),
                        serial,
                        crl.issuer_text
                    )
                });
            }
        }
        for crl in &crls {
            if let Some((next_update, text)) = &crl.next_update {
                if now > *next_update {
                    return Err(format!("CRL of {} expired on {}", crl.issuer_text, text));
                }
            }
        }
        Ok(())
    }

    /// Words for a webpki failure. webpki checks the client's own certificate first (dates,
    /// CA flag, extendedKeyUsage) and reports what it finds there; every failure further up
    /// the chain comes out as UnknownIssuer, so the path by names tells what went wrong.
    fn explain(
        &self,
        error: webpki::Error,
        ee: &Certificate,
        intermediates: &[Option<Certificate>],
        path: Option<&NamePath>,
        now: i64,
    ) -> String {
        use webpki::Error::*;
        let subject = name_text(ee.subject);
        match error {
            CertExpired => format!(
                "client certificate expired (not after {}, subject {})",
                time_text(&ee.not_after),
                subject
            ),
            CertNotValidYet => format!(
                "client certificate not yet valid (not before {}, subject {})",
                time_text(&ee.not_before),
                subject
            ),
            UnknownIssuer => {
                let path = match path {
                    Some(path) => path,
                    None => {
                        let issuer = self.dead_end(ee, intermediates);
                        return match self.anchor_named(issuer) {
                            Some(anchor) => format!(
                                "client certificate chain to the trusted CA {} has more than \
                                 {} intermediate CAs (subject {})",
                                anchor.subject_text, MAX_INTERMEDIATES, subject
                            ),
                            None => format!(
                                "client certificate issued by an unknown CA (issuer {})",
                                name_text(issuer)
                            ),
                        };
                    }
                };
                for cert in path
                    .via
                    .iter()
                    .filter_map(|&i| intermediates.get(i).and_then(Option::as_ref))
                {
                    let name = name_text(cert.subject);
                    match (cert.not_before.unix(), cert.not_after.unix()) {
                        (_, Ok(not_after)) if now > not_after => {
                            return format!(
                                "client certificate chain: CA {} expired (not after {})",
                                name,
                                time_text(&cert.not_after)
                            )
                        }
                        (Ok(not_before), _) if now < not_before => {
                            return format!(
                                "client certificate chain: CA {} not yet valid (not before {})",
                                name,
                                time_text(&cert.not_before)
                            )
                        }
                        _ => {}
                    }
                }
                format!(
                    "client certificate chain to the trusted CA {} does not verify (a signature, \
                     a CA's basic or name constraints, or its length; subject {})",
                    path.anchor.subject_text, subject
                )
            }
            CaUsedAsEndEntity => format!(
                "client certificate is a CA certificate, not a client's (subject {})",
                subject
            ),
            RequiredEkuNotFound => format!(
                "client certificate is not for client authentication (its extendedKeyUsage \
                 lacks clientAuth; subject {})",
                subject
            ),
            InvalidCertValidity => format!(
                "client certificate has an invalid validity period (subject {})",
                subject
            ),
            UnsupportedCertVersion => format!(
                "client certificate is not an X.509 v3 certificate (subject {})",
                subject
            ),
            UnsupportedCriticalExtension => format!(
                "client certificate has an unsupported critical extension (subject {})",
                subject
            ),
            BadDer | BadDerTime | MissingOrMalformedExtensions | ExtensionValueInvalid => format!(
                "client certificate is malformed ({}; subject {})",
                status::words(&error),
                subject
            ),
            other => format!(
                "client certificate refused ({}; subject {})",
                status::words(&other),
                subject
            ),
        }
    }
}

/// What a config's sessions are bound to (session.rs, ticket.rs): SHA-256 over the policy's
/// mode, depth and trust anchors, or over a fixed text without a policy. Configs with the same
/// policy (every server of a fleet) have the same context; CRLs are not part of it (as with
/// mod_ssl, a session is not checked again when it is resumed).
pub(crate) fn session_context(auth: Option<&tlsr_client_auth>) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match auth {
        None => ctx.update(b"tlsr session context v1: no client authentication"),
        Some(auth) => {
            ctx.update(b"tlsr session context v1: client authentication\0");
            ctx.update(&[u8::from(auth.mandatory)]);
            ctx.update(&auth.max_depth.to_be_bytes());
            for anchor in &auth.anchors {
                ctx.update(&(anchor.der.len() as u64).to_be_bytes());
                ctx.update(&anchor.der);
            }
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The rustls side: one per config, sharing the policy.
pub(crate) struct Verifier(pub Arc<tlsr_client_auth>);

impl ClientCertVerifier for Verifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> Option<bool> {
        Some(self.0.mandatory)
    }

    fn client_auth_root_subjects(&self) -> Option<DistinguishedNames> {
        Some(self.0.subjects.clone())
    }

    fn verify_client_cert(
        &self,
        end_entity: &rustls::Certificate,
        intermediates: &[rustls::Certificate],
        now: SystemTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let intermediates: Vec<&[u8]> = intermediates.iter().map(|c| c.0.as_slice()).collect();
        self.0
            .verify(&end_entity.0, &intermediates, now)
            .map(|()| ClientCertVerified::assertion())
            .map_err(rustls::Error::InvalidCertificateData)
    }
}

impl tlsr_client_auth {
    /// Called when a builder takes the policy: add_crls refuses from now on.
    pub(crate) fn mark_shared(&self) {
        self.shared.store(true, Ordering::SeqCst);
    }
}

#[no_mangle]
pub extern "C" fn tlsr_client_auth_new(
    ca_pem: *const u8,
    ca_len: usize,
    mode: c_int,
    max_depth: c_uint,
    out: *mut *mut tlsr_client_auth,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "loading the CA certificates", || {
        if ca_pem.is_null() || out.is_null() {
            return Err(Failure::new(
                TLSR_NULL_PARAM,
                "NULL argument (ca_pem and out are required)",
            ));
        }
        let ca_pem = try_slice(ca_pem, ca_len)?;
        let out = try_mut(out)?;
        let auth = tlsr_client_auth::new(ca_pem, mode, max_depth)?;
        *out = Arc::into_raw(Arc::new(auth)) as *mut tlsr_client_auth;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_auth_add_crls(
    auth: *mut tlsr_client_auth,
    data: *const u8,
    len: usize,
    added: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "loading CRLs", || {
        if auth.is_null() || (data.is_null() && len > 0) {
            return Err(Failure::new(
                TLSR_NULL_PARAM,
                "NULL argument (auth and data are required)",
            ));
        }
        let data = try_slice(data, len)?;
        let n = arc_get_mut(auth, |auth: &mut tlsr_client_auth| {
            if auth.shared.load(Ordering::SeqCst) {
                return Err(Failure::new(
                    TLSR_WRONG_STATE,
                    "CRLs cannot be added once the policy was given to a config builder",
                ));
            }
            auth.add_crls(data)
        })
        .unwrap_or_else(|status| {
            Err(Failure::new(
                status,
                "CRLs cannot be added once the policy was given to a config builder",
            ))
        })?;
        if let Ok(added) = try_mut(added) {
            *added = n;
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_auth_crl_count(auth: *const tlsr_client_auth) -> usize {
    guard_value(0, || try_ref(auth).map_or(0, |a| a.crls.len()))
}

#[no_mangle]
pub extern "C" fn tlsr_client_auth_crl_info(
    auth: *const tlsr_client_auth,
    index: usize,
    issuer: *mut *const c_char,
    issuer_len: *mut usize,
    this_update: *mut i64,
    next_update: *mut i64,
    revoked: *mut usize,
) -> tlsr_status {
    guard(|| {
        let auth = try_ref(auth)?;
        if issuer.is_null() || issuer_len.is_null() {
            return Err(TLSR_NULL_PARAM);
        }
        let this_update = try_mut(this_update)?;
        let next_update = try_mut(next_update)?;
        let revoked = try_mut(revoked)?;
        let crl = auth.crls.get(index).ok_or(TLSR_NOT_FOUND)?;
        // c_char and u8 have the same layout: the name is handed out as bytes.
        view_out(
            Some(crl.issuer_text.as_bytes()),
            issuer as *mut *const u8,
            issuer_len,
        )?;
        *this_update = crl.this_update;
        *next_update = crl.next_update.as_ref().map_or(0, |(t, _)| *t);
        *revoked = crl.revoked.len();
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_auth_free(auth: *const tlsr_client_auth) {
    guard_value((), || arc_release(auth))
}

#[cfg(test)]
mod tests {
    //! verify() at chosen times, and with hostile chains. The handshakes through the C ABI are
    //! in tests/clientauth.rs.
    use super::*;
    use std::time::Duration;

    fn file(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/data/clientauth/{}",
            env!("CARGO_MANIFEST_DIR"),
            name
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {}", path, e))
    }

    fn certs(name: &str) -> Vec<Vec<u8>> {
        rustls_pemfile::certs(&mut &file(name)[..]).unwrap()
    }

    fn policy(cas: &[&str], depth: u32, crls: &[&str]) -> tlsr_client_auth {
        let pem: Vec<u8> = cas.iter().flat_map(|f| file(f)).collect();
        let mut auth = tlsr_client_auth::new(&pem, TLSR_CLIENT_AUTH_REQUIRED, depth).unwrap();
        for crl in crls {
            auth.add_crls(&file(crl)).unwrap();
        }
        auth
    }

    /// 00:00:00Z on the first of January of `year`.
    fn jan1(year: u64) -> SystemTime {
        let days = (1970..year)
            .map(|y| {
                if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) {
                    366
                } else {
                    365
                }
            })
            .sum::<u64>();
        UNIX_EPOCH + Duration::from_secs(days * 86_400)
    }

    fn verify(auth: &tlsr_client_auth, chain: &[Vec<u8>], at: SystemTime) -> Result<(), String> {
        let intermediates: Vec<&[u8]> = chain[1..].iter().map(Vec::as_slice).collect();
        auth.verify(&chain[0], &intermediates, at)
    }

    #[test]
    fn dates_are_those_of_the_handshake() {
        let auth = policy(&["ca.pem"], 1, &[]);
        let expired = certs("expired.pem");
        assert_eq!(
            verify(&auth, &expired, jan1(2020) + Duration::from_secs(3600)),
            Ok(())
        );
        assert!(verify(&auth, &expired, jan1(2021) + Duration::from_secs(1))
            .unwrap_err()
            .starts_with("client certificate expired"));
        let notyet = certs("notyet.pem");
        assert!(verify(&auth, &notyet, jan1(2089))
            .unwrap_err()
            .starts_with("client certificate not yet valid"));
        assert_eq!(verify(&auth, &notyet, jan1(2091)), Ok(()));
    }

    #[test]
    fn a_crl_expires_after_its_next_update() {
        let auth = policy(&["ca.pem"], 1, &["ca-expired.crl.pem"]);
        let alice = certs("alice.pem");
        assert_eq!(verify(&auth, &alice, jan1(2020)), Ok(()));
        assert_eq!(
            verify(&auth, &alice, jan1(2021)),
            Ok(()),
            "nextUpdate itself"
        );
        assert_eq!(
            verify(&auth, &alice, jan1(2021) + Duration::from_secs(1)),
            Err("CRL of CN=tlsr client CA,O=tlsr tests expired on Jan  1 00:00:00 2021 GMT".into())
        );
    }

    #[test]
    fn an_expired_intermediate_is_named() {
        let auth = policy(&["ca.pem"], 2, &[]);
        let chain = certs("short-deep.chain.pem");
        assert_eq!(verify(&auth, &chain, jan1(2029)), Ok(()));
        assert_eq!(
            verify(&auth, &chain, jan1(2031)),
            Err(
                "client certificate chain: CA CN=tlsr short-lived intermediate,O=tlsr tests \
                 expired (not after Jan  1 00:00:00 2030 GMT)"
                    .into()
            )
        );
        // An intermediate the client sent that is not the leaf's issuer.
        let mut wrong = certs("deep.pem");
        let mut int = certs("int.pem");
        int[0] = certs("short.pem").remove(0);
        wrong.append(&mut int);
        assert!(verify(&auth, &wrong, jan1(2025)).unwrap_err().starts_with(
            "client certificate issued by an unknown CA (issuer CN=tlsr client intermediate"
        ));
    }

    #[test]
    fn the_path_uses_each_intermediate_once() {
        // Everything the client sends is walked at most once: a long list of copies of the
        // intermediate is still depth 2.
        let auth = policy(&["ca.pem"], 2, &["ca-int.crl.pem"]);
        let mut chain = certs("deep.chain.pem");
        let int = chain[1].clone();
        chain.extend(std::iter::repeat(int).take(50));
        let err = verify(&auth, &chain, jan1(2025)).unwrap_err();
        assert!(err.contains("revoked (serial 0100"), "{}", err);
    }

    /// `der` with one byte of its public key changed: another key, the same names.
    fn other_key(der: &[u8], n: u8) -> Vec<u8> {
        let cert = x509::parse(der).unwrap();
        let offset = cert.public_key.key.as_ptr() as usize - der.as_ptr() as usize;
        let mut copy = der.to_vec();
        copy[offset + 10] ^= n;
        copy
    }

    #[test]
    fn the_next_path_is_tried_when_one_fails() {
        let auth = policy(&["ca.pem"], 2, &[]);
        let deep = certs("deep.pem").remove(0);
        let int = certs("int.pem").remove(0);
        let impostor = other_key(&int, 1);
        let at = jan1(2025);
        assert_eq!(
            verify(&auth, &[deep.clone(), impostor.clone(), int], at),
            Ok(())
        );
        assert_eq!(
            verify(&auth, &[deep, impostor], at),
            Err(
                "client certificate chain to the trusted CA CN=tlsr client CA,O=tlsr tests \
                 does not verify (a signature, a CA's basic or name constraints, or its length; \
                 subject CN=deep,O=tlsr tests)"
                    .into()
            )
        );
    }

    #[test]
    fn pathological_chains_take_bounded_time() {
        // RUSTSEC-2023-0052: webpki 0.22.0 tries every combination of candidate issuers. 40
        // CA certificates with the same name and different keys would keep it busy for ages.
        let auth = policy(&["ca.pem"], 10, &[]);
        let other = certs("other-ca.pem").remove(0);
        let mut chain = certs("stranger.pem");
        chain.extend((1..=40).map(|n| other_key(&other, n)));
        let start = std::time::Instant::now();
        let err = verify(&auth, &chain, jan1(2025)).unwrap_err();
        assert!(err.contains("unknown CA"), "{}", err);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        // The same under a trusted name: copies of the intermediate.
        let int = certs("int.pem").remove(0);
        let mut chain = certs("deep.pem");
        chain.extend((1..=40).map(|n| other_key(&int, n)));
        let start = std::time::Instant::now();
        assert!(verify(&auth, &chain, jan1(2025)).is_err());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn garbage_never_panics() {
        let auth = policy(&["ca.pem"], 3, &["ca.crl.pem"]);
        let alice = certs("alice.pem").remove(0);
        let int = certs("int.pem").remove(0);
        let inputs: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x30],
            vec![0x30, 0x00],
            alice[..alice.len() / 2].to_vec(),
            vec![0xff; 64],
        ];
        for ee in inputs.iter().chain(std::iter::once(&alice)) {
            for extra in &inputs {
                let chain = vec![ee.clone(), extra.clone(), int.clone()];
                let _ = verify(&auth, &chain, jan1(2025));
            }
        }
        for i in 0..alice.len() {
            let mut bad = alice.clone();
            bad[i] ^= 0x5a;
            assert!(verify(&auth, &[bad], jan1(2025)).is_err());
        }
    }

    #[test]
    fn anchors_and_subjects() {
        let auth = policy(&["ca.pem", "rsa-ca.pem", "ed-ca.pem"], 1, &[]);
        assert_eq!(auth.anchors.len(), 3);
        assert_eq!(auth.subjects.len(), 3);
        assert_eq!(
            auth.anchors[0].subject_text,
            "CN=tlsr client CA,O=tlsr tests"
        );
        assert_eq!(auth.anchors[2].subject_text, "CN=tlsr client Ed25519 CA");
    }

    #[test]
    fn every_crl_mutation_is_handled() {
        let mut auth = policy(&["ca.pem", "rsa-ca.pem", "ed-ca.pem"], 1, &[]);
        for name in ["ca.crl.der"] {
            let der = file(name);
            for i in 0..der.len() {
                for flip in [0x01u8, 0x80] {
                    let mut bad = der.clone();
                    bad[i] ^= flip;
                    // A flipped bit of the signed data or the signature must not verify.
                    assert!(auth.add_crls(&bad).is_err(), "byte {} ^ {:02x}", i, flip);
                }
            }
        }
        assert!(auth.crls.is_empty());
    }
}
