//! `GET /account`: the user's sessions and connected applications, with revoke buttons.
//! `POST /account/sessions/revoke` and `POST /account/apps/revoke` (CSRF-protected) end
//! another session or remove an application's access (its consent and refresh tokens).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::account::session::{self, csrf_token, end_session, CSRF_SESSION};
use crate::http::logout::{csrf_refused, Guard};
use crate::http::session::{
    client_ip, error_page, page, read_cookie, read_form_text, see_other, session_cookie_name,
    storage_failure,
};
use crate::oauth::params::Params;
use crate::storage::audit::{self, AuditEvent};
use crate::storage::{consents, now, sessions};
use crate::web::{format_time, render, AccountPage, AppLine, SessionLine};
use crate::AppState;

fn to_login() -> HttpResponse {
    see_other("/login?return_to=%2Faccount").finish()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let settings = state.settings.clone();
    let Some(cookie_value) = read_cookie(&req, session_cookie_name(&settings)) else {
        return to_login();
    };
    let now = now();
    let result = state
        .db
        .run(move |conn| {
            let Some((s, user)) = session::resume(conn, &cookie_value, now, &settings.sessions)?
            else {
                return Ok(None);
            };
            let all =
                sessions::list_for_user(conn, &s.user_id, now, settings.sessions.idle_ttl_seconds)?;
            let apps = consents::list_for_user(conn, &s.user_id)?;
            Ok(Some((s, user, all, apps)))
        })
        .await;
    let (current, user, all, apps) = match result {
        Ok(Some(found)) => found,
        Ok(None) => return to_login(),
        Err(e) => return storage_failure(e),
    };
    let html = render(&AccountPage {
        email: user.email,
        csrf_token: csrf_token(&current.csrf_secret, CSRF_SESSION),
        sessions: all
            .into_iter()
            .map(|s| SessionLine {
                handle: hex(&s.session_hash),
                created: format_time(s.created_at),
                last_seen: format_time(s.last_seen_at),
                user_agent: s.user_agent.unwrap_or_else(|| "Unknown browser".into()),
                ip: s.ip.unwrap_or_else(|| "unknown address".into()),
                current: s.session_hash == current.session_hash,
            })
            .collect(),
        apps: apps
            .into_iter()
            .map(|(c, name)| AppLine {
                client_id: c.client_id,
                client_name: name,
                scope: c.scope,
                since: format_time(c.created_at),
            })
            .collect(),
    });
    page(StatusCode::OK, html, None)
}

/// What a revoke form asks for.
enum Revoke {
    Session(Vec<u8>),
    App(String),
}

async fn revoke(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
    field: &'static str,
) -> HttpResponse {
    let raw = match read_form_text(&req, &mut payload).await {
        Ok(raw) => raw,
        Err(res) => return res,
    };
    let form = Params::parse(&raw).unwrap_or_default();
    if form.any_duplicate().is_some() {
        return csrf_refused();
    }
    let csrf = form.get("csrf_token").map(str::to_string);
    let target = match (field, form.get(field)) {
        ("session", Some(v)) => unhex(v).map(Revoke::Session),
        ("client_id", Some(v)) if v.len() <= 128 => Some(Revoke::App(v.to_string())),
        _ => None,
    };
    let Some(target) = target else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is not valid.",
        );
    };
    let settings = state.settings.clone();
    let Some(cookie_value) = read_cookie(&req, session_cookie_name(&settings)) else {
        return to_login();
    };
    let ip = client_ip(&req, &settings);
    let now = now();
    let result = state
        .db
        .run(move |conn| {
            let Some((s, _)) = session::resume(conn, &cookie_value, now, &settings.sessions)?
            else {
                return Ok(Guard::NoSession);
            };
            if !session::verify_csrf(&s.csrf_secret, CSRF_SESSION, csrf.as_deref()) {
                return Ok(Guard::BadCsrf);
            }
            match target {
                Revoke::Session(hash) => {
                    if end_session(conn, &hash, Some(&s.user_id), now)? {
                        audit::record(
                            conn,
                            &AuditEvent::new("session_revoked", now)
                                .user(&s.user_id)
                                .ip(ip),
                        )?;
                    }
                }
                Revoke::App(client_id) => {
                    if consents::delete(conn, &s.user_id, &client_id, now)? {
                        audit::record(
                            conn,
                            &AuditEvent::new("consent_revoked", now)
                                .user(&s.user_id)
                                .client(&client_id)
                                .ip(ip),
                        )?;
                    }
                }
            }
            Ok(Guard::Done(()))
        })
        .await;
    match result {
        Err(e) => storage_failure(e),
        Ok(Guard::NoSession) => to_login(),
        Ok(Guard::BadCsrf) => csrf_refused(),
        Ok(Guard::Done(())) => see_other("/account").finish(),
    }
}

pub async fn revoke_session(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    revoke(req, payload, state, "session").await
}

pub async fn revoke_app(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    revoke(req, payload, state, "client_id").await
}
