//! tlsr_x509_*: certificate fields as text, compared with what the `openssl` CLI prints for the
//! same certificates (tests/data/x509/*.pem, made by tests/data/x509/make.sh with the openssl
//! CLI, and certificates built here byte by byte). Expectations written down here keep the
//! tests meaningful where no openssl CLI is installed; the comparisons run where one is.

mod common;

use common::*;
use std::ffi::CString;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::{null, null_mut};
use tlsr::*;

const SUBJECT: i32 = 0;
const ISSUER: i32 = 1;
const SERIAL: i32 = 2;
const VERSION: i32 = 3;
const NOT_BEFORE: i32 = 4;
const NOT_AFTER: i32 = 5;
const KEY_ALG: i32 = 6;
const SIG_ALG: i32 = 7;
const PEM: i32 = 8;
const SAN_EMAIL: i32 = 1;
const SAN_DNS: i32 = 2;

/// A parsed certificate, freed on drop.
struct Cert(*mut tlsr_x509);

impl Drop for Cert {
    fn drop(&mut self) {
        tlsr_x509_free(self.0);
    }
}

fn parse(der: &[u8]) -> Result<Cert, tlsr_status> {
    let mut out = null_mut();
    match tlsr_x509_parse(der.as_ptr(), der.len(), &mut out) {
        TLSR_OK => {
            assert!(!out.is_null());
            Ok(Cert(out))
        }
        status => {
            assert!(out.is_null(), "out written on failure");
            Err(status)
        }
    }
}

fn text_view(ptr: *const c_char, len: usize) -> String {
    String::from_utf8(view(ptr as *const u8, len).expect("text").to_vec()).expect("UTF-8")
}

impl Cert {
    fn text(&self, field: i32) -> String {
        let (mut p, mut len) = (null(), usize::MAX);
        assert_eq!(tlsr_x509_text(self.0, field, &mut p, &mut len), TLSR_OK);
        text_view(p, len)
    }

    fn attr(&self, issuer: bool, name: &str, index: usize) -> Option<String> {
        let name = CString::new(name).unwrap();
        let (mut p, mut len) = (null(), usize::MAX);
        match tlsr_x509_dn_attr(
            self.0,
            i32::from(issuer),
            name.as_ptr(),
            index,
            &mut p,
            &mut len,
        ) {
            TLSR_OK => Some(text_view(p, len)),
            TLSR_NOT_FOUND => {
                assert_eq!(len, usize::MAX, "len written for NOT_FOUND");
                None
            }
            status => panic!("{:?}", status),
        }
    }

    fn attrs(&self, issuer: bool, name: &str) -> Vec<String> {
        (0..).map_while(|i| self.attr(issuer, name, i)).collect()
    }

    fn sans(&self, kind: i32) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let (mut p, mut len) = (null(), 0);
            match tlsr_x509_san(self.0, kind, out.len(), &mut p, &mut len) {
                TLSR_OK => out.push(text_view(p, len)),
                TLSR_NOT_FOUND => return out,
                status => panic!("{:?}", status),
            }
        }
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/x509")
}

fn fixtures() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map_or(false, |e| e == "pem"))
        .collect();
    all.sort();
    assert!(all.len() >= 20);
    all
}

fn pem_der(path: &Path) -> Vec<u8> {
    let pem = std::fs::read(path).unwrap();
    rustls_pemfile::certs(&mut &pem[..]).unwrap().remove(0)
}

