//! HTTP method semantics the router does not give for free (RFC 9110 §9.1, §15.5.6):
//! `HEAD` is answered like `GET` on every route, and a known path asked with a method it does
//! not serve answers 405 with `Allow`, not 404.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::http::errors::oauth_json_with_status;
use crate::oauth::discovery::paths;
use crate::oauth::error::OAuthError;

/// RFC 9110 §9.1: "All general-purpose servers MUST support the methods GET and HEAD." A
/// `HEAD` request is routed as `GET`; the HTTP/1 codec remembers that the request was `HEAD`
/// and sends the headers (with the `Content-Length` of the body) but no body (§9.3.2).
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// The paths that answer 405 for a method they do not serve, with the methods they do.
/// `/token` has its own 405 (see `http::token`). Registered after every other route, so the
/// routes of a path must be registered before [`fallbacks`] runs.
const ALLOWED: [(&str, &str); 10] = [
    (paths::AUTHORIZE, "GET, HEAD, POST"),
    (paths::INTROSPECT, "POST, OPTIONS"),
    (paths::REVOKE, "POST, OPTIONS"),
    (paths::USERINFO, "GET, HEAD, POST, OPTIONS"),
    (paths::JWKS, "GET, HEAD"),
    ("/.well-known/oauth-authorization-server", "GET, HEAD"),
    ("/.well-known/openid-configuration", "GET, HEAD"),
    ("/login", "GET, HEAD, POST"),
    ("/consent", "POST"),
    ("/logout", "POST"),
];

/// Registers the 405 answers of [`ALLOWED`]; call it after every other route.
pub fn fallbacks(cfg: &mut web::ServiceConfig) {
    for (path, allow) in ALLOWED {
        cfg.service(web::resource(path).to(move || async move { not_allowed(allow) }));
    }
}

/// RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field"; the body is the OAuth
/// error JSON the protocol endpoints speak.
fn not_allowed(allow: &'static str) -> HttpResponse {
    let mut res = oauth_json_with_status(
        &OAuthError::invalid_request("this method is not allowed here"),
        StatusCode::METHOD_NOT_ALLOWED,
    );
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    res
}
