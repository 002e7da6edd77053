//! `consortia-node`: run a native-chain node, set up networks, and act as a client.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use consortia_bft::{Validator, ValidatorSet};
use consortia_node::client::Client;
use consortia_node::genesis::{Genesis, GenesisAccount, Params};
use consortia_node::tx::{HashAlg, Op, SignedTx, Tx, WeightedKey};
use consortia_node::{bench, keys, testnet};
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Parser)]
#[command(
    name = "consortia-node",
    version,
    about = "Consortia native chain node and client"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate an ed25519 key pair (validator or account key).
    Keygen {
        /// Write the key file here (mode 0600); without it only the public key is printed
        /// and the secret is discarded.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write a genesis file from validator keys, initial accounts and parameters.
    Genesis(GenesisArgs),
    /// Generate a local network: keys, genesis and a home directory per node.
    Testnet {
        #[arg(long)]
        validators: usize,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "consortia-local")]
        chain_id: String,
        /// First port (each node takes two); default: free ports.
        #[arg(long)]
        base_port: Option<u16>,
        /// Client accounts to create (key files in DIR/accounts).
        #[arg(long, default_value_t = 4)]
        accounts: usize,
        /// Chain parameters as JSON (see the README); defaults otherwise.
        #[arg(long)]
        params: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Run a node from its home directory: a validator, or with --observe an observer
    /// (read-only; follows the chain from other nodes' REST APIs and needs no key).
    Run {
        /// Home directory: the data directory is resolved against it, and the files below
        /// are read from it unless given.
        #[arg(long)]
        home: PathBuf,
        /// Node configuration (default HOME/config.json).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Genesis file (default HOME/genesis.json).
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Node key file (default HOME/node_key.json); validators only.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Run as an observer following the node whose REST API is at this base URL (e.g.
        /// http://validators.ns.svc:26657); repeat to give alternatives, tried in turn on
        /// failure. Every block is verified against the genesis validators before it is stored.
        #[arg(long = "observe", value_name = "URL")]
        observe: Vec<String>,
    },
    /// Deposit evidence: record a content hash on the chain.
    Deposit {
        #[command(flatten)]
        c: ClientArgs,
        /// SHA-256 of the content, as hex.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        content_hash: Option<String>,
        /// Hash this file instead.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, default_value = "")]
        metadata: String,
        #[arg(long)]
        external_id: Option<String>,
    },
    /// Account operations.
    Account {
        #[command(subcommand)]
        op: AccountCmd,
    },
    /// Read from a node.
    Query {
        #[arg(long, default_value = "http://127.0.0.1:26657")]
        node: String,
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        what: QueryCmd,
    },
    /// Verify a receipt offline against a genesis file.
    VerifyReceipt {
        #[arg(long)]
        genesis: PathBuf,
        receipt: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Load generator: drive deposits against a running network.
    Bench {
        /// Node API URLs; load is spread over them.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        /// Directory of account key files named ID.json (testnet's DIR/accounts).
        #[arg(long)]
        accounts: PathBuf,
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Target send rate (tx/s); default: as fast as accepted.
        #[arg(long)]
        rate: Option<u64>,
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        #[arg(long, default_value_t = 4)]
        workers: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct GenesisArgs {
    #[arg(long)]
    chain_id: String,
    /// NAME=PUBKEY_HEX[:POWER], once per validator.
    #[arg(long = "validator", required = true)]
    validators: Vec<String>,
    /// ID=PUBKEY[,PUBKEY...][@THRESHOLD][#RECOVERY_PUBKEY], once per account.
    #[arg(long = "account")]
    accounts: Vec<String>,
    #[arg(long)]
    params: Option<PathBuf>,
    /// Unix milliseconds (default: now).
    #[arg(long)]
    genesis_time_ms: Option<u64>,
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Args, Clone)]
struct ClientArgs {
    /// Node API URL.
    #[arg(long, default_value = "http://127.0.0.1:26657")]
    node: String,
    /// The acting account.
    #[arg(long)]
    account: String,
    /// Key file(s) to sign with.
    #[arg(long = "key", required = true)]
    keys: Vec<PathBuf>,
    /// Blocks from now until the transaction expires.
    #[arg(long, default_value_t = 1000)]
    ttl_blocks: u64,
    /// Wait for the commit and print the receipt.
    #[arg(long)]
    wait: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account (paid by --account).
    Create {
        #[command(flatten)]
        c: ClientArgs,
        #[arg(long)]
        id: String,
        /// PUBKEY[:WEIGHT], once per key.
        #[arg(long = "new-key", required = true)]
        new_keys: Vec<String>,
        #[arg(long, default_value_t = 1)]
        threshold: u32,
        #[arg(long)]
        recovery_key: Option<String>,
    },
    AddKey {
        #[command(flatten)]
        c: ClientArgs,
        /// PUBKEY[:WEIGHT]
        #[arg(long = "new-key")]
        new_key: String,
    },
    RemoveKey {
        #[command(flatten)]
        c: ClientArgs,
        #[arg(long)]
        public_key: String,
    },
    SetThreshold {
        #[command(flatten)]
        c: ClientArgs,
        #[arg(long)]
        threshold: u32,
    },
    SetRecoveryKey {
        #[command(flatten)]
        c: ClientArgs,
        /// Omit to clear the recovery key.
        #[arg(long)]
        recovery_key: Option<String>,
    },
    /// Replace every key (sign with the recovery key).
    Recover {
        #[command(flatten)]
        c: ClientArgs,
        #[arg(long = "new-key", required = true)]
        new_keys: Vec<String>,
        #[arg(long, default_value_t = 1)]
        threshold: u32,
    },
}

#[derive(Subcommand)]
enum QueryCmd {
    Status,
    /// A block by height (default: the latest).
    Block {
        height: Option<u64>,
    },
    Tx {
        hash: String,
    },
    Receipt {
        hash: String,
        /// Also write the receipt to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    Account {
        id: String,
    },
    /// Deposits of a content hash.
    Deposits {
        content_hash: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONSORTIA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli.cmd)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print(json_out: bool, v: &serde_json::Value, text: impl FnOnce() -> String) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
    } else {
        println!("{}", text());
    }
}

fn weighted(s: &str) -> Result<WeightedKey> {
    let (k, w) = match s.split_once(':') {
        Some((k, w)) => (k, w.parse().with_context(|| format!("weight in {s:?}"))?),
        None => (s, 1),
    };
    Ok(WeightedKey {
        public_key: keys::parse_public(k)?,
        weight: w,
    })
}

async fn dispatch(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Keygen { out, json } => {
            let k = keys::generate();
            let public = hex::encode(k.verifying_key().to_bytes());
            if let Some(p) = &out {
                keys::save(p, &k)?;
            }
            print(
                json,
                &json!({"public_key": public, "key_file": out}),
                || match &out {
                    Some(p) => format!("public key {public}\nkey file   {}", p.display()),
                    None => format!("public key {public} (secret discarded: use --out to keep it)"),
                },
            );
        }
        Cmd::Genesis(a) => genesis_cmd(a)?,
        Cmd::Testnet {
            validators,
            dir,
            chain_id,
            base_port,
            accounts,
            params,
            json,
        } => {
            let params = match params {
                Some(p) => serde_json::from_slice(&std::fs::read(&p)?)
                    .with_context(|| format!("{} is not a parameters file", p.display()))?,
                None => Params::default(),
            };
            let s = testnet::generate(
                &dir,
                &testnet::TestnetSpec {
                    validators,
                    chain_id,
                    base_port,
                    accounts,
                    params,
                },
            )?;
            print(json, &serde_json::to_value(&s)?, || {
                let mut t = format!(
                    "chain {} genesis {} ({})\n",
                    s.chain_id,
                    s.genesis.display(),
                    s.genesis_hash
                );
                for n in &s.nodes {
                    t += &format!("  {}  api {}  p2p {}\n", n.home.display(), n.api, n.p2p);
                }
                t += &format!("accounts: {}", s.accounts.join(", "));
                t
            });
        }
        Cmd::Run {
            home,
            config,
            genesis,
            key,
            observe,
        } => {
            consortia_node::node::run(&consortia_node::node::RunPaths {
                home,
                config,
                genesis,
                key,
                observe,
            })
            .await?
        }
        Cmd::Deposit {
            c,
            content_hash,
            file,
            metadata,
            external_id,
        } => {
            let content_hash = match (content_hash, file) {
                (Some(h), _) => hex::decode(h.trim()).context("--content-hash must be hex")?,
                (None, Some(f)) => Sha256::digest(
                    std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?,
                )
                .to_vec(),
                (None, None) => bail!("give --content-hash or --file"),
            };
            return send(
                &c,
                Op::Deposit {
                    hash_alg: HashAlg::Sha256,
                    content_hash,
                    metadata,
                    external_id,
                },
            )
            .await;
        }
        Cmd::Account { op } => {
            let (c, op) = match op {
                AccountCmd::Create {
                    c,
                    id,
                    new_keys,
                    threshold,
                    recovery_key,
                } => (
                    c,
                    Op::CreateAccount {
                        id,
                        keys: new_keys
                            .iter()
                            .map(|k| weighted(k))
                            .collect::<Result<_>>()?,
                        threshold,
                        recovery_key: recovery_key.map(|k| keys::parse_public(&k)).transpose()?,
                    },
                ),
                AccountCmd::AddKey { c, new_key } => (
                    c,
                    Op::AddKey {
                        key: weighted(&new_key)?,
                    },
                ),
                AccountCmd::RemoveKey { c, public_key } => (
                    c,
                    Op::RemoveKey {
                        public_key: keys::parse_public(&public_key)?,
                    },
                ),
                AccountCmd::SetThreshold { c, threshold } => (c, Op::SetThreshold { threshold }),
                AccountCmd::SetRecoveryKey { c, recovery_key } => (
                    c,
                    Op::SetRecoveryKey {
                        recovery_key: recovery_key.map(|k| keys::parse_public(&k)).transpose()?,
                    },
                ),
                AccountCmd::Recover {
                    c,
                    new_keys,
                    threshold,
                } => (
                    c,
                    Op::Recover {
                        keys: new_keys
                            .iter()
                            .map(|k| weighted(k))
                            .collect::<Result<_>>()?,
                        threshold,
                    },
                ),
            };
            return send(&c, op).await;
        }
        Cmd::Query { node, json, what } => {
            let client = Client::new(&node)?;
            let v = match what {
                QueryCmd::Status => client.status().await?,
                QueryCmd::Block { height } => client.block(height).await?,
                QueryCmd::Tx { hash } => client.tx(&hash).await?,
                QueryCmd::Receipt { hash, out } => {
                    let r = client.receipt(&hash).await?;
                    if let Some(p) = out {
                        std::fs::write(&p, serde_json::to_vec_pretty(&r)?)?;
                    }
                    serde_json::to_value(r)?
                }
                QueryCmd::Account { id } => serde_json::to_value(client.account(&id).await?)?,
                QueryCmd::Deposits { content_hash } => client.deposits(&content_hash).await?,
            };
            // Queries are data: JSON either way, pretty when not asked for --json.
            if json {
                println!("{}", serde_json::to_string(&v)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&v)?);
            }
        }
        Cmd::VerifyReceipt {
            genesis,
            receipt: path,
            json,
        } => {
            let g = Genesis::load(&genesis)?;
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let verdict = consortia_chain::verdict::check(&g, &bytes);
            print(json, &verdict.to_json(), || verdict.text());
            if !verdict.is_valid() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Cmd::Bench {
            nodes,
            accounts,
            duration,
            rate,
            batch,
            workers,
            json,
        } => {
            let report = bench::run(bench::BenchOptions {
                nodes,
                accounts_dir: accounts,
                duration: Duration::from_secs(duration),
                rate,
                batch,
                workers,
                drain: Duration::from_secs(30),
            })
            .await?;
            print(json, &serde_json::to_value(&report)?, || report.text());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn genesis_cmd(a: GenesisArgs) -> Result<()> {
    let mut validators = Vec::new();
    for v in &a.validators {
        let (name, rest) = v
            .split_once('=')
            .with_context(|| format!("--validator {v:?}: expected NAME=PUBKEY[:POWER]"))?;
        let (key, power) = match rest.split_once(':') {
            Some((k, p)) => (k, p.parse().with_context(|| format!("power in {v:?}"))?),
            None => (rest, 1),
        };
        validators.push(Validator {
            name: name.to_string(),
            public_key: keys::parse_public(key)?,
            power,
        });
    }
    let validators = ValidatorSet::new(validators).context("validator set")?;
    let mut accounts = Vec::new();
    for s in &a.accounts {
        let (id, rest) = s.split_once('=').with_context(|| {
            format!("--account {s:?}: expected ID=PUBKEY[,PUBKEY][@THRESHOLD][#RECOVERY]")
        })?;
        let (rest, recovery) = match rest.split_once('#') {
            Some((r, k)) => (r, Some(keys::parse_public(k)?)),
            None => (rest, None),
        };
        let (ks, threshold) = match rest.split_once('@') {
            Some((k, t)) => (k, t.parse().with_context(|| format!("threshold in {s:?}"))?),
            None => (rest, 1),
        };
        accounts.push(GenesisAccount {
            id: id.to_string(),
            keys: ks.split(',').map(weighted).collect::<Result<_>>()?,
            threshold,
            recovery_key: recovery,
        });
    }
    let params = match &a.params {
        Some(p) => serde_json::from_slice(&std::fs::read(p)?)
            .with_context(|| format!("{} is not a parameters file", p.display()))?,
        None => Params::default(),
    };
    let g = Genesis {
        chain_id: a.chain_id,
        genesis_time_ms: a.genesis_time_ms.unwrap_or_else(consortia_node::now_ms),
        validators,
        accounts,
        params,
    };
    g.validate()?;
    let text = serde_json::to_string_pretty(&g)?;
    match &a.out {
        Some(p) => {
            std::fs::write(p, &text).with_context(|| format!("writing {}", p.display()))?;
            print(
                a.json,
                &json!({"genesis": p, "genesis_hash": hex::encode(g.hash())}),
                || {
                    format!(
                        "wrote {} (genesis hash {})",
                        p.display(),
                        hex::encode(g.hash())
                    )
                },
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// Builds, signs and submits a transaction for the acting account.
async fn send(c: &ClientArgs, op: Op) -> Result<ExitCode> {
    let client = Client::new(&c.node)?;
    let status = client.status().await?;
    let chain_id = status["chain_id"]
        .as_str()
        .context("status without chain_id")?;
    let height = status["height"].as_u64().unwrap_or(0);
    let signers: Vec<_> = c
        .keys
        .iter()
        .map(|p| keys::load(p))
        .collect::<Result<_>>()?;
    let acct = client
        .account(&c.account)
        .await
        .with_context(|| format!("looking up account {}", c.account))?;
    let tx = Tx {
        chain_id: chain_id.to_string(),
        account: c.account.clone(),
        nonce: acct.nonce + 1,
        expiry_height: height + c.ttl_blocks,
        op,
    };
    let signed: SignedTx = tx.sign(&signers.iter().collect::<Vec<_>>());
    let hash = client.submit(&signed).await?;
    if !c.wait {
        print(
            c.json,
            &json!({"tx_hash": hash, "status": "pending"}),
            || format!("submitted {hash} (pending)"),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let r = client.wait_receipt(&hash, Duration::from_secs(60)).await?;
    print(c.json, &serde_json::to_value(&r)?, || {
        format!(
            "committed {hash} in block {} at index {}",
            r.height, r.index
        )
    });
    Ok(ExitCode::SUCCESS)
}
