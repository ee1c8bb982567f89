//! The token endpoint's protocol core (OAuth 2.1 §3.2, §4.1.3, §4.2, §4.3; RFC 9068; OIDC
//! Core §3.1.3, §12.2): plain parameters, credentials and `now` in, a token response or an
//! OAuth error out. No actix types; the caller hands in a connection and runs the whole
//! exchange inside one `db.run`.
//!
//! Reads happen first, then every write of one exchange runs in one `write_tx`, then the
//! tokens are signed outside the transaction. What must happen once (redeeming a code,
//! rotating a refresh token) is a conditional update whose row count decides the winner.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::crypto::jwt::{self, AccessTokenClaims, Audience, IdTokenClaims};
use crate::crypto::keys::{Alg, KeySet, SigningKey};
use crate::crypto::secrets::{prefixed_id, PlainSecret};
use crate::oauth::app_identity::{self, Presence};
use crate::oauth::audience;
use crate::oauth::client_auth;
use crate::oauth::engine;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::pkce;
use crate::oauth::scope::Scope;
use crate::storage::audit::{self, AuditEvent};
use crate::storage::clients::{self, Client};
use crate::storage::codes::{self, CodeRow};
use crate::storage::families::{self, FamilyRow};
use crate::storage::refresh_tokens::{self, RefreshTokenRow};
use crate::storage::resources::{self, Resource};
use crate::storage::{consent_check, sessions, users, write_tx, Conn, StorageError};

/// The token request parameters portcullis recognises (OAuth 2.1 §3.2.2, §4.1.3, §4.2.1,
/// §4.3.1, RFC 7636, RFC 7523 client assertions, and the app identity parameters): a
/// repeated one is `invalid_request`. Any other parameter is ignored, even when repeated.
/// `resource` is not listed: RFC 8707 §2 lets it repeat.
pub const RECOGNIZED_PARAMS: [&str; 15] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    app_identity::PARAMS[0],
    app_identity::PARAMS[1],
    app_identity::PARAMS[2],
    app_identity::PARAMS[3],
    app_identity::PARAMS[4],
];

/// Scopes that only make sense when a user authenticated; refused for client_credentials.
const USER_ONLY_SCOPES: [&str; 2] = ["openid", "offline_access"];

/// What the exchange needs besides the request: taken once per request, before the database
/// work, so that keys are never parsed per request.
#[derive(Clone)]
pub struct TokenContext {
    /// The issuer identifier (`iss` of every token).
    pub issuer: Arc<str>,
    pub settings: Arc<Settings>,
    /// The key set in force; the client's `signing_alg` picks the key.
    pub keys: Arc<KeySet>,
    /// The caller's address, for the audit log only.
    pub ip: Option<String>,
}

/// A successful token response (OAuth 2.1 §3.2.3). `Debug` never shows a token.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenResponse(scope={:?}, refresh={}, id_token={})",
            self.scope,
            self.refresh_token.is_some(),
            self.id_token.is_some()
        )
    }
}

/// The result of one token request, with the CORS origins of the client it identified (empty
/// when no client was authenticated), so that even an error can be read by a registered
/// browser app.
#[derive(Debug)]
pub struct Exchange {
    pub result: Result<TokenResponse, OAuthError>,
    pub client_origins: Vec<String>,
}

/// Runs one token request: client authentication, the grant's checks, the writes in one
/// transaction, then signing. Guarantees: a code is redeemed at most once and a refresh token
/// rotated at most once, whatever the concurrency; a refusal never changes stored state except
/// the revocations RFC 6749 §4.1.2 and RFC 9700 §4.14.2 call for (code replay, refresh-token
/// reuse), which are audited.
pub fn exchange(
    conn: &mut Conn,
    params: &Params,
    authorization: Option<&str>,
    ctx: &TokenContext,
    now: i64,
) -> Exchange {
    let mut client_origins = Vec::new();
    let result = run(conn, params, authorization, ctx, now, &mut client_origins);
    Exchange {
        result,
        client_origins,
    }
}

