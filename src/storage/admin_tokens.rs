//! Admin API tokens: bearer tokens for automation, owned by an admin user, stored as the
//! SHA-256 of a 256-bit random value. A token works only while it is not revoked and its user
//! exists, is enabled and has the admin flag.

use diesel::prelude::*;

use crate::crypto::secrets::SecretHash;
use crate::storage::schema::{admin_tokens, users};
use crate::storage::{write_tx, Conn, StorageError};

/// A token row. The hash is never serialised: views are separate types.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = admin_tokens)]
pub struct AdminTokenRow {
    pub token_id: String,
    pub token_hash: Vec<u8>,
    pub name: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What a presented token is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// No live token with this hash (unknown, revoked, or its user deleted): 401.
    Invalid,
    /// A live token whose user is not (or no longer) an enabled admin: 403.
    Forbidden { token_id: String },
    /// A live token of an enabled admin.
    Admin {
        token_id: String,
        user_id: String,
        email: String,
    },
}

/// `last_used_at` is refreshed at most this often, so that a busy automation does not turn
/// every API read into a write.
const LAST_USED_RESOLUTION: i64 = 60;

pub fn insert(conn: &mut Conn, row: &AdminTokenRow) -> Result<(), StorageError> {
    write_tx(conn, |conn| {
        diesel::insert_into(admin_tokens::table)
            .values(row)
            .execute(conn)?;
        Ok(())
    })
}

/// Every token with its owner's email, oldest first.
pub fn list(conn: &mut Conn) -> Result<Vec<(AdminTokenRow, String)>, StorageError> {
    Ok(admin_tokens::table
        .inner_join(users::table.on(users::user_id.eq(admin_tokens::user_id)))
        .order((admin_tokens::created_at, admin_tokens::token_id))
        .select((AdminTokenRow::as_select(), users::email))
        .load(conn)?)
}

/// Revokes a token. `NotFound` when no such token exists; revoking twice keeps the first time.
pub fn revoke(conn: &mut Conn, token_id: &str, now: i64) -> Result<(), StorageError> {
    let exists: Option<String> = admin_tokens::table
        .find(token_id)
        .select(admin_tokens::token_id)
        .get_result(conn)
        .optional()?;
    if exists.is_none() {
        return Err(StorageError::NotFound);
    }
    diesel::update(
        admin_tokens::table
            .find(token_id)
            .filter(admin_tokens::revoked_at.is_null()),
    )
    .set(admin_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Looks a presented token up by its hash (an index lookup on the SHA-256 of a 256-bit value:
/// nothing about the token leaks through its timing) and checks its owner.
pub fn check(conn: &mut Conn, hash: &SecretHash, now: i64) -> Result<TokenCheck, StorageError> {
    let found: Option<(AdminTokenRow, String, bool, bool)> = admin_tokens::table
        .inner_join(users::table.on(users::user_id.eq(admin_tokens::user_id)))
        .filter(admin_tokens::token_hash.eq(hash.as_bytes().as_slice()))
        .filter(admin_tokens::revoked_at.is_null())
        .select((
            AdminTokenRow::as_select(),
            users::email,
            users::is_admin,
            users::enabled,
        ))
        .get_result(conn)
        .optional()?;
    let Some((row, email, is_admin, enabled)) = found else {
        return Ok(TokenCheck::Invalid);
    };
    if !(is_admin && enabled) {
        return Ok(TokenCheck::Forbidden {
            token_id: row.token_id,
        });
    }
    if row
        .last_used_at
        .is_none_or(|t| now - t >= LAST_USED_RESOLUTION)
    {
        diesel::update(admin_tokens::table.find(&row.token_id))
            .set(admin_tokens::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(TokenCheck::Admin {
        token_id: row.token_id,
        user_id: row.user_id,
        email,
    })
}
