//! Refresh-token families: one grant (client, user, scope, session, app identity) and the
//! chain of rotating refresh tokens issued for it. Revoking a family ends every refresh token
//! in it and deny-lists the last access token issued from it (RFC 7009 §2.1, RFC 9700 §4.14).

use diesel::prelude::*;

use crate::storage::fixed::RecordAccessToken;
use crate::storage::schema::{refresh_families, refresh_tokens, revoked_access_tokens};
use crate::storage::{Conn, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_families)]
pub struct FamilyRow {
    pub family_id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scope: String,
    pub resource: Option<String>,
    pub session_hash: Option<Vec<u8>>,
    pub app_identity_id: Option<String>,
    pub auth_time: Option<i64>,
    /// `offline_access` was granted: the family outlives the SSO session (OIDC Core §11).
    pub offline: bool,
    pub last_access_jti: Option<String>,
    pub last_access_expires_at: Option<i64>,
    pub created_at: i64,
    /// Absolute end of the grant.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

pub fn insert(conn: &mut Conn, row: &FamilyRow) -> Result<(), StorageError> {
    diesel::insert_into(refresh_families::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut Conn, family_id: &str) -> Result<Option<FamilyRow>, StorageError> {
    Ok(refresh_families::table
        .find(family_id)
        .select(FamilyRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Records the access token just issued from the family, so that revoking the family can
/// deny-list it.
pub fn record_access_token(
    conn: &mut Conn,
    family_id: &str,
    jti: &str,
    expires_at: i64,
) -> Result<(), StorageError> {
    RecordAccessToken {
        family_id,
        jti,
        expires_at,
    }
    .execute(conn)?;
    Ok(())
}

/// Deny-lists an access token's `jti` until it expires (idempotent).
pub fn deny_access_token(
    conn: &mut Conn,
    jti: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), StorageError> {
    let exists: Option<String> = revoked_access_tokens::table
        .find(jti)
        .select(revoked_access_tokens::jti)
        .get_result(conn)
        .optional()?;
    if exists.is_none() {
        diesel::insert_into(revoked_access_tokens::table)
            .values((
                revoked_access_tokens::jti.eq(jti),
                revoked_access_tokens::expires_at.eq(expires_at),
                revoked_access_tokens::revoked_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether an access token's `jti` is deny-listed.
pub fn access_token_revoked(conn: &mut Conn, jti: &str) -> Result<bool, StorageError> {
    let found: Option<String> = revoked_access_tokens::table
        .find(jti)
        .select(revoked_access_tokens::jti)
        .get_result(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Revokes the given families: marks them and their live refresh tokens revoked and
/// deny-lists each family's last access token while it may still be alive. Returns how many
/// families were newly revoked. Call inside the caller's write transaction.
pub fn revoke_families(
    conn: &mut Conn,
    family_ids: &[String],
    now: i64,
) -> Result<usize, StorageError> {
    if family_ids.is_empty() {
        return Ok(0);
    }
    let live: Vec<(String, Option<String>, Option<i64>)> = refresh_families::table
        .filter(refresh_families::family_id.eq_any(family_ids))
        .filter(refresh_families::revoked_at.is_null())
        .select((
            refresh_families::family_id,
            refresh_families::last_access_jti,
            refresh_families::last_access_expires_at,
        ))
        .load(conn)?;
    for (_, jti, exp) in &live {
        if let (Some(jti), Some(exp)) = (jti, exp) {
            if *exp > now {
                deny_access_token(conn, jti, *exp, now)?;
            }
        }
    }
    diesel::update(
        refresh_families::table
            .filter(refresh_families::family_id.eq_any(family_ids))
            .filter(refresh_families::revoked_at.is_null()),
    )
    .set(refresh_families::revoked_at.eq(now))
    .execute(conn)?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq_any(family_ids))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(live.len())
}

/// Revokes one family (reuse detection, code replay, revocation endpoint).
pub fn revoke_family(conn: &mut Conn, family_id: &str, now: i64) -> Result<usize, StorageError> {
    revoke_families(conn, &[family_id.to_string()], now)
}

/// Revokes the families bound to an SSO session that ended (logout), except those granted
/// `offline_access`, which outlive the session (OIDC Core §11).
pub fn revoke_for_session(
    conn: &mut Conn,
    session_hash: &[u8],
    now: i64,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::session_hash.eq(session_hash))
        .filter(refresh_families::offline.eq(false))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::family_id)
        .load(conn)?;
    revoke_families(conn, &ids, now)
}

/// Revokes the families of a client bound to one of its app identities (the identity was
/// removed: its grants no longer prove which app holds them).
pub fn revoke_for_app_identity(
    conn: &mut Conn,
    client_id: &str,
    identity_id: &str,
    now: i64,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::client_id.eq(client_id))
        .filter(refresh_families::app_identity_id.eq(identity_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::family_id)
        .load(conn)?;
    revoke_families(conn, &ids, now)
}

/// Revokes a user's families for one client (consent revoked).
pub fn revoke_for_user_client(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::client_id.eq(client_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::family_id)
        .load(conn)?;
    revoke_families(conn, &ids, now)
}

/// Revokes every family of a client (client disabled) or of a user (user disabled).
pub fn revoke_for_client(
    conn: &mut Conn,
    client_id: &str,
    now: i64,
) -> Result<usize, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::client_id.eq(client_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::family_id)
        .load(conn)?;
    revoke_families(conn, &ids, now)
}

pub fn revoke_for_user(conn: &mut Conn, user_id: &str, now: i64) -> Result<usize, StorageError> {
    let ids: Vec<String> = refresh_families::table
        .filter(refresh_families::user_id.eq(user_id))
        .filter(refresh_families::revoked_at.is_null())
        .select(refresh_families::family_id)
        .load(conn)?;
    revoke_families(conn, &ids, now)
}

/// Moves the live families bound to one SSO session onto another (the same user logged in
/// again and got a new session id), so that logging out of the new session still ends them.
pub fn rebind_session(
    conn: &mut Conn,
    old_session_hash: &[u8],
    new_session_hash: &[u8],
) -> Result<usize, StorageError> {
    Ok(diesel::update(
        refresh_families::table
            .filter(refresh_families::session_hash.eq(old_session_hash))
            .filter(refresh_families::revoked_at.is_null()),
    )
    .set(refresh_families::session_hash.eq(new_session_hash))
    .execute(conn)?)
}
