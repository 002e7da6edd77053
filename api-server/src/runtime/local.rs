//! The local runtime: a chain's nodes are `consortia-node` processes on this machine.
//!
//! - Each node has a home `DATA/chains/<chain>/<node>/` with `config.json`, `genesis.json`,
//!   its data and `node.log`. Its key never touches the disk: it is written to the process's
//!   stdin (`--key /dev/stdin`) and read once at start.
//! - A supervisor task per node restarts it when it exits, with a backoff (1 s doubling to
//!   30 s, back to 1 s after a minute of running).
//! - Nodes run in their own process group, so they outlive an API server that dies; each
//!   writes `node.pid` (pid and kernel start time). `ensure` after a restart adopts a live
//!   process whose pid, start time and command line match instead of starting a second one.
//! - `remove` and `shutdown` stop nodes with SIGTERM (SIGKILL after 10 s).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow};
use consortia_engines::native::{self, Addressing, Material};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{
    ChainPlan, ChainReport, Engine, NodeReport, NodeState, Phase, Placement, Runtime, RuntimeError,
};

mod placement;

const STOP_GRACE: Duration = Duration::from_secs(10);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// The supervisor's view of one node.
#[derive(Debug)]
struct NodeInfo {
    state: NodeState,
    restarts: u32,
    pid: Option<u32>,
}

struct NodeProc {
    name: String,
    member: String,
    home: PathBuf,
    api: String,
    key: Vec<u8>,
    info: Mutex<NodeInfo>,
}

struct ChainProc {
    name: String,
    genesis_hash: String,
    nodes: Vec<Arc<NodeProc>>,
    /// Every node was up and the chain had made blocks at least once.
    ran: std::sync::atomic::AtomicBool,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

pub struct LocalRuntime {
    root: PathBuf,
    /// The node binary, or why there is none (chains then cannot start; the server can).
    node_bin: Result<PathBuf, String>,
    chains: Mutex<HashMap<Uuid, Arc<ChainProc>>>,
    http: reqwest::Client,
    /// The runtime supervisors run on: the one that built this `LocalRuntime` (the server's
    /// main runtime), never the request's. An actix worker's runtime is dropped when the
    /// HTTP server stops, and with it every task spawned there: a supervisor spawned from a
    /// request would vanish without stopping its node, leaving an orphan.
    tasks: tokio::runtime::Handle,
}

/// Finds `consortia-node`: `CONSORTIA_NODE_BIN`, else beside this executable (one build
/// produces both), else on `PATH`.
pub fn find_node_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("CONSORTIA_NODE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join("consortia-node");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("consortia-node"))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| {
            anyhow!(
                "consortia-node not found beside {} or on PATH; build it (cargo build -p consortia-node) or set CONSORTIA_NODE_BIN",
                exe.display()
            )
        })
}

impl LocalRuntime {
    /// Nodes live under `data_dir/chains`. Call it inside the runtime that outlives the
    /// HTTP server: supervisors are spawned there.
    pub fn new(data_dir: &Path, node_bin: anyhow::Result<PathBuf>) -> LocalRuntime {
        LocalRuntime {
            tasks: tokio::runtime::Handle::current(),
            root: data_dir.join("chains"),
            node_bin: node_bin.map_err(|e| format!("{e:#}")),
            chains: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("an HTTP client builds"),
        }
    }

    fn chain(&self, id: Uuid) -> Option<Arc<ChainProc>> {
        self.chains.lock().unwrap().get(&id).cloned()
    }

    async fn height(&self, api: &str) -> Option<(u64, String)> {
        let v: serde_json::Value = self
            .http
            .get(format!("{api}/v1/status"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        Some((
            v["height"].as_u64()?,
            v["genesis_hash"].as_str()?.to_string(),
        ))
    }
}

/// Writes the node's home: configuration and genesis (never the key).
fn prepare_home(
    plan: &ChainPlan,
    material: &Material,
    node: &super::NodePlan,
    home: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let ports: HashMap<&str, (u16, u16)> = plan
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), (n.p2p_port, n.api_port)))
        .collect();
    let port_of = |name: &str| ports.get(name).copied().unwrap_or((0, 0));
    let peer = |name: &str| format!("127.0.0.1:{}", port_of(name).0);
    let addressing = Addressing {
        listen_host: "127.0.0.1",
        ports: &port_of,
        peer_address: &peer,
        data_dir: "data".into(),
    };
    let cfg = native::node_config(&material.genesis, &node.name, &addressing)?;
    write_if_changed(&home.join("config.json"), &serde_json::to_vec_pretty(&cfg)?)?;
    write_if_changed(&home.join("genesis.json"), &material.genesis_json())?;
    Ok(())
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).ok().as_deref() == Some(bytes) {
        return Ok(());
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// The kernel's start time of a process (clock ticks since boot), from /proc.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn pid_file(home: &Path) -> PathBuf {
    home.join("node.pid")
}

