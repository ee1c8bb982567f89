//! The authorization interaction over storage: load the client, the SSO session and the
//! stored consent, run the pure rules of [`crate::oauth::authorize`], and act on the decision
//! (show login, show consent, issue a code). Each entry point runs inside one `db.run`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::account::session::{self, consent_purpose, fresh_login_marker};
use crate::config::Settings;
use crate::crypto::keys::KeySet;
use crate::crypto::secrets::{constant_time_eq, prefixed_id};
use crate::oauth::app_identity::{self, to_colon_hex, Platform};
use crate::oauth::audience;
use crate::oauth::authorize::{
    decide, validate, AppIdentityRefusal, AuthorizationRequest, HintCheck, Next, Rejection,
    SessionFacts,
};
use crate::oauth::engine::{self, PendingCode};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::scope::Scope;
use crate::storage::clients::{self, AppIdentity, Client};
use crate::storage::sessions::SessionRow;
use crate::storage::{audit, consents, resources, write_tx, Conn, StorageError};

/// A fresh-login marker older than this (seconds) no longer satisfies `prompt=login`.
const FRESH_LOGIN_WINDOW: i64 = 600;

/// What the rules need besides the request.
#[derive(Clone)]
pub struct Env {
    pub issuer: Arc<str>,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeySet>,
}

/// What the browser presented.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    /// The session cookie's value.
    pub session_cookie: Option<String>,
    /// The fresh-login marker cookie's value.
    pub fresh_marker: Option<String>,
    /// The client address (for the audit log).
    pub ip: Option<String>,
    /// The `User-Agent`, shortened (for the audit log).
    pub user_agent: Option<String>,
    /// The caller asked for JSON (`Accept: application/json`, not HTML): an app identity
    /// refusal is then answered as JSON.
    pub accepts_json: bool,
}

/// What to answer.
#[derive(Debug)]
pub enum Outcome {
    /// A 400 HTML page with this message; never a redirect.
    Page(Cow<'static, str>),
    /// A 303 to this absolute URL (a code or an error on a verified redirect URI).
    Redirect(String),
    /// A 303 to the login page, coming back to the request afterwards.
    Login,
    /// The consent page.
    Consent(ConsentScreen),
    /// The app identity was refused: a 400 page, or JSON when `json`; never a redirect.
    AppIdentityRefused {
        refusal: Box<AppIdentityRefusal>,
        json: bool,
    },
}

/// A registered app identity as the consent page names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredApp {
    /// "Android app" or "iOS app".
    pub kind: &'static str,
    pub app_id: String,
    /// Certificate fingerprint (colon hex) for Android.
    pub certificate: Option<String>,
    /// Apple team id for iOS, when registered.
    pub team_id: Option<String>,
}

/// Everything the consent page shows and posts back.
#[derive(Debug)]
pub struct ConsentScreen {
    pub client_name: String,
    pub user_email: String,
    /// (scope, plain-words description)
    pub scopes: Vec<(String, String)>,
    pub redirect_host: String,
    /// The CSP `form-action` source of the redirect URI (the consent POST redirects there).
    pub form_action: String,
    pub csrf_token: String,
    /// The registered app identity the request presented (native apps), if any.
    pub registered_app: Option<Box<RegisteredApp>>,
}

/// The outcome, plus whether the fresh-login marker was used up (its cookie is then cleared).
#[derive(Debug)]
pub struct Output {
    pub outcome: Outcome,
    pub fresh_marker_used: bool,
}

impl From<Outcome> for Output {
    fn from(outcome: Outcome) -> Self {
        Output {
            outcome,
            fresh_marker_used: false,
        }
    }
}

/// The client named by the request and, when the request carries app identity parameters,
/// its registered app identities (in the same `db.run`: one round trip). Without identity
/// parameters the rows are not needed: step 2 then only looks at `require_app_identity`.
fn load_client(
    conn: &mut Conn,
    params: &Params,
) -> Result<(Option<Client>, Vec<AppIdentity>), StorageError> {
    let client = match params.get("client_id") {
        // A client id is short; anything longer is not one of ours and is not looked up.
        Some(id) if id.len() <= 128 && !params.is_duplicated("client_id") => {
            clients::find(conn, id)?
        }
        _ => None,
    };
    let wants_identities = app_identity::PARAMS
        .iter()
        .any(|n| params.get(n).is_some() || params.is_duplicated(n));
    let identities = match &client {
        Some(c) if wants_identities => clients::list_app_identities(conn, c.id())?,
        _ => Vec::new(),
    };
    Ok((client, identities))
}

