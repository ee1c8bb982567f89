//! The client registry's rules, shared by the CLI, the admin API and the admin console:
//! what a valid client is, how one is created, updated and shown.
//!
//! [`ClientView`] is the one JSON shape of a client everywhere (RFC 7591 field names plus our
//! own); the database row ([`ClientRow`]) is a separate type so that a secret hash can never
//! leak through `Serialize`.

use serde::{Deserialize, Serialize};

use crate::crypto::keys::Alg;
use crate::crypto::secrets::{prefixed_id, PlainSecret};
use crate::oauth::app_identity::{self, CertAlg, IdentitySpec};
use crate::oauth::redirect_uri::{self, ApplicationType};
use crate::oauth::scope;
use crate::storage::audit::{self, AuditEvent};
use crate::storage::clients::{self, AppIdentity, Client, ClientRow};
use crate::storage::{codes, families};
use crate::storage::{write_tx, Conn, StorageError};

/// Grant types a client may be allowed. `implicit` and `password` do not exist here
/// (OAuth 2.1 §10.1).
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];

/// What an admin asks for; every field is checked by [`validate`].
#[derive(Debug, Clone, Default)]
pub struct ClientSpec {
    pub client_name: String,
    pub client_type: String,
    pub application_type: Option<String>,
    pub token_endpoint_auth_method: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub cors_origins: Vec<String>,
    pub skip_consent: bool,
    pub signing_alg: Option<String>,
    pub require_app_identity: bool,
    pub enabled: bool,
}

/// A validation failure, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The JSON shape of a client: RFC 7591 names (`client_id`, `client_name`, `redirect_uris`,
/// `grant_types`, `token_endpoint_auth_method`, `scope`, `application_type`) plus our own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: String,
    pub client_type: String,
    pub application_type: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub allowed_cors_origins: Vec<String>,
    pub skip_consent: bool,
    pub enabled: bool,
    pub signing_alg: String,
    pub require_app_identity: bool,
    pub client_id_issued_at: i64,
    pub updated_at: i64,
    /// Present only in the response that creates the client or rotates its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Present where the identities were loaded (show, the admin API), absent in lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_identities: Option<Vec<AppIdentityView>>,
}

/// The JSON shape of an app identity: hashes as colon hex and, for SHA-256, as the
/// `android:apk-key-hash:` origin an Android app presents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppIdentityView {
    pub identity_id: String,
    pub platform: String,
    pub app_id: String,
    pub team_id: Option<String>,
    pub cert_sha256: Vec<String>,
    pub cert_sha256_origins: Vec<String>,
    pub cert_sha1: Vec<LegacyHashView>,
    pub created_at: i64,
}

/// A SHA-1 key hash, always flagged as legacy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LegacyHashView {
    pub hash: String,
    pub legacy: bool,
}

impl AppIdentityView {
    pub fn of(identity: &AppIdentity) -> Self {
        let sha256: Vec<&[u8]> = identity
            .certs
            .iter()
            .filter(|(alg, _)| alg == CertAlg::Sha256.as_str())
            .map(|(_, h)| h.as_slice())
            .collect();
        Self {
            identity_id: identity.identity_id.clone(),
            platform: identity.platform.clone(),
            app_id: identity.app_id.clone(),
            team_id: identity.team_id.clone(),
            cert_sha256: sha256
                .iter()
                .map(|h| app_identity::to_colon_hex(h))
                .collect(),
            cert_sha256_origins: sha256.iter().map(|h| app_identity::to_origin(h)).collect(),
            cert_sha1: identity
                .certs
                .iter()
                .filter(|(alg, _)| alg == CertAlg::Sha1.as_str())
                .map(|(_, h)| LegacyHashView {
                    hash: app_identity::to_colon_hex(h),
                    legacy: true,
                })
                .collect(),
            created_at: identity.created_at,
        }
    }
}

