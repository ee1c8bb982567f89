//! The authorization endpoint's rules (OAuth 2.1 §4.1.1–§4.1.2.1, RFC 7636, RFC 9207,
//! OpenID Connect Core §3.1.2).
//!
//! [`validate`] is the whole request validation, read top to bottom in the order the checks
//! run (node-oidc-provider's `authorization/index.js`). What it may answer depends on what it
//! has verified so far: before the client and its redirect URI are verified, an error is
//! [`Rejection::Unverified`] (an HTML page, never a redirect); after, every error goes to the
//! verified redirect URI ([`Rejection::Redirect`]). [`decide`] then picks the next step from
//! the session and the stored consent. Both are pure: plain data in, a decision out.

use std::borrow::Cow;

use crate::oauth::app_identity::{self, Platform, Presence, ShownIdentity};
use crate::oauth::audience;
use crate::oauth::engine;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::pkce;
use crate::oauth::redirect_uri;
use crate::oauth::scope::Scope;
use crate::storage::clients::{AppIdentity, Client};

/// The authorization request parameters portcullis recognises (OAuth 2.1 §4.1.1, RFC 7636,
/// OpenID Connect Core §3.1.2.1 and §6, and the app identity parameters): a repeated one is
/// `invalid_request`. Any other parameter is ignored, even when repeated (OAuth 2.1 §3.1).
/// `resource` is not listed: RFC 8707 §2 lets it repeat.
pub const RECOGNIZED_PARAMS: [&str; 26] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "id_token_hint",
    "login_hint",
    "ui_locales",
    "claims_locales",
    "display",
    "acr_values",
    "claims",
    "request",
    "request_uri",
    "registration",
    "response_mode",
    app_identity::PARAMS[0],
    app_identity::PARAMS[1],
    app_identity::PARAMS[2],
    app_identity::PARAMS[3],
    app_identity::PARAMS[4],
];

/// Why an authorization request was refused.
#[derive(Debug)]
pub enum Rejection {
    /// The client or its redirect URI could not be verified (or the response mode is not
    /// understood): the message is shown on a 400 HTML page and nobody is redirected
    /// (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
    Unverified(Cow<'static, str>),
    /// An error to send to the verified redirect URI.
    Redirect(ErrorRedirect),
    /// The app identity was refused (step 2): a 400 page (or JSON), never a redirect.
    AppIdentity(Box<AppIdentityRefusal>),
}

/// The two error codes of an app identity refusal (docs/app-to-app.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppIdentityError {
    /// `invalid_app_identity`: malformed, partial, or not a registered identity.
    Invalid,
    /// `app_identity_required`: none was sent and the client requires one.
    Required,
}

impl AppIdentityError {
    pub fn as_str(self) -> &'static str {
        match self {
            AppIdentityError::Invalid => "invalid_app_identity",
            AppIdentityError::Required => "app_identity_required",
        }
    }

    /// The audit event recorded for this refusal.
    pub fn audit_event(self) -> &'static str {
        match self {
            AppIdentityError::Invalid => "app_identity_mismatch",
            AppIdentityError::Required => "app_identity_missing",
        }
    }
}

/// Why the app identity check refused a request, with what to show and audit.
#[derive(Debug, Clone)]
pub struct AppIdentityRefusal {
    pub error: AppIdentityError,
    pub description: String,
    pub client_id: String,
    pub client_name: String,
    /// What the request presented, shortened for display.
    pub presented: ShownIdentity,
}

/// The registered identity a request matched; bound to the code and its refresh family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedIdentity {
    /// `client_app_identities.identity_id`.
    pub identity_id: String,
    pub platform: Platform,
    pub app_id: String,
    pub team_id: Option<String>,
    /// The presented (and matched) SHA-256 certificate hash, else the legacy SHA-1 one.
    pub certificate: Option<Vec<u8>>,
}

/// An error response on a verified redirect URI.
#[derive(Debug, Clone)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub error: OAuthError,
}