/// Like [`rejection`], and for an app identity refusal also writes its audit event
/// (`app_identity_mismatch` / `app_identity_missing`), rate-limited per client and address.
fn refuse(
    conn: &mut Conn,
    r: Rejection,
    env: &Env,
    browser: &Browser,
    now: i64,
) -> Result<Outcome, StorageError> {
    let Rejection::AppIdentity(refusal) = r else {
        return Ok(rejection(r, &env.issuer));
    };
    let event = refusal.error.audit_event();
    audit::record_throttled(
        conn,
        &audit::AuditEvent::new(event, now)
            .client(&refusal.client_id)
            .ip(browser.ip.clone())
            .detail(serde_json::json!({
                "error": refusal.error.as_str(),
                "reason": refusal.description,
                "presented": refusal.presented,
                "user_agent": browser.user_agent,
            })),
        &app_identity::AUDIT_EVENTS,
        app_identity::AUDIT_INTERVAL,
    )?;
    Ok(Outcome::AppIdentityRefused {
        refusal,
        json: browser.accepts_json,
    })
}

fn rejection(r: Rejection, issuer: &str) -> Outcome {
    match r {
        Rejection::Unverified(message) => Outcome::Page(message),
        Rejection::Redirect(redirect) => Outcome::Redirect(redirect.location(issuer)),
        Rejection::AppIdentity(refusal) => Outcome::AppIdentityRefused {
            refusal,
            json: false,
        },
    }
}

/// `GET`/`POST /authorize`. `return_to` is this request as a relative `/authorize?…` URL.
pub fn authorize(
    conn: &mut Conn,
    env: &Env,
    params: &Params,
    return_to: &str,
    browser: &Browser,
    now: i64,
) -> Result<Output, StorageError> {
    let (client, identities) = load_client(conn, params)?;
    let req = match validate(params, client.as_ref(), &identities) {
        Ok(req) => req,
        Err(r) => return Ok(refuse(conn, r, env, browser, now)?.into()),
    };
    if let Some(refused) = check_target(conn, env, &req)? {
        return Ok(refused.into());
    }
    let client = client.expect("validate accepts only a loaded client");
    let resumed = match &browser.session_cookie {
        Some(value) => session::resume(conn, value, now, &env.settings.sessions)?,
        None => None,
    };
    let fresh = match (&resumed, &browser.fresh_marker) {
        (Some((s, _)), Some(marker)) => {
            now.saturating_sub(s.auth_time) <= FRESH_LOGIN_WINDOW
                && constant_time_eq(
                    fresh_login_marker(&s.csrf_secret, s.auth_time).as_bytes(),
                    marker.as_bytes(),
                )
        }
        _ => false,
    };
    let facts = resumed.as_ref().map(|(s, _)| SessionFacts {
        user_id: s.user_id.clone(),
        auth_time: s.auth_time,
        fresh_login: fresh,
    });
    let hint = match &req.id_token_hint {
        None => HintCheck::Absent,
        Some(token) => check_id_token_hint(token, &env.keys, &env.issuer),
    };
    let remembered = match &resumed {
        Some((s, _)) => consents::find(conn, &s.user_id, client.id())?
            .map(|c| Scope::from_tokens(c.scope.split(' '))),
        None => None,
    };
    let next = decide(
        &req,
        &client,
        facts.as_ref(),
        &hint,
        remembered.as_ref(),
        now,
    );
    let outcome = match next {
        Next::Error(e) => Outcome::Redirect(e.location(&env.issuer)),
        Next::Login => Outcome::Login,
        Next::Consent => {
            let (s, user) = resumed.as_ref().expect("consent needs a session");
            Outcome::Consent(consent_screen(
                env,
                &client,
                &req,
                &user.email,
                session::csrf_token(&s.csrf_secret, &consent_purpose(return_to)),
            ))
        }
        Next::IssueCode => {
            let (s, _) = resumed.as_ref().expect("a code needs a session");
            Outcome::Redirect(issue_code(conn, env, &req, s, now)?)
        }
    };
    Ok(Output {
        outcome,
        fresh_marker_used: fresh,
    })
}

/// The user's answer on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Approve,
    Deny,
}

