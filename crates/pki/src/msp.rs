//! Fabric MSP bundles: an identity's certificates (and, when the caller holds it, its key) in
//! the directory layout Fabric reads, as a tar.gz, with NodeOUs enabled.

use std::io::Write;

/// What goes into an MSP directory.
pub struct MspInputs<'a> {
    /// The alliance root CA certificate (PEM).
    pub root_pem: &'a str,
    /// The organisation CA that issued the identity (PEM).
    pub org_ca_pem: &'a str,
    /// The identity's certificate (PEM).
    pub sign_cert_pem: &'a str,
    /// The identity's private key, only when returned at issuance (PEM).
    pub key_pem: Option<&'a str>,
    /// The member's TLS CA (PEM), an intermediate under the root: it goes to
    /// `tlsintermediatecerts/`, the root to `tlscacerts/`.
    pub tls_ca_pem: &'a str,
}

/// The `config.yaml` that turns NodeOUs on: the OU of an identity's certificate subject
/// (`client`, `peer`, `admin`, `orderer`) classifies it, certified by the organisation CA.
pub fn config_yaml() -> String {
    let ou = |name: &str, ou: &str| {
        format!(
            "  {name}:\n    Certificate: intermediatecerts/ca.pem\n    OrganizationalUnitIdentifier: {ou}\n"
        )
    };
    format!(
        "NodeOUs:\n  Enable: true\n{}{}{}{}",
        ou("ClientOUIdentifier", "client"),
        ou("PeerOUIdentifier", "peer"),
        ou("AdminOUIdentifier", "admin"),
        ou("OrdererOUIdentifier", "orderer"),
    )
}

/// The bundle as a gzip-compressed tar of `msp/...`.
pub fn bundle(m: &MspInputs<'_>) -> std::io::Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |path: &str, data: &[u8], mode: u32| -> std::io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, path, data)
    };
    add("msp/cacerts/ca.pem", m.root_pem.as_bytes(), 0o644)?;
    add(
        "msp/intermediatecerts/ca.pem",
        m.org_ca_pem.as_bytes(),
        0o644,
    )?;
    add("msp/signcerts/cert.pem", m.sign_cert_pem.as_bytes(), 0o644)?;
    add("msp/tlscacerts/ca.pem", m.root_pem.as_bytes(), 0o644)?;
    add(
        "msp/tlsintermediatecerts/ca.pem",
        m.tls_ca_pem.as_bytes(),
        0o644,
    )?;
    add("msp/config.yaml", config_yaml().as_bytes(), 0o644)?;
    match m.key_pem {
        Some(k) => add("msp/keystore/key.pem", k.as_bytes(), 0o600)?,
        None => add(
            "msp/keystore/README",
            b"Put this identity's private key here as key.pem (the server never keeps it).\n",
            0o644,
        )?,
    }
    let gz = tar.into_inner()?;
    let mut out = gz.finish()?;
    out.flush()?;
    Ok(out)
}
