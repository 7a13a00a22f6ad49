//! Client authentication through the C ABI: trust anchors, CRLs (PEM, DER, several per file,
//! RSA/PSS/ECDSA/Ed25519 signatures, wrong issuers), depth, optional and required modes, and
//! full in-memory handshakes with a rustls client presenting a certificate, resumption
//! included. Fixtures: tests/data/clientauth (make.sh there says what each file is).

mod common;

use common::*;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls::{
    AlertDescription, Certificate, ClientConfig, ClientConnection, Error, PrivateKey,
    SignatureScheme, SupportedProtocolVersion,
};
use std::os::raw::c_char;
use std::ptr::{null, null_mut};
use std::sync::{Arc, Mutex};
use tlsr::*;

type Version = &'static SupportedProtocolVersion;
static VERSIONS: [Version; 2] = [&TLS13, &TLS12];

const CA_NAME: &str = "CN=tlsr client CA,O=tlsr tests";
const INT_NAME: &str = "CN=tlsr client intermediate,O=tlsr tests";
const OTHER_NAME: &str = "CN=tlsr other CA,O=tlsr tests";
/// 2020-01-01 00:00:00Z, 2021-01-01 and 2099-01-01: the fixtures' dates.
const Y2020: i64 = 1_577_836_800;
const Y2021: i64 = 1_609_459_200;
const Y2099: i64 = 4_070_908_800;

fn ca(name: &str) -> Vec<u8> {
    data(&format!("clientauth/{}", name))
}

