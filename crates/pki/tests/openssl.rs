//! Certificates and CRLs checked by OpenSSL (the `openssl` command) and parsed field by field
//! with x509-parser; bad requests refused.

use std::path::Path;
use std::process::Command;

use consortia_pki::{Ca, KeyAlg, LeafRequest, PkiError, Profile, Reason, Revoked, Subject};
use x509_parser::extensions::{GeneralName, ParsedExtension};

fn subject(cn: &str) -> Subject {
    Subject {
        common_name: cn.into(),
        organization: Some("Acme".into()),
        organizational_unit: None,
    }
}

fn chain(alg: KeyAlg) -> (Ca, Ca) {
    let root = Ca::new_root(alg, subject("Acme Root CA"), 3650).unwrap();
    let inter = root
        .new_intermediate(alg, subject("Acme Org CA"), 1825, 0)
        .unwrap();
    (root, inter)
}

fn req(profile: Profile, sans: &[&str]) -> LeafRequest {
    LeafRequest {
        profile,
        subject: subject("peer0.acme.example"),
        sans: sans.iter().map(|s| s.to_string()).collect(),
        validity_days: 365,
        crl_url: Some("http://127.0.0.1:8080/crl/acme-org.crl".into()),
        not_before: None,
    }
}

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn openssl_verifies_the_chain_and_honours_revocation() {
    for alg in [KeyAlg::EcdsaP256, KeyAlg::EcdsaP384, KeyAlg::Ed25519] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (root, inter) = chain(alg);
        let leaf = inter
            .issue_generated(
                &req(Profile::Node, &["peer0.acme.example", "10.0.0.7"]),
                alg,
            )
            .unwrap();
        std::fs::write(d.join("root.pem"), &root.cert_pem).unwrap();
        std::fs::write(d.join("inter.pem"), &inter.cert_pem).unwrap();
        std::fs::write(d.join("leaf.pem"), &leaf.pem).unwrap();
        let (ok, out) = openssl(
            &[
                "verify",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "inter.pem",
                "leaf.pem",
            ],
            d,
        );
        assert!(ok && out.contains("leaf.pem: OK"), "{alg:?}: {out}");
        // An empty CRL: still fine with CRL checking on.
        let crl = inter.crl(&[], 1, 24).unwrap();
        std::fs::write(d.join("crl.pem"), &crl.pem).unwrap();
        let (ok, out) = openssl(
            &[
                "verify",
                "-crl_check",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "inter.pem",
                "-CRLfile",
                "crl.pem",
                "leaf.pem",
            ],
            d,
        );
        assert!(ok, "{alg:?}: {out}");
        // Revoked: refused.
        let serial = hex::decode(&leaf.serial).unwrap();
        let crl = inter
            .crl(
                &[Revoked {
                    serial,
                    time: time::OffsetDateTime::now_utc(),
                    reason: Reason::KeyCompromise,
                }],
                2,
                24,
            )
            .unwrap();
        std::fs::write(d.join("crl.pem"), &crl.pem).unwrap();
        let (ok, out) = openssl(
            &[
                "verify",
                "-crl_check",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "inter.pem",
                "-CRLfile",
                "crl.pem",
                "leaf.pem",
            ],
            d,
        );
        assert!(!ok && out.contains("certificate revoked"), "{alg:?}: {out}");
        let (ok, out) = openssl(&["crl", "-in", "crl.pem", "-noout", "-text"], d);
        assert!(
            ok && out.contains("Key Compromise") && out.contains("Next Update"),
            "{out}"
        );
        assert!(
            out.to_uppercase().contains(&leaf.serial.to_uppercase()),
            "{out}"
        );
        std::fs::write(d.join("crl.der"), &crl.der).unwrap();
        let (ok, _) = openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-noout"], d);
        assert!(ok);
    }
}

