//! oxide-auth at the seams (DESIGN.md, Protocol engine): its `Registrar`, `Authorizer` and
//! `Pkce` extension over our client rules and `storage::codes`. The only module that knows
//! both oxide-auth and storage.
//!
//! Our own code stands in front of every primitive: request parsing (duplicate-aware), the
//! page-versus-redirect decision, RFC 9207 `iss`, prompt/max_age, consent, and the syntax
//! checks of `pkce` run first; the primitives then make the decisions they are made for:
//! - [`ClientRegistrar`] (`Registrar`): `bound_redirect` with OUR exact matching
//!   ([`redirect_uri::matches`], RFC 8252 loopback-any-port for native apps only — never
//!   oxide-auth's `IgnorePortOnLocalhost`, which is the reverse of RFC 8252), `negotiate` with
//!   the client's allowed scopes, `check` with our SHA-256 constant-time client secrets.
//! - [`CodeStore`] (`Authorizer`): `authorize(Grant)` writes the code row (SHA-256 of a
//!   256-bit code) with the bindings oxide-auth's `Grant` cannot carry passed alongside.
//! - [`accept_challenge`] / [`verify_pkce`]: oxide-auth's `Pkce::required()` (plain refused).
//!
//! oxide-auth primitives answer `Result<_, ()>`; the real reason of a refusal or failure is
//! kept on the primitive ([`ClientRegistrar::refusal`], [`CodeStore::issue`]) and mapped after.

use std::borrow::Cow;
use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::authorizer::Authorizer;
use oxide_auth::primitives::grant::{Extensions, Grant, Value};
use oxide_auth::primitives::registrar::{
    BoundClient, ClientUrl, ExactUrl, PreGrant, RegisteredUrl, Registrar, RegistrarError,
};
use oxide_auth::primitives::scope::Scope as OxScope;

use crate::crypto::secrets::PlainSecret;
use crate::oauth::client_auth::{self, Presented};
use crate::oauth::error::OAuthError;
use crate::oauth::redirect_uri::{self, ApplicationType};
use crate::oauth::scope::Scope;
use crate::storage::clients::Client;
use crate::storage::codes::{self, CodeRow};
use crate::storage::{Conn, StorageError};

/// Why the registrar refused (oxide-auth's `RegistrarError` is deliberately uninformative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not the loaded client, or it is disabled.
    UnknownClient,
    /// The redirect URI sent matches no registered one.
    RedirectNotRegistered,
    /// No redirect URI was sent and the client has more than one registered.
    NoRedirectUri,
    /// No scope was requested.
    NoScope,
    /// This requested scope is not allowed for the client.
    ScopeDenied(String),
    /// Client authentication failed.
    BadCredentials,
}

/// oxide-auth's `Registrar` over one loaded client (a one-request registry snapshot): no
/// database access inside the trait methods.
pub struct ClientRegistrar<'a> {
    client: &'a Client,
    /// The instant for the previous-secret grace period in `check`; `None` accepts only the
    /// current secret.
    now: Option<i64>,
    refusal: RefCell<Option<Refusal>>,
}

/// A client bound to its verified redirect URI (the exact string to answer on).
pub type Bound = BoundClient<'static>;

impl<'a> ClientRegistrar<'a> {
    pub fn new(client: &'a Client) -> Self {
        ClientRegistrar {
            client,
            now: None,
            refusal: RefCell::new(None),
        }
    }

    /// Lets `check` accept the previous secret while its grace period lasts at `now`.
    pub fn at(mut self, now: i64) -> Self {
        self.now = Some(now);
        self
    }