fn pem_certs(pem: &[u8]) -> Vec<Vec<u8>> {
    rustls_pemfile::certs(&mut &pem[..]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The policy object

/// A client auth policy, freed on drop.
struct Auth(*mut tlsr_client_auth);

impl Drop for Auth {
    fn drop(&mut self) {
        tlsr_client_auth_free(self.0);
    }
}

fn try_auth(ca_pem: &[u8], mode: i32, depth: u32) -> Result<Auth, (tlsr_status, String)> {
    let mut out = null_mut();
    let mut err = [0 as c_char; 512];
    let status = tlsr_client_auth_new(
        ca_pem.as_ptr(),
        ca_pem.len(),
        mode,
        depth,
        &mut out,
        err.as_mut_ptr(),
        err.len(),
    );
    if status == TLSR_OK {
        assert!(!out.is_null());
        Ok(Auth(out))
    } else {
        assert!(out.is_null(), "out written on failure");
        Err((status, c_buf(&err)))
    }
}

const OPTIONAL: i32 = 1;
const REQUIRED: i32 = 2;

/// A policy trusting the given CA files.
fn auth(cas: &[&str], mode: i32, depth: u32) -> Auth {
    let pem: Vec<u8> = cas.iter().flat_map(|f| ca(f)).collect();
    try_auth(&pem, mode, depth).unwrap_or_else(|e| panic!("{:?}", e))
}

fn add_crls(auth: &Auth, data: &[u8]) -> Result<usize, (tlsr_status, String)> {
    let mut added = usize::MAX;
    let mut err = [0 as c_char; 512];
    let status = tlsr_client_auth_add_crls(
        auth.0,
        data.as_ptr(),
        data.len(),
        &mut added,
        err.as_mut_ptr(),
        err.len(),
    );
    if status == TLSR_OK {
        Ok(added)
    } else {
        assert_eq!(added, usize::MAX, "added written on failure");
        Err((status, c_buf(&err)))
    }
}

fn add_crl_file(auth: &Auth, file: &str) -> usize {
    add_crls(auth, &ca(file)).unwrap_or_else(|e| panic!("{}: {:?}", file, e))
}

struct CrlInfo {
    issuer: String,
    this_update: i64,
    next_update: i64,
    revoked: usize,
}

fn crl_info(auth: &Auth, index: usize) -> Result<CrlInfo, tlsr_status> {
    let (mut p, mut len) = (null(), 0usize);
    let (mut this_update, mut next_update, mut revoked) = (0i64, 0i64, 0usize);
    match tlsr_client_auth_crl_info(
        auth.0,
        index,
        &mut p,
        &mut len,
        &mut this_update,
        &mut next_update,
        &mut revoked,
    ) {
        TLSR_OK => Ok(CrlInfo {
            issuer: String::from_utf8(view(p as *const u8, len).unwrap().to_vec()).unwrap(),
            this_update,
            next_update,
            revoked,
        }),
        status => Err(status),
    }
}

#[test]
fn new_checks_its_input() {
    let ca_pem = ca("ca.pem");
    let mut out = null_mut();
    let mut err = [0 as c_char; 128];
    assert_eq!(
        tlsr_client_auth_new(
            null(),
            0,
            REQUIRED,
            1,
            &mut out,
            err.as_mut_ptr(),
            err.len()
        ),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_client_auth_new(
            ca_pem.as_ptr(),
            ca_pem.len(),
            REQUIRED,
            1,
            null_mut(),
            null_mut(),
            0
        ),
        TLSR_NULL_PARAM
    );
    for mode in [0, 3, -1] {
        let (status, msg) = try_auth(&ca_pem, mode, 1).err().unwrap();
        assert_eq!(status, TLSR_INVALID_PARAM);
        assert!(msg.contains("mode"), "{}", msg);
    }
    let (status, msg) = try_auth(&ca("leaf.key"), REQUIRED, 1).err().unwrap();
    assert_eq!(status, TLSR_NO_CERTIFICATE, "{}", msg);
    let (status, msg) = try_auth(b"not PEM", REQUIRED, 1).err().unwrap();
    assert_eq!(status, TLSR_PEM_ERROR, "{}", msg);
    let junk = b"-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    let (status, msg) = try_auth(&[&ca_pem[..], junk].concat(), REQUIRED, 1)
        .err()
        .unwrap();
    assert_eq!(status, TLSR_BAD_CERTIFICATE);
    assert!(msg.contains("CA certificate 2"), "{}", msg);
    // Depth 0 is allowed (and accepts nothing).
    assert!(try_auth(&ca_pem, OPTIONAL, 0).is_ok());
    tlsr_client_auth_free(null());
    assert_eq!(tlsr_client_auth_crl_count(null()), 0);
}

#[test]
fn crls_in_every_form() {
    let a = auth(&["ca.pem", "rsa-ca.pem", "ed-ca.pem"], REQUIRED, 2);
    assert_eq!(tlsr_client_auth_crl_count(a.0), 0);
    assert_eq!(crl_info(&a, 0).err(), Some(TLSR_NOT_FOUND));

    assert_eq!(add_crl_file(&a, "ca.crl.pem"), 1);
    let info = crl_info(&a, 0).unwrap();
    assert_eq!(info.issuer, CA_NAME);
    assert_eq!(
        (info.this_update, info.next_update, info.revoked),
        (Y2020, Y2099, 1)
    );

    assert_eq!(add_crl_file(&a, "ca.crl.der"), 1, "DER");
    assert_eq!(
        add_crl_file(&a, "two.crl.pem"),
        2,
        "two CRLs in one PEM file"
    );
    let info = crl_info(&a, 3).unwrap();
    assert_eq!(info.issuer, "CN=tlsr client RSA CA,O=tlsr tests");
    assert_eq!(info.revoked, 1);
    // Each signature algorithm.
    for file in [
        "ca-sha384.crl.pem",
        "ca-int.crl.pem",
        "ca-expired.crl.pem",
        "rsa.crl.pem",
        "rsa-pss.crl.pem",
        "rsa-sha512.crl.pem",
        "ed.crl.pem",
    ] {
        assert_eq!(add_crl_file(&a, file), 1, "{}", file);
    }
    assert_eq!(tlsr_client_auth_crl_count(a.0), 11);
    let expired = crl_info(&a, 6).unwrap();
    assert_eq!((expired.next_update, expired.revoked), (Y2021, 0));
    assert_eq!(
        crl_info(&a, 10).unwrap().issuer,
        "CN=tlsr client Ed25519 CA"
    );
    assert_eq!(crl_info(&a, 11).err(), Some(TLSR_NOT_FOUND));

    // NULL out-parameters
    let (mut p, mut len, mut t, mut r) = (null(), 0, 0i64, 0usize);
    assert_eq!(
        tlsr_client_auth_crl_info(a.0, 0, null_mut(), &mut len, &mut t, &mut t, &mut r),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_client_auth_crl_info(a.0, 0, &mut p, &mut len, &mut t, null_mut(), &mut r),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_client_auth_crl_info(null(), 0, &mut p, &mut len, &mut t, &mut t, &mut r),
        TLSR_NULL_PARAM
    );
    // `added` may be NULL.
    let crl = ca("ca.crl.pem");
    assert_eq!(
        tlsr_client_auth_add_crls(a.0, crl.as_ptr(), crl.len(), null_mut(), null_mut(), 0),
        TLSR_OK
    );
}

#[test]
fn bad_crls_are_refused_whole() {
    let a = auth(&["ca.pem"], REQUIRED, 2);
    let refused = |data: &[u8]| {
        let (status, msg) = add_crls(&a, data).expect_err("refused");
        assert_eq!(status, TLSR_BAD_CRL, "{}", msg);
        msg
    };
    let msg = refused(&ca("other.crl.pem"));
    assert_eq!(
        msg,
        format!(
            "CRL of {} is not issued by one of the trusted CAs (no CA certificate has that subject)",
            OTHER_NAME
        )
    );
    // Trusted name, another key.
    let msg = refused(&ca("forged.crl.pem"));
    assert_eq!(
        msg,
        format!(
            "CRL of {}: its signature does not verify with the CA's key",
            CA_NAME
        )
    );
    // An RSA CA's CRL when only the ECDSA CA is trusted.
    let msg = refused(&ca("rsa.crl.pem"));
    assert!(
        msg.contains("CN=tlsr client RSA CA,O=tlsr tests"),
        "{}",
        msg
    );
    // A critical extension we do not handle.
    let msg = refused(&ca("ca-idp.crl.pem"));
    assert!(msg.contains("issuingDistributionPoint"), "{}", msg);
    // One bad CRL in a file: none of it is added.
    let both = cat(&[&ca("ca.crl.pem"), &ca("other.crl.pem")]);
    let msg = refused(&both);
    assert!(msg.starts_with("CRL 2 of "), "{}", msg);
    assert_eq!(tlsr_client_auth_crl_count(a.0), 0);
    // Not a CRL at all.
    let msg = refused(b"\x30\x03\x02\x01\x00");
    assert!(msg.starts_with("CRL is not a valid CRL"), "{}", msg);
    let msg = refused(b"");
    assert!(msg.contains("empty"), "{}", msg);
    let msg = refused(&ca("ca.pem"));
    assert_eq!(msg, "no X509 CRL section found");
    refused(b"-----BEGIN X509 CRL-----\nMAMC\n");
    refused(b"-----BEGIN X509 CRL-----\n!!\n-----END X509 CRL-----\n");
    // A certificate is not a CRL.
    refused(&pem_certs(&ca("alice.pem"))[0]);
    // Truncated: never a panic, always BAD_CRL.
    let der = ca("ca.crl.der");
    for len in 1..der.len() {
        assert_eq!(add_crls(&a, &der[..len]).err().unwrap().0, TLSR_BAD_CRL);
    }
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0x41;
        let _ = add_crls(&a, &bad);
    }
    assert!(tlsr_client_auth_crl_count(a.0) <= 1);
}

#[test]
fn crls_only_before_the_policy_is_shared() {
    let a = auth(&["ca.pem"], REQUIRED, 1);
    let crl = ca("ca.crl.pem");
    let mut err = [0 as c_char; 256];
    assert_eq!(
        tlsr_client_auth_add_crls(
            null_mut(),
            crl.as_ptr(),
            crl.len(),
            null_mut(),
            null_mut(),
            0
        ),
        TLSR_NULL_PARAM
    );
    assert_eq!(
        tlsr_client_auth_add_crls(a.0, null(), 5, null_mut(), null_mut(), 0),
        TLSR_NULL_PARAM
    );
    assert_eq!(add_crls(&a, &crl), Ok(1));
    let b = builder();
    assert_eq!(tlsr_server_config_builder_set_client_auth(b, a.0), TLSR_OK);
    let status = tlsr_client_auth_add_crls(
        a.0,
        crl.as_ptr(),
        crl.len(),
        null_mut(),
        err.as_mut_ptr(),
        err.len(),
    );
    assert_eq!(status, TLSR_WRONG_STATE);
    assert!(c_buf(&err).contains("config builder"), "{}", c_buf(&err));
    // Also once the builder is gone: the policy may live on in configs.
    tlsr_server_config_builder_free(b);
    assert_eq!(add_crls(&a, &crl).err().unwrap().0, TLSR_WRONG_STATE);
    assert_eq!(tlsr_client_auth_crl_count(a.0), 1);
    // NULL resets; NULL builder.
    let b = builder();
    assert_eq!(tlsr_server_config_builder_set_client_auth(b, a.0), TLSR_OK);
    assert_eq!(
        tlsr_server_config_builder_set_client_auth(b, null()),
        TLSR_OK
    );
    tlsr_server_config_builder_free(b);
    assert_eq!(
        tlsr_server_config_builder_set_client_auth(null_mut(), a.0),
        TLSR_NULL_PARAM
    );
}

// ---------------------------------------------------------------------------------------------
// Handshakes

fn server_key() -> Key {
    load_files("ec256.chain.pem", "ec256.sec1.key")
}

/// A server config that authenticates clients with `auth` (the builder takes its reference;
/// the caller may free its own right away).
fn config(key: &Key, auth: &Auth) -> Config {
    config_with(&[key], |b| {
        assert_eq!(
            tlsr_server_config_builder_set_client_auth(b, auth.0),
            TLSR_OK
        )
    })
}

/// Presents `chain` (leaf first) with leaf.key, and records what the server asked for.
struct Presenter {
    key: Option<Arc<CertifiedKey>>,
    asked: Mutex<Option<Vec<Vec<u8>>>>,
}

impl ResolvesClientCert for Presenter {
    fn resolve(
        &self,
        acceptable_issuers: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        *self.asked.lock().unwrap() = Some(acceptable_issuers.iter().map(|i| i.to_vec()).collect());
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// A client config presenting the certificates of the given files (none: no certificate).
fn client_cfg(version: Version, files: &[&str]) -> (Arc<ClientConfig>, Arc<Presenter>) {
    let chain: Vec<Certificate> = files
        .iter()
        .flat_map(|f| pem_certs(&ca(f)))
        .map(Certificate)
        .collect();
    let key_pem = ca("leaf.key");
    let key_der = rustls_pemfile::pkcs8_private_keys(&mut &key_pem[..]).unwrap()[0].clone();
    let key = rustls::sign::any_ecdsa_type(&PrivateKey(key_der)).unwrap();
    let presenter = Arc::new(Presenter {
        key: if chain.is_empty() {
            None
        } else {
            Some(Arc::new(CertifiedKey::new(chain, key)))
        },
        asked: Mutex::new(None),
    });
    let config = ClientConfig::builder()
        .with_safe_default_cipher_suites()
        .with_safe_default_kx_groups()
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots())
        .with_client_cert_resolver(presenter.clone());
    (Arc::new(config), presenter)
}

/// A full handshake that may fail on the server: the server's status and message then.
fn try_handshake(
    client: &mut ClientConnection,
    config: &Config,
) -> Result<Server, (tlsr_status, String, Option<Error>)> {
    let accepted = accept(client);
    let mut server = accepted
        .connect(config)
        .map_err(|s| (s, acceptor_error(accepted.acceptor), None))?;
    assert_eq!(
        tlsr_conn_peer_cert_count(server.conn),
        0,
        "while handshaking"
    );
    let mut ignored = Vec::new();
    loop {
        let to_client = server.output();
        if !to_client.is_empty() {
            client_input(client, &to_client, &mut ignored).expect("client");
        }
        let to_server = client_output(client);
        if !to_server.is_empty() {
            let status = server.input(&to_server);
            if status != TLSR_OK {
                assert_eq!(tlsr_conn_peer_cert_count(server.conn), 0);
                // The alert the server queued, as the client sees it.
                let alert = server.output();
                let seen = client_input(client, &alert, &mut ignored).err();
                return Err((status, conn_error(server.conn), seen));
            }
        }
        if to_client.is_empty() && to_server.is_empty() {
            break;
        }
    }
    assert_eq!(tlsr_conn_is_handshaking(server.conn), 0);
    Ok(server)
}

fn peer_certs(server: &Server) -> Vec<Vec<u8>> {
    let n = tlsr_conn_peer_cert_count(server.conn);
    let certs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let (mut p, mut len) = (null(), 0);
            assert_eq!(
                tlsr_conn_peer_cert_der(server.conn, i, &mut p, &mut len),
                TLSR_OK
            );
            view(p, len).unwrap().to_vec()
        })
        .collect();
    let (mut p, mut len) = (null(), 0);
    assert_eq!(
        tlsr_conn_peer_cert_der(server.conn, n, &mut p, &mut len),
        TLSR_NOT_FOUND
    );
    assert_eq!(
        tlsr_conn_peer_cert_der(server.conn, 0, null_mut(), &mut len),
        TLSR_NULL_PARAM
    );
    certs
}

