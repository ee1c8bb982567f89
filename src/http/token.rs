//! `POST /token` (OAuth 2.1 §3.2): extracts the form and the credentials, runs
//! [`oauth::token::exchange`] in one `db.run`, and writes the JSON answer with
//! `Cache-Control: no-store` and `Pragma: no-cache`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::cors;
use crate::http::errors::oauth_json;
use crate::http::form::{client_request, FormRejection, OAuthForm};
use crate::oauth;
use crate::oauth::error::OAuthError;
use crate::oauth::token::TokenContext;
use crate::storage::now;
use crate::AppState;

/// The token endpoint.
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<OAuthForm, FormRejection>,
) -> HttpResponse {
    let origin = cors::origin(&req);
    let (params, authorization) = match client_request(&req, &state, form).await {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    let ctx = TokenContext {
        issuer: state.issuer.clone(),
        settings: state.settings.clone(),
        keys: state.keys.current(),
        ip: req.peer_addr().map(|a| a.ip().to_string()),
    };
    let result = state
        .db
        .run(move |conn| {
            Ok(oauth::token::exchange(
                conn,
                &params,
                authorization.as_deref(),
                &ctx,
                now(),
            ))
        })
        .await;
    let (mut res, allowed) = match result {
        Ok(exchange) => {
            let allowed = cors::client_allows(&exchange.client_origins, origin.as_deref());
            let res = match exchange.result {
                Ok(body) => HttpResponse::Ok()
                    .insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header((header::PRAGMA, "no-cache"))
                    .json(body),
                Err(err) => oauth_json(&err),
            };
            (res, allowed)
        }
        Err(err) => (oauth_json(&OAuthError::from(err)), false),
    };
    cors::apply(&mut res, origin.as_deref(), allowed);
    res
}

/// Any method but POST and OPTIONS: 405 with an OAuth JSON body (OAuth 2.1 §3.2: the client
/// MUST use POST), never a framework default.
pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let mut res = oauth_json(&OAuthError::invalid_request(
        "the token endpoint accepts POST only",
    ));
    *res.status_mut() = actix_web::http::StatusCode::METHOD_NOT_ALLOWED;
    res.headers_mut().insert(
        header::ALLOW,
        header::HeaderValue::from_static("POST, OPTIONS"),
    );
    cors::apply(&mut res, cors::origin(&req).as_deref(), false);
    res
}
