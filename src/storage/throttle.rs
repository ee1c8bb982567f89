//! Failed-login counters (`login_throttle`), one row per key (`acct:<email>` or `ip:<addr>`).
//! Counting is done with conditional updates so that concurrent failures are all counted.

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
        .first(conn)
        .optional()?;
    Ok(until.flatten().filter(|t| *t > now))
}

/// Counts one failure for `key` and locks it when the policy's limit is reached. Returns
/// whether the key is locked afterwards.
///
/// The increment is a single `UPDATE … SET failures = failures + 1` inside the current window,
/// so concurrent failures are never lost; a stale window is reset, and a missing row inserted
/// (a concurrent insert that wins turns ours into a retried update).
pub fn record_failure(
    conn: &mut Conn,
    key: &str,
    now: i64,
    policy: Policy,
) -> Result<bool, StorageError> {
    let attempt = |conn: &mut Conn| -> Result<bool, StorageError> {
        write_tx(conn, |conn| {
            let window_open = now.saturating_sub(policy.window);
            let mut n = diesel::update(
                login_throttle::table
                    .filter(login_throttle::throttle_key.eq(key))
                    .filter(login_throttle::window_start.gt(window_open)),
            )
            .set(login_throttle::failures.eq(login_throttle::failures + 1))
            .execute(conn)?;
            if n == 0 {
                // No row, or its window has passed: start a new window (a lock still running
                // is kept).
                n = diesel::update(login_throttle::table.find(key))
                    .set((
                        login_throttle::failures.eq(1),
                        login_throttle::window_start.eq(now),
                    ))
                    .execute(conn)?;
            }
            if n == 0 {
                diesel::insert_into(login_throttle::table)
                    .values((
                        login_throttle::throttle_key.eq(key),
                        login_throttle::failures.eq(1),
                        login_throttle::window_start.eq(now),
                        login_throttle::locked_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
            }
            let failures: i32 = login_throttle::table
                .find(key)
                .select(login_throttle::failures)
                .first(conn)?;
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
    };
    match attempt(conn) {
        Err(StorageError::Conflict(_)) => attempt(conn),
        other => other,
    }
}

/// Forgets the failures of `key` (a successful login of that account).
pub fn clear(conn: &mut Conn, key: &str) -> Result<(), StorageError> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
