//! Starting and stopping the HTTP server.

use crate::app::{AppState, Infra};
use crate::bootstrap::{self, Outcome};
use crate::config::{MetricsListen, ServeArgs};
use crate::db;
use crate::http;
use actix_web::{App, HttpServer, middleware};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Opens the database, migrates, bootstraps, and serves until SIGTERM/SIGINT,
/// then lets in-flight requests finish (up to the shutdown timeout).
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.db.data_dir).with_context(|| {
        format!(
            "could not create data directory {}",
            args.db.data_dir.display()
        )
    })?;
    let url = args.db.url();
    tracing::info!(database = db::describe(&url), data_dir = %args.db.data_dir.display(), "opening database");
    let conn = db::connect(&url)
        .await
        .context("could not open the database")?;
    db::migrate(&conn)
        .await
        .context("could not apply migrations")?;
    let token_key = bootstrap::load_token_key(args.token_key_file.as_deref(), &args.db.data_dir)?;
    let kek = bootstrap::load_kek(args.kek_file.as_deref(), &args.db.data_dir)?;
    match bootstrap::run(&conn, &token_key, &args.db.data_dir).await? {
        Outcome::Created(path) => {
            tracing::warn!(path = %path.display(), "created the platform administrator; its bearer token is in this file (mode 0600)");
            eprintln!(
                "Consortia: platform administrator token written to {}",
                path.display()
            );
        }
        Outcome::AlreadyDone => tracing::info!("database already bootstrapped"),
    }
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let sso = match args.oidc.settings(&public_url)? {
        Some(settings) => {
            tracing::info!(issuer = %settings.issuer, client_id = %settings.client_id, "single sign-on configured");
            let oidc = Arc::new(crate::oidc::Oidc::new(settings)?);
            let warm = oidc.clone();
            tokio::spawn(async move {
                if let Err(e) = warm.warm_up().await {
                    tracing::warn!(error = %e, "identity provider discovery failed; will retry at the first login");
                }
            });
            Some(oidc)
        }
        None => None,
    };
    let sessions = crate::service::access::SessionSettings {
        ttl: Duration::from_secs(args.session_ttl),
        idle_timeout: Duration::from_secs(args.session_idle_timeout),
        secure_cookies: public_url.starts_with("https://"),
        ..crate::service::access::SessionSettings::for_url(&public_url)
    };
    let runtime: Arc<dyn crate::runtime::Runtime> = match args.runtime {
        crate::config::RuntimeKind::Local => Arc::new(crate::runtime::local::LocalRuntime::new(
            &args.db.data_dir,
            crate::runtime::local::find_node_bin(),
        )),
        crate::config::RuntimeKind::Kubernetes => Arc::new(
            crate::runtime::kubernetes::KubernetesRuntime::connect(args.kube_namespace.clone())
                .await
                .context("connecting to Kubernetes for the kubernetes runtime")?,
        ),
    };
    tracing::info!(runtime = runtime.kind(), "chain runtime ready");
    let state = AppState::new(Infra {
        db: conn,
        token_key,
        auth_cache_ttl: Duration::from_secs(args.auth_cache_ttl),
        clock: Arc::new(crate::clock::SystemClock),
        kek: Arc::new(kek),
        public_url,
        sso,
        sessions,
        template_max_bytes: args.template_max_bytes,
        runtime: runtime.clone(),
        tasks: tokio::runtime::Handle::current(),
    });
    match crate::jobs::chains::resume(&state.db, &state.kek, state.runtime.as_ref()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            chains = n,
            "chains resumed (running nodes adopted, stopped ones started)"
        ),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "could not resume chains"),
    }
    match crate::jobs::installations::resume(&state.installations).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            installations = n,
            "template installations waiting for their chains resumed"
        ),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "could not resume template installations")
        }
    }
    // After the installations: a chain made here starts its own installation's task.
    match crate::jobs::proposals::resume(&state.chains).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(proposals = n, "approved chain proposals carried out"),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "could not carry out approved chain proposals")
        }
    }
    // Deposit requests cut off between the chain and the database (a stopped server, a
    // commit after its timeout): finished in the background.
    tokio::spawn(crate::jobs::deposits::every_minute(state.deposits.clone()));
    match crate::jobs::builtins::load(&state.templates).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(added = n, "built-in marketplace templates loaded"),
        Err(e) => tracing::warn!(error = %e, "could not load the built-in marketplace templates"),
    }
    match state.pki.load_gauges().await {
        Ok(n) => tracing::info!(certificates = n, "certificate expiry gauges loaded"),
        Err(e) => tracing::warn!(error = %e, "could not load certificate expiry gauges"),
    }
    if args.renewal_interval > 0 {
        tokio::spawn(crate::jobs::renewal::every(
            state.pki.clone(),
            args.renewal_interval,
            args.renewal_window_days,
        ));
    }
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let metrics = match args.metrics_listen {
        MetricsListen::Off => None,
        MetricsListen::At(at) => {
            let listener = TcpListener::bind(at)
                .with_context(|| format!("could not listen for metrics on {at}"))?;
            let state = state.clone();
            let at = listener.local_addr()?;
            tracing::info!(%at, "metrics at http://{at}/metrics");
            Some(
                HttpServer::new(move || {
                    App::new().configure(http::configure_metrics(state.clone()))
                })
                .workers(1)
                .shutdown_timeout(1)
                .listen(listener)?
                .run(),
            )
        }
    };
    let console = match http::console::Console::load(&args.console_dir) {
        Ok(c) => {
            tracing::info!(dir = %c.dir().display(), files = c.len(), "serving the web console at /");
            Some(actix_web::web::Data::new(c))
        }
        Err(e) => {
            tracing::warn!(error = %e, "the web console is not served");
            eprintln!("note: the web console is not served: {e:#}");
            None
        }
    };
    // Open live feeds end when a stop signal arrives, so they do not hold the graceful
    // shutdown (actix's own handlers stop accepting; this only closes the streams).
    let live = state.live.clone();
    tokio::spawn(async move {
        stop_signal().await;
        live.close();
    });
    let mut server = HttpServer::new(move || {
        let mut app = App::new()
            .wrap(middleware::from_fn(http::observe::observe))
            .configure(http::configure(state.clone()));
        if let Some(console) = &console {
            app = app.app_data(console.clone());
        }
        app
    })
    .shutdown_timeout(args.shutdown_timeout)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?;
    if let Some(w) = args.workers {
        server = server.workers(w);
    }
    tracing::info!(%addr, "listening; API docs at http://{addr}/docs");
    eprintln!("Consortia API listening on http://{addr} (docs: http://{addr}/docs)");
    let api = server.run();
    match metrics {
        // Both stop on SIGTERM/SIGINT (each installs the handlers).
        Some(metrics) => {
            futures_util::future::try_join(api, metrics).await?;
        }
        None => api.await?,
    }
    runtime.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