/// A live node process started for this home earlier (by this or a previous API server).
fn adoptable(home: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(pid_file(home)).ok()?;
    let mut parts = text.split_whitespace();
    let pid: u32 = parts.next()?.parse().ok()?;
    let started: u64 = parts.next()?.parse().ok()?;
    if start_time(pid)? != started {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let home_arg = home.as_os_str().as_encoded_bytes();
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == home_arg)
        .then_some(pid)
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; only a running or sleeping process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

async fn spawn(bin: &Path, node: &NodeProc) -> anyhow::Result<tokio::process::Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node.home.join("node.log"))?;
    let mut child = tokio::process::Command::new(bin)
        .arg("run")
        .arg("--home")
        .arg(&node.home)
        .args(["--key", "/dev/stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a signal to the API server's group does not reach it, and
        // it keeps running if the API server dies.
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    stdin.write_all(&node.key).await?;
    drop(stdin);
    let pid = child.id().context("the node exited at once")?;
    let started = start_time(pid).unwrap_or(0);
    std::fs::write(pid_file(&node.home), format!("{pid} {started}\n"))?;
    Ok(child)
}

/// Keeps one node running until `stop`.
async fn supervise(bin: PathBuf, node: Arc<NodeProc>, mut stop: watch::Receiver<bool>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let began = tokio::time::Instant::now();
        // Adopt a live process from an earlier run, else start one.
        let mut child = None;
        let pid = match adoptable(&node.home) {
            Some(pid) => {
                tracing::info!(node = %node.name, pid, "adopted a running node");
                pid
            }
            None => match spawn(&bin, &node).await {
                Ok(c) => {
                    let pid = c.id().unwrap_or(0);
                    child = Some(c);
                    pid
                }
                Err(e) => {
                    tracing::error!(node = %node.name, error = %format!("{e:#}"), "could not start node");
                    0
                }
            },
        };
        {
            let mut info = node.info.lock().unwrap();
            info.pid = (pid != 0).then_some(pid);
            info.state = if pid != 0 {
                NodeState::Starting
            } else {
                NodeState::Restarting
            };
        }
        let exited = async {
            match (&mut child, pid) {
                (_, 0) => {}
                (Some(c), _) => {
                    let _ = c.wait().await;
                }
                (None, pid) => {
                    while alive(pid) {
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            }
        };
        let stopping = tokio::select! {
            _ = exited => false,
            r = stop.wait_for(|s| *s) => r.is_ok(),
        };
        if stopping {
            if pid != 0 {
                signal(pid, libc::SIGTERM);
                let deadline = tokio::time::Instant::now() + STOP_GRACE;
                while alive(pid) && tokio::time::Instant::now() < deadline {
                    if let Some(c) = &mut child
                        && c.try_wait().ok().flatten().is_some()
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if alive(pid) {
                    signal(pid, libc::SIGKILL);
                }
                if let Some(c) = &mut child {
                    let _ = c.wait().await;
                }
            }
            let _ = std::fs::remove_file(pid_file(&node.home));
            let mut info = node.info.lock().unwrap();
            info.state = NodeState::Stopped;
            info.pid = None;
            return;
        }
        let _ = std::fs::remove_file(pid_file(&node.home));
        {
            let mut info = node.info.lock().unwrap();
            info.state = NodeState::Restarting;
            info.pid = None;
            info.restarts += 1;
        }
        if began.elapsed() >= HEALTHY_AFTER {
            backoff = BACKOFF_MIN;
        }
        tracing::warn!(node = %node.name, restart_in = ?backoff, "node exited; restarting");
        let stopping = tokio::select! {
            _ = tokio::time::sleep(backoff) => false,
            r = stop.wait_for(|s| *s) => r.is_ok(),
        };
        if stopping {
            node.info.lock().unwrap().state = NodeState::Stopped;
            return;
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[async_trait::async_trait]
impl Runtime for LocalRuntime {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn supports(&self, engine: Engine) -> Result<(), RuntimeError> {
        super::native_only(engine)
    }

    async fn place(
        &self,
        chain: Uuid,
        count: usize,
        avoid: &HashSet<u16>,
    ) -> Result<Placement, RuntimeError> {
        placement::place(count, avoid).map_err(|e| {
            RuntimeError::Failed(anyhow!(e).context(format!("placing the nodes of chain {chain}")))
        })
    }

    async fn ensure(&self, plan: ChainPlan) -> Result<(), RuntimeError> {
        self.supports(plan.engine)?;
        let bin = self.node_bin.clone().map_err(RuntimeError::Unavailable)?;
        if self.chain(plan.id).is_some() {
            return Ok(());
        }
        let material = Material::from_files(&plan.material).map_err(|e| anyhow!(e))?;
        let chain_dir = self.root.join(&plan.name);
        let (stop, stop_rx) = watch::channel(false);
        let mut nodes = Vec::new();
        for n in &plan.nodes {
            let home = chain_dir.join(&n.name);
            prepare_home(&plan, &material, n, &home)?;
            let key = plan
                .material
                .get(&native::key_file_name(&n.name))
                .cloned()
                .ok_or_else(|| anyhow!("no key for node {}", n.name))?;
            nodes.push(Arc::new(NodeProc {
                name: n.name.clone(),
                member: n.member.clone(),
                home,
                api: format!("http://127.0.0.1:{}", n.api_port),
                key,
                info: Mutex::new(NodeInfo {
                    state: NodeState::Starting,
                    restarts: 0,
                    pid: None,
                }),
            }));
        }
        let chain = Arc::new(ChainProc {
            name: plan.name.clone(),
            genesis_hash: material.genesis_hash(),
            nodes,
            ran: Default::default(),
            stop,
            tasks: Mutex::new(Vec::new()),
        });
        {
            let mut chains = self.chains.lock().unwrap();
            if chains.contains_key(&plan.id) {
                return Ok(());
            }
            chains.insert(plan.id, chain.clone());
        }
        let tasks: Vec<JoinHandle<()>> = chain
            .nodes
            .iter()
            .map(|n| {
                self.tasks
                    .spawn(supervise(bin.clone(), n.clone(), stop_rx.clone()))
            })
            .collect();
        *chain.tasks.lock().unwrap() = tasks;
        tracing::info!(chain = %plan.name, nodes = plan.nodes.len(), "chain started on the local runtime");
        Ok(())
    }

    async fn report(&self, id: Uuid) -> ChainReport {
        let Some(chain) = self.chain(id) else {
            return ChainReport {
                phase: Phase::Stopped,
                height: None,
                genesis_hash: None,
                message: Some("not running on this server".into()),
                nodes: Vec::new(),
            };
        };
        let mut nodes = Vec::new();
        let mut height = None;
        for n in &chain.nodes {
            let (state, restarts) = {
                let i = n.info.lock().unwrap();
                (i.state, i.restarts)
            };
            let probed = if matches!(state, NodeState::Starting | NodeState::Running) {
                self.height(&n.api).await
            } else {
                None
            };
            let state = match (state, &probed) {
                (NodeState::Starting | NodeState::Running, Some(_)) => NodeState::Running,
                (NodeState::Running, None) => NodeState::Starting,
                (s, _) => s,
            };
            if let Some((h, _)) = &probed {
                height = Some(height.map_or(*h, |x: u64| x.max(*h)));
            }
            nodes.push(NodeReport {
                name: n.name.clone(),
                member: n.member.clone(),
                state,
                restarts,
                height: probed.map(|p| p.0),
                endpoint: Some(n.api.clone()),
            });
        }
        let running = nodes
            .iter()
            .filter(|n| n.state == NodeState::Running)
            .count();
        let ran = &chain.ran;
        let phase = if running == nodes.len() && height.is_some_and(|h| h > 0) {
            ran.store(true, std::sync::atomic::Ordering::Relaxed);
            Phase::Running
        } else if ran.load(std::sync::atomic::Ordering::Relaxed) {
            Phase::Degraded
        } else {
            Phase::Provisioning
        };
        ChainReport {
            phase,
            height,
            genesis_hash: Some(chain.genesis_hash.clone()),
            message: (phase != Phase::Running)
                .then(|| format!("{running}/{} nodes running", nodes.len())),
            nodes,
        }
    }

    async fn endpoints(&self, id: Uuid) -> Vec<String> {
        let Some(chain) = self.chain(id) else {
            return Vec::new();
        };
        chain
            .nodes
            .iter()
            .filter(|n| n.info.lock().unwrap().pid.is_some())
            .map(|n| n.api.clone())
            .collect()
    }

    async fn remove(&self, id: Uuid, name: &str, keep_data: bool) -> Result<(), RuntimeError> {
        let chain = self.chains.lock().unwrap().remove(&id);
        if let Some(chain) = chain {
            // On the server's runtime: a request dropped mid-way (client gone, shutdown
            // timeout) must not leave the supervisors half-stopped and out of every map.
            let stopping = self.tasks.spawn(async move { stop_chain(&chain).await });
            if let Err(e) = stopping.await {
                tracing::error!(chain = %name, error = %e, "stopping the chain did not finish");
            }
        } else {
            // Not supervised by this server (e.g. removed before a restart): stop any
            // process still running from its homes.
            let dir = self.root.join(name);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten() {
                    if let Some(pid) = adoptable(&e.path()) {
                        signal(pid, libc::SIGTERM);
                    }
                }
            }
        }
        if !keep_data {
            let dir = self.root.join(name);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
        }
        Ok(())
    }

    async fn shutdown(&self) {
        let chains: Vec<Arc<ChainProc>> = self
            .chains
            .lock()
            .unwrap()
            .drain()
            .map(|(_, c)| c)
            .collect();
        for c in chains {
            stop_chain(&c).await;
        }
    }
}

async fn stop_chain(chain: &ChainProc) {
    let _ = chain.stop.send(true);
    let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *chain.tasks.lock().unwrap());
    for t in tasks {
        if let Err(e) = t.await {
            tracing::error!(chain = %chain.name, error = %e, "a node supervisor did not finish cleanly");
        }
    }
    tracing::info!(chain = %chain.name, "chain stopped");
}