    /// The reason of the last refusal.
    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal.borrow().clone()
    }

    fn refuse<T>(&self, why: Refusal) -> Result<T, RegistrarError> {
        *self.refusal.borrow_mut() = Some(why);
        Err(RegistrarError::Unspecified)
    }

    fn app_type(&self) -> ApplicationType {
        if self.client.is_native() {
            ApplicationType::Native
        } else {
            ApplicationType::Web
        }
    }

    /// Binds the redirect URI through `Registrar::bound_redirect`. Guarantees `Ok` only for
    /// the loaded, enabled client and a URI that [`redirect_uri::matches`] a registered one
    /// (or, when none is sent, the client's only registered one); the bound URI is the exact
    /// string to use.
    pub fn bind(&self, requested: Option<&str>) -> Result<Bound, Refusal> {
        let redirect_uri = match requested {
            // A string the url crate cannot parse is not one we registered (registration
            // requires an absolute URI), so it is refused the same way.
            Some(uri) => match ExactUrl::new(uri.to_string()) {
                Ok(exact) => Some(Cow::Owned(exact)),
                Err(_) => return Err(Refusal::RedirectNotRegistered),
            },
            None => None,
        };
        let url = ClientUrl {
            client_id: Cow::Owned(self.client.id().to_string()),
            redirect_uri,
        };
        self.bound_redirect(url)
            .map_err(|_| self.refusal().unwrap_or(Refusal::RedirectNotRegistered))
    }

    /// Negotiates the scope through `Registrar::negotiate`: `Ok` only when every requested
    /// token is allowed for the client; the scope is then granted exactly as requested.
    pub fn negotiate_scope(&self, bound: Bound, scope: &Scope) -> Result<Scope, Refusal> {
        let requested = if scope.is_empty() {
            None
        } else {
            // Our `Scope` holds only RFC 6749 §3.3 tokens, which oxide-auth accepts too.
            match scope.to_string().parse::<OxScope>() {
                Ok(s) => Some(s),
                Err(_) => return Err(Refusal::NoScope),
            }
        };
        match self.negotiate(bound, requested) {
            Ok(pre) => Ok(Scope::from_tokens(pre.scope.iter())),
            Err(_) => Err(self.refusal().unwrap_or(Refusal::NoScope)),
        }
    }
}

impl Registrar for ClientRegistrar<'_> {
    fn bound_redirect<'b>(&self, bound: ClientUrl<'b>) -> Result<BoundClient<'b>, RegistrarError> {
        if bound.client_id != self.client.id() || !self.client.row.enabled {
            return self.refuse(Refusal::UnknownClient);
        }
        let chosen = match bound.redirect_uri {
            Some(requested) => {
                // OAuth 2.1 §2.3.1: exact string comparison (RFC 8252 §7.3: any port for a
                // native app's loopback redirect). Never oxide-auth's semantic comparison.
                let app_type = self.app_type();
                if !self
                    .client
                    .redirect_uris
                    .iter()
                    .any(|r| redirect_uri::matches(r, requested.as_str(), app_type))
                {
                    return self.refuse(Refusal::RedirectNotRegistered);
                }
                requested.into_owned()
            }
            // OAuth 2.1 §2.3.2: a client with one registered URI may omit it.
            None => match self.client.redirect_uris.as_slice() {
                [only] => {
                    ExactUrl::new(only.clone()).map_err(|_| RegistrarError::PrimitiveError)?
                }
                _ => return self.refuse(Refusal::NoRedirectUri),
            },
        };
        Ok(BoundClient {
            client_id: bound.client_id,
            redirect_uri: Cow::Owned(RegisteredUrl::Exact(chosen)),
        })
    }

    fn negotiate(
        &self,
        client: BoundClient,
        scope: Option<OxScope>,
    ) -> Result<PreGrant, RegistrarError> {
        // RFC 6749 §3.3 lets the AS default an omitted scope or fail; we fail (explicit).
        let Some(scope) = scope else {
            return self.refuse(Refusal::NoScope);
        };
        // Sorted, so that the refusal names the same scope every time.
        let ours = Scope::from_tokens(scope.iter());
        if let Some(denied) = ours.iter().find(|s| !self.client.allows_scope(s)) {
            return self.refuse(Refusal::ScopeDenied(denied.to_string()));
        }
        Ok(PreGrant {
            client_id: client.client_id.into_owned(),
            redirect_uri: client.redirect_uri.into_owned(),
            scope,
        })
    }

    /// Our client authentication rules ([`client_auth::authenticate`]: SHA-256 in constant
    /// time, previous-secret grace), not oxide-auth's Argon2 policy. oxide-auth's signature
    /// loses the transport, so the client's registered method is assumed; the token endpoint
    /// therefore authenticates with `client_auth` directly, which also enforces "exactly one
    /// method, the registered one".
    fn check(&self, client_id: &str, passphrase: Option<&[u8]>) -> Result<(), RegistrarError> {
        let client_id = client_id.to_string();
        let presented = match passphrase {
            None => Presented::None { client_id },
            Some(bytes) => {
                let Ok(secret) = String::from_utf8(bytes.to_vec()) else {
                    return self.refuse(Refusal::BadCredentials);
                };
                match self.client.row.token_endpoint_auth_method.as_str() {
                    "client_secret_post" => Presented::Post { client_id, secret },
                    _ => Presented::Basic { client_id, secret },
                }
            }
        };
        let client = Some(self.client).filter(|c| c.id() == presented.client_id());
        match client_auth::authenticate(&presented, client, self.now.unwrap_or(i64::MAX)) {
            Ok(()) => Ok(()),
            Err(_) => self.refuse(Refusal::BadCredentials),
        }
    }
}

