//! PKI benchmark: leaf issuance rate and CRL generation time.
//! `cargo run --release -p consortia-pki --example bench [LEAVES] [REVOKED]`

use std::time::Instant;

use consortia_pki::{Ca, KeyAlg, LeafRequest, Profile, Reason, Revoked, Subject};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let revoked: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let subject = |cn: &str| Subject {
        common_name: cn.into(),
        organization: Some("Bench".into()),
        organizational_unit: None,
    };
    let root = Ca::new_root(KeyAlg::EcdsaP256, subject("Bench Root"), 3650).unwrap();
    let ca = root
        .new_intermediate(KeyAlg::EcdsaP256, subject("Bench Org CA"), 1825, 0)
        .unwrap();
    let req = LeafRequest {
        profile: Profile::Node,
        subject: subject("node.bench.example"),
        sans: vec!["node.bench.example".into(), "10.1.2.3".into()],
        validity_days: 365,
        crl_url: Some("http://ca.bench.example/org.crl".into()),
        not_before: None,
    };
    // A requester's key (as from a CSR): the CA only signs.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(ca.issue_for_key(&req, &key).unwrap());
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "issue P-256 leaf for a given key: {n} in {s:.2} s = {:.0} certificates/s (one thread)",
        n as f64 / s
    );
    let m = n / 4;
    let t = Instant::now();
    for _ in 0..m {
        std::hint::black_box(ca.issue_generated(&req, KeyAlg::EcdsaP256).unwrap());
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "issue P-256 leaf with a generated key: {m} in {s:.2} s = {:.0} certificates/s (one thread)",
        m as f64 / s
    );
    let entries: Vec<Revoked> = (0..revoked)
        .map(|i| Revoked {
            serial: {
                let mut b = rand::random::<[u8; 16]>();
                b[0] &= 0x7f;
                b[0] |= 1;
                b[15] = i as u8;
                b.to_vec()
            },
            time: time::OffsetDateTime::now_utc(),
            reason: Reason::Superseded,
        })
        .collect();
    let t = Instant::now();
    let crl = ca.crl(&entries, 7, 24).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "CRL with {revoked} revoked entries: {s:.3} s, {} bytes DER",
        crl.der.len()
    );
}
