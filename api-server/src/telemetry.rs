//! Logs and traces of the API server (see `consortia-telemetry`).

use clap::ValueEnum;

pub use consortia_telemetry::Telemetry;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. Call once, early, from the binary.
pub fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    consortia_telemetry::init(
        "consortia-api",
        match format {
            LogFormat::Text => consortia_telemetry::Format::Text,
            LogFormat::Json => consortia_telemetry::Format::Json,
        },
    )
}