/// RFC 7636 §4.3 through oxide-auth's `Pkce::required()` (plain refused), after our stricter
/// syntax check (`pkce::validate_challenge`). Returns the extension value bound to the code.
pub fn accept_challenge(
    method: Option<&str>,
    challenge: Option<&str>,
) -> Result<Value, OAuthError> {
    match Pkce::required().challenge(method.map(Cow::Borrowed), challenge.map(Cow::Borrowed)) {
        Ok(Some(value)) => Ok(value),
        _ => Err(OAuthError::invalid_request(
            "code_challenge with code_challenge_method=S256 is required",
        )),
    }
}

/// RFC 7636 §4.6 through oxide-auth's `Pkce` extension: true when the verifier matches the
/// stored S256 challenge, compared in constant time (oxide-auth uses `subtle`). The
/// extension's value is rebuilt from the stored challenge by the extension itself, so its
/// private encoding never leaves oxide-auth. Check the syntax first
/// (`pkce::validate_verifier`).
pub fn verify_pkce(stored_challenge: &str, verifier: &str) -> bool {
    let Ok(value) = accept_challenge(Some("S256"), Some(stored_challenge)) else {
        return false;
    };
    Pkce::required()
        .verify(Some(value), Some(Cow::Borrowed(verifier)))
        .is_ok()
}

/// What a new code binds (OAuth 2.1 §4.1.2; DESIGN.md, Tokens and secrets).
#[derive(Debug, Clone)]
pub struct PendingCode {
    pub client_id: String,
    pub user_id: String,
    /// The exact redirect URI of the request (answered on and compared at /token as is).
    pub redirect_uri: String,
    pub scope: Scope,
    /// RFC 8707 resources, space-separated, when the request named any.
    pub resource: Option<String>,
    /// The S256 challenge.
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub session_hash: Option<Vec<u8>>,
    pub app_identity_id: Option<String>,
    pub family_id: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Issues an authorization code for `pending` through oxide-auth's `Authorizer`: the
/// `Grant` carries client, user, scope, redirect URI, expiry and the PKCE extension; what a
/// `Grant` cannot carry exactly (the redirect URI string — `Url` normalises —, session,
/// nonce, auth_time, family, resource, app identity) goes alongside. Returns the code.
pub fn issue_code(conn: &mut Conn, pending: PendingCode) -> Result<String, StorageError> {
    let pkce = accept_challenge(Some("S256"), Some(&pending.code_challenge))
        .map_err(|_| StorageError::Other("code without a valid S256 challenge".into()))?;
    let redirect = url::Url::parse(&pending.redirect_uri)
        .map_err(|_| StorageError::Other("unparseable redirect URI".into()))?;
    let scope = pending
        .scope
        .to_string()
        .parse::<OxScope>()
        .map_err(|_| StorageError::Other("unrepresentable scope".into()))?;
    let mut extensions = Extensions::new();
    extensions.set(&Pkce::required(), pkce);
    let grant = Grant {
        owner_id: pending.user_id.clone(),
        client_id: pending.client_id.clone(),
        scope,
        redirect_uri: redirect,
        until: (SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(pending.expires_at).unwrap_or(0)))
        .into(),
        extensions,
    };
    CodeStore::new(conn, pending).issue(grant)
}