/// Connects presenting `files` to a server with `auth`; Ok(peer certificates) or the failure.
fn present(
    version: Version,
    auth: &Auth,
    files: &[&str],
) -> Result<Vec<Vec<u8>>, (tlsr_status, String)> {
    let key = server_key();
    let config = config(&key, auth);
    let (client_config, _) = client_cfg(version, files);
    let mut client = client(&client_config, "localhost");
    match try_handshake(&mut client, &config) {
        Ok(server) => Ok(peer_certs(&server)),
        Err((status, msg, _)) => Err((status, msg)),
    }
}

fn refused(version: Version, auth: &Auth, files: &[&str]) -> String {
    match present(version, auth, files) {
        Ok(_) => panic!("{:?} accepted", files),
        Err((status, msg)) => {
            assert_eq!(status, TLSR_PEER_CERT_REFUSED, "{}", msg);
            msg
        }
    }
}

fn accepted(version: Version, auth: &Auth, files: &[&str]) -> Vec<Vec<u8>> {
    present(version, auth, files).unwrap_or_else(|e| panic!("{:?}: {:?}", files, e))
}

#[test]
fn a_valid_certificate_is_accepted_and_kept() {
    let alice = pem_certs(&ca("alice.pem"));
    for version in VERSIONS {
        let a = auth(&["ca.pem", "rsa-ca.pem"], REQUIRED, 1);
        let key = server_key();
        let config = config(&key, &a);
        drop(a); // the config holds its own reference
        let (client_config, presenter) = client_cfg(version, &["alice.pem"]);
        let mut client = client(&client_config, "localhost");
        let server = try_handshake(&mut client, &config).unwrap();
        assert_eq!(peer_certs(&server), alice);
        // The CertificateRequest named both anchors' subjects (DER Names).
        let asked = presenter.asked.lock().unwrap().clone().expect("asked");
        let subjects: Vec<Vec<u8>> = ["ca.pem", "rsa-ca.pem"]
            .iter()
            .map(|f| subject_der(&pem_certs(&ca(f))[0]))
            .collect();
        assert_eq!(asked, subjects);
    }
}