impl ClientView {
    pub fn of(client: &Client) -> Self {
        let row = &client.row;
        Self {
            client_id: row.client_id.clone(),
            client_name: row.client_name.clone(),
            client_type: row.client_type.clone(),
            application_type: row.application_type.clone(),
            token_endpoint_auth_method: row.token_endpoint_auth_method.clone(),
            redirect_uris: client.redirect_uris.clone(),
            grant_types: client.grant_types(),
            scope: row.scope.clone(),
            allowed_cors_origins: client.cors_origins.clone(),
            skip_consent: row.skip_consent,
            enabled: row.enabled,
            signing_alg: row.signing_alg.clone(),
            require_app_identity: row.require_app_identity,
            client_id_issued_at: row.created_at,
            updated_at: row.updated_at,
            client_secret: None,
            app_identities: None,
        }
    }

    /// The view with the client's app identities included.
    pub fn with_identities(mut self, identities: &[AppIdentity]) -> Self {
        self.app_identities = Some(identities.iter().map(AppIdentityView::of).collect());
        self
    }

    pub fn with_secret(mut self, secret: Option<&PlainSecret>) -> Self {
        self.client_secret = secret.map(|s| s.expose().to_string());
        self
    }
}

impl ClientSpec {
    /// The spec that reproduces an existing client (the base of an update).
    pub fn of(client: &Client) -> Self {
        let row = &client.row;
        Self {
            client_name: row.client_name.clone(),
            client_type: row.client_type.clone(),
            application_type: Some(row.application_type.clone()),
            token_endpoint_auth_method: Some(row.token_endpoint_auth_method.clone()),
            redirect_uris: client.redirect_uris.clone(),
            grant_types: client.grant_types(),
            scope: row.scope.clone(),
            cors_origins: client.cors_origins.clone(),
            skip_consent: row.skip_consent,
            signing_alg: Some(row.signing_alg.clone()),
            require_app_identity: row.require_app_identity,
            enabled: row.enabled,
        }
    }
}

/// A spec that passed validation, with defaults filled in.
#[derive(Debug, Clone)]
pub struct ValidSpec {
    pub client_name: String,
    pub client_type: String,
    pub application_type: String,
    pub token_endpoint_auth_method: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scope: String,
    pub cors_origins: Vec<String>,
    pub skip_consent: bool,
    pub signing_alg: String,
    pub require_app_identity: bool,
    pub enabled: bool,
}

