//! Errors as RFC 9457 `application/problem+json`, one stable `type` per kind.

use crate::domain::error::Error;
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

pub use crate::domain::error::FieldError;

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

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Unauthenticated(m) => ApiError::Unauthorized(m),
            Error::Forbidden(m) => ApiError::Forbidden(m),
            Error::NotFound(m) => ApiError::NotFound(m),
            Error::Malformed(m) => ApiError::BadRequest(m),
            Error::Invalid { detail, errors } => ApiError::Validation { detail, errors },
            Error::Conflict(m) => ApiError::Conflict(m),
            Error::TooLarge(m) => ApiError::PayloadTooLarge(m),
            Error::Unavailable(m) => ApiError::Unavailable(m),
            Error::Internal(m) => ApiError::Internal(m),
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

/// A response documented as an RFC 9457 problem, with `description`.
pub fn problem_response(description: &str) -> utoipa::openapi::response::Response {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            utoipa::openapi::Content::new(Some(utoipa::openapi::Ref::from_schema_name("Problem"))),
        )
        .build()
}

/// Error responses a route documents by name in `responses(...)`, each declared once here.
/// Those that follow from a route's shape (401, 400, 404 on path ids, 413, 415, 422 on
/// bodies, 500, 503) are added to every route by `http::openapi`; name these only where a
/// route can return them for other reasons.
macro_rules! documented_problems {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $description:literal;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
                > {
                    [($status.to_string(), problem_response($description).into())].into()
                }
            }
        )*
    };
}

documented_problems! {
    /// 400: a request that cannot be read as asked (beyond malformed JSON and ids).
    BadRequestProblem => "400", "The request cannot be read as asked";
    /// 403: authenticated, but the role (or the credential's scope) does not allow it.
    ForbiddenProblem => "403", "The caller's role does not allow this";
    /// 404: something the request names (beyond the path's ids) does not exist for the caller.
    NotFoundProblem => "404", "No such resource for this caller (also another tenant's)";
    /// 409: the change conflicts with the current state.
    ConflictProblem => "409", "The change conflicts with the current state";
    /// 413: an upload larger than its limit.
    TooLargeProblem => "413", "The upload is larger than the limit";
    /// 422: a field (of a body or query) is not acceptable.
    InvalidProblem => "422", "A field is not acceptable; `errors` points at each one";
    /// 503: a dependency other than the database (a runtime, a node, the identity provider)
    /// is not reachable or not ready.
    UnavailableProblem => "503", "A dependency is not reachable or not ready; try again shortly";
}
