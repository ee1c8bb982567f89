//! Protocol rules. Plain data in, a decision out: no actix or diesel types in signatures.

pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod params;
pub mod pkce;
pub mod redirect_uri;
pub mod scope;
