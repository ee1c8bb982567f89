//! Signing keys: ES256 (the default) and RS256 (mandatory to implement in RFC 9068 and OIDC).
//!
//! Private keys live in the database encrypted with the master key. They are parsed once,
//! when the key set is (re)loaded, never per request; the JWKS document is rendered once per
//! load and served as bytes.
//!
//! Rotation: a new key is published in the JWKS at once and starts signing at its
//! `activates_at`, after every instance and every resource-server cache has had time to see
//! it. The key it replaces stops signing then, and stays published until the longest token it
//! may have signed has expired.

use std::fmt;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::crypto::master_key::MasterKey;

/// A JWS algorithm portcullis signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Alg {
    ES256,
    RS256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::ES256, Alg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "ES256" => Some(Alg::ES256),
            "RS256" => Some(Alg::RS256),
            _ => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A freshly generated key, ready to be stored.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: Alg,
    pub pkcs8: Vec<u8>,
    /// The public JWK (with `kid`, `alg`, `use`), as JSON text.
    pub public_jwk: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Generates a key pair; its kid is the RFC 7638 thumbprint of the public key.
pub fn generate(alg: Alg) -> Result<GeneratedKey, String> {
    let pkcs8 = match alg {
        Alg::ES256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| "ES256 key generation failed".to_string())?,
        Alg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .and_then(|k| k.as_der())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| "RS256 key generation failed".to_string())?,
    };
    let parsed = ParsedKey::from_pkcs8(alg, &pkcs8)?;
    let (kid, public_jwk) = parsed.public_jwk();
    Ok(GeneratedKey {
        kid,
        alg,
        pkcs8,
        public_jwk: public_jwk.to_string(),
    })
}

enum ParsedKey {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl ParsedKey {
    fn from_pkcs8(alg: Alg, pkcs8: &[u8]) -> Result<Self, String> {
        match alg {
            Alg::ES256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                .map(ParsedKey::Es256)
                .map_err(|_| "stored ES256 key is not a valid P-256 PKCS#8 key".to_string()),
            Alg::RS256 => RsaKeyPair::from_pkcs8(pkcs8)
                .map(ParsedKey::Rs256)
                .map_err(|_| "stored RS256 key is not a valid RSA PKCS#8 key".to_string()),
        }
    }

    /// (RFC 7638 thumbprint, public JWK with kid/alg/use).
    fn public_jwk(&self) -> (String, serde_json::Value) {
        match self {
            ParsedKey::Es256(k) => {
                let point = k.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
                let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
                // RFC 7638 §3.2: required members only, lexicographic order, no white space.
                let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
                let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y,
                                 "kid": kid, "alg": "ES256", "use": "sig"});
                (kid, jwk)
            }
            ParsedKey::Rs256(k) => {
                let public = k.public_key();
                let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
                let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
                let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
                let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
                let jwk = json!({"kty": "RSA", "n": n, "e": e,
                                 "kid": kid, "alg": "RS256", "use": "sig"});
                (kid, jwk)
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            ParsedKey::Es256(k) => k
                .sign(&rng, message)
                .expect("ECDSA signing does not fail with a valid key")
                .as_ref()
                .to_vec(),
            ParsedKey::Rs256(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("RSA signing does not fail with a valid key");
                sig
            }
        }
    }
}

/// A key that can sign, with its JOSE header prefixes rendered once.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    key: ParsedKey,
    /// base64url(header) for `typ: at+jwt` and for `typ: JWT`.
    header_at_jwt: String,
    header_jwt: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {})", self.alg, self.kid)
    }
}

/// The `typ` header of a JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtType {
    /// RFC 9068 access token.
    AccessToken,
    /// OIDC id_token.
    IdToken,
}

impl SigningKey {
    fn new(kid: String, alg: Alg, key: ParsedKey) -> Self {
        let header = |typ: &str| {
            URL_SAFE_NO_PAD.encode(
                json!({"alg": alg.as_str(), "typ": typ, "kid": kid})
                    .to_string()
                    .as_bytes(),
            )
        };
        Self {
            header_at_jwt: header("at+jwt"),
            header_jwt: header("JWT"),
            kid,
            alg,
            key,
        }
    }

