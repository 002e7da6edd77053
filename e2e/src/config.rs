//! What the suite needs from its environment: a cluster (`KUBECONFIG`), the images to
//! install, the `consortia-node` client binary and the chart.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};

/// Printed when the suite is skipped.
pub const SKIP_MESSAGE: &str = "\n\
    ********************************************************************************\n\
    consortia-e2e: skipped: no cluster — set KUBECONFIG to run the real-cluster suite, see e2e/README.md\n\
    ********************************************************************************\n";

/// A container image as the chart takes it: repository and tag apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub repository: String,
    pub tag: String,
}

impl Image {
    /// Splits `repository:tag` (the repository may name a registry with a port).
    pub fn parse(reference: &str) -> Result<Image> {
        if reference.contains('@') {
            bail!("image {reference:?}: digests are not supported, give repository:tag");
        }
        let name_start = reference.rfind('/').map_or(0, |i| i + 1);
        match reference[name_start..].rfind(':') {
            Some(i) if i > 0 && name_start + i + 1 < reference.len() => Ok(Image {
                repository: reference[..name_start + i].to_string(),
                tag: reference[name_start + i + 1..].to_string(),
            }),
            _ => bail!(
                "image {reference:?} has no tag: give repository:tag, e.g. consortia-operator:e2e"
            ),
        }
    }
}

/// When the suite leaves its namespace and release behind instead of removing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Unset or `0`: always clean up.
    Never,
    /// `on-failure`: keep what a failed run leaves, for a CI step to dump.
    OnFailure,
    /// `1` or `always`.
    Always,
}

impl Keep {
    fn parse(value: Option<&str>) -> Result<Keep> {
        match value.map(str::trim) {
            None | Some("0") => Ok(Keep::Never),
            Some("on-failure") => Ok(Keep::OnFailure),
            Some("1" | "always") => Ok(Keep::Always),
            Some(other) => {
                bail!("CONSORTIA_E2E_KEEP={other:?}: expected 0, 1, always or on-failure")
            }
        }
    }

    /// Whether a run that `failed` keeps its namespace.
    pub fn keeps(self, failed: bool) -> bool {
        match self {
            Keep::Never => false,
            Keep::OnFailure => failed,
            Keep::Always => true,
        }
    }
}

/// Everything the suite reads from its environment (see e2e/README.md).
#[derive(Clone, Debug)]
pub struct Config {
    /// `CONSORTIA_E2E_OPERATOR_IMAGE`.
    pub operator_image: Image,
    /// `CONSORTIA_E2E_NODE_IMAGE`: the image the operator runs native-chain nodes with.
    pub node_image: Image,
    /// `CONSORTIA_E2E_NODE_BIN`, or the newest `consortia-node` in the Cargo target dir.
    pub node_bin: PathBuf,
    /// `CONSORTIA_E2E_CHART`, default `charts/consortia` of this workspace.
    pub chart: PathBuf,
    /// `CONSORTIA_E2E_TIMEOUT_SECS` (default 300): bound of each wait on the cluster.
    pub timeout: Duration,
    /// `CONSORTIA_E2E_KEEP`: when to leave the namespace and release behind for inspection.
    pub keep: Keep,
    /// `CONSORTIA_E2E_HELM_ARGS`: extra `helm install` arguments, split on whitespace.
    pub helm_args: Vec<String>,
}

