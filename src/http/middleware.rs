//! Middleware: security headers on every response, and one structured log line per request
//! with a request id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
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

/// A request id: 16 hex digits, unique within the process and unrelated across processes. It
/// correlates log lines and is no secret, so it is not drawn from the CSPRNG (which cost 6% of
/// a JWKS request): a counter, mixed with a random per-process key through SplitMix64's
/// finaliser, a bijection, so that two requests never share an id.
fn request_id() -> String {
    static KEY: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let key = *KEY.get_or_init(|| u64::from_le_bytes(crate::crypto::secrets::random_bytes::<8>()));
    let mut z = (key ^ COUNTER.fetch_add(1, Ordering::Relaxed)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("{:016x}", z ^ (z >> 31))
}

/// Logs method, path (never the query: it may carry codes or state), status and duration
/// under a request id, and returns the id in `X-Request-Id`.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = request_id();
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

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_sixteen_hex_digits_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| super::request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
