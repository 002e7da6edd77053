//! Which requests are audited.

/// Whether a method changes state (and so is audited).
pub fn is_mutating(method: &actix_web::http::Method) -> bool {
    !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS")
}
