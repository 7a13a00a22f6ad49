//! Session storage through the caller's callbacks (tlsr_server_config_builder_set_session_store),
//! and the wrapper that tells the connection being processed what the store did (observe.rs).

use crate::observe::{note, ticket_hash};
use rustls::internal::msgs::codec::Codec;
use rustls::internal::msgs::persist::ServerSessionValue;
use rustls::server::StoresServerSessions;
use rustls::SupportedCipherSuite;
use std::os::raw::{c_int, c_void};
use std::sync::Arc;

/// tlsr.h `tlsr_session_put_cb`.
#[allow(non_camel_case_types)]
pub type tlsr_session_put_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> c_int;

/// tlsr.h `tlsr_session_get_cb`.
#[allow(non_camel_case_types)]
pub type tlsr_session_get_cb = unsafe extern "C" fn(
    userdata: *mut c_void,
    key: *const u8,
    key_len: usize,
    remove: c_int,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> c_int;

/// The largest session value we fetch. rustls' values are a few hundred bytes, plus the
/// client's certificate chain when it authenticated with one (a few KB).
const MAX_VALUE: usize = 64 * 1024;

/// The caller's opaque pointer.
struct UserData(*mut c_void);

// SAFETY: rustls needs the store to be Send + Sync, since a config (and its store) is shared
// by connections on any thread. tlsr.h makes the caller responsible for that: the callbacks
// are called from whichever thread drives a connection, and userdata must be usable from all
// of them (mod_tls' cache locks itself) and outlive every config built with it.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

pub(crate) struct CallbackStore {
    userdata: UserData,
    put: tlsr_session_put_cb,
    get: tlsr_session_get_cb,
}

impl CallbackStore {
    pub fn new(userdata: *mut c_void, put: tlsr_session_put_cb, get: tlsr_session_get_cb) -> Self {
        CallbackStore {
            userdata: UserData(userdata),
            put,
            get,
        }
    }

    fn fetch(&self, key: &[u8], remove: bool) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; MAX_VALUE];
        let mut len = 0usize;
        // SAFETY: the callback gets valid key and buffer pointers with their lengths, for the
        // duration of the call only; the caller vouches for the callback and userdata.
        let found = unsafe {
            (self.get)(
                self.userdata.0,
                key.as_ptr(),
                key.len(),
                c_int::from(remove),
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
            )
        };
        if found == 0 || len > buf.len() {
            return None;
        }
        buf.truncate(len);
        Some(buf)
    }
}

impl StoresServerSessions for CallbackStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        // SAFETY: as in fetch.
        let stored = unsafe {
            (self.put)(
                self.userdata.0,
                key.as_ptr(),
                key.len(),
                value.as_ptr(),
                value.len(),
            )
        };
        stored != 0
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.fetch(key, false)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.fetch(key, true)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Whether rustls can resume from a session value without harm. rustls 0.20.8 trusts what
/// its store or ticketer gives back, and panics on a TLS 1.2 session whose master secret is not
/// 48 bytes (tls12::ConnectionSecrets::new_resume; found by fuzz/fuzz_server.c). The values
/// come from the caller's store (shared memory, memcache, redis: whatever is there) and from
/// tickets that other servers of a fleet sealed, so they are checked first: a value rustls
/// cannot decode, or whose master secret does not fit its suite, is not found, and the client
/// does a full handshake.
pub(crate) fn resumable(value: &[u8]) -> bool {
    let value = match ServerSessionValue::read_bytes(value) {
        Some(value) => value,
        None => return false,
    };
    let tls13 = rustls::ALL_CIPHER_SUITES
        .iter()
        .any(|s| s.suite() == value.cipher_suite && matches!(s, SupportedCipherSuite::Tls13(_)));
    tls13 || value.master_secret.0.len() == 48
}

/// Wraps whichever store a config uses (callbacks, the in-memory cache, none) and notes, for
/// the connection being processed, what was stored and taken. With TLS 1.3 and no ticketer,
/// rustls 0.20.8 stores each session under a random 32-byte id that it sends to the client as
/// the ticket (`put`), and resumes with `take(ticket)`; TLS 1.2 stores under the session id
/// (`put`) and resumes with `get(session id)`.
///
/// Values are stored with the config's session context in front (32 bytes,
/// clientauth::session_context), and a value with another context is not found: a store shared
/// by configs with different client authentication policies does not let a session made under
/// one be resumed under another.
pub(crate) struct ObservedStore {
    pub store: Arc<dyn StoresServerSessions>,
    pub context: [u8; 32],
}

impl ObservedStore {
    fn unbind(&self, value: Vec<u8>) -> Option<Vec<u8>> {
        let value = value.strip_prefix(&self.context[..])?;
        resumable(value).then(|| value.to_vec())
    }
}

impl StoresServerSessions for ObservedStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let hash = ticket_hash(&key);
        let stored = self.store.put(key, [&self.context[..], &value].concat());
        if stored {
            note(|o| {
                o.stored.get_or_insert(hash);
            });
        }
        stored
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.unbind(self.store.get(key)?)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let value = self.unbind(self.store.take(key)?)?;
        note(|o| o.taken = Some(ticket_hash(key)));
        Some(value)
    }

    fn can_cache(&self) -> bool {
        self.store.can_cache()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A rustls 0.20.8 ServerSessionValue (persist.rs encoding): no SNI, TLS 1.2, `suite`, a
    /// master secret of `secret_len` bytes, no client certificate, no ALPN.
    pub(crate) fn session_value(suite: u16, secret_len: u8) -> Vec<u8> {
        let mut v = vec![0, 0x03, 0x03];
        v.extend_from_slice(&suite.to_be_bytes());
        v.push(secret_len);
        v.extend(std::iter::repeat(7).take(usize::from(secret_len)));
        v.extend_from_slice(&[0, 0, 0, 0, 0]); // ems, cert chain, alpn, application data
        v.extend_from_slice(&1_700_000_000u64.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v
    }

    #[test]
    fn only_values_rustls_can_resume_from_are_found() {
        assert!(resumable(&session_value(0xc02b, 48)));
        // rustls 0.20.8 panics resuming these (copy_from_slice into [u8; 48])
        assert!(!resumable(&session_value(0xc02b, 49)));
        assert!(!resumable(&session_value(0xc02b, 0)));
        // TLS 1.3 secrets are as long as the suite's hash
        assert!(resumable(&session_value(0x1301, 32)));
        assert!(resumable(&session_value(0x1302, 48)));
        assert!(!resumable(b"garbage"));
        assert!(!resumable(b""));

        let store = ObservedStore {
            store: rustls::server::ServerSessionMemoryCache::new(4),
            context: [5; 32],
        };
        let bound = |value: Vec<u8>| [&[5u8; 32][..], &value].concat();
        assert!(store
            .store
            .put(b"good".to_vec(), bound(session_value(0xc02f, 48))));
        assert!(store
            .store
            .put(b"bad".to_vec(), bound(session_value(0xc02f, 49))));
        assert_eq!(store.get(b"good"), Some(session_value(0xc02f, 48)));
        assert_eq!(store.get(b"bad"), None);
        assert_eq!(store.take(b"bad"), None);
    }
}
