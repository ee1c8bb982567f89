//! The admin console's pages (`/admin`). Every page carries the admin's CSRF token for its
//! forms and the session CSRF token for the sign-out button; nothing a client or admin typed
//! is marked `|safe`.

use askama::Template;

use crate::registry::{AppIdentityView, ClientView};

/// What every console page shows around its content: who is signed in, and the tokens its
/// forms carry.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub email: String,
    /// The console forms' CSRF token (bound to the admin's session).
    pub csrf_token: String,
    /// The sign-out form's CSRF token (`POST /logout`).
    pub logout_csrf: String,
}

/// A validation failure to show beside its field (or at the top when no field matches).
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub field: String,
    pub message: String,
}

impl FormError {
    /// The message for `field`, if the error is about it.
    pub fn on(&self, field: &str) -> Option<&str> {
        (!self.message.is_empty() && self.field == field).then_some(self.message.as_str())
    }
}

/// One client in the list.
pub struct ClientLine {
    pub client_id: String,
    pub client_name: String,
    pub client_type: String,
    pub application_type: String,
    pub enabled: bool,
    pub redirect_count: usize,
    pub created: String,
}

/// `GET /admin`: the clients, with a search box.
#[derive(Template)]
#[template(path = "admin/list.html")]
pub struct ClientListPage {
    pub chrome: Chrome,
    pub q: String,
    pub clients: Vec<ClientLine>,
}

/// `GET /admin/clients/{id}`: everything about one client, with its actions.
#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    pub chrome: Chrome,
    pub client: ClientView,
    pub identities: Vec<AppIdentityView>,
    pub created: String,
    pub updated: String,
}

/// The create/edit form's values exactly as the admin typed them (lists one per line).
#[derive(Debug, Clone, Default)]
pub struct ClientForm {
    pub client_name: String,
    pub client_type: String,
    pub application_type: String,
    /// Empty means "the default for the client type".
    pub token_endpoint_auth_method: String,
    pub redirect_uris: String,
    pub scope: String,
    pub cors_origins: String,
    pub grant_authorization_code: bool,
    pub grant_refresh_token: bool,
    pub grant_client_credentials: bool,
    pub skip_consent: bool,
    pub require_app_identity: bool,
    pub enabled: bool,
    pub signing_alg: String,
}

/// The client form: a new client (`client_id` empty) or an edit.
#[derive(Template)]
#[template(path = "admin/client_form.html")]
pub struct ClientFormPage {
    pub chrome: Chrome,
    /// The client being edited; empty for a new client.
    pub client_id: String,
    pub form: ClientForm,
    pub error: FormError,
}

impl ClientFormPage {
    /// An error about a field the form does not show, for the banner at the top.
    pub fn general_error(&self) -> Option<&str> {
        const SHOWN: [&str; 11] = [
            "client_name",
            "client_type",
            "application_type",
            "token_endpoint_auth_method",
            "redirect_uris",
            "scope",
            "allowed_cors_origins",
            "grant_types",
            "signing_alg",
            "skip_consent",
            "enabled",
        ];
        (!self.error.message.is_empty() && !SHOWN.contains(&self.error.field.as_str()))
            .then_some(self.error.message.as_str())
    }
}

/// `GET /admin/clients/{id}/delete`: are you sure?
#[derive(Template)]
#[template(path = "admin/delete.html")]
pub struct DeletePage {
    pub chrome: Chrome,
    pub client_id: String,
    pub client_name: String,
}

/// A client secret, shown once (after creating a confidential client or rotating).
#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    pub chrome: Chrome,
    pub client_id: String,
    pub client_name: String,
    pub secret: String,
    /// True right after creation, false after a rotation.
    pub created: bool,
    /// Until when the previous secret keeps working, after a rotation with a grace period.
    pub previous_until: Option<String>,
}

/// The add-app-identity form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct IdentityForm {
    pub platform: String,
    pub app_id: String,
    pub team_id: String,
    /// One hash per line.
    pub cert_sha256: String,
    pub cert_sha1: String,
}

/// `GET /admin/clients/{id}/app-identities/new`.
#[derive(Template)]
#[template(path = "admin/identity_form.html")]
pub struct IdentityFormPage {
    pub chrome: Chrome,
    pub client_id: String,
    pub client_name: String,
    pub form: IdentityForm,
    pub error: FormError,
}

/// One audit event.
pub struct AuditLine {
    pub at: String,
    pub event: String,
    pub actor: String,
    pub client_id: String,
    pub user_id: String,
    pub ip: String,
    pub detail: String,
}

/// `GET /admin/audit`: the newest events.
#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub chrome: Chrome,
    pub events: Vec<AuditLine>,
}

/// An error inside the console (not found, refused), with the console's navigation.
#[derive(Template)]
#[template(path = "admin/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub title: String,
    pub message: String,
}
