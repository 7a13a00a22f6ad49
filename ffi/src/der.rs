//! A small, strict DER reader for untrusted input (certificates).
//!
//! It never panics and never indexes out of bounds: every step checks the remaining length
//! and splits with `split_first`/`split_at` only after that check. Only the DER subset that
//! X.509 uses is accepted: single-byte tags, definite minimal lengths up to 4 bytes.

use std::fmt;

/// What was wrong with the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerError(pub &'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// A constructed context-specific tag, `[n]` EXPLICIT (n < 31).
pub const fn explicit(n: u8) -> u8 {
    0xa0 | n
}

/// A primitive context-specific tag, `[n]` IMPLICIT of a primitive type (n < 31).
pub const fn implicit(n: u8) -> u8 {
    0x80 | n
}

/// One tag-length-value element; `value` is the content without tag and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads consecutive elements from a byte slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { rest: data }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn read_any(&mut self) -> Result<Tlv<'a>, DerError> {
        let (&tag, rest) = self.rest.split_first().ok_or(DerError("truncated data"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("unsupported multi-byte tag"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 {
                return Err(DerError("indefinite length is not DER"));
            }
            if n > 4 {
                return Err(DerError("length too large"));
            }
            if rest.len() < n {
                return Err(DerError("truncated length"));
            }
            let (bytes, after) = rest.split_at(n);
            rest = after;
            if bytes.first() == Some(&0) {
                return Err(DerError("non-minimal length encoding"));
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err(DerError("non-minimal length encoding"));
            }
            len
        };
        if rest.len() < len {
            return Err(DerError("length exceeds the data"));
        }
        let (value, after) = rest.split_at(len);
        self.rest = after;
        Ok(Tlv { tag, value })
    }

    /// The next element, and its whole encoding (tag, length and content).
    pub fn read_element(&mut self) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
        let before = self.rest;
        let tlv = self.read_any()?;
        let used = before.len() - self.rest.len();
        let encoding = before.get(..used).ok_or(DerError("truncated data"))?;
        Ok((tlv, encoding))
    }

    /// The next element, which must have `tag`; returns its content.
    pub fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let tlv = self.read_any()?;
        if tlv.tag != tag {
            return Err(DerError("unexpected element"));
        }
        Ok(tlv.value)
    }

    /// The next element's content if it has `tag`, else None (nothing consumed).
    pub fn read_optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A reader over the content of the next element, which must have `tag`.
    pub fn nested(&mut self, tag: u8) -> Result<Reader<'a>, DerError> {
        self.read(tag).map(Reader::new)
    }

    /// Succeeds only if everything was read.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError("unexpected trailing data"))
        }
    }
}

/// The content of `data`, which must be exactly one element with `tag`.
pub fn parse_one(data: &[u8], tag: u8) -> Result<&[u8], DerError> {
    let mut reader = Reader::new(data);
    let value = reader.read(tag)?;
    reader.finish()?;
    Ok(value)
}

/// The content bytes of a BIT STRING that has no unused bits (keys, signatures).
pub fn bit_string_bytes(value: &[u8]) -> Result<&[u8], DerError> {
    match value.split_first() {
        Some((0, bytes)) => Ok(bytes),
        Some(_) => Err(DerError("bit string with unused bits")),
        None => Err(DerError("empty bit string")),
    }
}

/// An OBJECT IDENTIFIER's content in dotted form ("2.5.4.3"), arcs of any size. None unless
/// it is valid DER (non-empty, minimal sub-identifiers, no truncated last one), as OpenSSL
/// requires.
pub fn oid_text(content: &[u8]) -> Option<String> {
    if content.is_empty() || content.last().map_or(true, |&b| b & 0x80 != 0) {
        return None;
    }
    let mut text = String::new();
    let mut arc: Vec<u8> = Vec::new(); // the current sub-identifier's base-128 digits
    for (i, &byte) in content.iter().enumerate() {
        let starts = i == 0 || content[i - 1] & 0x80 == 0;
        if starts && byte == 0x80 {
            return None; // non-minimal
        }
        arc.push(byte & 0x7f);
        if byte & 0x80 != 0 {
            continue;
        }
        if text.is_empty() {
            // The first sub-identifier is 40 * X + Y with X in 0..=2.
            let small = if arc.len() == 1 { Some(arc[0]) } else { None };
            match small {
                Some(v) if v < 40 => text.push_str(&format!("0.{}", v)),
                Some(v) if v < 80 => text.push_str(&format!("1.{}", v - 40)),
                _ => {
                    text.push_str("2.");
                    text.push_str(&base128_decimal(&arc, 80));
                }
            }
        } else {
            text.push('.');
            text.push_str(&base128_decimal(&arc, 0));
        }
        arc.clear();
    }
    Some(text)
}

