//! The resource server's view of the authorization server: discovery, JWKS, key cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::verify::token::{self, Claims, Expectations, KeyStore, TokenError};

/// Largest discovery or JWKS document read.
const MAX_DOCUMENT: usize = 256 * 1024;

/// What a protected endpoint requires of a token.
#[derive(Debug, Clone)]
pub struct Requirements {
    /// This resource server's audience: the token's `aud` must contain it (RFC 9068 §4).
    pub audience: String,
    /// Scopes the token must all carry.
    pub required_scopes: Vec<String>,
}

impl Requirements {
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            required_scopes: Vec::new(),
        }
    }

    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.required_scopes.push(scope.into());
        self
    }
}

/// Why a token or the verifier's set-up failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum VerifyError {
    /// The token is not acceptable (RFC 6750 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(TokenError),
    /// The token is valid but lacks a required scope (RFC 6750 `insufficient_scope`).
    #[error("the token lacks scope {0}")]
    InsufficientScope(String),
    /// The authorization server could not be read or answered something unusable.
    #[error("authorization server: {0}")]
    Discovery(String),
}

/// Verifies access tokens of one issuer. Cheap to share: put it in `web::Data`.
pub struct Verifier {
    issuer: String,
    jwks_uri: String,
    keys: RwLock<Arc<KeyStore>>,
    last_fetch: Mutex<Instant>,
    fetches: AtomicU64,
    refetch_interval: Duration,
    leeway: i64,
    timeout: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("jwks_uri", &self.jwks_uri)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
}

impl Verifier {
    /// Reads `{issuer}/.well-known/oauth-authorization-server`, checks that its `issuer` is
    /// exactly `issuer` (RFC 8414 §3.3), and fetches its `jwks_uri`.
    pub async fn new(issuer: &str) -> Result<Self, VerifyError> {
        let timeout = Duration::from_secs(10);
        let url = format!(
            "{}/.well-known/oauth-authorization-server",
            issuer.trim_end_matches('/')
        );
        let body = fetch(&url, timeout).await?;
        let metadata: Metadata = serde_json::from_slice(&body)
            .map_err(|e| VerifyError::Discovery(format!("{url}: not AS metadata: {e}")))?;
        // RFC 8414 §3.3: the issuer in the document MUST be identical to the one used to
        // build its URL; otherwise the document must not be used.
        if metadata.issuer != issuer {
            return Err(VerifyError::Discovery(format!(
                "{url} names issuer {} instead of {issuer}",
                metadata.issuer
            )));
        }
        if issuer.starts_with("https://") && !metadata.jwks_uri.starts_with("https://") {
            return Err(VerifyError::Discovery("jwks_uri is not https".into()));
        }
        let keys = fetch_keys(&metadata.jwks_uri, timeout).await?;
        Ok(Self {
            issuer: issuer.to_string(),
            jwks_uri: metadata.jwks_uri,
            keys: RwLock::new(Arc::new(keys)),
            last_fetch: Mutex::new(Instant::now()),
            fetches: AtomicU64::new(1),
            refetch_interval: Duration::from_secs(60),
            leeway: 60,
            timeout,
        })
    }

    /// The least time between two JWKS fetches triggered by unknown `kid`s (default 60 s), so
    /// that tokens with made-up `kid`s cannot make this server hammer the issuer.
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Allowed clock skew for `exp` and `nbf` (default 60 s).
    pub fn with_leeway(mut self, seconds: i64) -> Self {
        self.leeway = seconds;
        self
    }

    /// The issuer this verifier trusts.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How many times the JWKS has been fetched (monitoring, tests).
    pub fn jwks_fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Validates `token` (RFC 9068 §4): signature with an ES256/RS256 key from the issuer's
    /// JWKS, `typ` at+jwt, `iss`, `aud` contains `req.audience`, `exp`/`nbf` within the
    /// leeway, and every required scope.
    pub async fn verify(&self, token: &str, req: &Requirements) -> Result<Claims, VerifyError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let expect = Expectations {
            issuer: &self.issuer,
            audience: Some(&req.audience),
            now,
            leeway: self.leeway,
        };
        let claims = match token::check(token, &self.current(), &expect) {
            Err(TokenError::UnknownKey) if self.may_refetch() => {
                // A rotation published a key we have not seen yet: fetch once, then retry.
                self.refresh().await?;
                token::check(token, &self.current(), &expect)
            }
            other => other,
        }
        .map_err(VerifyError::InvalidToken)?;
        for scope in &req.required_scopes {
            if !claims.has_scope(scope) {
                return Err(VerifyError::InsufficientScope(scope.clone()));
            }
        }
        Ok(claims)
    }

    fn current(&self) -> Arc<KeyStore> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Claims the next fetch slot if the interval has passed (one caller wins).
    fn may_refetch(&self) -> bool {
        let mut last = self.last_fetch.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= self.refetch_interval {
            *last = Instant::now();
            true
        } else {
            false
        }
    }

    async fn refresh(&self) -> Result<(), VerifyError> {
        let keys = fetch_keys(&self.jwks_uri, self.timeout).await?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        Ok(())
    }
}

async fn fetch_keys(url: &str, timeout: Duration) -> Result<KeyStore, VerifyError> {
    let body = fetch(url, timeout).await?;
    KeyStore::from_jwks(&body).map_err(|e| VerifyError::Discovery(format!("{url}: {e}")))
}

async fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, VerifyError> {
    // awc clients are per-thread; fetches are rare (start-up and rotations).
    let client = awc::Client::builder()
        .timeout(timeout)
        .disable_redirects()
        .finish();
    let mut res = client
        .get(url)
        .insert_header(("Accept", "application/json"))
        .send()
        .await
        .map_err(|e| VerifyError::Discovery(format!("{url}: {e}")))?;
    if !res.status().is_success() {
        return Err(VerifyError::Discovery(format!(
            "{url}: HTTP {}",
            res.status().as_u16()
        )));
    }
    let body = res
        .body()
        .limit(MAX_DOCUMENT)
        .await
        .map_err(|e| VerifyError::Discovery(format!("{url}: {e}")))?;
    Ok(body.to_vec())
}
