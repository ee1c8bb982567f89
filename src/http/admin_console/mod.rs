//! The admin web console under `/admin` (docs/admin-console.md): server-rendered pages, no
//! scripts. An admin signs in through the ordinary SSO login (`/login?return_to=/admin…`);
//! every request re-checks, in the same `db.run` as its work, that the session is live and
//! its user an enabled admin. Every form carries a CSRF token bound to the session
//! (HMAC of the session's `csrf_secret` for [`CSRF_ADMIN`]); a POST without the right one
//! changes nothing. Changes go through `registry`, which writes the audit log with the
//! admin's email as actor.
//!
//! The routes are exact paths, registered after the `/admin/api` scope, so the console never
//! shadows the JSON API.

pub mod audit;
pub mod clients;
pub mod identities;
pub mod secret;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::account::session::{self, csrf_token, CSRF_SESSION};
use crate::http::logout::csrf_refused;
use crate::http::session::{
    error_page, page, read_cookie, read_form_text, see_other, session_cookie_name, storage_failure,
};
use crate::oauth::params::Params;
use crate::storage::{now, Conn, StorageError};
use crate::web::admin::{Chrome, MessagePage};
use crate::web::render;
use crate::AppState;

/// The CSRF purpose of every console form: a token for the account page's forms (or any
/// other purpose) is useless here.
pub const CSRF_ADMIN: &str = "admin-console";

/// Longest `client_id` or identity id looked up (ours are far shorter).
const MAX_ID: usize = 128;

/// Registers the console's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(clients::list))
        .route(
            "/admin/clients",
            web::get().to(|| async { see_other("/admin").finish() }),
        )
        .route("/admin/clients", web::post().to(clients::create))
        .route("/admin/clients/new", web::get().to(clients::new_form))
        .route("/admin/audit", web::get().to(audit::recent))
        .route("/admin/clients/{client_id}", web::get().to(clients::show))
        .route(
            "/admin/clients/{client_id}/edit",
            web::get().to(clients::edit_form),
        )
        .route(
            "/admin/clients/{client_id}/edit",
            web::post().to(clients::update),
        )
        .route(
            "/admin/clients/{client_id}/enabled",
            web::post().to(clients::set_enabled),
        )
        .route(
            "/admin/clients/{client_id}/delete",
            web::get().to(clients::confirm_delete),
        )
        .route(
            "/admin/clients/{client_id}/delete",
            web::post().to(clients::delete),
        )
        .route(
            "/admin/clients/{client_id}/secret",
            web::post().to(secret::rotate),
        )
        .route(
            "/admin/clients/{client_id}/app-identities/new",
            web::get().to(identities::new_form),
        )
        .route(
            "/admin/clients/{client_id}/app-identities",
            web::post().to(identities::add),
        )
        .route(
            "/admin/clients/{client_id}/app-identities/{identity_id}/delete",
            web::post().to(identities::remove),
        );
}

/// The signed-in admin.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user_id: String,
    pub email: String,
    pub chrome: Chrome,
}

/// Whether a request must carry the console CSRF token (every POST) and which one it sent.
pub enum Csrf {
    /// A page view: nothing changes.
    NotNeeded,
    /// A form submission and the token it carried, if any.
    Presented(Option<String>),
}

enum Access<T> {
    NoSession,
    NotAdmin(String),
    BadCsrf,
    Granted(Admin, T),
}

/// Checks the session, the admin flag and the CSRF token, then runs `op`, all in one
/// `db.run`. `Err` is the response to send instead: a redirect to the login page, the 403
/// page for a non-admin, the CSRF refusal (nothing changed), or a storage failure.
pub async fn run<T, F>(
    req: &HttpRequest,
    state: &AppState,
    csrf: Csrf,
    op: F,
) -> Result<(Admin, T), HttpResponse>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn, &Admin, i64) -> Result<T, StorageError> + Send + 'static,
{
    let settings = state.settings.clone();
    let Some(cookie_value) = read_cookie(req, session_cookie_name(&settings)) else {
        return Err(to_login(req));
    };
    let result = state
        .db
        .run(move |conn| {
            let now = now();
            let Some((s, user)) = session::resume(conn, &cookie_value, now, &settings.sessions)?
            else {
                return Ok(Access::NoSession);
            };
            if !user.is_admin {
                return Ok(Access::NotAdmin(user.email));
            }
            if let Csrf::Presented(token) = &csrf {
                if !session::verify_csrf(&s.csrf_secret, CSRF_ADMIN, token.as_deref()) {
                    return Ok(Access::BadCsrf);
                }
            }
            let admin = Admin {
                user_id: user.user_id,
                email: user.email.clone(),
                chrome: Chrome {
                    email: user.email,
                    csrf_token: csrf_token(&s.csrf_secret, CSRF_ADMIN),
                    logout_csrf: csrf_token(&s.csrf_secret, CSRF_SESSION),
                },
            };
            let out = op(conn, &admin, now)?;
            Ok(Access::Granted(admin, out))
        })
        .await;
    match result {
        Err(e) => Err(storage_failure(e)),
        Ok(Access::NoSession) => Err(to_login(req)),
        Ok(Access::NotAdmin(email)) => Err(error_page(
            StatusCode::FORBIDDEN,
            "Not an administrator",
            &format!("You are signed in as {email}, which is not an administrator of this server."),
        )),
        Ok(Access::BadCsrf) => Err(csrf_refused()),
        Ok(Access::Granted(admin, out)) => Ok((admin, out)),
    }
}

