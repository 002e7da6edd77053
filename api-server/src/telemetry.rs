//! Logs and traces of the API server (see `consortia-telemetry`).

use crate::config::LogFormat;

pub use consortia_telemetry::Telemetry;

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
