//! `POST /revoke` (RFC 7009). Confidential clients authenticate; public clients send
//! `client_id`. Unknown, malformed and already revoked tokens answer 200 and change nothing.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::cors;
use crate::http::errors::oauth_json;
use crate::http::form::{client_request, FormRejection, OAuthForm};
use crate::oauth::client_auth;
use crate::oauth::introspection;
use crate::oauth::revocation;
use crate::storage::now;
use crate::AppState;

pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Result<OAuthForm, FormRejection>,
) -> HttpResponse {
    let (params, authorization) = match client_request(&req, &state, form).await {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    // CORS (issue 6): `Vary: Origin` always; the origin is allowed only when the identified
    // client registered it.
    let origin = cors::origin(&req);
    cors::finish(
        origin.as_deref(),
        respond(state, req, params, authorization).await,
    )
}

/// The answer, with the CORS origins of the identified client (empty otherwise).
async fn respond(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: crate::oauth::params::Params,
    authorization: Option<String>,
) -> (HttpResponse, Vec<String>) {
    let presented = match client_auth::extract(authorization.as_deref(), &params) {
        Ok(p) => p,
        Err(err) => return (oauth_json(&err), Vec::new()),
    };
    let request = match introspection::parse_request(&params) {
        Ok(r) => r,
        Err(err) => return (oauth_json(&err), Vec::new()),
    };
    let keys = state.keys.current().verifying_keys();
    let issuer = state.issuer.clone();
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let result = state
        .db
        .run(move |conn| {
            let mut origins = Vec::new();
            let answer = revocation::revoke(
                conn,
                &presented,
                &request,
                &keys,
                &issuer,
                ip,
                now(),
                &mut origins,
            )?;
            Ok((answer, origins))
        })
        .await;
    match result {
        // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
        Ok((Ok(()), origins)) => (
            HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .finish(),
            origins,
        ),
        Ok((Err(err), origins)) => (oauth_json(&err), origins),
        Err(err) => (oauth_json(&err.into()), Vec::new()),
    }
}