/// Checks a spec against the registry's rules; the error names the first bad field.
pub fn validate(spec: &ClientSpec) -> Result<ValidSpec, FieldError> {
    let name = spec.client_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(field_error("client_name", "must be 1 to 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(field_error(
            "client_name",
            "must not contain control characters",
        ));
    }
    let client_type = spec.client_type.as_str();
    if !matches!(client_type, "public" | "confidential") {
        return Err(field_error(
            "client_type",
            "must be `public` or `confidential`",
        ));
    }
    let application_type = spec.application_type.as_deref().unwrap_or("web");
    let app_type = match application_type {
        "web" => ApplicationType::Web,
        "native" => ApplicationType::Native,
        _ => return Err(field_error("application_type", "must be `web` or `native`")),
    };
    if app_type == ApplicationType::Native && client_type == "confidential" {
        // OAuth 2.1 §8.1: a secret shipped inside a native app is no secret.
        return Err(field_error(
            "client_type",
            "native apps are public clients (a secret in an app is not a secret)",
        ));
    }
    let default_method = if client_type == "public" {
        "none"
    } else {
        "client_secret_basic"
    };
    let method = spec
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or(default_method);
    match (client_type, method) {
        ("public", "none") => {}
        ("confidential", "client_secret_basic" | "client_secret_post") => {}
        ("public", _) => {
            return Err(field_error(
                "token_endpoint_auth_method",
                "a public client authenticates with `none`",
            ))
        }
        _ => {
            return Err(field_error(
                "token_endpoint_auth_method",
                "a confidential client uses `client_secret_basic` or `client_secret_post`",
            ))
        }
    }

    let mut grant_types: Vec<String> = Vec::new();
    for grant in &spec.grant_types {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            let hint = if grant == "implicit" || grant == "password" {
                " (removed in OAuth 2.1)"
            } else {
                ""
            };
            return Err(field_error(
                "grant_types",
                format!(
                    "unsupported grant type `{grant}`{hint}; allowed: {}",
                    GRANT_TYPES.join(", ")
                ),
            ));
        }
        if !grant_types.contains(grant) {
            grant_types.push(grant.clone());
        }
    }
    if grant_types.is_empty() {
        return Err(field_error(
            "grant_types",
            "at least one grant type is required",
        ));
    }
    if grant_types.iter().any(|g| g == "client_credentials") && client_type == "public" {
        return Err(field_error(
            "grant_types",
            "client_credentials is for confidential clients only",
        ));
    }
    if grant_types.iter().any(|g| g == "refresh_token")
        && !grant_types.iter().any(|g| g == "authorization_code")
    {
        return Err(field_error(
            "grant_types",
            "refresh_token needs authorization_code (refresh tokens come from a code grant)",
        ));
    }

    let mut redirect_uris: Vec<String> = Vec::new();
    for uri in &spec.redirect_uris {
        redirect_uri::validate_for_registration(uri, app_type)
            .map_err(|m| field_error("redirect_uris", format!("{uri}: {m}")))?;
        if redirect_uris.contains(uri) {
            return Err(field_error("redirect_uris", format!("{uri}: listed twice")));
        }
        redirect_uris.push(uri.clone());
    }
    if redirect_uris.len() > 20 {
        return Err(field_error("redirect_uris", "at most 20 redirect URIs"));
    }
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(field_error(
            "redirect_uris",
            "at least one redirect URI is required for authorization_code",
        ));
    }

    let mut scopes: Vec<&str> = Vec::new();
    for token in spec.scope.split(' ').filter(|s| !s.is_empty()) {
        if !scope::is_valid_token(token) {
            return Err(field_error(
                "scope",
                format!("`{token}` is not a valid scope token"),
            ));
        }
        if !scopes.contains(&token) {
            scopes.push(token);
        }
    }
    if spec.scope.len() > 2048 {
        return Err(field_error("scope", "at most 2048 characters"));
    }

    let mut cors_origins: Vec<String> = Vec::new();
    for origin in &spec.cors_origins {
        validate_origin(origin).map_err(|m| field_error("allowed_cors_origins", m))?;
        if !cors_origins.contains(origin) {
            cors_origins.push(origin.clone());
        }
    }

    let signing_alg = spec.signing_alg.as_deref().unwrap_or("ES256");
    if Alg::parse(signing_alg).is_none() {
        return Err(field_error("signing_alg", "must be `ES256` or `RS256`"));
    }

    Ok(ValidSpec {
        client_name: name.to_string(),
        client_type: client_type.to_string(),
        application_type: application_type.to_string(),
        token_endpoint_auth_method: method.to_string(),
        redirect_uris,
        grant_types,
        scope: scopes.join(" "),
        cors_origins,
        skip_consent: spec.skip_consent,
        signing_alg: signing_alg.to_string(),
        require_app_identity: spec.require_app_identity,
        enabled: spec.enabled,
    })
}

/// An origin is `scheme://host[:port]`: https, or http on a loopback address. No path, no
/// wildcard (a `*` with credentials is never sent).
pub fn validate_origin(origin: &str) -> Result<(), String> {
    let bad = || format!("{origin}: not an origin (scheme://host[:port])");
    if origin.contains('*') {
        return Err(format!("{origin}: wildcards are not allowed"));
    }
    let url = url::Url::parse(origin).map_err(|_| bad())?;
    if url.origin().ascii_serialization() != origin {
        return Err(bad());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if matches!(url.host_str(), Some("127.0.0.1") | Some("[::1]")) => Ok(()),
        _ => Err(format!(
            "{origin}: must be https (or http on 127.0.0.1 / [::1])"
        )),
    }
}

