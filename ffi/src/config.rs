//! Cipher suites, the server config builder, and the certificate resolver.

use crate::clientauth::{session_context, Verifier};
use crate::observe::note;
use crate::session::{tlsr_session_get_cb, tlsr_session_put_cb, CallbackStore, ObservedStore};
use crate::status::Failure;
use crate::ticket::{self, BoundTicketer, Ticketer};
use crate::*;
use rustls::server::{
    ClientHello, NoServerSessionStorage, ResolvesServerCert, ServerSessionMemoryCache,
    StoresServerSessions,
};
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, SupportedCipherSuite, SupportedProtocolVersion, ALL_CIPHER_SUITES};
use std::os::raw::{c_char, c_int, c_void};
use std::sync::Arc;

/// tlsr.h `tlsr_server_config`: shared and immutable, handed out as an `Arc`.
#[allow(non_camel_case_types)]
pub struct tlsr_server_config {
    pub(crate) rustls: Arc<ServerConfig>,
    /// The enabled cipher suites' ids. rustls does not expose them, and reports a client with
    /// no suite in common as one for which no certificate fits: acceptor.rs tells them apart.
    pub(crate) suites: Vec<u16>,
}

pub(crate) const TLS12: u16 = 0x0303;
pub(crate) const TLS13: u16 = 0x0304;

pub(crate) fn suite_by_id(id: u16) -> Option<SupportedCipherSuite> {
    ALL_CIPHER_SUITES
        .iter()
        .copied()
        .find(|s| s.suite().get_u16() == id)
}

pub(crate) fn version_by_id(id: u16) -> Option<&'static SupportedProtocolVersion> {
    match id {
        TLS12 => Some(&rustls::version::TLS12),
        TLS13 => Some(&rustls::version::TLS13),
        _ => None,
    }
}

pub(crate) fn version_name(id: u16) -> String {
    match id {
        0x0300 => "SSL 3.0".into(),
        0x0301..=0x0304 => format!("TLS 1.{}", id - 0x0301),
        _ => format!("protocol version 0x{:04x}", id),
    }
}

#[no_mangle]
pub extern "C" fn tlsr_supported_suites(out: *mut u16, cap: usize) -> usize {
    guard_value(0, || {
        let ids: Vec<u16> = ALL_CIPHER_SUITES
            .iter()
            .map(|s| s.suite().get_u16())
            .collect();
        copy_list(&ids, out, cap)
    })
}

#[no_mangle]
pub extern "C" fn tlsr_suite_version(suite: u16) -> u16 {
    guard_value(0, || {
        suite_by_id(suite).map_or(0, |s| s.version().version.get_u16())
    })
}

/// Chooses, for each handshake, the first certified key that can sign with a scheme the client
/// offers. rustls has already narrowed the offered schemes to those usable with the cipher
/// suites both sides support, so with an ECDSA key first and an RSA key second, modern
/// clients get ECDSA and the others RSA. The connection being set up learns the chosen key's
/// index through observe.rs (rustls calls this inside Accepted::into_connection).
/// Each key is asked for its current state, which carries the latest OCSP response.
struct FirstUsableKey(Vec<Arc<tlsr_certified_key>>);

impl ResolvesServerCert for FirstUsableKey {
    fn resolve(&self, hello: ClientHello) -> Option<Arc<CertifiedKey>> {
        let offered = hello.signature_schemes();
        let (index, key) = self
            .0
            .iter()
            .map(|k| k.current())
            .enumerate()
            .find(|(_, ck)| ck.key.choose_scheme(offered).is_some())?;
        note(|o| o.key_index = Some(index));
        Some(key)
    }
}

/// tlsr.h `tlsr_server_config_builder`.
#[allow(non_camel_case_types)]
pub struct tlsr_server_config_builder {
    versions: Vec<u16>,
    suites: Vec<SupportedCipherSuite>,
    ignore_client_order: bool,
    keys: Vec<Arc<tlsr_certified_key>>,
    alpn: Vec<Vec<u8>>,
    store: Option<CallbackStore>,
    cache_size: usize,
    ticketer: Option<Arc<Ticketer>>,
    client_auth: Option<Arc<tlsr_client_auth>>,
}