fn run(
    conn: &mut Conn,
    params: &Params,
    authorization: Option<&str>,
    ctx: &TokenContext,
    now: i64,
    client_origins: &mut Vec<String>,
) -> Result<TokenResponse, OAuthError> {
    // OAuth 2.1 §3.2: "Request and response parameters defined by this specification MUST
    // NOT be included more than once", and unrecognised parameters MUST be ignored: only the
    // parameters we recognise are refused when repeated. RFC 8707 §2: `resource` may repeat.
    if let Some(name) = params.first_duplicate(&RECOGNIZED_PARAMS) {
        let name: String = name.chars().take(64).collect();
        return Err(OAuthError::invalid_request(format!(
            "parameter {name} is repeated"
        )));
    }
    let presented = client_auth::extract(authorization, params)?;
    let client = clients::find(conn, presented.client_id())?;
    client_auth::authenticate(&presented, client.as_ref(), now)?;
    let client = client.ok_or_else(|| OAuthError::server_error("authenticated client vanished"))?;
    client_origins.clone_from(&client.cors_origins);

    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if !matches!(
        grant_type,
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "the grant type is not supported",
        ));
    }
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client is not allowed this grant type",
        ));
    }
    let alg = Alg::parse(&client.row.signing_alg)
        .ok_or_else(|| OAuthError::server_error("client has an unknown signing_alg"))?;
    let key = ctx
        .keys
        .signer(alg)
        .cloned()
        .ok_or_else(|| OAuthError::server_error(format!("no active {alg} signing key")))?;
    match grant_type {
        "authorization_code" => authorization_code(conn, params, &client, ctx, &key, now),
        "refresh_token" => refresh_token(conn, params, &client, ctx, &key, now),
        _ => client_credentials(conn, params, &client, ctx, &key, now),
    }
}

/// The audience used when no registered resource is named or owns the scopes: the configured
/// `default_audience`, else the issuer.
fn default_audience(ctx: &TokenContext) -> String {
    ctx.settings
        .default_audience
        .clone()
        .unwrap_or_else(|| ctx.issuer.to_string())
}

/// The registered resources, loaded only when `requested` names some or a scope could belong
/// to one (the OIDC scopes never do).
fn resources_for(
    conn: &mut Conn,
    requested: &[&str],
    scope: &Scope,
) -> Result<Vec<Resource>, StorageError> {
    if requested.is_empty() && scope.iter().all(audience::is_oidc_scope) {
        return Ok(Vec::new());
    }
    resources::list(conn)
}

/// The `aud` of an access token (RFC 8707, RFC 9068 §3) through `oauth::audience::resolve`.
fn audiences(
    conn: &mut Conn,
    requested: &[&str],
    scope: &Scope,
    ctx: &TokenContext,
) -> Result<Vec<String>, OAuthError> {
    let registered = resources_for(conn, requested, scope)?;
    audience::resolve(
        requested,
        scope,
        &registered,
        &default_audience(ctx),
        &ctx.issuer,
    )
}

/// RFC 8707 §2.2: a `resource` at the token endpoint must be within what the grant allows.
fn within_grant(asked: &[&str], allowed: &[String]) -> Result<(), OAuthError> {
    if asked.iter().any(|a| !allowed.iter().any(|b| b == a)) {
        return Err(OAuthError::new(
            ErrorCode::InvalidTarget,
            "the resource is not within the authorization grant",
        ));
    }
    Ok(())
}

/// The scope and audiences of the access token about to be issued.
struct Target {
    scope: Scope,
    aud: Vec<String>,
}

/// What a grant decided to issue, before signing.
struct Issue {
    sub: String,
    client_id: String,
    /// Scope of the access token (may be narrower than the grant on refresh).
    scope: Scope,
    /// The `aud` of the access token, from `oauth::audience::resolve`.
    aud: Vec<String>,
    auth_time: Option<i64>,
    jti: String,
    refresh_token: Option<PlainSecret>,
    /// `Some(nonce)` when an id_token is due (`openid` in scope); the inner nonce is absent on
    /// refresh (OIDC Core §12.2).
    id_token: Option<Option<String>>,
}

