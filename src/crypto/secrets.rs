//! High-entropy secrets (codes, refresh tokens, client secrets, session ids, admin tokens):
//! 256-bit random values, base64url without padding, stored as SHA-256 hashes.
//!
//! SHA-256 and not a slow hash: a slow hash adds nothing to a 256-bit random value and would
//! cap the token endpoint at a few hundred requests per second (DESIGN.md, Tokens and secrets).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret in the clear, as handed to its owner exactly once. Redacts itself in `Debug`
/// and `Display` so that it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainSecret(String);

impl PlainSecret {
    /// A fresh 256-bit random secret.
    pub fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
    }

    /// Wraps a secret received from a client.
    pub fn from_presented(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one response that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

impl fmt::Display for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The SHA-256 hash of a secret: what is stored, and what presented secrets are compared
/// against (in constant time).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.0.to_vec()
    }

    /// Constant-time comparison with a stored hash.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == 32 && bool::from(self.0.ct_eq(stored))
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// `N` bytes from the operating system's CSPRNG (through aws-lc).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random number generator failed");
    buf
}

/// Constant-time equality of two byte strings (lengths are not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A random identifier with a readable prefix, e.g. `cli_3f9a…`. Prefixes keep kinds of ids
/// from being mistaken for one another (a client id never looks like a user subject).
pub fn prefixed_id<const N: usize>(prefix: &str) -> String {
    let bytes = random_bytes::<N>();
    let mut out = String::with_capacity(prefix.len() + 2 * N);
    out.push_str(prefix);
    // No `format!` per byte: ids are minted on every request (jti, request id).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_256_bit_and_distinct() {
        let a = PlainSecret::generate();
        let b = PlainSecret::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
    }

    #[test]
    fn secrets_never_print_themselves() {
        let s = PlainSecret::generate();
        assert!(!format!("{s:?} {s}").contains(s.expose()));
    }

    #[test]
    fn hash_matches_only_its_secret() {
        let s = PlainSecret::generate();
        let stored = s.hash().to_vec();
        assert!(s.hash().matches(&stored));
        assert!(!PlainSecret::generate().hash().matches(&stored));
        assert!(!s.hash().matches(&stored[..31]));
    }
}
