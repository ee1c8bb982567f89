//! Remembered consent: which scopes a user approved for a client. Revoking a consent also
//! revokes the client's refresh-token families for that user.

use diesel::prelude::*;

use crate::storage::schema::{clients, consents};
use crate::storage::{families, write_tx, Conn, StorageError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = consents)]
pub struct ConsentRow {
    pub user_id: String,
    pub client_id: String,
    /// The approved scope, space-separated.
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Stores `scope` as the approved scope of `user_id` for `client_id`, replacing what was
/// there. diesel's multi-backend connection has no `ON CONFLICT`: update first, insert when no
/// row was updated, all in one write transaction (SQLite's `BEGIN IMMEDIATE` serialises
/// writers; on PostgreSQL a concurrent insert that wins makes ours a conflict, retried once as
/// an update).
pub fn upsert(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> Result<(), StorageError> {
    let update = |conn: &mut Conn| -> Result<usize, StorageError> {
        Ok(diesel::update(
            consents::table
                .filter(consents::user_id.eq(user_id))
                .filter(consents::client_id.eq(client_id)),
        )
        .set((consents::scope.eq(scope), consents::updated_at.eq(now)))
        .execute(conn)?)
    };
    let result = write_tx(conn, |conn| -> Result<(), StorageError> {
        if update(conn)? == 0 {
            diesel::insert_into(consents::table)
                .values(ConsentRow {
                    user_id: user_id.to_string(),
                    client_id: client_id.to_string(),
                    scope: scope.to_string(),
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
        }
        Ok(())
    });
    match result {
        Err(StorageError::Conflict(_)) => write_tx(conn, |conn| update(conn).map(|_| ())),
        other => other,
    }
}

pub fn find(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
) -> Result<Option<ConsentRow>, StorageError> {
    Ok(consents::table
        .filter(consents::user_id.eq(user_id))
        .filter(consents::client_id.eq(client_id))
        .select(ConsentRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// A user's consents with the client's name, newest first.
pub fn list_for_user(
    conn: &mut Conn,
    user_id: &str,
) -> Result<Vec<(ConsentRow, String)>, StorageError> {
    Ok(consents::table
        .inner_join(clients::table.on(clients::client_id.eq(consents::client_id)))
        .filter(consents::user_id.eq(user_id))
        .order(consents::updated_at.desc())
        .select((ConsentRow::as_select(), clients::client_name))
        .load(conn)?)
}

/// Deletes the consent and revokes the client's refresh-token families for the user, in one
/// write transaction. Returns whether a consent existed.
pub fn delete(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<bool, StorageError> {
    write_tx(conn, |conn| {
        let n = diesel::delete(
            consents::table
                .filter(consents::user_id.eq(user_id))
                .filter(consents::client_id.eq(client_id)),
        )
        .execute(conn)?;
        families::revoke_for_user_client(conn, user_id, client_id, now)?;
        Ok(n == 1)
    })
}