fn fixture(name: &str) -> Cert {
    parse(&pem_der(&fixture_dir().join(format!("{}.pem", name)))).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Written-down expectations (from `openssl x509` on the committed certificates)

#[test]
fn names() {
    let c = fixture("names");
    assert_eq!(
        c.text(SUBJECT),
        "postalCode=70173,street=Hauptstraße 1,\
         description=\\#hash \\\"quoted\\\" \\<a\\>\\;b\\\\c=d,initials=JM,SN=Müller,GN=Jörg,\
         title=Dr.,serialNumber=1234,DC=test,DC=example,emailAddress=jdoe@example.test,\
         CN=a.example.test+UID=jdoe,OU=Unit C,OU=Unit B,OU=Unit A,O=Example\\, Inc.,\
         L=Stuttgart,ST=Baden-Württemberg,C=DE"
    );
    assert_eq!(c.text(ISSUER), "CN=tlsr test root");
    // mod_ssl's names and OpenSSL's short names, in certificate order, unescaped
    assert_eq!(c.attrs(false, "OU"), ["Unit A", "Unit B", "Unit C"]);
    assert_eq!(c.attrs(false, "DC"), ["example", "test"]);
    for (name, value) in [
        ("C", "DE"),
        ("ST", "Baden-Württemberg"),
        ("SP", "Baden-Württemberg"),
        ("L", "Stuttgart"),
        ("O", "Example, Inc."),
        ("CN", "a.example.test"),
        ("UID", "jdoe"),
        ("Email", "jdoe@example.test"),
        ("emailAddress", "jdoe@example.test"),
        ("T", "Dr."),
        ("title", "Dr."),
        ("I", "JM"),
        ("G", "Jörg"),
        ("GN", "Jörg"),
        ("S", "Müller"),
        ("SN", "Müller"),
        ("D", "#hash \"quoted\" <a>;b\\c=d"),
        ("serialNumber", "1234"),
        ("street", "Hauptstraße 1"),
        ("postalCode", "70173"),
    ] {
        assert_eq!(c.attrs(false, name), [value], "{}", name);
    }
    assert_eq!(c.attrs(true, "CN"), ["tlsr test root"]);
    assert_eq!(c.attr(true, "O", 0), None);
    assert_eq!(c.attr(false, "OU", 3), None);
    assert_eq!(c.attr(false, "cn", 0), None, "names are case-sensitive");
    assert_eq!(c.attr(false, "nonsense", 0), None);
    assert_eq!(c.attr(false, "", 0), None);
    assert_eq!(c.sans(SAN_DNS), ["www.example.test", "*.example.test"]);
    assert_eq!(
        c.sans(SAN_EMAIL),
        ["admin@example.test", "second@example.test"]
    );
    assert_eq!(c.text(NOT_BEFORE), "Jan  1 00:00:00 1900 GMT");
    assert_eq!(c.text(NOT_AFTER), "Dec 31 23:59:59 2049 GMT");
    assert_eq!(c.text(VERSION), "3");
    assert_eq!(c.text(SERIAL), "01");
}

#[test]
fn escapes_and_utf8() {
    let c = fixture("escapes");
    assert_eq!(
        c.text(SUBJECT),
        "CN=ctl\\01x\\7Fy,CN=日本語 テスト,ST=a\\+b,L=\\ ,O=#,OU=trailing space\\ ,\
         OU=\\ leading space,CN=\\#leading hash"
    );
    assert_eq!(
        c.attrs(false, "CN"),
        ["#leading hash", "日本語 テスト", "ctl\u{1}x\u{7f}y"]
    );
    assert_eq!(c.attrs(false, "OU"), [" leading space", "trailing space "]);
    assert_eq!(c.attrs(false, "ST"), ["a+b"]);
    assert_eq!(c.text(NOT_BEFORE), "Jan  1 00:00:00 2050 GMT");
    assert_eq!(c.text(NOT_AFTER), "Dec 31 23:59:59 9999 GMT");
    assert_eq!(c.text(VERSION), "1");
    assert!(c.sans(SAN_DNS).is_empty());

    let c = fixture("days");
    assert_eq!(c.text(SUBJECT), "CN=single digit day+OU=valued+O=multi");
    assert_eq!(c.text(NOT_BEFORE), "Mar  8 03:16:00 2026 GMT");
    assert_eq!(c.text(NOT_AFTER), "Nov  8 23:59:59 2026 GMT");

    let c = fixture("empty-subject");
    assert_eq!(c.text(SUBJECT), "");
    assert_eq!(c.attr(false, "CN", 0), None);
}

#[test]
fn serials_versions_and_algorithms() {
    for (name, serial) in [
        ("serial-negative", "-05"),
        ("serial-zero", "00"),
        ("serial-highbit", "80"),
        (
            "serial-long",
            "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20212223\\\n\
             2425262728",
        ),
        ("v1", "1234"),
    ] {
        assert_eq!(fixture(name).text(SERIAL), serial, "{}", name);
    }
    assert_eq!(fixture("v1").text(VERSION), "1");
    assert_eq!(fixture("p256").text(VERSION), "3");
    for (name, key, sig) in [
        ("rsa-sha1", "rsaEncryption", "sha1WithRSAEncryption"),
        ("rsa-sha256", "rsaEncryption", "sha256WithRSAEncryption"),
        ("rsa-sha384", "rsaEncryption", "sha384WithRSAEncryption"),
        ("rsa-sha512", "rsaEncryption", "sha512WithRSAEncryption"),
        ("rsa-pss-sig", "rsaEncryption", "rsassaPss"),
        ("rsa-pss-key", "rsassaPss", "rsassaPss"),
        ("p256", "id-ecPublicKey", "ecdsa-with-SHA256"),
        ("p384", "id-ecPublicKey", "ecdsa-with-SHA384"),
        ("p521", "id-ecPublicKey", "ecdsa-with-SHA512"),
        ("ed25519", "ED25519", "ED25519"),
        ("ed448", "ED448", "ED448"),
        ("dsa", "dsaEncryption", "dsa_with_SHA256"),
        ("names", "id-ecPublicKey", "ecdsa-with-SHA256"),
    ] {
        let c = fixture(name);
        assert_eq!(c.text(KEY_ALG), key, "{}", name);
        assert_eq!(c.text(SIG_ALG), sig, "{}", name);
    }
}

#[test]
fn pem_is_what_openssl_wrote() {
    for path in fixtures() {
        let c = parse(&pem_der(&path)).unwrap();
        assert_eq!(
            c.text(PEM),
            std::fs::read_to_string(&path).unwrap(),
            "{}",
            path.display()
        );
    }
    // The test CA's files, made by tests/data/make.sh.
    for name in [
        "ca.pem",
        "ec256.pem",
        "rsa2048.pem",
        "ed25519.pem",
        "expired.pem",
    ] {
        let c = parse(&pem_der(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(name),
        ))
        .unwrap();
        assert_eq!(c.text(PEM), String::from_utf8(data(name)).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Compared with the openssl CLI

fn have_openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .map_or(false, |o| o.status.success());
    if !found {
        eprintln!("no openssl CLI: comparisons with it skipped");
    }
    found
}

/// `openssl x509 -in <path> <args>`: stdout, or None if it failed.
fn openssl_x509(path: &Path, der: bool, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new("openssl");
    cmd.arg("x509").arg("-in").arg(path);
    if der {
        cmd.args(["-inform", "DER"]);
    }
    let out = cmd.args(args).output().unwrap();
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).expect("openssl prints UTF-8 here"))
}

/// The value after `prefix`, up to the final newline (serials span lines).
fn after(text: &str, prefix: &str) -> String {
    let rest = text
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{:?}", text));
    rest.strip_suffix('\n').unwrap_or(rest).to_owned()
}

/// The value after "<label>: " on the first line that has it.
fn text_line(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("{} in {}", label, text));
    line.trim_start()[label.len()..].trim().to_owned()
}

