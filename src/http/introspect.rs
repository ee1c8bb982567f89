//! `POST /introspect` (RFC 7662). Client-authenticated; answers `{"active": false}` for
//! anything inactive, unknown or not visible to the caller.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::crypto::secrets::SecretHash;
use crate::http::cors;
use crate::http::errors::oauth_json;
use crate::http::form::{client_request, FormRejection, OAuthForm};
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::introspection::{self, Introspection, TokenRequest};
use crate::storage::{clients, families, now, refresh_tokens, resources, Conn, StorageError};
use crate::verify::token::{self, Expectations, KeyStore};
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
            let answer = run(
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

/// Authenticates the caller, then looks the token up: first as the kind its shape says,
/// the hint only ordering nothing it could miss.
fn run(
    conn: &mut Conn,
    presented: &Presented,
    request: &TokenRequest,
    keys: &KeyStore,
    issuer: &str,
    now: i64,
    origins: &mut Vec<String>,
) -> Result<Result<Introspection, OAuthError>, StorageError> {
    let client = clients::find(conn, presented.client_id())?;
    if let Err(err) = client_auth::authenticate(presented, client.as_ref(), now) {
        return Ok(Err(err));
    }
    if let Some(client) = client {
        *origins = client.cors_origins;
    }
    let caller = presented.client_id();
    if introspection::looks_like_jwt(&request.token) {
        let expect = Expectations {
            issuer,
            audience: None,
            now,
            leeway: 0,
        };
        let Ok(claims) = token::check(&request.token, keys, &expect) else {
            return Ok(Ok(Introspection::inactive()));
        };
        let introspectable = resources::introspectable_by(conn, caller)?;
        if !introspection::access_token_visible(&claims, caller, &introspectable)
            || families::access_token_revoked(conn, &claims.jti)?
        {
            return Ok(Ok(Introspection::inactive()));
        }
        return Ok(Ok(Introspection::of_access_token(&claims)));
    }
    let hash = SecretHash::of(request.token.as_bytes());
    match refresh_tokens::find_with_family(conn, hash.as_bytes())? {
        // Refresh tokens are the client's own business: only their client sees them.
        Some((row, family)) if row.is_live(&family, now) && family.client_id == caller => {
            Ok(Ok(Introspection::of_refresh_token(&row, &family, issuer)))
        }
        _ => Ok(Ok(Introspection::inactive())),
    }
}
