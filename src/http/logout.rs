//! `POST /logout`: ends the SSO session (CSRF-protected) and revokes the refresh-token
//! families bound to it, except those granted `offline_access` (OIDC Core §11).

use actix_web::http::header::SET_COOKIE;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::account::session::{self, end_session, CSRF_SESSION};
use crate::http::session::{
    error_page, expired_cookie, read_cookie, read_form_text, see_other, session_cookie_name,
    storage_failure,
};
use crate::oauth::params::Params;
use crate::storage::audit::{self, AuditEvent};
use crate::storage::now;
use crate::AppState;

/// What a session-bound form submission found.
pub enum Guard<T> {
    /// No live session: nothing to do.
    NoSession,
    /// The CSRF token is missing or wrong: nothing was changed.
    BadCsrf,
    Done(T),
}

/// The CSRF refusal page.
pub fn csrf_refused() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "Request refused",
        "The form has expired or was not sent from this site. Nothing was changed.",
    )
}

pub async fn post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let raw = match read_form_text(&req, &mut payload).await {
        Ok(raw) => raw,
        Err(res) => return res,
    };
    let form = Params::parse(&raw).unwrap_or_default();
    let csrf = (!form.is_duplicated("csrf_token"))
        .then(|| form.get("csrf_token").map(str::to_string))
        .flatten();
    let settings = state.settings.clone();
    let Some(cookie_value) = read_cookie(&req, session_cookie_name(&settings)) else {
        return see_other("/login").finish();
    };
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
            end_session(conn, &s.session_hash, None, now)?;
            audit::record(conn, &AuditEvent::new("logout", now).user(&s.user_id))?;
            Ok(Guard::Done(()))
        })
        .await;
    match result {
        Err(e) => storage_failure(e),
        Ok(Guard::BadCsrf) => csrf_refused(),
        Ok(Guard::NoSession) | Ok(Guard::Done(())) => see_other("/login")
            .append_header((
                SET_COOKIE,
                expired_cookie(&state.settings, session_cookie_name(&state.settings), true),
            ))
            .finish(),
    }
}
