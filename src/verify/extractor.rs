//! The actix-web extractor of the verification module.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};

use crate::verify::remote::{Requirements, Verifier, VerifyError};
use crate::verify::token::Claims;

/// The validated claims of the request's bearer token. Needs `web::Data<Verifier>` and
/// `web::Data<Requirements>` in the app (or the scope) that uses it.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

/// A refused request, rendered as RFC 6750 §3 requires: 401 `invalid_token` (or a bare
/// challenge when no token was sent), 403 `insufficient_scope`, 400 `invalid_request`.
#[derive(Debug)]
pub struct VerifyRejection {
    status: StatusCode,
    error: Option<&'static str>,
    description: String,
    scope: Option<String>,
}

impl std::fmt::Display for VerifyRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            self.error.unwrap_or("unauthorized"),
            self.description
        )
    }
}

impl ResponseError for VerifyRejection {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut challenge = String::from("Bearer");
        let mut params = Vec::new();
        if let Some(error) = self.error {
            params.push(format!("error=\"{error}\""));
            params.push(format!(
                "error_description=\"{}\"",
                self.description.replace(['"', '\\'], "'")
            ));
        }
        if let Some(scope) = &self.scope {
            params.push(format!("scope=\"{scope}\""));
        }
        if !params.is_empty() {
            challenge.push(' ');
            challenge.push_str(&params.join(", "));
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header(("WWW-Authenticate", challenge))
            .insert_header(("Cache-Control", "no-store"));
        match self.error {
            Some(error) => res.json(serde_json::json!({
                "error": error,
                "error_description": self.description,
            })),
            None => res.finish(),
        }
    }
}

fn rejection(
    status: StatusCode,
    error: Option<&'static str>,
    description: &str,
) -> VerifyRejection {
    VerifyRejection {
        status,
        error,
        description: description.to_string(),
        scope: None,
    }
}

/// The bearer token of the request: the Authorization header only. A token in the query
/// string is refused (OAuth 2.1 §5.1: never in the URI).
fn bearer_token(req: &HttpRequest) -> Result<String, VerifyRejection> {
    let in_query = req
        .query_string()
        .split('&')
        .any(|pair| pair.split('=').next() == Some("access_token"));
    if in_query {
        return Err(rejection(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "access tokens are not accepted in the URI",
        ));
    }
    let mut values = req
        .headers()
        .get_all(actix_web::http::header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(rejection(StatusCode::UNAUTHORIZED, None, "no access token"));
    };
    if values.next().is_some() {
        return Err(rejection(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "more than one Authorization header",
        ));
    }
    let value = value.to_str().unwrap_or("");
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() || token.contains(' ') {
                Err(rejection(
                    StatusCode::BAD_REQUEST,
                    Some("invalid_request"),
                    "malformed Bearer credentials",
                ))
            } else {
                Ok(token.to_string())
            }
        }
        // Another scheme is no bearer token at all: a bare challenge (RFC 6750 §3.1).
        _ => Err(rejection(StatusCode::UNAUTHORIZED, None, "no access token")),
    }
}

impl FromRequest for Authenticated {
    type Error = VerifyRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let verifier = req.app_data::<web::Data<Verifier>>().cloned();
            let requirements = req.app_data::<web::Data<Requirements>>().cloned();
            let (Some(verifier), Some(requirements)) = (verifier, requirements) else {
                // A wiring mistake of the resource server, not the caller's fault.
                return Err(rejection(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "the verifier is not configured",
                ));
            };
            let token = bearer_token(&req)?;
            match verifier.verify(&token, &requirements).await {
                Ok(claims) => Ok(Authenticated(claims)),
                Err(VerifyError::InvalidToken(why)) => Err(rejection(
                    StatusCode::UNAUTHORIZED,
                    Some("invalid_token"),
                    &why.to_string(),
                )),
                Err(VerifyError::InsufficientScope(scope)) => Err(VerifyRejection {
                    status: StatusCode::FORBIDDEN,
                    error: Some("insufficient_scope"),
                    description: format!("the token lacks scope {scope}"),
                    scope: Some(requirements.required_scopes.join(" ")),
                }),
                Err(VerifyError::Discovery(cause)) => {
                    tracing::error!(cause = %cause, "cannot refresh the issuer's keys");
                    Err(rejection(
                        StatusCode::SERVICE_UNAVAILABLE,
                        None,
                        "the authorization server's keys cannot be read",
                    ))
                }
            }
        })
    }
}