/// Creates a client. Confidential clients get a server-generated secret, returned here once
/// and stored only as its SHA-256 hash.
pub fn create(
    conn: &mut Conn,
    spec: &ClientSpec,
    actor: &str,
    now: i64,
) -> Result<(Client, Option<PlainSecret>), RegistryError> {
    let valid = validate(spec)?;
    let secret = (valid.client_type == "confidential").then(PlainSecret::generate);
    let client = Client {
        row: ClientRow {
            client_id: prefixed_id::<12>("cli_"),
            client_name: valid.client_name,
            client_type: valid.client_type,
            application_type: valid.application_type,
            token_endpoint_auth_method: valid.token_endpoint_auth_method,
            secret_hash: secret.as_ref().map(|s| s.hash().to_vec()),
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            grant_types: valid.grant_types.join(" "),
            scope: valid.scope,
            skip_consent: valid.skip_consent,
            enabled: valid.enabled,
            signing_alg: valid.signing_alg,
            require_app_identity: valid.require_app_identity,
            created_at: now,
            updated_at: now,
        },
        redirect_uris: valid.redirect_uris,
        cors_origins: valid.cors_origins,
    };
    write_tx(conn, |conn| {
        clients::insert(conn, &client)?;
        audit::record(
            conn,
            &AuditEvent::new("client_created", now)
                .actor(actor)
                .client(client.id()),
        )
    })?;
    Ok((client, secret))
}

/// Replaces a client's settings with `spec` (its id, secret and creation time stay).
pub fn update(
    conn: &mut Conn,
    client_id: &str,
    spec: &ClientSpec,
    actor: &str,
    now: i64,
) -> Result<Client, RegistryError> {
    let valid = validate(spec)?;
    write_tx(conn, |conn| {
        let mut client = clients::find(conn, client_id)?.ok_or(StorageError::NotFound)?;
        if client.row.client_type != valid.client_type {
            // One client_id must not act as two types (OAuth 2.1 §2.1); a new client is the
            // honest way to change it.
            return Err(RegistryError::Invalid(field_error(
                "client_type",
                "the client type cannot change; register a new client",
            )));
        }
        let row = &mut client.row;
        row.client_name = valid.client_name;
        row.application_type = valid.application_type;
        row.token_endpoint_auth_method = valid.token_endpoint_auth_method;
        row.grant_types = valid.grant_types.join(" ");
        row.scope = valid.scope;
        row.skip_consent = valid.skip_consent;
        row.enabled = valid.enabled;
        row.signing_alg = valid.signing_alg;
        row.require_app_identity = valid.require_app_identity;
        row.updated_at = now;
        client.redirect_uris = valid.redirect_uris;
        client.cors_origins = valid.cors_origins;
        clients::update(conn, &client)?;
        audit::record(
            conn,
            &AuditEvent::new("client_updated", now)
                .actor(actor)
                .client(client_id),
        )?;
        if !client.row.enabled {
            // A disabled client must lose what it already holds, not only the ability to get
            // more: its refresh tokens die with the change, in the same transaction.
            let revoked = families::revoke_for_client(conn, client_id, now)?;
            if revoked > 0 {
                audit::record(
                    conn,
                    &AuditEvent::new("client_tokens_revoked", now)
                        .actor(actor)
                        .client(client_id)
                        .detail(serde_json::json!({ "families": revoked })),
                )?;
            }
        }
        Ok(client)
    })
}

impl From<diesel::result::Error> for RegistryError {
    fn from(err: diesel::result::Error) -> Self {
        RegistryError::Storage(err.into())
    }
}

impl From<RegistryError> for StorageError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::Storage(e) => e,
            RegistryError::Invalid(e) => StorageError::Other(e.to_string()),
        }
    }
}

/// The longest grace period a rotated secret may keep working (30 days).
pub const MAX_SECRET_GRACE_SECONDS: i64 = 30 * 24 * 3600;