impl ErrorRedirect {
    /// The `Location`: `error`, `error_description`, `state` (exactly as sent) and `iss`
    /// (RFC 9207 §2) appended to the redirect URI's query, which is kept.
    pub fn location(&self, issuer: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![("error", self.error.code.as_str())];
        if !self.error.description.is_empty() {
            pairs.push(("error_description", &self.error.description));
        }
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", issuer));
        redirect_uri::append_query(&self.redirect_uri, &pairs)
    }
}

/// The OIDC `prompt` values this server understands (Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// A request that passed [`validate`]: every field is safe to act on.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// The redirect URI to answer on: the one sent (which matched a registered one), or the
    /// client's only registered one when none was sent. Bound to the code as is.
    pub redirect_uri: String,
    /// Echoed exactly on every redirect when it was sent.
    pub state: Option<String>,
    pub scope: Scope,
    pub code_challenge: String,
    /// Always `S256`.
    pub code_challenge_method: String,
    /// Kept only when `openid` is requested.
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub id_token_hint: Option<String>,
    /// RFC 8707 `resource` values (absolute URIs, deduplicated, in request order).
    pub resources: Vec<String>,
    /// The registered app identity the request presented and matched (step 2), if any.
    pub app_identity: Option<MatchedIdentity>,
}

impl AuthorizationRequest {
    /// An error response for this request.
    pub fn error(&self, error: OAuthError) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
        }
    }

    /// The success `Location`: `code`, `state` when sent, and `iss` (OAuth 2.1 §4.1.2,
    /// RFC 9207 §2).
    pub fn success_location(&self, code: &str, issuer: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![("code", code)];
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", issuer));
        redirect_uri::append_query(&self.redirect_uri, &pairs)
    }

    pub fn is_openid(&self) -> bool {
        self.scope.contains("openid")
    }
}

fn unverified(message: &'static str) -> Rejection {
    Rejection::Unverified(Cow::Borrowed(message))
}

