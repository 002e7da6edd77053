//! `kubectl` bound to the suite's namespace. `KUBECONFIG` reaches it through the environment.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::process;

/// `kubectl --namespace NS ...`.
#[derive(Clone, Debug)]
pub struct Kubectl {
    namespace: String,
}

impl Kubectl {
    pub fn new(namespace: &str) -> Self {
        Kubectl {
            namespace: namespace.to_string(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A `kubectl` command in the namespace, to add arguments to.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--namespace").arg(&self.namespace).args(args);
        cmd
    }

    /// Runs quietly and returns stdout (for polls and reads).
    pub fn run(&self, args: &[&str]) -> Result<String> {
        process::run(&mut self.command(args), None)
    }

    /// Runs with the command line logged (for steps that change the cluster).
    pub fn run_logged(&self, args: &[&str]) -> Result<String> {
        process::run_logged(&mut self.command(args))
    }

    /// `kubectl apply` of one object.
    pub fn apply(&self, manifest: &Value) -> Result<()> {
        let mut cmd = self.command(&["apply", "-f", "-"]);
        eprintln!("+ {} <<< {manifest}", process::show(&cmd));
        process::run(&mut cmd, Some(manifest.to_string().as_bytes()))?;
        Ok(())
    }

    /// The object `kind/name` as JSON, `None` when it does not exist.
    pub fn get(&self, object: &str) -> Result<Option<Value>> {
        let out = self.run(&["get", object, "--ignore-not-found", "--output", "json"])?;
        if out.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&out)
            .map(Some)
            .with_context(|| format!("`kubectl get {object}` did not print JSON"))
    }

    /// Objects of `kinds` (comma-separated) matching `selector`, as JSON.
    pub fn list_objects(&self, kinds: &str, selector: &str) -> Result<Vec<Value>> {
        let out = self.run(&["get", kinds, "--selector", selector, "--output", "json"])?;
        let mut list: Value = serde_json::from_str(&out)
            .with_context(|| format!("`kubectl get {kinds}` did not print JSON"))?;
        Ok(match list["items"].take() {
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// Objects of `kinds` (comma-separated) matching `selector`, as `Kind/name`.
    pub fn list(&self, kinds: &str, selector: &str) -> Result<Vec<String>> {
        Ok(self
            .list_objects(kinds, selector)?
            .iter()
            .map(kind_and_name)
            .collect())
    }

    /// Names of the entries of a Secret (never their values: they hold private keys).
    pub fn secret_entries(&self, secret: &str) -> Result<Vec<String>> {
        let object = self
            .get(&format!("secret/{secret}"))?
            .with_context(|| format!("expected Secret {secret}, it does not exist"))?;
        let mut names: Vec<String> = object["data"]
            .as_object()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }

    /// One entry of a Secret, decoded by kubectl itself. A failure reports no output: when
    /// a template fails, kubectl prints the whole object, private keys included.
    pub fn secret_entry(&self, secret: &str, entry: &str) -> Result<String> {
        let entries = self.secret_entries(secret)?;
        if !entries.iter().any(|e| e == entry) {
            bail!("expected entry {entry} in Secret {secret}, it holds {entries:?}");
        }
        if entry.contains('"') || entry.contains('\\') {
            bail!("secret entry name {entry:?} cannot go into a template");
        }
        let template = format!(r#"go-template={{{{index .data "{entry}" | base64decode}}}}"#);
        let object = format!("secret/{secret}");
        let out = process::output(
            &mut self.command(&["get", &object, "--output", &template]),
            None,
        )?;
        if !out.status.success() {
            bail!(
                "`kubectl get {object}` could not decode {entry} ({}); its output is withheld \
                 because it holds private keys",
                out.status
            );
        }
        String::from_utf8(out.stdout).with_context(|| format!("{entry} of {secret} is not UTF-8"))
    }
}

/// `Kind/name` of an object, for messages.
pub fn kind_and_name(object: &Value) -> String {
    format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["name"].as_str().unwrap_or("?")
    )
}