fn sign(issue: Issue, ctx: &TokenContext, key: &SigningKey, now: i64) -> TokenResponse {
    let ttl = ctx.settings.tokens.access_ttl_seconds;
    let scope_text = issue.scope.to_string();
    let claims = AccessTokenClaims {
        iss: ctx.issuer.to_string(),
        sub: issue.sub.clone(),
        aud: match issue.aud.as_slice() {
            [one] => Audience::One(one.clone()),
            _ => Audience::Many(issue.aud.clone()),
        },
        client_id: issue.client_id.clone(),
        scope: (!scope_text.is_empty()).then(|| scope_text.clone()),
        jti: issue.jti,
        iat: now,
        exp: now + ttl,
        auth_time: issue.auth_time,
    };
    let access_token = jwt::sign_access_token(key, &claims);
    let id_token = issue.id_token.map(|nonce| {
        let claims = IdTokenClaims {
            iss: ctx.issuer.to_string(),
            sub: issue.sub,
            aud: issue.client_id,
            exp: now + ctx.settings.tokens.id_token_ttl_seconds,
            iat: now,
            auth_time: issue.auth_time,
            nonce,
            at_hash: Some(at_hash(&access_token)),
            azp: None,
        };
        jwt::sign_id_token(key, &claims)
    });
    TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        scope: (!scope_text.is_empty()).then_some(scope_text),
        refresh_token: issue.refresh_token.map(|t| t.expose().to_string()),
        id_token,
    }
}

/// OIDC Core §3.1.3.6: base64url of the left half of the hash of the access token, the hash
/// being the one of the id_token's alg (SHA-256 for both ES256 and RS256).
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn new_jti() -> String {
    prefixed_id::<16>("at_")
}

/// Ends a refresh token's idle lifetime, never past the family's absolute end.
fn refresh_expiry(settings: &Settings, family_expires_at: i64, now: i64) -> i64 {
    (now + settings.tokens.refresh_idle_ttl_seconds).min(family_expires_at)
}

/// What happened inside a write transaction that must still commit even though the answer
/// is an error (a revocation must not be rolled back by the refusal it causes).
enum Written {
    Issued(Issue),
    Refused(OAuthError),
}

fn finish(
    written: Written,
    ctx: &TokenContext,
    key: &SigningKey,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    match written {
        Written::Issued(issue) => Ok(sign(issue, ctx, key, now)),
        Written::Refused(err) => Err(err),
    }
}

