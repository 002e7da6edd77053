//! `consortia-operator`: reconciles `Chain` resources into running consortium chains.
//!
//! Today: `consortia-operator crd` prints every custom resource definition (the committed
//! `crds/*.yaml` is that output). The controller arrives with the rest of the operator work.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "consortia-operator",
    version,
    about = "The Consortia Kubernetes operator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every CustomResourceDefinition as YAML (apply with `kubectl apply -f -`).
    Crd,
}

/// The CRDs as one multi-document YAML stream.
fn crd_yaml() -> anyhow::Result<String> {
    let mut out = String::new();
    for crd in consortia_crds::all() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => print!("{}", crd_yaml()?),
    }
    Ok(())
}