/// 303 to the login page, coming back here afterwards: to this page for a page view, to the
/// console's start for a form submission (a POST cannot be replayed by a redirect).
fn to_login(req: &HttpRequest) -> HttpResponse {
    let back = if req.method() == actix_web::http::Method::GET {
        let path = req.uri().path();
        match req.uri().query() {
            Some(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path.to_string(),
        }
    } else {
        "/admin".to_string()
    };
    let back = if crate::http::login::is_admin_return_to(&back) {
        back
    } else {
        "/admin".to_string()
    };
    let location = url::form_urlencoded::Serializer::for_suffix("/login?".to_string(), 7)
        .append_pair("return_to", &back)
        .finish();
    see_other(&location).finish()
}

/// A console form: read (form type, size-limited, UTF-8), parsed strictly. A field sent
/// twice makes the whole form invalid (a second `csrf_token` must not pick the one checked).
pub async fn read_form(
    req: &HttpRequest,
    payload: &mut web::Payload,
) -> Result<Params, HttpResponse> {
    let raw = read_form_text(req, payload).await?;
    match Params::parse(&raw) {
        Ok(form) if form.any_duplicate().is_none() => Ok(form),
        _ => Err(error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The form is malformed. Nothing was changed.",
        )),
    }
}

/// A form posted to one client's page: the path's client id (an implausible one is answered
/// 404 without a lookup) and the parsed form.
pub async fn client_form(
    req: &HttpRequest,
    payload: &mut web::Payload,
    path: web::Path<String>,
) -> Result<(String, Params), HttpResponse> {
    let id = path.into_inner();
    if !plausible_id(&id) {
        return Err(implausible());
    }
    Ok((id, read_form(req, payload).await?))
}

/// A page about one client (GET, no CSRF): the path's client id checked, the client loaded
/// in the admin's `db.run`, `page` rendering it, or the "no such client" page.
pub async fn client_page(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    path: web::Path<String>,
    page: impl FnOnce(Admin, &str, crate::storage::clients::Client) -> HttpResponse,
) -> HttpResponse {
    let id = path.into_inner();
    if !plausible_id(&id) {
        return implausible();
    }
    let lookup = id.clone();
    match run(req, state, Csrf::NotNeeded, move |conn, _, _| {
        crate::storage::clients::find(conn, &lookup)
    })
    .await
    {
        Ok((admin, Some(client))) => page(admin, &id, client),
        Ok((admin, None)) => no_client(&admin, &id),
        Err(res) => res,
    }
}

/// The CSRF token a form carried.
pub fn presented(form: &Params) -> Csrf {
    Csrf::Presented(form.get("csrf_token").map(str::to_string))
}

/// A path id that could be ours; anything longer is answered 404 without a lookup.
pub fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID
}

/// A console page response (never cached: `page` sets `no-store`).
pub fn console_page(status: StatusCode, html: String) -> HttpResponse {
    page(status, html, None)
}

/// An error inside the console, with its navigation.
pub fn message(admin: &Admin, status: StatusCode, title: &str, text: &str) -> HttpResponse {
    console_page(
        status,
        render(&MessagePage {
            chrome: admin.chrome.clone(),
            title: title.to_string(),
            message: text.to_string(),
        }),
    )
}

/// The "no such client" page.
pub fn no_client(admin: &Admin, client_id: &str) -> HttpResponse {
    message(
        admin,
        StatusCode::NOT_FOUND,
        "Client not found",
        &format!("There is no client {client_id}."),
    )
}

/// 404 for a path id that cannot be ours (no session check needed: nothing is revealed).
pub fn implausible() -> HttpResponse {
    error_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}