/// `POST /consent`: the form carries the original request (`return_to`), which is validated
/// again from scratch; the CSRF token binds the answer to this session and this request.
pub fn answer_consent(
    conn: &mut Conn,
    env: &Env,
    return_to: &str,
    csrf: Option<&str>,
    answer: Answer,
    browser: &Browser,
    now: i64,
) -> Result<Output, StorageError> {
    let Some(query) = authorize_query(return_to) else {
        return Ok(Outcome::Page("The consent form is not valid.".into()).into());
    };
    let resumed = match &browser.session_cookie {
        Some(value) => session::resume(conn, value, now, &env.settings.sessions)?,
        None => None,
    };
    let Some((s, _user)) = resumed else {
        return Ok(Outcome::Page(
            "Your session has ended. Go back to the application and start again.".into(),
        )
        .into());
    };
    if !session::verify_csrf(&s.csrf_secret, &consent_purpose(return_to), csrf) {
        return Ok(Outcome::Page(
            "The form has expired or was not sent from this site. Nothing was changed.".into(),
        )
        .into());
    }
    let Ok(params) = Params::parse(query) else {
        return Ok(Outcome::Page("The consent form is not valid.".into()).into());
    };
    let (client, identities) = load_client(conn, &params)?;
    let req = match validate(&params, client.as_ref(), &identities) {
        Ok(req) => req,
        Err(r) => return Ok(refuse(conn, r, env, browser, now)?.into()),
    };
    if let Some(refused) = check_target(conn, env, &req)? {
        return Ok(refused.into());
    }
    if answer == Answer::Deny {
        let denied = req.error(OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied the request",
        ));
        return Ok(Outcome::Redirect(denied.location(&env.issuer)).into());
    }
    let location = write_tx(conn, |conn| -> Result<String, StorageError> {
        // Recorded for every client so that the account page lists it and can revoke it;
        // `decide` honours it only for clients whose identity is assured.
        let previous = consents::find(conn, &s.user_id, &req.client_id)?;
        let mut granted: Vec<String> = req.scope.iter().map(str::to_string).collect();
        if let Some(p) = previous {
            granted.extend(
                p.scope
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .map(String::from),
            );
        }
        let granted = Scope::from_tokens(granted);
        consents::upsert(conn, &s.user_id, &req.client_id, &granted.to_string(), now)?;
        audit::record(
            conn,
            &audit::AuditEvent::new("consent_granted", now)
                .user(&s.user_id)
                .client(&req.client_id)
                .detail(serde_json::json!({ "scope": req.scope.to_string() })),
        )?;
        issue_code(conn, env, &req, &s, now)
    })?;
    Ok(Outcome::Redirect(location).into())
}

/// The query of a relative `/authorize?…` URL; anything else is refused, so `return_to` can
/// never send the browser elsewhere (RFC 9700 §4.11: no open redirector).
pub fn authorize_query(return_to: &str) -> Option<&str> {
    let query = return_to.strip_prefix("/authorize?")?;
    if return_to.len() > crate::http::BODY_LIMIT
        || query.contains('#')
        || query.chars().any(|c| c.is_control() || c == '\\')
    {
        return None;
    }
    Some(query)
}

/// For the login page: the client's name and the CSP `form-action` source of its verified
/// redirect URI, when `return_to` is a valid authorization request.
pub fn login_context(
    conn: &mut Conn,
    return_to: &str,
) -> Result<Option<(String, String)>, StorageError> {
    let Some(params) = authorize_query(return_to).and_then(|q| Params::parse(q).ok()) else {
        return Ok(None);
    };
    let (client, identities) = load_client(conn, &params)?;
    Ok(
        match (validate(&params, client.as_ref(), &identities), client) {
            (Ok(req), Some(client)) => Some((
                client.row.client_name.clone(),
                form_action_source(&req.redirect_uri),
            )),
            _ => None,
        },
    )
}

/// RFC 8707: the requested resources must be registered and own the requested scopes, and
/// without `resource` the scopes must not belong to two resources (`invalid_target` on the
/// redirect). Resources are loaded only when some scope could belong to one.
fn check_target(
    conn: &mut Conn,
    env: &Env,
    req: &AuthorizationRequest,
) -> Result<Option<Outcome>, StorageError> {
    if req.resources.is_empty() && req.scope.iter().all(audience::is_oidc_scope) {
        return Ok(None);
    }
    let registered = resources::list(conn)?;
    let requested: Vec<&str> = req.resources.iter().map(String::as_str).collect();
    let default = env
        .settings
        .default_audience
        .clone()
        .unwrap_or_else(|| env.issuer.to_string());
    Ok(
        match audience::resolve(&requested, &req.scope, &registered, &default, &env.issuer) {
            Ok(_) => None,
            Err(e) => Some(Outcome::Redirect(req.error(e).location(&env.issuer))),
        },
    )
}

