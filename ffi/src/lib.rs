//! tlsr: the C ABI of mod_tls over rustls 0.20.8. `include/tlsr.h` is the contract.
//!
//! This file holds the wiring and the boundary: the panic guard every export runs in, and the
//! few helpers that turn C pointers into Rust references. They are the only `unsafe` code
//! besides the session callbacks (session.rs); everything else is safe Rust.
//!
//! One file per concern: status.rs (statuses, rustls error mapping), der.rs + x509.rs
//! (certificate parsing), dn.rs (distinguished names), oids.rs (OpenSSL's names for OIDs),
//! fields.rs (tlsr_x509: certificate fields as text), certkey.rs, crl.rs (revocation lists),
//! clientauth.rs (client certificate verification), client.rs (configs for
//! connections to backends), config.rs, session.rs (the caller's session store),
//! ticket.rs (session tickets), observe.rs (what the shared callbacks did for one connection),
//! flight.rs (the server's outgoing handshake), acceptor.rs, conn.rs.

#![deny(unsafe_op_in_unsafe_fn)]

mod acceptor;
mod certkey;
mod client;
mod clientauth;
mod config;
mod conn;
pub mod crl;
pub mod der;
mod dn;
mod fields;
mod flight;
mod inbound;
mod observe;
mod oids;
mod session;
mod status;
mod ticket;
pub mod x509;

pub use acceptor::*;
pub use certkey::*;
pub use client::*;
pub use clientauth::*;
pub use config::*;
pub use conn::*;
pub use fields::*;
pub use session::{tlsr_session_get_cb, tlsr_session_put_cb};
pub use status::*;

use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Panic boundary

/// Runs the body of an export that returns a status. `Err(status)` is returned as is; a panic
/// becomes `TLSR_PANIC`. Out-parameters are written by the body only after everything succeeded.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), tlsr_status>) -> tlsr_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => TLSR_OK,
        Ok(Err(status)) => status,
        Err(_) => TLSR_PANIC,
    }
}

/// Runs the body of an export that returns a plain value; `neutral` on panic.
pub(crate) fn guard_value<T>(neutral: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(neutral)
}

// ---------------------------------------------------------------------------------------------
// Pointer helpers. The C caller promises (tlsr.h) that every non-NULL pointer it passes is
// valid for the call: handles are ones this crate handed out and not yet freed, buffers have
// at least the given length, and a handle is never used by two threads at once.

pub(crate) fn try_ref<'a, T>(ptr: *const T) -> Result<&'a T, tlsr_status> {
    // SAFETY: NULL is checked by as_ref(); otherwise valid per the caller's contract above.
    unsafe { ptr.as_ref() }.ok_or(TLSR_NULL_PARAM)
}

pub(crate) fn try_mut<'a, T>(ptr: *mut T) -> Result<&'a mut T, tlsr_status> {
    // SAFETY: as try_ref; the caller does not use the handle concurrently.
    unsafe { ptr.as_mut() }.ok_or(TLSR_NULL_PARAM)
}

/// `len` elements at `ptr`. NULL is fine when `len` is 0.
pub(crate) fn try_slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], tlsr_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(TLSR_NULL_PARAM);
    }
    // SAFETY: non-NULL and, per contract, valid for `len` elements during the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The bytes of a NUL-terminated C string (without the NUL).
pub(crate) fn try_c_str<'a>(ptr: *const c_char) -> Result<&'a [u8], tlsr_status> {
    if ptr.is_null() {
        return Err(TLSR_NULL_PARAM);
    }
    // SAFETY: non-NULL and, per contract, a NUL-terminated string valid during the call.
    Ok(unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes())
}

/// A writable buffer of `len` elements at `ptr`. NULL is fine when `len` is 0.
pub(crate) fn try_mut_slice<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], tlsr_status> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(TLSR_NULL_PARAM);
    }
    // SAFETY: non-NULL and, per contract, valid and exclusive for `len` elements during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Hands out an owned, mutable object.
pub(crate) fn box_into_raw<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back an object handed out by box_into_raw; None for NULL.
pub(crate) fn box_from_raw<T>(ptr: *mut T) -> Option<Box<T>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: per contract, ptr came from box_into_raw and is given back exactly once.
    Some(unsafe { Box::from_raw(ptr) })
}

/// Releases one reference handed out by Arc::into_raw; NULL is a no-op.
pub(crate) fn arc_release<T>(ptr: *const T) {
    if !ptr.is_null() {
        // SAFETY: per contract, ptr came from Arc::into_raw and this reference is freed once.
        drop(unsafe { Arc::from_raw(ptr) });
    }
}

/// A new reference to an object handed out by Arc::into_raw; the caller keeps its own.
pub(crate) fn arc_clone<T>(ptr: *const T) -> Result<Arc<T>, tlsr_status> {
    if ptr.is_null() {
        return Err(TLSR_NULL_PARAM);
    }
    // SAFETY: ptr came from Arc::into_raw and the caller still holds that reference, so the
    // count is at least 1; we add one and take ownership of exactly that one.
    unsafe {
        Arc::increment_strong_count(ptr);
        Ok(Arc::from_raw(ptr))
    }
}

