//! Template installations at start: those a stopped server left `installing` are finished in
//! the background.

use crate::domain::error::Result;
use crate::service::installations::Installations;

/// Resumes the installations left `installing`; how many.
pub async fn resume(installations: &Installations) -> Result<usize> {
    installations.resume().await
}
