//! Protocol rules. Plain data in, a decision out: no actix or diesel types in signatures.

pub mod app_identity;
pub mod audience;
pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod engine;
pub mod error;
pub mod introspection;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod revocation;
pub mod scope;
pub mod token;
