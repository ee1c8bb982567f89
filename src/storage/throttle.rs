//! Failed-login counters (`login_throttle`), one row per key (`acct:<email>` or `ip:<addr>`).
//! Counting is an insert-if-absent followed by conditional updates, so that concurrent failures
//! are all counted on both backends.

use diesel::prelude::*;

use crate::storage::schema::login_throttle;
use crate::storage::{write_tx, Conn, StorageError};

/// How a key is throttled: at most `max_failures` failures within `window` seconds, then
/// locked for `lockout` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_failures: i32,
    pub window: i64,
    pub lockout: i64,
}

/// Until when `key` is locked, if it is locked at `now`.
pub fn locked_until(conn: &mut Conn, key: &str, now: i64) -> Result<Option<i64>, StorageError> {
    let until: Option<Option<i64>> = login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .get_result(conn)
        .optional()?;
    Ok(until.flatten().filter(|t| *t > now))
}

/// Counts one failure for `key` and locks it when the policy's limit is reached. Returns
/// whether the key is locked afterwards.
///
/// Atomic under concurrency on both backends (PostgreSQL runs READ COMMITTED, where an
/// update-then-insert-if-missing loses increments: a transaction that saw no row would
/// overwrite a row committed meanwhile). So the row is first created if absent with
/// `INSERT … ON CONFLICT DO NOTHING` (waits for a concurrent inserter, never fails), and every
/// change after that is a single conditional `UPDATE` that PostgreSQL re-checks on the latest
/// row version after waiting for its lock: `failures + 1` inside the window, or a reset
/// guarded by "the window has passed" so that two resets cannot both win.
pub fn record_failure(
    conn: &mut Conn,
    key: &str,
    now: i64,
    policy: Policy,
) -> Result<bool, StorageError> {
    write_tx(conn, |conn| {
        insert_if_absent(conn, key, now)?;
        let window_open = now.saturating_sub(policy.window);
        // Each round either counts the failure or sees the row move on (another failure reset
        // the window meanwhile); a row that moves on cannot move back, so two rounds suffice
        // and the third is a guard.
        let mut counted = false;
        for _ in 0..3 {
            let n = diesel::update(
                login_throttle::table
                    .filter(login_throttle::throttle_key.eq(key))
                    .filter(login_throttle::window_start.gt(window_open)),
            )
            .set(login_throttle::failures.eq(login_throttle::failures + 1))
            .execute(conn)?;
            if n > 0 {
                counted = true;
                break;
            }
            // The window has passed: start a new one (a lock still running is kept).
            let n = diesel::update(
                login_throttle::table
                    .filter(login_throttle::throttle_key.eq(key))
                    .filter(login_throttle::window_start.le(window_open)),
            )
            .set((
                login_throttle::failures.eq(1),
                login_throttle::window_start.eq(now),
            ))
            .execute(conn)?;
            if n > 0 {
                counted = true;
                break;
            }
        }
        if !counted {
            return Err(StorageError::Other(
                "login throttle row changed under every attempt".into(),
            ));
        }
        // Our UPDATE holds the row lock until commit, so this read sees the count we made.
        let failures: i32 = login_throttle::table
            .find(key)
            .select(login_throttle::failures)
            .get_result(conn)?;
        if failures >= policy.max_failures {
            diesel::update(login_throttle::table.find(key))
                .set((
                    login_throttle::locked_until.eq(now.saturating_add(policy.lockout)),
                    login_throttle::failures.eq(0),
                    login_throttle::window_start.eq(now),
                ))
                .execute(conn)?;
            return Ok(true);
        }
        Ok(false)
    })
}

/// Creates the row of `key` with no failures yet, unless it exists. `ON CONFLICT DO NOTHING`
/// is backend-specific in diesel, hence the match; on PostgreSQL it waits for a concurrent
/// inserter to commit instead of raising a unique violation that would abort the transaction.
fn insert_if_absent(conn: &mut Conn, key: &str, now: i64) -> Result<(), StorageError> {
    let row = (
        login_throttle::throttle_key.eq(key),
        login_throttle::failures.eq(0),
        login_throttle::window_start.eq(now),
        login_throttle::locked_until.eq(None::<i64>),
    );
    match conn {
        Conn::Postgres(pg) => diesel::insert_into(login_throttle::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        Conn::Sqlite(lite) => diesel::insert_into(login_throttle::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(lite)?,
    };
    Ok(())
}

/// Forgets the failures of `key` (a successful login of that account).
pub fn clear(conn: &mut Conn, key: &str) -> Result<(), StorageError> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