/// The subject Name (whole DER element) of a certificate.
fn subject_der(cert: &[u8]) -> Vec<u8> {
    use tlsr::der::{Reader, SEQUENCE};
    let mut outer = Reader::new(cert);
    let mut cert = outer.nested(SEQUENCE).unwrap();
    let mut tbs = cert.nested(SEQUENCE).unwrap();
    tbs.read(tlsr::der::explicit(0)).unwrap(); // version
    tbs.read_any().unwrap(); // serial
    tbs.read_any().unwrap(); // signature
    tbs.read_any().unwrap(); // issuer
    tbs.read_any().unwrap(); // validity
    tbs.read_element().unwrap().1.to_vec()
}

#[test]
fn revocation() {
    for version in VERSIONS {
        let a = auth(&["ca.pem"], REQUIRED, 1);
        // No CRL: not checked.
        accepted(version, &a, &["revoked.pem"]);
        let a = auth(&["ca.pem"], REQUIRED, 1);
        add_crl_file(&a, "ca.crl.pem");
        assert_eq!(
            refused(version, &a, &["revoked.pem"]),
            format!(
                "client certificate revoked (serial 1A2B, CRL of {})",
                CA_NAME
            )
        );
        accepted(version, &a, &["alice.pem"]);

        // The same from DER, and from a file with two CRLs.
        let a = auth(&["ca.pem", "rsa-ca.pem"], REQUIRED, 1);
        add_crl_file(&a, "ca.crl.der");
        assert!(refused(version, &a, &["revoked.pem"]).contains("revoked (serial 1A2B"));
        let a = auth(&["ca.pem", "rsa-ca.pem"], REQUIRED, 1);
        add_crl_file(&a, "two.crl.pem");
        assert!(refused(version, &a, &["revoked.pem"]).contains("revoked (serial 1A2B"));
        assert_eq!(
            refused(version, &a, &["rsa-revoked.pem"]),
            "client certificate revoked (serial 2002, CRL of CN=tlsr client RSA CA,O=tlsr tests)"
        );
        accepted(version, &a, &["rsa-alice.pem"]);
        accepted(version, &a, &["alice.pem"]);
    }
}

