//! Frames the peer's TLS records as they are fed during the handshake, to recognize a
//! plaintext alert where rustls 0.20.8 reports a record that fails to decrypt.
//!
//! A TLS 1.3 client that refuses the server's certificate (OpenSSL: unknown_ca, bad_certificate,
//! certificate_expired) sends its alert before it has switched its writes to the handshake
//! keys. rustls' server, which reads encrypted records from its ServerHello on, tries to
//! decrypt that record and fails: `Error::DecryptError`, "a record failed to decrypt", where
//! the admin needs to read "the client does not accept the server's certificate". conn.rs
//! asks `last_alert()` when a handshake fails with DecryptError.
//!
//! Records may be split anywhere between calls; only the header of the current record and
//! the two bytes of an alert's body are kept.

const ALERT: u8 = 0x15;

#[derive(Debug, Default)]
pub(crate) struct AlertWatch {
    header: [u8; 5],
    header_len: usize,
    body_left: usize,
    /// The current record is a plaintext alert (type 21, two bytes): its body so far.
    alert: Option<Vec<u8>>,
    /// The description of the last complete plaintext alert record.
    last: Option<u8>,
}

impl AlertWatch {
    /// The next bytes of the peer's TLS stream.
    pub fn watch(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.header_len < self.header.len() {
                let n = (self.header.len() - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
                self.header_len += n;
                data = &data[n..];
                if self.header_len == self.header.len() {
                    self.body_left =
                        usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
                    self.alert = (self.header[0] == ALERT && self.body_left == 2).then(Vec::new);
                    self.end_of_record();
                }
                continue;
            }
            let n = self.body_left.min(data.len());
            if let Some(alert) = self.alert.as_mut() {
                alert.extend_from_slice(&data[..n]);
            }
            self.body_left -= n;
            data = &data[n..];
            self.end_of_record();
        }
    }

    /// After a complete record: note an alert, expect the next header.
    fn end_of_record(&mut self) {
        if self.header_len == self.header.len() && self.body_left == 0 {
            if let Some(alert) = self.alert.take() {
                self.last = Some(alert[1]);
            }
            self.header_len = 0;
        }
    }

    /// The description of the last complete plaintext alert the peer sent, if any.
    pub fn last_alert(&self) -> Option<u8> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HANDSHAKE_RECORD: [u8; 9] = [0x16, 0x03, 0x03, 0x00, 0x04, 1, 2, 3, 4];
    const UNKNOWN_CA: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 48];

    #[test]
    fn finds_an_alert_after_other_records() {
        let mut w = AlertWatch::default();
        w.watch(&HANDSHAKE_RECORD);
        assert_eq!(w.last_alert(), None);
        w.watch(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]); // ChangeCipherSpec
        w.watch(&UNKNOWN_CA);
        assert_eq!(w.last_alert(), Some(48));
    }

    #[test]
    fn records_split_anywhere() {
        let stream = [&HANDSHAKE_RECORD[..], &UNKNOWN_CA[..]].concat();
        for cut in 0..stream.len() {
            let mut w = AlertWatch::default();
            w.watch(&stream[..cut]);
            w.watch(&stream[cut..]);
            assert_eq!(w.last_alert(), Some(48), "cut at {}", cut);
        }
        let mut w = AlertWatch::default();
        for b in stream.iter() {
            w.watch(std::slice::from_ref(b));
        }
        assert_eq!(w.last_alert(), Some(48));
    }

    #[test]
    fn an_incomplete_alert_or_other_records_are_not_alerts() {
        let mut w = AlertWatch::default();
        w.watch(&UNKNOWN_CA[..6]);
        assert_eq!(w.last_alert(), None);
        // an encrypted record (application data) that happens to be 2 bytes long
        let mut w = AlertWatch::default();
        w.watch(&[0x17, 0x03, 0x03, 0x00, 0x02, 0x02, 48]);
        assert_eq!(w.last_alert(), None);
        // a record of type alert but not of an alert's length
        let mut w = AlertWatch::default();
        w.watch(&[0x15, 0x03, 0x03, 0x00, 0x03, 0x02, 48, 0]);
        assert_eq!(w.last_alert(), None);
    }
}
