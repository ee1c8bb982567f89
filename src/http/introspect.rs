//! `POST /introspect` (RFC 7662). Client-authenticated; answers `{"active": false}` for
//! anything inactive, unknown or not visible to the caller.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::cors;
use crate::http::errors::oauth_json;
use crate::http::form::{client_request, FormRejection, OAuthForm};
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::introspection;
use crate::storage::now;
use crate::AppState;

pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Result<OAuthForm, FormRejection>,
) -> HttpResponse {
    let (params, authorization) = match client_request(&req, &state, form).await {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    // CORS (issue 6): `Vary: Origin` always; the origin is allowed only when the
    // authenticated caller registered it.
    let origin = cors::origin(&req);
    cors::finish(
        origin.as_deref(),
        respond(state, params, authorization).await,
    )
}

/// The answer, with the CORS origins of the authenticated caller (empty otherwise).
async fn respond(
    state: web::Data<AppState>,
    params: crate::oauth::params::Params,
    authorization: Option<String>,
) -> (HttpResponse, Vec<String>) {
    let presented = match client_auth::extract(authorization.as_deref(), &params) {
        // RFC 7662 §2.1: the caller MUST be authorized, so that tokens cannot be scanned; a
        // public client's bare client_id authenticates nothing.
        Ok(Presented::None { .. }) => {
            return (
                oauth_json(&OAuthError::invalid_client(
                    "introspection requires client authentication",
                )),
                Vec::new(),
            )
        }
        Ok(p) => p,
        Err(err) => return (oauth_json(&err), Vec::new()),
    };
    let request = match introspection::parse_request(&params) {
        Ok(r) => r,
        Err(err) => return (oauth_json(&err), Vec::new()),
    };
    let keys = state.keys.current().verifying_keys();
    let issuer = state.issuer.clone();
    let result = state
        .db
        .run(move |conn| {
            let mut origins = Vec::new();
            let answer = introspection::introspect(
                conn,
                &presented,
                &request,
                &keys,
                &issuer,
                now(),
                &mut origins,
            )?;
            Ok((answer, origins))
        })
        .await;
    match result {
        Ok((Ok(answer), origins)) => (
            HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .insert_header(("Pragma", "no-cache"))
                .json(answer),
            origins,
        ),
        Ok((Err(err), origins)) => (oauth_json(&err), origins),
        Err(err) => (oauth_json(&err.into()), Vec::new()),
    }
}
