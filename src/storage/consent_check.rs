//! The one question the token endpoint asks about consents: is the grant still there?
//! (Consents are written by the consent flow; this file only reads.)

use diesel::prelude::*;

use crate::storage::schema::{consents, users};
use crate::storage::{Conn, StorageError};

/// Whether `user_id` has a recorded consent for `client_id`. OAuth 2.1 §4.3.1: a refresh
/// must fail once the grant was revoked.
pub fn exists(conn: &mut Conn, user_id: &str, client_id: &str) -> Result<bool, StorageError> {
    let found: Option<String> = consents::table
        .find((user_id, client_id))
        .select(consents::client_id)
        .get_result(conn)
        .optional()?;
    Ok(found.is_some())
}

/// What a refresh needs to know about the grant's user, read in one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantState {
    /// The user's account is enabled.
    pub user_enabled: bool,
    /// The user has a recorded consent for the client.
    pub consented: bool,
}

/// The user's `enabled` flag and whether they consented to `client_id`, in one statement;
/// `None` when the user no longer exists. OAuth 2.1 §4.3.1: a refresh must fail once the
/// grant was revoked or the account disabled.
pub fn grant_state(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
) -> Result<Option<GrantState>, StorageError> {
    let found: Option<(bool, bool)> = users::table
        .find(user_id)
        .select((
            users::enabled,
            diesel::dsl::exists(consents::table.find((user_id, client_id))),
        ))
        .get_result(conn)
        .optional()?;
    Ok(found.map(|(user_enabled, consented)| GrantState {
        user_enabled,
        consented,
    }))
}
