//! RFC 9068 access-token checks shared by the authorization server (introspection, userinfo,
//! revocation) and by resource servers ([`crate::verify::Verifier`]): one implementation of
//! the rules, so that both sides accept exactly the same tokens.
//!
//! Signatures are checked by jsonwebtoken with keys parsed once from a JWKS document
//! ([`KeyStore::from_jwks`]); only ES256 and RS256 keys are ever loaded, so `none` and HMAC
//! algorithms can never verify.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer, Serialize};

/// Public keys by `kid`, parsed once from a JWKS document.
pub struct KeyStore {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.keys.keys()).finish()
    }
}

impl KeyStore {
    /// Parses `{"keys": [...]}`. Keys without a `kid`, encryption keys, and keys of any
    /// algorithm other than ES256 (P-256) and RS256 are skipped: they can never verify a token.
    /// Fails only when the document itself is not a JWKS.
    pub fn from_jwks(document: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc =
            serde_json::from_slice(document).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = HashMap::new();
        for value in doc.keys {
            let kid = value
                .get("kid")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let usage = value.get("use").and_then(|v| v.as_str());
            let Some(kid) = kid else { continue };
            if usage.is_some_and(|u| u != "sig") {
                continue;
            }
            let kty = value.get("kty").and_then(|v| v.as_str());
            let crv = value.get("crv").and_then(|v| v.as_str());
            let declared = value.get("alg").and_then(|v| v.as_str());
            let alg = match (kty, crv, declared) {
                (Some("EC"), Some("P-256"), None | Some("ES256")) => Algorithm::ES256,
                (Some("RSA"), _, None | Some("RS256")) => Algorithm::RS256,
                _ => continue,
            };
            let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(value) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_jwk(&jwk) {
                keys.insert(kid, (alg, key));
            }
        }
        Ok(Self { keys })
    }

    /// Whether a key with this `kid` is known.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// How many usable keys the store holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the store holds no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The claims of a valid RFC 9068 access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    /// Always a list here, whether the token carried one value or several.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

impl Claims {
    /// Whether the token's `scope` holds `token` (exact, case-sensitive).
    pub fn has_scope(&self, token: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|s| s.split(' ').any(|t| t == token))
    }

    /// Whether `aud` names `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud.iter().any(|a| a == audience)
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(a) => vec![a],
        OneOrMany::Many(list) => list,
    })
}

/// Why a token was refused. The `Display` text is safe to log; it never contains the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT access token")]
    Malformed,
    #[error("the token's typ is not at+jwt")]
    WrongType,
    #[error("the token is signed with an unknown key")]
    UnknownKey,
    #[error("the token's signature or algorithm is not valid")]
    BadSignature,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is not meant for this audience")]
    WrongAudience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone)]
pub struct Expectations<'a> {
    /// The exact issuer identifier (RFC 9068 §4: `iss` MUST match).
    pub issuer: &'a str,
    /// An audience `aud` must contain; `None` skips the check (the AS itself, introspecting).
    pub audience: Option<&'a str>,
    /// The current time, Unix seconds.
    pub now: i64,
    /// Allowed clock skew for `exp`, `nbf` and `iat`, in seconds.
    pub leeway: i64,
}

/// Whether a `typ` header names an RFC 9068 access token. RFC 9068 §4: `at+jwt`, or
/// `application/at+jwt`, compared without regard to case (the RFC's own example is `at+JWT`).
pub fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ == "at+jwt" || typ == "application/at+jwt"
}

/// The `kid` of a compact JWS, without checking anything else.
pub fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok()?.kid
}

/// Checks an access token: typ, a known key whose algorithm matches the header, the
/// signature, `iss`, `aud` (when expected), `exp` and `nbf`. Returns its claims.
pub fn check(
    token: &str,
    keys: &KeyStore,
    expect: &Expectations<'_>,
) -> Result<Claims, TokenError> {
    if token.len() > 16 * 1024 || token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    // An `alg` jsonwebtoken does not know (`none` included) fails to parse here.
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    // RFC 9068 §4: resource servers MUST verify that the typ header is at+jwt.
    if !header.typ.as_deref().is_some_and(is_access_token_type) {
        return Err(TokenError::WrongType);
    }
    let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
    let (alg, key) = keys.keys.get(kid).ok_or(TokenError::UnknownKey)?;
    // The algorithm comes from our key, never from the token: an HS256 header over an RSA
    // public key (algorithm confusion) is refused here.
    if header.alg != *alg {
        return Err(TokenError::BadSignature);
    }
    let mut validation = Validation::new(*alg);
    // Time, issuer and audience are checked below against values passed in.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_) => TokenError::BadSignature,
            _ => TokenError::Malformed,
        }
    })?;
    let claims = data.claims;
    if claims.iss != expect.issuer {
        return Err(TokenError::WrongIssuer);
    }
    if let Some(audience) = expect.audience {
        if !claims.has_audience(audience) {
            return Err(TokenError::WrongAudience);
        }
    }
    if claims.exp.saturating_add(expect.leeway) <= expect.now {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > expect.now.saturating_add(expect.leeway))
        || claims.iat > expect.now.saturating_add(expect.leeway)
    {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}