#[test]
fn a_csr_from_openssl_is_accepted_and_bad_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, inter) = chain(KeyAlg::EcdsaP256);
    let (ok, out) = openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "csr.pem",
            "-subj",
            "/O=Globex/CN=orderer0.globex.example",
        ],
        d,
    );
    assert!(ok, "{out}");
    let csr = std::fs::read_to_string(d.join("csr.pem")).unwrap();
    let mut r = req(Profile::Orderer, &["orderer0.globex.example"]);
    r.subject.common_name.clear();
    let issued = inter.issue_csr(&csr, &r).unwrap();
    assert!(issued.key_pem.is_none());
    let (_, x) = x509_parser::parse_x509_certificate(&issued.der).unwrap();
    assert_eq!(
        x.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "orderer0.globex.example"
    );
    assert_eq!(
        x.subject()
            .iter_organizational_unit()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "orderer",
        "the Fabric NodeOU is in the subject"
    );
    // The certificate carries the CSR's key: openssl sees the same public key.
    std::fs::write(d.join("cert.pem"), &issued.pem).unwrap();
    let (_, a) = openssl(&["x509", "-in", "cert.pem", "-noout", "-pubkey"], d);
    let (_, b) = openssl(&["pkey", "-in", "k.pem", "-pubout"], d);
    assert_eq!(a, b);

    // Malformed.
    assert_eq!(
        inter.issue_csr("not a csr", &r).unwrap_err(),
        PkiError::MalformedCsr
    );
    let garbage =
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIBadbad=\n-----END CERTIFICATE REQUEST-----\n";
    assert_eq!(
        inter.issue_csr(garbage, &r).unwrap_err(),
        PkiError::MalformedCsr
    );
    // A bad self-signature: flip a byte of the signature (the end of the DER).
    let (_, der) = openssl(
        &[
            "req", "-in", "csr.pem", "-outform", "DER", "-out", "csr.der",
        ],
        d,
    );
    let _ = der;
    let mut bytes = std::fs::read(d.join("csr.der")).unwrap();
    let n = bytes.len();
    bytes[n - 5] ^= 0x01;
    use base64::Engine;
    let tampered = format!(
        "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    );
    let e = inter.issue_csr(&tampered, &r).unwrap_err();
    assert!(
        matches!(e, PkiError::BadCsrSignature | PkiError::MalformedCsr),
        "{e:?}"
    );
    // A CSR asking for CA:TRUE, under a leaf profile.
    let (ok, out) = openssl(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "k2.pem",
            "-out",
            "ca.csr",
            "-subj",
            "/CN=sneaky",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
        d,
    );
    assert!(ok, "{out}");
    let ca_csr = std::fs::read_to_string(d.join("ca.csr")).unwrap();
    assert_eq!(
        inter.issue_csr(&ca_csr, &r).unwrap_err(),
        PkiError::CaRequested("orderer")
    );
}

#[test]
fn profiles_have_the_right_extensions() {
    let (root, inter) = chain(KeyAlg::EcdsaP256);
    for (profile, server, client) in [
        (Profile::Node, true, true),
        (Profile::TlsServer, true, false),
        (Profile::TlsClient, false, true),
        (Profile::Admin, false, true),
        (Profile::Peer, false, true),
    ] {
        let leaf = inter
            .issue_generated(
                &req(profile, &["a.example", "2001:db8::1"]),
                KeyAlg::EcdsaP256,
            )
            .unwrap();
        let (_, x) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        let bc = x.basic_constraints().unwrap().unwrap().value;
        assert!(!bc.ca, "{profile:?}");
        let eku = x.extended_key_usage().unwrap().unwrap().value;
        assert_eq!(
            (eku.server_auth, eku.client_auth),
            (server, client),
            "{profile:?}"
        );
        assert!(x.key_usage().unwrap().unwrap().value.digital_signature());
        let mut has = (false, false, false, false);
        for ext in x.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(_) => has.0 = true,
                ParsedExtension::AuthorityKeyIdentifier(_) => has.1 = true,
                ParsedExtension::CRLDistributionPoints(_) => has.2 = true,
                ParsedExtension::SubjectAlternativeName(san) => {
                    has.3 = san
                        .general_names
                        .iter()
                        .any(|g| matches!(g, GeneralName::DNSName("a.example")))
                        && san
                            .general_names
                            .iter()
                            .any(|g| matches!(g, GeneralName::IPAddress(ip) if ip.len() == 16));
                }
                _ => {}
            }
        }
        assert_eq!(has, (true, true, true, true), "{profile:?}");
        // Serial: 16 bytes, positive.
        let serial = hex::decode(&leaf.serial).unwrap();
        assert!(serial.len() <= 16 && serial[0] & 0x80 == 0);
        assert!(leaf.not_after <= inter.not_after);
        let ou = x
            .subject()
            .iter_organizational_unit()
            .next()
            .map(|o| o.as_str().unwrap().to_string());
        assert_eq!(ou.as_deref(), profile.node_ou(), "{profile:?}");
    }
    // CA certificates: CA:TRUE with the path length, key usage for signing certificates and CRLs.
    let (_, x) = x509_parser::parse_x509_certificate(&inter.cert_der).unwrap();
    let bc = x.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca && bc.path_len_constraint == Some(0));
    let ku = x.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign());
    let (_, r) = x509_parser::parse_x509_certificate(&root.cert_der).unwrap();
    assert!(r.basic_constraints().unwrap().unwrap().value.ca);
    // Serials differ.
    let a = inter
        .issue_generated(&req(Profile::Client, &[]), KeyAlg::EcdsaP256)
        .unwrap();
    let b = inter
        .issue_generated(&req(Profile::Client, &[]), KeyAlg::EcdsaP256)
        .unwrap();
    assert_ne!(a.serial, b.serial);
}

