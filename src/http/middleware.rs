//! Middleware: security headers on every response, and one structured log line per request
//! with a request id.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};

/// The Content-Security-Policy of every response. Pages whose form ends in a redirect to a
/// client extend `form-action` with that client's origin (see `http::session::page`).
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every response carries. Pages are never framed (clickjacking, OAuth 2.1 §7.11),
/// never leak the URL through `Referer` (RFC 9700 §4.2.4), and load nothing from third
/// parties. HSTS only when the issuer is https.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Content-Security-Policy", CSP));
    if https {
        headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    headers
}

/// Logs method, path (never the query: it may carry codes or state), status and duration
/// under a request id, and returns the id in `X-Request-Id`.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = crate::crypto::secrets::prefixed_id::<8>("");
    let method = req.method().clone();
    let path = req.path().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", request.id = %request_id);
    let _entered = span.enter();
    drop(_entered);
    let result = next.call(req).await;
    let elapsed_us = started.elapsed().as_micros() as u64;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                res.headers_mut()
                    .insert(HeaderName::from_static("x-request-id"), v);
            }
            if status >= 500 {
                tracing::error!(parent: &span, http.method = %method, http.path = %path, http.status = status, duration_us = elapsed_us, "request");
            } else {
                tracing::info!(parent: &span, http.method = %method, http.path = %path, http.status = status, duration_us = elapsed_us, "request");
            }
            Ok(res)
        }
        Err(err) => {
            tracing::error!(parent: &span, http.method = %method, http.path = %path, error = %err, duration_us = elapsed_us, "request failed");
            Err(err)
        }
    }
}