/// Runs `body` with exclusive access to an object handed out by Arc::into_raw, provided no
/// other reference to it exists (Arc::get_mut); TLSR_WRONG_STATE otherwise.
pub(crate) fn arc_get_mut<T, R>(
    ptr: *mut T,
    body: impl FnOnce(&mut T) -> R,
) -> Result<R, tlsr_status> {
    if ptr.is_null() {
        return Err(TLSR_NULL_PARAM);
    }
    // SAFETY: ptr came from Arc::into_raw and the caller holds that reference. ManuallyDrop:
    // the reference stays the caller's (also if `body` panics); get_mut checks uniqueness.
    let mut arc = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(ptr as *const T) });
    match Arc::get_mut(&mut arc) {
        Some(value) => Ok(body(value)),
        None => Err(TLSR_WRONG_STATE),
    }
}

/// Copies `msg` into `buf[..cap]` as a NUL-terminated string, truncated (at a character
/// boundary) to fit. Nothing is written when cap is 0.
pub(crate) fn copy_c_string(buf: &mut [c_char], msg: &str) {
    let room = match buf.len().checked_sub(1) {
        Some(room) => room,
        None => return,
    };
    let mut n = msg.len().min(room);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    for (dst, src) in buf.iter_mut().zip(&msg.as_bytes()[..n]) {
        *dst = *src as c_char;
    }
    buf[n] = 0;
}

/// Writes a constructor's error message into the optional `err`/`err_cap` buffer.
pub(crate) fn write_err(err: *mut c_char, err_cap: usize, msg: &str) {
    if let Ok(buf) = try_mut_slice(err, err_cap) {
        copy_c_string(buf, msg);
    }
}

/// Runs the body of a constructor export that reports failures in the caller's optional
/// `err`/`err_cap` buffer: the body's message, or for a panic "internal error (panic) while
/// <doing>".
pub(crate) fn guard_err(
    err: *mut c_char,
    err_cap: usize,
    doing: &str,
    body: impl FnOnce() -> Result<(), status::Failure>,
) -> tlsr_status {
    let mut message = String::new();
    let status = guard(|| {
        body().map_err(|failure| {
            message = failure.message;
            failure.status
        })
    });
    if status != TLSR_OK {
        if status == TLSR_PANIC {
            message = format!("internal error (panic) while {}", doing);
        }
        write_err(err, err_cap, &message);
    }
    status
}

/// The body of the *_last_error functions: copy, truncate, report the full length.
pub(crate) fn last_error_out(
    msg: &str,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> Result<(), tlsr_status> {
    let buf = try_mut_slice(buf, cap)?;
    let len = try_mut(len)?;
    copy_c_string(buf, msg);
    *len = msg.len();
    Ok(())
}

/// Writes the total count and as many items as fit into out[..cap].
pub(crate) fn copy_list<T: Copy>(items: &[T], out: *mut T, cap: usize) -> usize {
    if let Ok(out) = try_mut_slice(out, cap) {
        for (dst, src) in out.iter_mut().zip(items) {
            *dst = *src;
        }
    }
    items.len()
}

/// Writes a borrowed view, NULL/0 when there is none.
pub(crate) fn view_out<T>(
    value: Option<&[T]>,
    ptr: *mut *const T,
    len: *mut usize,
) -> Result<(), tlsr_status> {
    let ptr = try_mut(ptr)?;
    let len = try_mut(len)?;
    match value {
        Some(v) => {
            *ptr = v.as_ptr();
            *len = v.len();
        }
        None => {
            *ptr = std::ptr::null();
            *len = 0;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Versions

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
/// The rustls version Cargo.toml pins (a test checks that Cargo.lock agrees).
pub static RUSTLS_VERSION: &str = "0.20.8\0";

#[no_mangle]
pub extern "C" fn tlsr_version() -> *const c_char {
    VERSION.as_ptr() as *const c_char
}

#[no_mangle]
pub extern "C" fn tlsr_rustls_version() -> *const c_char {
    RUSTLS_VERSION.as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_a_status() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let status = guard(|| panic!("boom"));
        let value = guard_value(7usize, || panic!("boom"));
        std::panic::set_hook(hook);
        assert_eq!(status, TLSR_PANIC);
        assert_eq!(value, 7);
        assert_eq!(guard(|| Err(TLSR_EOF)), TLSR_EOF);
    }

    #[test]
    fn c_strings_truncate_at_character_boundaries() {
        let mut buf = [b'#' as c_char; 6];
        copy_c_string(&mut buf, "ab\u{e9}cd"); // é is two bytes: "ab" + 2 + "cd"
        assert_eq!(
            &buf[..5],
            &[
                b'a' as c_char,
                b'b' as c_char,
                0xc3u8 as c_char,
                0xa9u8 as c_char,
                b'c' as c_char
            ]
        );
        assert_eq!(buf[5], 0);
        let mut buf = [b'#' as c_char; 4];
        copy_c_string(&mut buf, "ab\u{e9}");
        assert_eq!(&buf, &[b'a' as c_char, b'b' as c_char, 0, b'#' as c_char]);
        copy_c_string(&mut [], "ignored");
    }
}
