//! Distinguished names (RFC 5280 `Name`) in the text forms mod_ssl uses, byte for byte as
//! OpenSSL 3.0 makes them (crypto/x509/x509_name.c, crypto/asn1/a_strex.c):
//!
//! - the whole name as `X509_NAME_print_ex(.., XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)`:
//!   attributes in reverse order (the last one first, also inside a multi-valued RDN), "," between
//!   RDNs and "+" inside one, OpenSSL's short names, values escaped as RFC 2253 says and
//!   converted to UTF-8 (non-ASCII kept as is). Attributes OpenSSL does not know print as the
//!   dotted OID and "#" + the value's DER in hex; so do values that are not strings.
//! - one attribute's value, unescaped UTF-8.
//!
//! Strings: UTF8String as is; PrintableString, IA5String, TeletexString and NumericString as
//! Latin-1; BMPString as UCS-2 (big-endian); UniversalString as UCS-4. OpenSSL refuses to load
//! a certificate whose name has an invalid string (it converts them all to UTF-8 when it parses
//! a name) or a value of a type outside its ASN1_PRINTABLE (INTEGER, VisibleString, ...), and
//! so does this module: [`parse`] fails.

use crate::der::{self, DerError, Reader, Tlv};
use crate::oids;

const SET: u8 = der::SET;
const UTF8_STRING: u8 = 0x0c;
const UNIVERSAL_STRING: u8 = 0x1c;
const BMP_STRING: u8 = 0x1e;

/// One attribute of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Dotted OID.
    pub oid: String,
    /// The index of the RDN it belongs to (several attributes share one in a multi-valued RDN).
    pub rdn: usize,
    /// The value as text (for strings) or None (other types).
    text: Option<String>,
    /// The value's whole DER encoding.
    der: Vec<u8>,
}

impl Attribute {
    /// The value, unescaped: the string as UTF-8, or "#" and the DER in hex for other types
    /// and for attributes OpenSSL does not know.
    pub fn value(&self) -> String {
        match &self.text {
            Some(text) if oids::dn_short_name(&self.oid).is_some() => text.clone(),
            _ => dump(&self.der),
        }
    }

    /// "name=value" with the value escaped, as in the RFC 2253 form.
    fn rfc2253(&self) -> String {
        match (oids::dn_short_name(&self.oid), &self.text) {
            (Some(name), Some(text)) => format!("{}={}", name, escape(text)),
            (Some(name), None) => format!("{}={}", name, dump(&self.der)),
            // OpenSSL prints unknown OIDs into an 80-byte buffer.
            (None, _) => format!("{:.79}={}", self.oid, dump(&self.der)),
        }
    }
}

/// Parses the content of a Name (its RDNs). Fails on anything OpenSSL would not load.
pub fn parse(content: &[u8]) -> Result<Vec<Attribute>, DerError> {
    let mut rdns = Reader::new(content);
    let mut attributes = Vec::new();
    let mut rdn = 0;
    while !rdns.is_empty() {
        let mut set = rdns.nested(SET)?;
        if set.is_empty() {
            return Err(DerError("empty relative distinguished name"));
        }
        while !set.is_empty() {
            let mut atv = set.nested(der::SEQUENCE)?;
            let oid = der::oid_text(atv.read(der::OID)?).ok_or(DerError("invalid OID"))?;
            let (value, encoding) = atv.read_element()?;
            atv.finish()?;
            attributes.push(Attribute {
                oid,
                rdn,
                text: string_text(value)?,
                der: encoding.to_vec(),
            });
        }
        rdn += 1;
    }
    Ok(attributes)
}

/// The whole name in OpenSSL's RFC 2253 form ("" for an empty name).
pub fn rfc2253(attributes: &[Attribute]) -> String {
    let mut out = String::new();
    let mut previous: Option<usize> = None;
    for attribute in attributes.iter().rev() {
        match previous {
            Some(rdn) if rdn == attribute.rdn => out.push('+'),
            Some(_) => out.push(','),
            None => {}
        }
        out.push_str(&attribute.rfc2253());
        previous = Some(attribute.rdn);
    }
    out
}

/// A string value as text; None for values that are not strings; an error for invalid strings.
fn string_text(value: Tlv) -> Result<Option<String>, DerError> {
    let invalid = DerError("invalid string in a name");
    let text = match value.tag {
        UTF8_STRING => String::from_utf8(value.value.to_vec()).map_err(|_| invalid)?,
        // NumericString, PrintableString, TeletexString, IA5String: a byte a character.
        0x12 | 0x13 | 0x14 | 0x16 => value.value.iter().map(|&b| char::from(b)).collect(),
        BMP_STRING => {
            if value.value.len() % 2 != 0 {
                return Err(invalid);
            }
            value
                .value
                .chunks(2)
                .map(|c| char::from_u32(u32::from(c[0]) << 8 | u32::from(c[1])))
                .collect::<Option<String>>()
                .ok_or(invalid)?
        }
        UNIVERSAL_STRING => {
            if value.value.len() % 4 != 0 {
                return Err(invalid);
            }
            value
                .value
                .chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect::<Option<String>>()
                .ok_or(invalid)?
        }
        // What else OpenSSL takes (ASN1_PRINTABLE): BIT STRING, SEQUENCE, and the universal
        // tags it has no type for (ObjectDescriptor, EXTERNAL, REAL, ...). Printed as dumps.
        0x03 | 0x07 | 0x08 | 0x09 | 0x0b | 0x0d | 0x0e | 0x0f | 0x1d | der::SEQUENCE => {
            return Ok(None)
        }
        // INTEGER, NULL, OCTET STRING, VisibleString, times, other classes, constructed
        // strings (not DER): OpenSSL does not load the certificate.
        _ => return Err(DerError("a name has a value of a type OpenSSL refuses")),
    };
    Ok(Some(text))
}

