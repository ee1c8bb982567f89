//! The one question the token endpoint asks about consents: is the grant still there?
//! (Consents are written by the consent flow; this file only reads.)

use diesel::prelude::*;

use crate::storage::schema::consents;
use crate::storage::{Conn, StorageError};

/// Whether `user_id` has a recorded consent for `client_id`. OAuth 2.1 §4.3.1: a refresh
/// must fail once the grant was revoked.
pub fn exists(conn: &mut Conn, user_id: &str, client_id: &str) -> Result<bool, StorageError> {
    let found: Option<String> = consents::table
        .find((user_id, client_id))
        .select(consents::client_id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}
