//! `consortia-operator`: reconciles `Chain` resources into running consortium chains.
//!
//! - `consortia-operator crd` prints every CustomResourceDefinition (the committed
//!   `crds/*.yaml` is that output);
//! - `consortia-operator run` runs the controller: leader election with a Lease, metrics and
//!   health on `--listen`, OTLP traces when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, graceful
//!   shutdown on SIGTERM (in-flight reconciles finish, the Lease is released).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use consortia_crds::Chain;
use consortia_operator::controller::{self, Context};
use consortia_operator::leader::{self, LeaseLock, LeaseSettings};
use consortia_operator::metrics::Metrics;
use consortia_operator::probe::HttpProbe;
use consortia_operator::resources::{MANAGER, Settings};
use consortia_operator::serve::{self, Health};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::runtime::{Controller, WatchStreamExt, predicates, reflector, watcher};
use kube::runtime::{Predicate, PredicateConfig};
use kube::{Api, Client};
use tokio::sync::watch;

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

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Print every CustomResourceDefinition as YAML (apply with `kubectl apply -f -`).
    Crd,
    /// Run the controller.
    Run(RunArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(
        long,
        env = "CONSORTIA_OPERATOR_LISTEN",
        default_value = "0.0.0.0:8080"
    )]
    listen: SocketAddr,
    /// Watch Chains of this namespace only (default: every namespace).
    #[arg(long, env = "CONSORTIA_OPERATOR_NAMESPACE")]
    namespace: Option<String>,
    /// Node image used when a Chain names none; a Chain's `spec.version` replaces its tag.
    #[arg(long, env = "CONSORTIA_NODE_IMAGE")]
    node_image: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(
        long,
        env = "CONSORTIA_OPERATOR_LEASE",
        default_value = "consortia-operator"
    )]
    lease_name: String,
    /// Namespace of the Lease (in a pod: its own namespace, from the downward API).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// This replica's identity in the Lease (in a pod: its name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Log line format.
    #[arg(long, env = "CONSORTIA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            print!("{}", consortia_operator::crd_yaml()?);
            Ok(())
        }
        Command::Run(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run(args)),
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let _telemetry = consortia_telemetry::init(
        "consortia-operator",
        match args.log_format {
            LogFormat::Text => consortia_telemetry::Format::Text,
            LogFormat::Json => consortia_telemetry::Format::Json,
        },
    )?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let health = serve::router(Health {
        metrics: metrics.clone(),
        ready: ready.clone(),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, health).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });

    let client = Client::try_default()
        .await
        .context("no Kubernetes configuration (in-cluster or KUBECONFIG)")?;
    let version = client
        .apiserver_version()
        .await
        .context("reaching the Kubernetes API")?;
    tracing::info!(kubernetes = %version.git_version, "connected to the Kubernetes API");
    ready.store(true, Ordering::Relaxed);

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing reconciles in flight");
        let _ = stop_tx.send(true);
    });

    let identity = args
        .identity
        .clone()
        .unwrap_or_else(|| format!("{MANAGER}-{}", std::process::id()));
    let lock = LeaseLock::new(
        Api::namespaced(client.clone(), &args.lease_namespace),
        LeaseSettings::new(&args.lease_name, identity),
    );
    let (leading_tx, mut leading_rx) = watch::channel(false);
    let elector = tokio::spawn(leader::run(lock, leading_tx, stop_rx.clone()));

    let mut settings = Settings::default();
    if let Some(image) = args.node_image.clone() {
        settings.node_image = image;
    }
    let ctx = Arc::new(Context {
        client: client.clone(),
        settings,
        probe: Arc::new(HttpProbe::new()?),
        metrics: metrics.clone(),
        now: controller::now,
    });
    let mut stop = stop_rx.clone();
    loop {
        // Wait to lead (or to be told to stop).
        while !*leading_rx.borrow() {
            tokio::select! {
                r = leading_rx.changed() => if r.is_err() { break },
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        if *stop.borrow() || !*leading_rx.borrow() {
            break;
        }
        metrics.leader.set(1);
        let mut lost = leading_rx.clone();
        let mut stopping = stop.clone();
        let end = async move {
            tokio::select! {
                _ = lost.wait_for(|leading| !*leading) => {}
                _ = stopping.wait_for(|s| *s) => {}
            }
        };
        tracing::info!(namespace = ?args.namespace, "reconciling Chains");
        run_controller(client.clone(), args.namespace.as_deref(), ctx.clone(), end).await;
        metrics.leader.set(0);
        if *stop.borrow() {
            break;
        }
    }
    let _ = elector.await;
    tracing::info!("stopped");
    Ok(())
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn run_controller(
    client: Client,
    namespace: Option<&str>,
    ctx: Arc<Context>,
    end: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let chains: Api<Chain> = api(&client, namespace);
    let (reader, writer) = reflector::store();
    // Status writes do not change the generation: filtering on it keeps our own status
    // patches from triggering reconciles; finalizer and deletion changes still do.
    let deletion = |c: &Chain| c.metadata.deletion_timestamp.as_ref().map(|_| 1u64);
    let trigger = watcher(chains, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(
            predicates::generation
                .combine(predicates::finalizers)
                .combine(deletion),
            PredicateConfig::default(),
        );
    let owned =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    Controller::for_stream(trigger, reader)
        .owns(api::<StatefulSet>(&client, namespace), owned.clone())
        .owns(api::<Service>(&client, namespace), owned.clone())
        .owns(api::<ConfigMap>(&client, namespace), owned)
        .graceful_shutdown_on(end)
        .run(controller::reconcile, controller::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}
