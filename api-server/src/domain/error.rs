//! What can go wrong in a use case, in the product's words. The HTTP edge turns each kind
//! into one status and problem type (`http::problem`); nothing here knows about HTTP.

/// One field's problem inside a validation error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer to the field, e.g. `/name`.
    pub pointer: String,
    /// What is wrong and what is expected.
    pub detail: String,
}

/// The error every service returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials, or credentials that are not valid (unknown, revoked, expired).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but its role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource for this caller (also for other tenants' resources).
    #[error("{0}")]
    NotFound(String),
    /// The request could not be read as asked (e.g. a cursor that is not ours).
    #[error("{0}")]
    Malformed(String),
    /// The request was read but a field is not acceptable.
    #[error("{detail}")]
    Invalid {
        /// Summary for humans.
        detail: String,
        /// Per-field messages, keyed by JSON pointer.
        errors: Vec<FieldError>,
    },
    /// The change conflicts with existing state (duplicate, last owner, closed alliance...).
    #[error("{0}")]
    Conflict(String),
    /// An input is larger than its limit.
    #[error("{0}")]
    TooLarge(String),
    /// A dependency (the database, a runtime, a node) is not reachable; try again later.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the cause is for the log, not the caller.
    #[error("internal error")]
    Internal(String),
}

/// Result of a use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation error on one field.
    pub fn field(pointer: &str, detail: impl Into<String>) -> Error {
        let detail = detail.into();
        Error::Invalid {
            detail: detail.clone(),
            errors: vec![FieldError {
                pointer: pointer.into(),
                detail,
            }],
        }
    }

    /// Validation errors on several fields, as (pointer, message) pairs; `Ok` when none.
    pub fn fields(problems: Vec<(String, String)>) -> Result<()> {
        if problems.is_empty() {
            return Ok(());
        }
        Err(Error::Invalid {
            detail: problems
                .iter()
                .map(|(_, m)| m.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            errors: problems
                .into_iter()
                .map(|(pointer, detail)| FieldError { pointer, detail })
                .collect(),
        })
    }

    /// `<what> <id> not found`: the one wording of a missing (or invisible) resource.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Error {
        Error::NotFound(format!("{what} {id} not found"))
    }

    /// The same error with its field pointers moved under `at` (`/version` becomes
    /// `/template/version`), for a part checked on its own and then placed in a larger body.
    pub fn under(self, at: &str) -> Error {
        match self {
            Error::Invalid { detail, errors } if !at.is_empty() => Error::Invalid {
                detail,
                errors: errors
                    .into_iter()
                    .map(|mut f| {
                        f.pointer = format!("{at}{}", f.pointer);
                        f
                    })
                    .collect(),
            },
            other => other,
        }
    }

    /// Turns a `NotFound` into `replacement` (a missing inner resource reported as its
    /// missing parent, so ids of what the caller cannot see reveal nothing).
    pub fn not_found_as(self, replacement: impl FnOnce() -> Error) -> Error {
        match self {
            Error::NotFound(_) => replacement(),
            other => other,
        }
    }
}

/// Turns a field check's message into a validation error at `pointer`.
pub fn check(pointer: &str, r: std::result::Result<(), String>) -> Result<()> {
    r.map_err(|m| Error::field(pointer, m))
}

/// Wraps an unexpected failure with what was being done, for the log.
pub fn internal(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_moves_pointers_and_keeps_other_kinds() {
        let e = Error::field("/version", "bad").under("/template");
        match e {
            Error::Invalid { errors, .. } => assert_eq!(errors[0].pointer, "/template/version"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Error::Conflict("x".into()).under("/a"),
            Error::Conflict(_)
        ));
    }

    #[test]
    fn fields_joins_messages_and_is_ok_when_empty() {
        assert!(Error::fields(vec![]).is_ok());
        let Err(Error::Invalid { detail, errors }) = Error::fields(vec![
            ("/a".into(), "a is bad".into()),
            ("/b".into(), "b is bad".into()),
        ]) else {
            panic!("expected a validation error")
        };
        assert_eq!(detail, "a is bad; b is bad");
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn not_found_as_replaces_only_not_found() {
        let parent = || Error::not_found("alliance", 7);
        assert_eq!(
            Error::not_found("tenant", 1)
                .not_found_as(parent)
                .to_string(),
            "alliance 7 not found"
        );
        assert!(matches!(
            Error::Forbidden("no".into()).not_found_as(parent),
            Error::Forbidden(_)
        ));
    }
}
