//! JWT claims portcullis issues: RFC 9068 access tokens and OIDC id_tokens.

use serde::{Deserialize, Serialize};

use crate::crypto::keys::{JwtType, SigningKey};

/// The audience claim: one value or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        match self {
            Audience::One(a) => a == value,
            Audience::Many(list) => list.iter().any(|a| a == value),
        }
    }
}

/// RFC 9068 §2.2 claims of a JWT access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
}

/// OIDC Core §2 id_token claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub azp: Option<String>,
}

/// Signs access-token claims with `key` (`typ: at+jwt`).
pub fn sign_access_token(key: &SigningKey, claims: &AccessTokenClaims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialise");
    key.sign_json(JwtType::AccessToken, &json)
}

/// Signs id_token claims with `key` (`typ: JWT`).
pub fn sign_id_token(key: &SigningKey, claims: &IdTokenClaims) -> String {
    let json = serde_json::to_vec(claims).expect("claims serialise");
    key.sign_json(JwtType::IdToken, &json)
}