#[test]
fn revocation_with_every_signature_algorithm() {
    let cases = [
        ("ca-sha384.crl.pem", "revoked.pem", "alice.pem"),
        ("rsa.crl.pem", "rsa-revoked.pem", "rsa-alice.pem"),
        ("rsa-pss.crl.pem", "rsa-revoked.pem", "rsa-alice.pem"),
        ("rsa-sha512.crl.pem", "rsa-revoked.pem", "rsa-alice.pem"),
        ("ed.crl.pem", "ed-revoked.pem", "ed-alice.pem"),
    ];
    for (crl, bad, good) in cases {
        let a = auth(&["ca.pem", "rsa-ca.pem", "ed-ca.pem"], REQUIRED, 1);
        add_crl_file(&a, crl);
        let msg = refused(&TLS13, &a, &[bad]);
        assert!(
            msg.starts_with("client certificate revoked (serial "),
            "{}",
            msg
        );
        accepted(&TLS13, &a, &[good]);
    }
}

#[test]
fn an_expired_crl_refuses_its_issuers_certificates() {
    for version in VERSIONS {
        let a = auth(&["ca.pem", "rsa-ca.pem"], REQUIRED, 1);
        add_crl_file(&a, "ca-expired.crl.pem");
        assert_eq!(
            refused(version, &a, &["alice.pem"]),
            format!("CRL of {} expired on Jan  1 00:00:00 2021 GMT", CA_NAME)
        );
        // Other issuers are not affected.
        accepted(version, &a, &["rsa-alice.pem"]);
    }
}

