//! SSO sessions. The cookie holds a 256-bit random value; only its SHA-256 hash is stored, so
//! a database leak does not hand out live sessions (DESIGN.md, Tokens and secrets).

use diesel::prelude::*;

use crate::storage::schema::sessions;
use crate::storage::{Conn, StorageError};

/// A session row. `session_hash` is the SHA-256 of the cookie value; `csrf_secret` keys the
/// CSRF tokens of every form shown in this session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub session_hash: Vec<u8>,
    pub user_id: String,
    pub csrf_secret: Vec<u8>,
    /// When the user last proved who they are (OIDC `auth_time`).
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Absolute end of the session, whatever its use.
    pub expires_at: i64,
    /// "Keep me signed in": the cookie carries a `Max-Age`.
    pub persistent: bool,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

pub fn insert(conn: &mut Conn, row: &SessionRow) -> Result<(), StorageError> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The session with this hash if it is still alive at `now`: used within `idle_ttl` seconds and
/// before its absolute `expires_at`. An ended session is never returned.
pub fn find_live(
    conn: &mut Conn,
    session_hash: &[u8],
    now: i64,
    idle_ttl: i64,
) -> Result<Option<SessionRow>, StorageError> {
    Ok(sessions::table
        .find(session_hash)
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now.saturating_sub(idle_ttl)))
        .select(SessionRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Records a use of the session (extends its idle lifetime, never its absolute one).
pub fn touch(conn: &mut Conn, session_hash: &[u8], now: i64) -> Result<(), StorageError> {
    diesel::update(sessions::table.find(session_hash))
        .set(sessions::last_seen_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Deletes the session; returns whether it existed.
pub fn delete(conn: &mut Conn, session_hash: &[u8]) -> Result<bool, StorageError> {
    Ok(diesel::delete(sessions::table.find(session_hash)).execute(conn)? == 1)
}

/// Deletes one of a user's sessions (the account page); a session of another user is left alone.
pub fn delete_for_user(
    conn: &mut Conn,
    user_id: &str,
    session_hash: &[u8],
) -> Result<bool, StorageError> {
    Ok(diesel::delete(
        sessions::table
            .filter(sessions::session_hash.eq(session_hash))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)?
        == 1)
}

/// A user's live sessions, most recently used first.
pub fn list_for_user(
    conn: &mut Conn,
    user_id: &str,
    now: i64,
    idle_ttl: i64,
) -> Result<Vec<SessionRow>, StorageError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(now.saturating_sub(idle_ttl)))
        .order(sessions::last_seen_at.desc())
        .select(SessionRow::as_select())
        .load(conn)?)
}
