//! Outgoing connections (mod_tls as a client of backends, for mod_proxy): the client config
//! builder, the backend certificate verifier and the machine certificate resolver.
//!
//! - Trust: the roots given with tlsr_client_config_builder_add_ca_pem (a PEM bundle, e.g. the
//!   system's /etc/ssl/certs/ca-certificates.crt). With none, every backend is refused.
//! - Names: a DNS name is checked by webpki. webpki 0.22 cannot check IP addresses; for an IP
//!   address we let webpki check the chain (against a placeholder name, whose mismatch is the
//!   only error left when the chain is good) and compare the certificate's iPAddress SANs
//!   ourselves.
//! - RUSTSEC-2023-0052 (webpki 0.22.0 path building can take exponential time on crafted
//!   chains): we accept at most MAX_INTERMEDIATES certificates besides the backend's own, which
//!   bounds the paths webpki tries; real servers send one to three.
//! - Errors are sentences about the backend, carried in rustls' InvalidCertificateData.

use crate::certkey::read_certificates;
use crate::config::{alpn_id, suite_by_id, version_by_id, versions_and_suites, TLS12, TLS13};
use crate::status::Failure;
use crate::*;
use rustls::client::{
    ClientSessionMemoryCache, HandshakeSignatureValid, NoClientSessionStorage, ResolvesClientCert,
    ServerCertVerified, ServerCertVerifier, StoresClientSessions, WebPkiVerifier,
};
use rustls::sign::CertifiedKey;
use rustls::{
    Certificate, ClientConfig, ClientConnection, DigitallySignedStruct, Error, RootCertStore,
    ServerName, SignatureScheme, SupportedCipherSuite, ALL_CIPHER_SUITES,
};
use std::convert::TryFrom;
use std::net::IpAddr;
use std::os::raw::c_char;
use std::sync::Arc;
use std::time::SystemTime;

/// Most certificates a backend may send besides its own (see the module comment).
pub const MAX_INTERMEDIATES: usize = 5;

/// tlsr.h `tlsr_client_config`: shared and immutable, handed out as an `Arc`.
#[allow(non_camel_case_types)]
pub struct tlsr_client_config {
    pub(crate) rustls: Arc<ClientConfig>,
}

/// tlsr.h `tlsr_client_config_builder`.
#[allow(non_camel_case_types)]
pub struct tlsr_client_config_builder {
    versions: Vec<u16>,
    suites: Vec<SupportedCipherSuite>,
    roots: RootCertStore,
    keys: Vec<Arc<tlsr_certified_key>>,
    alpn: Vec<Vec<u8>>,
    cache_size: usize,
}

impl Default for tlsr_client_config_builder {
    fn default() -> Self {
        tlsr_client_config_builder {
            versions: vec![TLS13, TLS12],
            suites: ALL_CIPHER_SUITES.to_vec(),
            roots: RootCertStore::empty(),
            keys: Vec::new(),
            alpn: Vec::new(),
            cache_size: 256,
        }
    }
}

/// Checks backend certificates; see the module comment.
struct BackendVerifier {
    inner: WebPkiVerifier,
    no_roots: bool,
}

fn name_text(name: &ServerName) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_string(),
        ServerName::IpAddress(ip) => ip.to_string(),
        _ => "(unknown name type)".to_string(),
    }
}

/// The webpki error name inside rustls' "invalid peer certificate: X".
fn webpki_reason(err: &Error) -> Option<&str> {
    match err {
        Error::InvalidCertificateData(why) => why.strip_prefix("invalid peer certificate: "),
        _ => None,
    }
}

