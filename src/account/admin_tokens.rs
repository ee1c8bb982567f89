//! Issuing and revoking admin API tokens (the rules; rows live in `storage::admin_tokens`).

use crate::crypto::secrets::{prefixed_id, PlainSecret};
use crate::storage::admin_tokens::{self, AdminTokenRow};
use crate::storage::audit::{self, AuditEvent};
use crate::storage::{users, write_tx, Conn, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum AdminTokenError {
    #[error("{0}")]
    Invalid(String),
    #[error("no user {0}")]
    NoUser(String),
    #[error("{0} is not an enabled admin user")]
    NotAdmin(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for AdminTokenError {
    fn from(err: diesel::result::Error) -> Self {
        AdminTokenError::Storage(err.into())
    }
}

/// Checks a token's name: 1 to 100 characters, no control characters.
pub fn check_name(name: &str) -> Result<String, AdminTokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AdminTokenError::Invalid(
            "name: must be 1 to 100 characters without control characters".into(),
        ));
    }
    Ok(name.to_string())
}

/// Issues a token for an enabled admin user. The token is returned here once; only its
/// SHA-256 hash is stored, and the audit event names the token id, never the token.
pub fn issue(
    conn: &mut Conn,
    name: &str,
    email: &str,
    actor: &str,
    now: i64,
) -> Result<(AdminTokenRow, PlainSecret), AdminTokenError> {
    let name = check_name(name)?;
    let token = PlainSecret::generate();
    write_tx(conn, |conn| {
        let user = users::find_by_email(conn, email)?
            .ok_or_else(|| AdminTokenError::NoUser(email.into()))?;
        if !(user.is_admin && user.enabled) {
            return Err(AdminTokenError::NotAdmin(user.email));
        }
        let row = AdminTokenRow {
            token_id: prefixed_id::<8>("adm_"),
            token_hash: token.hash().to_vec(),
            name,
            user_id: user.user_id.clone(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        admin_tokens::insert(conn, &row)?;
        audit::record(
            conn,
            &AuditEvent::new("admin_token_created", now)
                .actor(actor)
                .user(&user.user_id)
                .detail(serde_json::json!({ "token_id": row.token_id, "name": row.name })),
        )?;
        Ok((row, token))
    })
}

/// Revokes a token; `NotFound` when it does not exist.
pub fn revoke(conn: &mut Conn, token_id: &str, actor: &str, now: i64) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        admin_tokens::revoke(conn, token_id, now)?;
        audit::record(
            conn,
            &AuditEvent::new("admin_token_revoked", now)
                .actor(actor)
                .detail(serde_json::json!({ "token_id": token_id })),
        )
    })
}
