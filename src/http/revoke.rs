//! `POST /revoke` (RFC 7009). Confidential clients authenticate; public clients send
//! `client_id`. Unknown, malformed and already revoked tokens answer 200 and change nothing.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::crypto::secrets::SecretHash;
use crate::http::cors;
use crate::http::errors::oauth_json;
use crate::http::form::{client_request, FormRejection, OAuthForm};
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::introspection::{self, TokenRequest};
use crate::oauth::revocation;
use crate::storage::audit::{self, AuditEvent};
use crate::storage::{clients, families, now, refresh_tokens, write_tx, Conn, StorageError};
use crate::verify::token::{self, Expectations, KeyStore};
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
            let answer = run(
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

#[allow(clippy::too_many_arguments)]
fn run(
    conn: &mut Conn,
    presented: &Presented,
    request: &TokenRequest,
    keys: &KeyStore,
    issuer: &str,
    ip: Option<String>,
    now: i64,
    origins: &mut Vec<String>,
) -> Result<Result<(), OAuthError>, StorageError> {
    let client = clients::find(conn, presented.client_id())?;
    if let Err(err) = client_auth::authenticate(presented, client.as_ref(), now) {
        return Ok(Err(err));
    }
    if let Some(client) = client {
        *origins = client.cors_origins;
    }
    let caller = presented.client_id();
    let audit_event = |kind: &str| {
        AuditEvent::new("token_revoked", now)
            .actor(caller)
            .client(caller)
            .ip(ip.clone())
            .detail(serde_json::json!({ "token_type": kind }))
    };
    if introspection::looks_like_jwt(&request.token) {
        let expect = Expectations {
            issuer,
            audience: None,
            now,
            leeway: 0,
        };
        // Forged, foreign or expired: nothing of ours is alive to revoke.
        let Ok(claims) = token::check(&request.token, keys, &expect) else {
            return Ok(Ok(()));
        };
        if let Err(err) = revocation::check_owner(&claims.client_id, caller) {
            return Ok(Err(err));
        }
        return write_tx(conn, |conn| {
            if !families::access_token_revoked(conn, &claims.jti)? {
                families::deny_access_token(conn, &claims.jti, claims.exp, now)?;
                audit::record(conn, &audit_event("access_token").user(claims.sub.clone()))?;
            }
            Ok(Ok(()))
        });
    }
    let hash = SecretHash::of(request.token.as_bytes());
    let Some((_, family)) = refresh_tokens::find_with_family(conn, hash.as_bytes())? else {
        return Ok(Ok(()));
    };
    if let Err(err) = revocation::check_owner(&family.client_id, caller) {
        return Ok(Err(err));
    }
    write_tx(conn, |conn| {
        // Revoking the family ends every refresh token of the grant and deny-lists its live
        // access token (RFC 7009 §2.1 SHOULD).
        if families::revoke_family(conn, &family.family_id, now)? > 0 {
            let mut ev = audit_event("refresh_token");
            if let Some(user) = &family.user_id {
                ev = ev.user(user.clone());
            }
            audit::record(conn, &ev)?;
        }
        Ok(Ok(()))
    })
}
