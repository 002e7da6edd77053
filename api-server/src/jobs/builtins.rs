//! The built-in marketplace templates (`api-server/templates/`, shipped in the binary),
//! loaded at start as published versions of the platform publisher.

use crate::domain::error::Result;
use crate::domain::templates as marketplace;
use crate::service::templates::Templates;

/// Slug of the tenant that publishes the built-in templates.
pub const PLATFORM_PUBLISHER: &str = "consortia";

/// A shipped file: its path in the template and its bytes.
type ShippedFile = (&'static str, &'static [u8]);

/// The built-in templates, shipped in the binary.
fn builtin_dirs() -> Vec<(&'static str, Vec<ShippedFile>)> {
    macro_rules! file {
        ($dir:literal, $path:literal) => {
            (
                $path,
                include_bytes!(concat!("../../templates/", $dir, "/", $path)) as &[u8],
            )
        };
    }
    vec![
        (
            "evidence-deposit",
            vec![
                file!("evidence-deposit", "consortia-template.yaml"),
                file!("evidence-deposit", "config/deposit-service.json"),
                file!("evidence-deposit", "schema/evidence-metadata.schema.json"),
            ],
        ),
        (
            "product-traceability",
            vec![
                file!("product-traceability", "consortia-template.yaml"),
                file!("product-traceability", "config/traceability-service.json"),
                file!("product-traceability", "schema/trace-event.schema.json"),
            ],
        ),
        (
            "quorum-qbft-network",
            vec![
                file!("quorum-qbft-network", "consortia-template.yaml"),
                file!("quorum-qbft-network", "config/genesis.fragment.json"),
                file!("quorum-qbft-network", "config/node-settings.json"),
            ],
        ),
        (
            "fabric-supply-chain",
            vec![
                file!("fabric-supply-chain", "consortia-template.yaml"),
                file!("fabric-supply-chain", "config/configtx-profile.yaml"),
                file!("fabric-supply-chain", "contracts/chaincode-definition.json"),
            ],
        ),
    ]
}

/// The built-in templates as packages (checked like any upload).
pub fn builtin_packages() -> Vec<Vec<u8>> {
    builtin_dirs()
        .into_iter()
        .map(|(_, files)| {
            let mut manifest = String::new();
            let mut rest = std::collections::BTreeMap::new();
            for (p, b) in files {
                if p == marketplace::MANIFEST {
                    manifest = String::from_utf8_lossy(b).into_owned();
                } else {
                    rest.insert(p.to_string(), b.to_vec());
                }
            }
            marketplace::build_package(&manifest, &rest)
        })
        .collect()
}

/// Loads the built-in templates: publishes each one whose version is not there yet; returns
/// how many were added.
pub async fn load(templates: &Templates) -> Result<usize> {
    templates
        .load_builtins(PLATFORM_PUBLISHER, &builtin_packages())
        .await
}
