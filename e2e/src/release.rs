//! The chart installed as a Helm release in a namespace of its own. Dropping the release
//! removes the Chains, the release and the namespace, and first prints what the cluster
//! shows when the run failed.

use std::cell::Cell;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};

use crate::config::{Config, Keep};
use crate::kubectl::Kubectl;
use crate::{process, step};

/// A release of the chart and its namespace, removed on drop.
pub struct Release {
    pub name: String,
    kubectl: Kubectl,
    keep: Keep,
    failed: Cell<bool>,
}

impl Release {
    /// Creates a fresh namespace and installs the chart into it (API server off), then waits
    /// for its Deployments to roll out.
    pub fn install(cfg: &Config) -> Result<Release> {
        let name = unique_name();
        step(&format!(
            "install the chart as release {name} in namespace {name}"
        ));
        process::run_logged(Command::new("kubectl").args(["create", "namespace", &name]))?;
        // From here on the guard exists, so a failed install is still cleaned up.
        let release = Release {
            kubectl: Kubectl::new(&name),
            name,
            keep: cfg.keep,
            failed: Cell::new(false),
        };
        release.mark_failed_if_err(release.helm_install(cfg))?;
        release.mark_failed_if_err(release.wait_for_rollout(cfg.timeout))?;
        Ok(release)
    }

    /// `kubectl` in the release's namespace.
    pub fn kubectl(&self) -> &Kubectl {
        &self.kubectl
    }

    /// Notes a failure so that dropping the release prints diagnostics first.
    pub fn mark_failed_if_err<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.failed.set(true);
        }
        r
    }

    fn helm_install(&self, cfg: &Config) -> Result<()> {
        let mut cmd = Command::new("helm");
        cmd.args(helm_install_args(cfg, &self.name));
        process::run_logged(&mut cmd)?;
        Ok(())
    }

    fn wait_for_rollout(&self, timeout: Duration) -> Result<()> {
        let selector = format!("app.kubernetes.io/instance={}", self.name);
        let deployments = self.kubectl.list("deployments", &selector)?;
        if deployments.is_empty() {
            bail!(
                "expected the chart to install the operator Deployment (label {selector}), \
                 it installed no Deployment"
            );
        }
        let timeout = format!("--timeout={}s", timeout.as_secs());
        for d in &deployments {
            let object = d.replacen("Deployment/", "deployment/", 1);
            self.kubectl
                .run_logged(&["rollout", "status", &object, &timeout])?;
        }
        Ok(())
    }

    /// Prints the state of the namespace and the operator's logs.
    pub fn print_diagnostics(&self) {
        eprintln!("\n==> diagnostics of namespace {}", self.name);
        let instance = format!("app.kubernetes.io/instance={}", self.name);
        // Chains apart: when the CRD is missing, kubectl would refuse the whole list.
        let reads: [&[&str]; 7] = [
            &["get", "chains", "--output=wide"],
            &[
                "get",
                "all,pvc,configmaps,secrets,pdb,networkpolicies,serviceaccounts",
                "--output=wide",
            ],
            &["describe", "chains"],
            &["describe", "deployments", "--selector", &instance],
            &["describe", "pods"],
            &["get", "events", "--sort-by=.lastTimestamp"],
            &[
                "logs",
                "--selector",
                &instance,
                "--all-containers",
                "--prefix",
                "--tail=400",
            ],
        ];
        for args in reads {
            let mut cmd = self.kubectl.command(args);
            eprintln!("\n--- {}", process::show(&cmd));
            match process::output(&mut cmd, None) {
                Ok(out) => eprintln!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => eprintln!("{e:#}"),
            }
        }
    }

    fn cleanup(&self) {
        let ns = &self.name;
        if self.keep.keeps(self.failed.get()) {
            eprintln!(
                "\nCONSORTIA_E2E_KEEP: namespace {ns} and release {ns} stay. Remove them with: \
                 helm uninstall {ns} -n {ns}; kubectl delete namespace {ns}"
            );
            return;
        }
        step(&format!("clean up release and namespace {ns}"));
        // Chains go first, while the operator still runs to release their finalizers;
        // otherwise the namespace would hang in Terminating.
        let _ = self.kubectl.run_logged(&[
            "delete",
            "chains",
            "--all",
            "--ignore-not-found",
            "--timeout=120s",
        ]);
        if let Ok(left) = self.kubectl.run(&["get", "chains", "--output=name"]) {
            for chain in left.lines().filter(|l| !l.is_empty()) {
                let _ = self.kubectl.run_logged(&[
                    "patch",
                    chain,
                    "--type=merge",
                    "--patch",
                    r#"{"metadata":{"finalizers":null}}"#,
                ]);
            }
        }
        let _ = process::run_logged(Command::new("helm").args([
            "uninstall",
            ns,
            "--namespace",
            ns,
            "--wait",
            "--timeout",
            "180s",
        ]));
        let _ = process::run_logged(Command::new("kubectl").args([
            "delete",
            "namespace",
            ns,
            "--ignore-not-found",
            "--timeout=180s",
        ]));
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.failed.set(true);
        }
        if self.failed.get() {
            self.print_diagnostics();
        }
        self.cleanup();
    }
}