    /// Signs `claims` (already serialised JSON) as a compact JWS.
    pub fn sign_json(&self, typ: JwtType, claims_json: &[u8]) -> String {
        let header = match typ {
            JwtType::AccessToken => &self.header_at_jwt,
            JwtType::IdToken => &self.header_jwt,
        };
        let mut out = String::with_capacity(header.len() + claims_json.len() * 4 / 3 + 400);
        out.push_str(header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut out);
        let signature = self.key.sign(out.as_bytes());
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        out
    }
}

/// One stored key as the key set sees it.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: Alg,
    pub private_key_enc: Vec<u8>,
    pub public_jwk: String,
    pub created_at: i64,
    pub activates_at: i64,
}

/// The keys in force at one moment: which key signs for each algorithm, and the JWKS.
pub struct KeySet {
    signing: Vec<Arc<SigningKey>>,
    jwks: bytes_cache::Bytes,
    /// The published keys parsed for verification, built on first use and kept with the set
    /// (so never per request).
    verifying: std::sync::OnceLock<Arc<crate::verify::KeyStore>>,
    /// Earliest instant at which this set may change on its own (a pending key activating,
    /// a retired key dropping out). The ring reloads at that time or at the next poll.
    pub valid_until: i64,
}

mod bytes_cache {
    /// Pre-rendered response bodies, shared without copying.
    pub type Bytes = std::sync::Arc<[u8]>;
}

impl KeySet {
    /// Builds the set in force at `now` from the stored keys. `max_token_ttl` is the longest
    /// lifetime of anything signed (access or id token): a replaced key stays published that
    /// long after it stopped signing.
    pub fn build(
        stored: &[StoredKey],
        master: &MasterKey,
        now: i64,
        max_token_ttl: i64,
    ) -> Result<Self, String> {
        let mut signing = Vec::new();
        let mut published = Vec::new();
        let mut valid_until = i64::MAX;
        for alg in Alg::ALL {
            let mut of_alg: Vec<&StoredKey> = stored.iter().filter(|k| k.alg == alg).collect();
            // Newest activation first; ties broken by creation time.
            of_alg.sort_by_key(|k| std::cmp::Reverse((k.activates_at, k.created_at)));
            let active_index = of_alg.iter().position(|k| k.activates_at <= now);
            // Pending keys: published, not yet signing.
            for k in of_alg.iter().take(active_index.unwrap_or(of_alg.len())) {
                published.push(k.public_jwk.clone());
                valid_until = valid_until.min(k.activates_at);
            }
            let Some(active_index) = active_index else {
                continue;
            };
            let active = of_alg[active_index];
            let pkcs8 = master
                .open(&active.kid, &active.private_key_enc)
                .ok_or_else(|| {
                    format!(
                        "signing key {} cannot be decrypted: wrong master key or corrupt row",
                        active.kid
                    )
                })?;
            let parsed = ParsedKey::from_pkcs8(alg, &pkcs8)?;
            signing.push(Arc::new(SigningKey::new(active.kid.clone(), alg, parsed)));
            published.push(active.public_jwk.clone());
            // Older keys: the one each was replaced by activated at `successor.activates_at`;
            // tokens it signed live at most max_token_ttl beyond that.
            for pair in of_alg[active_index..].windows(2) {
                let (successor, retired) = (pair[0], pair[1]);
                let gone_at = successor.activates_at.saturating_add(max_token_ttl);
                if gone_at > now {
                    published.push(retired.public_jwk.clone());
                    valid_until = valid_until.min(gone_at);
                }
            }
        }
        let keys: Vec<serde_json::Value> = published
            .iter()
            .filter_map(|text| serde_json::from_str(text).ok())
            .collect();
        let jwks = serde_json::to_vec(&json!({ "keys": keys })).expect("JSON serialises");
        Ok(Self {
            signing,
            jwks: jwks.into(),
            verifying: std::sync::OnceLock::new(),
            valid_until,
        })
    }

    /// The key that signs with `alg` now, if one is active.
    pub fn signer(&self, alg: Alg) -> Option<&Arc<SigningKey>> {
        self.signing.iter().find(|k| k.alg == alg)
    }