/// (short name, value) of each attribute, from `-nameopt sep_multiline,sname,utf8`: one RDN a
/// line, " + " between the attributes of one, no escaping.
fn openssl_attributes(path: &Path, which: &str) -> Vec<(String, String)> {
    let out = openssl_x509(
        path,
        false,
        &["-noout", which, "-nameopt", "sep_multiline,sname,utf8"],
    )
    .unwrap();
    let mut attrs = Vec::new();
    for line in out.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        for part in line.trim_start_matches(' ').split(" + ") {
            let (name, value) = part.split_once('=').unwrap();
            attrs.push((name.to_owned(), value.to_owned()));
        }
    }
    attrs
}

#[test]
fn every_field_as_openssl_prints_it() {
    if !have_openssl() {
        return;
    }
    for path in fixtures() {
        let what = path.display().to_string();
        let c = parse(&pem_der(&path)).unwrap();
        let x509 = |args: &[&str]| openssl_x509(&path, false, args).unwrap();
        let dn = ["-nameopt", "RFC2253,-esc_msb"];
        assert_eq!(
            c.text(SUBJECT),
            after(
                &x509(&[&["-noout", "-subject"][..], &dn].concat()),
                "subject="
            ),
            "{}",
            what
        );
        assert_eq!(
            c.text(ISSUER),
            after(
                &x509(&[&["-noout", "-issuer"][..], &dn].concat()),
                "issuer="
            ),
            "{}",
            what
        );
        assert_eq!(
            c.text(SERIAL),
            after(&x509(&["-noout", "-serial"]), "serial="),
            "{}",
            what
        );
        assert_eq!(
            c.text(NOT_BEFORE),
            after(&x509(&["-noout", "-startdate"]), "notBefore="),
            "{}",
            what
        );
        assert_eq!(
            c.text(NOT_AFTER),
            after(&x509(&["-noout", "-enddate"]), "notAfter="),
            "{}",
            what
        );
        let text = x509(&["-noout", "-text"]);
        let version = text_line(&text, "Version:");
        assert_eq!(
            c.text(VERSION),
            version.split(' ').next().unwrap(),
            "{}",
            what
        );
        assert_eq!(
            c.text(KEY_ALG),
            text_line(&text, "Public Key Algorithm:"),
            "{}",
            what
        );
        assert_eq!(
            c.text(SIG_ALG),
            text_line(&text, "Signature Algorithm:"),
            "{}",
            what
        );
        assert_eq!(c.text(PEM), x509(&[]), "{}", what);

        for (which, issuer) in [("-subject", false), ("-issuer", true)] {
            let expected = openssl_attributes(&path, which);
            for (name, _) in &expected {
                let values: Vec<String> = expected
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .collect();
                assert_eq!(c.attrs(issuer, name), values, "{} {}", what, name);
            }
        }

        let san =
            openssl_x509(&path, false, &["-noout", "-ext", "subjectAltName"]).unwrap_or_default();
        let names: Vec<&str> = san
            .lines()
            .skip(1)
            .flat_map(|l| l.trim().split(", "))
            .collect();
        let of = |prefix: &str| -> Vec<String> {
            names
                .iter()
                .filter_map(|n| n.strip_prefix(prefix))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(c.sans(SAN_DNS), of("DNS:"), "{}", what);
        assert_eq!(c.sans(SAN_EMAIL), of("email:"), "{}", what);
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates built here, byte by byte, for names the CLI will not make

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    }
    out.extend_from_slice(value);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// A certificate (with a bogus signature: openssl x509 prints it all the same).
fn build_cert(subject_rdns: &[Vec<u8>], serial: &[u8], times: (&[u8], &[u8])) -> Vec<u8> {
    let real = parse_fixture_spki();
    let alg = seq(&[tlv(0x06, ECDSA_SHA256)]);
    let name = |rdns: &[Vec<u8>]| seq(rdns);
    let tbs = seq(&[
        tlv(0xa0, &tlv(0x02, &[2])),
        tlv(0x02, serial),
        alg.clone(),
        name(&[tlv(
            0x31,
            &seq(&[tlv(0x06, &[0x55, 4, 3]), tlv(0x0c, b"issuer")]),
        )]),
        seq(&[times.0.to_vec(), times.1.to_vec()]),
        name(subject_rdns),
        real,
    ]);
    seq(&[tbs, alg, tlv(0x03, &[0, 1, 2, 3, 4, 5, 6, 7])])
}

/// The SubjectPublicKeyInfo of tests/data/x509/p256.pem.
fn parse_fixture_spki() -> Vec<u8> {
    let der = pem_der(&fixture_dir().join("p256.pem"));
    // Certificate > TBS > [version,] serial, signature, issuer, validity, subject, SPKI.
    let mut r = tlsr::der::Reader::new(&der);
    let mut cert = r.nested(0x30).unwrap();
    let mut tbs = cert.nested(0x30).unwrap();
    tbs.read_optional(0xa0).unwrap();
    for _ in 0..5 {
        tbs.read_any().unwrap();
    }
    tbs.read_element().unwrap().1.to_vec()
}

fn utc(s: &str) -> Vec<u8> {
    tlv(0x17, s.as_bytes())
}

fn rdn(attrs: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let body: Vec<u8> = attrs
        .iter()
        .map(|(oid, tag, value)| seq(&[tlv(0x06, oid), tlv(*tag, value)]))
        .collect::<Vec<_>>()
        .concat();
    tlv(0x31, &body)
}

fn tmp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const OIDS: &[&[u8]] = &[
    &[0x55, 4, 3],                                              // CN
    &[0x55, 4, 10],                                             // O
    &[0x55, 4, 11],                                             // OU
    &[0x55, 4, 6],                                              // C
    &[0x55, 4, 45],                                             // x500UniqueIdentifier
    &[0x55, 4, 97],                                             // organizationIdentifier
    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 9, 1],             // emailAddress
    &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 1, 1],    // UID
    &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 1, 25],   // DC
    &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 2, 1, 3], // jurisdictionC
    &[0x2a, 0x03, 0x04],                                        // 1.2.3.4, unknown
    &[0x88, 0x37, 0x01],                                        // 2.999.1, unknown
];

