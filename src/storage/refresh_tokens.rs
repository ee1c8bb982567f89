//! Refresh tokens: 256-bit random values stored as SHA-256 hashes, one row per token, chained
//! into their family by `parent_hash`. A token is used once; the conditional update in
//! [`mark_used`] decides which of two concurrent uses wins.

use diesel::prelude::*;

use crate::storage::families::FamilyRow;
use crate::storage::fixed::MarkRefreshUsed;
use crate::storage::schema::{refresh_families, refresh_tokens};
use crate::storage::{Conn, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub token_hash: Vec<u8>,
    pub family_id: String,
    /// The token this one replaced (None for the first token of a family).
    pub parent_hash: Option<Vec<u8>>,
    pub created_at: i64,
    /// Idle expiry: issue time plus the idle lifetime, capped by the family's absolute end.
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

pub fn insert(conn: &mut Conn, row: &RefreshTokenRow) -> Result<(), StorageError> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The token with this hash, whatever its state: reuse detection needs used and revoked rows.
pub fn find(conn: &mut Conn, token_hash: &[u8]) -> Result<Option<RefreshTokenRow>, StorageError> {
    Ok(refresh_tokens::table
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Marks the token used if it is neither used nor revoked. Returns whether this call won:
/// conditional update, so that of two concurrent refreshes only one may win (RFC 9700 §4.14.2,
/// refresh-token rotation).
pub fn mark_used(conn: &mut Conn, token_hash: &[u8], now: i64) -> Result<bool, StorageError> {
    let n = MarkRefreshUsed { token_hash, now }.execute(conn)?;
    Ok(n == 1)
}

/// The token with this hash and its family, in any state (introspection, revocation).
pub fn find_with_family(
    conn: &mut Conn,
    token_hash: &[u8],
) -> Result<Option<(RefreshTokenRow, FamilyRow)>, StorageError> {
    Ok(refresh_tokens::table
        .inner_join(refresh_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((RefreshTokenRow::as_select(), FamilyRow::as_select()))
        .get_result(conn)
        .optional()?)
}