/// The decimal text of a big-endian base-128 number minus `minus` (which it is at least).
fn base128_decimal(digits: &[u8], minus: u8) -> String {
    // Little-endian decimal digits, multiplied up digit by digit: arcs may exceed u128.
    let mut decimal: Vec<u8> = vec![0];
    for &d in digits {
        let mut carry = u32::from(d);
        for digit in decimal.iter_mut() {
            let v = u32::from(*digit) * 128 + carry;
            *digit = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            decimal.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    // Subtract `minus` (< 100), borrowing as needed.
    let mut borrow = u32::from(minus);
    for digit in decimal.iter_mut() {
        if borrow == 0 {
            break;
        }
        let sub = borrow % 10;
        borrow /= 10;
        if u32::from(*digit) >= sub {
            *digit -= sub as u8;
        } else {
            *digit = (u32::from(*digit) + 10 - sub) as u8;
            borrow += 1;
        }
    }
    while decimal.len() > 1 && decimal.last() == Some(&0) {
        decimal.pop();
    }
    decimal
        .iter()
        .rev()
        .map(|&d| char::from(b'0' + d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        let mut r = Reader::new(&[0x02, 0x01, 0x05, 0x04, 0x81, 0x80]);
        assert_eq!(r.read(INTEGER), Ok(&[5u8][..]));
        assert_eq!(
            r.read(OCTET_STRING),
            Err(DerError("length exceeds the data"))
        );

        let mut data = vec![0x04, 0x82, 0x01, 0x00];
        data.extend(std::iter::repeat(7u8).take(256));
        assert_eq!(parse_one(&data, OCTET_STRING).map(|v| v.len()), Ok(256));
    }

    #[test]
    fn rejects_non_der() {
        assert!(parse_one(&[0x04, 0x80, 0x00, 0x00], OCTET_STRING).is_err()); // indefinite
        assert!(parse_one(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], OCTET_STRING).is_err()); // non-minimal
        assert!(parse_one(&[0x04, 0x82, 0x00, 0x81], OCTET_STRING).is_err()); // leading zero
        assert!(parse_one(&[0x04, 0x85, 1, 1, 1, 1, 1], OCTET_STRING).is_err()); // too long
        assert!(parse_one(&[0x1f, 0x01, 0x00], 0x1f).is_err()); // multi-byte tag
        assert!(parse_one(&[0x04, 0x00, 0x00], OCTET_STRING).is_err()); // trailing
        assert!(parse_one(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff], OCTET_STRING).is_err());
        assert!(parse_one(&[], OCTET_STRING).is_err());
        assert!(parse_one(&[0x04], OCTET_STRING).is_err());
    }

    #[test]
    fn oids() {
        assert_eq!(oid_text(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).as_deref(),
            Some("1.2.840.113549.1.9.1")
        );
        assert_eq!(
            oid_text(&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19]).as_deref(),
            Some("0.9.2342.19200300.100.1.25")
        );
        assert_eq!(oid_text(&[0x00]).as_deref(), Some("0.0"));
        assert_eq!(oid_text(&[0x27]).as_deref(), Some("0.39"));
        assert_eq!(oid_text(&[0x28]).as_deref(), Some("1.0"));
        assert_eq!(oid_text(&[0x50]).as_deref(), Some("2.0"));
        assert_eq!(oid_text(&[0x7f]).as_deref(), Some("2.47"));
        assert_eq!(oid_text(&[0x81, 0x00]).as_deref(), Some("2.48"));
        assert_eq!(oid_text(&[0x88, 0x37, 0x01]).as_deref(), Some("2.999.1"));
        // 2.25.<128-bit UUID>: arcs beyond u64
        let mut uuid = vec![0x69];
        uuid.extend_from_slice(&[0x83, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        uuid.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(
            oid_text(&uuid).as_deref(),
            Some("2.25.340282366920938463463374607431768211455")
        );
        let mut big_first = vec![0x83, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        big_first.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(
            oid_text(&big_first).as_deref(),
            Some("2.340282366920938463463374607431768211375")
        );
        for bad in [
            &[][..],
            &[0x55, 0x84],
            &[0x80, 0x01],
            &[0x55, 0x80, 0x01],
            &[0x86],
        ] {
            assert_eq!(oid_text(bad), None, "{:02x?}", bad);
        }
    }

    #[test]
    fn elements_with_their_encoding() {
        let data = [0x0c, 0x02, b'h', b'i', 0x05, 0x00];
        let mut r = Reader::new(&data);
        let (tlv, raw) = r.read_element().unwrap();
        assert_eq!((tlv.tag, tlv.value, raw), (0x0c, &b"hi"[..], &data[..4]));
        assert_eq!(r.read_element().unwrap().1, &[0x05, 0x00]);
        assert!(r.read_element().is_err());
    }

    #[test]
    fn never_panics_on_any_short_input() {
        // Every byte string up to 3 bytes, and many 4-byte ones.
        let mut inputs: Vec<Vec<u8>> = vec![vec![]];
        for a in 0..=255u8 {
            inputs.push(vec![a]);
            for b in [0u8, 1, 2, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x85, 0xff] {
                inputs.push(vec![a, b]);
                inputs.push(vec![a, b, 0]);
                inputs.push(vec![a, b, 1, 0xff]);
            }
        }
        for input in inputs {
            let mut r = Reader::new(&input);
            while r.read_element().is_ok() {}
            let _ = bit_string_bytes(&input);
            let _ = oid_text(&input);
        }
    }
}