/// A rustls certificate error as a sentence about the backend `name`.
fn explain(err: Error, name: &str, no_roots: bool) -> Error {
    let text = match (&err, webpki_reason(&err)) {
        (_, Some("UnknownIssuer")) if no_roots => format!(
            "backend certificate of {} not trusted: no trust anchors configured (TLSProxyCA)",
            name
        ),
        (_, Some("UnknownIssuer")) => format!(
            "backend certificate of {} not trusted (unknown issuer)",
            name
        ),
        (_, Some("CertNotValidForName")) => format!(
            "backend certificate is not valid for name {} (its names do not match)",
            name
        ),
        (_, Some("CertExpired")) => format!("backend certificate of {} has expired", name),
        (_, Some("CertNotValidYet")) => {
            format!("backend certificate of {} is not valid yet", name)
        }
        (_, Some("CaUsedAsEndEntity")) => format!(
            "backend {} presented a CA certificate as its own certificate",
            name
        ),
        (_, Some("InvalidCertValidity")) => format!(
            "backend certificate of {} has an invalid validity period",
            name
        ),
        (_, Some(other)) => format!("backend certificate of {} refused: {}", name, other),
        (Error::InvalidCertificateEncoding, _) => {
            format!("backend certificate of {} is not valid DER", name)
        }
        (Error::InvalidCertificateSignature, _) => {
            format!("backend certificate of {} has an invalid signature", name)
        }
        (Error::InvalidCertificateSignatureType, _) => format!(
            "backend certificate of {} uses an unsupported signature algorithm",
            name
        ),
        _ => return err,
    };
    Error::InvalidCertificateData(text)
}

/// Whether the certificate names `ip` in an iPAddress subjectAltName.
fn has_ip_san(end_entity: &[u8], ip: &IpAddr) -> bool {
    let cert = match x509::parse(end_entity) {
        Ok(cert) => cert,
        Err(_) => return false,
    };
    let octets: Vec<u8> = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    cert.subject_alt_names()
        .iter()
        .any(|(tag, value)| *tag == 0x87 && *value == &octets[..])
}