/// Gives a confidential client a new server-generated 256-bit secret, returned here once and
/// stored as its SHA-256 hash. With `grace_seconds > 0` the old secret keeps working until
/// `now + grace_seconds` (so that deployments can roll over); with 0 it stops at once.
pub fn rotate_secret(
    conn: &mut Conn,
    client_id: &str,
    actor: &str,
    now: i64,
    grace_seconds: i64,
) -> Result<PlainSecret, RegistryError> {
    if !(0..=MAX_SECRET_GRACE_SECONDS).contains(&grace_seconds) {
        return Err(field_error(
            "grace_seconds",
            format!("must be between 0 and {MAX_SECRET_GRACE_SECONDS}"),
        )
        .into());
    }
    let secret = PlainSecret::generate();
    write_tx(conn, |conn| {
        let mut client = clients::find(conn, client_id)?.ok_or(StorageError::NotFound)?;
        if !client.is_confidential() {
            return Err(RegistryError::Invalid(field_error(
                "client_type",
                "only confidential clients have a secret",
            )));
        }
        let row = &mut client.row;
        if grace_seconds > 0 {
            row.previous_secret_hash = row.secret_hash.take();
            row.previous_secret_expires_at = Some(now + grace_seconds);
        } else {
            row.previous_secret_hash = None;
            row.previous_secret_expires_at = None;
        }
        row.secret_hash = Some(secret.hash().to_vec());
        row.updated_at = now;
        clients::update(conn, &client)?;
        audit::record(
            conn,
            &AuditEvent::new("client_secret_rotated", now)
                .actor(actor)
                .client(client_id)
                .detail(serde_json::json!({ "grace_seconds": grace_seconds })),
        )?;
        Ok(secret)
    })
}

impl From<app_identity::IdentityError> for FieldError {
    fn from(e: app_identity::IdentityError) -> Self {
        FieldError {
            field: e.field,
            message: e.message,
        }
    }
}

/// A client's app identities; `NotFound` when the client does not exist.
pub fn list_app_identities(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Vec<AppIdentity>, StorageError> {
    if !clients::exists(conn, client_id)? {
        return Err(StorageError::NotFound);
    }
    clients::list_app_identities(conn, client_id)
}

/// Registers an app identity for a client. The same platform and app id twice on one client
/// is a `Conflict` (add the new hash to a fresh identity after removing the old one, or list
/// every hash in one identity).
pub fn add_app_identity(
    conn: &mut Conn,
    client_id: &str,
    spec: &IdentitySpec,
    actor: &str,
    now: i64,
) -> Result<AppIdentity, RegistryError> {
    let valid = app_identity::validate(spec).map_err(FieldError::from)?;
    let identity = AppIdentity {
        identity_id: prefixed_id::<12>("aid_"),
        client_id: client_id.to_string(),
        platform: valid.platform.as_str().to_string(),
        app_id: valid.app_id,
        team_id: valid.team_id,
        created_at: now,
        certs: valid
            .certs
            .into_iter()
            .map(|(alg, bytes)| (alg.as_str().to_string(), bytes))
            .collect(),
    };
    write_tx(conn, |conn| {
        // Two concurrent adds of one app must not both pass the check below.
        clients::lock_for_update(conn, client_id)?;
        let existing = list_app_identities(conn, client_id)?;
        if existing
            .iter()
            .any(|i| i.platform == identity.platform && i.app_id == identity.app_id)
        {
            return Err(RegistryError::Storage(StorageError::Conflict(format!(
                "an {} identity for {} is already registered on this client",
                identity.platform, identity.app_id
            ))));
        }
        clients::insert_app_identity(conn, &identity)?;
        audit::record(
            conn,
            &AuditEvent::new("client_app_identity_added", now)
                .actor(actor)
                .client(client_id)
                .detail(serde_json::json!({
                    "identity_id": identity.identity_id,
                    "platform": identity.platform,
                    "app_id": identity.app_id,
                })),
        )?;
        Ok(identity.clone())
    })
}

/// Removes one app identity of a client; `NotFound` when either does not exist. The grants
/// bound to it end with it: its refresh-token families are revoked (with their latest access
/// tokens) and its unused codes deleted, since nothing proves any longer which app holds them
/// (a removed identity is usually a compromised or retired signing certificate).
pub fn remove_app_identity(
    conn: &mut Conn,
    client_id: &str,
    identity_id: &str,
    actor: &str,
    now: i64,
) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        clients::delete_app_identity(conn, client_id, identity_id)?;
        let families_revoked =
            families::revoke_for_app_identity(conn, client_id, identity_id, now)?;
        let codes_deleted = codes::delete_unused_for_app_identity(conn, client_id, identity_id)?;
        audit::record(
            conn,
            &AuditEvent::new("client_app_identity_removed", now)
                .actor(actor)
                .client(client_id)
                .detail(serde_json::json!({
                    "identity_id": identity_id,
                    "families_revoked": families_revoked,
                    "codes_deleted": codes_deleted,
                })),
        )
    })
}

