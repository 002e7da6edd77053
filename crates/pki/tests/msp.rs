//! Fabric MSP bundles: layout, NodeOUs config, and a chain OpenSSL accepts from the files.

use std::io::Read;
use std::process::Command;

use consortia_pki::msp::{MspInputs, bundle};
use consortia_pki::{Ca, KeyAlg, LeafRequest, Profile, Subject};

fn subject(cn: &str) -> Subject {
    Subject {
        common_name: cn.into(),
        organization: Some("Acme".into()),
        organizational_unit: None,
    }
}

#[test]
fn bundle_has_the_fabric_layout() {
    let root = Ca::new_root(KeyAlg::EcdsaP256, subject("Root"), 3650).unwrap();
    let org = root
        .new_intermediate(KeyAlg::EcdsaP256, subject("AcmeMSP CA"), 1825, 0)
        .unwrap();
    let tls = root
        .new_intermediate(KeyAlg::EcdsaP256, subject("AcmeMSP TLS CA"), 1825, 0)
        .unwrap();
    let leaf = org
        .issue_generated(
            &LeafRequest {
                profile: Profile::Peer,
                subject: subject("peer0"),
                sans: vec![],
                validity_days: 30,
                crl_url: None,
                not_before: None,
            },
            KeyAlg::EcdsaP256,
        )
        .unwrap();
    for with_key in [true, false] {
        let tgz = bundle(&MspInputs {
            root_pem: &root.cert_pem,
            org_ca_pem: &org.cert_pem,
            sign_cert_pem: &leaf.pem,
            key_pem: with_key.then_some(leaf.key_pem.as_deref().unwrap()),
            tls_ca_pem: &tls.cert_pem,
        })
        .unwrap();
        let mut files = std::collections::BTreeMap::new();
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&tgz[..]));
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let mode = e.header().mode().unwrap();
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            files.insert(path, (mode, s));
        }
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        let key_entry = if with_key {
            "msp/keystore/key.pem"
        } else {
            "msp/keystore/README"
        };
        for expected in [
            "msp/cacerts/ca.pem",
            "msp/intermediatecerts/ca.pem",
            "msp/signcerts/cert.pem",
            "msp/tlscacerts/ca.pem",
            "msp/tlsintermediatecerts/ca.pem",
            "msp/config.yaml",
            key_entry,
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let cfg = &files["msp/config.yaml"].1;
        assert!(cfg.contains("Enable: true"));
        for ou in ["client", "peer", "admin", "orderer"] {
            assert!(
                cfg.contains(&format!("OrganizationalUnitIdentifier: {ou}")),
                "{cfg}"
            );
        }
        if with_key {
            assert_eq!(files["msp/keystore/key.pem"].0 & 0o777, 0o600);
        }
        // Extract with tar(1) and let OpenSSL check the identity against the MSP's CAs.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.tgz"), &tgz).unwrap();
        assert!(
            Command::new("tar")
                .args(["xzf", "b.tgz"])
                .current_dir(dir.path())
                .status()
                .unwrap()
                .success()
        );
        let out = Command::new("openssl")
            .args([
                "verify",
                "-CAfile",
                "msp/cacerts/ca.pem",
                "-untrusted",
                "msp/intermediatecerts/ca.pem",
                "msp/signcerts/cert.pem",
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
