//! The admin API's errors: JSON `{"error": <stable code>, "message": <human text>}` (plus
//! `field` for validation errors), `Cache-Control: no-store`, and `WWW-Authenticate: Bearer`
//! on every 401 (RFC 6750 §3). Storage causes are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::http::errors::REALM;
use crate::registry::RegistryError;
use crate::storage::StorageError;

/// An admin API failure. `error` is one of the stable codes listed in docs/admin-api.md.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// For 401: whether a token was presented (then `error="invalid_token"` is added to the
    /// challenge, RFC 6750 §3.1).
    token_presented: bool,
    /// For 405: the methods the resource allows.
    allow: Option<&'static str>,
    /// Logged once when the response is rendered; never sent.
    source: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error,
            message: message.into(),
            field: None,
            token_presented: false,
            allow: None,
            source: None,
        }
    }

    /// 401: no bearer token was sent.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an admin API token is required (Authorization: Bearer <token>)",
        )
    }

    /// 401: the token is malformed, unknown or revoked.
    pub fn invalid_token() -> Self {
        Self {
            token_presented: true,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the admin API token is invalid or revoked",
            )
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 422 naming the field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
        }
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the request body is larger than {} bytes",
                crate::http::BODY_LIMIT
            ),
        )
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("the body must be {expected}"),
        )
    }

    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("allowed methods: {allow}"),
            )
        }
    }

    pub fn server_error(source: impl Into<String>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server could not complete the request",
            )
        }
    }

    pub fn unavailable(source: impl Into<String>) -> Self {
        Self {
            source: Some(source.into()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is temporarily unavailable; retry shortly",
            )
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        match (&self.source, self.status.is_server_error()) {
            (Some(source), true) => {
                tracing::error!(error = self.error, cause = %source, "admin API request failed")
            }
            _ => tracing::debug!(error = self.error, "admin API request refused"),
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("Cache-Control", "no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.token_presented {
                format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")
            } else {
                format!("Bearer realm=\"{REALM}\"")
            };
            res.insert_header(("WWW-Authenticate", challenge));
        }
        if let Some(allow) = self.allow {
            res.insert_header(("Allow", allow));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header(("Retry-After", "5"));
        }
        res.json(Body {
            error: self.error,
            message: &self.message,
            field: self.field.as_deref(),
        })
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => ApiError::not_found("no such resource"),
            // A unique-constraint message names tables and columns: log it, say less.
            StorageError::Conflict(cause) => ApiError {
                source: Some(cause),
                ..ApiError::conflict("the change conflicts with existing data")
            },
            StorageError::Unavailable(cause) => ApiError::unavailable(cause),
            StorageError::Other(cause) => ApiError::server_error(cause),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Invalid(f) => ApiError::invalid_field(f.field, f.message),
            RegistryError::Storage(s) => s.into(),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        StorageError::from(err).into()
    }
}

/// The answer for any unknown path under `/admin/api`.
pub async fn unknown_route() -> HttpResponse {
    ApiError::not_found("no such admin API endpoint").error_response()
}