impl Default for tlsr_server_config_builder {
    fn default() -> Self {
        tlsr_server_config_builder {
            versions: vec![TLS13, TLS12],
            suites: ALL_CIPHER_SUITES.to_vec(),
            ignore_client_order: false,
            keys: Vec::new(),
            alpn: Vec::new(),
            store: None,
            cache_size: 256,
            ticketer: None,
            client_auth: None,
        }
    }
}

/// The protocol versions and the cipher suites that go with them, for a server or a client
/// config. rustls silently disables an enabled version that has no cipher suite (and fails
/// only when no version has one); an administrator who enabled TLS 1.3 wants to hear it.
pub(crate) fn versions_and_suites(
    versions: &[u16],
    suites: &[SupportedCipherSuite],
) -> Result<
    (
        Vec<&'static SupportedProtocolVersion>,
        Vec<SupportedCipherSuite>,
    ),
    Failure,
> {
    for &version in versions {
        if !suites
            .iter()
            .any(|s| s.version().version.get_u16() == version)
        {
            return Err(Failure::new(
                TLSR_NO_CIPHER_SUITES,
                format!("no cipher suite left for {}", version_name(version)),
            ));
        }
    }
    let chosen = versions.iter().filter_map(|&v| version_by_id(v)).collect();
    let usable = suites
        .iter()
        .copied()
        .filter(|s| versions.contains(&s.version().version.get_u16()))
        .collect();
    Ok((chosen, usable))
}