impl ServerCertVerifier for BackendVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &Certificate,
        intermediates: &[Certificate],
        server_name: &ServerName,
        scts: &mut dyn Iterator<Item = &[u8]>,
        ocsp_response: &[u8],
        now: SystemTime,
    ) -> Result<ServerCertVerified, Error> {
        let name = name_text(server_name);
        if intermediates.len() > MAX_INTERMEDIATES {
            return Err(Error::InvalidCertificateData(format!(
                "backend {} sent {} intermediate certificates; at most {} are accepted",
                name,
                intermediates.len(),
                MAX_INTERMEDIATES
            )));
        }
        match server_name {
            ServerName::IpAddress(ip) => {
                let placeholder = ServerName::try_from("ip-address.invalid")
                    .map_err(|_| Error::General("placeholder name".into()))?;
                let result = self.inner.verify_server_cert(
                    end_entity,
                    intermediates,
                    &placeholder,
                    scts,
                    ocsp_response,
                    now,
                );
                match result {
                    Err(ref err) if webpki_reason(err) == Some("CertNotValidForName") => {
                        if has_ip_san(&end_entity.0, ip) {
                            Ok(ServerCertVerified::assertion())
                        } else {
                            Err(Error::InvalidCertificateData(format!(
                                "backend certificate is not valid for IP address {} \
                                 (no matching iPAddress subjectAltName)",
                                name
                            )))
                        }
                    }
                    Ok(_) => Err(Error::InvalidCertificateData(format!(
                        "backend certificate is not valid for IP address {}",
                        name
                    ))),
                    Err(err) => Err(explain(err, &name, self.no_roots)),
                }
            }
            _ => self
                .inner
                .verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    scts,
                    ocsp_response,
                    now,
                )
                .map_err(|err| explain(err, &name, self.no_roots)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &Certificate,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &Certificate,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Chooses the machine certificate for a backend that asks for one: among the keys that can
/// sign with a scheme the backend accepts, the first whose chain names an issuer the backend
/// lists (its CertificateRequest's certificate_authorities), else the first usable one.
struct MachineKeys(Vec<Arc<CertifiedKey>>);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

impl ResolvesClientCert for MachineKeys {
    fn resolve(
        &self,
        acceptable_issuers: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let usable: Vec<&Arc<CertifiedKey>> = self
            .0
            .iter()
            .filter(|ck| ck.key.choose_scheme(sigschemes).is_some())
            .collect();
        let issued_by_listed = |ck: &&&Arc<CertifiedKey>| {
            ck.cert.iter().any(|cert| {
                x509::parse(&cert.0).map_or(false, |parsed| {
                    acceptable_issuers.iter().any(|issuer| {
                        contains(parsed.issuer, issuer) || contains(issuer, parsed.issuer)
                    })
                })
            })
        };
        usable
            .iter()
            .find(issued_by_listed)
            .or_else(|| usable.first())
            .map(|ck| Arc::clone(ck))
    }

    fn has_certs(&self) -> bool {
        !self.0.is_empty()
    }
}

impl tlsr_client_config_builder {
    fn build(self) -> Result<tlsr_client_config, Failure> {
        let (versions, suites) = versions_and_suites(&self.versions, &self.suites)?;
        let no_roots = self.roots.is_empty();
        let verifier = BackendVerifier {
            inner: WebPkiVerifier::new(self.roots, None),
            no_roots,
        };
        let builder = ClientConfig::builder()
            .with_cipher_suites(&suites)
            .with_safe_default_kx_groups()
            .with_protocol_versions(&versions)
            .map_err(|e| Failure::new(TLSR_CONFIG_ERROR, e.to_string()))?
            .with_custom_certificate_verifier(Arc::new(verifier));
        let keys = self.keys.iter().map(|k| k.current()).collect();
        let mut config = builder.with_client_cert_resolver(Arc::new(MachineKeys(keys)));
        config.alpn_protocols = self.alpn;
        config.session_storage = match self.cache_size {
            0 => Arc::new(NoClientSessionStorage {}) as Arc<dyn StoresClientSessions>,
            n => ClientSessionMemoryCache::new(n),
        };
        config.enable_tickets = self.cache_size > 0;
        Ok(tlsr_client_config {
            rustls: Arc::new(config),
        })
    }
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_new(
    out: *mut *mut tlsr_client_config_builder,
) -> tlsr_status {
    guard(|| {
        let out = try_mut(out)?;
        *out = box_into_raw(tlsr_client_config_builder::default());
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_free(builder: *mut tlsr_client_config_builder) {
    guard_value((), || drop(box_from_raw(builder)))
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_set_versions(
    builder: *mut tlsr_client_config_builder,
    versions: *const u16,
    n: usize,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let versions = try_slice(versions, n)?;
        if versions.is_empty() || versions.iter().any(|&v| version_by_id(v).is_none()) {
            return Err(TLSR_INVALID_PARAM);
        }
        let mut list: Vec<u16> = Vec::with_capacity(versions.len());
        for &version in versions {
            if !list.contains(&version) {
                list.push(version);
            }
        }
        builder.versions = list;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_set_suites(
    builder: *mut tlsr_client_config_builder,
    suites: *const u16,
    n: usize,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let ids = try_slice(suites, n)?;
        let mut list: Vec<SupportedCipherSuite> = Vec::with_capacity(ids.len());
        for &id in ids {
            let suite = suite_by_id(id).ok_or(TLSR_INVALID_PARAM)?;
            if !list.contains(&suite) {
                list.push(suite);
            }
        }
        if list.is_empty() {
            return Err(TLSR_INVALID_PARAM);
        }
        builder.suites = list;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_add_ca_pem(
    builder: *mut tlsr_client_config_builder,
    pem: *const u8,
    len: usize,
    added: *mut usize,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "reading trust anchors", || {
        let builder = try_mut(builder)?;
        let pem = try_slice(pem, len)?;
        let ders = read_certificates(pem, "CA")?;
        if ders.is_empty() {
            return Err(Failure::new(
                TLSR_NO_CERTIFICATE,
                "no CERTIFICATE section found",
            ));
        }
        let (ok, ignored) = builder.roots.add_parsable_certificates(&ders);
        if ok == 0 {
            return Err(Failure::new(
                TLSR_BAD_CERTIFICATE,
                format!(
                    "none of the {} certificates is usable as a trust anchor",
                    ignored
                ),
            ));
        }
        if let Ok(added) = try_mut(added) {
            *added = ok;
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_add_certified_key(
    builder: *mut tlsr_client_config_builder,
    key: *const tlsr_certified_key,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let key = arc_clone(key)?;
        builder.keys.push(key);
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_set_session_cache_size(
    builder: *mut tlsr_client_config_builder,
    entries: usize,
) -> tlsr_status {
    guard(|| {
        try_mut(builder)?.cache_size = entries;
        Ok(())
    })
}

fn alpn_list(
    protos: *const *const u8,
    lens: *const usize,
    n: usize,
) -> Result<Vec<Vec<u8>>, tlsr_status> {
    let protos = try_slice(protos, n)?;
    let lens = try_slice(lens, n)?;
    protos
        .iter()
        .zip(lens)
        .map(|(&p, &len)| alpn_id(p, len))
        .collect()
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_set_alpn(
    builder: *mut tlsr_client_config_builder,
    protos: *const *const u8,
    lens: *const usize,
    n: usize,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        builder.alpn = alpn_list(protos, lens, n)?;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_builder_build(
    builder: *mut tlsr_client_config_builder,
    out: *mut *const tlsr_client_config,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "building the client config", || {
        let builder = box_from_raw(builder);
        let (builder, out) = match (builder, try_mut(out)) {
            (Some(builder), Ok(out)) => (builder, out),
            _ => {
                return Err(Failure::new(
                    TLSR_NULL_PARAM,
                    "NULL argument (builder and out are required)",
                ))
            }
        };
        *out = Arc::into_raw(Arc::new(builder.build()?));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_with_alpn(
    base: *const tlsr_client_config,
    protos: *const *const u8,
    lens: *const usize,
    n: usize,
    out: *mut *const tlsr_client_config,
) -> tlsr_status {
    guard(|| {
        let base = try_ref(base)?;
        let out = try_mut(out)?;
        let mut config = ClientConfig::clone(&base.rustls); // shares the session store
        config.alpn_protocols = alpn_list(protos, lens, n)?;
        *out = Arc::into_raw(Arc::new(tlsr_client_config {
            rustls: Arc::new(config),
        }));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_config_free(config: *const tlsr_client_config) {
    guard_value((), || arc_release(config))
}

/// The ServerName for a backend host: an IP address (IPv6 possibly in brackets) or a DNS name.
fn server_name(host: &str) -> Result<ServerName, Failure> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    ServerName::try_from(name).map_err(|_| {
        Failure::new(
            TLSR_INVALID_PARAM,
            format!("'{}' is neither a DNS name nor an IP address", host),
        )
    })
}

#[no_mangle]
pub extern "C" fn tlsr_client_conn_new(
    config: *const tlsr_client_config,
    host: *const c_char,
    out: *mut *mut tlsr_conn,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "starting the backend connection", || {
        let config = try_ref(config)?;
        let host = try_c_str(host)?;
        let out = try_mut(out)?;
        let host = std::str::from_utf8(host)
            .map_err(|_| Failure::new(TLSR_INVALID_PARAM, "backend name is not UTF-8"))?;
        let name = server_name(host)?;
        let tls = ClientConnection::new(Arc::clone(&config.rustls), name)
            .map_err(|e| Failure::new(TLSR_CONFIG_ERROR, e.to_string()))?;
        *out = box_into_raw(tlsr_conn::new_client(tls));
        Ok(())
    })
}