/// A random value: (tag, content).
fn random_value(rng: &mut Rng) -> (u8, Vec<u8>) {
    let chars: Vec<char> = ",+\"\\<>;#= aZ9\u{1}\u{7f}éß日😀\u{80}".chars().collect();
    let len = rng.below(6);
    let text: String = (0..len).map(|_| *rng.pick(&chars)).collect();
    match rng.below(9) {
        0 | 1 => (0x0c, text.into_bytes()),
        2 => (
            0x13,
            text.chars()
                .filter(|c| c.is_ascii())
                .collect::<String>()
                .into_bytes(),
        ),
        3 => (
            0x16,
            text.chars()
                .filter(|c| c.is_ascii())
                .collect::<String>()
                .into_bytes(),
        ),
        4 => (
            0x14,
            text.chars()
                .filter_map(|c| u8::try_from(u32::from(c)).ok())
                .collect(),
        ),
        5 => (
            0x1e,
            text.encode_utf16()
                .filter(|u| !(0xd800..0xe000).contains(u))
                .flat_map(|u| u.to_be_bytes())
                .collect(),
        ),
        6 => (
            0x1c,
            text.chars()
                .flat_map(|c| u32::from(c).to_be_bytes())
                .collect(),
        ),
        7 => (0x03, vec![0, rng.next() as u8]),
        _ => (*rng.pick(&[0x07, 0x0d, 0x1d]), vec![rng.next() as u8]),
    }
}