/// Validates an authorization request. `client` is the client named by `client_id`, as
/// loaded by the caller (`None` when unknown), and `identities` its registered app identities
/// (the caller may leave them out when the request carries none of
/// [`app_identity::PARAMS`]). The checks run in exactly this order.
pub fn validate(
    params: &Params,
    client: Option<&Client>,
    identities: &[AppIdentity],
) -> Result<AuthorizationRequest, Rejection> {
    // ── Step 1: may we redirect at all? Every failure here is a page, never a redirect
    //    (RFC 6749 §4.1.2.1: the AS "MUST NOT automatically redirect the user-agent to the
    //    invalid redirection URI").
    if params.is_duplicated("client_id") {
        return Err(unverified(
            "The client_id parameter was sent more than once.",
        ));
    }
    if params.is_duplicated("redirect_uri") {
        return Err(unverified(
            "The redirect_uri parameter was sent more than once.",
        ));
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(unverified("The request has no client_id."));
    };
    let client = match client {
        Some(c) if c.id() == client_id && c.row.enabled => c,
        _ => return Err(unverified("The application is unknown or disabled.")),
    };
    // oxide-auth's `Registrar::bound_redirect` over this client, with our exact matching
    // (OAuth 2.1 §2.3.1; RFC 8252 §7.3 any port for a native app's loopback redirect).
    let registrar = engine::ClientRegistrar::new(client);
    let requested_uri = params.get("redirect_uri");
    // OAuth 2.1 §2.3.2 lets a client with one registered URI omit it; OIDC Core §3.1.2.1
    // makes redirect_uri REQUIRED for an OpenID request.
    let openid = params
        .get("scope")
        .map(|s| s.split(' ').any(|t| t == "openid"))
        .unwrap_or(false);
    if requested_uri.is_none() && openid {
        return Err(unverified("The request has no redirect_uri."));
    }
    let bound = match registrar.bind(requested_uri) {
        Ok(bound) => bound,
        Err(engine::Refusal::NoRedirectUri) => {
            return Err(unverified("The request has no redirect_uri."))
        }
        Err(_) => {
            return Err(unverified(
                "The redirect_uri is not registered for this application.",
            ))
        }
    };
    let redirect_uri = bound.redirect_uri.as_str().to_string();
    // OIDC Core §3.1.2.6 / standards §3.1: never redirect with a response mode we do not
    // understand; only `query` is supported.
    if params.is_duplicated("response_mode") {
        return Err(unverified(
            "The response_mode parameter was sent more than once.",
        ));
    }
    if let Some(mode) = params.get("response_mode") {
        if mode != "query" {
            return Err(unverified("The response_mode is not supported."));
        }
    }

    // ── Step 2: app identity (DESIGN.md, App identity). Before anything else: a look-alike
    //    app gets a page, never a redirect and never a login or consent screen.
    let app_identity = check_app_identity(params, client, identities)?;

    // ── Step 3: the redirect URI is verified; errors go there with `error`,
    //    `error_description`, `state` and `iss`.
    let state = params.get("state").map(str::to_string);
    let fail = |error: OAuthError| {
        Err(Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
        }))
    };
    // OAuth 2.1 §3.1: "Request and response parameters defined by this specification MUST
    // NOT be included more than once", and "The authorization server MUST ignore unrecognized
    // request parameters": only the parameters we recognise are refused when repeated.
    // RFC 8707 §2: `resource` may be sent several times.
    if let Some(name) = params.first_duplicate(&RECOGNIZED_PARAMS) {
        return fail(OAuthError::invalid_request(format!(
            "the {} parameter was sent more than once",
            short(name)
        )));
    }
    match params.get("response_type") {
        None => return fail(OAuthError::invalid_request("response_type is required")),
        Some("code") => {}
        // OAuth 2.1 §4.1.2.1; `token` (implicit) is never issued (§10.1).
        Some(_) => {
            return fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant("authorization_code") {
        return fail(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    // OAuth 2.1 §4.1.2.1 / RFC 7636 §4.4.1: PKCE required, S256 only (portcullis policy for
    // every client), challenge of exactly 43 base64url characters.
    let challenge = params.get("code_challenge");
    if let Err(error) = pkce::validate_challenge(challenge, params.get("code_challenge_method")) {
        return fail(error);
    }
    // Then oxide-auth's `Pkce::required()` accepts it (S256 only, plain refused).
    if let Err(error) = engine::accept_challenge(params.get("code_challenge_method"), challenge) {
        return fail(error);
    }
    let code_challenge = challenge.unwrap_or_default().to_string();
    // RFC 6749 §3.3 lets the AS pick a default for an omitted scope or fail; explicit is safer.
    let scope = match params.get("scope") {
        None => return fail(OAuthError::invalid_scope("scope is required")),
        Some(raw) => match Scope::parse(raw) {
            Ok(s) if s.is_empty() => return fail(OAuthError::invalid_scope("scope is required")),
            Ok(s) => s,
            Err(e) => return fail(e),
        },
    };
    // oxide-auth's `Registrar::negotiate`: every requested scope must be allowed.
    let scope = match registrar.negotiate_scope(bound, &scope) {
        Ok(granted) => granted,
        Err(engine::Refusal::ScopeDenied(denied)) => {
            return fail(OAuthError::invalid_scope(format!(
                "the scope {} is not allowed for this client",
                short(&denied)
            )))
        }
        Err(_) => return fail(OAuthError::invalid_scope("scope is required")),
    };
    // RFC 8707 §2: each `resource` an absolute URI without fragment, else invalid_target;
    // whether it names a registered resource owning the scopes is checked by the caller,
    // which has the resources (`oauth::audience::resolve`).
    let resources = match audience::requested_resources(&params.all("resource")) {
        Ok(r) => r.into_iter().map(str::to_string).collect(),
        Err(e) => return fail(e),
    };
    let prompt = match parse_prompt(params.get("prompt")) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let max_age = match params.get("max_age") {
        None => None,
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<i64>().ok()
        }
        Some(_) => {
            return fail(OAuthError::invalid_request(
                "max_age must be a non-negative integer",
            ))
        }
    };
    // OIDC Core §6: request objects are not supported; say so with the registered codes.
    if params.get("request").is_some() {
        return fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    // `display`, `ui_locales`, `claims_locales`, `acr_values`, `login_hint` and any unknown
    // parameter are ignored, never an error (OAuth 2.1 §3.1; OIDC Core §15.1).
    let nonce = if scope.contains("openid") {
        params.get("nonce").map(str::to_string)
    } else {
        None
    };
    Ok(AuthorizationRequest {
        client_id: client.id().to_string(),
        redirect_uri,
        state,
        scope,
        code_challenge,
        code_challenge_method: "S256".to_string(),
        nonce,
        prompt,
        max_age,
        id_token_hint: params.get("id_token_hint").map(str::to_string),
        resources,
        app_identity,
    })
}

/// Step 2: the app identity check. Present → syntax-checked and matched against the client's
/// registered identities (constant-time hash compare); absent → refused only when the client
/// has `require_app_identity`, otherwise a browser flow.
fn check_app_identity(
    params: &Params,
    client: &Client,
    identities: &[AppIdentity],
) -> Result<Option<MatchedIdentity>, Rejection> {
    let refuse = |error: AppIdentityError, description: String| {
        Rejection::AppIdentity(Box::new(AppIdentityRefusal {
            error,
            description,
            client_id: client.id().to_string(),
            client_name: client.row.client_name.clone(),
            presented: ShownIdentity::of(params),
        }))
    };
    let presented = match app_identity::read_presented(params) {
        Presence::Absent if client.row.require_app_identity => {
            return Err(refuse(
                AppIdentityError::Required,
                "this application accepts requests only from its registered apps, and the request named no app".into(),
            ))
        }
        Presence::Absent => return Ok(None),
        Presence::Invalid(why) => return Err(refuse(AppIdentityError::Invalid, why)),
        Presence::Present(p) => p,
    };
    match app_identity::find_match(&presented, identities) {
        Ok(row) => Ok(Some(MatchedIdentity {
            identity_id: row.identity_id.clone(),
            platform: presented.platform,
            app_id: presented.app_id,
            team_id: row.team_id.clone(),
            certificate: presented.cert_sha256.or(presented.cert_sha1),
        })),
        Err(why) => Err(refuse(
            AppIdentityError::Invalid,
            why.describe().to_string(),
        )),
    }
}

/// A client-supplied name or value shortened for an error description.
fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

/// OIDC Core §3.1.2.1: `prompt` is a space-separated list; `none` with any other value is an
/// error. Values we do not know are refused rather than silently ignored.
fn parse_prompt(raw: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    let Some(raw) = raw else {
        return Ok(prompt);
    };
    let mut count = 0;
    for value in raw.split(' ').filter(|v| !v.is_empty()) {
        count += 1;
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => prompt.select_account = true,
            _ => return Err(OAuthError::invalid_request("unsupported prompt value")),
        }
    }
    if prompt.none && count > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// What the caller knows about the browser's SSO session.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub user_id: String,
    pub auth_time: i64,
    /// The user logged in (in this session) for this very interaction and it has not been
    /// used yet: satisfies `prompt=login`, `max_age=0` and an `id_token_hint` mismatch.
    pub fresh_login: bool,
}

/// The result of checking `id_token_hint` against our own keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintCheck {
    Absent,
    /// A token we issued; its `sub`.
    Subject(String),
    /// Not a token we issued.
    Invalid,
}

/// The next step of a validated request.
#[derive(Debug)]
pub enum Next {
    /// Show the login page (then come back).
    Login,
    /// Show the consent page.
    Consent,
    /// Issue a code to the session's user.
    IssueCode,
    Error(ErrorRedirect),
}

/// Whether remembered consent and `skip_consent` may apply to this client: only when its
/// identity is assured — a confidential client, or a claimed https redirect. Anyone can copy
/// a public client's id and private-use scheme (RFC 8252 §8.6, OAuth 2.1 §7.3.1).
pub fn may_remember_consent(client: &Client, redirect_uri: &str) -> bool {
    client.is_confidential() || redirect_uri::is_claimed_https(redirect_uri)
}

/// Decides the next step (OIDC Core §3.1.2.1–§3.1.2.6). `remembered` is the scope the user
/// approved for this client before, if any.
pub fn decide(
    req: &AuthorizationRequest,
    client: &Client,
    session: Option<&SessionFacts>,
    hint: &HintCheck,
    remembered: Option<&Scope>,
    now: i64,
) -> Next {
    if *hint == HintCheck::Invalid {
        return Next::Error(req.error(OAuthError::invalid_request(
            "id_token_hint was not issued by this server",
        )));
    }
    let login_required = match session {
        None => true,
        Some(s) if s.fresh_login => false,
        Some(s) => {
            // `prompt=login` MUST re-authenticate; `max_age=0` is the same (Core §3.1.2.1).
            let forced = req.prompt.login || req.prompt.select_account || req.max_age == Some(0);
            let too_old = req
                .max_age
                .map(|max| now.saturating_sub(s.auth_time) > max)
                .unwrap_or(false);
            let other_user = matches!(hint, HintCheck::Subject(sub) if *sub != s.user_id);
            forced || too_old || other_user
        }
    };
    if login_required {
        if req.prompt.none {
            return Next::Error(req.error(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user is not signed in",
            )));
        }
        return Next::Login;
    }
    let remembered_ok = may_remember_consent(client, &req.redirect_uri)
        && (client.row.skip_consent || remembered.is_some_and(|r| req.scope.is_subset_of(r)));
    if req.prompt.consent || !remembered_ok {
        if req.prompt.none {
            return Next::Error(req.error(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user has not approved this application",
            )));
        }
        return Next::Consent;
    }
    Next::IssueCode
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::clients::ClientRow;

    fn client(kind: &str, uris: &[&str]) -> Client {
        Client {
            row: ClientRow {
                client_id: "cli_1".into(),
                client_name: "App".into(),
                client_type: kind.into(),
                application_type: "web".into(),
                token_endpoint_auth_method: "none".into(),
                secret_hash: None,
                previous_secret_hash: None,
                previous_secret_expires_at: None,
                grant_types: "authorization_code refresh_token".into(),
                scope: "openid profile email".into(),
                skip_consent: false,
                enabled: true,
                signing_alg: "ES256".into(),
                require_app_identity: false,
                created_at: 0,
                updated_at: 0,
            },
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            cors_origins: vec![],
        }
    }

    const GOOD: &str = "client_id=cli_1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb\
        &response_type=code&scope=openid&state=s%201\
        &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

    fn run(query: &str, c: &Client) -> Result<AuthorizationRequest, Rejection> {
        validate(&Params::parse(query).unwrap(), Some(c), &[])
    }

    #[test]
    fn a_good_request_validates() {
        let c = client("public", &["https://app.example/cb"]);
        let req = run(GOOD, &c).unwrap();
        assert_eq!(req.state.as_deref(), Some("s 1"));
        assert_eq!(
            req.success_location("abc", "https://as.example"),
            "https://app.example/cb?code=abc&state=s+1&iss=https%3A%2F%2Fas.example"
        );
    }

    #[test]
    fn unverified_failures_never_redirect() {
        let c = client("public", &["https://app.example/cb"]);
        for (change, why) in [
            (format!("{GOOD}&client_id=cli_1"), "duplicate client_id"),
            (
                format!("{GOOD}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"),
                "duplicate redirect_uri",
            ),
            (GOOD.replace("client_id=cli_1&", ""), "no client_id"),
            (GOOD.replace("cli_1", "cli_2"), "unknown client"),
            (GOOD.replace("%2Fcb", "%2Fother"), "unregistered"),
            (
                GOOD.replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", ""),
                "omitted with openid",
            ),
            (format!("{GOOD}&response_mode=fragment"), "response mode"),
        ] {
            assert!(
                matches!(run(&change, &c), Err(Rejection::Unverified(_))),
                "{why}"
            );
        }
    }

    #[test]
    fn redirect_errors_come_in_the_documented_order() {
        let c = client("public", &["https://app.example/cb"]);
        for (query, code) in [
            (format!("{GOOD}&state=x"), "invalid_request"),
            (
                GOOD.replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
            (GOOD.replace("response_type=code&", ""), "invalid_request"),
            (
                GOOD.replace("&code_challenge_method=S256", ""),
                "invalid_request",
            ),
            (GOOD.replace("scope=openid", "scope=admin"), "invalid_scope"),
            (GOOD.replace("scope=openid&", ""), "invalid_scope"),
            (format!("{GOOD}&prompt=none%20login"), "invalid_request"),
            (format!("{GOOD}&request=x"), "request_not_supported"),
            (format!("{GOOD}&request_uri=x"), "request_uri_not_supported"),
        ] {
            match run(&query, &c) {
                Err(Rejection::Redirect(r)) => assert_eq!(r.error.code.as_str(), code, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn consent_is_remembered_only_for_assured_clients() {
        let public_loopback = client("public", &["http://127.0.0.1/cb"]);
        let q = GOOD.replace(
            "https%3A%2F%2Fapp.example%2Fcb",
            "http%3A%2F%2F127.0.0.1%2Fcb",
        );
        let req = run(&q, &public_loopback).unwrap();
        let session = SessionFacts {
            user_id: "u".into(),
            auth_time: 0,
            fresh_login: false,
        };
        let all = Scope::parse("openid profile email").unwrap();
        assert!(matches!(
            decide(
                &req,
                &public_loopback,
                Some(&session),
                &HintCheck::Absent,
                Some(&all),
                10
            ),
            Next::Consent
        ));
        let claimed = client("public", &["https://app.example/cb"]);
        let req = run(GOOD, &claimed).unwrap();
        assert!(matches!(
            decide(
                &req,
                &claimed,
                Some(&session),
                &HintCheck::Absent,
                Some(&all),
                10
            ),
            Next::IssueCode
        ));
    }

    #[test]
    fn the_app_identity_is_checked_before_anything_that_could_redirect() {
        use crate::storage::clients::AppIdentity;
        let mut c = client("public", &["https://app.example/cb"]);
        let identity = AppIdentity {
            identity_id: "aid_1".into(),
            client_id: "cli_1".into(),
            platform: "android".into(),
            app_id: "com.example.app".into(),
            team_id: None,
            created_at: 0,
            certs: vec![("sha256".into(), vec![0u8; 32])],
        };
        let zeros = "A".repeat(43);
        let good =
            format!("{GOOD}&app_platform=android&app_id=com.example.app&app_cert_sha256={zeros}");
        let with = |q: &str, c: &Client| {
            validate(
                &Params::parse(q).unwrap(),
                Some(c),
                std::slice::from_ref(&identity),
            )
        };
        let req = with(&good, &c).unwrap();
        assert_eq!(req.app_identity.unwrap().identity_id, "aid_1");
        // A bad identity wins over a later error that would otherwise redirect.
        let bad = good
            .replace("response_type=code", "response_type=token")
            .replace(&zeros, &"B".repeat(43));
        match with(&bad, &c) {
            Err(Rejection::AppIdentity(r)) => {
                assert_eq!(r.error, AppIdentityError::Invalid);
                assert_eq!(r.client_name, "App");
            }
            other => panic!("{other:?}"),
        }
        // But an unverified redirect URI is still a plain page first.
        assert!(matches!(
            with(&bad.replace("%2Fcb", "%2Fx"), &c),
            Err(Rejection::Unverified(_))
        ));
        c.row.require_app_identity = true;
        match run(GOOD, &c) {
            Err(Rejection::AppIdentity(r)) => assert_eq!(r.error, AppIdentityError::Required),
            other => panic!("{other:?}"),
        }
        assert!(with(&good, &c).is_ok());
    }
}