#[test]
fn bad_requests_are_refused() {
    let (root, inter) = chain(KeyAlg::EcdsaP256);
    for bad in [
        "not a host!",
        "under_score.example",
        "-lead.example",
        "a..b",
        "",
        "http://x.example",
    ] {
        let e = inter
            .issue_generated(&req(Profile::TlsServer, &[bad]), KeyAlg::EcdsaP256)
            .unwrap_err();
        assert_eq!(e, PkiError::BadSan(bad.into()), "{bad:?}");
    }
    // Longer than the issuer: an error, not a silent cut.
    let mut long = req(Profile::Client, &[]);
    long.validity_days = 3000;
    assert!(matches!(
        inter.issue_generated(&long, KeyAlg::EcdsaP256).unwrap_err(),
        PkiError::OutlivesIssuer { .. }
    ));
    assert!(matches!(
        root.new_intermediate(KeyAlg::EcdsaP256, subject("x"), 4000, 0)
            .unwrap_err(),
        PkiError::OutlivesIssuer { .. }
    ));
    let mut zero = req(Profile::Client, &[]);
    zero.validity_days = 0;
    assert_eq!(
        inter.issue_generated(&zero, KeyAlg::EcdsaP256).unwrap_err(),
        PkiError::BadValidity
    );
    // Extreme lengths are refused before any date arithmetic (u32::MAX days overflowed).
    let mut endless = req(Profile::Client, &[]);
    endless.validity_days = u32::MAX;
    assert_eq!(
        inter
            .issue_generated(&endless, KeyAlg::EcdsaP256)
            .unwrap_err(),
        PkiError::BadValidity
    );
    assert!(matches!(
        Ca::new_root(KeyAlg::EcdsaP256, subject("y"), u32::MAX),
        Err(PkiError::BadValidity)
    ));
    let mut nameless = req(Profile::Client, &[]);
    nameless.subject.common_name.clear();
    assert_eq!(
        inter
            .issue_generated(&nameless, KeyAlg::EcdsaP256)
            .unwrap_err(),
        PkiError::BadCommonName
    );
}

#[test]
fn a_ca_survives_sealing_and_reloading() {
    let (_, inter) = chain(KeyAlg::EcdsaP384);
    let kek = consortia_pki::seal::Kek::generate();
    let sealed = kek.seal(inter.key_der(), b"ca:acme-org");
    assert!(
        !sealed
            .windows(16)
            .any(|w| inter.key_der().windows(16).any(|k| k == w))
    );
    let key = kek.open(&sealed, b"ca:acme-org").unwrap();
    let again = Ca::load(inter.cert_der.clone(), key, KeyAlg::EcdsaP384).unwrap();
    let leaf = again
        .issue_generated(&req(Profile::Peer, &[]), KeyAlg::EcdsaP256)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("inter.pem"), &inter.cert_pem).unwrap();
    std::fs::write(d.join("leaf.pem"), &leaf.pem).unwrap();
    let (ok, out) = openssl(
        &[
            "verify",
            "-partial_chain",
            "-CAfile",
            "inter.pem",
            "leaf.pem",
        ],
        d,
    );
    assert!(ok, "{out}");
    // Wrong algorithm or a key that is not PKCS#8: refused.
    assert!(
        Ca::load(
            inter.cert_der.clone(),
            inter.key_der().to_vec(),
            KeyAlg::EcdsaP256
        )
        .is_err()
    );
    assert!(Ca::load(inter.cert_der.clone(), vec![1, 2, 3], KeyAlg::EcdsaP384).is_err());
}
