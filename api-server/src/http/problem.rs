//! Errors as RFC 9457 `application/problem+json`, one stable `type` per kind.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_BASE: &str = "https://consortia.dev/problems/";

tokio::task_local! {
    /// The current request's id, so error bodies can carry it.
    pub static REQUEST_ID: String;
}

/// An error a handler or extractor returns; each variant maps to one status and type.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or credentials that are not valid (unknown, revoked, expired).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but the role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// No such resource for this caller (also for other tenants' resources).
    #[error("{0}")]
    NotFound(String),
    /// The request could not be read: malformed JSON, wrong types, unknown fields, bad query.
    #[error("{0}")]
    BadRequest(String),
    /// The request was read but a field is not acceptable.
    #[error("{detail}")]
    Validation {
        /// Summary for humans.
        detail: String,
        /// Per-field messages, keyed by JSON pointer.
        errors: Vec<FieldError>,
    },
    /// The change conflicts with existing state (duplicate, last owner...).
    #[error("{0}")]
    Conflict(String),
    /// Body larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Body not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A dependency (the database) is not reachable.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; details go to the log, not the caller.
    #[error("internal error")]
    Internal(String),
}

/// One field's problem inside a validation error.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer to the field, e.g. `/name`.
    pub pointer: String,
    /// What is wrong and what is expected.
    pub detail: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of error.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What was wrong in this request, and what to do.
    pub detail: String,
    /// The request id (also in the `X-Request-Id` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Field errors, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// The same error with its field pointers moved under `at` (`/version` becomes
    /// `/template/version`), for a part checked on its own and then placed in a larger body.
    pub fn under(self, at: &str) -> ApiError {
        match self {
            ApiError::Validation { detail, errors } if !at.is_empty() => ApiError::Validation {
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

    /// A validation error on one field.
    pub fn field(pointer: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        ApiError::Validation {
            detail: detail.clone(),
            errors: vec![FieldError {
                pointer: pointer.into(),
                detail,
            }],
        }
    }

    /// The stable slug of the error kind (the last part of `type`).
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Validation { .. } => "validation",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "Authentication required",
            ApiError::Forbidden(_) => "Not allowed",
            ApiError::NotFound(_) => "Not found",
            ApiError::BadRequest(_) => "Malformed request",
            ApiError::Validation { .. } => "Invalid input",
            ApiError::Conflict(_) => "Conflict",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "an unexpected error happened; quote the request id when reporting it".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        match e {
            sea_orm::DbErr::ConnectionAcquire(_) | sea_orm::DbErr::Conn(_) => {
                ApiError::Unavailable("the database is not reachable; try again shortly".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = REQUEST_ID.try_with(|id| id.clone()).ok();
        if let ApiError::Internal(cause) = self {
            tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), %cause, "internal error");
        }
        let status = self.status_code();
        let body = Problem {
            type_: format!("{TYPE_BASE}{}", self.kind()),
            title: self.title().into(),
            status: status.as_u16(),
            detail: self.detail(),
            request_id,
            errors: match self {
                ApiError::Validation { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut resp = HttpResponse::build(status);
        resp.content_type(PROBLEM_JSON);
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.insert_header(("WWW-Authenticate", "Bearer realm=\"consortia\""));
        }
        resp.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