impl Config {
    /// `None` when `KUBECONFIG` is unset or empty (the suite is skipped); an error when a
    /// cluster is named but something else the suite needs is missing.
    pub fn from_env() -> Result<Option<Config>> {
        from_vars(|name| std::env::var(name).ok())
    }
}

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Config>> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    // CI sets this so that a lost KUBECONFIG or image fails the job instead of passing it.
    let demanded = set("CONSORTIA_E2E_REQUIRED").is_some_and(|v| v != "0");
    if set("KUBECONFIG").is_none() {
        if demanded {
            bail!("CONSORTIA_E2E_REQUIRED is set but KUBECONFIG is empty: no cluster to test");
        }
        return Ok(None);
    }
    // A developer's shell often names a cluster for other work: without the images this suite
    // was not asked for, so skip (loudly) rather than fail every local test run.
    let images = ["CONSORTIA_E2E_OPERATOR_IMAGE", "CONSORTIA_E2E_NODE_IMAGE"];
    if !demanded && images.iter().any(|v| set(v).is_none()) {
        eprintln!(
            "consortia-e2e: skipped: KUBECONFIG is set but {} are not; set them (see e2e/README.md) to run the real-cluster suite",
            images.join(" and ")
        );
        return Ok(None);
    }
    let required = |name: &str| {
        set(name).with_context(|| {
            format!(
                "KUBECONFIG is set, so the real-cluster suite runs, but {name} is not: set it \
                 (see e2e/README.md), or unset KUBECONFIG to skip the suite"
            )
        })
    };
    let operator_image = Image::parse(&required("CONSORTIA_E2E_OPERATOR_IMAGE")?)?;
    let node_image = Image::parse(&required("CONSORTIA_E2E_NODE_IMAGE")?)?;
    let node_bin = node_bin_from(&var)?.with_context(|| {
        format!("no consortia-node binary in the Cargo target directory: {NODE_BIN_HELP}")
    })?;
    let chart = existing(
        set("CONSORTIA_E2E_CHART")
            .map_or_else(|| workspace_root().join("charts/consortia"), PathBuf::from),
        "CONSORTIA_E2E_CHART",
    )?;
    let timeout = match set("CONSORTIA_E2E_TIMEOUT_SECS") {
        Some(s) => Duration::from_secs(s.trim().parse().with_context(|| {
            format!("CONSORTIA_E2E_TIMEOUT_SECS={s:?} is not a number of seconds")
        })?),
        None => Duration::from_secs(300),
    };
    Ok(Some(Config {
        operator_image,
        node_image,
        node_bin,
        chart,
        timeout,
        keep: Keep::parse(set("CONSORTIA_E2E_KEEP").as_deref())?,
        helm_args: set("CONSORTIA_E2E_HELM_ARGS")
            .map(|a| a.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    }))
}

fn existing(path: PathBuf, variable: &str) -> Result<PathBuf> {
    if !path.exists() {
        bail!(
            "{} does not exist (set {variable} to override)",
            path.display()
        );
    }
    Ok(path)
}

/// How to provide the `consortia-node` client.
pub const NODE_BIN_HELP: &str =
    "build it with `cargo build -p consortia-node` or set CONSORTIA_E2E_NODE_BIN";

/// `CONSORTIA_E2E_NODE_BIN`, else the newest `consortia-node` of the Cargo target
/// directory's `release/` and `debug/`; `None` when there is neither.
pub fn node_bin() -> Result<Option<PathBuf>> {
    node_bin_from(&|name| std::env::var(name).ok())
}

