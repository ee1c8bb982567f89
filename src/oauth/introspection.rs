//! Token introspection (RFC 7662): what a caller may learn about a token.

use serde::Serialize;

use crate::crypto::secrets::SecretHash;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::storage::families::{self, FamilyRow};
use crate::storage::refresh_tokens::{self, RefreshTokenRow};
use crate::storage::{resources, Conn, StorageError};
use crate::verify::token::{self, Claims, Expectations, KeyStore};

/// The token of an introspection or revocation request, with its optional hint.
#[derive(Debug)]
pub struct TokenRequest {
    pub token: String,
    /// `access_token` or `refresh_token`; anything else is ignored (the server looks beyond
    /// the hint anyway, RFC 7662 §2.1, RFC 7009 §2.1).
    pub hint: Option<&'static str>,
}

/// Reads `token` (required) and `token_type_hint` from the form. A repeated parameter is
/// `invalid_request` (RFC 6749 §3.1).
pub fn parse_request(params: &Params) -> Result<TokenRequest, OAuthError> {
    if let Some(name) = params.first_duplicate(&["token", "token_type_hint"]) {
        return Err(OAuthError::invalid_request(format!("{name} is repeated")));
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let hint = match params.get("token_type_hint") {
        Some("access_token") => Some("access_token"),
        Some("refresh_token") => Some("refresh_token"),
        _ => None,
    };
    Ok(TokenRequest {
        token: token.to_string(),
        hint,
    })
}

/// Whether a token has the shape of a compact JWS (our access tokens); our refresh tokens are
/// base64url and never contain a dot.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// RFC 7662 §2.2 response. Inactive responses carry `active: false` and nothing else.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

fn audience_value(aud: &[String]) -> Option<serde_json::Value> {
    match aud {
        [] => None,
        [one] => Some(serde_json::Value::from(one.as_str())),
        many => Some(serde_json::Value::from(many.to_vec())),
    }
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self::default()
    }

    /// The answer for a valid, unrevoked access token.
    pub fn of_access_token(claims: &Claims) -> Self {
        Self {
            active: true,
            scope: claims.scope.clone(),
            client_id: Some(claims.client_id.clone()),
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            nbf: claims.nbf,
            sub: Some(claims.sub.clone()),
            aud: audience_value(&claims.aud),
            iss: Some(claims.iss.clone()),
            jti: Some(claims.jti.clone()),
        }
    }

    /// The answer for a live refresh token.
    pub fn of_refresh_token(row: &RefreshTokenRow, family: &FamilyRow, issuer: &str) -> Self {
        let aud: Vec<String> = family
            .resource
            .as_deref()
            .map(crate::storage::split_list)
            .unwrap_or_default();
        Self {
            active: true,
            scope: Some(family.scope.clone()).filter(|s| !s.is_empty()),
            client_id: Some(family.client_id.clone()),
            token_type: Some("refresh_token"),
            exp: Some(row.expires_at.min(family.expires_at)),
            iat: Some(row.created_at),
            nbf: None,
            sub: Some(
                family
                    .user_id
                    .clone()
                    .unwrap_or_else(|| family.client_id.clone()),
            ),
            aud: audience_value(&aud),
            iss: Some(issuer.to_string()),
            jti: None,
        }
    }
}

/// Whether `caller` may see an access token: its own, or one whose `aud` names a resource
/// the caller introspects for (`introspectable` = those resources' audiences). Anything else
/// is answered as inactive (RFC 7662 §2.2: tokens not visible to the caller).
pub fn access_token_visible(claims: &Claims, caller: &str, introspectable: &[String]) -> bool {
    claims.client_id == caller || introspectable.iter().any(|aud| claims.has_audience(aud))
}

/// Authenticates the caller, then looks the token up: first as the kind its shape says,
/// the hint only ordering nothing it could miss. The outer error is storage; the inner one
/// the OAuth refusal (the HTTP handler in `http::introspect` only reads and answers).
pub fn introspect(
    conn: &mut Conn,
    presented: &Presented,
    request: &TokenRequest,
    keys: &KeyStore,
    issuer: &str,
    now: i64,
    origins: &mut Vec<String>,
) -> Result<Result<Introspection, OAuthError>, StorageError> {
    if let Err(err) = client_auth::authenticate_caller(conn, presented, now, origins)? {
        return Ok(Err(err));
    }
    let caller = presented.client_id();
    if looks_like_jwt(&request.token) {
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
        if !access_token_visible(&claims, caller, &introspectable)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "https://as".into(),
            sub: "usr_1".into(),
            aud: vec!["https://api".into()],
            client_id: "cli_a".into(),
            scope: Some("api:read".into()),
            jti: "j".into(),
            iat: 1,
            exp: 2,
            nbf: None,
            auth_time: None,
        }
    }

    #[test]
    fn a_caller_sees_its_own_tokens_and_those_of_its_resources() {
        let c = claims();
        assert!(access_token_visible(&c, "cli_a", &[]));
        assert!(access_token_visible(&c, "cli_rs", &["https://api".into()]));
        assert!(!access_token_visible(
            &c,
            "cli_rs",
            &["https://other".into()]
        ));
        assert!(!access_token_visible(&c, "cli_b", &[]));
    }

    #[test]
    fn an_inactive_answer_says_nothing_else() {
        assert_eq!(
            serde_json::to_string(&Introspection::inactive()).unwrap(),
            r#"{"active":false}"#
        );
    }

    #[test]
    fn hints_are_optional_and_unknown_ones_ignored() {
        let p = Params::parse("token=abc&token_type_hint=weird").unwrap();
        let r = parse_request(&p).unwrap();
        assert_eq!((r.token.as_str(), r.hint), ("abc", None));
        for bad in ["", "token_type_hint=access_token", "token=a&token=b"] {
            assert!(
                parse_request(&Params::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }
}