impl tlsr_server_config_builder {
    fn build(self) -> Result<tlsr_server_config, Failure> {
        if self.keys.is_empty() {
            return Err(Failure::new(
                TLSR_NO_CERTIFICATE,
                "no certificate configured",
            ));
        }
        let (versions, suites) = versions_and_suites(&self.versions, &self.suites)?;
        let keys = self.keys.clone();

        let builder = ServerConfig::builder()
            .with_cipher_suites(&suites)
            .with_safe_default_kx_groups()
            .with_protocol_versions(&versions)
            .map_err(|e| Failure::new(TLSR_CONFIG_ERROR, e.to_string()))?;
        let context = session_context(self.client_auth.as_deref());
        let builder = match self.client_auth {
            Some(auth) => builder.with_client_cert_verifier(Arc::new(Verifier(auth))),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::new(FirstUsableKey(keys)));
        config.ignore_client_order = self.ignore_client_order;
        config.alpn_protocols = self.alpn;
        let store: Arc<dyn StoresServerSessions> = match self.store {
            Some(store) => Arc::new(store),
            None if self.cache_size == 0 => Arc::new(NoServerSessionStorage {}),
            None => ServerSessionMemoryCache::new(self.cache_size),
        };
        config.session_storage = Arc::new(ObservedStore { store, context });
        if let Some(keys) = self.ticketer {
            config.ticketer = Arc::new(BoundTicketer { keys, context });
        }
        let suites = suites.iter().map(|s| s.suite().get_u16()).collect();
        Ok(tlsr_server_config {
            rustls: Arc::new(config),
            suites,
        })
    }
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_new(
    out: *mut *mut tlsr_server_config_builder,
) -> tlsr_status {
    guard(|| {
        let out = try_mut(out)?;
        *out = box_into_raw(tlsr_server_config_builder::default());
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_free(builder: *mut tlsr_server_config_builder) {
    guard_value((), || drop(box_from_raw(builder)))
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_set_versions(
    builder: *mut tlsr_server_config_builder,
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
pub extern "C" fn tlsr_server_config_builder_set_suites(
    builder: *mut tlsr_server_config_builder,
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
pub extern "C" fn tlsr_server_config_builder_set_ignore_client_order(
    builder: *mut tlsr_server_config_builder,
    ignore: c_int,
) -> tlsr_status {
    guard(|| {
        try_mut(builder)?.ignore_client_order = ignore != 0;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_add_certified_key(
    builder: *mut tlsr_server_config_builder,
    key: *const tlsr_certified_key,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let key = arc_clone(key)?;
        builder.keys.push(key);
        Ok(())
    })
}

/// One ALPN protocol id: 1..255 bytes.
pub(crate) fn alpn_id(proto: *const u8, len: usize) -> Result<Vec<u8>, tlsr_status> {
    if proto.is_null() {
        return Err(TLSR_NULL_PARAM);
    }
    if len == 0 || len > 255 {
        return Err(TLSR_INVALID_PARAM);
    }
    Ok(try_slice(proto, len)?.to_vec())
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_set_alpn(
    builder: *mut tlsr_server_config_builder,
    protos: *const *const u8,
    lens: *const usize,
    n: usize,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let protos = try_slice(protos, n)?;
        let lens = try_slice(lens, n)?;
        let list = protos
            .iter()
            .zip(lens)
            .map(|(&p, &len)| alpn_id(p, len))
            .collect::<Result<Vec<_>, _>>()?;
        builder.alpn = list;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_set_session_store(
    builder: *mut tlsr_server_config_builder,
    userdata: *mut c_void,
    put: Option<tlsr_session_put_cb>,
    get: Option<tlsr_session_get_cb>,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let (put, get) = match (put, get) {
            (Some(put), Some(get)) => (put, get),
            _ => return Err(TLSR_NULL_PARAM),
        };
        builder.store = Some(CallbackStore::new(userdata, put, get));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_set_session_cache_size(
    builder: *mut tlsr_server_config_builder,
    entries: usize,
) -> tlsr_status {
    guard(|| {
        try_mut(builder)?.cache_size = entries;
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_set_ticket_keys(
    builder: *mut tlsr_server_config_builder,
    keys: *const u8,
    n: usize,
    lifetime: u32,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        let len = n.checked_mul(ticket::KEY_LEN).ok_or(TLSR_INVALID_PARAM)?;
        let keys = try_slice(keys, len)?;
        builder.ticketer = match n {
            0 => None,
            _ => Some(Arc::new(
                Ticketer::new(keys, lifetime).ok_or(TLSR_INVALID_PARAM)?,
            )),
        };
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_set_client_auth(
    builder: *mut tlsr_server_config_builder,
    auth: *const tlsr_client_auth,
) -> tlsr_status {
    guard(|| {
        let builder = try_mut(builder)?;
        builder.client_auth = if auth.is_null() {
            None
        } else {
            let auth = arc_clone(auth)?;
            auth.mark_shared();
            Some(auth)
        };
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_builder_build(
    builder: *mut tlsr_server_config_builder,
    out: *mut *const tlsr_server_config,
    err: *mut c_char,
    err_cap: usize,
) -> tlsr_status {
    guard_err(err, err_cap, "building the config", || {
        // Consumed in every case, also when `out` is NULL.
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
pub extern "C" fn tlsr_server_config_with_alpn(
    base: *const tlsr_server_config,
    proto: *const u8,
    proto_len: usize,
    out: *mut *const tlsr_server_config,
) -> tlsr_status {
    guard(|| {
        let base = try_ref(base)?;
        let out = try_mut(out)?;
        let alpn = match proto_len {
            0 => Vec::new(),
            _ => vec![alpn_id(proto, proto_len)?],
        };
        let mut config = ServerConfig::clone(&base.rustls);
        config.alpn_protocols = alpn;
        let config = tlsr_server_config {
            rustls: Arc::new(config),
            suites: base.suites.clone(),
        };
        *out = Arc::into_raw(Arc::new(config));
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn tlsr_server_config_free(config: *const tlsr_server_config) {
    guard_value((), || arc_release(config))
}
