//! Rendering errors. Endpoints that speak OAuth JSON (token, introspection, revocation)
//! answer RFC 6749 §5.2 JSON with `Cache-Control: no-store`; `invalid_client` is a 401 with
//! `WWW-Authenticate: Basic` (RFC 6749 §5.2, RFC 9110 §15.5.2). Storage failures become
//! `temporarily_unavailable` (503) or a generic `server_error` (500) with the cause only in the
//! log.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;

use crate::oauth::error::{ErrorCode, OAuthError};
use crate::storage::StorageError;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    error_description: &'a str,
}

/// The realm in every `WWW-Authenticate` challenge.
pub const REALM: &str = "portcullis";

/// The HTTP status of an OAuth error on a JSON endpoint.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// An RFC 6749 §5.2 error response. Logs the internal cause once, here.
pub fn oauth_json(err: &OAuthError) -> HttpResponse {
    oauth_json_with_status(err, status_of(err.code))
}

/// The same with an explicit status (413 for an oversized body, for instance).
pub fn oauth_json_with_status(err: &OAuthError, status: StatusCode) -> HttpResponse {
    log_error(err, status);
    let mut res = HttpResponse::build(status);
    res.insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"));
    if err.code == ErrorCode::InvalidClient {
        res.insert_header(("WWW-Authenticate", format!("Basic realm=\"{REALM}\"")));
    }
    if err.code == ErrorCode::TemporarilyUnavailable {
        res.insert_header(("Retry-After", "5"));
    }
    res.json(ErrorBody {
        error: err.code.as_str(),
        error_description: &err.description,
    })
}

fn log_error(err: &OAuthError, status: StatusCode) {
    match (&err.source, status.is_server_error()) {
        (Some(source), true) => {
            tracing::error!(error = err.code.as_str(), cause = %source, "request failed")
        }
        (None, true) => tracing::error!(error = err.code.as_str(), "request failed"),
        (Some(source), false) => {
            tracing::debug!(error = err.code.as_str(), cause = %source, "request refused")
        }
        (None, false) => tracing::debug!(error = err.code.as_str(), "request refused"),
    }
}

impl From<StorageError> for OAuthError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(cause) => {
                OAuthError::temporarily_unavailable().with_source(cause)
            }
            other => OAuthError::server_error(other.to_string()),
        }
    }
}