#[test]
fn random_names_print_as_openssl_prints_them() {
    if !have_openssl() {
        return;
    }
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    for round in 0..250 {
        let rdns: Vec<Vec<u8>> = (0..rng.below(5))
            .map(|_| {
                let attrs: Vec<(&[u8], u8, Vec<u8>)> = (0..1 + rng.below(3))
                    .map(|_| {
                        let (tag, value) = random_value(&mut rng);
                        (*rng.pick(OIDS), tag, value)
                    })
                    .collect();
                let refs: Vec<(&[u8], u8, &[u8])> =
                    attrs.iter().map(|(o, t, v)| (*o, *t, &v[..])).collect();
                rdn(&refs)
            })
            .collect();
        let der = build_cert(&rdns, &[1], (&utc("240101000000Z"), &utc("340101000000Z")));
        let path = tmp_file("random-name.der", &der);
        let expected = openssl_x509(
            &path,
            true,
            &["-noout", "-subject", "-nameopt", "RFC2253,-esc_msb"],
        )
        .map(|out| after(&out, "subject="));
        let ours = parse(&der).map(|c| c.text(SUBJECT)).ok();
        assert_eq!(ours, expected, "round {}: {:02x?}", round, der);
    }
}

#[test]
fn invalid_values_are_refused_like_openssl_does() {
    let cn: &[u8] = &[0x55, 4, 3];
    let cases: [(u8, &[u8]); 11] = [
        (0x02, b"\x01"),                 // INTEGER
        (0x05, b""),                     // NULL
        (0x1a, b"visible"),              // VisibleString
        (0x17, b"240101000000Z"),        // UTCTime
        (0x80, b"x"),                    // context-specific
        (0x31, b""),                     // SET
        (0x0c, b"\xff\xfe"),             // not UTF-8
        (0x0c, b"\xed\xa0\x80"),         // a UTF-8 encoded surrogate
        (0x1e, b"\x00\x41\x00"),         // odd BMPString
        (0x1c, b"\x00\x00\x00\x41\x00"), // UniversalString not a multiple of 4
        (0x1c, b"\x00\x11\x00\x00"),     // beyond Unicode
    ];
    let openssl = have_openssl();
    for (i, (tag, value)) in cases.iter().enumerate() {
        let der = build_cert(
            &[rdn(&[(cn, *tag, value)])],
            &[1],
            (&utc("240101000000Z"), &utc("340101000000Z")),
        );
        assert_eq!(parse(&der).err(), Some(TLSR_BAD_CERTIFICATE), "case {}", i);
        if openssl {
            let path = tmp_file("invalid-string.der", &der);
            assert_eq!(
                openssl_x509(&path, true, &["-noout", "-subject"]),
                None,
                "case {}: openssl loads it",
                i
            );
        }
    }
}