/// "#" and upper-case hex.
fn dump(der: &[u8]) -> String {
    let mut out = String::with_capacity(1 + der.len() * 2);
    out.push('#');
    for b in der {
        out.push_str(&format!("{:02X}", b));
    }
    out
}

/// RFC 2253 escaping as OpenSSL's do_esc_char does it with ESC_2253 and ESC_CTRL: `,+"\<>;`
/// get a backslash, so does a '#' or ' ' first and a ' ' last; control characters and DEL
/// become \XX. A value of one character counts only as last (so "#" alone stays as it is).
fn escape(text: &str) -> String {
    let count = text.chars().count();
    let mut out = String::with_capacity(text.len() + 4);
    for (i, c) in text.chars().enumerate() {
        let last = i + 1 == count;
        let first = i == 0 && !last;
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '#' if first => out.push_str("\\#"),
            ' ' if first || last => out.push_str("\\ "),
            '\u{0}'..='\u{1f}' | '\u{7f}' => out.push_str(&format!("\\{:02X}", u32::from(c))),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if value.len() < 0x80 {
            out.push(value.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(value);
        out
    }

    fn atv(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
        tlv(
            der::SEQUENCE,
            &[tlv(der::OID, oid), tlv(tag, value)].concat(),
        )
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const UNKNOWN: &[u8] = &[0x2a, 0x03, 0x04];

    fn name(rdns: &[Vec<Vec<u8>>]) -> Vec<u8> {
        rdns.iter()
            .map(|rdn| tlv(SET, &rdn.concat()))
            .collect::<Vec<_>>()
            .concat()
    }

    #[test]
    fn order_separators_and_escapes() {
        let content = name(&[
            vec![atv(O, 0x13, b"Example, Inc.")],
            vec![atv(CN, UTF8_STRING, b"a"), atv(UNKNOWN, UTF8_STRING, b"x")],
            vec![atv(CN, 0x0c, " #a\u{1}\u{7f}é ".as_bytes())],
        ]);
        let attrs = parse(&content).unwrap();
        assert_eq!(attrs.len(), 4);
        assert_eq!(
            rfc2253(&attrs),
            "CN=\\ #a\\01\\7Fé\\ ,1.2.3.4=#0C0178+CN=a,O=Example\\, Inc."
        );
        assert_eq!(attrs[0].value(), "Example, Inc.");
        assert_eq!(attrs[2].value(), "#0C0178");
        assert_eq!(rfc2253(&[]), "");
    }

    #[test]
    fn single_characters() {
        for (value, printed) in [("#", "#"), (" ", "\\ "), (",", "\\,"), ("##", "\\##")] {
            let attrs = parse(&name(&[vec![atv(CN, UTF8_STRING, value.as_bytes())]])).unwrap();
            assert_eq!(rfc2253(&attrs), format!("CN={}", printed));
        }
    }

    #[test]
    fn string_types() {
        let cases: [(u8, &[u8], &str); 6] = [
            (0x13, b"Printable", "Printable"),
            (0x14, b"Gr\xfc\xdfe", "Grüße"),
            (0x16, b"a@b", "a@b"),
            (BMP_STRING, &[0x65, 0xe5, 0x67, 0x2c], "日本"),
            (UNIVERSAL_STRING, &[0, 1, 0xf6, 0x00, 0, 0, 0, 0x41], "😀A"),
            (UTF8_STRING, "ü".as_bytes(), "ü"),
        ];
        for (tag, bytes, text) in cases {
            let attrs = parse(&name(&[vec![atv(CN, tag, bytes)]])).unwrap();
            assert_eq!(attrs[0].value(), text);
            assert_eq!(rfc2253(&attrs), format!("CN={}", text));
        }
        // Not strings: dumped.
        let attrs = parse(&name(&[vec![atv(CN, 0x03, &[0, 0xff])]])).unwrap();
        assert_eq!(rfc2253(&attrs), "CN=#030200FF");
        let attrs = parse(&name(&[vec![atv(CN, der::SEQUENCE, &[])]])).unwrap();
        assert_eq!(rfc2253(&attrs), "CN=#3000");
    }

    #[test]
    fn invalid_names() {
        for content in [
            name(&[vec![atv(CN, UTF8_STRING, b"\xff")]]),
            name(&[vec![atv(CN, BMP_STRING, b"\x00")]]),
            name(&[vec![atv(CN, BMP_STRING, b"\xd8\x00")]]),
            name(&[vec![atv(CN, UNIVERSAL_STRING, b"\x00\x11\x00\x00")]]),
            name(&[vec![atv(CN, UNIVERSAL_STRING, b"\x00\x00\x41")]]),
            name(&[vec![atv(CN, 0x02, b"\x01")]]),
            name(&[vec![atv(CN, 0x1a, b"visible")]]),
            name(&[vec![atv(CN, 0x2c, b"")]]),
            name(&[vec![atv(CN, 0x80, b"x")]]),
            name(&[vec![]]),
            name(&[vec![atv(&[0x80, 0x01], UTF8_STRING, b"x")]]),
            tlv(der::SEQUENCE, &[]),
            vec![SET, 5, 1, 2],
        ] {
            assert!(parse(&content).is_err(), "{:02x?}", content);
        }
    }
}