    /// The JWKS document (`{"keys": [...]}`), rendered once.
    pub fn jwks(&self) -> bytes_cache::Bytes {
        self.jwks.clone()
    }

    /// Every published key (pending, active, retired-but-alive), parsed once per set for
    /// verifying the tokens this server issued.
    pub fn verifying_keys(&self) -> Arc<crate::verify::KeyStore> {
        self.verifying
            .get_or_init(|| {
                Arc::new(
                    crate::verify::KeyStore::from_jwks(&self.jwks)
                        .expect("the JWKS rendered by this set parses"),
                )
            })
            .clone()
    }
}

/// The key set of this instance, swapped whole on reload so that readers never block on a
/// rotation.
#[derive(Clone)]
pub struct KeyRing {
    current: Arc<RwLock<Arc<KeySet>>>,
}

impl KeyRing {
    pub fn new(set: KeySet) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(set))),
        }
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn replace(&self, set: KeySet) {
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(set);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(alg: Alg, master: &MasterKey, activates_at: i64) -> StoredKey {
        let k = generate(alg).unwrap();
        StoredKey {
            private_key_enc: master.seal(&k.kid, &k.pkcs8),
            kid: k.kid,
            alg,
            public_jwk: k.public_jwk,
            created_at: activates_at,
            activates_at,
        }
    }

    fn kids(set: &KeySet) -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&set.jwks()).unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_pending_key_is_published_before_it_signs() {
        let master = MasterKey::from_bytes(&[1; 32]);
        let old = stored(Alg::ES256, &master, 0);
        let next = stored(Alg::ES256, &master, 1000);
        let set = KeySet::build(&[old.clone(), next.clone()], &master, 500, 600).unwrap();
        assert_eq!(set.signer(Alg::ES256).unwrap().kid, old.kid);
        assert_eq!(kids(&set), vec![next.kid.clone(), old.kid.clone()]);
        assert_eq!(set.valid_until, 1000);

        // After activation the old key stays published for the longest token lifetime.
        let set = KeySet::build(&[old.clone(), next.clone()], &master, 1100, 600).unwrap();
        assert_eq!(set.signer(Alg::ES256).unwrap().kid, next.kid);
        assert_eq!(kids(&set), vec![next.kid.clone(), old.kid.clone()]);
        let set = KeySet::build(&[old, next.clone()], &master, 1601, 600).unwrap();
        assert_eq!(kids(&set), vec![next.kid]);
    }

    #[test]
    fn jwks_holds_public_parts_only_with_thumbprint_kids() {
        let master = MasterKey::from_bytes(&[1; 32]);
        let keys = [
            stored(Alg::ES256, &master, 0),
            stored(Alg::RS256, &master, 0),
        ];
        let set = KeySet::build(&keys, &master, 10, 600).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&set.jwks()).unwrap();
        for key in v["keys"].as_array().unwrap() {
            assert!(key.get("d").is_none() && key.get("p").is_none());
            assert_eq!(key["use"], "sig");
        }
        assert_eq!(kids(&set).len(), 2);
    }

    #[test]
    fn signatures_verify_with_jsonwebtoken() {
        let master = MasterKey::from_bytes(&[1; 32]);
        for alg in Alg::ALL {
            let k = stored(alg, &master, 0);
            let set = KeySet::build(std::slice::from_ref(&k), &master, 1, 600).unwrap();
            let token = set
                .signer(alg)
                .unwrap()
                .sign_json(JwtType::AccessToken, br#"{"sub":"u","exp":4102444800}"#);
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&k.public_jwk).unwrap();
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            let jalg = match alg {
                Alg::ES256 => jsonwebtoken::Algorithm::ES256,
                Alg::RS256 => jsonwebtoken::Algorithm::RS256,
            };
            let mut validation = jsonwebtoken::Validation::new(jalg);
            validation.validate_aud = false;
            validation.required_spec_claims.clear();
            let data =
                jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
            assert_eq!(data.claims["sub"], "u");
            assert_eq!(data.header.kid.as_deref(), Some(k.kid.as_str()));
            assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
        }
    }
}
