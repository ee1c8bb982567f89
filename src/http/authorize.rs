//! `GET /authorize` (query) and `POST /authorize` (form body): OAuth 2.1 §3.1 requires GET,
//! OIDC Core §3.1.2.1 adds POST. No CORS here (OAuth 2.1 §3.1, RFC 9700 §2.6): this is a
//! top-level navigation, never a cross-origin fetch.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::account::authorization::{self, Browser, Env, Outcome, Output};
use crate::http::session::{
    client_ip, error_page, expired_cookie, fresh_cookie_name, no_store, page, read_cookie,
    read_form_text, see_other, session_cookie_name, storage_failure,
};
use crate::oauth::authorize::AppIdentityRefusal;
use crate::oauth::params::Params;
use crate::storage::{now, StorageError};
use crate::web::{render, AppIdentityErrorPage, ConsentPage, ScopeLine};
use crate::AppState;

pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let raw = req.query_string().to_string();
    handle(&req, &state, raw).await
}

pub async fn post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    match read_form_text(&req, &mut payload).await {
        Ok(raw) => handle(&req, &state, raw).await,
        Err(res) => res,
    }
}

/// The environment of the authorization rules, from the app state.
pub fn env(state: &AppState) -> Env {
    Env {
        issuer: state.issuer.clone(),
        settings: state.settings.clone(),
        keys: state.keys.current(),
    }
}

/// What the browser presented.
pub fn browser(req: &HttpRequest, state: &AppState) -> Browser {
    Browser {
        session_cookie: read_cookie(req, session_cookie_name(&state.settings)),
        fresh_marker: read_cookie(req, fresh_cookie_name(&state.settings)),
        ip: client_ip(req, &state.settings),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(256).collect()),
        accepts_json: accepts_json(req),
    }
}

/// Whether the caller asked for JSON rather than a page: `Accept` names `application/json`
/// and not `text/html` (browsers always list `text/html`).
fn accepts_json(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    let names = |t: &str| {
        accept
            .split(',')
            .any(|part| part.split(';').next().unwrap_or("").trim() == t)
    };
    names("application/json") && !names("text/html")
}

/// An app identity refusal: 400, never a redirect. JSON (`error`, `error_description`) for a
/// caller that asked for it, else the page "This app could not be verified".
fn app_identity_refused(refusal: AppIdentityRefusal, json: bool) -> HttpResponse {
    if json {
        // The description is ours and ASCII (RFC 6749 §5.2 character set): the client's name
        // is not in it.
        let mut res = HttpResponse::build(StatusCode::BAD_REQUEST);
        no_store(&mut res);
        return res.json(serde_json::json!({
            "error": refusal.error.as_str(),
            "error_description": refusal.description,
        }));
    }
    let AppIdentityRefusal {
        error,
        description,
        client_name,
        presented: shown,
        ..
    } = refusal;
    let html = render(&AppIdentityErrorPage {
        client_name,
        error_code: error.as_str().to_string(),
        description,
        platform: shown.platform,
        app_id: shown.app_id,
        team_id: shown.team_id,
        cert_sha256: shown.cert_sha256,
        cert_sha1: shown.cert_sha1,
    });
    page(StatusCode::BAD_REQUEST, html, None)
}

async fn handle(req: &HttpRequest, state: &AppState, raw: String) -> HttpResponse {
    let Ok(params) = Params::parse(&raw) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The authorization request is malformed.",
        );
    };
    // The request itself, replayed after login; only ever a relative /authorize URL.
    let return_to = format!("/authorize?{raw}");
    let env = env(state);
    let browser = browser(req, state);
    let now = now();
    let rt = return_to.clone();
    let result = state
        .db
        .run(move |conn| authorization::authorize(conn, &env, &params, &rt, &browser, now))
        .await;
    respond(state, result, &return_to)
}

/// Shapes an authorization outcome (shared with `POST /consent`).
pub fn respond(
    state: &AppState,
    result: Result<Output, StorageError>,
    return_to: &str,
) -> HttpResponse {
    let output = match result {
        Ok(o) => o,
        Err(e) => return storage_failure(e),
    };
    let mut res = match output.outcome {
        Outcome::Page(message) => error_page(StatusCode::BAD_REQUEST, "Cannot continue", &message),
        Outcome::Redirect(location) => see_other(&location).finish(),
        Outcome::Login => {
            let target = url::form_urlencoded::Serializer::for_suffix(String::from("/login?"), 7)
                .append_pair("return_to", return_to)
                .finish();
            see_other(&target).finish()
        }
        Outcome::AppIdentityRefused { refusal, json } => app_identity_refused(*refusal, json),
        Outcome::Consent(screen) => {
            let html = render(&ConsentPage {
                client_name: screen.client_name,
                user_email: screen.user_email,
                scopes: screen
                    .scopes
                    .into_iter()
                    .map(|(name, description)| ScopeLine { name, description })
                    .collect(),
                redirect_host: screen.redirect_host,
                return_to: return_to.to_string(),
                csrf_token: screen.csrf_token,
                registered_app: screen.registered_app.map(|app| *app),
            });
            page(StatusCode::OK, html, Some(&screen.form_action))
        }
    };
    if output.fresh_marker_used {
        let value = expired_cookie(&state.settings, fresh_cookie_name(&state.settings), false);
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&value) {
            res.headers_mut()
                .append(actix_web::http::header::SET_COOKIE, v);
        }
    }
    res
}