#[test]
fn dates_and_unknown_issuers() {
    for version in VERSIONS {
        let a = auth(&["ca.pem"], OPTIONAL, 2);
        assert_eq!(
            refused(version, &a, &["expired.pem"]),
            "client certificate expired (not after Jan  1 00:00:00 2021 GMT, \
             subject CN=expired,O=tlsr tests)"
        );
        assert_eq!(
            refused(version, &a, &["notyet.pem"]),
            "client certificate not yet valid (not before Jan  1 00:00:00 2090 GMT, \
             subject CN=not yet,O=tlsr tests)"
        );
        assert_eq!(
            refused(version, &a, &["stranger.pem"]),
            format!(
                "client certificate issued by an unknown CA (issuer {})",
                OTHER_NAME
            )
        );
        // The intermediate not sent.
        assert_eq!(
            refused(version, &a, &["deep.pem"]),
            format!(
                "client certificate issued by an unknown CA (issuer {})",
                INT_NAME
            )
        );
    }
}

#[test]
fn depth() {
    let deep = pem_certs(&ca("deep.chain.pem"));
    for version in VERSIONS {
        let a = auth(&["ca.pem"], REQUIRED, 1);
        assert_eq!(
            refused(version, &a, &["deep.chain.pem"]),
            format!(
                "client certificate chain longer than the maximum depth 1 \
                 (the trusted CA {} is at depth 2)",
                CA_NAME
            )
        );
        accepted(version, &a, &["alice.pem"]);
        let a = auth(&["ca.pem"], REQUIRED, 2);
        assert_eq!(accepted(version, &a, &["deep.chain.pem"]), deep);
        let a = auth(&["ca.pem"], REQUIRED, 0);
        assert!(refused(version, &a, &["alice.pem"]).contains("maximum depth 0"));
        // The intermediate as a trust anchor: depth 1 then, and the client need not send it.
        let a = auth(&["ca.pem", "int.pem"], REQUIRED, 1);
        assert_eq!(accepted(version, &a, &["deep.pem"]).len(), 1);
        assert_eq!(accepted(version, &a, &["deep.chain.pem"]), deep);
    }
}

#[test]
fn revoked_intermediate() {
    for version in VERSIONS {
        let a = auth(&["ca.pem"], REQUIRED, 2);
        add_crl_file(&a, "ca.crl.pem");
        // The root's CRL does not list the intermediate; the intermediate has no CRL.
        accepted(version, &a, &["deep.chain.pem"]);
        let a = auth(&["ca.pem"], REQUIRED, 2);
        add_crl_file(&a, "ca-int.crl.pem");
        assert_eq!(
            refused(version, &a, &["deep.chain.pem"]),
            format!(
                "client certificate chain: CA {} revoked (serial 0100, CRL of {})",
                INT_NAME, CA_NAME
            )
        );
        accepted(version, &a, &["alice.pem"]);
    }
}

#[test]
fn optional_and_required() {
    for version in VERSIONS {
        let a = auth(&["ca.pem"], OPTIONAL, 1);
        assert_eq!(accepted(version, &a, &[]), Vec::<Vec<u8>>::new());
        // A certificate sent must verify, also when optional.
        refused(version, &a, &["stranger.pem"]);

        let a = auth(&["ca.pem"], REQUIRED, 1);
        let key = server_key();
        let config = config(&key, &a);
        let (client_config, presenter) = client_cfg(version, &[]);
        let mut client = client(&client_config, "localhost");
        let (status, msg, seen) = try_handshake(&mut client, &config).err().unwrap();
        assert_eq!(status, TLSR_PEER_CERT_MISSING);
        assert_eq!(
            msg,
            "client authentication is required, but the client sent no certificate"
        );
        assert_eq!(
            seen,
            Some(Error::AlertReceived(AlertDescription::CertificateRequired))
        );
        assert!(presenter.asked.lock().unwrap().is_some());
    }
    // Without a policy nothing is asked for.
    let key = server_key();
    let config = config_with(&[&key], |_| {});
    let (client_config, presenter) = client_cfg(&TLS13, &["alice.pem"]);
    let mut client = client(&client_config, "localhost");
    let server = try_handshake(&mut client, &config).unwrap();
    assert_eq!(tlsr_conn_peer_cert_count(server.conn), 0);
    assert!(presenter.asked.lock().unwrap().is_none());
}