fn authorization_code(
    conn: &mut Conn,
    params: &Params,
    client: &Client,
    ctx: &TokenContext,
    key: &SigningKey,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let code_hash = PlainSecret::from_presented(code).hash();
    let bad_code = || OAuthError::invalid_grant("the authorization code is invalid or expired");
    let row = codes::find(conn, code_hash.as_bytes())?.ok_or_else(bad_code)?;
    // OAuth 2.1 §4.1.3: the AS MUST "ensure that the authorization code was issued to the
    // authenticated confidential client, or that the client_id belongs to the public client".
    if row.client_id != client.id() {
        return Err(bad_code().with_source("code issued to another client"));
    }
    // RFC 6749 §4.1.3: if redirect_uri was included in the authorization request, the values
    // MUST be identical. OAuth 2.1 no longer requires the parameter, so absence is accepted.
    if let Some(redirect_uri) = params.get("redirect_uri") {
        if redirect_uri != row.redirect_uri {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
    }
    // OAuth 2.1 §4.1.3: code_verifier is REQUIRED when a code_challenge was in the request;
    // every code here carries one (PKCE is mandatory), and a code without one is refused.
    if row.code_challenge.is_empty() || row.code_challenge_method != "S256" {
        return Err(bad_code().with_source("stored code has no S256 challenge"));
    }
    let verifier = params
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required"))?;
    pkce::validate_verifier(verifier)?;
    // oxide-auth's `Pkce` extension verifies (constant time), after our syntax check.
    if !engine::verify_pkce(&row.code_challenge, verifier) {
        // RFC 7636 §4.6: values not equal → invalid_grant.
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code challenge",
        ));
    }
    check_bound_identity(
        conn,
        params,
        client,
        row.app_identity_id.as_deref(),
        ctx,
        now,
    )?;
    // From here the request is otherwise valid: right client, right verifier. A used code is
    // a replay and revokes what the code issued (below, inside the transaction).
    let scope = Scope::from_tokens(row.scope.split(' '));
    let mut aud = Vec::new();
    if row.used_at.is_none() {
        if now >= row.expires_at {
            return Err(bad_code().with_source("code expired"));
        }
        let user = users::find(conn, &row.user_id)?;
        if !user.is_some_and(|u| u.enabled) {
            return Err(OAuthError::invalid_grant("the user account is disabled"));
        }
        // RFC 8707: the resources named at /authorize bound the code; a `resource` here may
        // only narrow them (or name the resource the scopes already point at).
        let granted: Vec<&str> = row
            .resource
            .as_deref()
            .map(|r| r.split(' ').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default();
        let asked = audience::requested_resources(&params.all("resource"))?;
        let allowed = audiences(conn, &granted, &scope, ctx)?;
        aud = if asked.is_empty() {
            allowed
        } else {
            within_grant(&asked, &allowed)?;
            audiences(conn, &asked, &scope, ctx)?
        };
    }
    let allows_refresh = client.allows_grant("refresh_token");
    let written = write_tx(conn, |conn| -> Result<Written, StorageError> {
        // Conditional update: of two concurrent redemptions exactly one wins (OAuth 2.1
        // §4.1.3: the code MUST NOT be used more than once).
        if !codes::mark_used(conn, code_hash.as_bytes(), now)? {
            // OAuth 2.1 §4.1.3: the AS SHOULD revoke all tokens issued from the code.
            let revoked = families::revoke_family(conn, &row.family_id, now)?;
            audit::record(
                conn,
                &AuditEvent::new("code_replay", now)
                    .client(client.id())
                    .user(&row.user_id)
                    .ip(ctx.ip.clone())
                    .detail(serde_json::json!({
                        "family_id": row.family_id,
                        "families_revoked": revoked,
                    })),
            )?;
            return Ok(Written::Refused(bad_code().with_source(
                "authorization code replayed; its grant was revoked",
            )));
        }
        Ok(Written::Issued(issue_for_code(
            conn,
            &row,
            client,
            Target { scope, aud },
            allows_refresh,
            ctx,
            now,
        )?))
    })?;
    finish(written, ctx, key, now)
}

/// Writes the family (always: it records the access token so that a replay can deny-list
/// it) and, for clients allowed refresh tokens, the first refresh token.
fn issue_for_code(
    conn: &mut Conn,
    row: &CodeRow,
    client: &Client,
    target: Target,
    allows_refresh: bool,
    ctx: &TokenContext,
    now: i64,
) -> Result<Issue, StorageError> {
    let Target { scope, aud } = target;
    let settings = &ctx.settings;
    let access_exp = now + settings.tokens.access_ttl_seconds;
    // Without refresh tokens the family only has to outlive its access token (see
    // docs/decisions.md).
    let family_expires_at = if allows_refresh {
        now + settings.tokens.refresh_absolute_ttl_seconds
    } else {
        access_exp
    };
    families::insert(
        conn,
        &FamilyRow {
            family_id: row.family_id.clone(),
            client_id: client.id().to_string(),
            user_id: Some(row.user_id.clone()),
            scope: scope.to_string(),
            // The grant's audiences: what introspection reports for its refresh tokens and
            // what a refresh may narrow with `resource`.
            resource: Some(aud.join(" ")),
            session_hash: row.session_hash.clone(),
            app_identity_id: row.app_identity_id.clone(),
            auth_time: Some(row.auth_time),
            offline: scope.contains("offline_access"),
            last_access_jti: None,
            last_access_expires_at: None,
            created_at: now,
            expires_at: family_expires_at,
            revoked_at: None,
        },
    )?;
    let refresh_token = if allows_refresh {
        let token = PlainSecret::generate();
        refresh_tokens::insert(
            conn,
            &RefreshTokenRow {
                token_hash: token.hash().to_vec(),
                family_id: row.family_id.clone(),
                parent_hash: None,
                created_at: now,
                expires_at: refresh_expiry(settings, family_expires_at, now),
                used_at: None,
                revoked_at: None,
            },
        )?;
        Some(token)
    } else {
        None
    };
    let jti = new_jti();
    families::record_access_token(conn, &row.family_id, &jti, access_exp)?;
    Ok(Issue {
        sub: row.user_id.clone(),
        client_id: client.id().to_string(),
        id_token: scope.contains("openid").then(|| row.nonce.clone()),
        scope,
        aud,
        auth_time: Some(row.auth_time),
        jti,
        refresh_token,
    })
}

