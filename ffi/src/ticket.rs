//! Stateless session tickets encrypted with the caller's keys
//! (tlsr_server_config_builder_set_ticket_keys), so that every server of a fleet that has the
//! same keys can resume a session any of them made, and keys can be rotated.
//!
//! A key is 48 bytes: a 16-byte name, then a 32-byte AES-256-GCM secret. A ticket is
//!
//! ```text
//! key name (16) || nonce (12, random) || AES-256-GCM(issued (8) || plaintext) || tag (16)
//! ```
//!
//! with the key name as additional authenticated data and `issued` the time of issue in
//! seconds since the Unix epoch, big-endian. The first key encrypts; decryption picks the key
//! by the ticket's name (names are not secret: no constant-time comparison). Tickets come
//! from the client and may be anything: decrypt() checks every length and returns None for
//! whatever does not open. rustls itself does not enforce ticket ages, so decrypt() refuses a
//! ticket issued more than `lifetime` seconds ago (or more than MAX_SKEW seconds in the
//! future: the clocks of a fleet's servers may differ a little).
//!
//! A config uses the keys through a [`BoundTicketer`]: its plaintext is the config's session
//! context (32 bytes) and then rustls' session value.

use crate::observe::{note, ticket_hash};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use rustls::server::ProducesTickets;

pub(crate) const KEY_LEN: usize = 48;
const NAME_LEN: usize = 16;
const NONCE_LEN: usize = aead::NONCE_LEN;
const TAG_LEN: usize = 16;
const ISSUED_LEN: usize = 8;
/// How far in the future another server's clock may have put a ticket's time of issue.
const MAX_SKEW: u64 = 60;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

struct TicketKey {
    name: [u8; NAME_LEN],
    key: LessSafeKey,
}

pub(crate) struct Ticketer {
    /// Never empty.
    keys: Vec<TicketKey>,
    lifetime: u32,
    rng: SystemRandom,
}

