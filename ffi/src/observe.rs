//! What rustls' callbacks saw during one call into rustls, for the connection that made it.
//!
//! The certificate resolver, the ticketer and the session store belong to a config that many
//! connections share, so they cannot know which connection they serve. But rustls 0.20.8 calls
//! them synchronously, on the calling thread, inside `Accepted::into_connection` and
//! `ServerConnection::process_new_packets` (nowhere else). So the connection's code installs a
//! fresh [`Observed`] in a thread-local cell for the duration of exactly one such call
//! ([`observe`]); the callbacks [`note`] what they did into it; the connection takes it back
//! and merges it before returning to C. Nothing stays in the cell between calls (also not after
//! a panic), so a connection may move to another thread between calls, and connections driven
//! by different threads never see each other's notes. Outside an observed call, notes are
//! dropped. A nested observed call (a session callback in C that drives another connection)
//! gets its own cell and restores the outer one afterwards.

use ring::digest;
use std::cell::RefCell;

/// SHA-256 of a ticket (or of a stateful ticket's id).
pub(crate) type TicketHash = [u8; 32];

pub(crate) fn ticket_hash(ticket: &[u8]) -> TicketHash {
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest::digest(&digest::SHA256, ticket).as_ref());
    hash
}

/// The notes of one call, or of a whole connection once merged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// The index (order added) of the certified key the resolver chose; the last choice wins
    /// (TLS 1.3 resolves again after a HelloRetryRequest).
    pub key_index: Option<usize>,
    /// The first ticket the ticketer encrypted (a stateless ticket sent to the client).
    pub ticket_issued: Option<TicketHash>,
    /// The last ticket the ticketer decrypted successfully.
    pub ticket_opened: Option<TicketHash>,
    /// The first key the session store accepted (TLS 1.3: the id sent as stateful ticket;
    /// TLS 1.2: the session id).
    pub stored: Option<TicketHash>,
    /// The last key the session store handed out with `take` (TLS 1.3 stateful tickets).
    pub taken: Option<TicketHash>,
}

impl Observed {
    /// Adds the notes of a later call.
    pub fn merge(&mut self, later: Observed) {
        self.key_index = later.key_index.or(self.key_index);
        self.ticket_issued = self.ticket_issued.or(later.ticket_issued);
        self.ticket_opened = later.ticket_opened.or(self.ticket_opened);
        self.stored = self.stored.or(later.stored);
        self.taken = later.taken.or(self.taken);
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Observed>> = const { RefCell::new(None) };
}

/// Runs one call into rustls with a fresh observer installed; returns its result and notes.
pub(crate) fn observe<T>(call: impl FnOnce() -> T) -> (T, Observed) {
    /// Puts the outer observer (normally none) back, also when `call` panics.
    struct Restore(Option<Observed>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            let _ = CURRENT.try_with(|cell| {
                if let Ok(mut current) = cell.try_borrow_mut() {
                    *current = outer;
                }
            });
        }
    }
    let outer = CURRENT.with(|cell| cell.borrow_mut().replace(Observed::default()));
    let restore = Restore(outer);
    let value = call();
    let observed = CURRENT.with(|cell| cell.borrow_mut().take().unwrap_or_default());
    drop(restore);
    (value, observed)
}

/// Records something in the current call's observer; does nothing outside an observed call
/// (the closure does not even run, so it may do the hashing).
pub(crate) fn note(record: impl FnOnce(&mut Observed)) {
    let _ = CURRENT.try_with(|cell| {
        if let Ok(mut current) = cell.try_borrow_mut() {
            if let Some(observed) = current.as_mut() {
                record(observed);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_reach_only_the_current_call() {
        note(|o| o.key_index = Some(9)); // dropped: nobody observes
        let ((), seen) = observe(|| note(|o| o.key_index = Some(1)));
        assert_eq!(seen.key_index, Some(1));
        let ((), seen) = observe(|| {});
        assert_eq!(seen, Observed::default());
    }

    #[test]
    fn nested_calls_restore_the_outer_observer() {
        let (inner, outer) = observe(|| {
            note(|o| o.key_index = Some(1));
            let ((), inner) = observe(|| note(|o| o.key_index = Some(2)));
            note(|o| o.taken = Some([7; 32]));
            inner
        });
        assert_eq!(inner.key_index, Some(2));
        assert_eq!(inner.taken, None);
        assert_eq!(outer.key_index, Some(1));
        assert_eq!(outer.taken, Some([7; 32]));
    }

    #[test]
    fn a_panic_leaves_no_observer_behind() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = std::panic::catch_unwind(|| observe(|| panic!("boom")));
        std::panic::set_hook(hook);
        assert!(result.is_err());
        CURRENT.with(|cell| assert!(cell.borrow().is_none()));
    }

    #[test]
    fn merge_keeps_first_issued_and_last_opened() {
        let mut all = Observed::default();
        all.merge(Observed {
            key_index: Some(0),
            ticket_issued: Some([1; 32]),
            ticket_opened: Some([2; 32]),
            ..Default::default()
        });
        all.merge(Observed {
            ticket_issued: Some([3; 32]),
            ticket_opened: Some([4; 32]),
            ..Default::default()
        });
        assert_eq!(all.key_index, Some(0));
        assert_eq!(all.ticket_issued, Some([1; 32]));
        assert_eq!(all.ticket_opened, Some([4; 32]));
    }
}
