//! Verification of portcullis access tokens for resource servers.
//!
//! Build with `default-features = false, features = ["verify"]`: this compiles neither diesel
//! nor the server. [`Verifier`] is built from the issuer URL: it reads the discovery document,
//! checks that it names the same issuer, fetches the JWKS, caches the keys, and fetches them
//! again (rate-limited) when a token names a `kid` it does not know, which is how a key
//! rotation reaches it. [`Authenticated`] is an actix-web extractor that hands a handler the
//! validated claims and answers failures as RFC 6750 §3 requires.
//!
//! [`token`] holds the checks themselves; the server uses the same code.

pub mod token;

#[cfg(feature = "verify")]
mod extractor;
#[cfg(feature = "verify")]
mod remote;

pub use token::{Claims, KeyStore, TokenError};

#[cfg(feature = "verify")]
pub use extractor::{Authenticated, VerifyRejection};
#[cfg(feature = "verify")]
pub use remote::{Requirements, Verifier, VerifyError};
