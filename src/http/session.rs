//! Browser plumbing shared by the page endpoints: cookies (session, pre-session CSRF, fresh
//! login marker), the client address, HTML form bodies and page responses.
//!
//! Cookies are `HttpOnly; SameSite=Lax; Path=/` (Lax, not Strict: the cross-site top-level
//! GET to /authorize must carry the session, or SSO breaks), `Secure` when the issuer is
//! https. The session cookie is `__Host-portcullis_session` under https without
//! `cookie_domain`, `__Secure-portcullis_session` with one (`__Host-` forbids `Domain`), and
//! `portcullis_session` over plain-http loopback, where no prefix is allowed
//! (docs/decisions.md).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use futures_util::StreamExt;

use crate::config::Settings;
use crate::http::middleware::CSP;
use crate::http::BODY_LIMIT;
use crate::storage::StorageError;
use crate::web::{render, ErrorPage};

/// The SSO session cookie's name for these settings.
pub fn session_cookie_name(settings: &Settings) -> &'static str {
    match (settings.secure_cookies(), settings.cookie_domain.is_some()) {
        (true, false) => "__Host-portcullis_session",
        (true, true) => "__Secure-portcullis_session",
        (false, _) => "portcullis_session",
    }
}

/// The pre-session CSRF cookie of the login and registration forms (host-only).
pub fn login_csrf_cookie_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        "__Host-portcullis_login_csrf"
    } else {
        "portcullis_login_csrf"
    }
}

/// The fresh-login marker cookie (host-only).
pub fn fresh_cookie_name(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        "__Host-portcullis_fresh"
    } else {
        "portcullis_fresh"
    }
}

/// The value of cookie `name`, if the request carries one that looks like ours (base64url,
/// bounded): anything else is ignored rather than trusted.
pub fn read_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    for value in req.headers().get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((n, v)) = pair.trim().split_once('=') {
                let ok = !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if n == name && ok {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

/// A `Set-Cookie` value. `shared` adds the configured `Domain` (the session cookie only);
/// `max_age` `None` makes a browser-session cookie.
pub fn cookie(
    settings: &Settings,
    name: &str,
    value: &str,
    shared: bool,
    max_age: Option<i64>,
) -> String {
    let mut out = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if settings.secure_cookies() {
        out.push_str("; Secure");
    }
    if shared {
        if let Some(domain) = &settings.cookie_domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
    }
    if let Some(age) = max_age {
        out.push_str(&format!("; Max-Age={}", age.max(0)));
    }
    out
}

/// A `Set-Cookie` value that deletes the cookie.
pub fn expired_cookie(settings: &Settings, name: &str, shared: bool) -> String {
    cookie(settings, name, "", shared, Some(0))
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the last address
/// of `X-Forwarded-For` (the one that proxy saw).
pub fn client_ip(req: &HttpRequest, settings: &Settings) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    if settings.trusted_proxies.contains(&peer) {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        if let Some(ip) = forwarded {
            return Some(ip.to_string());
        }
    }
    Some(peer.to_string())
}

/// The user agent, for the account page's session list.
pub fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Reads a form body (`application/x-www-form-urlencoded`, at most [`BODY_LIMIT`] bytes,
/// UTF-8) as text. A refusal is an HTML error page.
pub async fn read_form_text(
    req: &HttpRequest,
    payload: &mut actix_web::web::Payload,
) -> Result<String, HttpResponse> {
    if !crate::http::form::is_form(req) {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form was not sent as a form.",
        ));
    }
    let too_large = || {
        error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Bad request",
            "The form is too large.",
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(1024);
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            error_page(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The form could not be read.",
            )
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| {
        error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is not valid UTF-8.",
        )
    })
}

/// An HTML page, never cached (pages carry CSRF tokens). `form_action` extends the CSP's
/// `form-action` with a client's redirect origin: browsers check it along the redirect chain
/// that follows a form submission, so the login and consent forms could otherwise not end at
/// the client.
pub fn page(status: StatusCode, html: String, form_action: Option<&str>) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    no_store(&mut res);
    res.content_type("text/html; charset=utf-8");
    if let Some(source) = form_action.filter(|s| is_csp_source(s)) {
        let csp = CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {source}"),
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            res.insert_header((header::CONTENT_SECURITY_POLICY, v));
        }
    }
    res.body(html)
}

/// A CSP source we build ourselves (an origin or `scheme:`) and nothing that could end the
/// directive or add another.
fn is_csp_source(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:/-+[]_".contains(&b))
}

/// `Cache-Control: no-store` (and the HTTP/1.0 `Pragma`) on a response.
pub fn no_store(res: &mut HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
}

/// The error page.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    page(
        status,
        render(&ErrorPage {
            title: title.to_string(),
            message: message.to_string(),
        }),
        None,
    )
}

/// A storage failure as a page: 503 when the database is unavailable, otherwise a generic
/// 500 with the cause only in the log.
pub fn storage_failure(err: StorageError) -> HttpResponse {
    match err {
        StorageError::Unavailable(cause) => {
            tracing::warn!(cause = %cause, "database unavailable");
            let mut res = error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The service is temporarily unavailable. Please try again in a moment.",
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
        other => {
            tracing::error!(cause = %other, "request failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Please try again.",
            )
        }
    }
}

/// A 303 See Other (OAuth 2.1 §7.5.3: never 307 after a POST that carried credentials).
pub fn see_other(location: &str) -> HttpResponseBuilder {
    let mut res = HttpResponse::SeeOther();
    no_store(&mut res);
    res.insert_header((header::LOCATION, location.to_string()));
    res
}
