//! Creating and changing user accounts (shared by the CLI, the admin console and
//! self-registration).

use crate::account::password;
use crate::crypto::secrets::prefixed_id;
use crate::storage::users::{self, normalize_email, UserRow};
use crate::storage::{Conn, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user with this email already exists")]
    Exists,
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for UserError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Conflict(_) => UserError::Exists,
            other => UserError::Storage(other),
        }
    }
}

/// Checks the form of an email address (one `@`, something on both sides, no spaces).
pub fn check_email(email: &str) -> Result<String, UserError> {
    let email = normalize_email(email);
    let valid = email.len() <= 254
        && email.split('@').count() == 2
        && email.split('@').all(|part| !part.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(UserError::Invalid("not a valid email address".into()))
    }
}

/// Builds a new user row (hashing the password: call off the async workers).
pub fn new_user(
    email: &str,
    password_text: &str,
    admin: bool,
    now: i64,
) -> Result<UserRow, UserError> {
    let email = check_email(email)?;
    password::check_policy(password_text).map_err(UserError::Invalid)?;
    Ok(UserRow {
        user_id: prefixed_id::<16>("usr_"),
        email,
        password_hash: password::hash(password_text),
        is_admin: admin,
        enabled: true,
        email_verified: false,
        created_at: now,
        updated_at: now,
    })
}

/// Creates a user; a taken email is `UserError::Exists`.
pub fn create(conn: &mut Conn, row: &UserRow) -> Result<(), UserError> {
    users::insert(conn, row)?;
    Ok(())
}
