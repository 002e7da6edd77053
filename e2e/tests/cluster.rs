//! The real-cluster suite: the chart's operator provisions native chains, a deposit made
//! through the client Service yields a receipt that verifies offline, and deleting a chain
//! removes or keeps its volumes and keys as its retainPolicy says.
//!
//! Skipped (with a loud message) when `KUBECONFIG` is unset or empty; see e2e/README.md.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use consortia_e2e::chain::{
    self, CLIENT_ACCOUNT, CLIENT_API_PORT, ChainPlan, RetainPolicy, Running,
};
use consortia_e2e::config::{Config, SKIP_MESSAGE};
use consortia_e2e::evidence::{self, Depositor};
use consortia_e2e::kubectl::{Kubectl, kind_and_name};
use consortia_e2e::node_cli::NodeCli;
use consortia_e2e::port_forward::PortForward;
use consortia_e2e::release::Release;
use consortia_e2e::{step, wait};
use serde_json::Value;

/// Kinds the operator may label with `consortia.dev/chain=<name>`; none may outlive a
/// chain deleted with retainPolicy Delete.
const CHAIN_KINDS: &str = "statefulsets,pods,services,configmaps,secrets,\
                           persistentvolumeclaims,poddisruptionbudgets,networkpolicies,\
                           serviceaccounts";

#[test]
fn chains_run_take_deposits_and_clean_up_on_a_real_cluster() {
    let cfg = match Config::from_env() {
        Ok(Some(cfg)) => cfg,
        Ok(None) => return eprintln!("{SKIP_MESSAGE}"),
        Err(e) => panic!("{e:#}"),
    };
    let release = match Release::install(&cfg) {
        Ok(release) => release,
        Err(e) => panic!("installing the chart failed: {e:#}"),
    };
    if let Err(e) = release.mark_failed_if_err(scenario(&cfg, &release)) {
        // Diagnostics and cleanup first, so the reason is the last thing in the log.
        drop(release);
        panic!("{e:#}");
    }
}

fn scenario(cfg: &Config, release: &Release) -> Result<()> {
    let k = release.kubectl();
    let evidence = ChainPlan::new(
        "evidence",
        &[("org1", 2), ("org2", 2)],
        RetainPolicy::Delete,
    );
    let archive = ChainPlan::new("archive", &[("org1", 1)], RetainPolicy::Retain);

    step("create a 4-validator chain (retainPolicy Delete) and a 1-validator one (Retain)");
    k.apply(&evidence.manifest())?;
    k.apply(&archive.manifest())?;
    let running = wait_until_running(k, &evidence, cfg.timeout)?;
    wait_until_running(k, &archive, cfg.timeout)?;

    step("the operator made the chain's workloads, volumes and keys");
    expect_present(k, &evidence.owned_objects())?;
    expect_volumes(k, &evidence)?;
    let dir = tempfile::tempdir()?;
    let files = fetch_keys(k, &evidence, dir.path())?;

    step("deposit a hash through the client Service; verify the receipt offline");
    deposit_and_verify(cfg, k, &evidence, &running, &files)?;

    step("delete the chain with retainPolicy Delete: nothing of it stays");
    delete_chain(k, &evidence, cfg.timeout)?;
    expect_all_gone(k, &evidence, cfg.timeout)?;

    step("delete the chain with retainPolicy Retain: its volumes and keys stay");
    delete_chain(k, &archive, cfg.timeout)?;
    expect_retained(k, &archive, cfg.timeout)?;
    remove_retained(k, &archive, cfg.timeout)
}

fn wait_until_running(k: &Kubectl, chain: &ChainPlan, timeout: Duration) -> Result<Running> {
    let object = format!("chain/{}", chain.name);
    wait::until(
        &format!("{object} to be Running and Ready with a block"),
        timeout,
        || chain::running(&k.get(&object)?.context("the Chain does not exist")?),
    )
}

/// The subset of `objects` (`kind/name`) that exist.
fn present(k: &Kubectl, objects: &[String]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for o in objects {
        if k.get(o)?.is_some() {
            found.push(o.clone());
        }
    }
    Ok(found)
}

fn expect_present(k: &Kubectl, objects: &[String]) -> Result<()> {
    let found = present(k, objects)?;
    let missing: Vec<_> = objects.iter().filter(|o| !found.contains(o)).collect();
    ensure!(
        missing.is_empty(),
        "expected the operator to create {objects:?}; missing {missing:?}"
    );
    Ok(())
}

/// Volume claims of the chain that are not being deleted.
fn live_volumes(k: &Kubectl, chain: &ChainPlan) -> Result<Vec<String>> {
    Ok(k.list_objects("persistentvolumeclaims", &chain.selector())?
        .iter()
        .filter(|pvc| pvc["metadata"]["deletionTimestamp"].is_null())
        .map(kind_and_name)
        .collect())
}

fn expect_volumes(k: &Kubectl, chain: &ChainPlan) -> Result<()> {
    let volumes = live_volumes(k, chain)?;
    ensure!(
        volumes.len() >= chain.validators(),
        "expected a volume claim labelled {} per node ({}), found {volumes:?}",
        chain.selector(),
        chain.validators()
    );
    Ok(())
}

/// Where the chain's genesis and the client account's key were saved.
struct KeyFiles {
    genesis: PathBuf,
    client_key: PathBuf,
    dir: PathBuf,
}