#[test]
fn refusal_sends_an_alert() {
    for version in VERSIONS {
        let a = auth(&["ca.pem"], REQUIRED, 1);
        let key = server_key();
        let config = config(&key, &a);
        let (client_config, _) = client_cfg(version, &["stranger.pem"]);
        let mut client = client(&client_config, "localhost");
        let (status, _, seen) = try_handshake(&mut client, &config).err().unwrap();
        assert_eq!(status, TLSR_PEER_CERT_REFUSED);
        // rustls 0.20.8 sends handshake_failure for every refused client certificate.
        assert_eq!(
            seen,
            Some(Error::AlertReceived(AlertDescription::HandshakeFailure))
        );
    }
}

#[test]
fn resumption_keeps_the_peer_certificates() {
    let deep = pem_certs(&ca("deep.chain.pem"));
    for version in VERSIONS {
        for tickets in [false, true] {
            let a = auth(&["ca.pem"], REQUIRED, 2);
            let key = server_key();
            let config = config_with(&[&key], |b| {
                assert_eq!(tlsr_server_config_builder_set_client_auth(b, a.0), TLSR_OK);
                if tickets {
                    let keys = [7u8; 48];
                    assert_eq!(
                        tlsr_server_config_builder_set_ticket_keys(b, keys.as_ptr(), 1, 300),
                        TLSR_OK
                    );
                }
            });
            let (client_config, _) = client_cfg(version, &["deep.chain.pem"]);
            let mut first = client(&client_config, "localhost");
            let server = try_handshake(&mut first, &config).unwrap();
            assert_eq!(tlsr_conn_is_resumed(server.conn), 0);
            assert_eq!(peer_certs(&server), deep);

            let mut second = client(&client_config, "localhost");
            let server = try_handshake(&mut second, &config).unwrap();
            assert_eq!(
                tlsr_conn_is_resumed(server.conn),
                1,
                "{:?} tickets {}",
                version.version,
                tickets
            );
            assert_eq!(peer_certs(&server), deep);
        }
    }
}

#[test]
fn peer_certificate_calls_without_a_connection() {
    assert_eq!(tlsr_conn_peer_cert_count(null()), 0);
    let (mut p, mut len) = (null(), 0);
    assert_eq!(
        tlsr_conn_peer_cert_der(null(), 0, &mut p, &mut len),
        TLSR_NULL_PARAM
    );
}

#[test]
fn x509_validity() {
    for (file, from, until) in [
        ("alice.pem", Y2020, Y2099),
        ("expired.pem", Y2020, Y2021),
        ("notyet.pem", 3_786_912_000, Y2099),
    ] {
        let der = pem_certs(&ca(file)).remove(0);
        let mut cert = null_mut();
        assert_eq!(tlsr_x509_parse(der.as_ptr(), der.len(), &mut cert), TLSR_OK);
        let (mut not_before, mut not_after) = (0i64, 0i64);
        assert_eq!(
            tlsr_x509_validity(cert, &mut not_before, &mut not_after),
            TLSR_OK
        );
        assert_eq!((not_before, not_after), (from, until), "{}", file);
        assert_eq!(
            tlsr_x509_validity(cert, null_mut(), &mut not_after),
            TLSR_NULL_PARAM
        );
        tlsr_x509_free(cert);
    }
    let (mut a, mut b) = (0i64, 0i64);
    assert_eq!(tlsr_x509_validity(null(), &mut a, &mut b), TLSR_NULL_PARAM);
}

// ---------------------------------------------------------------------------------------------
// Sessions are bound to the policy

/// A session store shared by several configs (as mod_tls' cache is by all virtual hosts).
#[derive(Default)]
struct SharedStore(Mutex<std::collections::HashMap<Vec<u8>, Vec<u8>>>);

fn slice<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: the crate passes valid pointer/length pairs.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

