//! `GET`/`POST /login` and, when `self_registration` is on, `GET`/`POST /register`.
//!
//! The forms are protected by a pre-session CSRF cookie (double submit: a random HttpOnly
//! cookie, and in the form an HMAC of it for this form's purpose). A successful login creates
//! a new session (a new id every time), sets the session cookie and a one-use fresh-login
//! marker, and answers 303 to `return_to` — which is only ever a relative `/authorize?…` URL,
//! `/account` or an admin console page (RFC 9700 §4.11: no open redirector).

use actix_web::http::header::{HeaderValue, SET_COOKIE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::account::authorization::{authorize_query, login_context};
use crate::account::login::{self, LoginAttempt, LoginError};
use crate::account::session::{
    self, csrf_token, fresh_login_marker, hash_cookie, NewSession, CSRF_LOGIN, CSRF_REGISTER,
};
use crate::crypto::secrets::PlainSecret;
use crate::http::session::{
    client_ip, cookie, error_page, fresh_cookie_name, login_csrf_cookie_name, page, read_cookie,
    read_form_text, see_other, session_cookie_name, storage_failure, user_agent,
};
use crate::oauth::params::Params;
use crate::storage::now;
use crate::web::{render, LoginPage, RegisterPage};
use crate::AppState;

/// Longest email accepted by the forms.
const MAX_EMAIL: usize = 320;

/// `return_to` if it points at this server's /authorize, /account or admin console, else "".
pub fn safe_return_to(value: Option<&str>) -> String {
    match value {
        Some(v) if v == "/account" || authorize_query(v).is_some() || is_admin_return_to(v) => {
            v.to_string()
        }
        _ => String::new(),
    }
}

/// Whether `value` is a page of the admin console on this server: `/admin`, or `/admin/…` or
/// `/admin?…` made only of unreserved and query characters (no `//`, `\`, `@`, scheme or
/// control character), so it can only ever be a same-site path (RFC 9700 §4.11).
pub fn is_admin_return_to(value: &str) -> bool {
    let rest = match value.strip_prefix("/admin") {
        Some(rest) => rest,
        None => return false,
    };
    value.len() <= 512
        && (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        && !value.contains("//")
        && !value.starts_with("/admin/api")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~?=&%+".contains(&b))
}

fn after_login(return_to: &str) -> &str {
    if return_to.is_empty() {
        "/account"
    } else {
        return_to
    }
}

/// The pre-session CSRF key: the browser's cookie, or a new one to set.
fn csrf_key(req: &HttpRequest, state: &AppState) -> (String, bool) {
    match read_cookie(req, login_csrf_cookie_name(&state.settings)) {
        Some(v) => (v, false),
        None => (PlainSecret::generate().expose().to_string(), true),
    }
}

fn with_csrf_cookie(mut res: HttpResponse, state: &AppState, key: &str, new: bool) -> HttpResponse {
    if new {
        let value = cookie(
            &state.settings,
            login_csrf_cookie_name(&state.settings),
            key,
            false,
            None,
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

fn href(path: &str, return_to: &str) -> String {
    if return_to.is_empty() {
        path.to_string()
    } else {
        url::form_urlencoded::Serializer::for_suffix(format!("{path}?"), path.len() + 1)
            .append_pair("return_to", return_to)
            .finish()
    }
}

/// Renders the login page for `return_to` (with the asking client's name, and its redirect
/// origin allowed as a form target).
async fn login_page(
    state: &AppState,
    status: StatusCode,
    key: &str,
    return_to: &str,
    email: &str,
    error: Option<String>,
) -> HttpResponse {
    let rt = return_to.to_string();
    let context = if authorize_query(return_to).is_some() {
        match state.db.run(move |conn| login_context(conn, &rt)).await {
            Ok(c) => c,
            Err(e) => return storage_failure(e),
        }
    } else {
        None
    };
    let (client_name, form_action) = match context {
        Some((name, action)) => (Some(name), Some(action)),
        None => (None, None),
    };
    let html = render(&LoginPage {
        csrf_token: csrf_token(key.as_bytes(), CSRF_LOGIN),
        return_to: return_to.to_string(),
        email: email.to_string(),
        error,
        client_name,
        self_registration: state.settings.self_registration,
        register_href: href("/register", return_to),
    });
    page(status, html, form_action.as_deref())
}

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let query = Params::parse(req.query_string()).unwrap_or_default();
    let return_to = safe_return_to(query.get("return_to"));
    if return_to.is_empty() {
        // Already signed in and nothing to continue: go to the account page.
        if let Some(value) = read_cookie(&req, session_cookie_name(&state.settings)) {
            let settings = state.settings.clone();
            let now = now();
            match state
                .db
                .run(move |conn| session::resume(conn, &value, now, &settings.sessions))
                .await
            {
                Ok(Some(_)) => return see_other("/account").finish(),
                Ok(None) => {}
                Err(e) => return storage_failure(e),
            }
        }
    }
    let (key, new) = csrf_key(&req, &state);
    let res = login_page(&state, StatusCode::OK, &key, &return_to, "", None).await;
    with_csrf_cookie(res, &state, &key, new)
}

/// Sets the new session's cookies and redirects: the session cookie (persistent only with
/// "keep me signed in", then up to the absolute lifetime) and the fresh-login marker.
fn signed_in(state: &AppState, session: &NewSession, return_to: &str, now: i64) -> HttpResponse {
    let settings = &state.settings;
    let max_age = session
        .row
        .persistent
        .then(|| session.row.expires_at.saturating_sub(now));
    let mut res = see_other(after_login(return_to));
    res.append_header((
        SET_COOKIE,
        cookie(
            settings,
            session_cookie_name(settings),
            session.cookie_value.expose(),
            true,
            max_age,
        ),
    ));
    res.append_header((
        SET_COOKIE,
        cookie(
            settings,
            fresh_cookie_name(settings),
            &fresh_login_marker(&session.row.csrf_secret, session.row.auth_time),
            false,
            Some(600),
        ),
    ));
    res.finish()
}

struct FormInput {
    return_to: String,
    email: String,
    password: String,
    persistent: bool,
    csrf_ok: bool,
}

async fn read_input(
    req: &HttpRequest,
    payload: &mut web::Payload,
    key: &str,
    purpose: &str,
) -> Result<FormInput, HttpResponse> {
    let raw = read_form_text(req, payload).await?;
    let form = Params::parse(&raw).map_err(|_| {
        error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is malformed.",
        )
    })?;
    let presented = if form.is_duplicated("csrf_token") {
        None
    } else {
        form.get("csrf_token")
    };
    Ok(FormInput {
        return_to: safe_return_to(form.get("return_to")),
        email: form
            .get("email")
            .unwrap_or_default()
            .chars()
            .take(MAX_EMAIL)
            .collect(),
        password: form.get("password").unwrap_or_default().to_string(),
        persistent: form.get("remember").is_some(),
        csrf_ok: session::verify_csrf(key.as_bytes(), purpose, presented),
    })
}

pub async fn post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (key, new) = csrf_key(&req, &state);
    let input = match read_input(&req, &mut payload, &key, CSRF_LOGIN).await {
        Ok(i) => i,
        Err(res) => return res,
    };
    if !input.csrf_ok {
        // Nothing is checked or changed; the page comes back with a valid form.
        let res = login_page(
            &state,
            StatusCode::BAD_REQUEST,
            &key,
            &input.return_to,
            &input.email,
            Some("The form expired. Please sign in again.".into()),
        )
        .await;
        return with_csrf_cookie(res, &state, &key, new);
    }
    let now = now();
    let attempt = LoginAttempt {
        email: input.email.clone(),
        password: input.password,
        persistent: input.persistent,
        user_agent: user_agent(&req),
        ip: client_ip(&req, &state.settings),
        previous_session: read_cookie(&req, session_cookie_name(&state.settings))
            .map(|v| hash_cookie(&v)),
    };
    match login::login(&state.db, &state.settings, attempt, now).await {
        Ok(session) => signed_in(&state, &session, &input.return_to, now),
        Err(err) => login_failed(&state, &key, new, &input.return_to, &input.email, err).await,
    }
}

async fn login_failed(
    state: &AppState,
    key: &str,
    new: bool,
    return_to: &str,
    email: &str,
    err: LoginError,
) -> HttpResponse {
    let message = err.to_string();
    let status = match err {
        LoginError::Storage(e) => return storage_failure(e),
        LoginError::Throttled => StatusCode::TOO_MANY_REQUESTS,
        // Not 401: RFC 9110 §15.5.2 requires a 401 to carry a `WWW-Authenticate` challenge
        // for the resource, and a login form has no HTTP authentication scheme to offer.
        LoginError::BadCredentials | LoginError::Invalid(_) | LoginError::Exists => {
            StatusCode::BAD_REQUEST
        }
    };
    let res = login_page(state, status, key, return_to, email, Some(message)).await;
    with_csrf_cookie(res, state, key, new)
}

fn registration_closed() -> HttpResponse {
    error_page(
        StatusCode::NOT_FOUND,
        "Not found",
        "Registration is not open on this server.",
    )
}

fn register_page(
    state: &AppState,
    status: StatusCode,
    key: &str,
    return_to: &str,
    email: &str,
    error: Option<String>,
) -> HttpResponse {
    let _ = state;
    let html = render(&RegisterPage {
        csrf_token: csrf_token(key.as_bytes(), CSRF_REGISTER),
        return_to: return_to.to_string(),
        email: email.to_string(),
        error,
        login_href: href("/login", return_to),
    });
    page(status, html, None)
}

pub async fn register_get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.settings.self_registration {
        return registration_closed();
    }
    let query = Params::parse(req.query_string()).unwrap_or_default();
    let return_to = safe_return_to(query.get("return_to"));
    let (key, new) = csrf_key(&req, &state);
    let res = register_page(&state, StatusCode::OK, &key, &return_to, "", None);
    with_csrf_cookie(res, &state, &key, new)
}

pub async fn register_post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.settings.self_registration {
        return registration_closed();
    }
    let (key, new) = csrf_key(&req, &state);
    let input = match read_input(&req, &mut payload, &key, CSRF_REGISTER).await {
        Ok(i) => i,
        Err(res) => return res,
    };
    let fail = |status, message: String| {
        let res = register_page(
            &state,
            status,
            &key,
            &input.return_to,
            &input.email,
            Some(message),
        );
        with_csrf_cookie(res, &state, &key, new)
    };
    if !input.csrf_ok {
        return fail(
            StatusCode::BAD_REQUEST,
            "The form expired. Please try again.".into(),
        );
    }
    let now = now();
    let attempt = LoginAttempt {
        email: input.email.clone(),
        password: input.password.clone(),
        persistent: false,
        user_agent: user_agent(&req),
        ip: client_ip(&req, &state.settings),
        previous_session: read_cookie(&req, session_cookie_name(&state.settings))
            .map(|v| hash_cookie(&v)),
    };
    match login::register(&state.db, &state.settings, attempt, now).await {
        Ok(session) => signed_in(&state, &session, &input.return_to, now),
        Err(LoginError::Storage(e)) => storage_failure(e),
        Err(LoginError::Throttled) => fail(
            StatusCode::TOO_MANY_REQUESTS,
            LoginError::Throttled.to_string(),
        ),
        Err(e) => fail(StatusCode::BAD_REQUEST, e.to_string()),
    }
}
