//! CORS for the JSON endpoints a browser app may call (token, revocation, introspection,
//! userinfo); never for /authorize or the HTML pages (OAuth 2.1 §3.1, RFC 9700 §2.6).
//!
//! - A preflight names no client, so it is allowed when some enabled client registers the
//!   origin ([`preflight`]); so is an answer given before any client was identified (a refused
//!   form or `Authorization` header, [`finish_unidentified`]), so that the app can read its
//!   error.
//! - The real response carries `Access-Control-Allow-Origin` only when the client the request
//!   identified registered that origin ([`apply`]).
//! - Never `*`, never `Access-Control-Allow-Credentials`; `Vary: Origin` always, so that a
//!   cache never hands one origin's answer to another.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::storage::clients;
use crate::AppState;

/// How long a browser may cache a preflight answer.
pub const MAX_AGE_SECONDS: u32 = 600;

/// The request's `Origin` header, if it is one readable value.
pub fn origin(req: &HttpRequest) -> Option<String> {
    let mut values = req.headers().get_all(header::ORIGIN);
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok().map(str::to_string)
}

/// Whether the identified client's registered origins include `origin` (exact match).
pub fn client_allows(client_origins: &[String], origin: Option<&str>) -> bool {
    origin.is_some_and(|o| client_origins.iter().any(|c| c == o))
}

/// Adds `Vary: Origin`, and `Access-Control-Allow-Origin` when `allowed` (decided by
/// [`client_allows`] for the client this request identified).
pub fn apply(res: &mut HttpResponse, origin: Option<&str>, allowed: bool) {
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if allowed {
        if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
    }
}

/// Finishes the answer of an endpoint that identified a client (revocation, introspection,
/// userinfo): `Vary: Origin` always, the origin allowed only when that client registered it.
pub fn finish(origin: Option<&str>, answer: (HttpResponse, Vec<String>)) -> HttpResponse {
    let (mut res, client_origins) = answer;
    let allowed = client_allows(&client_origins, origin);
    apply(&mut res, origin, allowed);
    res
}

/// Finishes an answer given before the request identified a client (its form or its
/// `Authorization` header was refused): like a preflight, the origin is allowed when some
/// enabled client registers it, so that a browser app sees the 4xx instead of a CORS failure.
pub async fn finish_unidentified(
    req: &HttpRequest,
    state: &AppState,
    mut res: HttpResponse,
) -> HttpResponse {
    let origin = origin(req);
    let registered = registered(state, origin.clone()).await;
    apply(&mut res, origin.as_deref(), registered);
    res
}

/// Whether some enabled client registers `origin` (a failed lookup counts as no).
async fn registered(state: &AppState, origin: Option<String>) -> bool {
    match origin {
        Some(o) => state
            .db
            .run(move |conn| clients::origin_is_registered(conn, &o))
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, "CORS origin lookup failed");
                false
            }),
        None => false,
    }
}

/// Answers an `OPTIONS` preflight: 204 with the CORS grant when some enabled client registers
/// the origin, a plain 204 without it otherwise (the browser then blocks the real request).
pub async fn preflight(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    preflight_for(req, state, "POST").await
}

/// The preflight of `/userinfo`, which takes GET and POST (OIDC Core §5.3).
pub async fn preflight_get_post(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    preflight_for(req, state, "GET, POST").await
}

async fn preflight_for(
    req: HttpRequest,
    state: web::Data<AppState>,
    methods: &'static str,
) -> HttpResponse {
    let origin = origin(&req);
    let registered = registered(&state, origin.clone()).await;
    let mut res = HttpResponse::NoContent().finish();
    if registered {
        let headers = res.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(MAX_AGE_SECONDS),
        );
    }
    apply(&mut res, origin.as_deref(), registered);
    res
}
