//! Token revocation (RFC 7009): who may revoke what, and the revocation itself (the HTTP
//! handler in `http::revoke` only reads the request and writes the answer).

use crate::crypto::secrets::SecretHash;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::introspection::{self, TokenRequest};
use crate::storage::audit::{self, AuditEvent};
use crate::storage::{families, refresh_tokens, write_tx, Conn, StorageError};
use crate::verify::token::{self, Expectations, KeyStore};

/// RFC 7009 §2.1: "the authorization server first validates the client credentials … and
/// then verifies whether the token was issued to the client making the revocation request.
/// If this validation fails, the request is refused and the client is informed of the error"
/// — `unauthorized_client`, and nothing is revoked.
pub fn check_owner(token_client_id: &str, caller: &str) -> Result<(), OAuthError> {
    if token_client_id == caller {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ))
    }
}

/// Authenticates or identifies the caller, then revokes the token if it is one of ours and
/// the caller's: a JWT access token is deny-listed by its `jti`, a refresh token revokes its
/// whole family (with the family's live access token). Unknown, malformed, foreign-but-expired
/// and already revoked tokens change nothing (RFC 7009 §2.2: the answer is 200 either way).
/// The outer error is storage; the inner one the OAuth refusal.
#[allow(clippy::too_many_arguments)]
pub fn revoke(
    conn: &mut Conn,
    presented: &Presented,
    request: &TokenRequest,
    keys: &KeyStore,
    issuer: &str,
    ip: Option<String>,
    now: i64,
    origins: &mut Vec<String>,
) -> Result<Result<(), OAuthError>, StorageError> {
    if let Err(err) = client_auth::authenticate_caller(conn, presented, now, origins)? {
        return Ok(Err(err));
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
        if let Err(err) = check_owner(&claims.client_id, caller) {
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
    if let Err(err) = check_owner(&family.client_id, caller) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_may_revoke() {
        assert!(check_owner("cli_a", "cli_a").is_ok());
        assert_eq!(
            check_owner("cli_a", "cli_b").unwrap_err().code,
            ErrorCode::UnauthorizedClient
        );
    }
}