extern "C" fn store_put(
    ud: *mut std::os::raw::c_void,
    key: *const u8,
    klen: usize,
    value: *const u8,
    vlen: usize,
) -> std::os::raw::c_int {
    // SAFETY: the test passes a &SharedStore that outlives the configs.
    let store = unsafe { &*(ud as *const SharedStore) };
    store
        .0
        .lock()
        .unwrap()
        .insert(slice(key, klen).to_vec(), slice(value, vlen).to_vec());
    1
}

extern "C" fn store_get(
    ud: *mut std::os::raw::c_void,
    key: *const u8,
    klen: usize,
    remove: std::os::raw::c_int,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> std::os::raw::c_int {
    // SAFETY: as in store_put.
    let store = unsafe { &*(ud as *const SharedStore) };
    let mut map = store.0.lock().unwrap();
    let key = slice(key, klen);
    let value = if remove != 0 {
        map.remove(key)
    } else {
        map.get(key).cloned()
    };
    match value {
        Some(v) if v.len() <= cap => {
            // SAFETY: buf has cap bytes, out_len is valid (crate contract).
            unsafe {
                std::ptr::copy_nonoverlapping(v.as_ptr(), buf, v.len());
                *out_len = v.len();
            }
            1
        }
        _ => 0,
    }
}

/// Configs sharing ticket keys (tickets) or a session store (no tickets), with or without a
/// policy.
fn shared_config(key: &Key, auth: Option<&Auth>, tickets: bool, store: &SharedStore) -> Config {
    config_with(&[key], |b| {
        if let Some(auth) = auth {
            assert_eq!(
                tlsr_server_config_builder_set_client_auth(b, auth.0),
                TLSR_OK
            );
        }
        if tickets {
            let keys = [9u8; 48];
            assert_eq!(
                tlsr_server_config_builder_set_ticket_keys(b, keys.as_ptr(), 1, 300),
                TLSR_OK
            );
        }
        let userdata = store as *const SharedStore as *mut std::os::raw::c_void;
        assert_eq!(
            tlsr_server_config_builder_set_session_store(
                b,
                userdata,
                Some(store_put),
                Some(store_get)
            ),
            TLSR_OK
        );
    })
}

#[test]
fn sessions_do_not_cross_policies() {
    let alice = pem_certs(&ca("alice.pem"));
    for version in VERSIONS {
        for tickets in [false, true] {
            let what = format!("{:?} tickets {}", version.version, tickets);
            let store = SharedStore::default();
            let key = server_key();
            let required = auth(&["ca.pem"], REQUIRED, 1);
            let other_depth = auth(&["ca.pem"], REQUIRED, 2);
            let open = shared_config(&key, None, tickets, &store);
            let strict = shared_config(&key, Some(&required), tickets, &store);
            let strict_too = shared_config(&key, Some(&required), tickets, &store);
            let deeper = shared_config(&key, Some(&other_depth), tickets, &store);

            // A session made without client authentication is not resumed where a
            // certificate is required: the client must do a full handshake and present one.
            let (cc, _) = client_cfg(version, &["alice.pem"]);
            let server = try_handshake(&mut client(&cc, "localhost"), &open).unwrap();
            assert_eq!(tlsr_conn_peer_cert_count(server.conn), 0);
            let server = try_handshake(&mut client(&cc, "localhost"), &strict).unwrap();
            assert_eq!(tlsr_conn_is_resumed(server.conn), 0, "{}", what);
            assert_eq!(peer_certs(&server), alice);
            // A client without a certificate cannot ride on an open session either.
            let (anonymous, _) = client_cfg(version, &[]);
            try_handshake(&mut client(&anonymous, "localhost"), &open).unwrap();
            let (status, _, _) = try_handshake(&mut client(&anonymous, "localhost"), &strict)
                .err()
                .expect(&what);
            assert_eq!(status, TLSR_PEER_CERT_MISSING, "{}", what);

            // The same policy in another config (another server of a fleet): resumed.
            let (cc, _) = client_cfg(version, &["alice.pem"]);
            try_handshake(&mut client(&cc, "localhost"), &strict).unwrap();
            let server = try_handshake(&mut client(&cc, "localhost"), &strict_too).unwrap();
            assert_eq!(tlsr_conn_is_resumed(server.conn), 1, "{}", what);
            assert_eq!(peer_certs(&server), alice);
            // Another policy (depth 2): a full handshake.
            let server = try_handshake(&mut client(&cc, "localhost"), &deeper).unwrap();
            assert_eq!(tlsr_conn_is_resumed(server.conn), 0, "{}", what);
        }
    }
}