/// `helm install` arguments: the chart with the images under test, one operator replica
/// logging text, the API server off, and any `CONSORTIA_E2E_HELM_ARGS` last so that they win.
pub fn helm_install_args(cfg: &Config, name: &str) -> Vec<String> {
    let mut args: Vec<String> = [
        "install",
        name,
        &cfg.chart.to_string_lossy(),
        "--namespace",
        name,
        "--wait",
        "--timeout",
        &format!("{}s", cfg.timeout.as_secs()),
    ]
    .map(str::to_string)
    .to_vec();
    let values = [
        ("apiServer.enabled", "false"),
        ("operator.replicas", "1"),
        ("operator.logFormat", "text"),
        ("operator.image.repository", &cfg.operator_image.repository),
        ("operator.image.tag", &cfg.operator_image.tag),
        // The images are imported into the cluster, not pulled.
        ("operator.image.pullPolicy", "IfNotPresent"),
        ("operator.nodeImage.repository", &cfg.node_image.repository),
        ("operator.nodeImage.tag", &cfg.node_image.tag),
    ];
    for (key, value) in values {
        args.push("--set".to_string());
        args.push(format!("{key}={value}"));
    }
    args.extend(cfg.helm_args.iter().cloned());
    args
}

/// A name for this run's release and namespace, unique enough for concurrent runs.
fn unique_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "consortia-e2e-{:x}",
        (std::process::id() ^ nanos) & 0xff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Image;
    use std::path::PathBuf;

    #[test]
    fn helm_gets_the_images_the_api_server_off_and_extra_args_last() {
        let cfg = Config {
            operator_image: Image {
                repository: "localhost:5000/consortia-operator".into(),
                tag: "e2e".into(),
            },
            node_image: Image {
                repository: "consortia-node".into(),
                tag: "e2e".into(),
            },
            node_bin: PathBuf::from("/bin/consortia-node"),
            chart: PathBuf::from("/src/charts/consortia"),
            timeout: Duration::from_secs(300),
            keep: Keep::Never,
            helm_args: vec!["--set".into(), "operator.logLevel=debug".into()],
        };
        let args = helm_install_args(&cfg, "consortia-e2e-1");
        assert_eq!(
            args.join(" "),
            "install consortia-e2e-1 /src/charts/consortia --namespace consortia-e2e-1 \
             --wait --timeout 300s --set apiServer.enabled=false --set operator.replicas=1 \
             --set operator.logFormat=text \
             --set operator.image.repository=localhost:5000/consortia-operator \
             --set operator.image.tag=e2e --set operator.image.pullPolicy=IfNotPresent \
             --set operator.nodeImage.repository=consortia-node \
             --set operator.nodeImage.tag=e2e --set operator.logLevel=debug"
        );
    }

    #[test]
    fn names_are_valid_dns_labels() {
        let name = unique_name();
        assert!(name.len() <= 53, "{name}: too long for a Helm release");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
    }
}