fn refresh_token(
    conn: &mut Conn,
    params: &Params,
    client: &Client,
    ctx: &TokenContext,
    key: &SigningKey,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let token_hash = PlainSecret::from_presented(presented).hash();
    let bad_token = || OAuthError::invalid_grant("the refresh token is invalid or expired");
    // One statement for the token and its family (a token never exists without one).
    let (token, family) =
        refresh_tokens::find_with_family(conn, token_hash.as_bytes())?.ok_or_else(bad_token)?;
    // OAuth 2.1 §4.3.1: the refresh token is bound to the client it was issued to.
    if family.client_id != client.id() {
        return Err(bad_token().with_source("refresh token of another client"));
    }
    if token.revoked_at.is_some() || family.revoked_at.is_some() {
        return Err(bad_token().with_source("refresh token revoked"));
    }
    check_bound_identity(
        conn,
        params,
        client,
        family.app_identity_id.as_deref(),
        ctx,
        now,
    )?;
    let family_scope = Scope::from_tokens(family.scope.split(' '));
    // OAuth 2.1 §4.3.1: the requested scope MUST NOT include any scope not originally
    // granted; omitted, it is the original scope.
    let scope = match requested {
        Some(s) if !s.is_empty() => {
            if !s.is_subset_of(&family_scope) {
                return Err(OAuthError::invalid_scope(
                    "the requested scope exceeds the original grant",
                ));
            }
            s
        }
        _ => family_scope.clone(),
    };
    // RFC 8707 §2.2: the family keeps the grant's audiences; `resource` may narrow them.
    let family_aud = match family.resource.as_deref() {
        Some(r) => crate::storage::split_list(r),
        None => audiences(conn, &[], &family_scope, ctx)?,
    };
    let asked = audience::requested_resources(&params.all("resource"))?;
    let aud = if asked.is_empty() {
        let mut aud = family_aud;
        if !scope.contains("openid") {
            // The issuer is an audience only for /userinfo, which needs `openid`.
            aud.retain(|a| a != &*ctx.issuer);
        }
        if aud.is_empty() {
            aud.push(default_audience(ctx));
        }
        aud
    } else {
        within_grant(&asked, &family_aud)?;
        audiences(conn, &asked, &scope, ctx)?
    };
    // A used token goes straight to the transaction, where reuse is decided under the lock.
    if token.used_at.is_none() {
        if now >= family.expires_at || now >= token.expires_at {
            return Err(bad_token().with_source("refresh token expired"));
        }
        // OAuth 2.1 §4.3.1: the grant must still be active.
        if let Some(user_id) = &family.user_id {
            // The user's `enabled` flag and the consent row in one statement.
            let grant = consent_check::grant_state(conn, user_id, client.id())?;
            if !grant.is_some_and(|g| g.user_enabled) {
                return Err(OAuthError::invalid_grant("the user account is disabled"));
            }
            // First-party clients that skip consent have no consent row (see
            // docs/decisions.md); their grants end through family revocation.
            if !client.row.skip_consent && !grant.is_some_and(|g| g.consented) {
                return Err(OAuthError::invalid_grant("the consent was revoked"));
            }
        }
        // A family without offline_access lives as long as the SSO session it was granted in
        // (OIDC Core §11): once that session has ended (logout, idle or absolute expiry), so
        // has the grant.
        if let (false, Some(session_hash)) = (family.offline, family.session_hash.as_deref()) {
            let idle = ctx.settings.sessions.idle_ttl_seconds;
            if sessions::find_live(conn, session_hash, now, idle)?.is_none() {
                return Err(OAuthError::invalid_grant("the login session has ended"));
            }
        }
    }
    let grace = ctx.settings.refresh_reuse_grace_seconds;
    let written = write_tx(conn, |conn| -> Result<Written, StorageError> {
        // Conditional update: of two concurrent refreshes only one may win (RFC 9700 §4.14.2).
        if refresh_tokens::mark_used(conn, token_hash.as_bytes(), now)? {
            return Ok(Written::Issued(rotate(
                conn,
                &family,
                token_hash.to_vec(),
                Target {
                    scope: scope.clone(),
                    aud: aud.clone(),
                },
                client,
                ctx,
                now,
            )?));
        }
        // Lost, or presented again: read the row and its family as the winner left them.
        let current = refresh_tokens::find_with_family(conn, token_hash.as_bytes())?;
        let Some((current, current_family)) = current.filter(|(t, _)| t.revoked_at.is_none())
        else {
            return Ok(Written::Refused(
                bad_token().with_source("refresh token revoked"),
            ));
        };
        let used_at = current.used_at.unwrap_or(now);
        let family_live = current_family.revoked_at.is_none() && now < current_family.expires_at;
        // Two tabs racing is the benign case of reuse: within the grace period the same
        // client gets a fresh pair in the same family (the client was checked above).
        if grace > 0 && now - used_at <= grace && family_live {
            return Ok(Written::Issued(rotate(
                conn,
                &family,
                token_hash.to_vec(),
                Target {
                    scope: scope.clone(),
                    aud: aud.clone(),
                },
                client,
                ctx,
                now,
            )?));
        }
        // RFC 9700 §4.14.2: reuse of an invalidated refresh token revokes the active token and
        // the grant.
        let revoked = families::revoke_family(conn, &family.family_id, now)?;
        let mut event = AuditEvent::new("refresh_token_reuse", now)
            .client(client.id())
            .ip(ctx.ip.clone())
            .detail(serde_json::json!({
                "family_id": family.family_id,
                "families_revoked": revoked,
                "first_used_at": used_at,
            }));
        if let Some(user_id) = &family.user_id {
            event = event.user(user_id);
        }
        audit::record(conn, &event)?;
        Ok(Written::Refused(bad_token().with_source(
            "refresh token reused; its family was revoked",
        )))
    })?;
    finish(written, ctx, key, now)
}