fn node_bin_from(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<PathBuf>> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if let Some(p) = set("CONSORTIA_E2E_NODE_BIN") {
        return existing(PathBuf::from(p), "CONSORTIA_E2E_NODE_BIN").map(Some);
    }
    let target =
        set("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    Ok(newest_node_bin(&target))
}

fn newest_node_bin(target: &Path) -> Option<PathBuf> {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("consortia-node"))
        .filter_map(|p| modified(&p).map(|t| (t, p)))
        .max_by_key(|(t, _): &(SystemTime, PathBuf)| *t)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn images_split_into_repository_and_tag() {
        let cases = [
            ("consortia-operator:e2e", "consortia-operator", "e2e"),
            ("ghcr.io/acme/op:1.2.3", "ghcr.io/acme/op", "1.2.3"),
            ("localhost:5000/op:dev", "localhost:5000/op", "dev"),
        ];
        for (reference, repository, tag) in cases {
            assert_eq!(
                Image::parse(reference).unwrap(),
                Image {
                    repository: repository.into(),
                    tag: tag.into()
                }
            );
        }
    }

    #[test]
    fn images_without_a_tag_or_with_a_digest_are_refused() {
        for bad in ["op", "localhost:5000/op", "op:", ":tag", "op@sha256:abcd"] {
            assert!(Image::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn no_kubeconfig_means_skip() {
        assert!(from_vars(vars(&[])).unwrap().is_none());
        assert!(from_vars(vars(&[("KUBECONFIG", " ")])).unwrap().is_none());
    }

    #[test]
    fn a_required_suite_without_a_cluster_fails() {
        let err = from_vars(vars(&[("CONSORTIA_E2E_REQUIRED", "1")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("KUBECONFIG is empty"), "{err}");
    }

    #[test]
    fn a_cluster_without_images_is_skipped_unless_the_suite_is_required() {
        assert!(from_vars(vars(&[("KUBECONFIG", "/k")])).unwrap().is_none());
        let err = from_vars(vars(&[
            ("KUBECONFIG", "/k"),
            ("CONSORTIA_E2E_REQUIRED", "1"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(err.contains("CONSORTIA_E2E_OPERATOR_IMAGE"), "{err}");
        assert!(err.contains("unset KUBECONFIG to skip"), "{err}");
    }

    #[test]
    fn a_full_environment_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("consortia-node");
        std::fs::write(&bin, "").unwrap();
        let bin_s = bin.to_str().unwrap();
        let chart = dir.path().to_str().unwrap();
        let cfg = from_vars(vars(&[
            ("KUBECONFIG", "/k"),
            ("CONSORTIA_E2E_OPERATOR_IMAGE", "consortia-operator:e2e"),
            ("CONSORTIA_E2E_NODE_IMAGE", "consortia-node:e2e"),
            ("CONSORTIA_E2E_NODE_BIN", bin_s),
            ("CONSORTIA_E2E_CHART", chart),
            ("CONSORTIA_E2E_TIMEOUT_SECS", "90"),
            ("CONSORTIA_E2E_HELM_ARGS", "--set a=b  --debug"),
            ("CONSORTIA_E2E_KEEP", "on-failure"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(cfg.operator_image.tag, "e2e");
        assert_eq!(cfg.node_image.repository, "consortia-node");
        assert_eq!(cfg.node_bin, bin);
        assert_eq!(cfg.timeout, Duration::from_secs(90));
        assert_eq!(cfg.helm_args, ["--set", "a=b", "--debug"]);
        assert_eq!(cfg.keep, Keep::OnFailure);
    }

    #[test]
    fn keep_modes() {
        assert_eq!(Keep::parse(None).unwrap(), Keep::Never);
        assert_eq!(Keep::parse(Some("0")).unwrap(), Keep::Never);
        assert_eq!(Keep::parse(Some("1")).unwrap(), Keep::Always);
        assert_eq!(Keep::parse(Some("always")).unwrap(), Keep::Always);
        assert!(Keep::parse(Some("yes")).is_err());
        assert!(!Keep::Never.keeps(true));
        assert!(Keep::OnFailure.keeps(true) && !Keep::OnFailure.keeps(false));
        assert!(Keep::Always.keeps(false));
    }

    #[test]
    fn a_missing_chart_or_binary_is_named() {
        let base = [
            ("KUBECONFIG", "/k"),
            ("CONSORTIA_E2E_OPERATOR_IMAGE", "op:e2e"),
            ("CONSORTIA_E2E_NODE_IMAGE", "node:e2e"),
        ];
        let mut with_bin = base.to_vec();
        with_bin.push(("CONSORTIA_E2E_NODE_BIN", "/nonexistent/consortia-node"));
        let err = from_vars(vars(&with_bin)).unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent/consortia-node does not exist"),
            "{err}"
        );

        let empty = tempfile::tempdir().unwrap();
        let mut no_bin = base.to_vec();
        no_bin.push(("CARGO_TARGET_DIR", empty.path().to_str().unwrap()));
        let err = from_vars(vars(&no_bin)).unwrap_err().to_string();
        assert!(err.contains("cargo build -p consortia-node"), "{err}");
    }

    #[test]
    fn the_newest_build_of_the_node_is_used() {
        let target = tempfile::tempdir().unwrap();
        for profile in ["debug", "release"] {
            std::fs::create_dir(target.path().join(profile)).unwrap();
        }
        let release = target.path().join("release/consortia-node");
        let debug = target.path().join("debug/consortia-node");
        std::fs::write(&release, "").unwrap();
        std::fs::write(&debug, "").unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&release)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(newest_node_bin(target.path()), Some(debug));
    }
}