impl Ticketer {
    /// `keys`: n * KEY_LEN bytes, n >= 1. None when that is not the case.
    pub fn new(keys: &[u8], lifetime: u32) -> Option<Ticketer> {
        if keys.is_empty() || keys.len() % KEY_LEN != 0 {
            return None;
        }
        let keys = keys
            .chunks(KEY_LEN)
            .map(|chunk| {
                let (name_bytes, secret) = chunk.split_at(NAME_LEN);
                let mut name = [0u8; NAME_LEN];
                name.copy_from_slice(name_bytes);
                let key = UnboundKey::new(&aead::AES_256_GCM, secret).ok()?;
                Some(TicketKey {
                    name,
                    key: LessSafeKey::new(key),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Ticketer {
            keys,
            lifetime,
            rng: SystemRandom::new(),
        })
    }

    fn seal(&self, plain: &[u8], issued: u64) -> Option<Vec<u8>> {
        let key = self.keys.first()?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut sealed = Vec::with_capacity(ISSUED_LEN + plain.len() + TAG_LEN);
        sealed.extend_from_slice(&issued.to_be_bytes());
        sealed.extend_from_slice(plain);
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&key.name),
                &mut sealed,
            )
            .ok()?;
        let mut ticket = Vec::with_capacity(NAME_LEN + NONCE_LEN + sealed.len());
        ticket.extend_from_slice(&key.name);
        ticket.extend_from_slice(&nonce);
        ticket.extend_from_slice(&sealed);
        Some(ticket)
    }

    /// The plaintext of a ticket that opens with one of our keys and is not too old at `now`.
    fn open(&self, ticket: &[u8], now: u64) -> Option<Vec<u8>> {
        if ticket.len() < NAME_LEN + NONCE_LEN + ISSUED_LEN + TAG_LEN {
            return None;
        }
        let (name, rest) = ticket.split_at(NAME_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let key = self.keys.iter().find(|k| k.name[..] == *name)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain_len = key
            .key
            .open_in_place(nonce, Aad::from(name), &mut buf)
            .ok()?
            .len();
        buf.truncate(plain_len);
        let mut issued = [0u8; ISSUED_LEN];
        issued.copy_from_slice(buf.get(..ISSUED_LEN)?);
        let issued = u64::from_be_bytes(issued);
        if issued > now.saturating_add(MAX_SKEW)
            || now.saturating_sub(issued) > u64::from(self.lifetime)
        {
            return None;
        }
        buf.drain(..ISSUED_LEN);
        Some(buf)
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.lifetime
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let ticket = self.seal(plain, now())?;
        note(|o| {
            o.ticket_issued.get_or_insert_with(|| ticket_hash(&ticket));
        });
        Some(ticket)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.open(cipher, now())?;
        note(|o| o.ticket_opened = Some(ticket_hash(cipher)));
        Some(plain)
    }
}

/// A config's view of the shared keys: tickets carry the config's session context (32 bytes,
/// clientauth::session_context) before rustls' session value, and open only where the context
/// is the same. So a session made without client authentication, or under another policy, is
/// not resumed where a policy applies, although every config of a server shares the keys.
pub(crate) struct BoundTicketer {
    pub keys: std::sync::Arc<Ticketer>,
    pub context: [u8; 32],
}

impl ProducesTickets for BoundTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.keys.lifetime
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let bound = [&self.context[..], plain].concat();
        self.keys.encrypt(&bound)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let plain = self.keys.open(cipher, now())?;
        let value = plain.strip_prefix(&self.context[..])?.to_vec();
        if !crate::session::resumable(&value) {
            return None; // sealed by a fleet peer that rustls here cannot resume from
        }
        note(|o| o.ticket_opened = Some(ticket_hash(cipher)));
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::tests::session_value;

    fn key(name: u8, secret: u8) -> Vec<u8> {
        let mut k = vec![name; NAME_LEN];
        k.extend_from_slice(&[secret; 32]);
        k
    }

    #[test]
    fn round_trip_and_format() {
        let t = Ticketer::new(&key(1, 2), 300).unwrap();
        assert!(t.enabled());
        assert_eq!(t.lifetime(), 300);
        let ticket = t.encrypt(b"session state").unwrap();
        assert_eq!(ticket.len(), 16 + 12 + 8 + 13 + 16);
        assert_eq!(&ticket[..16], &[1u8; 16]);
        assert_eq!(t.decrypt(&ticket).as_deref(), Some(&b"session state"[..]));
        let again = t.encrypt(b"session state").unwrap();
        assert_ne!(ticket[16..28], again[16..28], "fresh nonce per ticket");
        assert_eq!(
            t.decrypt(&t.encrypt(b"").unwrap()).as_deref(),
            Some(&b""[..])
        );
    }

    #[test]
    fn rotation() {
        let old = Ticketer::new(&key(1, 1), 60).unwrap();
        let ticket = old.encrypt(b"x").unwrap();
        let rotated = Ticketer::new(&[key(2, 2), key(1, 1)].concat(), 60).unwrap();
        assert_eq!(rotated.decrypt(&ticket).as_deref(), Some(&b"x"[..]));
        assert_eq!(&rotated.encrypt(b"y").unwrap()[..16], &[2u8; 16]);
        let dropped = Ticketer::new(&key(2, 2), 60).unwrap();
        assert_eq!(dropped.decrypt(&ticket), None);
        // Same name, other secret: the tag does not verify.
        let impostor = Ticketer::new(&key(1, 9), 60).unwrap();
        assert_eq!(impostor.decrypt(&ticket), None);
    }

    #[test]
    fn tampering_and_garbage() {
        let t = Ticketer::new(&key(1, 2), 60).unwrap();
        let ticket = t.encrypt(b"state").unwrap();
        for i in 0..ticket.len() {
            let mut bad = ticket.clone();
            bad[i] ^= 0x40;
            assert_eq!(t.decrypt(&bad), None, "byte {}", i);
        }
        for len in 0..ticket.len() {
            assert_eq!(t.decrypt(&ticket[..len]), None, "length {}", len);
        }
        let mut long = ticket.clone();
        long.push(0);
        assert_eq!(t.decrypt(&long), None);
        assert_eq!(t.decrypt(&[1u8; 44]), None);
        assert_eq!(t.decrypt(&[1u8; 5000]), None);
    }

    #[test]
    fn age_is_checked() {
        let t = Ticketer::new(&key(1, 2), 300).unwrap();
        let at = 1_800_000_000;
        let ticket = t.seal(b"s", at).unwrap();
        assert_eq!(t.open(&ticket, at).as_deref(), Some(&b"s"[..]));
        assert_eq!(t.open(&ticket, at + 300).as_deref(), Some(&b"s"[..]));
        assert_eq!(t.open(&ticket, at + 301), None, "older than the lifetime");
        assert_eq!(t.open(&ticket, at - MAX_SKEW).as_deref(), Some(&b"s"[..]));
        assert_eq!(
            t.open(&ticket, at - MAX_SKEW - 1),
            None,
            "from too far in the future"
        );
        // The time of issue is sealed: a client cannot make a ticket younger.
        let mut bad = ticket.clone();
        bad[NAME_LEN + NONCE_LEN + 7] ^= 1;
        assert_eq!(t.open(&bad, at), None);
        // A fresh ticket opens now.
        let fresh = t.encrypt(b"s").unwrap();
        assert_eq!(t.decrypt(&fresh).as_deref(), Some(&b"s"[..]));
        let stale = t.seal(b"s", now() - 301).unwrap();
        assert_eq!(t.decrypt(&stale), None);
    }

    #[test]
    fn bound_tickets_open_only_in_their_context() {
        let keys = std::sync::Arc::new(Ticketer::new(&key(1, 1), 300).unwrap());
        let a = BoundTicketer {
            keys: keys.clone(),
            context: [1; 32],
        };
        let b = BoundTicketer {
            keys: keys.clone(),
            context: [2; 32],
        };
        let state = session_value(0xc02b, 48);
        let ticket = a.encrypt(&state).unwrap();
        assert_eq!(a.decrypt(&ticket), Some(state.clone()));
        assert_eq!(b.decrypt(&ticket), None);
        // An unbound ticket of the same keys does not open either.
        assert_eq!(a.decrypt(&keys.encrypt(&state).unwrap()), None);
        assert_eq!(a.lifetime(), 300);
        // Nor one whose session rustls 0.20.8 would panic resuming (a fleet peer's bug)
        assert_eq!(
            a.decrypt(&a.encrypt(&session_value(0xc02b, 49)).unwrap()),
            None
        );
        assert_eq!(a.decrypt(&a.encrypt(b"state").unwrap()), None);
    }

    #[test]
    fn key_material_must_be_whole_keys() {
        assert!(Ticketer::new(&[], 1).is_none());
        assert!(Ticketer::new(&[0u8; 47], 1).is_none());
        assert!(Ticketer::new(&[0u8; 49], 1).is_none());
        assert!(Ticketer::new(&[0u8; 96], 1).is_some());
    }
}