#[test]
fn serials_and_times_built_here() {
    let openssl = have_openssl();
    let gen = |s: &str| tlv(0x18, s.as_bytes());
    for (serial, times) in [
        (
            vec![0xff, 0x00],
            (utc("700101000000Z"), utc("491231235959Z")),
        ),
        (vec![0x80], (gen("19500101000000Z"), gen("20500101000000Z"))),
        (
            vec![0x7f; 36],
            (gen("00010101000000Z"), gen("99991231235959Z")),
        ),
        (vec![0x01; 71], (utc("500101000000Z"), utc("991231235959Z"))),
    ] {
        let der = build_cert(&[], &serial, (&times.0, &times.1));
        let c = parse(&der).unwrap();
        if openssl {
            let path = tmp_file("serial.der", &der);
            let x509 = |arg: &str| openssl_x509(&path, true, &["-noout", arg]).unwrap();
            assert_eq!(c.text(SERIAL), after(&x509("-serial"), "serial="));
            assert_eq!(c.text(NOT_BEFORE), after(&x509("-startdate"), "notBefore="));
            assert_eq!(c.text(NOT_AFTER), after(&x509("-enddate"), "notAfter="));
        }
    }
    let der = build_cert(
        &[],
        &[0xff, 0x00],
        (&utc("700101000000Z"), &utc("491231235959Z")),
    );
    let c = parse(&der).unwrap();
    assert_eq!(c.text(SERIAL), "-0100");
    assert_eq!(c.text(NOT_BEFORE), "Jan  1 00:00:00 1970 GMT");
    assert_eq!(c.text(NOT_AFTER), "Dec 31 23:59:59 2049 GMT");
    // Not minimally encoded: OpenSSL refuses such serials.
    let der = build_cert(
        &[],
        &[0x00, 0x05],
        (&utc("700101000000Z"), &utc("491231235959Z")),
    );
    assert_eq!(parse(&der).err(), Some(TLSR_BAD_CERTIFICATE));
}

// ---------------------------------------------------------------------------------------------
// The contract

