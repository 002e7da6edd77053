//! What a request learned about itself for its audit event, and the outcome classes of
//! audit events. The HTTP edge opens a [`Trail`] per request; the authenticator and the
//! services add to it; the edge records it when the request ends.

use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// What the authenticator and the services learned about a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditNote {
    /// Authenticated user.
    pub actor_user_id: Option<Uuid>,
    /// Token used.
    pub actor_token_id: Option<Uuid>,
    /// Tenant acted in, set once the actor is known to belong to it.
    pub tenant_id: Option<Uuid>,
    /// Id of a resource the request created.
    pub created: Option<String>,
}

/// A request's audit note, shared by everything that handles the request.
#[derive(Debug, Clone, Default)]
pub struct Trail(Arc<Mutex<AuditNote>>);

impl Trail {
    /// Applies `f` to the note.
    pub fn note(&self, f: impl FnOnce(&mut AuditNote)) {
        // A poisoned lock only means another holder panicked mid-update; the note is
        // plain data and still usable.
        let mut n = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut n);
    }

    /// The note as it stands.
    pub fn snapshot(&self) -> AuditNote {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Outcome class of a finished request, as a listing filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    Success,
    Denied,
    Invalid,
    Failed,
}

impl OutcomeClass {
    /// As [`outcome`] writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Success => "success",
            OutcomeClass::Denied => "denied",
            OutcomeClass::Invalid => "invalid",
            OutcomeClass::Failed => "failed",
        }
    }
}

/// Longest `action` filter accepted.
pub const MAX_ACTION_FILTER: usize = 200;

/// What a listing of audit events is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub outcome: Option<OutcomeClass>,
    pub actor_user_id: Option<uuid::Uuid>,
    /// Part of the action (`POST /api/v1/tokens`), any case.
    pub action: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl AuditQuery {
    /// Refuses a filter too long to be an action, and a window that ends before it starts.
    pub fn check(&self) -> crate::domain::error::Result<()> {
        use crate::domain::error::Error;
        if self
            .action
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_ACTION_FILTER)
        {
            return Err(Error::field(
                "/action",
                format!("at most {MAX_ACTION_FILTER} characters"),
            ));
        }
        if let (Some(s), Some(u)) = (self.since, self.until)
            && u <= s
        {
            return Err(Error::Malformed("until must be later than since".into()));
        }
        Ok(())
    }
}

/// Outcome class of a finished request.
pub fn outcome(status: u16) -> &'static str {
    match status {
        200..=399 => "success",
        401 | 403 | 404 => "denied",
        400..=499 => "invalid",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_note() {
        let t = Trail::default();
        let u = t.clone();
        u.note(|n| n.created = Some("x".into()));
        assert_eq!(t.snapshot().created.as_deref(), Some("x"));
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(201), "success");
        assert_eq!(outcome(404), "denied");
        assert_eq!(outcome(422), "invalid");
        assert_eq!(outcome(503), "failed");
    }
}
