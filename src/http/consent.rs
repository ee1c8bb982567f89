//! `POST /consent`: the answer to the consent page. CSRF-protected and bound to the session
//! and to the exact request shown; the request is validated again from scratch. Answers 303
//! (OAuth 2.1 §7.5.3).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::account::authorization::{self, Answer};
use crate::http::authorize::{browser, env, respond};
use crate::http::session::{error_page, read_form_text};
use crate::oauth::params::Params;
use crate::storage::now;
use crate::AppState;

pub async fn post(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let raw = match read_form_text(&req, &mut payload).await {
        Ok(raw) => raw,
        Err(res) => return res,
    };
    let bad = || {
        error_page(
            StatusCode::BAD_REQUEST,
            "Cannot continue",
            "The consent form is not valid.",
        )
    };
    let Ok(form) = Params::parse(&raw) else {
        return bad();
    };
    if form.any_duplicate().is_some() {
        return bad();
    }
    let answer = match form.get("decision") {
        Some("approve") => Answer::Approve,
        Some("deny") => Answer::Deny,
        _ => return bad(),
    };
    let Some(return_to) = form.get("return_to").map(str::to_string) else {
        return bad();
    };
    let csrf = form.get("csrf_token").map(str::to_string);
    let env = env(&state);
    let browser = browser(&req, &state);
    let now = now();
    let rt = return_to.clone();
    let result = state
        .db
        .run(move |conn| {
            authorization::answer_consent(conn, &env, &rt, csrf.as_deref(), answer, &browser, now)
        })
        .await;
    respond(&state, result, &return_to)
}