/// The app identity binding (docs/app-to-app.md): a code or refresh request may repeat the
/// app identity; when it does, it must be the identity bound to the grant (same platform and
/// app id, a hash of that registered row), else `invalid_grant`. Without the parameters the
/// binding to the grant is enough. The identity row is read only when parameters were sent.
fn check_bound_identity(
    conn: &mut Conn,
    params: &Params,
    client: &Client,
    bound: Option<&str>,
    ctx: &TokenContext,
    now: i64,
) -> Result<(), OAuthError> {
    let presented = match app_identity::read_presented(params) {
        Presence::Absent => return Ok(()),
        Presence::Invalid(why) => return Err(OAuthError::invalid_request(why)),
        Presence::Present(p) => p,
    };
    let refused: &'static str = match bound {
        None => "the grant has no bound app identity",
        Some(bound) => {
            match clients::find_app_identity(conn, bound)?.filter(|i| i.client_id == client.id()) {
                None => "the bound app identity was removed",
                Some(identity) => match app_identity::check(&presented, &identity) {
                    Ok(()) => return Ok(()),
                    Err(why) => why.describe(),
                },
            }
        }
    };
    // Audited like the refusals at /authorize, under the same per-client-and-address limit.
    audit::record_throttled(
        conn,
        &AuditEvent::new("app_identity_mismatch", now)
            .client(client.id())
            .ip(ctx.ip.clone())
            .detail(serde_json::json!({
                "endpoint": "token",
                "grant_type": params.get("grant_type"),
                "reason": refused,
            })),
        &app_identity::AUDIT_EVENTS,
        app_identity::AUDIT_INTERVAL,
    )?;
    Err(
        OAuthError::invalid_grant("app identity does not match the authorization")
            .with_source(refused),
    )
}