fn fetch_keys(k: &Kubectl, chain: &ChainPlan, dir: &Path) -> Result<KeyFiles> {
    let secret = chain.keys_secret();
    let entries = k.secret_entries(&secret)?;
    let missing: Vec<_> = chain
        .expected_key_entries()
        .into_iter()
        .filter(|e| !entries.contains(e))
        .collect();
    ensure!(
        missing.is_empty(),
        "expected Secret {secret} to hold {missing:?} too; it holds {entries:?}"
    );
    let files = KeyFiles {
        genesis: dir.join("genesis.json"),
        client_key: dir.join("client.json"),
        dir: dir.to_path_buf(),
    };
    std::fs::write(&files.genesis, k.secret_entry(&secret, "genesis.json")?)?;
    write_private(&files.client_key, &k.secret_entry(&secret, "client.json")?)?;
    Ok(files)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn deposit_and_verify(
    cfg: &Config,
    k: &Kubectl,
    chain: &ChainPlan,
    running: &Running,
    files: &KeyFiles,
) -> Result<()> {
    let service = format!("svc/{}", chain.client_service());
    let forward = PortForward::start(k, &service, CLIENT_API_PORT)?;
    let node = NodeCli::new(&cfg.node_bin);
    let status = wait::until(
        &format!("the node API of {service}"),
        Duration::from_secs(60),
        || node.status(&forward.url),
    )?;
    expect_node_runs_the_chain(&status, chain, running)?;
    let depositor = Depositor {
        account: CLIENT_ACCOUNT,
        key: &files.client_key,
    };
    evidence::round_trip(&node, &forward.url, &depositor, &files.genesis, &files.dir)?;
    Ok(())
}

/// The node behind the client Service runs the chain the Chain's status describes.
fn expect_node_runs_the_chain(status: &Value, chain: &ChainPlan, running: &Running) -> Result<()> {
    let node_genesis = status["genesis_hash"].as_str().unwrap_or("none");
    ensure!(
        node_genesis.eq_ignore_ascii_case(&running.genesis_hash),
        "expected the node's genesis hash to be the Chain's status.genesisHash {}, the node \
         reports {node_genesis}",
        running.genesis_hash
    );
    let validators = status["validators"].as_array().map_or(0, Vec::len);
    ensure!(
        validators == chain.validators(),
        "expected {} validators in the genesis, the node reports {validators}",
        chain.validators()
    );
    Ok(())
}

/// Deletes the Chain and waits until its finalizer has been released and it is gone.
fn delete_chain(k: &Kubectl, chain: &ChainPlan, timeout: Duration) -> Result<()> {
    let object = format!("chain/{}", chain.name);
    let current = k
        .get(&object)?
        .context("the Chain to delete does not exist")?;
    let finalizers = &current["metadata"]["finalizers"];
    ensure!(
        finalizers.as_array().is_some_and(|f| !f.is_empty()),
        "expected the operator to put a finalizer on {object} (it applies the retainPolicy), \
         metadata.finalizers is {finalizers}"
    );
    k.run_logged(&["delete", &object, "--wait=false"])?;
    wait::until(
        &format!("{object} to be gone (finalizer released)"),
        timeout,
        || match k.get(&object)? {
            None => Ok(()),
            Some(c) => bail!(
                "still there with finalizers {}",
                c["metadata"]["finalizers"]
            ),
        },
    )
}

/// Nothing of the chain stays: owned objects, labelled objects, volumes, keys.
fn expect_all_gone(k: &Kubectl, chain: &ChainPlan, timeout: Duration) -> Result<()> {
    let mut named = chain.owned_objects();
    named.push(format!("secret/{}", chain.keys_secret()));
    wait::until(
        &format!(
            "every object, volume and key of {} to be deleted",
            chain.name
        ),
        timeout,
        || {
            let mut left = present(k, &named)?;
            left.extend(k.list(CHAIN_KINDS, &chain.selector())?);
            if left.is_empty() {
                Ok(())
            } else {
                bail!("still present: {}", left.join(", "))
            }
        },
    )
}

/// Workloads go (owner references) but volumes and keys stay.
fn expect_retained(k: &Kubectl, chain: &ChainPlan, timeout: Duration) -> Result<()> {
    wait::until(
        &format!("the workloads and pods of {} to be deleted", chain.name),
        timeout,
        || {
            let mut left = present(k, &chain.owned_objects())?;
            left.extend(k.list("pods", &chain.selector())?);
            if left.is_empty() {
                Ok(())
            } else {
                bail!("still present: {}", left.join(", "))
            }
        },
    )?;
    let volumes = live_volumes(k, chain)?;
    ensure!(
        volumes.len() >= chain.validators(),
        "expected retainPolicy Retain to keep a volume claim labelled {} per node ({}), found \
         {volumes:?} not being deleted",
        chain.selector(),
        chain.validators()
    );
    let secret = format!("secret/{}", chain.keys_secret());
    let kept = k.get(&secret)?;
    ensure!(
        kept.as_ref()
            .is_some_and(|s| s["metadata"]["deletionTimestamp"].is_null()),
        "expected retainPolicy Retain to keep {secret}, it is {}",
        if kept.is_some() {
            "being deleted"
        } else {
            "gone"
        }
    );
    Ok(())
}

/// What Retain kept is the user's to remove; the suite does so and checks it went.
fn remove_retained(k: &Kubectl, chain: &ChainPlan, timeout: Duration) -> Result<()> {
    let selector = chain.selector();
    let secret = format!("secret/{}", chain.keys_secret());
    k.run_logged(&["delete", "persistentvolumeclaims", "--selector", &selector])?;
    k.run_logged(&["delete", &secret])?;
    wait::until(
        &format!(
            "the retained volumes and keys of {} to be removed",
            chain.name
        ),
        timeout,
        || {
            let mut left = k.list("persistentvolumeclaims", &selector)?;
            left.extend(present(k, std::slice::from_ref(&secret))?);
            if left.is_empty() {
                Ok(())
            } else {
                bail!("still present: {}", left.join(", "))
            }
        },
    )
}