/// oxide-auth's `Authorizer` over `storage::codes`, for one code.
pub struct CodeStore<'c> {
    conn: &'c mut Conn,
    pending: Option<PendingCode>,
    failure: Option<StorageError>,
}

impl<'c> CodeStore<'c> {
    pub fn new(conn: &'c mut Conn, pending: PendingCode) -> Self {
        CodeStore {
            conn,
            pending: Some(pending),
            failure: None,
        }
    }

    /// `Authorizer::authorize`, with the real failure instead of `()`.
    pub fn issue(mut self, grant: Grant) -> Result<String, StorageError> {
        match self.authorize(grant) {
            Ok(code) => Ok(code),
            Err(()) => Err(self
                .failure
                .take()
                .unwrap_or_else(|| StorageError::Other("code refused".into()))),
        }
    }

    fn fail<T>(&mut self, error: StorageError) -> Result<T, ()> {
        self.failure = Some(error);
        Err(())
    }
}

impl Authorizer for CodeStore<'_> {
    /// Generates a 256-bit code and stores only its SHA-256, bound to the grant and the
    /// pending bindings. Refuses a grant that disagrees with the bindings or lacks the PKCE
    /// extension (PKCE is required for every code).
    fn authorize(&mut self, mut grant: Grant) -> Result<String, ()> {
        let Some(pending) = self.pending.take() else {
            return self.fail(StorageError::Other("one code per store".into()));
        };
        let expected_pkce = accept_challenge(Some("S256"), Some(&pending.code_challenge)).ok();
        let pkce = grant.extensions.remove(&Pkce::required());
        if pkce.is_none() || pkce != expected_pkce {
            return self.fail(StorageError::Other(
                "grant without its PKCE challenge".into(),
            ));
        }
        if grant.client_id != pending.client_id
            || grant.owner_id != pending.user_id
            || url::Url::parse(&pending.redirect_uri).ok().as_ref() != Some(&grant.redirect_uri)
        {
            return self.fail(StorageError::Other("grant and bindings disagree".into()));
        }
        let code = PlainSecret::generate();
        let row = CodeRow {
            code_hash: code.hash().to_vec(),
            client_id: grant.client_id,
            user_id: grant.owner_id,
            session_hash: pending.session_hash,
            redirect_uri: pending.redirect_uri,
            scope: Scope::from_tokens(grant.scope.iter()).to_string(),
            resource: pending.resource,
            code_challenge: pending.code_challenge,
            code_challenge_method: "S256".to_string(),
            nonce: pending.nonce,
            auth_time: pending.auth_time,
            app_identity_id: pending.app_identity_id,
            family_id: pending.family_id,
            created_at: pending.created_at,
            expires_at: grant.until.timestamp(),
            used_at: None,
        };
        if let Err(e) = codes::insert(self.conn, &row) {
            return self.fail(e);
        }
        Ok(code.expose().to_string())
    }

    /// Unused, and always refuses: it would make a used code look absent, but the token
    /// endpoint must see used rows to detect a replay (issue 6; OAuth 2.1 §4.1.3), so it
    /// looks the row up itself (`codes::find`) and redeems it with a conditional update.
    fn extract(&mut self, _code: &str) -> Result<Option<Grant>, ()> {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::pkce;
    use crate::storage::clients::ClientRow;

    fn client(kind: &str, app_type: &str, uris: &[&str]) -> Client {
        Client {
            row: ClientRow {
                client_id: "cli_1".into(),
                client_name: "App".into(),
                client_type: kind.into(),
                application_type: app_type.into(),
                token_endpoint_auth_method: if kind == "public" {
                    "none".into()
                } else {
                    "client_secret_basic".into()
                },
                secret_hash: (kind != "public")
                    .then(|| PlainSecret::from_presented("s3cret").hash().to_vec()),
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

    #[test]
    fn the_registrar_matches_exactly_and_loopback_ports_only_for_native_apps() {
        let web = client(
            "public",
            "web",
            &["https://app.example/cb", "http://127.0.0.1/cb"],
        );
        let reg = ClientRegistrar::new(&web);
        assert_eq!(
            reg.bind(Some("https://app.example/cb"))
                .unwrap()
                .redirect_uri
                .as_str(),
            "https://app.example/cb"
        );
        for bad in [
            "https://APP.example/cb",
            "https://app.example/cb/",
            "https://app.example:443/cb",
            "http://127.0.0.1:5000/cb",
            "not a uri",
        ] {
            assert_eq!(
                reg.bind(Some(bad)).unwrap_err(),
                Refusal::RedirectNotRegistered,
                "{bad}"
            );
        }
        assert_eq!(reg.bind(None).unwrap_err(), Refusal::NoRedirectUri);
        let native = client(
            "public",
            "native",
            &["http://127.0.0.1/cb", "http://localhost/cb"],
        );
        let reg = ClientRegistrar::new(&native);
        assert_eq!(
            reg.bind(Some("http://127.0.0.1:5000/cb"))
                .unwrap()
                .redirect_uri
                .as_str(),
            "http://127.0.0.1:5000/cb"
        );
        // The reverse of oxide-auth's IgnoreLocalPortUrl: `localhost` keeps its port.
        assert!(reg.bind(Some("http://localhost:5000/cb")).is_err());
        let one = client("public", "web", &["https://app.example/cb"]);
        assert_eq!(
            ClientRegistrar::new(&one)
                .bind(None)
                .unwrap()
                .redirect_uri
                .as_str(),
            "https://app.example/cb"
        );
    }

    #[test]
    fn the_registrar_grants_only_allowed_scopes() {
        let c = client("public", "web", &["https://app.example/cb"]);
        let reg = ClientRegistrar::new(&c);
        let bound = reg.bind(None).unwrap();
        let asked = Scope::parse("email openid").unwrap();
        assert_eq!(reg.negotiate_scope(bound.clone(), &asked).unwrap(), asked);
        let too_much = Scope::parse("openid zeta admin").unwrap();
        assert_eq!(
            reg.negotiate_scope(bound.clone(), &too_much).unwrap_err(),
            Refusal::ScopeDenied("admin".into())
        );
        assert_eq!(
            reg.negotiate_scope(bound, &Scope::default()).unwrap_err(),
            Refusal::NoScope
        );
    }

    #[test]
    fn the_registrar_checks_secrets_with_our_rules() {
        let c = client("confidential", "web", &["https://app.example/cb"]);
        let reg = ClientRegistrar::new(&c);
        assert!(reg.check("cli_1", Some(b"s3cret")).is_ok());
        assert!(reg.check("cli_1", Some(b"wrong")).is_err());
        assert!(reg.check("cli_1", None).is_err());
        assert!(reg.check("cli_2", Some(b"s3cret")).is_err());
        let p = client("public", "web", &["https://app.example/cb"]);
        assert!(ClientRegistrar::new(&p).check("cli_1", None).is_ok());
    }

    #[test]
    fn pkce_goes_through_the_extension_s256_only() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify_pkce(challenge, verifier));
        assert_eq!(
            verify_pkce(challenge, verifier),
            pkce::verify(verifier, challenge)
        );
        assert!(!verify_pkce(
            challenge,
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
        assert!(accept_challenge(Some("plain"), Some(challenge)).is_err());
        assert!(accept_challenge(None, Some(challenge)).is_err());
        assert!(accept_challenge(Some("S256"), None).is_err());
        assert!(accept_challenge(Some("S256"), Some(challenge)).is_ok());
    }
}
