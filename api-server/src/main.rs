//! `consortia-api`: serve the API (default), run migrations, or print the OpenAPI document.

use clap::{Parser, Subcommand};
use consortia_api::config::{DbArgs, LogFormat, ServeArgs};
use consortia_api::{db, http, server, telemetry};

/// Consortia control-plane API server.
#[derive(Debug, Parser)]
#[command(name = "consortia-api", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Settings for the default `serve`.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the OpenAPI document (the committed copy is `api-server/openapi.json`).
    Openapi,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let format = match &cli.command {
        Some(Command::Serve(a)) => a.log_format,
        None => cli.serve.log_format,
        _ => LogFormat::Text,
    };
    if let Some(Command::Openapi) = cli.command {
        print!("{}", http::openapi::pretty_json());
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let _telemetry = rt.block_on(async { telemetry::init(format) })?;
    let result = rt.block_on(async move {
        match cli.command {
            Some(Command::Serve(args)) => server::serve(args).await,
            None => server::serve(cli.serve).await,
            Some(Command::Migrate { db: args }) => {
                std::fs::create_dir_all(&args.data_dir)?;
                let conn = db::connect(&args.url()).await?;
                db::migrate(&conn).await?;
                eprintln!("migrations applied ({})", db::describe(&args.url()));
                Ok(())
            }
            Some(Command::Openapi) => Ok(()),
        }
    });
    if let Err(e) = &result {
        tracing::error!(error = format!("{e:#}"), "exiting");
    }
    result
}
