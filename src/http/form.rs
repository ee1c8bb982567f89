//! The strict form extractor for OAuth endpoints: `application/x-www-form-urlencoded` only,
//! at most [`BODY_LIMIT`] bytes (413 past it), strict percent-decoding and UTF-8, duplicates
//! recorded (RFC 6749 §3.1: parameters MUST NOT be included more than once). Every refusal is
//! RFC 6749 §5.2 JSON, never a framework default.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;

use crate::http::cors;
use crate::http::errors::{oauth_json, oauth_json_with_status};
use crate::http::BODY_LIMIT;
use crate::oauth::error::OAuthError;
use crate::oauth::params::{Params, ParamsError};
use crate::AppState;

/// A parsed form body.
#[derive(Debug)]
pub struct OAuthForm(pub Params);

/// Why a form was refused; renders as §5.2 JSON.
#[derive(Debug)]
pub struct FormRejection {
    error: OAuthError,
    status: StatusCode,
}

impl std::fmt::Display for FormRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl ResponseError for FormRejection {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status == StatusCode::BAD_REQUEST {
            oauth_json(&self.error)
        } else {
            oauth_json_with_status(&self.error, self.status)
        }
    }
}

fn reject(status: StatusCode, description: &'static str) -> FormRejection {
    FormRejection {
        error: OAuthError::invalid_request(description),
        status,
    }
}

/// The `Authorization` header of a request to a client-authenticated endpoint (token,
/// introspection, revocation). One header at most (`invalid_request` otherwise); a value that
/// is not visible ASCII is unreadable credentials (`invalid_client`), never "no credentials".
pub fn client_authorization(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut values = req
        .headers()
        .get_all(actix_web::http::header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    value
        .to_str()
        .map(|v| Some(v.to_string()))
        .map_err(|_| OAuthError::invalid_client("the Authorization header is not readable"))
}

/// The form and the `Authorization` header of a request to an endpoint that identifies a
/// client (token, introspection, revocation), or, when either is unreadable, the refusal with
/// its CORS headers ([`cors::finish_unidentified`]).
pub async fn client_request(
    req: &HttpRequest,
    state: &AppState,
    form: Result<OAuthForm, FormRejection>,
) -> Result<(Params, Option<String>), HttpResponse> {
    let refusal = match form {
        Ok(OAuthForm(params)) => match client_authorization(req) {
            Ok(authorization) => return Ok((params, authorization)),
            Err(err) => oauth_json(&err),
        },
        Err(rejection) => rejection.error_response(),
    };
    Err(cors::finish_unidentified(req, state, refusal).await)
}

/// Whether the request declares a form body (parameters such as `charset=utf-8` allowed).
pub fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
        .unwrap_or(false)
}

/// Reads the body up to the limit and parses it strictly.
pub async fn read_form(req: &HttpRequest, payload: &mut Payload) -> Result<Params, FormRejection> {
    if !is_form(req) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > BODY_LIMIT {
            return Err(reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            ));
        }
    }
    let mut body = Vec::with_capacity(512);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            reject(
                StatusCode::BAD_REQUEST,
                "the request body could not be read",
            )
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is too large",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| reject(StatusCode::BAD_REQUEST, "the request body is not UTF-8"))?;
    Params::parse(text).map_err(|e| FormRejection {
        error: OAuthError::invalid_request(match e {
            ParamsError::Malformed(m) => format!("malformed form body: {m}"),
            ParamsError::TooLong(name) => format!("parameter {name} is too long"),
        }),
        status: StatusCode::BAD_REQUEST,
    })
}

impl FromRequest for OAuthForm {
    type Error = FormRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move { read_form(&req, &mut payload).await.map(OAuthForm) })
    }
}