/// Deletes a client and, through the schema's cascades, its codes, tokens and consents.
pub fn delete(conn: &mut Conn, client_id: &str, actor: &str, now: i64) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        clients::delete(conn, client_id)?;
        audit::record(
            conn,
            &AuditEvent::new("client_deleted", now)
                .actor(actor)
                .client(client_id),
        )
    })
}

/// Registers a resource server (RFC 8707 audience) with the scopes it owns, after checking
/// the audience, the scopes and the introspection client (a confidential client, if any).
/// Shared by the CLI and the admin API.
pub fn create_resource(
    conn: &mut Conn,
    issuer: &str,
    audience: &str,
    scope: &str,
    introspection_client_id: Option<String>,
    actor: &str,
    now: i64,
) -> Result<crate::storage::resources::Resource, RegistryError> {
    use crate::oauth::audience as aud;
    aud::validate_audience(audience, issuer).map_err(|m| field_error("audience", m))?;
    let scopes = aud::validate_resource_scope(scope).map_err(|m| field_error("scope", m))?;
    if let Some(id) = &introspection_client_id {
        match clients::find(conn, id)? {
            Some(c) if c.is_confidential() => {}
            Some(_) => {
                return Err(field_error(
                    "introspection_client_id",
                    format!("{id} is a public client; introspection needs a confidential one"),
                )
                .into())
            }
            None => {
                return Err(
                    field_error("introspection_client_id", format!("no client {id}")).into(),
                )
            }
        }
    }
    let resource = crate::storage::resources::Resource {
        audience: audience.to_string(),
        scopes,
        introspection_client_id,
        created_at: now,
    };
    crate::storage::resources::insert(conn, &resource, actor)?;
    Ok(resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ClientSpec {
        ClientSpec {
            client_name: "App".into(),
            client_type: "public".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec!["authorization_code".into()],
            scope: "openid profile".into(),
            enabled: true,
            ..ClientSpec::default()
        }
    }

    #[test]
    fn defaults_follow_the_client_type() {
        let v = validate(&spec()).unwrap();
        assert_eq!(v.token_endpoint_auth_method, "none");
        assert_eq!(v.application_type, "web");
        let mut s = spec();
        s.client_type = "confidential".into();
        assert_eq!(
            validate(&s).unwrap().token_endpoint_auth_method,
            "client_secret_basic"
        );
    }

    #[test]
    fn bad_specs_name_their_field() {
        type Case = (&'static str, Box<dyn Fn(&mut ClientSpec)>, &'static str);
        let cases: Vec<Case> = vec![
            (
                "empty name",
                Box::new(|s| s.client_name = " ".into()),
                "client_name",
            ),
            (
                "unknown type",
                Box::new(|s| s.client_type = "x".into()),
                "client_type",
            ),
            (
                "implicit grant",
                Box::new(|s| s.grant_types = vec!["implicit".into()]),
                "grant_types",
            ),
            (
                "public client_credentials",
                Box::new(|s| s.grant_types.push("client_credentials".into())),
                "grant_types",
            ),
            (
                "no redirect",
                Box::new(|s| s.redirect_uris.clear()),
                "redirect_uris",
            ),
            (
                "public with secret method",
                Box::new(|s| s.token_endpoint_auth_method = Some("client_secret_post".into())),
                "token_endpoint_auth_method",
            ),
            (
                "wildcard origin",
                Box::new(|s| s.cors_origins = vec!["https://*.example".into()]),
                "allowed_cors_origins",
            ),
            (
                "origin with path",
                Box::new(|s| s.cors_origins = vec!["https://a.example/x".into()]),
                "allowed_cors_origins",
            ),
            (
                "bad alg",
                Box::new(|s| s.signing_alg = Some("HS256".into())),
                "signing_alg",
            ),
            (
                "native confidential",
                Box::new(|s| {
                    s.application_type = Some("native".into());
                    s.client_type = "confidential".into();
                }),
                "client_type",
            ),
        ];
        for (name, change, field) in cases {
            let mut s = spec();
            change(&mut s);
            assert_eq!(validate(&s).unwrap_err().field, field, "{name}");
        }
    }
}
