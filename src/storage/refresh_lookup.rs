//! Read access to refresh tokens for introspection and revocation: a token row found by its
//! SHA-256 hash, with the family (grant) it belongs to.

use diesel::prelude::*;

use crate::storage::families::FamilyRow;
use crate::storage::schema::{refresh_families, refresh_tokens};
use crate::storage::{Conn, StorageError};

/// One refresh-token row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: Vec<u8>,
    pub family_id: String,
    pub parent_hash: Option<Vec<u8>>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl RefreshTokenRow {
    /// Whether the token may still be redeemed at `now`: not used, not revoked, not expired,
    /// and its family neither revoked nor past its absolute end.
    pub fn is_live(&self, family: &FamilyRow, now: i64) -> bool {
        self.used_at.is_none()
            && self.revoked_at.is_none()
            && self.expires_at > now
            && family.revoked_at.is_none()
            && family.expires_at > now
    }
}

/// The token with this hash and its family, in any state.
pub fn find_by_hash(
    conn: &mut Conn,
    token_hash: &[u8],
) -> Result<Option<(RefreshTokenRow, FamilyRow)>, StorageError> {
    Ok(refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((RefreshTokenRow::as_select(), FamilyRow::as_select()))
        .first(conn)
        .optional()?)
}

/// Inserts a refresh-token row (fixtures; the token endpoint has its own writer).
pub fn insert_token_row(conn: &mut Conn, row: &RefreshTokenRow) -> Result<(), StorageError> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}
