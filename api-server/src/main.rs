//! `consortia-api`: serve the API (default), run migrations, or print the OpenAPI document.

use clap::{Parser, Subcommand};
use consortia_api::config::{DbArgs, ServeArgs};
use consortia_api::telemetry::LogFormat;
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
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the OpenAPI document (the committed copy is `api-server/openapi.json`).
    Openapi,
    /// Marketplace templates: check and package them locally with the server's own rules.
    Template {
        #[command(subcommand)]
        cmd: TemplateCommand,
    },
    /// Re-seal every CA key and managed identity key under a new key-encryption key, then
    /// point `--kek-file` (or `CONSORTIA_KEK`) at the new one.
    RewrapKeys {
        #[command(flatten)]
        db: DbArgs,
        /// The current KEK file (default `<data dir>/kek`; `CONSORTIA_KEK` wins when set).
        #[arg(long, env = "CONSORTIA_KEK_FILE")]
        kek_file: Option<std::path::PathBuf>,
        /// File with the new KEK (64 hex characters).
        #[arg(long)]
        new_kek_file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TemplateCommand {
    /// Check a template directory or package (.tar.gz); prints every problem with its place
    /// in the manifest (a JSON pointer) and exits 1 when there is any.
    Lint {
        /// A directory holding consortia-template.yaml and its artifacts, or a .tar.gz package.
        path: std::path::PathBuf,
        /// Largest package accepted, in bytes (as the server's CONSORTIA_TEMPLATE_MAX_BYTES).
        #[arg(long, env = "CONSORTIA_TEMPLATE_MAX_BYTES", default_value_t = consortia_api::domain::templates::DEFAULT_MAX_PACKAGE_BYTES)]
        max_bytes: usize,
    },
    /// Check a template directory and write its package (.tar.gz) for upload.
    Pack {
        /// The template directory.
        dir: std::path::PathBuf,
        /// Where to write the package.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

use consortia_api::domain::templates::{MANIFEST, Manifest, Package, Problem};
use std::collections::BTreeMap;
use std::path::Path;

fn package_problem(detail: String) -> Vec<Problem> {
    vec![Problem {
        pointer: "package".into(),
        detail,
    }]
}

/// Reads and checks a template directory (the manifest and the files beside it).
fn read_dir(dir: &Path) -> Result<Package, Vec<Problem>> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|e| {
        package_problem(format!("cannot read {}: {e}", dir.join(MANIFEST).display()))
    })?;
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let rd = std::fs::read_dir(&d)
            .map_err(|e| package_problem(format!("cannot list {}: {e}", d.display())))?;
        for entry in rd {
            let entry = entry.map_err(|e| package_problem(e.to_string()))?;
            let p = entry.path();
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if p.is_dir() {
                stack.push(p);
            } else if rel != MANIFEST {
                let b = std::fs::read(&p)
                    .map_err(|e| package_problem(format!("cannot read {}: {e}", p.display())))?;
                files.insert(rel, b);
            }
        }
    }
    consortia_api::domain::templates::check_files(&text, files)
}

/// `consortia-api template lint PATH`: a directory or a `.tar.gz`.
fn lint(path: &Path, max_bytes: usize) -> Result<Manifest, Vec<Problem>> {
    if path.is_dir() {
        read_dir(path)
    } else {
        let bytes = std::fs::read(path)
            .map_err(|e| package_problem(format!("cannot read {}: {e}", path.display())))?;
        consortia_api::domain::templates::read_package(&bytes, max_bytes)
    }
    .map(|p| p.manifest)
}

fn template_command(cmd: TemplateCommand) -> std::process::ExitCode {
    use consortia_api::domain::templates as marketplace;
    match cmd {
        TemplateCommand::Lint { path, max_bytes } => match lint(&path, max_bytes) {
            Ok(m) => {
                println!("{}: ok ({} {})", path.display(), m.slug, m.version);
                std::process::ExitCode::SUCCESS
            }
            Err(problems) => {
                for p in &problems {
                    println!("{}: {p}", path.display());
                }
                eprintln!("{} problem(s)", problems.len());
                std::process::ExitCode::from(1)
            }
        },
        TemplateCommand::Pack { dir, out } => match read_dir(&dir) {
            Ok(pkg) => {
                let bytes = marketplace::build_package(&pkg.manifest_text, &pkg.files);
                match std::fs::write(&out, bytes) {
                    Ok(()) => {
                        println!(
                            "{}: {} {}",
                            out.display(),
                            pkg.manifest.slug,
                            pkg.manifest.version
                        );
                        std::process::ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("cannot write {}: {e}", out.display());
                        std::process::ExitCode::from(2)
                    }
                }
            }
            Err(problems) => {
                for p in &problems {
                    println!("{}: {p}", dir.display());
                }
                std::process::ExitCode::from(1)
            }
        },
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let format = match &cli.command {
        Some(Command::Serve(a)) => a.log_format,
        None => cli.serve.log_format,
        _ => LogFormat::Text,
    };
    if let Some(Command::Template { cmd }) = cli.command {
        let code = template_command(cmd);
        std::process::exit(if code == std::process::ExitCode::SUCCESS {
            0
        } else {
            1
        });
    }
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
            Some(Command::Serve(args)) => server::serve(*args).await,
            None => server::serve(cli.serve).await,
            Some(Command::Migrate { db: args }) => {
                std::fs::create_dir_all(&args.data_dir)?;
                let conn = db::connect(&args.url()).await?;
                db::migrate(&conn).await?;
                eprintln!("migrations applied ({})", db::describe(&args.url()));
                Ok(())
            }
            Some(Command::Openapi) | Some(Command::Template { .. }) => Ok(()),
            Some(Command::RewrapKeys {
                db: args,
                kek_file,
                new_kek_file,
            }) => {
                let old = consortia_api::bootstrap::load_kek(kek_file.as_deref(), &args.data_dir)?;
                let text = std::fs::read_to_string(&new_kek_file)?;
                let new = consortia_pki::seal::Kek::from_hex(&text)?;
                let conn = db::connect(&args.url()).await?;
                db::migrate(&conn).await?;
                let (cas, certs) = consortia_api::store::pki::rewrap(&conn, &old, &new).await?;
                eprintln!(
                    "re-sealed {cas} CA keys and {certs} other keys (managed identities, chain keys, chain accounts) under KEK {}; now use {} as the KEK",
                    new.id(),
                    new_kek_file.display()
                );
                Ok(())
            }
        }
    });
    if let Err(e) = &result {
        tracing::error!(error = format!("{e:#}"), "exiting");
    }
    result
}