#[test]
fn null_arguments_and_not_found() {
    let der = pem_der(&fixture_dir().join("names.pem"));
    let mut out = null_mut();
    assert_eq!(tlsr_x509_parse(null(), 0, &mut out), TLSR_NULL_PARAM);
    assert_eq!(tlsr_x509_parse(null(), 5, &mut out), TLSR_NULL_PARAM);
    assert_eq!(
        tlsr_x509_parse(der.as_ptr(), der.len(), null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_parse(der.as_ptr(), 0, &mut out),
        TLSR_BAD_CERTIFICATE
    );
    assert!(out.is_null());
    tlsr_x509_free(null_mut());

    let c = parse(&der).unwrap();
    let (mut p, mut len) = (null::<c_char>(), usize::MAX);
    assert_eq!(
        tlsr_x509_text(null(), SUBJECT, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_text(c.0, SUBJECT, null_mut(), &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_text(c.0, SUBJECT, &mut p, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_text(c.0, -1, &mut p, &mut len),
        TLSR_INVALID_PARAM
    );
    assert_eq!(tlsr_x509_text(c.0, 9, &mut p, &mut len), TLSR_INVALID_PARAM);
    assert_eq!((p, len), (null(), usize::MAX), "nothing written on failure");

    let cn = CString::new("CN").unwrap();
    assert_eq!(
        tlsr_x509_dn_attr(null(), 0, cn.as_ptr(), 0, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_dn_attr(c.0, 0, null(), 0, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_dn_attr(c.0, 0, cn.as_ptr(), 0, null_mut(), &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_dn_attr(c.0, 0, cn.as_ptr(), 0, &mut p, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_dn_attr(c.0, 0, cn.as_ptr(), 1, &mut p, &mut len),
        TLSR_NOT_FOUND
    );
    assert_eq!(
        tlsr_x509_dn_attr(c.0, 7, cn.as_ptr(), 0, &mut p, &mut len),
        TLSR_OK,
        "any non-zero is the issuer"
    );
    assert_eq!(text_view(p, len), "tlsr test root");
    let latin1 = [b'C', 0xc9, 0];
    assert_eq!(
        tlsr_x509_dn_attr(
            c.0,
            0,
            latin1.as_ptr() as *const c_char,
            0,
            &mut p,
            &mut len
        ),
        TLSR_NOT_FOUND
    );

    assert_eq!(
        tlsr_x509_san(null(), 2, 0, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_san(c.0, 2, 0, null_mut(), &mut len),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_san(c.0, 2, 0, &mut p, null_mut()),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_x509_san(c.0, 0, 0, &mut p, &mut len),
        TLSR_INVALID_PARAM
    );
    assert_eq!(
        tlsr_x509_san(c.0, 3, 0, &mut p, &mut len),
        TLSR_INVALID_PARAM
    );
    assert_eq!(tlsr_x509_san(c.0, 2, 2, &mut p, &mut len), TLSR_NOT_FOUND);
    assert_eq!(
        tlsr_x509_san(c.0, 1, usize::MAX, &mut p, &mut len),
        TLSR_NOT_FOUND
    );

    // The result owns a copy: views outlive the input.
    let mut copy = der.clone();
    let c2 = parse(&copy).unwrap();
    copy.iter_mut().for_each(|b| *b = 0);
    assert_eq!(c2.text(SUBJECT), c.text(SUBJECT));
    assert_eq!(c2.text(PEM), c.text(PEM));
}

#[test]
fn mutated_certificates_never_panic() {
    let mut rng = Rng(0x0bad_cafe_f00d_1234);
    let names = CString::new("CN").unwrap();
    let ders: Vec<Vec<u8>> = fixtures().iter().map(|p| pem_der(p)).collect();
    let mut parsed = 0;
    for round in 0..4000 {
        let mut der = rng.pick(&ders).clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(der.len());
            der[i] = rng.next() as u8;
        }
        if round % 7 == 0 {
            der.truncate(rng.below(der.len()));
        }
        let mut out = null_mut();
        let status = tlsr_x509_parse(der.as_ptr(), der.len(), &mut out);
        assert!(
            status == TLSR_OK || status == TLSR_BAD_CERTIFICATE,
            "{:?}",
            status
        );
        if status == TLSR_OK {
            parsed += 1;
            let (mut p, mut len) = (null(), 0);
            for field in 0..9 {
                assert_eq!(tlsr_x509_text(out, field, &mut p, &mut len), TLSR_OK);
                assert!(std::str::from_utf8(view(p as *const u8, len).unwrap()).is_ok());
            }
            for i in 0..3 {
                assert_ne!(
                    tlsr_x509_dn_attr(out, i % 2, names.as_ptr(), i as usize, &mut p, &mut len),
                    TLSR_PANIC
                );
                assert_ne!(
                    tlsr_x509_san(out, 2, i as usize, &mut p, &mut len),
                    TLSR_PANIC
                );
            }
        }
        tlsr_x509_free(out);
    }
    assert!(parsed > 100, "mutations mostly in values: {}", parsed);
}

#[test]
fn certified_key_certificates_parse() {
    // The DER a certified key hands out goes straight to tlsr_x509_parse.
    let key = load_files("ec256.chain.pem", "ec256.sec1.key");
    let (mut p, mut len) = (null(), 0);
    for (i, issuer) in ["CN=tlsr test intermediate", "CN=tlsr test root"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            tlsr_certified_key_cert_der(key.0, i, &mut p, &mut len),
            TLSR_OK
        );
        let c = parse(view(p, len).unwrap()).unwrap();
        assert_eq!(c.text(ISSUER), *issuer);
    }
    let c = parse(&key_leaf(&key)).unwrap();
    assert_eq!(c.text(SUBJECT), "CN=tlsr test ec256");
    assert_eq!(c.sans(SAN_DNS), ["localhost", "test.example"]);
    assert_eq!(c.text(NOT_BEFORE), "Jan  1 00:00:00 2024 GMT");
    assert_eq!(c.text(NOT_AFTER), "Jan  1 00:00:00 2124 GMT");
}