/// Issues the next refresh token of the family (with the family's full scope) and records the
/// new access token.
fn rotate(
    conn: &mut Conn,
    family: &FamilyRow,
    parent_hash: Vec<u8>,
    target: Target,
    client: &Client,
    ctx: &TokenContext,
    now: i64,
) -> Result<Issue, StorageError> {
    let Target { scope, aud } = target;
    let settings = &ctx.settings;
    let next = PlainSecret::generate();
    refresh_tokens::insert(
        conn,
        &RefreshTokenRow {
            token_hash: next.hash().to_vec(),
            family_id: family.family_id.clone(),
            parent_hash: Some(parent_hash),
            created_at: now,
            expires_at: refresh_expiry(settings, family.expires_at, now),
            used_at: None,
            revoked_at: None,
        },
    )?;
    let jti = new_jti();
    families::record_access_token(
        conn,
        &family.family_id,
        &jti,
        now + settings.tokens.access_ttl_seconds,
    )?;
    let sub = family
        .user_id
        .clone()
        .unwrap_or_else(|| client.id().to_string());
    Ok(Issue {
        sub,
        client_id: client.id().to_string(),
        // OIDC Core §12.2: same sub and auth_time, new iat, no nonce.
        id_token: (scope.contains("openid") && family.user_id.is_some()).then_some(None),
        scope,
        aud,
        auth_time: family.auth_time,
        jti,
        refresh_token: Some(next),
    })
}

fn client_credentials(
    conn: &mut Conn,
    params: &Params,
    client: &Client,
    ctx: &TokenContext,
    key: &SigningKey,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    // OAuth 2.1 §4.2: the client credentials grant MUST only be used by confidential clients.
    if !client.is_confidential() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is for confidential clients only",
        ));
    }
    let allowed = Scope::from_tokens(
        client
            .scopes()
            .into_iter()
            .filter(|s| !USER_ONLY_SCOPES.contains(&s.as_str())),
    );
    // Omitted scope means every scope the client is allowed (see docs/token-endpoint.md).
    let scope = match params.get("scope").map(Scope::parse).transpose()? {
        Some(s) if !s.is_empty() => {
            if !s.is_subset_of(&allowed) {
                return Err(OAuthError::invalid_scope(
                    "the requested scope is not allowed for this client",
                ));
            }
            s
        }
        _ => allowed,
    };
    let asked = audience::requested_resources(&params.all("resource"))?;
    let aud = audiences(conn, &asked, &scope, ctx)?;
    let issue = Issue {
        // RFC 9068 §2.2: with no resource owner, sub is the client's identifier.
        sub: client.id().to_string(),
        client_id: client.id().to_string(),
        scope,
        aud,
        auth_time: None,
        jti: new_jti(),
        refresh_token: None,
        id_token: None,
    };
    Ok(sign(issue, ctx, key, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256_in_base64url() {
        // 16 bytes encode to 22 base64url characters.
        let h = at_hash("token");
        assert_eq!(h.len(), 22);
        let full = URL_SAFE_NO_PAD.encode(Sha256::digest(b"token"));
        assert!(full.starts_with(&h[..21]));
    }
}