/// Issues the authorization code: 256-bit random, stored only as its SHA-256 hash, bound to
/// the client, the exact redirect URI, the user, the scope, the PKCE challenge, the nonce, the
/// session and its `auth_time` (OAuth 2.1 §4.1.2, §4.1.3). Returns the success `Location`.
fn issue_code(
    conn: &mut Conn,
    env: &Env,
    req: &AuthorizationRequest,
    session: &SessionRow,
    now: i64,
) -> Result<String, StorageError> {
    // Through oxide-auth's `Authorizer` (`oauth::engine`): a 256-bit code stored as its
    // SHA-256 with every binding.
    let code = engine::issue_code(
        conn,
        PendingCode {
            client_id: req.client_id.clone(),
            user_id: session.user_id.clone(),
            redirect_uri: req.redirect_uri.clone(),
            scope: req.scope.clone(),
            resource: (!req.resources.is_empty()).then(|| req.resources.join(" ")),
            code_challenge: req.code_challenge.clone(),
            nonce: req.nonce.clone(),
            auth_time: session.auth_time,
            session_hash: Some(session.session_hash.clone()),
            app_identity_id: req.app_identity.as_ref().map(|m| m.identity_id.clone()),
            family_id: prefixed_id::<16>("fam_"),
            created_at: now,
            expires_at: now.saturating_add(env.settings.tokens.code_ttl_seconds),
        },
    )?;
    Ok(req.success_location(&code, &env.issuer))
}

fn consent_screen(
    env: &Env,
    client: &Client,
    req: &AuthorizationRequest,
    user_email: &str,
    csrf_token: String,
) -> ConsentScreen {
    let scopes = req
        .scope
        .iter()
        .map(|s| (s.to_string(), describe_scope(s, &env.settings)))
        .collect();
    ConsentScreen {
        client_name: client.row.client_name.clone(),
        user_email: user_email.to_string(),
        scopes,
        redirect_host: redirect_host(&req.redirect_uri),
        form_action: form_action_source(&req.redirect_uri),
        csrf_token,
        registered_app: registered_app(client, req).map(Box::new),
    }
}

/// The app identity a native client's request presented, worded for the consent page: a
/// registered identity, never "verified" (it is a registration check, not attestation).
fn registered_app(client: &Client, req: &AuthorizationRequest) -> Option<RegisteredApp> {
    let m = req.app_identity.as_ref().filter(|_| client.is_native())?;
    Some(match m.platform {
        Platform::Android => RegisteredApp {
            kind: "Android app",
            app_id: m.app_id.clone(),
            certificate: m.certificate.as_deref().map(to_colon_hex),
            team_id: None,
        },
        Platform::Ios => RegisteredApp {
            kind: "iOS app",
            app_id: m.app_id.clone(),
            certificate: None,
            team_id: m.team_id.clone(),
        },
    })
}

/// A scope in plain words: built-in ones for the OIDC scopes, `scope_descriptions` for others.
pub fn describe_scope(scope: &str, settings: &Settings) -> String {
    if let Some(d) = settings.scope_descriptions.get(scope) {
        return d.clone();
    }
    match scope {
        "openid" => "Know who you are (your account identifier)".into(),
        "profile" => "See your basic profile".into(),
        "email" => "See your email address".into(),
        "offline_access" => "Stay connected when you are not using it".into(),
        other => format!("Access: {other}"),
    }
}

/// The host (and port) the user will be sent to, or the app's scheme for a private-use URI.
pub fn redirect_host(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => match u.host_str() {
            Some(host) => match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            },
            None => format!("the app {}", u.scheme()),
        },
        Err(_) => "an unknown place".into(),
    }
}

/// The CSP source that lets a form on our page end in a redirect to `uri`: browsers check
/// `form-action` along the redirect chain after a form submission.
pub fn form_action_source(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u.origin().ascii_serialization(),
        Ok(u) => format!("{}:", u.scheme()),
        Err(_) => String::new(),
    }
}

/// Verifies an `id_token_hint` with our own published keys (OIDC Core §3.1.2.2: the OP MUST
/// check that it issued it). Expired tokens are accepted: a hint names a past login.
pub fn check_id_token_hint(token: &str, keys: &KeySet, issuer: &str) -> HintCheck {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
    if token.len() > 8192 {
        return HintCheck::Invalid;
    }
    let Ok(header) = decode_header(token) else {
        return HintCheck::Invalid;
    };
    if !matches!(header.alg, Algorithm::ES256 | Algorithm::RS256) {
        return HintCheck::Invalid;
    }
    let Ok(set) = serde_json::from_slice::<JwkSet>(&keys.jwks()) else {
        return HintCheck::Invalid;
    };
    let Some(jwk) = header.kid.as_deref().and_then(|kid| set.find(kid)) else {
        return HintCheck::Invalid;
    };
    let Ok(key) = DecodingKey::from_jwk(jwk) else {
        return HintCheck::Invalid;
    };
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[issuer]);
    match decode::<serde_json::Value>(token, &key, &validation) {
        Ok(data) => match data.claims.get("sub").and_then(|s| s.as_str()) {
            Some(sub) => HintCheck::Subject(sub.to_string()),
            None => HintCheck::Invalid,
        },
        Err(_) => HintCheck::Invalid,
    }
}
