//! The authorization server metadata (RFC 8414) and OpenID Provider configuration (OIDC
//! Discovery 1.0 §3): one document, served at both well-known paths.
//!
//! Every value is true of this server. Members whose defaults would mislead are listed
//! explicitly (standards.md §10): `grant_types_supported` (default includes implicit),
//! `token_endpoint_auth_methods_supported` (default basic only),
//! `code_challenge_methods_supported` (absent means no PKCE), and
//! `request_uri_parameter_supported` (OIDC default `true`).

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde_json::json;

use crate::oauth::audience::OIDC_SCOPES;

/// The paths of the endpoints this server exposes, relative to the issuer.
pub mod paths {
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const JWKS: &str = "/jwks.json";
    pub const INTROSPECT: &str = "/introspect";
    pub const REVOKE: &str = "/revoke";
    pub const USERINFO: &str = "/userinfo";
}

/// Claims that can appear in id_tokens and userinfo responses.
pub const CLAIMS_SUPPORTED: [&str; 10] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "azp",
    "email",
    "email_verified",
];

/// The metadata document for `issuer`, with the scopes registered resources own.
pub fn document<'a>(
    issuer: &str,
    resource_scopes: impl IntoIterator<Item = &'a str>,
) -> serde_json::Value {
    let mut scopes: BTreeSet<&str> = OIDC_SCOPES.into_iter().collect();
    scopes.extend(resource_scopes);
    let url = |path: &str| format!("{issuer}{path}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": url(paths::AUTHORIZE),
        "token_endpoint": url(paths::TOKEN),
        "jwks_uri": url(paths::JWKS),
        "userinfo_endpoint": url(paths::USERINFO),
        "introspection_endpoint": url(paths::INTROSPECT),
        "revocation_endpoint": url(paths::REVOKE),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        // Introspection needs real client authentication (RFC 7662 §2.1: no token scanning).
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post"],
        // Public clients revoke their own tokens by sending client_id (RFC 7009 §2.1).
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    })
}

/// The rendered document, shared by every worker, rebuilt when it is older than the refresh
/// interval (resources registered on another instance show up then) or when invalidated.
#[derive(Default)]
pub struct MetadataCache {
    rendered: RwLock<Option<(i64, Arc<[u8]>)>>,
}

impl MetadataCache {
    /// The rendered bytes if they were rendered after `fresh_after`.
    pub fn get(&self, fresh_after: i64) -> Option<Arc<[u8]>> {
        let guard = self.rendered.read().unwrap_or_else(|p| p.into_inner());
        match &*guard {
            Some((at, body)) if *at > fresh_after => Some(body.clone()),
            _ => None,
        }
    }

    /// Stores a freshly rendered document.
    pub fn put(&self, rendered_at: i64, body: Arc<[u8]>) {
        *self.rendered.write().unwrap_or_else(|p| p.into_inner()) = Some((rendered_at, body));
    }

    /// Forgets the document (after a resource was created or deleted on this instance).
    pub fn invalidate(&self) {
        *self.rendered.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
