//! Housekeeping: deletes rows that can no longer matter, in bounded batches.
//!
//! Every condition below is written so that nothing still valid matches it: a code or a
//! session only once past its expiry, a refresh token only once used, revoked or expired AND
//! past the retention window (used tokens are kept that long for reuse detection), a family
//! only once revoked or expired past retention and with no live token, a deny-listed `jti`
//! only once the access token itself has expired.
//!
//! Safe on several instances at once: each batch is one `DELETE … WHERE pk IN (SELECT pk …
//! LIMIT n)` statement of its own; on PostgreSQL the inner select skips rows another instance
//! is deleting (`FOR UPDATE SKIP LOCKED`), so two instances never wait on or deadlock over
//! the same rows.

use diesel::prelude::*;
use serde::Serialize;

use crate::storage::{Conn, StorageError};

/// How many rows one run deleted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CleanupCounts {
    pub authorization_codes: u64,
    pub sessions: u64,
    pub refresh_tokens: u64,
    pub refresh_families: u64,
    pub revoked_access_tokens: u64,
}

impl CleanupCounts {
    pub fn total(&self) -> u64 {
        self.authorization_codes
            + self.sessions
            + self.refresh_tokens
            + self.refresh_families
            + self.revoked_access_tokens
    }
}

/// Deletes everything that expired before `now` (and, for refresh tokens and families, before
/// `now - retention_seconds`), `batch_size` rows per statement, until nothing is left.
pub fn run(
    conn: &mut Conn,
    now: i64,
    retention_seconds: i64,
    batch_size: i64,
) -> Result<CleanupCounts, StorageError> {
    let batch = batch_size.max(1);
    let cutoff = now.saturating_sub(retention_seconds.max(0));
    // Only integers computed here are formatted into the SQL: no input reaches it.
    let live_token = format!(
        "SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.family_id \
         AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > {now}"
    );
    Ok(CleanupCounts {
        authorization_codes: delete_batches(
            conn,
            "authorization_codes",
            "code_hash",
            &format!("expires_at < {now}"),
            batch,
        )?,
        sessions: delete_batches(
            conn,
            "sessions",
            "session_hash",
            &format!("expires_at < {now}"),
            batch,
        )?,
        refresh_tokens: delete_batches(
            conn,
            "refresh_tokens",
            "token_hash",
            &format!("(used_at < {cutoff} OR revoked_at < {cutoff} OR expires_at < {cutoff})"),
            batch,
        )?,
        refresh_families: delete_batches(
            conn,
            "refresh_families",
            "family_id",
            &format!(
                "(revoked_at < {cutoff} OR expires_at < {cutoff}) AND NOT EXISTS ({live_token})"
            ),
            batch,
        )?,
        revoked_access_tokens: delete_batches(
            conn,
            "revoked_access_tokens",
            "jti",
            &format!("expires_at < {now}"),
            batch,
        )?,
    })
}

fn delete_batches(
    conn: &mut Conn,
    table: &str,
    pk: &str,
    condition: &str,
    batch: i64,
) -> Result<u64, StorageError> {
    let lock = match conn {
        Conn::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Conn::Sqlite(_) => "",
    };
    let sql = format!(
        "DELETE FROM {table} WHERE {pk} IN \
         (SELECT {pk} FROM {table} WHERE {condition} LIMIT {batch}{lock})"
    );
    let mut total = 0u64;
    loop {
        let n = diesel::sql_query(&sql).execute(conn)?;
        total += n as u64;
        if (n as i64) < batch {
            return Ok(total);
        }
    }
}
