//! Authorization codes, stored as SHA-256 hashes, single use.

use diesel::prelude::*;

use crate::storage::fixed::MarkCodeUsed;
use crate::storage::schema::authorization_codes;
use crate::storage::{Conn, StorageError};

/// A code row: everything the token endpoint must check, bound at /authorize.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = authorization_codes)]
pub struct CodeRow {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    pub user_id: String,
    /// The SSO session the code was issued in (its refresh family is bound to it unless
    /// `offline_access` was granted).
    pub session_hash: Option<Vec<u8>>,
    /// The exact redirect_uri of the authorization request.
    pub redirect_uri: String,
    /// The granted scope, space-separated.
    pub scope: String,
    pub resource: Option<String>,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub app_identity_id: Option<String>,
    /// The refresh-token family this code starts (and whose tokens a replay revokes).
    pub family_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

pub fn insert(conn: &mut Conn, row: &CodeRow) -> Result<(), StorageError> {
    diesel::insert_into(authorization_codes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The code with this hash, used or not: replay detection needs the used rows too.
pub fn find(conn: &mut Conn, code_hash: &[u8]) -> Result<Option<CodeRow>, StorageError> {
    Ok(authorization_codes::table
        .find(code_hash)
        .select(CodeRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Marks the code used if nobody has. Returns whether this call won: a conditional update, so
/// that of two concurrent redemptions exactly one succeeds (OAuth 2.1 §4.1.3).
pub fn mark_used(conn: &mut Conn, code_hash: &[u8], now: i64) -> Result<bool, StorageError> {
    let n = MarkCodeUsed { code_hash, now }.execute(conn)?;
    Ok(n == 1)
}

/// Deletes a client's unused codes bound to one of its app identities (the identity was
/// removed). Used codes stay: replay detection needs them.
pub fn delete_unused_for_app_identity(
    conn: &mut Conn,
    client_id: &str,
    identity_id: &str,
) -> Result<usize, StorageError> {
    Ok(diesel::delete(
        authorization_codes::table
            .filter(authorization_codes::client_id.eq(client_id))
            .filter(authorization_codes::app_identity_id.eq(identity_id))
            .filter(authorization_codes::used_at.is_null()),
    )
    .execute(conn)?)
}
